"""Receiving against a PO/ASN or blind: each receipt is one ledger movement into the receiving bin.

Rules:
- A receipt names an open inbound order (PO, ASN) or a blind receipt the
  terminal opened. An item that is not on the PO/ASN is refused.
- Receiving more than expected beyond the tolerance (setting
  `over_receipt_tolerance_pct`) raises `OverReceipt`; the same receipt with a
  supervisor's approval goes through and leaves an approved `over_receipt`
  exception and an audit entry.
- Stock lands in the terminal's receiving bin (setting `receiving_bin`, else
  the first bin of kind receiving), or on an LPN/SSCC that then stands there.
- Items that need an expiry but are not lot-tracked get one lot per expiry
  date, named by the date (YYYY-MM-DD).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from warehouse_tui import clock
from warehouse_tui.db.models import (
    Bin,
    BinKind,
    ContainerKind,
    InboundLine,
    InboundOrder,
    Item,
    Movement,
    MovementKind,
    Operator,
    WarehouseException,
    utcnow,
)
from warehouse_tui.errors import InvalidInput, NotAllowed, NotFound, WarehouseError
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.auth import audit, require_supervisor
from warehouse_tui.services.ledger import Actor, check_qty, post
from warehouse_tui.services.unit_of_work import row_by_key


# The lookups of every receipt scan, built once (building a statement costs about as much as running it).
_ORDER_BY_REF = select(InboundOrder).where(InboundOrder.ref == bindparam("ref"))
_ITEM_LINES = (select(InboundLine).where(InboundLine.order_id == bindparam("order_id"), InboundLine.item_id == bindparam("item_id"))
               .order_by(InboundLine.id))
_LINE_PROGRESS = (
    select(func.coalesce(func.sum(InboundLine.qty_received), 0), func.coalesce(func.sum(InboundLine.qty_expected), 0))
    .join(InboundOrder, InboundOrder.id == InboundLine.order_id)
    .where(InboundOrder.ref == bindparam("ref"), InboundLine.item_id == bindparam("item_id"))
)


_FIRST_RECEIVING_BIN = select(Bin).where(Bin.kind == BinKind.RECEIVING.value, Bin.blocked.is_(False)).order_by(Bin.code).limit(1)


class OverReceipt(WarehouseError):
    """More than expected beyond the tolerance: needs a supervisor."""

    def __init__(self, sku: str, ref: str, expected: int, would_be: int) -> None:
        super().__init__(f"Over-receipt: {sku} expected {expected} on {ref}, this makes {would_be} — supervisor badge needed")
        self.sku, self.ref, self.expected, self.would_be = sku, ref, expected, would_be


@dataclass(frozen=True)
class Received:
    """One receipt recorded: its movement, and the item's received and expected quantities on the document now."""

    movement: Movement
    received: int
    expected: int


@dataclass(frozen=True)
class ReceiptLine:
    sku: str
    expected: int
    received: int

    @property
    def difference(self) -> int:
        return self.received - self.expected


def find_receipt(session: Session, ref: str) -> InboundOrder:
    # Remembered for the transaction: the scans of a group find their receipt without a query.
    order = row_by_key(session, InboundOrder, ref, lambda: session.scalars(_ORDER_BY_REF, {"ref": ref}).one_or_none(),
                       lambda found: found.ref == ref)
    if order is None:
        raise NotFound(f"PO/ASN {ref} is not known — scan the document again")
    return order


def open_receipt(session: Session, actor: Actor, ref: str) -> InboundOrder:
    order = find_receipt(session, ref)
    if order.status == "closed":
        raise NotAllowed(f"{order.kind.upper()} {ref} is closed — scan another document")
    return order


def open_blind_receipt(session: Session, actor: Actor) -> InboundOrder:
    """A receipt with no document: every item is accepted, nothing is expected."""
    stamp = utcnow().strftime("%y%m%d%H%M%S")
    base = f"BLIND-{actor.terminal}-{stamp}"[:60]
    ref, n = base, 1
    while session.scalar(select(InboundOrder.id).where(InboundOrder.ref == ref)) is not None:
        n += 1
        ref = f"{base}-{n}"
    order = InboundOrder(ref=ref, kind="blind", supplier="", status="receiving")
    session.add(order)
    session.flush()
    return order


def _item_lines(session: Session, order: InboundOrder, item_id: int) -> list[InboundLine]:
    # Only this item's lines: a long blind receipt must not load all of its lines on every scan.
    return list(session.scalars(_ITEM_LINES, {"order_id": order.id, "item_id": item_id}))


def expect_item(session: Session, ref: str, item_id: int) -> None:
    """Refuse an item the receipt does not expect (blind receipts expect anything)."""
    order = find_receipt(session, ref)
    if order.kind != "blind" and not _item_lines(session, order, item_id):
        item = session.get(Item, item_id)
        raise NotAllowed(f"{item.sku} is not on {order.kind.upper()} {order.ref} — set it aside for a supervisor")


def line_progress(session: Session, ref: str, item_id: int) -> tuple[int, int]:
    """(received, expected) of an item on a receipt."""
    received, expected = session.execute(_LINE_PROGRESS, {"ref": ref, "item_id": item_id}).one()
    return int(received), int(expected)


def receiving_bin(session: Session, code: str | None) -> Bin:
    # Remembered for the transaction (as the receipt is): the scans of a group find their bin without a query.
    if code:
        return row_by_key(session, Bin, code, lambda: md.bin_by_code(session, code), lambda found: code in (found.code, found.barcode))
    found = session.scalars(_FIRST_RECEIVING_BIN).first()
    if found is None:
        raise NotFound("No receiving bin is set up — ask a supervisor to add one")
    return found


def expiry_lot_code(expiry: dt.date) -> str:
    return expiry.isoformat()


def check_expiry(expiry: dt.date) -> dt.date:
    """An expiry typed or scanned at the dock: one in the past is refused (expired goods are not received)."""
    if expiry < clock.today():
        raise InvalidInput(f"Expiry {expiry:%Y-%m-%d} is in the past — check the label, set expired goods aside")
    return expiry


def check_pallet(session: Session, code: str, *, known: bool, sscc: bool, lpn_pattern: str) -> str:
    """A code scanned at "Scan item or LPN" that should name a pallet to receive onto; returns it.

    An SSCC is always a pallet; a known container must be an LPN or SSCC; an unknown
    code becomes a new LPN only when it looks like one (setting `lpn_pattern`).
    """
    if sscc:
        return code
    if not known:
        if not re.fullmatch(lpn_pattern, code):
            raise NotFound(f"Not an item or LPN: {code[:30]} — scan the item's barcode")
        return code
    found = md.container(session, code, create=False)
    if found.kind not in (ContainerKind.LPN.value, ContainerKind.SSCC.value):
        raise InvalidInput(f"{found.code} is a {found.kind}, not a pallet — scan an LPN")
    return code


def receive_item(
    session: Session,
    actor: Actor,
    *,
    receipt_ref: str,
    item_id: int,
    qty: int | None,
    lot_code: str | None = None,
    expiry: dt.date | None = None,
    serial: str | None = None,
    lpn_code: str | None = None,
    bin_code: str | None = None,
    tolerance_pct: int = 0,
    approved_by: Operator | None = None,
) -> Received:
    """Receive `qty` of an item on a receipt (a serial-tracked item: one unit). Raises OverReceipt, NotAllowed, InvalidInput."""
    order = open_receipt(session, actor, receipt_ref)
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound("Item not known")
    qty = 1 if item.is_serial else check_qty(qty)
    lines = _item_lines(session, order, item.id)
    if order.kind != "blind" and not lines:
        raise NotAllowed(f"{item.sku} is not on {order.kind.upper()} {order.ref} — set it aside for a supervisor")
    if order.kind != "blind":
        expected = sum(line.qty_expected for line in lines)
        received = sum(line.qty_received for line in lines)
        limit = expected + (expected * tolerance_pct) // 100
        if received + qty > limit:
            if approved_by is None:
                raise OverReceipt(item.sku, order.ref, expected, received + qty)
            require_supervisor(approved_by, "approve an over-receipt")
            detail = f"{item.sku}: expected {expected}, received {received + qty} on {order.ref}"
            session.add(WarehouseException(
                kind="over_receipt", ref=order.ref, detail=detail, status="approved",
                created_by=actor.operator_id, terminal=actor.terminal,
                resolved_by=approved_by.id, resolved_at=utcnow(), resolution="approved at the dock",
                data={"sku": item.sku, "expected": expected, "received": received + qty},
            ))
            audit(session, "over_receipt_approved", operator=approved_by, terminal=actor.terminal, detail=detail)

    lot = None
    if (item.needs_lot or item.is_serial) and lot_code:
        lot = md.lot(session, item, lot_code, expiry)
    elif item.needs_lot:
        raise InvalidInput(f"{item.sku} is lot-tracked — scan the lot")
    elif item.needs_expiry:
        if expiry is None:
            raise InvalidInput(f"{item.sku} needs an expiry date (YYMMDD)")
        lot = md.lot(session, item, expiry_lot_code(expiry), expiry)
    if item.needs_expiry and lot is not None and lot.expiry is None:
        raise InvalidInput(f"{item.sku} needs an expiry date (YYMMDD)")
    if expiry is not None and lot is not None and lot.expiry is not None and lot.expiry < clock.today():
        raise NotAllowed(f"Lot {lot.code} expired on {lot.expiry:%Y-%m-%d} — do not receive it; set it aside")

    to_bin = receiving_bin(session, bin_code)
    lpn = None
    if lpn_code:
        kind = ContainerKind.SSCC.value if lpn_code.isdigit() and len(lpn_code) == 18 else ContainerKind.LPN.value
        lpn = md.container(session, lpn_code, kind)
        if lpn.kind not in (ContainerKind.LPN.value, ContainerKind.SSCC.value):
            raise NotAllowed(f"{lpn_code} is a {lpn.kind}, not a pallet — scan an LPN")
    # The document counts the receipt before the ledger books it, so both are written in post's one flush;
    # a refusal from the ledger leaves the caller's transaction to roll back, as any refusal does.
    line = _line_for(order, lines, lot.code if lot else None)
    if line is None:
        line = InboundLine(order_id=order.id, item_id=item.id, qty_expected=0, qty_received=0, lot=lot.code if lot else None,
                           expiry=lot.expiry if lot else None)
        session.add(line)
        lines.append(line)
    line.qty_received += qty
    if order.status == "open":
        order.status = "receiving"
    movement = post(session, actor, kind=MovementKind.RECEIPT, item=item, qty=qty, lot=lot, serial=serial,
                    to_bin=to_bin, to_container=lpn, doc_ref=order.ref)
    # `lines` are all of this item's lines on the receipt (what line_progress sums), read in this transaction.
    return Received(movement, sum(x.qty_received for x in lines), sum(x.qty_expected for x in lines))


def _line_for(order: InboundOrder, lines: list[InboundLine], lot_code: str | None) -> InboundLine | None:
    """The line a receipt counts against: the same lot if lines name lots, else the first line with room."""
    if not lines:
        return None
    for line in lines:
        if line.lot and line.lot == lot_code:
            return line
    for line in lines:
        if not line.lot and line.qty_received < line.qty_expected:
            return line
    unlotted = [line for line in lines if not line.lot]
    return unlotted[0] if unlotted else lines[0]


def receipt_summary(session: Session, ref: str) -> list[ReceiptLine]:
    order = find_receipt(session, ref)
    rows = session.execute(
        select(Item.sku, func.sum(InboundLine.qty_expected), func.sum(InboundLine.qty_received))
        .join(Item, Item.id == InboundLine.item_id)
        .where(InboundLine.order_id == order.id)
        .group_by(Item.sku)
        .order_by(Item.sku)
    )
    return [ReceiptLine(sku, int(exp or 0), int(rec or 0)) for sku, exp, rec in rows]


def close_receipt(session: Session, actor: Actor, ref: str) -> list[ReceiptLine]:
    """Close the receipt and return expected vs received per item."""
    order = open_receipt(session, actor, ref)
    order.status = "closed"
    order.closed_at = utcnow()
    audit(session, "receipt_closed", operator=actor.operator, terminal=actor.terminal, detail=order.ref)
    return receipt_summary(session, ref)
