"""Customer returns: receive what was shipped back against its order, grade it, and book it into the right place.

Rules (issue 14):
- A return (RMA) names a shipped order. It comes from the OMS (`import
  returns`, or down from the upstream) or, when the parcel came without
  paperwork, is opened on the floor from the order number, the shipped
  carton's SSCC (or carton code) or a serial that shipped: an *unplanned*
  return, flagged for the supervisor (an open `unplanned_return` exception).
  An order that never shipped has nothing to return.
- Only what shipped on that order comes back: the item must be on the order;
  a serial must be one that shipped on it and not be back already; a lot must
  be one that shipped on it; per order line never more than shipped minus
  already returned (over every return of the order).
- Each graded receipt is booked at once, one ledger movement (kind `return`,
  document = the RMA): `good` into the returns bin (kind returns; setting
  `returns_bin`) as available stock, which the normal putaway takes from
  there; `damaged` into the quarantine bin (kind quarantine; setting
  `quarantine_bin`), which waves and picks never allocate from; `scrap` into
  the quarantine bin and straight out with a `scrap` movement. The stock stays
  the owner's of the item (a 3PL client's goods stay the client's).
- `@DONE` (`close_return`) shows expected vs received per line; a return that
  received less than announced becomes `short` and stays open (receivable)
  until a supervisor closes it (approving its `short_return` exception).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import (
    Bin,
    BinKind,
    Carton,
    Container,
    Item,
    Lot,
    Movement,
    MovementKind,
    Operator,
    OutboundLine,
    OutboundOrder,
    ReturnGrade,
    ReturnLine,
    ReturnOrder,
    ReturnReceipt,
    SerialUnit,
    Tracking,
    WarehouseException,
    utcnow,
)
from warehouse_tui.errors import InvalidInput, InvariantViolation, NotAllowed, NotFound
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.auth import audit, require_supervisor
from warehouse_tui.services.ledger import Actor, check_qty, post

OPEN_STATES = ("open", "short")  # a short return is still open: more may arrive until a supervisor closes it
UNPLANNED = "unplanned_return"
SHORT = "short_return"
MAX_REASON = 64


@dataclass(frozen=True)
class ReturnSummaryLine:
    sku: str
    expected: int
    received: int

    @property
    def difference(self) -> int:
        return self.received - self.expected


@dataclass(frozen=True)
class ReturnView:
    ref: str
    order: str
    channel: str
    kind: str  # rma | unplanned
    status: str
    lines: tuple[ReturnSummaryLine, ...]
    found_by: str = ""  # unplanned: what found the shipment ("order", "SSCC", "serial")


@dataclass(frozen=True)
class ReturnableItem:
    """What may still come back of one item on a return's order."""

    item_id: int
    sku: str
    tracking: str
    shipped: int
    returned: int
    lots: tuple[str, ...]  # lots that shipped, first shipped first: suggested to the operator
    needs_lot: bool = False

    @property
    def left(self) -> int:
        return self.shipped - self.returned

    @property
    def is_serial(self) -> bool:
        return self.tracking == Tracking.SERIAL.value


@dataclass(frozen=True)
class Returned:
    grade: str
    sku: str
    qty: int
    bin_code: str | None  # None for scrap
    line_received: int
    line_expected: int


# --------------------------------------------------------------------------- finding the return


def find_return(session: Session, ref: str) -> ReturnOrder:
    found = session.scalars(select(ReturnOrder).where(ReturnOrder.ref == ref)).one_or_none()
    if found is None:
        raise NotFound(f"RMA {ref} is not known — scan the RMA, order, carton SSCC or a shipped serial")
    return found


def _receivable(session: Session, ref: str) -> ReturnOrder:
    ret = find_return(session, ref)
    if ret.status not in OPEN_STATES:
        raise NotAllowed(f"RMA {ret.ref} is {ret.status} — nothing more can be received on it")
    return ret


def _shipped_units(session: Session, order: OutboundOrder) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(OutboundLine.qty_shipped), 0)).where(OutboundLine.order_id == order.id)) or 0)


def _order_by_code(session: Session, code: str) -> tuple[OutboundOrder, str] | None:
    """The order a code names, and how: its ref, a carton's SSCC or code, or a serial that shipped on it."""
    order = session.scalars(select(OutboundOrder).where(OutboundOrder.ref == code)).one_or_none()
    if order is not None:
        return order, "order"
    carton = session.execute(select(Carton).join(Container, Container.id == Carton.container_id)
                             .where((Carton.sscc == code) | (Container.code == code))).scalars().first()
    if carton is not None:
        return session.get(OutboundOrder, carton.order_id), "SSCC" if carton.sscc == code else "carton"
    shipped = session.scalars(select(Movement.doc_ref).where(Movement.kind == MovementKind.SHIP.value, Movement.serial == code)
                              .order_by(Movement.at.desc(), Movement.seq.desc()).limit(1)).first()
    if shipped is not None:
        order = session.scalars(select(OutboundOrder).where(OutboundOrder.ref == shipped)).one_or_none()
        if order is not None:
            return order, "serial"
    return None


def open_return(session: Session, actor: Actor, code: str) -> ReturnView:
    """The return a scan names: an RMA, or (no paperwork) the order's open RMA or a new unplanned return.

    Raises NotFound for a code that names no RMA, order, shipped carton or shipped
    serial; NotAllowed for a closed RMA or an order that never shipped.
    """
    code = (code or "").strip()
    if not code:
        raise InvalidInput("Scan the RMA, order, carton SSCC or a shipped serial")
    ret = session.scalars(select(ReturnOrder).where(ReturnOrder.ref == code)).one_or_none()
    if ret is not None:
        _receivable(session, code)
        return return_view(session, ret.ref)
    found = _order_by_code(session, code)
    if found is None:
        raise NotFound(f"{code[:30]} is no RMA, order, shipped carton or shipped serial — check the parcel's paperwork")
    order, how = found
    if _shipped_units(session, order) == 0:
        raise NotAllowed(f"Order {order.ref} has not shipped ({order.status}) — nothing can be returned on it")
    open_rma = session.scalars(select(ReturnOrder).where(ReturnOrder.order_id == order.id, ReturnOrder.status.in_(OPEN_STATES))
                               .order_by(ReturnOrder.id)).first()
    if open_rma is not None:
        return return_view(session, open_rma.ref, found_by=how)
    ret = ReturnOrder(ref=_unplanned_ref(order), order_id=order.id, kind="unplanned", status="open")
    session.add(ret)
    session.add(WarehouseException(
        kind=UNPLANNED, ref=ret.ref, status="open", created_by=actor.operator_id, terminal=actor.terminal,
        detail=f"Return of order {order.ref} without RMA, found by {how} {code[:40]} — check it against the OMS",
        data={"order": order.ref, "found_by": how, "code": code[:64]},
    ))
    session.flush()
    return return_view(session, ret.ref, found_by=how)


def _unplanned_ref(order: OutboundOrder) -> str:
    # Made offline on any terminal: a random tail keeps two terminals' refs apart.
    return f"UR-{order.ref[:48]}-{uuid.uuid4().hex[:6].upper()}"


def return_view(session: Session, ref: str, found_by: str = "") -> ReturnView:
    ret = find_return(session, ref)
    order = session.get(OutboundOrder, ret.order_id)
    return ReturnView(ret.ref, order.ref, order.channel, ret.kind, ret.status, tuple(summary(session, ret.ref)), found_by)


def summary(session: Session, ref: str) -> list[ReturnSummaryLine]:
    """Expected vs received per SKU on the return."""
    ret = find_return(session, ref)
    rows = session.execute(select(Item.sku, func.sum(ReturnLine.qty_expected), func.sum(ReturnLine.qty_received))
                           .join(Item, Item.id == ReturnLine.item_id).where(ReturnLine.return_id == ret.id)
                           .group_by(Item.sku).order_by(Item.sku))
    return [ReturnSummaryLine(sku, int(exp or 0), int(rec or 0)) for sku, exp, rec in rows]


# --------------------------------------------------------------------------- what may come back


def _order_lines(session: Session, order_id: int, item_id: int) -> list[OutboundLine]:
    return list(session.scalars(select(OutboundLine).where(OutboundLine.order_id == order_id, OutboundLine.item_id == item_id)
                                .order_by(OutboundLine.id)))


def returned_on_line(session: Session, order_line_id: int) -> int:
    """Units already received back against one order line, over every return of the order."""
    return int(session.scalar(select(func.coalesce(func.sum(ReturnReceipt.qty), 0)).join(ReturnLine, ReturnLine.id == ReturnReceipt.line_id)
                              .where(ReturnLine.order_line_id == order_line_id)) or 0)


def returnable(session: Session, ref: str, item_id: int | None) -> ReturnableItem:
    """What of this item may still come back on the return's order. Raises when the item did not ship on it."""
    if item_id is None:
        raise InvalidInput("Scan the returned item first")
    ret = _receivable(session, ref)
    order = session.get(OutboundOrder, ret.order_id)
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound("Item not known — scan the item's barcode")
    lines = _order_lines(session, order.id, item.id)
    shipped = sum(line.qty_shipped for line in lines)
    if not lines:
        raise NotAllowed(f"{item.sku} is not on order {order.ref} — set it aside for a supervisor")
    if shipped == 0:
        raise NotAllowed(f"{item.sku} of order {order.ref} never shipped — nothing to return")
    returned = sum(returned_on_line(session, line.id) for line in lines)
    lots = tuple(session.scalars(select(Lot.code).join(Movement, Movement.lot_id == Lot.id)
                                 .where(Movement.kind == MovementKind.SHIP.value, Movement.doc_ref == order.ref, Movement.item_id == item.id)
                                 .group_by(Lot.code).order_by(func.min(Movement.seq))))
    return ReturnableItem(item.id, item.sku, item.tracking, shipped, returned, lots,
                          needs_lot=item.tracking == Tracking.LOT.value or bool(item.expiry_required))


def check_lot(session: Session, ref: str, item_id: int, lot_code: str) -> None:
    """A returned lot must be one that shipped on the order."""
    what = returnable(session, ref, item_id)
    if lot_code not in what.lots:
        order = session.get(OutboundOrder, find_return(session, ref).order_id)
        shipped = ", ".join(what.lots[:3]) + ("…" if len(what.lots) > 3 else "")
        raise NotAllowed(f"Lot {lot_code[:30]} of {what.sku} did not ship on order {order.ref} (shipped: {shipped or 'none'}) — check the label")


def check_serial(session: Session, ref: str, item_id: int, serial: str) -> None:
    """A returned serial must have shipped on the order, and not be back already."""
    ret = _receivable(session, ref)
    order = session.get(OutboundOrder, ret.order_id)
    item = session.get(Item, item_id)
    shipped = set(session.scalars(select(Movement.serial).where(Movement.kind == MovementKind.SHIP.value, Movement.doc_ref == order.ref,
                                                               Movement.item_id == item.id, Movement.serial.is_not(None))))
    if serial not in shipped:
        raise NotAllowed(f"Serial {serial[:30]} did not ship on {order.ref} "
                         f"({len(shipped)} serial{'' if len(shipped) == 1 else 's'} of {item.sku} did) — scan another")
    back = session.scalar(select(ReturnOrder.ref).join(ReturnLine, ReturnLine.return_id == ReturnOrder.id)
                          .join(ReturnReceipt, ReturnReceipt.line_id == ReturnLine.id)
                          .where(ReturnOrder.order_id == order.id, ReturnReceipt.item_id == item.id, ReturnReceipt.serial == serial).limit(1))
    if back is not None:
        raise NotAllowed(f"Serial {serial[:30]} of {item.sku} was already returned on {back} — scan another unit")
    unit = session.scalars(select(SerialUnit).where(SerialUnit.item_id == item.id, SerialUnit.serial == serial)).one_or_none()
    if unit is not None and unit.status == "in_stock":
        where = session.get(Bin, unit.bin_id) if unit.bin_id else None
        raise InvariantViolation(f"Serial {serial[:30]} of {item.sku} is in stock in {where.code if where else 'the warehouse'} — "
                                 f"it cannot come back twice")


# --------------------------------------------------------------------------- receiving and grading


def returns_bin(session: Session, code: str | None) -> Bin:
    return _bin_of_kind(session, code, BinKind.RETURNS, "returns")


def quarantine_bin(session: Session, code: str | None) -> Bin:
    return _bin_of_kind(session, code, BinKind.QUARANTINE, "quarantine")


def _bin_of_kind(session: Session, code: str | None, kind: BinKind, noun: str) -> Bin:
    if code:
        found = md.bin_by_code(session, code)
        if found.kind != kind.value:
            raise NotAllowed(f"Bin {found.code} is a {found.kind} bin, not a {noun} bin — check the setting {noun}_bin")
        return found
    found = session.scalars(select(Bin).where(Bin.kind == kind.value, Bin.blocked.is_(False)).order_by(Bin.code).limit(1)).first()
    if found is None:
        raise NotFound(f"No {noun} bin is set up — ask a supervisor to add a bin of kind {noun}")
    return found


def clean_reason(reason: str | None) -> str | None:
    """A reason code as stored: trimmed, at most MAX_REASON characters; empty is none."""
    reason = (reason or "").strip()
    if not reason:
        return None
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"Reason code is longer than {MAX_REASON} characters — scan the reason code")
    return reason


def receive_return(
    session: Session,
    actor: Actor,
    *,
    ref: str,
    item_id: int | None,
    qty: int,
    grade: str | None,
    lot_code: str | None = None,
    serial: str | None = None,
    reason: str | None = None,
    returns_bin_code: str | None = None,
    quarantine_bin_code: str | None = None,
) -> Returned:
    """Receive `qty` of an item back on a return, graded; one movement (two for scrap). Raises on any broken rule."""
    if item_id is None:
        raise InvalidInput("Scan the returned item before grading it")
    if grade is None:
        raise InvalidInput("Grade the unit: @GOOD, @DAMAGED or @SCRAP")
    try:
        grade = ReturnGrade(grade).value
    except ValueError:
        raise InvalidInput(f"Grade must be good, damaged or scrap, not {grade[:20]!r}") from None
    qty = check_qty(qty)
    reason = clean_reason(reason)
    what = returnable(session, ref, item_id)
    ret = find_return(session, ref)
    order = session.get(OutboundOrder, ret.order_id)
    item = session.get(Item, item_id)
    if item.tracking == Tracking.SERIAL.value:
        if not serial:
            raise InvalidInput(f"{item.sku} is serial-tracked — scan the serial")
        if qty != 1:
            raise InvalidInput(f"{item.sku} is serial-tracked — one unit per serial, not {qty}")
        check_serial(session, ref, item.id, serial)
    elif serial:
        raise InvalidInput(f"{item.sku} is not serial-tracked — no serial expected")
    lot = None
    if lot_code:
        check_lot(session, ref, item.id, lot_code)
        lot = session.scalars(select(Lot).where(Lot.item_id == item.id, Lot.code == lot_code)).one()
    elif len(what.lots) == 1 and (item.tracking == Tracking.LOT.value or item.expiry_required):
        lot = session.scalars(select(Lot).where(Lot.item_id == item.id, Lot.code == what.lots[0])).one()  # the one lot that shipped
    elif what.lots and (item.tracking == Tracking.LOT.value or item.expiry_required):
        raise InvalidInput(f"{item.sku} is lot-tracked — scan the lot (shipped: {', '.join(what.lots[:3])})")
    if serial and lot is None:
        # A serial comes back in the lot it shipped in.
        lot_id = session.scalar(select(Movement.lot_id).where(Movement.kind == MovementKind.SHIP.value, Movement.doc_ref == order.ref,
                                                              Movement.item_id == item.id, Movement.serial == serial).limit(1))
        lot = session.get(Lot, lot_id) if lot_id else None

    order_line = _line_with_room(session, order.id, item.id, qty)
    if order_line is None:
        raise NotAllowed(f"Over-return: {qty} × {item.sku} but only {what.left} of {what.shipped} shipped on {order.ref} "
                         f"can come back ({what.returned} already returned) — count again")
    line = _return_line(session, ret, order_line, serial)
    line.qty_received += qty
    to_bin = returns_bin(session, returns_bin_code) if grade == ReturnGrade.GOOD.value else quarantine_bin(session, quarantine_bin_code)
    post(session, actor, kind=MovementKind.RETURN, item=item, qty=qty, lot=lot, serial=serial, to_bin=to_bin, doc_ref=ret.ref)
    if grade == ReturnGrade.SCRAP.value:
        post(session, actor, kind=MovementKind.SCRAP, item=item, qty=qty, lot=lot, serial=serial, from_bin=to_bin, doc_ref=ret.ref)
    session.add(ReturnReceipt(line_id=line.id, item_id=item.id, lot_id=lot.id if lot else None, serial=serial, qty=qty, grade=grade,
                              reason=reason or line.reason, bin_id=None if grade == ReturnGrade.SCRAP.value else to_bin.id,
                              operator_id=actor.operator_id, terminal=actor.terminal, received_at=utcnow()))
    session.flush()
    lines = session.scalars(select(ReturnLine).where(ReturnLine.return_id == ret.id, ReturnLine.item_id == item.id)).all()
    return Returned(grade, item.sku, qty, None if grade == ReturnGrade.SCRAP.value else to_bin.code,
                    sum(x.qty_received for x in lines), sum(x.qty_expected for x in lines))


def _line_with_room(session: Session, order_id: int, item_id: int, qty: int) -> OutboundLine | None:
    """The first order line of the item that can take `qty` more back (shipped minus returned)."""
    for line in _order_lines(session, order_id, item_id):
        if line.qty_shipped - returned_on_line(session, line.id) >= qty:
            return line
    return None


def _return_line(session: Session, ret: ReturnOrder, order_line: OutboundLine, serial: str | None) -> ReturnLine:
    """The RMA line a receipt counts against: the announced serial's, else the first with room, else a new one."""
    lines = list(session.scalars(select(ReturnLine).where(ReturnLine.return_id == ret.id, ReturnLine.order_line_id == order_line.id)
                                 .order_by(ReturnLine.id)))
    if serial:
        for line in lines:
            if line.serial == serial:
                return line
    for line in lines:
        if not line.serial and line.qty_received < line.qty_expected:
            return line
    for line in lines:
        if line.serial is None or line.serial == serial:
            return line
    line = ReturnLine(return_id=ret.id, order_line_id=order_line.id, item_id=order_line.item_id, qty_expected=0, qty_received=0)
    session.add(line)
    session.flush()
    return line


# --------------------------------------------------------------------------- closing


def close_return(session: Session, actor: Actor, ref: str) -> list[ReturnSummaryLine]:
    """@DONE: expected vs received per SKU; short returns wait for a supervisor, the rest are closed."""
    ret = _receivable(session, ref)
    lines = summary(session, ref)
    short = [line for line in lines if line.received < line.expected]
    if short:
        if ret.status != "short":
            ret.status = "short"
            detail = "; ".join(f"{line.sku} {line.received}/{line.expected}" for line in short)
            session.add(WarehouseException(kind=SHORT, ref=ret.ref, status="open", created_by=actor.operator_id, terminal=actor.terminal,
                                           detail=f"Return {ret.ref} received less than announced: {detail} — approve to close it",
                                           data={"return": ret.ref}))
    else:
        ret.status = "closed"
        ret.closed_at = utcnow()
    audit(session, "return_done", operator=actor.operator, terminal=actor.terminal, detail=f"{ret.ref}: {ret.status}")
    session.flush()
    return lines


def close_by_supervisor(session: Session, actor: Actor, ref: str) -> None:
    """A supervisor closes a short return: what did not come back will not."""
    current = session.get(Operator, actor.operator_id) if actor.operator_id is not None else None
    require_supervisor(current, "close a short return")
    ret = find_return(session, ref)
    if ret.status == "closed":
        return
    ret.status = "closed"
    ret.closed_at = utcnow()
    audit(session, "return_closed", operator=current, terminal=actor.terminal, detail=ret.ref)
