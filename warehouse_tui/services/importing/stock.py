"""Importing opening stock: booked by the batch ledger as adjust movements with doc_ref OPENING."""

from __future__ import annotations

import datetime as dt
import uuid
from array import array
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from warehouse_tui.db.changes import note_changed
from warehouse_tui.db.models import Bin, Lot, Movement, OutboxEntry, Quant, SerialUnit, utcnow
from warehouse_tui.errors import InvalidInput, WarehouseError
from warehouse_tui.services.batch_ledger import BOOKED, BatchLedger, chunks, insert_many, key_table
from warehouse_tui.services.importing.catalog import BinRef, Catalog, ItemRef
from warehouse_tui.services.importing.csv_file import Row
from warehouse_tui.services.importing.importer import Importer
from warehouse_tui.services.importing.results import (
    MAX_REPORTED,
    OPENING_DOC_REF,
    WRITE_CHUNK,
    ImportFailed,
    ImportResult,
    Problems,
    Progress,
    RowError,
    plural,
)
from warehouse_tui.services.importing.values import LOT, SERIAL, read_code, read_date, read_key, read_qty
from warehouse_tui.services.ledger import AVAILABLE, MovementKind
from warehouse_tui.services.receiving import expiry_lot_code


class _StockRow(NamedTuple):
    line: int
    item: ItemRef
    bin: BinRef
    lot: str  # "" for none
    expiry: dt.date | None
    serial: str  # "" for none
    qty: int


class StockImport(Importer):
    """Opening balances, booked by the batch ledger; a million rows are kept as a few arrays until the write."""

    kind = "stock"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.catalog = Catalog()
        # Lots as the ledger will see them, row by row: (item id, code) -> the index of its present version in
        # `versions`, a (lot id or None while the file makes it, code, expiry); a lot whose expiry a row gives gets
        # a new version, so each row's movement carries the expiry its lot had when it was booked.
        self.lot_at: dict[tuple[int, str], int] = {}
        self.versions: list[tuple[int | None, str, dt.date | None]] = []
        self.serials: dict[tuple[int, str], int] = {}  # (item id, serial) of accepted rows -> line
        # The accepted rows, a column each.
        self.lines = array("q")
        self.item_ids = array("q")
        self.bin_ids = array("q")
        self.lot_of = array("q")  # index into versions, -1 for no lot
        self.qtys = array("q")
        self.serial_of: list[str | None] = []
        self.units = 0
        self.items: set[int] = set()
        self.bins: set[int] = set()
        self.last_seq = 0

    def begin(self, session: Session) -> None:
        super().begin(session)
        self.last_seq = session.scalar(select(func.coalesce(func.max(Movement.seq), 0))) or 0

    def check(self, session: Session, rows: list[Row], problems: Problems) -> None:
        names = [(read_key(row.values, "bin"), read_key(row.values, "sku")) for row in rows]
        self.catalog.load(session, self.postgres, skus=(sku for _, sku in names), bins=(bin_ for bin_, _ in names))
        found_errors = []
        candidates = []
        for row, (bin_name, sku) in zip(rows, names):
            try:
                candidates.append(self._values(row, bin_name, sku))
            except WarehouseError as exc:
                found_errors.append((row.line, str(exc)))
        in_stock, held = self._read_places(session, candidates)
        for row in candidates:
            try:
                self._accept(row, in_stock, held)
            except WarehouseError as exc:
                found_errors.append((row.line, str(exc)))
        problems.add_sorted(found_errors)

    def _values(self, row: Row, bin_name: str | None, sku: str | None) -> _StockRow:
        """The row's own rules: what it names must exist and its values fit the item's tracking.

        `bin_name` and `sku` are the row's codes as read_key read them (None: read_code refuses them, and says why here).
        """
        v = row.values
        bin_ = self.catalog.bin(bin_name or read_code(v, "bin", required=True))
        item = self.catalog.item(sku or read_code(v, "sku", required=True))
        lot_code = read_code(v, "lot")
        expiry = read_date(v, "expiry")
        serial = read_code(v, "serial")
        if item.tracking == SERIAL:
            if not serial:
                raise InvalidInput(f"SKU {item.sku} is serial-tracked — fill in serial, one row per unit")
            qty = read_qty(v) if (v.get("qty") or "").strip() else 1
            if qty != 1:
                raise InvalidInput(f"SKU {item.sku} is serial-tracked — qty must be 1 (or empty) per serial, not {qty}")
        else:
            if serial:
                raise InvalidInput(f"SKU {item.sku} is not serial-tracked — leave serial empty")
            qty = read_qty(v)
        if item.tracking == LOT and not lot_code:
            raise InvalidInput(f"SKU {item.sku} is lot-tracked — fill in lot")
        if item.expiry_required and expiry is None:
            raise InvalidInput(f"SKU {item.sku} needs an expiry date — fill in expiry (YYYY-MM-DD)")
        lot_carrier = item.tracking == LOT or item.expiry_required
        if lot_code and not lot_carrier:
            raise InvalidInput(f"SKU {item.sku} is not lot-tracked — leave lot empty")
        if expiry is not None and not lot_carrier:
            raise InvalidInput(f"SKU {item.sku} has no expiry date — leave expiry empty")
        if item.expiry_required and not lot_code:
            lot_code = expiry_lot_code(expiry)  # the lot receiving would make for this expiry
        return _StockRow(row.line, item, bin_, lot_code, expiry, serial, qty)

    def _read_places(self, session: Session, rows: list[_StockRow]) -> tuple[dict[tuple[int, str], str | None], dict[tuple, int]]:
        """For a chunk: its lots (kept), its serials in stock (-> bin code) and the stock its places hold (-> qty)."""
        lots = {(r.item.id, r.lot) for r in rows if r.lot} - self.lot_at.keys()
        for chunk in chunks(lots):
            table, on = key_table((Lot.item_id, Lot.code), chunk, self.postgres)
            for lot_id, item_id, code, expiry in session.execute(select(Lot.id, Lot.item_id, Lot.code, Lot.expiry).select_from(table).join(Lot, on)):
                self.lot_at[(item_id, code)] = len(self.versions)
                self.versions.append((lot_id, code, expiry))
        return (self._serials_in_stock(session, {(r.item.id, r.serial) for r in rows if r.serial}),
                self._stock_in_places(session, {(r.item.id, r.bin.id) for r in rows}))

    def _serials_in_stock(self, session: Session, serials: set[tuple[int, str]]) -> dict[tuple[int, str], str | None]:
        found = {}
        for chunk in chunks(serials):
            table, on = key_table((SerialUnit.item_id, SerialUnit.serial), chunk, self.postgres)
            for item_id, serial, code in session.execute(select(SerialUnit.item_id, SerialUnit.serial, Bin.code).select_from(table)
                                                         .join(SerialUnit, on).outerjoin(Bin, Bin.id == SerialUnit.bin_id)
                                                         .where(SerialUnit.status == "in_stock")):
                found[(item_id, serial)] = code
        return found

    def _stock_in_places(self, session: Session, places: set[tuple[int, int]]) -> dict[tuple[int, int, str | None], int]:
        """(item id, bin id, lot code or None) -> the quantity its quants add up to (containers, owners, statuses together)."""
        held = {}
        for chunk in chunks(places):
            table, on = key_table((Quant.item_id, Quant.bin_id), chunk, self.postgres)
            for item_id, bin_id, code, qty in session.execute(
                    select(Quant.item_id, Quant.bin_id, Lot.code, func.sum(Quant.qty)).select_from(table).join(Quant, on)
                    .outerjoin(Lot, Lot.id == Quant.lot_id).group_by(Quant.item_id, Quant.bin_id, Lot.code)):
                held[(item_id, bin_id, code)] = int(qty or 0)
        return held

    def _accept(self, row: _StockRow, in_stock: dict[tuple[int, str], str | None], held: dict[tuple, int]) -> None:
        """The rules against the database and the file's earlier rows; an accepted row is kept for the write."""
        item, serial = row.item, row.serial
        if serial:
            earlier = self.serials.get((item.id, serial))
            if earlier is not None:
                raise InvalidInput(f"serial {serial} of {item.sku} is already on line {earlier}")
            if (item.id, serial) in in_stock:
                where = in_stock[(item.id, serial)]
                raise InvalidInput(f"serial {serial} of {item.sku} is already in stock in {where or 'the warehouse'}")
        version = self.lot_at.get((item.id, row.lot)) if row.lot else None
        if version is not None and row.expiry is not None:
            known = self.versions[version][2]
            if known is not None and known != row.expiry:  # a lot's expiry, once known, cannot change (masterdata.lot)
                raise InvalidInput(f"Lot {row.lot} of {item.sku} expires {known:%Y-%m-%d}, not {row.expiry:%Y-%m-%d}")
        stocked = held.get((item.id, row.bin.id, row.lot or None), 0)
        if stocked:
            what = item.sku + (f" lot {row.lot}" if row.lot else "")
            raise InvalidInput(f"{row.bin.code} already holds {stocked} of {what} — opening stock goes into empty places; count the bin instead")
        if row.lot:
            if version is None or (row.expiry is not None and self.versions[version][2] is None):
                lot_id = self.versions[version][0] if version is not None else None
                version = self.lot_at[(item.id, row.lot)] = len(self.versions)
                self.versions.append((lot_id, row.lot, row.expiry))
        if serial:
            self.serials[(item.id, serial)] = row.line
        self.lines.append(row.line)
        self.item_ids.append(item.id)
        self.bin_ids.append(row.bin.id)
        self.lot_of.append(version if row.lot else -1)
        self.qtys.append(row.qty)
        self.serial_of.append(serial or None)
        self.units += row.qty
        self.items.add(item.id)
        self.bins.add(row.bin.id)
        self.rows += 1
        self.created += 1

    # ------------------------------------------------------------------ the write

    def write(self, session: Session, progress: Progress) -> None:
        changed = self._stocked_meanwhile(session)
        if changed:
            raise ImportFailed(self.source, changed[:MAX_REPORTED], len(changed))
        ledger = BatchLedger(session, strict=True, origin="upstream" if self.upstream else "local")  # the movement's origin column
        conn = session.connection()
        at = utcnow()
        at_text = at.isoformat()
        total = len(self.lines)
        for start in range(0, total, WRITE_CHUNK):
            end = min(total, start + WRITE_CHUNK)
            payloads = [self._payload(n, at_text) for n in range(start, end)]
            booked = ledger.book(payloads)
            refused = [RowError(self.lines[start + k], b.reason or b.result) for k, b in enumerate(booked) if b.result != BOOKED]
            if refused:  # the ledger's own refusal, or what changed meanwhile: nothing of the file stays
                raise ImportFailed(self.source, refused[:MAX_REPORTED], len(refused))
            if self.upstream:
                note_changed(conn, [("movement", b.seq) for b in booked])  # the upstream's record of a movement is its feed
            else:
                insert_many(conn, OutboxEntry.__table__, [{"uuid": p["id"], "kind": "movement", "terminal": self.actor.terminal,
                                                           "created_at": at, "payload": p} for p in payloads])
            progress("writing", end, total)

    def _payload(self, n: int, at: str) -> dict:
        """Row n's movement as ledger.post writes it into the outbox (and the batch ledger books it)."""
        item = self.catalog.items_by_id[self.item_ids[n]]
        lot = self.versions[self.lot_of[n]] if self.lot_of[n] >= 0 else None
        return {
            "id": str(uuid.uuid4()),
            "kind": MovementKind.ADJUST.value,
            "sku": item.sku,
            "owner": item.owner,
            "qty": self.qtys[n],
            "lot": lot[1] if lot else None,
            "expiry": lot[2].isoformat() if lot and lot[2] else None,
            "serial": self.serial_of[n],
            "from_bin": None,
            "to_bin": self.catalog.bins_by_id[self.bin_ids[n]].code,
            "from_container": None,
            "to_container": None,
            "from_status": AVAILABLE,
            "to_status": AVAILABLE,
            "operator": self.actor.badge,
            "terminal": self.actor.terminal,
            "at": at,
            "ref": OPENING_DOC_REF,
            "consume_reserved": 0,
        }

    def _stocked_meanwhile(self, session: Session) -> list[RowError]:
        """Rows whose place or serial got stock since the check began (then the file is refused)."""
        if self.postgres:
            # Seqs may commit out of order here: read the file's places and serials again.
            held = self._stock_in_places(session, set(zip(self.item_ids, self.bin_ids)))
            places = {key for key, qty in held.items() if qty}
            serials = set(self._serials_in_stock(session, set(self.serials)))
        else:
            # SQLite: writers take turns and movement seqs grow in commit order, so what was booked since the
            # check's snapshot is exactly the movements above the last seq it saw.
            places, serials = set(), set()
            for item_id, from_bin, to_bin, code, serial in session.execute(
                    select(Movement.item_id, Movement.from_bin_id, Movement.to_bin_id, Lot.code, Movement.serial)
                    .outerjoin(Lot, Lot.id == Movement.lot_id).where(Movement.seq > self.last_seq)):
                places.update((item_id, bin_id, code) for bin_id in (from_bin, to_bin) if bin_id is not None)
                if serial is not None:
                    serials.add((item_id, serial))
        if not places and not serials:
            return []
        found = []
        for n, line in enumerate(self.lines):
            item = self.catalog.items_by_id[self.item_ids[n]]
            lot = self.versions[self.lot_of[n]][1] if self.lot_of[n] >= 0 else None
            serial = self.serial_of[n]
            if (item.id, self.bin_ids[n], lot) in places:
                what = item.sku + (f" lot {lot}" if lot else "")
                where = self.catalog.bins_by_id[self.bin_ids[n]].code
                found.append(RowError(line, f"{where} got stock of {what} from another terminal while the file was being checked "
                                            "— import the file again"))
            elif serial and (item.id, serial) in serials:
                found.append(RowError(line, f"serial {serial} of {item.sku} was booked by another terminal while the file was being "
                                            "checked — import the file again"))
        return found

    def result(self) -> ImportResult:
        return ImportResult(self.kind, self.rows, self.created, 0,
                            f"Imported opening stock: {self.units} unit{plural(self.units)} in {self.rows} row{plural(self.rows)} "
                            f"({len(self.items)} item{plural(len(self.items))}, {len(self.bins)} bin{plural(len(self.bins))})")
