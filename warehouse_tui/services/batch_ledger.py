"""The ledger for batches: book many movements named by natural keys, set-based.

`ledger.post` books one movement with a handful of round trips; pushing 20,000
movements a second (DESIGN §9) or loading a million rows of opening stock
(services/importing.py) needs the batch at once. `BatchLedger.book`
applies the same rules as `ledger.post` — the same refusals, in the same
order, with the same effects on quants, reservations, serial units and
containers — to a whole batch in memory after loading the rows it touches
(locked FOR UPDATE on PostgreSQL), then writes every change with a few
executemany statements. tests/test_sync_booking.py books random batches both
ways and requires identical results; change both or neither.

Each movement gets one of three results:
- booked: the books allowed it;
- conflict (strict mode only): the books refused it (stock not there, reserved
  for picking, serial elsewhere, container standing elsewhere, bin blocked),
  and it was booked anyway as `allow_negative` does, flagged conflict;
- refused: it cannot be booked at all (an item or bin not known here, a
  tracking rule broken, a malformed quantity) — nothing changes for it.

Strict mode is the upstream applying pushed movements, and the CSV import
booking opening stock (which refuses the whole file on any result but booked);
lenient mode is a terminal booking movements the upstream already booked
(pulled). The sync uses it as `warehouse_tui.sync.booking`. The set-based SQL
it writes with (one-parameter IN lists, COPY) is db/bulk.py's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import operator
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from warehouse_tui.db.models import (
    Bin,
    Container,
    ContainerKind,
    Item,
    Lot,
    Movement,
    MovementKind,
    Operator,
    Owner,
    Quant,
    SerialUnit,
    quant_key,
    utcnow,
)
from warehouse_tui.db.bulk import chunks, insert_many, insert_numbered, key_table, taken_ids, where_in
from warehouse_tui.errors import InvalidInput, WarehouseError
from warehouse_tui.services.ledger import AVAILABLE, MAX_QTY, check_qty, check_tracking

BOOKED = "booked"
CONFLICT = "conflict"
REFUSED = "refused"


@dataclass
class Booked:
    uuid: str
    result: str
    reason: str | None = None
    notes: list[str] = field(default_factory=list)
    seq: int | None = None  # the movement's seq in this database, when booked


@dataclass
class _Quant:
    id: int | None
    item_id: int
    bin_id: int
    lot_id: int | None
    container_id: int | None
    owner_id: int
    status: str
    qty: int
    reserved: int
    loaded: tuple[int, int] | None  # (qty, reserved) as read; None for a new quant


@dataclass
class _Unit:
    id: int | None
    item_id: int
    serial: str
    lot_id: int | None
    bin_id: int | None
    container_id: int | None
    owner_id: int
    status: str
    changed: bool = False


_KINDS = {k.value: k for k in MovementKind}


def _kind(value) -> MovementKind:
    """MovementKind(value), looked up (the enum's own call costs a microsecond a movement); a bad or unhashable kind
    still goes through the enum, to be refused as it refuses it."""
    try:
        return _KINDS[value]
    except (KeyError, TypeError):
        return MovementKind(value)


def parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return parsed


class BatchLedger:
    """Books batches of movement payloads (the outbox payload shape) into one database session."""

    def __init__(self, session: Session, *, strict: bool, origin: str) -> None:
        self.session = session
        self.strict = strict
        self.origin = origin
        self.postgres = session.bind.dialect.name == "postgresql"
        # Master data named by the batches, kept from one book() to the next in the same transaction (a
        # large import books in chunks): what was looked up is not asked again. Lots are kept too (a lot
        # this ledger created or gave an expiry holds it); stock, serial units and containers are read
        # again for every batch.
        self.items: dict[tuple[str, str], SimpleNamespace] = {}
        self.items_by_sku: dict[str, list[SimpleNamespace]] = defaultdict(list)
        self.owners: dict[str, int] = {}
        self.bins: dict[str, tuple[int, bool]] = {}
        self.bin_codes: dict[int, str] = {}
        self.blocked: set[int] = set()
        self.operators: dict[str, int] = {}
        self.lots: dict[tuple[int, str], SimpleNamespace] = {}
        self._asked: dict[str, set] = defaultdict(set)
        self._times: dict[str | None, dt.datetime | None] = {}

    # ------------------------------------------------------------------ resolving natural keys

    def _new(self, kind: str, keys: Iterable) -> list:
        """The keys of `kind` not looked up before (and from now on counted as looked up)."""
        asked = self._asked[kind]
        fresh = [k for k in set(keys) - {None} if k not in asked]
        asked.update(fresh)
        return fresh

    def _resolve(self, payloads: list[dict]) -> None:
        s = self.session
        for chunk in chunks(self._new("sku", (p["sku"] for p in payloads if p.get("sku")))):
            for r in s.execute(select(Item.id, Item.sku, Owner.code, Item.owner_id, Item.tracking, Item.expiry_required)
                               .join(Owner, Owner.id == Item.owner_id).where(where_in(Item.sku, chunk, self.postgres))):
                item = SimpleNamespace(id=r[0], sku=r[1], owner=r[2], owner_id=r[3], tracking=r[4], expiry_required=bool(r[5]))
                self.items[(r[2], r[1])] = item
                self.items_by_sku[r[1]].append(item)
        owners = self._new("owner", (p.get("owner") for p in payloads))
        if owners:
            self.owners.update(s.execute(select(Owner.code, Owner.id).where(Owner.code.in_(owners))).all())
        for chunk in chunks(self._new("bin", (p.get(side) for p in payloads for side in ("from_bin", "to_bin")))):
            for code, bin_id, blocked in s.execute(select(Bin.code, Bin.id, Bin.blocked).where(where_in(Bin.code, chunk, self.postgres))):
                self.bins[code] = (bin_id, bool(blocked))
                self.bin_codes[bin_id] = code
                if blocked:
                    self.blocked.add(bin_id)
        badges = self._new("operator", (p.get("operator") for p in payloads))
        if badges:
            self.operators.update(s.execute(select(Operator.badge, Operator.id).where(Operator.badge.in_(badges))).all())
        self._resolve_containers(payloads)

    def item(self, p: dict) -> SimpleNamespace:
        found = self.items.get((p.get("owner"), p["sku"]))
        if found is None:
            candidates = self.items_by_sku.get(p["sku"], [])
            if len(candidates) != 1:
                raise _Refused(f"item {p['sku']} of owner {p.get('owner')} is not known {self.where}")
            found = candidates[0]
        return found

    @property
    def where(self) -> str:
        return "upstream" if self.strict else "here"

    def bin(self, code: str | None) -> tuple[int, bool] | None:
        if code is None:
            return None
        found = self.bins.get(code)
        if found is None:
            raise _Refused(f"bin {code} is not known {self.where}")
        return found

    def _resolve_lots(self, wanted: dict[tuple[int, str], str | None]) -> None:
        """Lots by (item id, code); the missing ones are created with the expiry the movement carries."""
        s = self.session

        def load(keys) -> None:
            for chunk in chunks(keys):
                table, on = key_table((Lot.item_id, Lot.code), chunk, self.postgres)
                for lot_id, item_id, code, expiry in s.execute(select(Lot.id, Lot.item_id, Lot.code, Lot.expiry).select_from(table).join(Lot, on)):
                    self.lots[(item_id, code)] = SimpleNamespace(id=lot_id, item_id=item_id, code=code, expiry=expiry)

        load(self._new("lot", wanted))
        missing = [k for k in wanted if k not in self.lots]
        if missing:
            insert_many(s.connection(), Lot.__table__, [
                {"item_id": i, "code": c, "expiry": dt.date.fromisoformat(wanted[(i, c)]) if wanted[(i, c)] else None} for i, c in missing])
            load(missing)

    def _resolve_containers(self, payloads: list[dict]) -> None:
        s = self.session
        kinds: dict[str, str | None] = {}
        for p in payloads:
            for side in ("from_container", "to_container"):
                if p.get(side):
                    kinds.setdefault(p[side], p.get(f"{side}_kind"))
        self.containers: dict[str, SimpleNamespace] = {}

        def load(codes) -> None:
            for chunk in chunks(codes):
                for cid, code, bin_id in s.execute(select(Container.id, Container.code, Container.bin_id).where(where_in(Container.code, chunk, self.postgres))):
                    self.containers[code] = SimpleNamespace(id=cid, code=code, bin_id=bin_id, loaded=bin_id)

        load(kinds)
        valid = {k.value for k in ContainerKind}
        missing = [c for c in kinds if c not in self.containers]
        if missing:
            insert_many(s.connection(), Container.__table__, [{"code": c, "kind": kinds[c] if kinds[c] in valid else ContainerKind.LPN.value,
                                                               "status": "active"} for c in missing])
            load(missing)
        self.containers_by_id = {c.id: c for c in self.containers.values()}

    # ------------------------------------------------------------------ loading what the batch touches

    def _load_state(self, keys: set[str], container_ids: set[int], serials: set[tuple[int, str]]) -> None:
        s = self.session
        cols = (Quant.id, Quant.key, Quant.item_id, Quant.bin_id, Quant.lot_id, Quant.container_id, Quant.owner_id, Quant.status,
                Quant.qty, Quant.reserved)
        self.quants: dict[str, _Quant] = {}
        self.by_container: dict[int, set[str]] = defaultdict(set)

        def take(rows) -> None:
            for r in rows:
                if r[1] not in self.quants:
                    self.quants[r[1]] = _Quant(r[0], r[2], r[3], r[4], r[5], r[6], r[7], int(r[8]), int(r[9]), (int(r[8]), int(r[9])))
                    if r[5] is not None:
                        self.by_container[r[5]].add(r[1])

        for chunk in chunks(keys):
            query = select(*cols).where(where_in(Quant.key, chunk, self.postgres)).order_by(Quant.id)
            take(s.execute(query.with_for_update() if self.postgres else query))
        for chunk in chunks(container_ids):
            query = select(*cols).where(where_in(Quant.container_id, chunk, self.postgres)).order_by(Quant.id)
            take(s.execute(query.with_for_update() if self.postgres else query))
        self.units: dict[tuple[int, str], _Unit] = {}
        for chunk in chunks(serials):
            table, on = key_table((SerialUnit.item_id, SerialUnit.serial), chunk, self.postgres)
            query = select(SerialUnit.id, SerialUnit.item_id, SerialUnit.serial, SerialUnit.lot_id, SerialUnit.bin_id,
                           SerialUnit.container_id, SerialUnit.owner_id, SerialUnit.status).select_from(table).join(SerialUnit, on)
            for r in s.execute(query.with_for_update(of=SerialUnit) if self.postgres else query):
                self.units[(r[1], r[2])] = _Unit(*r)
        unit_bins = {u.bin_id for u in self.units.values() if u.bin_id is not None} - set(self.bin_codes)
        if unit_bins:
            self.bin_codes.update(s.execute(select(Bin.id, Bin.code).where(Bin.id.in_(unit_bins))).all())
        container_bins = {c.bin_id for c in self.containers.values() if c.bin_id is not None} - set(self.bin_codes)
        if container_bins:
            self.bin_codes.update(s.execute(select(Bin.id, Bin.code).where(Bin.id.in_(container_bins))).all())

    # ------------------------------------------------------------------ booking

    def book(self, payloads: list[dict], *, conflicts: list[bool] | None = None) -> list[Booked]:
        """Book payloads in order. `conflicts` (lenient mode): the flag the upstream gave each one."""
        self._resolve(payloads)
        plans: list[dict | Booked] = []
        lots_wanted: dict[tuple[int, str], str | None] = {}
        for p in payloads:
            try:
                item = self.item(p)
                self.bin(p.get("from_bin")), self.bin(p.get("to_bin"))
                if p.get("lot"):
                    lots_wanted.setdefault((item.id, p["lot"]), p.get("expiry"))
                plans.append({"p": p, "item": item})
            except _Refused as exc:
                plans.append(Booked(p["id"], REFUSED, str(exc)))
        self._resolve_lots(lots_wanted)
        keys: set[str] = set()
        container_ids: set[int] = set()
        serials: set[tuple[int, str]] = set()
        for plan in plans:
            if isinstance(plan, Booked):
                continue
            p, item = plan["p"], plan["item"]
            plan["lot"] = self.lots.get((item.id, p["lot"])) if p.get("lot") else None
            plan["owner_id"] = self.owners.get(p.get("owner"), item.owner_id)
            plan["from_container"] = self.containers.get(p.get("from_container")) if p.get("from_container") else None
            plan["to_container"] = self.containers.get(p.get("to_container")) if p.get("to_container") else None
            lot_id = plan["lot"].id if plan["lot"] else None
            from_bin = self.bins[p["from_bin"]][0] if p.get("from_bin") else None
            # (a from-container without a from-bin is taken from where it stands when booked: its quants are all loaded)
            to_bin = self.bins[p["to_bin"]][0] if p.get("to_bin") else None
            plan["from_bin"], plan["to_bin"] = from_bin, to_bin
            for bin_id, container, status in ((from_bin, plan["from_container"], p.get("from_status") or AVAILABLE),
                                              (to_bin, plan["to_container"], p.get("to_status") or AVAILABLE)):
                if bin_id is not None:
                    keys.add(quant_key(item.id, bin_id, lot_id, container.id if container else None, plan["owner_id"], status))
            for container in (plan["from_container"], plan["to_container"]):
                if container is not None:
                    container_ids.add(container.id)
            if p.get("serial") is not None:
                serials.add((item.id, p["serial"]))
        self._load_state(keys, container_ids, serials)
        self.movements: list[dict] = []
        self._expiries: dict[int, dt.date] = {}
        self._inserted: dict[str, int] = {}
        results = []
        with self._movement_rows(sum(not isinstance(plan, Booked) for plan in plans)) as written:
            for n, plan in enumerate(plans):
                if isinstance(plan, Booked):
                    results.append(plan)
                    continue
                flagged = bool(conflicts[n]) if conflicts is not None else False
                results.append(self._book_one(plan, flagged))
                if len(self.movements) > written.count:
                    written(self.movements[-1])
        self._write()
        seqs = self._inserted
        for r in results:
            r.seq = seqs.get(r.uuid)
        return results

    def _book_one(self, plan: dict, flagged: bool) -> Booked:
        p, item, lot = plan["p"], plan["item"], plan["lot"]
        uuid = p["id"]
        notes: list[str] = []
        if lot is not None and p.get("expiry"):
            expiry = dt.date.fromisoformat(p["expiry"])
            if lot.expiry is None:
                lot.expiry = expiry
                self._expiries[lot.id] = expiry  # written with the rest (_write): no statement while movements stream
            elif lot.expiry != expiry:
                notes.append(f"lot {lot.code} of {item.sku} expires {lot.expiry:%Y-%m-%d} {self.where}, {expiry:%Y-%m-%d} on the terminal")
        try:
            kind = _kind(p["kind"])
            qty = check_qty(p["qty"])
        except (ValueError, WarehouseError) as exc:
            return Booked(uuid, REFUSED, str(exc))
        from_bin, to_bin = plan["from_bin"], plan["to_bin"]
        from_c, to_c = plan["from_container"], plan["to_container"]
        if from_c is not None and from_bin is None:
            from_bin = from_c.bin_id
        from_status, to_status = p.get("from_status") or AVAILABLE, p.get("to_status") or AVAILABLE
        owner_id = plan["owner_id"]
        consume = int(p.get("consume_reserved") or 0)
        serial = p.get("serial")
        # The refusals of ledger.post that no allow_negative lifts.
        if from_c is not None and from_bin is None:
            return Booked(uuid, REFUSED, f"{from_c.code} is in no bin — nothing can be taken from it")
        if from_bin is None and to_bin is None:
            return Booked(uuid, REFUSED, "A movement needs a from-bin, a to-bin or both")
        if (from_bin is not None and from_bin == to_bin and (from_c.id if from_c else None) == (to_c.id if to_c else None)
                and from_status == to_status):
            return Booked(uuid, REFUSED, f"{item.sku} is already in {self._where(to_bin, to_c)}")
        try:
            check_tracking(item, lot, serial, qty)
        except InvalidInput as exc:
            return Booked(uuid, REFUSED, str(exc))
        lot_id = lot.id if lot else None
        fkey = quant_key(item.id, from_bin, lot_id, from_c.id if from_c else None, owner_id, from_status) if from_bin is not None else None
        tkey = quant_key(item.id, to_bin, lot_id, to_c.id if to_c else None, owner_id, to_status) if to_bin is not None else None
        # The refusals allow_negative lifts, in ledger.post's order.
        reason = self._refusal(kind, item, lot, qty, serial, from_bin, from_c, to_bin, to_c, fkey, consume)
        # ledger._give's ceiling holds even for a conflict (from and to never share a quant: refused above).
        if tkey is not None:
            have_to = self.quants[tkey].qty if tkey in self.quants else 0
            if have_to + qty > MAX_QTY * 10:
                return Booked(uuid, REFUSED, f"{item.sku} in {self.bin_codes.get(to_bin)} would exceed {MAX_QTY * 10:,} units")
        conflict = reason is not None
        if conflict and not self.strict:
            conflict = False  # the upstream decided; see below
        # Effects, exactly those of ledger.post.
        if fkey is not None:
            q = self._quant(fkey, item.id, from_bin, lot_id, from_c.id if from_c else None, owner_id, from_status)
            q.qty -= qty
            q.reserved = max(0, q.reserved - consume)
        if tkey is not None:
            if to_c is not None and to_c.bin_id != to_bin:
                to_c.bin_id = to_bin
            q = self._quant(tkey, item.id, to_bin, lot_id, to_c.id if to_c else None, owner_id, to_status)
            q.qty += qty
        if serial is not None:
            self._move_serial(kind, item, serial, lot_id, to_bin, to_c, owner_id)
        short_here = False
        if not self.strict and fkey is not None:
            q = self.quants[fkey]
            short_here = q.qty < 0 or q.reserved > q.qty
        booked_conflict = conflict if self.strict else (flagged or short_here)
        self.movements.append({
            "uuid": uuid, "kind": kind.value, "item_id": item.id, "qty": qty, "lot_id": lot_id, "serial": serial,
            "from_bin_id": from_bin, "to_bin_id": to_bin, "from_container_id": from_c.id if from_c else None,
            "to_container_id": to_c.id if to_c else None, "owner_id": owner_id, "from_status": from_status,
            "to_status": to_status, "operator_id": self.operators.get(p.get("operator")), "terminal": (p.get("terminal") or "")[:64],
            "at": self._time(p.get("at")) or utcnow(), "doc_ref": p.get("ref"), "conflict": booked_conflict, "origin": self.origin,
            "upstream_seq": p.get("upstream_seq") if not self.strict else None,
        })
        if conflict:
            return Booked(uuid, CONFLICT, "; ".join([reason, *notes]), notes)
        if notes and self.strict:
            return Booked(uuid, CONFLICT, "; ".join(notes), notes)
        return Booked(uuid, BOOKED, None, notes)

    def _time(self, value: str | None) -> dt.datetime | None:
        """parse_time, once per distinct text: a batch of one moment (an import) shares one datetime, converted once when written."""
        if value not in self._times:
            self._times[value] = parse_time(value)
        return self._times[value]

    def _where(self, bin_id: int | None, container) -> str:
        code = self.bin_codes.get(bin_id) if bin_id is not None else None
        if container is not None:
            return f"{container.code} in {code}" if code is not None else container.code
        return code if code is not None else "nowhere"

    def _refusal(self, kind, item, lot, qty, serial, from_bin, from_c, to_bin, to_c, fkey, consume) -> str | None:
        if to_bin is not None and to_bin in self.blocked and kind not in (MovementKind.ADJUST, MovementKind.COUNT):
            return f"Bin {self.bin_codes.get(to_bin)} is blocked — scan another bin"
        if serial is not None:
            unit = self.units.get((item.id, serial))
            if from_bin is None:
                if unit is not None and unit.status == "in_stock":
                    where = self.bin_codes.get(unit.bin_id) if unit.bin_id is not None else None
                    return f"Serial {serial} of {item.sku} is already in {where or 'stock'} — scan another serial"
            else:
                if unit is None or unit.status != "in_stock":
                    return f"Serial {serial} of {item.sku} is not in stock — scan another serial"
                if unit.bin_id != from_bin or unit.container_id != (from_c.id if from_c else None):
                    where = self.bin_codes.get(unit.bin_id) if unit.bin_id is not None else None
                    return f"Serial {serial} is in {where or 'another place'}, not {self._where(from_bin, from_c)}"
                if (unit.lot_id or None) != (lot.id if lot else None):
                    return f"Serial {serial} is not in lot {lot.code if lot else '(none)'}"
        if fkey is not None:
            q = self.quants.get(fkey)
            have = q.qty if q is not None else 0
            what = item.sku + (f" lot {lot.code}" if lot else "")
            if have < qty:
                return f"Only {have} of {what} in {self._where(from_bin, from_c)}, not {qty} — count the bin or scan another"
            reserved = q.reserved if q is not None else 0
            if consume > reserved or consume > qty:
                return f"{what} in {self._where(from_bin, from_c)}: releasing {consume} reserved but {reserved} are reserved"
            if have - qty < reserved - consume:
                return f"{reserved} of {what} in {self._where(from_bin, from_c)} are reserved for picking; only {have - reserved} free"
        if to_bin is not None and to_c is not None and to_c.bin_id is not None and to_c.bin_id != to_bin:
            # ledger._place_container looks after the take: the take may have emptied the container.
            stock = any(self.quants[k].qty != 0 for k in self.by_container.get(to_c.id, ()) if k != fkey)
            if fkey is not None and fkey in self.quants and self.quants[fkey].container_id == to_c.id:
                stock = stock or self.quants[fkey].qty - qty != 0
            if stock:
                return f"{to_c.code} stands in {self.bin_codes.get(to_c.bin_id, '?')}, not {self.bin_codes.get(to_bin)} — move it first"
        return None

    def _quant(self, key: str, item_id: int, bin_id: int, lot_id, container_id, owner_id: int, status: str) -> _Quant:
        q = self.quants.get(key)
        if q is None:
            q = _Quant(None, item_id, bin_id, lot_id, container_id, owner_id, status, 0, 0, None)
            self.quants[key] = q
            if container_id is not None:
                self.by_container[container_id].add(key)
        return q

    def _move_serial(self, kind, item, serial, lot_id, to_bin, to_c, owner_id) -> None:
        unit = self.units.get((item.id, serial))
        if unit is None:
            unit = _Unit(None, item.id, serial, None, None, None, owner_id, "in_stock")
            self.units[(item.id, serial)] = unit
        unit.changed = True
        if to_bin is None:
            unit.status = "shipped" if kind == MovementKind.SHIP else "removed"
            unit.bin_id = None
            unit.container_id = None
        else:
            unit.status = "in_stock"
            unit.bin_id = to_bin
            unit.container_id = to_c.id if to_c else None
            unit.lot_id = lot_id
            unit.owner_id = owner_id

    # ------------------------------------------------------------------ writing

    def _write(self) -> None:
        s = self.session
        new, changed, gone = [], [], []
        for key, q in self.quants.items():
            empty = q.qty == 0 and q.reserved == 0
            if q.id is None:
                if not empty:
                    new.append({"key": key, "item_id": q.item_id, "bin_id": q.bin_id, "lot_id": q.lot_id, "container_id": q.container_id,
                                "owner_id": q.owner_id, "status": q.status, "qty": q.qty, "reserved": q.reserved})
            elif empty:
                gone.append(q.id)
            elif (q.qty, q.reserved) != q.loaded:
                changed.append({"b_id": q.id, "qty": q.qty, "reserved": q.reserved})
        table = Quant.__table__
        if gone:
            for chunk in chunks(gone):
                s.execute(table.delete().where(table.c.id.in_(chunk)))
        if changed and self.postgres:
            # One statement for the whole batch: arrays unnested into the rows to update.
            s.execute(text("UPDATE quants SET qty = v.qty, reserved = v.reserved FROM "
                           "(SELECT unnest(CAST(:ids AS bigint[])) AS id, unnest(CAST(:qtys AS bigint[])) AS qty, "
                           "unnest(CAST(:reserved AS bigint[])) AS reserved) AS v WHERE quants.id = v.id"),
                      {"ids": [c["b_id"] for c in changed], "qtys": [c["qty"] for c in changed],
                       "reserved": [c["reserved"] for c in changed]})
        elif changed:
            s.execute(table.update().where(table.c.id == bindparam("b_id")).values(qty=bindparam("qty"), reserved=bindparam("reserved")), changed)
        if new:
            insert_many(s.connection(), table, new)
        units = [u for u in self.units.values() if u.changed]
        new_units = [{"item_id": u.item_id, "serial": u.serial, "lot_id": u.lot_id, "bin_id": u.bin_id, "container_id": u.container_id,
                      "owner_id": u.owner_id, "status": u.status} for u in units if u.id is None]
        old_units = [{"b_id": u.id, "lot_id": u.lot_id, "bin_id": u.bin_id, "container_id": u.container_id, "owner_id": u.owner_id,
                      "status": u.status} for u in units if u.id is not None]
        ut = SerialUnit.__table__
        if new_units:
            insert_many(s.connection(), ut, new_units)
        if old_units:
            s.execute(ut.update().where(ut.c.id == bindparam("b_id")).values(
                lot_id=bindparam("lot_id"), bin_id=bindparam("bin_id"), container_id=bindparam("container_id"),
                owner_id=bindparam("owner_id"), status=bindparam("status")), old_units)
        moved = [{"b_id": c.id, "bin_id": c.bin_id} for c in self.containers.values() if c.bin_id != c.loaded]
        if moved:
            ct = Container.__table__
            s.execute(ct.update().where(ct.c.id == bindparam("b_id")).values(bin_id=bindparam("bin_id")), moved)
        if self._expiries:
            lt = Lot.__table__
            s.execute(lt.update().where(lt.c.id == bindparam("b_id")).values(expiry=bindparam("expiry")),
                      [{"b_id": lot_id, "expiry": expiry} for lot_id, expiry in self._expiries.items()])
        if self.movements and not self.postgres:
            self._inserted.update(zip((m["uuid"] for m in self.movements), insert_numbered(s.connection(), Movement.__table__, self.movements)))

    @contextlib.contextmanager
    def _movement_rows(self, most: int) -> Iterator[_MovementRows]:
        """Where booked movements go as they are booked: on PostgreSQL straight into a COPY.

        The server inserts the rows (foreign keys, indexes: the largest part of a push) while
        the next ones are booked here. Their seqs are taken first, in order, for as many as may
        be booked (a movement refused while booking leaves a gap, as a rolled-back insert
        does), so nothing is read back. Elsewhere they are inserted with the rest by _write.
        """
        if not self.postgres or most == 0:
            yield _MovementRows(None, self._inserted)
            return
        s = self.session
        seqs = taken_ids(s.connection(), Movement.__table__, most)
        cursor = s.connection().connection.dbapi_connection.cursor()
        try:
            with cursor.copy(f"COPY movements ({', '.join(MOVEMENT_COLUMNS)}) FROM STDIN") as copy:
                yield _MovementRows(copy, self._inserted, seqs)
        finally:
            cursor.close()


# The movement columns in the order _MovementRows writes them.
MOVEMENT_COLUMNS = ("seq", "uuid", "kind", "item_id", "qty", "lot_id", "serial", "from_bin_id", "to_bin_id", "from_container_id",
                    "to_container_id", "owner_id", "from_status", "to_status", "operator_id", "terminal", "at", "doc_ref", "conflict",
                    "origin", "upstream_seq")
_movement_row = operator.itemgetter(*MOVEMENT_COLUMNS)


class _MovementRows:
    """Writes booked movements (dicts of MOVEMENT_COLUMNS but seq) to a COPY, each with the next seq taken for it."""

    def __init__(self, copy, inserted: dict[str, int], seqs: list[int] | None = None) -> None:
        self.copy = copy
        self.inserted = inserted
        self.seqs = seqs or []
        self.count = 0

    def __call__(self, movement: dict) -> None:
        self.count += 1
        if self.copy is None:
            return
        movement["seq"] = seq = self.seqs[self.count - 1]
        self.inserted[movement["uuid"]] = seq
        self.copy.write_row(_movement_row(movement))


class _Refused(Exception):
    pass
