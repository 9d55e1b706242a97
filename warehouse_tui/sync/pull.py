"""Terminal side of a pull: bring the upstream's changes since this terminal's cursor into the local database.

A pull reads a page of feed rows after the cursor and the aggregates they name,
as they are now, in one read transaction on the upstream (a consistent
snapshot), then applies them locally by natural keys in short local write
transactions, kind by kind in dependency order (owners, operators, bins, items,
documents, exceptions, movements), and moves the cursor last. Everything it
applies is idempotent — upserts by natural key, movements skipped by uuid — so
a pull interrupted anywhere is simply repeated.

Movements:
- one made here (its uuid is in the local ledger) is not applied again; it
  takes the upstream's order (`upstream_seq`) and, if the upstream found a
  conflict, its conflict flag;
- one made elsewhere goes through `ledger.post` with `allow_negative` (the
  upstream booked it; the local books may differ only by local movements not
  pushed yet), keeps its uuid and time, is marked origin "pulled", and has no
  outbox entry (it is not this terminal's to push). It is flagged conflict when
  the upstream flagged it, or when it leaves a local quant negative because a
  local movement not yet pushed took the same stock (that one will conflict).

Quantities are sums, so every database that has booked the same movements
holds the same quants, in whatever order it booked them: after a full sync
(push, then pull) a terminal shows exactly the upstream's stock. Where a serial
unit or a container is depends on order; after each page they are set from the
last movement that moved them, in the upstream's order, then local movements
not yet confirmed in local order — the order the upstream will book them in.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import case, delete, select, update
from sqlalchemy.orm import Session

from warehouse_tui.db.models import (
    Bin,
    Container,
    Item,
    ItemCode,
    Movement,
    MovementKind,
    Operator,
    OutboxEntry,
    Owner,
    SerialUnit,
    TerminalState,
    WarehouseException,
    utcnow,
)
from warehouse_tui.errors import WarehouseError
from warehouse_tui.services.ledger import Actor, find_quant, post
from warehouse_tui.sync import feed
from warehouse_tui.sync.apply import parse_time, resolve_container, resolve_lot
from warehouse_tui.sync.push import crash_point

PAGE = 20_000  # feed rows read per upstream round trip
APPLY_CHUNK = 2_000  # rows applied per local transaction: a scan never waits long for the write lock


class PullError(WarehouseError):
    """A pulled change cannot be applied here; the cursor stays before it."""


@dataclass
class PullResult:
    rows: int = 0
    applied: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    cursor: int = 0

    @property
    def changes(self) -> int:
        return sum(self.applied.values())


def cursor(session: Session, terminal: str) -> int:
    state = session.get(TerminalState, terminal)
    return int(state.pull_cursor) if state is not None and state.pull_cursor else 0


def _set_cursor(session: Session, terminal: str, seq: int) -> None:
    state = session.get(TerminalState, terminal)
    if state is None:
        state = TerminalState(name=terminal)
        session.add(state)
    state.pull_cursor = str(seq)
    state.last_pull_at = utcnow()


def read_page(upstream, after: int, limit: int = PAGE) -> tuple[list[tuple[int, str, int]], dict[str, list[dict]]]:
    """Feed rows after `after` and the snapshots of what they name, from one consistent upstream snapshot."""
    with upstream.sessions() as session:
        if upstream.engine.dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        else:
            session.connection(execution_options={"sqlite_begin": "DEFERRED"})
        try:
            rows = feed.changes(session, after, limit)
            ids: dict[str, list[int]] = defaultdict(list)
            for _seq, kind, ref_id in rows:
                ids[kind].append(ref_id)
            snaps = {kind: feed.snapshots(session, kind, ids[kind]) for kind in feed.KINDS if ids.get(kind) and kind in APPLIERS}
        finally:
            session.rollback()
    unknown = set(ids) - set(feed.KINDS)
    if unknown:
        raise PullError(f"the upstream sends changes of kind {', '.join(sorted(unknown))} this terminal does not know — update warehouse-tui")
    return rows, snaps


def pull(local, upstream, terminal: str, page: int = PAGE) -> PullResult:
    """Pull every change after this terminal's cursor; returns what was applied."""
    result = PullResult()
    with local.reading() as session:
        after = cursor(session, terminal)
    while True:
        rows, snaps = read_page(upstream, after, page)
        if not rows:
            result.cursor = after
            return result
        for kind in feed.KINDS:
            batch = snaps.get(kind, [])
            for start in range(0, len(batch), APPLY_CHUNK):
                with local.transaction() as session:
                    result.applied[kind] += APPLIERS[kind](session, batch[start:start + APPLY_CHUNK])
        after = rows[-1][0]
        crash_point("before_pull_cursor")
        with local.transaction() as session:
            _set_cursor(session, terminal, after)
        result.rows += len(rows)
        if len(rows) < page:
            result.cursor = after
            return result


# --------------------------------------------------------------------------- upserts by natural key


def _insert(session: Session):
    if session.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def upsert(session: Session, table, rows: list[dict], keys: list[str], columns: list[str]) -> None:
    if not rows:
        return
    stmt = _insert(session)(table)
    stmt = stmt.on_conflict_do_update(index_elements=keys, set_={c: stmt.excluded[c] for c in columns})
    session.execute(stmt, rows)


def _ids_by(session: Session, column, key_column, values) -> dict:
    found = {}
    values = list(set(values))
    for start in range(0, len(values), 5000):
        found.update(session.execute(select(key_column, column).where(key_column.in_(values[start:start + 5000]))).all())
    return found


def owner_ids(session: Session, codes: dict[str, str]) -> dict[str, int]:
    """Local owner ids by code, creating owners not known here (code -> name)."""
    known = _ids_by(session, Owner.id, Owner.code, codes)
    missing = [{"code": c, "name": n or c} for c, n in codes.items() if c not in known]
    if missing:
        session.execute(_insert(session)(Owner.__table__).on_conflict_do_nothing(), missing)
        known = _ids_by(session, Owner.id, Owner.code, codes)
    return known


def apply_owners(session: Session, snaps: list[dict]) -> int:
    upsert(session, Owner.__table__, snaps, ["code"], ["name"])
    return len(snaps)


def apply_operators(session: Session, snaps: list[dict]) -> int:
    upsert(session, Operator.__table__, snaps, ["badge"], ["name", "role", "pin_hash", "failed_logins", "locked", "active"])
    return len(snaps)


def apply_bins(session: Session, snaps: list[dict]) -> int:
    upsert(session, Bin.__table__, snaps, ["code"], ["barcode", "zone", "kind", "pick_seq", "blocked"])
    return len(snaps)


def apply_items(session: Session, snaps: list[dict]) -> int:
    owners = owner_ids(session, {s["owner"]: s.get("owner_name") for s in snaps})
    rows = [{"owner_id": owners[s["owner"]], "sku": s["sku"], "description": s["description"], "uom": s["uom"],
             "tracking": s["tracking"], "expiry_required": s["expiry_required"], "zone": s["zone"]} for s in snaps]
    upsert(session, Item.__table__, rows, ["owner_id", "sku"], ["description", "uom", "tracking", "expiry_required", "zone"])
    ids: dict[tuple[int, str], int] = {}
    by_owner = defaultdict(list)
    for r in rows:
        by_owner[r["owner_id"]].append(r["sku"])
    for owner_id, skus in by_owner.items():
        for start in range(0, len(skus), 5000):
            for item_id, sku in session.execute(select(Item.id, Item.sku).where(Item.owner_id == owner_id, Item.sku.in_(skus[start:start + 5000]))):
                ids[(owner_id, sku)] = item_id
    wanted = {}
    for s in snaps:
        item_id = ids[(owners[s["owner"]], s["sku"])]
        for code, kind in s["codes"]:
            wanted[code] = {"item_id": item_id, "code": code, "kind": kind}
    item_ids = list(ids.values())
    stale = []
    for start in range(0, len(item_ids), 5000):
        for code_id, code, item_id in session.execute(select(ItemCode.id, ItemCode.code, ItemCode.item_id)
                                                      .where(ItemCode.item_id.in_(item_ids[start:start + 5000]))):
            if code not in wanted or wanted[code]["item_id"] != item_id:
                stale.append(code_id)
    for start in range(0, len(stale), 5000):
        session.execute(delete(ItemCode).where(ItemCode.id.in_(stale[start:start + 5000])))
    upsert(session, ItemCode.__table__, list(wanted.values()), ["code"], ["item_id", "kind"])
    return len(snaps)


def _operator_ids(session: Session, badges) -> dict[str, int]:
    return _ids_by(session, Operator.id, Operator.badge, [b for b in badges if b])


def apply_exceptions(session: Session, snaps: list[dict]) -> int:
    ops = _operator_ids(session, [s["created_by"] for s in snaps] + [s["resolved_by"] for s in snaps])
    rows = [{"uuid": s["uuid"], "kind": s["kind"], "ref": s["ref"], "detail": s["detail"], "status": s["status"],
             "created_at": parse_time(s["created_at"]), "created_by": ops.get(s["created_by"]), "terminal": s["terminal"],
             "resolved_by": ops.get(s["resolved_by"]), "resolved_at": parse_time(s["resolved_at"]),
             "resolution": s["resolution"], "data": s["data"]} for s in snaps]
    upsert(session, WarehouseException.__table__, rows, ["uuid"],
           ["kind", "ref", "detail", "status", "created_at", "created_by", "terminal", "resolved_by", "resolved_at", "resolution", "data"])
    return len(snaps)


# --------------------------------------------------------------------------- movements


class _Local:
    """Natural keys -> local rows for pulled movements; master data must already be here."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.items: dict[tuple[str, str], Item] = {}
        self.bins: dict[str, Bin] = {}
        self.operators: dict[str, Operator | None] = {}

    def item(self, sku: str, owner_code: str) -> Item:
        key = (sku, owner_code)
        if key not in self.items:
            found = self.session.scalars(select(Item).join(Owner, Owner.id == Item.owner_id)
                                         .where(Item.sku == sku, Owner.code == owner_code)).one_or_none()
            if found is None:
                raise PullError(f"item {sku} of owner {owner_code} is not known here — the upstream feed is missing it; "
                                "run `warehouse-tui upstream init` on the upstream to republish")
            self.items[key] = found
        return self.items[key]

    def bin(self, code: str | None) -> Bin | None:
        if code is None:
            return None
        if code not in self.bins:
            found = self.session.scalars(select(Bin).where(Bin.code == code)).one_or_none()
            if found is None:
                raise PullError(f"bin {code} is not known here — the upstream feed is missing it")
            self.bins[code] = found
        return self.bins[code]

    def operator(self, badge: str | None) -> Operator | None:
        if badge is None:
            return None
        if badge not in self.operators:
            self.operators[badge] = self.session.scalars(select(Operator).where(Operator.badge == badge)).one_or_none()
        return self.operators[badge]


def apply_movements(session: Session, snaps: list[dict]) -> int:
    known = _ids_by(session, Movement.seq, Movement.uuid, [s["id"] for s in snaps])
    local = _Local(session)
    pulled: list[str] = []
    serials: set[tuple[int, str]] = set()
    containers: set[int] = set()
    for s in snaps:
        item = local.item(s["sku"], s["owner"])
        if s["id"] in known:
            values = {"upstream_seq": s["upstream_seq"]}
            if s["conflict"]:
                values["conflict"] = True
            session.execute(update(Movement).where(Movement.uuid == s["id"]).values(**values))
        else:
            owner = session.scalars(select(Owner).where(Owner.code == s["owner"])).one()
            lot = resolve_lot(session, item, s["lot"], s["expiry"], [])
            from_bin, to_bin = local.bin(s["from_bin"]), local.bin(s["to_bin"])
            from_container = resolve_container(session, s["from_container"], s["from_container_kind"])
            to_container = resolve_container(session, s["to_container"], s["to_container_kind"])
            movement = post(
                session, Actor(local.operator(s["operator"]), s["terminal"]), kind=s["kind"], item=item, qty=s["qty"], lot=lot,
                serial=s["serial"], from_bin=from_bin, to_bin=to_bin, from_container=from_container, to_container=to_container,
                from_status=s["from_status"], to_status=s["to_status"], owner=owner, doc_ref=s["ref"], allow_negative=True,
                at=parse_time(s["at"]), movement_uuid=s["id"],
            )
            short_here = False
            if from_bin is not None:
                quant = find_quant(session, item, from_bin, lot, from_container, owner.id, s["from_status"])
                short_here = quant is not None and (quant.qty < 0 or quant.reserved > quant.qty)
            movement.origin = "pulled"
            movement.upstream_seq = s["upstream_seq"]
            movement.conflict = bool(s["conflict"] or short_here)
            pulled.append(s["id"])
        if s["serial"]:
            serials.add((item.id, s["serial"]))
        if s["to_container"]:
            container = session.scalars(select(Container.id).where(Container.code == s["to_container"])).one_or_none()
            if container is not None:
                containers.add(container)
    session.flush()
    for start in range(0, len(pulled), 5000):
        session.execute(delete(OutboxEntry).where(OutboxEntry.uuid.in_(pulled[start:start + 5000])))
    for item_id, serial in serials:
        settle_serial(session, item_id, serial)
    for container_id in containers:
        settle_container(session, container_id)
    return len(snaps)


def _last_first():
    """Newest first: local movements the upstream has not confirmed yet, then the upstream's order."""
    return (case((Movement.upstream_seq.is_(None), 1), else_=0).desc(), Movement.upstream_seq.desc(), Movement.seq.desc())


def settle_serial(session: Session, item_id: int, serial: str) -> None:
    """Put a serial unit where its last movement put it."""
    last = session.scalars(select(Movement).where(Movement.item_id == item_id, Movement.serial == serial)
                           .order_by(*_last_first()).limit(1)).first()
    if last is None:
        return
    unit = session.scalars(select(SerialUnit).where(SerialUnit.item_id == item_id, SerialUnit.serial == serial)).one_or_none()
    if unit is None:
        unit = SerialUnit(item_id=item_id, serial=serial, owner_id=last.owner_id)
        session.add(unit)
    if last.to_bin_id is None:
        unit.status = "shipped" if last.kind == MovementKind.SHIP.value else "removed"
        unit.bin_id = None
        unit.container_id = None
    else:
        unit.status = "in_stock"
        unit.bin_id = last.to_bin_id
        unit.container_id = last.to_container_id
        unit.lot_id = last.lot_id
        unit.owner_id = last.owner_id


def settle_container(session: Session, container_id: int) -> None:
    """Stand a container where the last movement into it put it."""
    last = session.scalars(select(Movement.to_bin_id).where(Movement.to_container_id == container_id)
                           .order_by(*_last_first()).limit(1)).first()
    if last is not None:
        session.execute(update(Container).where(Container.id == container_id).values(bin_id=last))


APPLIERS = {
    "owner": apply_owners,
    "operator": apply_operators,
    "bin": apply_bins,
    "item": apply_items,
    "exception": apply_exceptions,
    "movement": apply_movements,
}


def register(kind: str, applier) -> None:
    APPLIERS[kind] = applier
