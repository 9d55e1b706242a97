"""Up, terminal side: what an operator changes in a document leaves through the outbox, in the same transaction.

A session hook on every terminal database turns each flush's changes into
field operations (documents.op), written at commit as one outbox entry of kind
"document". What each model sends is its row in `POLICIES`, the one table the
hook consults:

- create: a new row a terminal makes goes up whole (a blind receipt and its
  lines, a count task and its lines, an exception, a carton and its lines, an
  audit event);
- add: counters (received, picked, packed, shipped, allocated) travel as
  differences, so two terminals receiving on one PO both count;
- set: states and values (a list done, a task skipped, a count closed);
- claim: who took a pick list or a count task (the upstream decides whose it is);
- delete: a count line a recount drops.

A model not in the table never goes up (master data comes down only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, event, insert, inspect
from sqlalchemy.orm import Session

from warehouse_tui.db.models import (
    FullTote,
    ReplenTask,
    AuditEvent,
    Bin,
    Carton,
    CartonLine,
    Container,
    CountLine,
    CountTask,
    InboundLine,
    InboundOrder,
    Item,
    Lot,
    Operator,
    OutboundLine,
    OutboundOrder,
    OutboxEntry,
    Owner,
    PickList,
    PickListOrder,
    PickTask,
    ReturnLine,
    ReturnOrder,
    ReturnReceipt,
    WarehouseException,
    new_uuid,
    utcnow,
)
from warehouse_tui.sync.documents import iso, kg_text, op
from warehouse_tui.sync.replenishment import values as replen_values

_INFO_KEY = "warehouse_doc_ops"
CLAIMED = ("claimed_by", "claimed_terminal")  # a claim is sent when either changes

Read = Callable[[Session, Any], Any]


@dataclass(frozen=True)
class Field:
    """A field a changed row sends: "set" (its new value), "add" (new minus old) or "claim" (badge and terminal)."""

    name: str
    how: str
    encode: Read | None = None  # the value as it travels (a badge for an operator id, a weight as text …)
    sent_as: str | None = None  # its name in the operation, when not the attribute's


@dataclass(frozen=True)
class Policy:
    """How one model's rows go up: as a row `row` of document `doc`, named by `key` (the document) and `rid` (the row)."""

    doc: str
    row: str
    key: Read
    rid: Read
    fields: tuple[Field, ...] = ()
    create: Read | None = None  # a new row goes up whole, with these values; else a new row sends nothing ...
    new_fields: bool = False  # ... unless its fields go up as set on a new row (a tote put on a new pick list slot)
    delete: bool = False  # a deleted row goes up as "delete"


def _badge(session: Session, operator_id):
    return session.get(Operator, operator_id).badge if operator_id is not None and session.get(Operator, operator_id) else None


def _item_key(session: Session, item_id) -> tuple[str, str]:
    item = session.get(Item, item_id)
    return session.get(Owner, item.owner_id).code, item.sku


def _lot_key(session: Session, lot_id):
    lot = session.get(Lot, lot_id) if lot_id is not None else None
    return (lot.code, iso(lot.expiry)) if lot is not None else (None, None)


def _tote(session: Session, tote_id):
    tote = session.get(Container, tote_id) if tote_id is not None else None
    return {"code": tote.code, "kind": tote.kind} if tote is not None else None


def _task_uuid(session: Session, line: CountLine) -> str | None:
    task = session.get(CountTask, line.task_id)
    return task.uuid if task is not None else None


def _carton_ref(session: Session, line: CartonLine) -> str:
    return session.get(OutboundOrder, session.get(Carton, line.carton_id).order_id).ref


def _new_inbound_line(s: Session, line: InboundLine) -> dict:
    owner, sku = _item_key(s, line.item_id)
    return {"owner": owner, "sku": sku, "qty_expected": line.qty_expected, "qty_received": line.qty_received, "lot": line.lot,
            "expiry": iso(line.expiry)}


def _new_count_task(s: Session, task: CountTask) -> dict:
    return {"bin": s.get(Bin, task.bin_id).code, "blind": bool(task.blind), "status": task.status, "attempt": task.attempt,
            "reason": task.reason, "claimed_by": _badge(s, task.claimed_by), "claimed_terminal": task.claimed_terminal,
            "created_by": _badge(s, task.created_by), "created_at": iso(task.created_at), "started_at": iso(task.started_at)}


def _new_count_line(s: Session, line: CountLine) -> dict:
    owner, sku = _item_key(s, line.item_id)
    lot, expiry = _lot_key(s, line.lot_id)
    container = s.get(Container, line.container_id) if line.container_id else None
    return {"owner": owner, "sku": sku, "lot": lot, "expiry": expiry, "container": container.code if container else None,
            "container_kind": container.kind if container else None, "serial": line.serial, "attempt": line.attempt,
            "expected": line.expected, "counted": line.counted}


def _new_exception(s: Session, e: WarehouseException) -> dict:
    data = dict(e.data) if isinstance(e.data, dict) else e.data
    if isinstance(data, dict) and isinstance(data.get("count_task"), int):
        task = s.get(CountTask, data["count_task"])
        data["count_task_uuid"] = task.uuid if task is not None else None  # ids are local; the uuid travels
    return {"kind": e.kind, "ref": e.ref, "detail": e.detail, "status": e.status, "created_at": iso(e.created_at),
            "created_by": _badge(s, e.created_by), "terminal": e.terminal, "resolved_by": _badge(s, e.resolved_by),
            "resolved_at": iso(e.resolved_at), "resolution": e.resolution, "data": data}


def _new_carton_line(s: Session, line: CartonLine) -> dict:
    carton = s.get(Carton, line.carton_id)
    owner, sku = _item_key(s, line.item_id)
    lot, expiry = _lot_key(s, line.lot_id)
    return {"carton": s.get(Container, carton.container_id).code, "line": s.get(OutboundLine, line.order_line_id).uuid,
            "owner": owner, "sku": sku, "lot": lot, "expiry": expiry, "serial": line.serial, "qty": line.qty}


def _new_replen_task(s: Session, task: ReplenTask) -> dict:
    owner, sku = _item_key(s, task.item_id)
    lot, expiry = _lot_key(s, task.lot_id)
    return replen_values(task, owner, sku, s.get(Bin, task.from_bin_id).code, s.get(Bin, task.to_bin_id).code, lot, expiry,
                         _badge(s, task.claimed_by))


def _new_return(s: Session, ret: ReturnOrder) -> dict:
    return {"order": s.get(OutboundOrder, ret.order_id).ref, "kind": ret.kind, "status": ret.status, "created_at": iso(ret.created_at),
            "closed_at": iso(ret.closed_at)}


def _new_return_line(s: Session, line: ReturnLine) -> dict:
    owner, sku = _item_key(s, line.item_id)
    return {"line": s.get(OutboundLine, line.order_line_id).uuid, "owner": owner, "sku": sku, "serial": line.serial,
            "reason": line.reason, "qty_expected": line.qty_expected, "qty_received": line.qty_received}


def _return_ref(s: Session, receipt: ReturnReceipt) -> str:
    return s.get(ReturnOrder, s.get(ReturnLine, receipt.line_id).return_id).ref


def _new_return_receipt(s: Session, r: ReturnReceipt) -> dict:
    owner, sku = _item_key(s, r.item_id)
    lot, expiry = _lot_key(s, r.lot_id)
    bin_ = s.get(Bin, r.bin_id) if r.bin_id is not None else None
    return {"line": s.get(ReturnLine, r.line_id).uuid, "owner": owner, "sku": sku, "lot": lot, "expiry": expiry, "serial": r.serial,
            "qty": r.qty, "grade": r.grade, "reason": r.reason, "bin": bin_.code if bin_ else None, "operator": _badge(s, r.operator_id),
            "terminal": r.terminal, "received_at": iso(r.received_at)}


def _sets(*names: str) -> tuple[Field, ...]:
    return tuple(Field(name, "set") for name in names)


def _adds(*names: str) -> tuple[Field, ...]:
    return tuple(Field(name, "add") for name in names)


POLICIES: dict[type, Policy] = {
    InboundOrder: Policy(
        "inbound", "order", key=lambda s, o: o.ref, rid=lambda s, o: o.ref, fields=_sets("status", "closed_at"),
        create=lambda s, o: {"kind": o.kind, "supplier": o.supplier, "status": o.status, "created_at": iso(o.created_at)}),
    InboundLine: Policy(
        "inbound", "line", key=lambda s, o: s.get(InboundOrder, o.order_id).ref, rid=lambda s, o: o.uuid,
        fields=_adds("qty_received"), create=_new_inbound_line),
    OutboundOrder: Policy("outbound", "order", key=lambda s, o: o.ref, rid=lambda s, o: o.ref,
                          fields=(Field("status", "set"), Field("shipped_at", "set", encode=lambda s, v: iso(v)))),
    OutboundLine: Policy(
        "outbound", "line", key=lambda s, o: s.get(OutboundOrder, o.order_id).ref, rid=lambda s, o: o.uuid,
        fields=_adds("qty_allocated", "qty_picked", "qty_packed", "qty_shipped")),
    Carton: Policy(
        "outbound", "carton", key=lambda s, o: s.get(OutboundOrder, o.order_id).ref, rid=lambda s, o: s.get(Container, o.container_id).code,
        fields=(Field("sscc", "set"), Field("weight_kg", "set", encode=lambda s, v: kg_text(v)), *_sets("status", "closed_at", "tracking"),
                Field("confirmation_sent_at", "set", encode=lambda s, v: iso(v))),
        create=lambda s, o: {"status": o.status, "sscc": o.sscc, "weight_kg": kg_text(o.weight_kg), "closed_at": iso(o.closed_at),
                             "tracking": o.tracking}),
    CartonLine: Policy("outbound", "carton_line", key=_carton_ref, rid=lambda s, o: o.uuid, fields=_adds("qty"), create=_new_carton_line),
    # Returns (issue 14): an RMA or unplanned return, its lines (received counts add up) and its graded receipts (append-only).
    ReturnOrder: Policy("return", "order", key=lambda s, o: o.ref, rid=lambda s, o: o.ref, fields=_sets("status", "closed_at"),
                        create=_new_return),
    ReturnLine: Policy("return", "line", key=lambda s, o: s.get(ReturnOrder, o.return_id).ref, rid=lambda s, o: o.uuid,
                       fields=_adds("qty_received"), create=_new_return_line),
    ReturnReceipt: Policy("return", "receipt", key=_return_ref, rid=lambda s, o: o.uuid, create=_new_return_receipt),
    PickList: Policy(
        "pick_list", "list", key=lambda s, o: o.ref, rid=lambda s, o: o.ref, fields=(Field("status", "set"), Field("claimed_by", "claim"))),
    PickListOrder: Policy(
        "pick_list", "order", key=lambda s, o: s.get(PickList, o.pick_list_id).ref, rid=lambda s, o: s.get(OutboundOrder, o.order_id).ref,
        fields=(Field("tote_id", "set", encode=_tote, sent_as="tote"),), new_fields=True),
    PickTask: Policy(
        "pick_list", "task", key=lambda s, o: s.get(PickList, o.pick_list_id).ref, rid=lambda s, o: o.uuid,
        fields=(*_adds("qty_picked"), *_sets("status", "seq", "waiting"),
                # the picker found another lot at the face (picking.change_lot): the allocation moves upstream too
                Field("lot_id", "set", encode=lambda s, v: dict(zip(("code", "expiry"), _lot_key(s, v))), sent_as="lot"))),
    FullTote: Policy(
        "pick_list", "full_tote", key=lambda s, o: s.get(PickList, s.get(PickListOrder, o.pick_list_order_id).pick_list_id).ref,
        rid=lambda s, o: s.get(OutboundOrder, s.get(PickListOrder, o.pick_list_order_id).order_id).ref,
        create=lambda s, o: _tote(s, o.tote_id)),
    ReplenTask: Policy(
        "replen_task", "task", key=lambda s, o: o.uuid, rid=lambda s, o: o.uuid,
        fields=(*_adds("qty_moved"), *_sets("status", "qty"), Field("claimed_by", "claim")), create=_new_replen_task),
    CountTask: Policy(
        "count_task", "task", key=lambda s, o: o.uuid, rid=lambda s, o: o.uuid,
        fields=(*_sets("status", "attempt", "started_at", "reason"), Field("claimed_by", "claim")), create=_new_count_task),
    CountLine: Policy(
        "count_task", "line", key=_task_uuid, rid=lambda s, o: o.uuid, fields=_sets("expected", "counted"), create=_new_count_line,
        delete=True),
    WarehouseException: Policy(
        "exception", "exception", key=lambda s, o: o.uuid, rid=lambda s, o: o.uuid,
        fields=(*_sets("status", "resolved_at", "resolution"), Field("resolved_by", "set", encode=_badge)), create=_new_exception),
    # Append-only: sent up once (the outbox entry's uuid makes it exactly once), never pulled back.
    AuditEvent: Policy(
        "audit", "event", key=lambda s, o: o.kind, rid=lambda s, o: None,
        create=lambda s, o: {"at": iso(o.at), "kind": o.kind, "badge": o.badge, "terminal": o.terminal, "detail": o.detail}),
    Operator: Policy("operator", "operator", key=lambda s, o: o.badge, rid=lambda s, o: o.badge, fields=_sets("failed_logins", "locked")),
}


def _history(obj, field: str):
    """(old, new) of a changed attribute, or None when unchanged."""
    hist = inspect(obj).attrs[field].history
    if not hist.has_changes():
        return None
    old = hist.deleted[0] if hist.deleted else None
    new = hist.added[0] if hist.added else None
    return old, new


def _change(obj, field: str, new: bool):
    """(old, new) of a field that changed (on a new row: that is set), else None."""
    h = _history(obj, field) if not new else (None, getattr(obj, field))
    return h if h is not None and h[0] != h[1] else None


def _capture(session: Session, obj, new: bool) -> list[dict]:
    """The field operations of one changed row, as its model's policy says (none for rows that do not sync up)."""
    policy = POLICIES.get(type(obj))
    if policy is None:
        return []
    if new and policy.create is not None:
        return [op(policy.doc, policy.key(session, obj), policy.row, policy.rid(session, obj), "create", value=policy.create(session, obj))]
    if new and not policy.new_fields:
        return []
    changes: list[tuple[str, str, Any]] = []  # (how, field as sent, value)
    for f in policy.fields:
        if f.how == "claim":
            if any(_change(obj, name, new) is not None for name in CLAIMED):
                changes.append(("claim", f.name, {"badge": _badge(session, obj.claimed_by), "terminal": obj.claimed_terminal}))
            continue
        found = _change(obj, f.name, new)
        if found is None:
            continue
        old, value = found
        if f.how == "add":
            value = (value or 0) - (old or 0)
        elif f.encode is not None:
            value = f.encode(session, value)
        changes.append((f.how, f.sent_as or f.name, value))
    if not changes:
        return []
    key, rid = policy.key(session, obj), policy.rid(session, obj)
    return [op(policy.doc, key, policy.row, rid, how, field, value) for how, field, value in changes]


def _capture_deleted(session: Session, obj) -> list[dict]:
    policy = POLICIES.get(type(obj))
    if policy is None or not policy.delete:
        return []
    key = policy.key(session, obj)
    return [op(policy.doc, key, policy.row, policy.rid(session, obj), "delete")] if key is not None else []


def _after_flush(session: Session, _context) -> None:
    ops: list[dict] = []
    for obj in session.new:
        ops += _capture(session, obj, True)
    for obj in session.dirty:
        if session.is_modified(obj, include_collections=False):
            ops += _capture(session, obj, False)
    for obj in session.deleted:
        ops += _capture_deleted(session, obj)
    if ops:
        session.connection().info.setdefault(_INFO_KEY, []).extend(ops)


def _on_commit(conn: Connection) -> None:
    ops = conn.info.pop(_INFO_KEY, None)
    if not ops:
        return
    entry = new_uuid()
    now = utcnow()
    conn.execute(insert(OutboxEntry.__table__).values(uuid=entry, kind="document", payload={"ops": ops}, terminal="",
                                                      created_at=now))


def _on_rollback(conn: Connection) -> None:
    if conn.invalidated:  # a dropped connection: its info went with it, and touching it raises on top of the drop
        return
    conn.info.pop(_INFO_KEY, None)


def capture(db) -> None:
    """Install the hooks that send a terminal's document changes up (the sync installs them on a terminal's database)."""
    if getattr(db, "_documents_captured", False):
        return
    event.listen(db.sessions, "after_flush", _after_flush)
    if not event.contains(db.engine, "commit", _on_commit):
        event.listen(db.engine, "commit", _on_commit)
        event.listen(db.engine, "rollback", _on_rollback)
    db._documents_captured = True
