"""Importing items: SKUs with their GTINs, tracking, expiry rule and owner."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from warehouse_tui.db.changes import note_changed
from warehouse_tui.db.models import Item, ItemCode, Owner, Quant, Tracking
from warehouse_tui.errors import InvalidInput, WarehouseError
from warehouse_tui.scan.gtin import normalize_gtin
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.batch_ledger import chunks, insert_many, insert_numbered, where_in
from warehouse_tui.services.importing.catalog import items_with_skus
from warehouse_tui.services.importing.csv_file import Row
from warehouse_tui.services.importing.importer import Importer
from warehouse_tui.services.importing.results import ImportResult, Problems, Progress, changed_meanwhile, plural
from warehouse_tui.services.importing.values import TRACKINGS, read_choice, read_code, read_key, read_text, read_yes_no


class _ItemFacts(NamedTuple):
    id: int
    tracking: str
    expiry_required: bool


class ItemsImport(Importer):
    kind = "items"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.keys: dict[tuple[str, str], int] = {}  # (owner, sku) of accepted rows -> line
        self.gtins: dict[str, tuple[int, str, str]] = {}  # GTIN of accepted rows -> (line, owner, sku)
        self.owners: set[str] = set()
        # What the check read (and the write reads again): items by (owner, sku), GTINs' items, owners, stock on hand.
        self.existing: dict[tuple[str, str], _ItemFacts | None] = {}
        self.taken: dict[str, tuple[int, str] | None] = {}
        self.owner_ids: dict[str, int | None] = {}
        self.stocked: dict[int, bool] = {}
        self.new: list[tuple[str, str, str, str, str, bool, list[str]]] = []  # owner, sku, description, uom, tracking, expiry, GTINs
        self.changes: list[tuple[int, str, str, str, bool, list[str]]] = []  # id, description, uom, tracking, expiry, GTINs to add
        self.normalized: dict[str, str | WarehouseError] = {}  # a chunk's GTIN cells as normalize_gtin answers them

    # the database side, read the same way by the check and the write's second look

    def _read_items(self, session: Session, keys: set[tuple[str, str]]) -> dict[tuple[str, str], _ItemFacts]:
        found = {}
        for sku, refs in items_with_skus(session, {sku for _, sku in keys}, self.postgres).items():
            for ref in refs:
                if (ref.owner, sku) in keys:
                    found[(ref.owner, sku)] = _ItemFacts(ref.id, ref.tracking, ref.expiry_required)
        return found

    def _read_codes(self, session: Session, gtins: set[str]) -> dict[str, tuple[int, str]]:
        found = {}
        for chunk in chunks(gtins):
            for code, sku, item_id in session.execute(select(ItemCode.code, Item.sku, Item.id).join(Item, Item.id == ItemCode.item_id)
                                                      .where(where_in(ItemCode.code, chunk, self.postgres))):
                found[code] = (item_id, sku)
        return found

    def _read_owners(self, session: Session, codes: set[str]) -> dict[str, int]:
        return dict(session.execute(select(Owner.code, Owner.id).where(where_in(Owner.code, codes, self.postgres))).all()) if codes else {}

    def _read_stocked(self, session: Session, ids: set[int]) -> dict[int, bool]:
        stocked = dict.fromkeys(ids, False)
        for chunk in chunks(ids):
            for item_id in session.scalars(select(Quant.item_id).where(where_in(Quant.item_id, chunk, self.postgres), Quant.qty != 0).distinct()):
                stocked[item_id] = True
        return stocked

    def check(self, session: Session, rows: list[Row], problems: Problems) -> None:
        keys, gtins = set(), set()
        self.normalized = {}
        for row in rows:
            v = row.values
            sku = read_key(v, "sku")
            if sku:
                keys.add((read_key(v, "owner") or md.DEFAULT_OWNER, sku))
            for piece in (v.get("gtin") or "").split("|"):
                if piece.strip() and isinstance(gtin := self._gtin(piece), str):
                    gtins.add(gtin)
        keys -= self.existing.keys()
        found = self._read_items(session, keys)
        self.existing.update((key, found.get(key)) for key in keys)
        gtins -= self.taken.keys()
        codes = self._read_codes(session, gtins)
        self.taken.update((gtin, codes.get(gtin)) for gtin in gtins)
        owners = {owner for owner, _ in keys} - self.owner_ids.keys()
        owner_ids = self._read_owners(session, owners)
        self.owner_ids.update((owner, owner_ids.get(owner)) for owner in owners)
        # Whether an item has stock matters only where a row changes its tracking or expiry rule.
        changing = set()
        for row in rows:
            v = row.values
            facts = self.existing.get((read_key(v, "owner") or md.DEFAULT_OWNER, read_key(v, "sku")))
            if facts is not None and facts.id not in self.stocked:
                try:
                    rule = (read_choice(v, "tracking", TRACKINGS, Tracking.NONE.value) if "tracking" in v else facts.tracking,
                            read_yes_no(v, "expiry") if "expiry" in v else facts.expiry_required)
                except WarehouseError:
                    continue
                if rule != (facts.tracking, facts.expiry_required):
                    changing.add(facts.id)
        self.stocked.update(self._read_stocked(session, changing))
        found_errors = []
        for row in rows:
            try:
                self._row(row)
            except WarehouseError as exc:
                found_errors.append((row.line, str(exc)))
        problems.add_sorted(found_errors)

    def _gtin(self, piece: str) -> str | WarehouseError:
        """normalize_gtin's answer for a cell's piece, worked out once per chunk (the look-ahead asks too)."""
        if piece not in self.normalized:
            try:
                self.normalized[piece] = normalize_gtin(piece)
            except WarehouseError as exc:
                self.normalized[piece] = exc
        return self.normalized[piece]

    def _row(self, row: Row) -> None:
        v = row.values
        sku = read_code(v, "sku", required=True)
        owner_code = read_code(v, "owner") or md.DEFAULT_OWNER
        key = (owner_code, sku)
        if key in self.keys:
            raise InvalidInput(f"SKU {sku} of owner {owner_code} is already on line {self.keys[key]}")
        description = read_text(v, "description", 300)
        uom = read_code(v, "uom", 16) or "EA"
        tracking = read_choice(v, "tracking", TRACKINGS, Tracking.NONE.value)
        expiry = read_yes_no(v, "expiry")
        gtins = []
        for piece in (v.get("gtin") or "").split("|"):
            if piece.strip():
                gtin = self._gtin(piece)
                if isinstance(gtin, WarehouseError):
                    raise gtin
                if gtin not in gtins:
                    gtins.append(gtin)
        existing = self.existing.get(key)
        for gtin in gtins:
            earlier = self.gtins.get(gtin)
            if earlier is not None and earlier[1:] != key:
                raise InvalidInput(f"GTIN {gtin} is also given to SKU {earlier[2]} on line {earlier[0]}")
        for gtin in gtins:
            taken = self.taken.get(gtin)
            if taken is not None and (existing is None or taken[0] != existing.id):
                raise InvalidInput(f"GTIN {gtin} already belongs to SKU {taken[1]}")
        if existing is None:
            self.new.append((owner_code, sku, description, uom, tracking, expiry, gtins))
            self.created += 1
        else:
            new_tracking = tracking if "tracking" in v else existing.tracking
            new_expiry = expiry if "expiry" in v else existing.expiry_required
            if (new_tracking, new_expiry) != (existing.tracking, existing.expiry_required) and self.stocked.get(existing.id):
                was = f"tracking {existing.tracking}, expiry {'yes' if existing.expiry_required else 'no'}"
                now = f"tracking {new_tracking}, expiry {'yes' if new_expiry else 'no'}"
                raise InvalidInput(f"SKU {sku} has stock on hand — it cannot change from {was} to {now}")
            added = [g for g in gtins if self.taken.get(g) is None]  # the item's own codes are there already
            self.changes.append((existing.id, description, uom, new_tracking, new_expiry, added))
            self.updated += 1
        self.keys[key] = row.line
        for gtin in gtins:
            self.gtins[gtin] = (row.line, owner_code, sku)
        self.owners.add(owner_code)
        self.rows += 1

    def write(self, session: Session, progress: Progress) -> None:
        now = self._read_items(session, set(self.existing))
        changed = [f"SKU {sku}" for (owner, sku), facts in self.existing.items() if now.get((owner, sku)) != facts]
        codes = self._read_codes(session, set(self.taken))
        changed += [f"GTIN {gtin}" for gtin, taken in self.taken.items() if codes.get(gtin) != taken]
        owners = self._read_owners(session, set(self.owner_ids))
        changed += [f"owner {code}" for code, owner_id in self.owner_ids.items() if owners.get(code) != owner_id]
        stocked = self._read_stocked(session, set(self.stocked))
        changed += [f"stock of item {item_id}" for item_id, has in self.stocked.items() if stocked[item_id] != has]
        if changed:
            raise changed_meanwhile(self.source, changed)
        conn = session.connection()
        new_owners = list(dict.fromkeys(owner for owner, *_ in self.new if owners.get(owner) is None))
        owners.update(zip(new_owners, insert_numbered(conn, Owner.__table__, [{"code": code, "name": code} for code in new_owners])))
        made = insert_numbered(conn, Item.__table__, [
            {"owner_id": owners[owner], "sku": sku, "description": description, "uom": uom, "tracking": tracking,
             "expiry_required": expiry, "zone": None} for owner, sku, description, uom, tracking, expiry, _ in self.new])
        if self.changes:
            table = Item.__table__
            values = {"tracking": bindparam("b_tracking"), "expiry_required": bindparam("b_expiry")}
            if "description" in self.columns:
                values["description"] = bindparam("b_description")
            if "uom" in self.columns:
                values["uom"] = bindparam("b_uom")
            session.execute(update(table).where(table.c.id == bindparam("b_id")).values(**values), [
                {"b_id": item_id, "b_description": description, "b_uom": uom, "b_tracking": tracking, "b_expiry": expiry}
                for item_id, description, uom, tracking, expiry, _ in self.changes])
        codes_rows = [{"item_id": item_id, "code": gtin, "kind": "gtin"} for item_id, (*_, gtins) in zip(made, self.new) for gtin in gtins]
        codes_rows += [{"item_id": item_id, "code": gtin, "kind": "gtin"} for item_id, *_, added in self.changes for gtin in added]
        insert_many(conn, ItemCode.__table__, codes_rows)
        if self.upstream:
            note_changed(conn, [("owner", owners[code]) for code in new_owners] + [("item", item_id) for item_id in made]
                      + [("item", item_id) for item_id, *_ in self.changes])
        progress("writing", self.rows, self.rows)

    def result(self) -> ImportResult:
        owners = len(self.owners)
        return ImportResult(self.kind, self.rows, self.created, self.updated,
                            f"Imported {self.rows} item{plural(self.rows)} ({self.created} new, {self.updated} updated; "
                            f"{owners} owner{plural(owners)})")
