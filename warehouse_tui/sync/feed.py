"""The upstream's change feed: every change terminals must see, numbered in commit order.

What goes in. A database becomes an upstream with `mark_upstream` (run by
`warehouse-tui upstream init`). From then on every `Database` opened on it has
session hooks (`watch`) that note, at each flush, which aggregate changed —
an owner, item (with its codes), bin, operator, inbound or outbound order (with
its lines and cartons), pick list (with its orders and tasks), count task (with its lines),
exception or movement — and at commit write one `change_feed` row per changed
aggregate: (seq, kind, ref_id = the aggregate's id on the upstream). Rows carry
no data: a pull reads the aggregate as it is when pulled (snapshots.py), by
natural keys, so a thing changed ten times is sent once. Writers need no sync
code: imports, waves, count creation, supervisor decisions and terminals working
directly online all go through sessions and are seen. Writes that bypass the ORM
(raw SQL) are not; `publish_all` re-announces everything.

On the upstream, movements are their own record: the outbox row `ledger.post`
writes is dropped before it reaches the table and the movement is marked
origin "upstream" (the upstream pushes nowhere).

Why the cursor never skips a late commit. PostgreSQL hands out sequence values
at insert time, so with plain inserts a transaction holding seq 10 may commit
after one holding seq 11, and a reader that already moved its cursor to 11 would
never see 10. Here the feed rows are inserted in the commit itself, under a
transaction-scoped advisory lock (`FEED_LOCK`) that is released only after the
commit is visible: seq values are handed out in commit order, so a reader that
sees seq N has already seen every committed row below N. `seq > cursor` is then
a complete cursor. The lock is held only for the insert and the commit, never
for the work before it. On SQLite writers are serialised anyway. (The other
known design, txid_snapshot_xmin, needs no lock but stalls every terminal's
pull behind any long write transaction in the whole cluster.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ARRAY, Connection, any_, bindparam, delete, event, func, insert, literal, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, object_session

from warehouse_tui.db.models import (
    Bin,
    Carton,
    CartonLine,
    ChangeFeed,
    CountLine,
    CountTask,
    FullTote,
    InboundLine,
    InboundOrder,
    Item,
    ItemCode,
    Movement,
    Operator,
    OutboundLine,
    OutboundOrder,
    OutboxEntry,
    Owner,
    PickList,
    PickListOrder,
    PickFace,
    PickTask,
    ReplenTask,
    ReturnLine,
    ReturnOrder,
    ReturnReceipt,
    SyncMeta,
    WarehouseException,
)
from warehouse_tui.db.changes import note_changed, take_changed
from warehouse_tui.services.ledger import record_movements_as_objects

ROLE = "role"
UPSTREAM = "upstream"
TERMINAL = "terminal"
# pg_advisory_xact_lock keys ("WTFEED", "WTPUSH" as numbers): per database.
FEED_LOCK = 0x5754_4645_4544
PUSH_LOCK = 0x5754_5055_5348

# Aggregate kinds in the order a pull applies them (each only needs the ones before it).
KINDS = ("owner", "operator", "bin", "item", "pick_face", "inbound", "outbound", "return", "pick_list", "count_task", "replen_task",
         "exception", "movement")

def _carton_line_order(obj: CartonLine) -> int | None:
    carton = object_session(obj).get(Carton, obj.carton_id) if obj.carton_id is not None else None
    return carton.order_id if carton is not None else None


def _full_tote_list(obj: FullTote) -> int | None:
    slot = object_session(obj).get(PickListOrder, obj.pick_list_order_id) if obj.pick_list_order_id is not None else None
    return slot.pick_list_id if slot is not None else None


def _return_receipt_return(obj: ReturnReceipt) -> int | None:
    line = object_session(obj).get(ReturnLine, obj.line_id) if obj.line_id is not None else None
    return line.return_id if line is not None else None


# Model -> (the aggregate kind its rows belong to, that aggregate's id read from a row). Rows of other
# models are not announced: stock, serial units, lots and containers follow the movements pulled; outbox,
# leases, cursors and audit events stay where they are.
AGGREGATES: dict[type, tuple[str, Callable[[Any], int | None]]] = {
    Movement: ("movement", lambda o: o.seq),
    Item: ("item", lambda o: o.id),
    ItemCode: ("item", lambda o: o.item_id),
    Bin: ("bin", lambda o: o.id),
    Operator: ("operator", lambda o: o.id),
    Owner: ("owner", lambda o: o.id),
    InboundOrder: ("inbound", lambda o: o.id),
    InboundLine: ("inbound", lambda o: o.order_id),
    OutboundOrder: ("outbound", lambda o: o.id),
    OutboundLine: ("outbound", lambda o: o.order_id),
    Carton: ("outbound", lambda o: o.order_id),
    CartonLine: ("outbound", _carton_line_order),
    PickList: ("pick_list", lambda o: o.id),
    PickListOrder: ("pick_list", lambda o: o.pick_list_id),
    PickTask: ("pick_list", lambda o: o.pick_list_id),
    FullTote: ("pick_list", _full_tote_list),
    CountTask: ("count_task", lambda o: o.id),
    CountLine: ("count_task", lambda o: o.task_id),
    WarehouseException: ("exception", lambda o: o.id),
    ReturnOrder: ("return", lambda o: o.id),
    ReturnLine: ("return", lambda o: o.return_id),
    ReturnReceipt: ("return", _return_receipt_return),
    PickFace: ("pick_face", lambda o: o.id),
    ReplenTask: ("replen_task", lambda o: o.id),
}
# Aggregate roots: deleting one is not announced (terminals keep what they had); deleting a line or code is.
ROOTS = (Item, Bin, Operator, Owner, InboundOrder, OutboundOrder, PickList, CountTask, WarehouseException, Movement,
         ReturnOrder, PickFace, ReplenTask)


def _aggregate(obj: object) -> tuple[str, int] | None:
    """The (kind, upstream id) of the aggregate a changed row belongs to; None for rows terminals never need."""
    found = AGGREGATES.get(type(obj))
    if found is None:
        return None
    kind, read = found
    return kind, read(obj)  # (an id of None, a carton line without its carton, is left out by the callers)


# --------------------------------------------------------------------------- the upstream role


def role(conn: Connection) -> str | None:
    """This database's part in sync: "upstream", "terminal" (it has synced) or None; None also when unmigrated."""
    try:
        return conn.execute(select(SyncMeta.value).where(SyncMeta.key == ROLE)).scalar()
    except DBAPIError:  # no sync_meta table: not migrated yet
        conn.rollback()
        return None


def is_upstream(conn: Connection) -> bool:
    return role(conn) == UPSTREAM


def mark_upstream(session: Session) -> bool:
    """Make this database an upstream; True when it was not one before.

    Its outbox is emptied and its movements marked origin "upstream": what was booked
    here before (an import, the demo, a site that ran standalone) is the upstream's own
    record now, pushed nowhere — left pending it would count as unsynced forever.
    """
    meta = session.get(SyncMeta, ROLE)
    if meta is not None and meta.value == UPSTREAM:
        return False
    session.execute(delete(OutboxEntry))
    session.execute(update(Movement).where(Movement.origin != UPSTREAM).values(origin=UPSTREAM))
    if meta is None:
        session.add(SyncMeta(key=ROLE, value=UPSTREAM))
    else:
        meta.value = UPSTREAM
    return True


def mark_terminal(session: Session) -> None:
    """Remember that this database syncs as a terminal (its document changes are sent up from now on)."""
    meta = session.get(SyncMeta, ROLE)
    if meta is None:
        session.add(SyncMeta(key=ROLE, value=TERMINAL))


def watch(db) -> bool:
    """Install the sync hooks `db` (a Database) needs for its role; returns whether it is an upstream.

    On an upstream every writer feeds the feed (and the ledger flushes its movements through the
    session for it); on a terminal every document change is queued in the outbox (capture.py).
    Run for every Database opened once `warehouse_tui.sync.install` ran (the CLI and the app run
    it), and by `open_upstream` itself; a database is asked its role once.
    """
    if getattr(db, "_sync_watched", False):
        return db.is_upstream
    with db.engine.connect() as conn:
        conn = conn.execution_options(sqlite_begin="DEFERRED")
        part = role(conn)
        conn.rollback()
    if part == UPSTREAM and not getattr(db, "_feed_watched", False):
        event.listen(db.sessions, "before_flush", _before_flush)
        event.listen(db.sessions, "after_flush", _after_flush)
        record_movements_as_objects(db.sessions)  # the feed sees a movement only as an object flushed
        if not event.contains(db.engine, "commit", _on_commit):
            event.listen(db.engine, "commit", _on_commit)
            event.listen(db.engine, "rollback", _on_rollback)
        db._feed_watched = True
    elif part == TERMINAL:
        from warehouse_tui.sync.capture import capture

        capture(db)
    db.is_upstream = part == UPSTREAM
    db._sync_watched = True
    return db.is_upstream


def _before_flush(session: Session, _context, _instances) -> None:
    for obj in list(session.new):
        if isinstance(obj, OutboxEntry):
            session.expunge(obj)  # the upstream's record of a movement is the feed, not an outbox
        elif isinstance(obj, Movement):
            obj.origin = UPSTREAM


def _after_flush(session: Session, _context) -> None:
    changed = set()
    for obj in session.new:
        agg = _aggregate(obj)
        if agg is not None and agg[1] is not None:
            changed.add(agg)
    for obj in session.dirty:
        agg = _aggregate(obj)
        if agg is not None and agg[1] is not None and session.is_modified(obj, include_collections=False):
            changed.add(agg)
    for obj in session.deleted:
        # A deleted line or code changes its parent; deleted roots stay on terminals as they were.
        if not isinstance(obj, ROOTS):
            agg = _aggregate(obj)
            if agg is not None and agg[1] is not None:
                changed.add(agg)
    if changed:
        note(session.connection(), changed)


# Writers that bypass the ORM (bulk SQL on an upstream) announce changed aggregates through the
# database layer (db.changes.note_changed); the feed writes them at commit.
note = note_changed


def _on_commit(conn: Connection) -> None:
    changed = take_changed(conn)
    if not changed:
        return
    write_rows(conn, sorted(changed, key=lambda kv: (KINDS.index(kv[0]), kv[1])))


def _on_rollback(conn: Connection) -> None:
    if conn.invalidated:  # a dropped connection: its info went with it, and touching it raises on top of the drop
        return
    take_changed(conn)


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FEED_LOCK})


def write_rows(conn: Connection, rows: Sequence[tuple[str, int]]) -> None:
    """Insert feed rows now, under the feed lock: call only right before the commit."""
    _lock(conn)
    insert_rows(conn, ChangeFeed.__table__, [{"kind": k, "ref_id": i} for k, i in rows])


def among(column, values, postgres: bool):
    """column IN values; on PostgreSQL `= ANY(array)`: one parameter, not thousands to parse and plan."""
    values = list(values)
    if postgres:
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def insert_rows(conn: Connection, table, rows: list[dict]) -> None:
    """Insert many rows: COPY on PostgreSQL (an order of magnitude above executemany), executemany elsewhere."""
    if not rows:
        return
    if conn.dialect.name != "postgresql" or len(rows) < 50:
        conn.execute(insert(table), rows)
        return
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
    finally:
        cursor.close()


def publish_all(conn: Connection) -> int:
    """Announce every existing aggregate (a database made upstream with data in it already)."""
    _lock(conn)
    table = ChangeFeed.__table__
    sources = [
        ("owner", Owner.id), ("operator", Operator.id), ("bin", Bin.id), ("item", Item.id),
        ("inbound", InboundOrder.id), ("outbound", OutboundOrder.id), ("return", ReturnOrder.id), ("pick_list", PickList.id),
        ("count_task", CountTask.id), ("exception", WarehouseException.id), ("movement", Movement.seq),
    ]
    count = select(func.count()).select_from(table)
    before = conn.execute(count).scalar()
    for kind, column in sources:
        conn.execute(insert(table).from_select(["kind", "ref_id"], select(literal(kind), column).order_by(column)))
    return conn.execute(count).scalar() - before


# --------------------------------------------------------------------------- reading (the pull's upstream side)


def last_seq(session: Session) -> int:
    return session.scalar(select(func.coalesce(func.max(ChangeFeed.seq), 0))) or 0


def changes(session: Session, after: int, limit: int) -> list[tuple[int, str, int]]:
    """Feed rows after the cursor, in seq order: (seq, kind, ref_id)."""
    rows = session.execute(
        select(ChangeFeed.seq, ChangeFeed.kind, ChangeFeed.ref_id).where(ChangeFeed.seq > after).order_by(ChangeFeed.seq).limit(limit)
    )
    return [tuple(r) for r in rows]


_ANYTHING_AFTER = select(ChangeFeed.seq).where(ChangeFeed.seq > bindparam("after")).order_by(ChangeFeed.seq).limit(1)


def anything_after(conn: Connection, after: int) -> bool:
    """Whether any feed row lies after the cursor (the primary key's first entry past it)."""
    return conn.execute(_ANYTHING_AFTER, {"after": after}).first() is not None


def waiting(session: Session, after: int) -> int:
    """How many feed rows a terminal at cursor `after` has still to pull (what a progress bar counts to)."""
    return session.scalar(select(func.count()).select_from(ChangeFeed).where(ChangeFeed.seq > after)) or 0
