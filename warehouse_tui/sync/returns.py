"""Returns (RMAs) in sync, the way sync/documents.py carries the other documents (issue 14).

A return is one aggregate (feed kind "return"): the header by its ref, its lines
and graded receipts by uuid, the order by ref and order lines by uuid.

- Down: the upstream's snapshot replaces a terminal's copy (header and lines;
  receipts are only ever added), unless the terminal changed it and has not
  pushed yet (its change goes up first and comes back merged).
- Up: a terminal's changes are captured as field operations (doc "return"):
  create for a return, line or receipt it made (an unplanned return, an
  imported RMA, a graded receipt), `add` for a line's qty_received (two
  terminals receiving one RMA both count), `set` for status and closed_at.
  Upstream, a closed return is not reopened: a later change is applied and
  reported as a conflict (the goods came back anyway).

The movements a return books (kinds return, scrap) travel as movements, like all others.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import (
    Bin,
    Item,
    Lot,
    Operator,
    OutboundLine,
    OutboundOrder,
    Owner,
    ReturnLine,
    ReturnOrder,
    ReturnReceipt,
)
from warehouse_tui.sync.booking import parse_time

DOC = "return"
CLOSED = {"closed"}


def _iso(value):
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


# =========================================================================== down: snapshots (upstream side)


def snapshots(session: Session, ids) -> list[dict]:
    rets = session.execute(select(ReturnOrder, OutboundOrder.ref).join(OutboundOrder, OutboundOrder.id == ReturnOrder.order_id)
                           .where(ids.of(ReturnOrder.id))).all()
    lines = session.execute(select(ReturnLine, OutboundLine.uuid, Item.sku, Owner.code).join(OutboundLine, OutboundLine.id == ReturnLine.order_line_id)
                            .join(Item, Item.id == ReturnLine.item_id).join(Owner, Owner.id == Item.owner_id)
                            .where(ids.of(ReturnLine.return_id)).order_by(ReturnLine.id)).all()
    line_uuid = {line.id: line.uuid for line, *_ in lines}
    receipts = session.execute(select(ReturnReceipt, ReturnLine.return_id, Item.sku, Owner.code, Lot.code, Lot.expiry, Bin.code, Operator.badge)
                               .join(ReturnLine, ReturnLine.id == ReturnReceipt.line_id).join(Item, Item.id == ReturnReceipt.item_id)
                               .join(Owner, Owner.id == Item.owner_id).outerjoin(Lot, Lot.id == ReturnReceipt.lot_id)
                               .outerjoin(Bin, Bin.id == ReturnReceipt.bin_id).outerjoin(Operator, Operator.id == ReturnReceipt.operator_id)
                               .where(ids.of(ReturnLine.return_id)).order_by(ReturnReceipt.id)).all()
    by_return: dict[int, dict[str, list]] = defaultdict(lambda: {"lines": [], "receipts": []})
    for line, order_line, sku, owner in lines:
        by_return[line.return_id]["lines"].append({
            "uuid": line.uuid, "line": order_line, "owner": owner, "sku": sku, "serial": line.serial, "reason": line.reason,
            "qty_expected": line.qty_expected, "qty_received": line.qty_received})
    for r, return_id, sku, owner, lot, expiry, bin_code, badge in receipts:
        by_return[return_id]["receipts"].append({
            "uuid": r.uuid, "line": line_uuid[r.line_id], "owner": owner, "sku": sku, "lot": lot, "expiry": _iso(expiry),
            "serial": r.serial, "qty": r.qty, "grade": r.grade, "reason": r.reason, "bin": bin_code, "operator": badge,
            "terminal": r.terminal, "received_at": _iso(r.received_at)})
    return [{"ref": ret.ref, "order": order, "kind": ret.kind, "status": ret.status, "created_at": _iso(ret.created_at),
             "closed_at": _iso(ret.closed_at), **by_return[ret.id]} for ret, order in rets]


# =========================================================================== down: applying (terminal side)


def apply(session: Session, snaps: list[dict]) -> int:
    from warehouse_tui.sync.documents import _Local, _replace_children, _upsert, pending_documents

    local, pending = _Local(session), pending_documents(session)
    applied = 0
    for s in snaps:
        if (DOC, s["ref"]) in pending:
            continue
        order_id = session.scalar(select(OutboundOrder.id).where(OutboundOrder.ref == s["order"]))
        if order_id is None:
            from warehouse_tui.sync.pull import PullError

            raise PullError(f"order {s['order']} of return {s['ref']} is not known here — the upstream feed is missing it")
        _upsert(session, ReturnOrder.__table__, [{"ref": s["ref"], "order_id": order_id, "kind": s["kind"], "status": s["status"],
                                                  "created_at": parse_time(s["created_at"]), "closed_at": parse_time(s["closed_at"])}],
                ["ref"], ["order_id", "kind", "status", "created_at", "closed_at"])
        return_id = session.scalar(select(ReturnOrder.id).where(ReturnOrder.ref == s["ref"]))
        order_lines = dict(session.execute(select(OutboundLine.uuid, OutboundLine.id).where(OutboundLine.order_id == order_id)).all())
        rows = [{"uuid": line["uuid"], "return_id": return_id, "order_line_id": order_lines[line["line"]],
                 "item_id": local.item(line["owner"], line["sku"])[0], "serial": line["serial"], "reason": line["reason"],
                 "qty_expected": line["qty_expected"], "qty_received": line["qty_received"]} for line in s["lines"]]
        _replace_children(session, ReturnLine.__table__, "return_id", return_id, rows,
                          ["return_id", "order_line_id", "item_id", "serial", "reason", "qty_expected", "qty_received"])
        lines = dict(session.execute(select(ReturnLine.uuid, ReturnLine.id).where(ReturnLine.return_id == return_id)).all())
        receipts = []
        for r in s["receipts"]:
            item_id = local.item(r["owner"], r["sku"])[0]
            receipts.append({"uuid": r["uuid"], "line_id": lines[r["line"]], "item_id": item_id, "lot_id": local.lot(item_id, r["lot"], r["expiry"]),
                             "serial": r["serial"], "qty": r["qty"], "grade": r["grade"], "reason": r["reason"],
                             "bin_id": local.bin(r["bin"]) if r["bin"] else None, "operator_id": local.operator(r["operator"]),
                             "terminal": r["terminal"], "received_at": parse_time(r["received_at"])})
        _upsert(session, ReturnReceipt.__table__, receipts, ["uuid"], ["line_id", "item_id", "lot_id", "serial", "qty", "grade", "reason",
                                                                      "bin_id", "operator_id", "terminal", "received_at"])
        applied += 1
    return applied


# =========================================================================== up: capturing a terminal's changes


def capture(session: Session, obj, new: bool) -> list[dict]:
    """The field operations of one changed return row (empty for any other row)."""
    from warehouse_tui.sync.documents import _badge, _history, _item_key, _lot_key, _op

    def changed(*fields):
        for f in fields:
            h = _history(obj, f) if not new else (None, getattr(obj, f))
            if h is not None and h[0] != h[1]:
                yield f, h[0], h[1]

    s = session
    if isinstance(obj, ReturnOrder):
        if new:
            return [_op(DOC, obj.ref, "order", obj.ref, "create", value={
                "order": s.get(OutboundOrder, obj.order_id).ref, "kind": obj.kind, "status": obj.status,
                "created_at": _iso(obj.created_at), "closed_at": _iso(obj.closed_at)})]
        return [_op(DOC, obj.ref, "order", obj.ref, "set", f, v) for f, _, v in changed("status", "closed_at")]
    if isinstance(obj, ReturnLine):
        ref = s.get(ReturnOrder, obj.return_id).ref
        if new:
            owner, sku = _item_key(s, obj.item_id)
            return [_op(DOC, ref, "line", obj.uuid, "create", value={
                "line": s.get(OutboundLine, obj.order_line_id).uuid, "owner": owner, "sku": sku, "serial": obj.serial,
                "reason": obj.reason, "qty_expected": obj.qty_expected, "qty_received": obj.qty_received})]
        return [_op(DOC, ref, "line", obj.uuid, "add", f, (v or 0) - (o or 0)) for f, o, v in changed("qty_received")]
    if isinstance(obj, ReturnReceipt):
        if not new:
            return []
        line = s.get(ReturnLine, obj.line_id)
        owner, sku = _item_key(s, obj.item_id)
        lot, expiry = _lot_key(s, obj.lot_id)
        bin_ = s.get(Bin, obj.bin_id) if obj.bin_id is not None else None
        return [_op(DOC, s.get(ReturnOrder, line.return_id).ref, "receipt", obj.uuid, "create", value={
            "line": line.uuid, "owner": owner, "sku": sku, "lot": lot, "expiry": expiry, "serial": obj.serial, "qty": obj.qty,
            "grade": obj.grade, "reason": obj.reason, "bin": bin_.code if bin_ else None, "operator": _badge(s, obj.operator_id),
            "terminal": obj.terminal, "received_at": _iso(obj.received_at)})]
    return []


# =========================================================================== up: applying on the upstream


def apply_op(up, op: dict, places) -> str | None:
    """One operation of a terminal's entry, in the upstream's transaction (see documents.apply_document_entry)."""
    from warehouse_tui.sync.documents import _set_state, _Skip

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
        if op["field"] == "status" and ret.status in CLOSED and op["value"] != ret.status:
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
        return _closed(ret, what)
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
    return _closed(ret, what)


def _closed(ret: ReturnOrder, what: str) -> str | None:
    if ret.status in CLOSED:
        return f"{what} was closed upstream; received on it at the terminal anyway (kept)"
    return None
