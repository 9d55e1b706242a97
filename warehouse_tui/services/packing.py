"""Packing and shipping: picked units go from the order's tote into cartons, cartons get an SSCC, the order ships.

The rules (DESIGN §5 Pack):

- An order is packed from its totes: the totes its pick lists put it in
  (`PickListOrder.tote_id`) and those it filled during the pick (@FULL,
  `FullTote`), in any order. Scanning any of them finds the order.
- Each unit packed is verified against the order: an item not on it is
  refused, and so is one unit more than ordered or than picked. Units go from
  the tote into the order's open carton (a container of kind carton standing
  in the first pack bin) by `pack` movements; the carton lines record item,
  lot, serial and quantity, the order line its `qty_packed`.
- A lot-tracked item packs from the lot in the tote: the scan's lot, else the
  only lot of it there, else the packer is asked. A serial item packs one
  scanned serial at a time, which must be in the order's tote.
- Closing a carton takes its weight (more than 0, at most MAX_CARTON_KG) and
  gives it the next SSCC of the company prefix (`sscc_counters`; on a syncing
  terminal the blocks the upstream leased to it, see sync/sscc_leases.py). The counter
  moves in the same transaction as the carton, so an SSCC exists only on a
  committed carton: the label is written after the commit, and a rolled-back
  close leaves no label and no number behind.
- Shipping (`@DONE`) needs every order line packed and no carton open; it
  posts one `ship` movement per carton line out of the warehouse (to no bin),
  sets `qty_shipped`, and marks the cartons and the order shipped.

Decisions where DESIGN is silent: an order ships only complete (partial
shipments of short-picked or backordered orders are not offered here);
cartons are named "<order>-<n>" ("<order>-<terminal>-<n>" on a syncing terminal); an order's open carton is resumed when the
order or its tote is scanned again.

What the packer sees and finding the order live in packing_views.py, the carton's weight, SSCC
and label (and `warehouse-tui labels` codes) in packing_labels.py; this module re-exports them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import (
    Bin,
    BinKind,
    Carton,
    CartonLine,
    Container,
    ContainerKind,
    Item,
    Lot,
    MovementKind,
    OutboundOrder,
    Quant,
    SerialUnit,
    utcnow,
)
from warehouse_tui.errors import InvalidInput, InvariantViolation, NotAllowed, NotFound
from warehouse_tui.labels.sscc import CartonLabel
from warehouse_tui.services.ledger import Actor, check_qty, post
from warehouse_tui.services.packing_labels import (
    MAX_CARTON_KG,
    _syncing,
    allocate_sscc,
    carton_label,
    carton_weight,
    label_codes,
)
from warehouse_tui.services.packing_views import (
    CLOSED_STATES,
    Goods,
    LineProgress,
    PackProgress,
    Shipment,
    _cartons,
    _lines,
    _open_carton,
    _order,
    _totes,
    order_for_packing,
    progress,
)

__all__ = [
    "AVAILABLE",
    "CLOSED_STATES",
    "MAX_CARTON_KG",
    "Goods",
    "LineProgress",
    "PackProgress",
    "Shipment",
    "allocate_sscc",
    "carton_label",
    "carton_weight",
    "check_count",
    "check_goods",
    "close_carton",
    "label_codes",
    "order_for_packing",
    "pack_bin",
    "pack_units",
    "progress",
    "ship_order",
]


AVAILABLE = "available"


# --------------------------------------------------------------------------- checking a scanned unit


def check_count(progress: PackProgress, qty: int) -> int:
    """A count typed before a scan: never more units than are left to pack on the order."""
    if qty > progress.units_left:
        raise InvalidInput(f"Count {qty} is more than the {progress.units_left} unit(s) left to pack — type it again")
    return qty


def _tote_lots(session: Session, totes: list[Container], item: Item) -> list[Lot | None]:
    """The item's lots lying in the totes (None for unlotted stock), earliest expiry first."""
    if not totes:
        return []
    ids = session.scalars(
        select(Quant.lot_id).where(Quant.container_id.in_([t.id for t in totes]), Quant.item_id == item.id,
                                   Quant.status == AVAILABLE, Quant.qty > 0).distinct()
    ).all()
    lots = [session.get(Lot, lot_id) if lot_id else None for lot_id in ids]

    def first_expiry_first(lot: Lot | None) -> tuple:
        return (0, dt.date.min, "") if lot is None else (1, lot.expiry or dt.date.max, lot.code)

    return sorted(lots, key=first_expiry_first)


def check_goods(
    session: Session,
    order_ref: str,
    item_id: int,
    *,
    qty: int = 1,
    lot_code: str | None = None,
    serial: str | None = None,
) -> Goods:
    """Verify units of an item against the order before packing; say what must still be asked.

    Raises InvalidInput for an item not on the order, a count above what is left to pack
    (or above what was picked), a count for a serial item; InvariantViolation when the
    totes hold none of it (or not that lot or serial).
    """
    order = _order(session, order_ref)
    item = session.get(Item, item_id)
    qty = check_qty(qty)
    lines = [ln for ln in _lines(session, order) if ln.item_id == item.id]
    if not lines:
        raise InvalidInput(f"{item.sku} is not on {order.ref} — put it aside")
    left = sum(ln.qty - ln.qty_packed for ln in lines)
    if left <= 0:
        ordered = sum(ln.qty for ln in lines)
        raise InvalidInput(f"{order.ref} needs {ordered} {item.sku}, all packed — put this one aside")
    if qty > left:
        raise InvalidInput(f"Only {left} more {item.sku} for {order.ref}, not {qty} — put the rest aside")
    picked_left = sum(max(0, ln.qty_picked - ln.qty_packed) for ln in lines)
    if qty > picked_left:
        raise InvalidInput(f"Only {picked_left} {item.sku} picked for {order.ref} and not packed, not {qty} — "
                           f"is it from another order?")
    totes = _totes(session, order)
    tote_names = ", ".join(t.code for t in totes) or "no tote"

    if item.is_serial:
        if qty != 1:
            raise InvalidInput(f"{item.sku} is serial-tracked — scan each unit, no count")
        if serial is None:
            return Goods(item.id, item.sku, 1, None, None, "serial")
        unit = _serial_in_totes(session, item, serial, totes)
        lot = session.get(Lot, unit.lot_id) if unit.lot_id else None
        return Goods(item.id, item.sku, 1, lot.code if lot else None, serial, None)

    lots = _tote_lots(session, totes, item)
    if not lots:
        raise InvariantViolation(f"No {item.sku} in {tote_names} — find the picked units")
    if not item.kept_in_lots:
        return Goods(item.id, item.sku, qty, None, None, None)
    if lot_code is not None:
        if lot_code not in {lot.code for lot in lots if lot is not None}:
            raise InvariantViolation(f"Lot {lot_code} of {item.sku} is not in {tote_names} — scan the lot on the unit")
        return Goods(item.id, item.sku, qty, lot_code, None, None)
    codes = tuple(lot.code for lot in lots if lot is not None)
    if len(codes) == 1:
        return Goods(item.id, item.sku, qty, codes[0], None, None)
    return Goods(item.id, item.sku, qty, None, None, "lot", codes)


def _serial_in_totes(session: Session, item: Item, serial: str, totes: list[Container]) -> SerialUnit:
    unit = session.scalars(select(SerialUnit).where(SerialUnit.item_id == item.id, SerialUnit.serial == serial)).one_or_none()
    if unit is None or unit.status != "in_stock":
        raise InvariantViolation(f"Serial {serial} of {item.sku} is not in stock — scan the serial on the unit")
    if unit.container_id not in {t.id for t in totes}:
        where = session.get(Container, unit.container_id) if unit.container_id else None
        here = where.code if where else (session.get(Bin, unit.bin_id).code if unit.bin_id else "elsewhere")
        raise InvariantViolation(f"Serial {serial} is in {here}, not in this order's tote — scan another unit")
    return unit


# --------------------------------------------------------------------------- packing


def pack_bin(session: Session) -> Bin:
    """The pack station's bin: the first bin of kind pack in walking order."""
    found = session.scalars(
        select(Bin).where(Bin.kind == BinKind.PACK.value, Bin.blocked.is_(False)).order_by(Bin.pick_seq, Bin.code).limit(1)
    ).first()
    if found is None:
        raise NotFound("No pack bin — a supervisor must add a bin of kind pack")
    return found


def _new_carton(session: Session, order: OutboundOrder, terminal: str) -> Carton:
    # A syncing terminal puts its name in the code: two terminals packing one order before they sync
    # make two cartons, which must stay two upstream.
    stem = f"{order.ref}-{terminal}" if terminal and _syncing(session) else order.ref
    n = len(_cartons(session, order)) + 1
    code = f"{stem}-{n}"
    while len(code) > 64 or session.scalar(select(Container.id).where(Container.code == code)) is not None:
        n += 1
        code = f"{stem[:56]}-{n}"
    container = Container(code=code, kind=ContainerKind.CARTON.value, bin_id=pack_bin(session).id)
    session.add(container)
    session.flush()
    carton = Carton(container_id=container.id, order_id=order.id, status="open")
    session.add(carton)
    session.flush()
    return carton


def pack_units(
    session: Session,
    actor: Actor,
    *,
    order_ref: str,
    item_id: int,
    qty: int = 1,
    lot_code: str | None = None,
    serial: str | None = None,
) -> PackProgress:
    """Pack `qty` units of an item (one serial) from the order's totes into its open carton.

    Opens a carton when none is open. Raises what `check_goods` raises, and InvalidInput
    when a lot or serial the item needs was not given.
    """
    _order(session, order_ref, lock=True)  # before reading the lines this packing will change
    goods = check_goods(session, order_ref, item_id, qty=qty, lot_code=lot_code, serial=serial)
    if goods.ask == "serial":
        raise InvalidInput(f"{goods.sku} is serial-tracked — scan the serial number")
    if goods.ask == "lot":
        raise InvalidInput(f"{goods.sku} lies in the tote in lots {', '.join(goods.lots)} — scan the lot")
    order = _order(session, order_ref)
    item = session.get(Item, item_id)
    lot = session.scalars(select(Lot).where(Lot.item_id == item.id, Lot.code == goods.lot)).one() if goods.lot else None
    carton = _open_carton(session, order) or _new_carton(session, order, actor.terminal)
    box = session.get(Container, carton.container_id)
    to_bin = session.get(Bin, box.bin_id)

    if goods.serial is not None:
        unit = _serial_in_totes(session, item, goods.serial, _totes(session, order))
        post(session, actor, kind=MovementKind.PACK, item=item, qty=1, lot=lot, serial=goods.serial,
             from_container=session.get(Container, unit.container_id), to_bin=to_bin, to_container=box, doc_ref=order.ref)
    else:
        _take_from_totes(session, actor, order, item, lot, goods.qty, to_bin, box)
    _book_on_lines(session, order, carton, item, lot, goods.serial, goods.qty)
    return progress(session, order.ref)


def _take_from_totes(session: Session, actor: Actor, order: OutboundOrder, item: Item, lot: Lot | None, qty: int,
                     to_bin: Bin, box: Container) -> None:
    """Pack movements from the order's totes (first tote first) into the carton, as many as each holds."""
    remaining = qty
    for tote in _totes(session, order):
        quant = session.scalars(select(Quant).where(
            Quant.container_id == tote.id, Quant.item_id == item.id, Quant.status == AVAILABLE,
            Quant.lot_id == lot.id if lot else Quant.lot_id.is_(None))).first()
        free = quant.qty - quant.reserved if quant is not None else 0
        if free <= 0:
            continue
        take = min(remaining, free)
        post(session, actor, kind=MovementKind.PACK, item=item, qty=take, lot=lot, from_container=tote,
             to_bin=to_bin, to_container=box, doc_ref=order.ref)
        remaining -= take
        if remaining == 0:
            return
    what = item.sku + (f" lot {lot.code}" if lot else "")
    raise InvariantViolation(f"Only {qty - remaining} {what} in the tote, not {qty} — count the tote")


def _book_on_lines(session: Session, order: OutboundOrder, carton: Carton, item: Item, lot: Lot | None,
                   serial: str | None, qty: int) -> None:
    """Spread the packed units over the item's order lines (first line first) and the carton's lines."""
    remaining = qty
    for line in (ln for ln in _lines(session, order) if ln.item_id == item.id):
        room = min(line.qty, line.qty_picked) - line.qty_packed
        if room <= 0:
            continue
        take = min(room, remaining)
        line.qty_packed += take
        remaining -= take
        existing = None if serial else session.scalars(select(CartonLine).where(
            CartonLine.carton_id == carton.id, CartonLine.order_line_id == line.id, CartonLine.serial.is_(None),
            CartonLine.lot_id == lot.id if lot else CartonLine.lot_id.is_(None))).first()
        if existing is not None:
            existing.qty += take
        else:
            session.add(CartonLine(carton_id=carton.id, order_line_id=line.id, item_id=item.id,
                                   lot_id=lot.id if lot else None, serial=serial, qty=take))
        if remaining == 0:
            break
    if remaining:  # check_goods said there was room: the lines changed under us
        raise InvariantViolation(f"{order.ref} has no room for {qty} more {item.sku} — scan the order again")
    session.flush()


# --------------------------------------------------------------------------- closing a carton


def close_carton(session: Session, actor: Actor, *, order_ref: str, weight: Decimal | str, company_prefix: str) -> CartonLabel:
    """Close the order's open carton: weight, the next SSCC, status closed; returns what its label says.

    The label is the caller's to write after the commit. Raises InvalidInput for a bad
    weight or prefix, NotAllowed when no carton is open or it is empty.
    """
    kg = carton_weight(weight)
    order = _order(session, order_ref, lock=True)
    carton = _open_carton(session, order)
    if carton is None:
        raise NotAllowed(f"No carton of {order.ref} is open — scan items first")
    units = int(session.scalar(select(func.coalesce(func.sum(CartonLine.qty), 0)).where(CartonLine.carton_id == carton.id)))
    if units == 0:
        raise NotAllowed("The carton is empty — scan items first")
    carton.sscc = allocate_sscc(session, company_prefix)
    carton.weight_kg = kg
    carton.status = "closed"
    carton.closed_at = utcnow()
    box = session.get(Container, carton.container_id)
    box.status = "closed"
    if all(ln.qty_packed >= ln.qty for ln in _lines(session, order)):
        order.status = "packed"
    session.flush()
    return carton_label(session, box.code)


# --------------------------------------------------------------------------- shipping


def ship_order(session: Session, actor: Actor, order_ref: str) -> Shipment:
    """Confirm the shipment: every carton's stock leaves the warehouse by `ship` movements.

    Raises NotAllowed while a line is not fully packed or a carton is still open.
    """
    order = _order(session, order_ref, lock=True)
    lines = _lines(session, order)
    short = [ln for ln in lines if ln.qty_packed < ln.qty]
    if short:
        skus = dict(session.execute(select(Item.id, Item.sku).where(Item.id.in_([ln.item_id for ln in short]))).all())
        first = short[0]
        more = f" and {len(short) - 1} more line(s)" if len(short) > 1 else ""
        raise NotAllowed(f"{order.ref} is not fully packed: {skus[first.item_id]} {first.qty_packed}/{first.qty}{more} — pack the rest")
    cartons = _cartons(session, order)
    if any(c.status == "open" for c in cartons):
        raise NotAllowed("A carton is still open — @CLOSE it and weigh it first")
    cartons = [c for c in cartons if c.status == "closed"]
    if not cartons:
        raise NotAllowed(f"{order.ref} has no closed carton to ship")
    by_line = {ln.id: ln for ln in lines}
    units = 0
    for carton in cartons:
        box = session.get(Container, carton.container_id)
        for cl in session.scalars(select(CartonLine).where(CartonLine.carton_id == carton.id).order_by(CartonLine.id)):
            item = session.get(Item, cl.item_id)
            lot = session.get(Lot, cl.lot_id) if cl.lot_id else None
            post(session, actor, kind=MovementKind.SHIP, item=item, qty=cl.qty, lot=lot, serial=cl.serial,
                 from_container=box, doc_ref=order.ref)
            by_line[cl.order_line_id].qty_shipped += cl.qty
            units += cl.qty
        carton.status = "shipped"
        box.status = "shipped"
        box.bin_id = None  # it left the warehouse
    order.status = "shipped"
    order.shipped_at = utcnow()
    session.flush()
    return Shipment(order.ref, tuple(c.sscc for c in cartons), units)
