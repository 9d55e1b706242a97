"""Up, upstream side: a terminal's document operations applied in the push's upstream transaction.

The operations of one outbox entry (capture.py writes them) are applied in
order — parents before children — to the rows found by natural key; a change to
a document the upstream already closed is applied too and reported as a
conflict (the physical work happened). A claim on a document nobody holds (or
the same operator holds) is taken; one held by another operator stays theirs,
and the work done under the second claim is kept. A count that reaches the
upstream after its task was closed there, or while another terminal holds it, is
kept out whole. An SSCC already on another carton upstream is kept off the
second carton so someone relabels it. Conflicts go to the supervisor queue as
`sync_conflict` exceptions (record_document_conflict).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import (
    AuditEvent,
    Bin,
    Carton,
    CartonLine,
    Container,
    ContainerKind,
    CountLine,
    CountTask,
    FullTote,
    InboundLine,
    InboundOrder,
    Item,
    Lot,
    Operator,
    OutboundLine,
    OutboundOrder,
    Owner,
    PickList,
    PickListOrder,
    PickTask,
    ReturnLine,
    ReturnOrder,
    ReturnReceipt,
    WarehouseException,
    utcnow,
)
from warehouse_tui.services.reservations import recompute_reservations
from warehouse_tui.sync import replenishment as replen_sync
from warehouse_tui.sync.booking import parse_time
from warehouse_tui.sync.documents import CLOSED, kg_value

_DOC_RANK = {"operator": 0, "inbound": 1, "outbound": 2, "return": 2.5, "pick_list": 3, "count_task": 4, "replen_task": 4, "exception": 5, "audit": 6}
_ROW_RANK = {"order": 0, "list": 0, "task": 1, "line": 2, "carton": 3, "carton_line": 4, "receipt": 5, "exception": 0, "operator": 0,
             "event": 0}


def ordered(ops: list[dict]) -> list[dict]:
    """Parents before children, count tasks before the exceptions naming them; otherwise as captured."""
    def rank(pair):
        n, op = pair
        row = 0 if (op["doc"], op["row"]) == ("count_task", "task") else _ROW_RANK.get(op["row"], 1)
        return _DOC_RANK.get(op["doc"], 9), row, n
    return [op for _, op in sorted(enumerate(ops), key=rank)]


class _Upstream:
    """Finds upstream rows by natural key for one entry's operations."""

    def __init__(self, session: Session, terminal: str = "") -> None:
        self.s = session
        self.terminal = terminal  # the pushing terminal
        self.kept_out: dict[str, str] = {}  # count task uuid -> why this entry's changes to it are kept out

    def one(self, model, **where):
        query = select(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        return self.s.scalars(query).one_or_none()

    def operator_id(self, badge: str | None) -> int | None:
        if badge is None:
            return None
        found = self.one(Operator, badge=badge)
        return found.id if found else None

    def item_id(self, owner: str, sku: str) -> int:
        found = self.s.scalar(select(Item.id).join(Owner, Owner.id == Item.owner_id).where(Item.sku == sku, Owner.code == owner))
        if found is None:
            raise _Skip(f"item {sku} of owner {owner} is not known upstream")
        return found

    def lot_id(self, item_id: int, code: str | None, expiry: str | None) -> int | None:
        if code is None:
            return None
        found = self.one(Lot, item_id=item_id, code=code)
        if found is None:
            found = Lot(item_id=item_id, code=code, expiry=dt.date.fromisoformat(expiry) if expiry else None)
            self.s.add(found)
            self.s.flush()
        return found.id

    def container_id(self, code: str | None, kind: str | None) -> int | None:
        if code is None:
            return None
        found = self.one(Container, code=code)
        if found is None:
            valid = {k.value for k in ContainerKind}
            found = Container(code=code, kind=kind if kind in valid else ContainerKind.TOTE.value)
            self.s.add(found)
            self.s.flush()
        return found.id


class _Skip(Exception):
    """An operation that cannot be applied upstream (its document or row is unknown)."""


def apply_document_entry(session: Session, payload: dict, terminal: str = "") -> list[str]:
    """Apply one entry's operations in the caller's upstream transaction; returns the conflicts found (empty: applied)."""
    up = _Upstream(session, terminal)
    up.kept_out = _counts_kept_out(up, payload.get("ops", []))
    conflicts: list[str] = list(up.kept_out.values())
    places: set[tuple[int, int, int | None]] = set()
    for op in ordered(payload.get("ops", [])):
        try:
            note = _APPLY[op["doc"]](up, op, places)
        except _Skip as exc:
            note = f"{op['doc'].replace('_', ' ')} {op['key']}: {exc} — not applied"
        if note:
            conflicts.append(note)
    session.flush()
    recompute_reservations(session, places)
    return conflicts


DECISIONS = ("approved", "rejected")


def record_document_conflict(session: Session, terminal: str, uuid: str, payload: dict, reason: str) -> None:
    """Put a document entry's conflict in the supervisor queue: one open sync conflict per terminal and document.

    A double claim usually conflicts in every later transaction of the same work (the
    count's lines, its recount, its variance); those join the open conflict of the first
    instead of filling the queue with copies. Each entry and reason is kept in its data.
    """
    docs = sorted({f"{op['doc']} {op['key']}" for op in payload.get("ops", [])})
    record = {"uuid": uuid, "entry": payload, "reason": reason}
    for open_one in session.scalars(select(WarehouseException).where(
            WarehouseException.kind == "sync_conflict", WarehouseException.status == "open",
            WarehouseException.terminal == terminal[:64])):
        data = open_one.data if isinstance(open_one.data, dict) else {}
        if data.get("documents") == docs:
            more = [*data.get("more", []), record]
            open_one.data = {**data, "more": more}
            open_one.detail = f"{open_one.detail.split(' (+')[0]} (+{len(more)} more from the same work)"
            return
    session.add(WarehouseException(
        kind="sync_conflict", ref=_conflict_ref(session, payload)[:64], detail=f"{terminal}: {reason}", status="open",
        terminal=terminal[:64], data={**record, "booked": True, "documents": docs},
    ))


def _conflict_ref(session: Session, payload: dict) -> str:
    """What the queue calls the conflict: the order, receipt or pick list, or the counted bin."""
    for op in payload.get("ops", []):
        if op["doc"] in ("pick_list", "inbound", "outbound", "return"):
            return str(op["key"])
    for op in payload.get("ops", []):
        if op["doc"] == "count_task":
            code = session.scalar(select(Bin.code).join(CountTask, CountTask.bin_id == Bin.id).where(CountTask.uuid == op["key"]))
            if code:
                return code
    return ""


def _counts_kept_out(up: _Upstream, ops: list[dict]) -> dict[str, str]:
    """Count tasks this entry must leave alone, with the reason: one count of a bin stands, not two.

    A count that reaches the upstream after the task was closed there, or while another
    terminal holds the task (its claim taken first, online or pushed first), is kept out
    whole — task fields, lines and the variance it raised — and reported as a conflict
    with the entry, so the supervisor still has what was counted. A supervisor's decision
    (approve or reject a task in review) may come from any terminal.
    """
    by_task: dict[str, list[dict]] = defaultdict(list)
    for op in ops:
        if op["doc"] == "count_task":
            by_task[op["key"]].append(op)
    kept: dict[str, str] = {}
    for key, task_ops in by_task.items():
        task = up.one(CountTask, uuid=key)
        if task is None:
            continue
        where = f"count of bin {up.s.get(Bin, task.bin_id).code}"
        by = f" from {up.terminal}" if up.terminal else ""
        decision = all(o["row"] == "task" and o["op"] == "set" and o["field"] == "status" and o["value"] in DECISIONS
                       for o in task_ops)
        holder = up.s.get(Operator, task.claimed_by) if task.claimed_by is not None else None
        who = " ".join(filter(None, (holder.badge if holder is not None else None,
                                     f"on {task.claimed_terminal}" if task.claimed_terminal else None)))
        if task.status in CLOSED["count_task"]:
            kept[key] = f"{where} was already {task.status} upstream" + (f" (counted by {who})" if who else "") + \
                f"; this count{by} is kept out"
        elif not decision and task.claimed_terminal and up.terminal and task.claimed_terminal != up.terminal:
            kept[key] = f"{where} is held by {who}; this count{by} is kept out"
    return kept


def _parse(field: str, value):
    return parse_time(value) if field in ("closed_at", "started_at", "resolved_at", "created_at", "shipped_at") else value


def _set_state(doc: str, row, field: str, value, what: str) -> str | None:
    """Set a field; a closed document is not reopened (the change is reported as a conflict instead)."""
    if field == "status" and row.status in CLOSED.get(doc, ()) and value != row.status:
        return f"{what} is already {row.status} upstream; {value} from the terminal kept out"
    setattr(row, field, _parse(field, value))
    return None


def _claim(up: _Upstream, row, op: dict, what: str) -> str | None:
    value = op["value"] or {}
    badge, terminal = value.get("badge"), value.get("terminal")
    holder = up.s.get(Operator, row.claimed_by) if row.claimed_by is not None else None
    if badge is None or holder is None or holder.badge == badge:
        row.claimed_by = up.operator_id(badge)
        row.claimed_terminal = terminal if badge is not None else None
        return None
    return (f"{what} claimed twice: by {holder.badge} on {row.claimed_terminal or '?'} and by {badge} on {terminal or '?'} — "
            f"it stays with {holder.badge}; the work done by {badge} is kept")


def _inbound(up: _Upstream, op: dict, places) -> str | None:
    order = up.one(InboundOrder, ref=op["key"])
    what = f"receipt {op['key']}"
    if op["row"] == "order" and op["op"] == "create":
        if order is None:
            v = op["value"]
            up.s.add(InboundOrder(ref=op["key"], kind=v["kind"], supplier=v["supplier"], status=v["status"], created_at=parse_time(v["created_at"])))
            up.s.flush()
        return None
    if order is None:
        raise _Skip("the document is not known upstream")
    if op["row"] == "order":
        return _set_state("inbound", order, op["field"], op["value"], what)
    line = up.one(InboundLine, uuid=op["id"])
    if op["op"] == "create":
        if line is None:
            v = op["value"]
            up.s.add(InboundLine(uuid=op["id"], order_id=order.id, item_id=up.item_id(v["owner"], v["sku"]), qty_expected=v["qty_expected"],
                                 qty_received=v["qty_received"], lot=v["lot"], expiry=dt.date.fromisoformat(v["expiry"]) if v["expiry"] else None))
    elif line is None:
        raise _Skip("the line is not known upstream")
    else:
        setattr(line, op["field"], getattr(line, op["field"]) + op["value"])
    if order.status == "closed":
        return f"{what} was closed upstream; received on it at the terminal anyway (kept)"
    return None


def _outbound(up: _Upstream, op: dict, places) -> str | None:
    order = up.one(OutboundOrder, ref=op["key"])
    if order is None:
        raise _Skip("the order is not known upstream")
    if op["row"] == "order":
        return _set_state("outbound", order, op["field"], op["value"], f"order {op['key']}")
    if op["row"] == "carton":
        return _carton(up, order, op)
    if op["row"] == "carton_line":
        return _carton_line(up, order, op)
    line = up.one(OutboundLine, uuid=op["id"])
    if line is None:
        raise _Skip("the order line is not known upstream")
    setattr(line, op["field"], getattr(line, op["field"]) + op["value"])
    return None


def _sscc_taken(up: _Upstream, sscc: str | None, carton_id: int | None) -> str | None:
    """Another carton's code when that SSCC is already on one upstream (two labels with one number)."""
    if not sscc:
        return None
    other = up.s.execute(select(Container.code).join(Carton, Carton.container_id == Container.id)
                         .where(Carton.sscc == sscc, Carton.id != (carton_id or -1))).scalar()
    return other


def _carton(up: _Upstream, order: OutboundOrder, op: dict) -> str | None:
    """A carton packed on a terminal: created or changed upstream; an SSCC already on another carton is kept out."""
    container_id = up.container_id(op["id"], ContainerKind.CARTON.value)
    carton = up.one(Carton, container_id=container_id)
    if op["op"] == "create":
        if carton is not None:
            return None
        v = op["value"]
        other = _sscc_taken(up, v["sscc"], None)
        other_tracking = _tracking_taken(up, v.get("tracking"), None)
        carton = Carton(container_id=container_id, order_id=order.id, sscc=None if other else v["sscc"], weight_kg=kg_value(v["weight_kg"]),
                        status=v["status"], closed_at=parse_time(v["closed_at"]),
                        tracking=None if other_tracking else v.get("tracking"))
        up.s.add(carton)
        up.s.flush()
        _box_follows(up, container_id, v["status"])
        return _sscc_clash(op["id"], v["sscc"], other) or _tracking_clash(op["id"], v.get("tracking"), other_tracking)
    if carton is None:
        raise _Skip(f"carton {op['id']} is not known upstream")
    if op["field"] == "sscc":
        other = _sscc_taken(up, op["value"], carton.id)
        if other:
            return _sscc_clash(op["id"], op["value"], other)
    if op["field"] == "tracking":
        other = _tracking_taken(up, op["value"], carton.id)
        if other:
            return _tracking_clash(op["id"], op["value"], other)
    if op["field"] == "confirmation_sent_at":
        # Handed over to the OMS: the first mark to reach the upstream stands (two terminals that sent the same
        # confirmation offline make one sent confirmation); a mark is never taken back.
        if carton.confirmation_sent_at is None and op["value"]:
            carton.confirmation_sent_at = parse_time(op["value"])
        return None
    value = kg_value(op["value"]) if op["field"] == "weight_kg" else _parse(op["field"], op["value"])
    setattr(carton, op["field"], value)
    up.s.flush()
    if op["field"] == "status":
        _box_follows(up, container_id, op["value"])
    return None


def _tracking_taken(up: _Upstream, tracking: str | None, carton_id: int | None) -> str | None:
    """Another carton's code when that tracking number is already on one upstream (one carrier label on two cartons)."""
    if not tracking:
        return None
    return up.s.execute(select(Container.code).join(Carton, Carton.container_id == Container.id)
                        .where(Carton.tracking == tracking, Carton.id != (carton_id or -1))).scalar()


def _tracking_clash(code: str, tracking: str | None, other: str | None) -> str | None:
    if not other:
        return None
    return (f"Tracking {tracking} of carton {code} is already on carton {other} upstream — scan {code}'s own carrier "
            f"label at @PACK; it is kept without a tracking number")


def _sscc_clash(code: str, sscc: str | None, other: str | None) -> str | None:
    if not other:
        return None
    return f"SSCC {sscc} of carton {code} is already on carton {other} upstream — relabel {code}; it is kept without an SSCC"


def _box_follows(up: _Upstream, container_id: int, status: str) -> None:
    box = up.s.get(Container, container_id)
    if status in ("closed", "shipped"):
        box.status = status
    if status == "shipped":
        box.bin_id = None


def _carton_line(up: _Upstream, order: OutboundOrder, op: dict) -> str | None:
    line = up.one(CartonLine, uuid=op["id"])
    if op["op"] == "create":
        if line is not None:
            return None
        v = op["value"]
        container = up.one(Container, code=v["carton"])
        carton = up.one(Carton, container_id=container.id) if container is not None else None
        order_line = up.one(OutboundLine, uuid=v["line"])
        if carton is None or order_line is None:
            raise _Skip(f"carton {v['carton']} or its order line is not known upstream")
        item_id = up.item_id(v["owner"], v["sku"])
        up.s.add(CartonLine(uuid=op["id"], carton_id=carton.id, order_line_id=order_line.id, item_id=item_id,
                            lot_id=up.lot_id(item_id, v["lot"], v["expiry"]), serial=v["serial"], qty=v["qty"]))
        return None
    if line is None:
        raise _Skip("the carton line is not known upstream")
    line.qty += op["value"]
    return None


def _audit(up: _Upstream, op: dict, places) -> str | None:
    """An audit event of a terminal (login, failed login, override, approval): appended upstream, never changed."""
    v = op["value"]
    up.s.add(AuditEvent(at=parse_time(v["at"]), kind=v["kind"], operator_id=up.operator_id(v["badge"]), badge=v["badge"],
                        terminal=v["terminal"], detail=v["detail"]))
    return None


def _pick_list(up: _Upstream, op: dict, places) -> str | None:
    pick_list = up.one(PickList, ref=op["key"])
    if pick_list is None:
        raise _Skip("the pick list is not known upstream")
    what = f"pick list {op['key']}"
    if op["row"] == "list":
        return _claim(up, pick_list, op, what) if op["op"] == "claim" else _set_state("pick_list", pick_list, op["field"], op["value"], what)
    if op["row"] == "order":
        order = up.one(OutboundOrder, ref=op["id"])
        slot = up.one(PickListOrder, pick_list_id=pick_list.id, order_id=order.id) if order is not None else None
        if slot is None:
            raise _Skip(f"order {op['id']} is not on it upstream")
        tote = op["value"]
        slot.tote_id = up.container_id(tote["code"], tote["kind"]) if tote else None
        return None
    if op["row"] == "full_tote":
        order = up.one(OutboundOrder, ref=op["id"])
        slot = up.one(PickListOrder, pick_list_id=pick_list.id, order_id=order.id) if order is not None else None
        if slot is None:
            raise _Skip(f"order {op['id']} is not on it upstream")
        tote_id = up.container_id(op["value"]["code"], op["value"]["kind"])
        if up.one(FullTote, pick_list_order_id=slot.id, tote_id=tote_id) is None:
            up.s.add(FullTote(pick_list_order_id=slot.id, tote_id=tote_id))
        return None
    task = up.one(PickTask, uuid=op["id"])
    if task is None:
        raise _Skip("the pick task is not known upstream")
    places.add((task.item_id, task.bin_id, task.lot_id))
    if op["op"] == "add":
        setattr(task, op["field"], getattr(task, op["field"]) + op["value"])
    elif op["field"] == "lot":  # the allocation moved to the lot found at the face: reservations follow (places)
        value = op["value"] or {}
        task.lot_id = up.lot_id(task.item_id, value.get("code"), value.get("expiry"))
        task.quant_id = None
        places.add((task.item_id, task.bin_id, task.lot_id))
    else:
        setattr(task, op["field"], op["value"])
    return None


def _count_task(up: _Upstream, op: dict, places) -> str | None:
    if op["key"] in up.kept_out:
        return None  # reported once for the whole entry (apply_document_entry)
    task = up.one(CountTask, uuid=op["key"])
    what = f"count task of {op['key'][:8]}"
    if op["row"] == "task" and op["op"] == "create":
        if task is None:
            v = op["value"]
            bin_ = up.one(Bin, code=v["bin"])
            if bin_ is None:
                raise _Skip(f"bin {v['bin']} is not known upstream")
            up.s.add(CountTask(uuid=op["key"], bin_id=bin_.id, blind=v["blind"], status=v["status"], attempt=v["attempt"], reason=v["reason"],
                               claimed_by=up.operator_id(v["claimed_by"]), claimed_terminal=v["claimed_terminal"],
                               created_by=up.operator_id(v["created_by"]), created_at=parse_time(v["created_at"]),
                               started_at=parse_time(v["started_at"])))
            up.s.flush()
        return None
    if task is None:
        raise _Skip("the count task is not known upstream")
    bin_code = up.s.get(Bin, task.bin_id).code
    what = f"count of bin {bin_code}"
    if op["row"] == "task":
        return _claim(up, task, op, what) if op["op"] == "claim" else _set_state("count_task", task, op["field"], op["value"], what)
    line = up.one(CountLine, uuid=op["id"])
    if op["op"] == "create":
        if line is None:
            v = op["value"]
            item_id = up.item_id(v["owner"], v["sku"])
            up.s.add(CountLine(uuid=op["id"], task_id=task.id, item_id=item_id, lot_id=up.lot_id(item_id, v["lot"], v["expiry"]),
                               container_id=up.container_id(v["container"], v.get("container_kind")), serial=v["serial"],
                               attempt=v["attempt"],
                               expected=v["expected"], counted=v["counted"]))
    elif op["op"] == "delete":
        if line is not None:
            up.s.delete(line)
    elif line is not None:
        setattr(line, op["field"], op["value"])
    return None


def _exception(up: _Upstream, op: dict, places) -> str | None:
    found = up.one(WarehouseException, uuid=op["key"])
    if op["op"] == "create":
        if found is None:
            v = dict(op["value"])
            data = v.get("data")
            if isinstance(data, dict) and data.get("count_task_uuid"):
                task = up.one(CountTask, uuid=data["count_task_uuid"])
                data = {**data, "count_task": task.id if task is not None else None}
                kept = up.kept_out.get(data["count_task_uuid"])
                if kept and v["status"] == "open":
                    # Its count was kept out: nothing left to decide (the sync conflict holds the count).
                    v.update(status="rejected", resolution=f"Kept out by sync: {kept}"[:300], resolved_at=utcnow().isoformat(),
                             resolved_by=None)
            up.s.add(WarehouseException(uuid=op["key"], kind=v["kind"], ref=v["ref"], detail=v["detail"], status=v["status"],
                                        created_at=parse_time(v["created_at"]), created_by=up.operator_id(v["created_by"]),
                                        terminal=v["terminal"], resolved_by=up.operator_id(v["resolved_by"]),
                                        resolved_at=parse_time(v["resolved_at"]), resolution=v["resolution"], data=data))
        return None
    if found is None:
        raise _Skip("the exception is not known upstream")
    if op["field"] == "resolved_by":
        found.resolved_by = up.operator_id(op["value"])
        return None
    return _set_state("exception", found, op["field"], op["value"], f"exception {found.kind} {found.ref}")


def _operator(up: _Upstream, op: dict, places) -> str | None:
    found = up.one(Operator, badge=op["key"])
    if found is None:
        raise _Skip("the badge is not known upstream")
    setattr(found, op["field"], op["value"])
    return None


def _return(up: _Upstream, op: dict, places) -> str | None:
    """A return (issue 14): created, its status set (a closed one is not reopened), lines counted, graded receipts added."""
    ret = up.one(ReturnOrder, ref=op["key"])
    what = f"return {op['key']}"
    if op["row"] == "order" and op["op"] == "create":
        if ret is None:
            v = op["value"]
            order = up.one(OutboundOrder, ref=v["order"])
            if order is None:
                raise _Skip(f"order {v['order']} is not known upstream")
            up.s.add(ReturnOrder(ref=op["key"], order_id=order.id, kind=v["kind"], status=v["status"], created_at=parse_time(v["created_at"]),
                                 closed_at=parse_time(v["closed_at"])))
            up.s.flush()
        return None
    if ret is None:
        raise _Skip("the return is not known upstream")
    if op["row"] == "order":
        if op["field"] == "status" and ret.status in CLOSED["return"] and op["value"] != ret.status:
            return f"{what} is already {ret.status} upstream; {op['value']} from the terminal kept out"
        setattr(ret, op["field"], parse_time(op["value"]) if op["field"] == "closed_at" else op["value"])
        return None
    if op["row"] == "line":
        line = up.one(ReturnLine, uuid=op["id"])
        if op["op"] == "create":
            if line is None:
                v = op["value"]
                order_line = up.one(OutboundLine, uuid=v["line"])
                if order_line is None:
                    raise _Skip("its order line is not known upstream")
                up.s.add(ReturnLine(uuid=op["id"], return_id=ret.id, order_line_id=order_line.id, item_id=up.item_id(v["owner"], v["sku"]),
                                    serial=v["serial"], reason=v["reason"], qty_expected=v["qty_expected"], qty_received=v["qty_received"]))
                up.s.flush()
        elif line is None:
            raise _Skip("the return line is not known upstream")
        else:
            line.qty_received += op["value"]
        return _return_closed(ret, what)
    found = up.one(ReturnReceipt, uuid=op["id"])
    if found is None:
        v = op["value"]
        line = up.one(ReturnLine, uuid=v["line"])
        if line is None:
            raise _Skip("the receipt's return line is not known upstream")
        item_id = up.item_id(v["owner"], v["sku"])
        bin_ = up.one(Bin, code=v["bin"]) if v["bin"] else None
        up.s.add(ReturnReceipt(uuid=op["id"], line_id=line.id, item_id=item_id, lot_id=up.lot_id(item_id, v["lot"], v["expiry"]),
                               serial=v["serial"], qty=v["qty"], grade=v["grade"], reason=v["reason"], bin_id=bin_.id if bin_ else None,
                               operator_id=up.operator_id(v["operator"]), terminal=v["terminal"], received_at=parse_time(v["received_at"])))
    return _return_closed(ret, what)


def _return_closed(ret: ReturnOrder, what: str) -> str | None:
    if ret.status in CLOSED["return"]:
        return f"{what} was closed upstream; received on it at the terminal anyway (kept)"
    return None


_APPLY = {"inbound": _inbound, "outbound": _outbound, "return": _return, "pick_list": _pick_list, "count_task": _count_task,
          "exception": _exception, "operator": _operator, "audit": _audit,
          "replen_task": replen_sync.apply_op}

