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
- one made elsewhere is booked as `ledger.post` with `allow_negative` books
  (booking.BatchLedger: the upstream booked it; the local books may differ only
  by local movements not pushed yet), keeps its uuid and time, is marked origin
  "pulled", and has no outbox entry (it is not this terminal's to push). It is flagged conflict when
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

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import bindparam, case, delete, select, update
from sqlalchemy.orm import Session

from warehouse_tui.db.models import (
    Bin,
    Container,
    Item,
    ItemCode,
    Movement,
    MovementKind,
    Operator,
    Owner,
    SerialUnit,
    TerminalState,
    WarehouseException,
    utcnow,
)
from warehouse_tui.errors import WarehouseError
from warehouse_tui.sync import feed, snapshots
from warehouse_tui.sync.booking import REFUSED, BatchLedger, parse_time
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


def _item_ids(session: Session, keys: set[tuple[str, str]]) -> list[int]:
    """Local item ids of (owner code, sku) pairs."""
    skus = sorted({sku for _owner, sku in keys})
    found = []
    for start in range(0, len(skus), 2000):
        found += [i for i, sku, owner in session.execute(
            select(Item.id, Item.sku, Owner.code).join(Owner, Owner.id == Item.owner_id).where(Item.sku.in_(skus[start:start + 2000])))
            if (owner, sku) in keys]
    return found


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


def up_to_date(upstream, after: int) -> bool:
    """Whether the upstream's feed holds nothing after `after`: one indexed query, one round trip on PostgreSQL.

    The same question the first page of a pull asks (feed rows are numbered in commit order, feed.py),
    without a transaction around it: on PostgreSQL the query runs in autocommit, so no BEGIN and no
    ROLLBACK travel for it.
    """
    options = {"isolation_level": "AUTOCOMMIT"} if upstream.engine.dialect.name == "postgresql" else {}
    with upstream.engine.connect() as conn:
        return not feed.anything_after(conn.execution_options(**options), after)


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
            snaps = {kind: snapshots.snapshots(session, kind, ids[kind]) for kind in feed.KINDS if ids.get(kind) and kind in APPLIERS}
        finally:
            session.rollback()
    unknown = set(ids) - set(feed.KINDS)
    if unknown:
        raise PullError(f"the upstream sends changes of kind {', '.join(sorted(unknown))} this terminal does not know — update warehouse-tui")
    return rows, snaps


def pull(local, upstream, terminal: str, page: int | None = None,
         on_progress: Callable[[int, int], None] | None = None) -> PullResult:
    """Pull every change after this terminal's cursor; returns what was applied.

    `on_progress(done, total)` hears of each page applied (feed rows; total as counted at the start).
    """
    page = page or PAGE
    result = PullResult()
    with local.reading() as session:
        after = cursor(session, terminal)
    total = 0
    if on_progress is not None:
        with upstream.reading() as session:
            total = feed.waiting(session, after)
        on_progress(0, total)
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
        if snaps.get("pick_list") or snaps.get("movement"):
            # Reservations follow the open tasks; set them once the page's stock is booked too
            # (pulled movements may bring stock back to a place an open task is reserved on).
            from warehouse_tui.services.reservations import recompute_for_lists, reserve_for_open_tasks

            with local.transaction() as session:
                if snaps.get("pick_list"):
                    recompute_for_lists(session, [s["ref"] for s in snaps["pick_list"]])
                if snaps.get("movement"):
                    keys = {(m["owner"], m["sku"]) for m in snaps["movement"]}
                    reserve_for_open_tasks(session, _item_ids(session, keys))
        after = rows[-1][0]
        crash_point("before_pull_cursor")
        with local.transaction() as session:
            _set_cursor(session, terminal, after)
        result.rows += len(rows)
        if on_progress is not None:
            total = max(total, result.rows)
            on_progress(result.rows, total)
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
    from warehouse_tui.sync.documents import pending_documents

    pending = pending_documents(session)  # a lockout here not pushed yet stays until it is
    snaps = [s for s in snaps if ("operator", s["badge"]) not in pending]
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


def _local_data(session: Session, data):
    """An exception's data with its count task named by this database's id."""
    if isinstance(data, dict) and data.get("count_task_uuid"):
        from warehouse_tui.db.models import CountTask

        return {**data, "count_task": session.scalar(select(CountTask.id).where(CountTask.uuid == data["count_task_uuid"]))}
    return data


def apply_exceptions(session: Session, snaps: list[dict]) -> int:
    from warehouse_tui.sync.documents import pending_documents

    pending = pending_documents(session)
    snaps = [s for s in snaps if ("exception", s["uuid"]) not in pending]
    ops = _operator_ids(session, [s["created_by"] for s in snaps] + [s["resolved_by"] for s in snaps])
    rows = [{"uuid": s["uuid"], "kind": s["kind"], "ref": s["ref"], "detail": s["detail"], "status": s["status"],
             "created_at": parse_time(s["created_at"]), "created_by": ops.get(s["created_by"]), "terminal": s["terminal"],
             "resolved_by": ops.get(s["resolved_by"]), "resolved_at": parse_time(s["resolved_at"]),
             "resolution": s["resolution"], "data": _local_data(session, s["data"])} for s in snaps]
    upsert(session, WarehouseException.__table__, rows, ["uuid"],
           ["kind", "ref", "detail", "status", "created_at", "created_by", "terminal", "resolved_by", "resolved_at", "resolution", "data"])
    return len(snaps)


# --------------------------------------------------------------------------- movements


def apply_movements(session: Session, snaps: list[dict]) -> int:
    known = set(_ids_by(session, Movement.seq, Movement.uuid, [s["id"] for s in snaps]))
    own = [s for s in snaps if s["id"] in known]
    others = [s for s in snaps if s["id"] not in known]
    table = Movement.__table__
    if own:
        session.execute(table.update().where(table.c.uuid == bindparam("b_uuid")).values(upstream_seq=bindparam("b_seq")),
                        [{"b_uuid": s["id"], "b_seq": s["upstream_seq"]} for s in own])
        flagged = [s["id"] for s in own if s["conflict"]]
        for start in range(0, len(flagged), 5000):
            session.execute(update(Movement).where(Movement.uuid.in_(flagged[start:start + 5000])).values(conflict=True))
    if others:
        booked = BatchLedger(session, strict=False, origin="pulled").book(others, conflicts=[s["conflict"] for s in others])
        refused = [b for b in booked if b.result == REFUSED]
        if refused:
            raise PullError(f"movement {refused[0].uuid} from the upstream cannot be booked here: {refused[0].reason}")
    _settle(session, own, others)
    return len(snaps)


def _settle(session: Session, own: list[dict], others: list[dict]) -> None:
    """Serials and containers whose place depends on order: where the upstream's order, then local order, puts them.

    Booking others' movements in upstream order after this terminal's own is right
    unless the same serial or container also moved here: by an own movement now
    given its upstream place, or by a local movement the upstream has not confirmed.
    """
    pending = select(Movement.item_id, Movement.serial, Movement.to_container_id).where(
        Movement.upstream_seq.is_(None), Movement.origin == "local")
    local_serials, local_containers = set(), set()
    for item_id, serial, container_id in session.execute(pending.where((Movement.serial.is_not(None)) | (Movement.to_container_id.is_not(None)))):
        if serial is not None:
            local_serials.add((item_id, serial))
        if container_id is not None:
            local_containers.add(container_id)
    items = dict(((owner, sku), item_id) for item_id, sku, owner in session.execute(
        select(Item.id, Item.sku, Owner.code).join(Owner, Owner.id == Item.owner_id).where(Item.sku.in_({s["sku"] for s in own + others}))))
    containers = dict(session.execute(select(Container.code, Container.id).where(
        Container.code.in_({s["to_container"] for s in own + others if s["to_container"]}))).all())
    serials, moved = set(), set()
    for s in own + others:
        item_id = items.get((s["owner"], s["sku"]))
        key = (item_id, s["serial"]) if s["serial"] else None
        container = containers.get(s["to_container"]) if s["to_container"] else None
        mine = s in own
        if key is not None and (mine or key in local_serials):
            serials.add(key)
        if container is not None and (mine or container in local_containers):
            moved.add(container)
    for item_id, serial in serials:
        settle_serial(session, item_id, serial)
    for container_id in moved:
        settle_container(session, container_id)
    # Booking a movement into a carton stands the carton in the pack bin; a shipped one has left (its order says so).
    ids = list(containers.values())
    for start in range(0, len(ids), 5000):
        session.execute(update(Container).where(Container.id.in_(ids[start:start + 5000]), Container.status == "shipped")
                        .values(bin_id=None))


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
    """Stand a container where the last movement into it put it; a shipped one has left the warehouse."""
    last = session.scalars(select(Movement.to_bin_id).where(Movement.to_container_id == container_id)
                           .order_by(*_last_first()).limit(1)).first()
    if last is not None:
        session.execute(update(Container).where(Container.id == container_id, Container.status != "shipped").values(bin_id=last))
        session.execute(update(Container).where(Container.id == container_id, Container.status == "shipped").values(bin_id=None))


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


# The documents' and replenishment's appliers join the table whoever imports the pull first (sync_once,
# the bench, a test): they import this module's upserts, which are all defined by now.
from warehouse_tui.sync import pull_documents, replenishment  # noqa: E402

pull_documents.register_appliers()
replenishment.register_appliers()
