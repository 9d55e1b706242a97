"""Inquiry: what a scanned thing is and where its stock is, as short lines for a 40-column screen."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from warehouse_tui.db.models import (
    Bin,
    BinKind,
    Container,
    InboundOrder,
    Item,
    Lot,
    Movement,
    OutboundOrder,
    Quant,
    ReturnOrder,
    SerialUnit,
)
from warehouse_tui.errors import NotFound
from warehouse_tui.services import replenishment

LIMIT = 40


def _fmt_lot(lot: Lot | None) -> str:
    if lot is None:
        return ""
    return f" L{lot.code}" + (f" {lot.expiry:%y%m%d}" if lot.expiry else "")


def item_stock(session: Session, item_id: int) -> list[str]:
    item = session.get(Item, item_id)
    rows = session.execute(
        select(Bin.code, Lot, Container.code, Quant.qty, Quant.reserved)
        .select_from(Quant).join(Bin, Bin.id == Quant.bin_id)
        .outerjoin(Lot, Lot.id == Quant.lot_id).outerjoin(Container, Container.id == Quant.container_id)
        .where(Quant.item_id == item_id, Quant.qty != 0)
        .order_by(Lot.expiry, Bin.pick_seq, Bin.code).limit(LIMIT + 1)
    ).all()
    total = session.scalar(select(func.coalesce(func.sum(Quant.qty), 0)).where(Quant.item_id == item_id))
    tracked = f" ({item.tracking}-tracked)" if item.tracking != "none" else ""
    out = [f"Item {item.sku} {item.description[:40]}".rstrip(), f"Total {total} {item.uom}{tracked}"]
    for bin_code, lot, cont, qty, reserved in rows[:LIMIT]:
        out.append(f"{bin_code}{' ' + cont if cont else ''}{_fmt_lot(lot)}: {qty}" + (f" ({reserved} rsv)" if reserved else ""))
    if len(rows) > LIMIT:
        out.append("… more bins")
    if not rows:
        out.append("No stock")
    return out


def bin_contents(session: Session, bin_id: int) -> list[str]:
    bin_ = session.get(Bin, bin_id)
    rows = session.execute(
        select(Item.sku, Lot, Container.code, Quant.qty)
        .select_from(Quant).join(Item, Item.id == Quant.item_id)
        .outerjoin(Lot, Lot.id == Quant.lot_id).outerjoin(Container, Container.id == Quant.container_id)
        .where(Quant.bin_id == bin_id, Quant.qty != 0).order_by(Item.sku).limit(LIMIT + 1)
    ).all()
    flags = " BLOCKED" if bin_.blocked else ""
    out = [f"Bin {bin_.code} {bin_.kind} zone {bin_.zone}{flags}"]
    face = replenishment.face_view(session, bin_)
    if face is not None:
        out.append(f"Face {face.sku} min {face.min_qty} max {face.max_qty}" + (f" +{face.incoming} coming" if face.incoming else ""))
    out += [f"{sku}{' ' + cont if cont else ''}{_fmt_lot(lot)}: {qty}" for sku, lot, cont, qty in rows[:LIMIT]]
    if len(rows) > LIMIT:
        out.append("… more")
    if not rows:
        out.append("Empty")
    return out


def container_contents(session: Session, container_id: int) -> list[str]:
    cont = session.get(Container, container_id)
    where = session.get(Bin, cont.bin_id).code if cont.bin_id else "nowhere"
    rows = session.execute(
        select(Item.sku, Lot, Quant.qty).select_from(Quant).join(Item, Item.id == Quant.item_id)
        .outerjoin(Lot, Lot.id == Quant.lot_id).where(Quant.container_id == container_id, Quant.qty != 0)
        .order_by(Item.sku).limit(LIMIT)
    ).all()
    out = [f"{cont.kind.upper()} {cont.code} in {where}"]
    out += [f"{sku}{_fmt_lot(lot)}: {qty}" for sku, lot, qty in rows]
    if not rows:
        out.append("Empty")
    return out


def _history(session: Session, condition, limit: int = 12) -> list[str]:
    frm, to = aliased(Bin), aliased(Bin)
    rows = session.execute(
        select(Movement.at, Movement.kind, Movement.qty, frm.code, to.code, Movement.doc_ref)
        .outerjoin(frm, frm.id == Movement.from_bin_id).outerjoin(to, to.id == Movement.to_bin_id)
        .where(condition).order_by(Movement.seq.desc()).limit(limit)
    ).all()
    return [f"{at:%m-%d %H:%M} {kind} {qty} {f or '-'}>{t or '-'}" + (f" {ref}" if ref else "") for at, kind, qty, f, t, ref in rows]


def lot_history(session: Session, code: str) -> list[str]:
    lots = session.scalars(select(Lot).where(Lot.code == code)).all()
    if not lots:
        raise NotFound(f"Nothing known as {code}")
    out = []
    for lot in lots[:3]:
        item = session.get(Item, lot.item_id)
        total = session.scalar(select(func.coalesce(func.sum(Quant.qty), 0)).where(Quant.lot_id == lot.id))
        out.append(f"Lot {lot.code} of {item.sku}" + (f" exp {lot.expiry:%Y-%m-%d}" if lot.expiry else "") + f": {total} on hand")
        out += _history(session, Movement.lot_id == lot.id)
    return out


def serial_history(session: Session, serial: str) -> list[str]:
    units = session.scalars(select(SerialUnit).where(SerialUnit.serial == serial)).all()
    if not units:
        raise NotFound(f"Nothing known as {serial}")
    out = []
    for unit in units[:3]:
        item = session.get(Item, unit.item_id)
        bin_ = session.get(Bin, unit.bin_id) if unit.bin_id else None
        where = (bin_.code + (" quarantined" if bin_.kind == BinKind.QUARANTINE.value else "")) if bin_ else unit.status
        out.append(f"SN {serial} of {item.sku}: {where}")
        out.append(_life(session, serial, unit.item_id))
        out += _history(session, (Movement.serial == serial) & (Movement.item_id == unit.item_id))
    return out


# The moves that tell a serial's life, as the inquiry names them (received → shipped → returned …).
_LIFE = {"receipt": "received", "adjust": "booked", "ship": "shipped", "return": "returned", "scrap": "scrapped"}


def _life(session: Session, serial: str, item_id: int) -> str:
    kinds = session.scalars(select(Movement.kind).where(Movement.serial == serial, Movement.item_id == item_id,
                                                       Movement.kind.in_(list(_LIFE))).order_by(Movement.at, Movement.seq)).all()
    return " → ".join(_LIFE[k] for k in kinds[-6:]) or "no receipt on record"


def return_status(session: Session, ref: str) -> list[str]:
    """An RMA (or unplanned return): its order, state, and expected vs received per SKU."""
    ret = session.scalars(select(ReturnOrder).where(ReturnOrder.ref == ref)).one_or_none()
    if ret is None:
        raise NotFound(f"Nothing known as {ref}")
    order = session.get(OutboundOrder, ret.order_id)
    out = [f"{'RMA' if ret.kind == 'rma' else 'Unplanned return'} {ret.ref} {ret.status}", f"Order {order.ref} {order.channel}".rstrip()]
    for line in ret.lines:
        out.append(f"{session.get(Item, line.item_id).sku}{' SN ' + line.serial if line.serial else ''}: "
                   f"{line.qty_received}/{line.qty_expected} back")
    return out


def document_status(session: Session, ref: str) -> list[str]:
    inbound = session.scalars(select(InboundOrder).where(InboundOrder.ref == ref)).one_or_none()
    if inbound is not None:
        out = [f"{inbound.kind.upper()} {inbound.ref} {inbound.status}"]
        for line in inbound.lines:
            out.append(f"{session.get(Item, line.item_id).sku}: {line.qty_received}/{line.qty_expected}")
        return out
    order = session.scalars(select(OutboundOrder).where(OutboundOrder.ref == ref)).one_or_none()
    if order is not None:
        out = [f"Order {order.ref} {order.status} prio {order.priority}"]
        for line in order.lines:
            out.append(f"{session.get(Item, line.item_id).sku}: {line.qty} ordered, {line.qty_picked} picked, {line.qty_shipped} shipped")
        return out
    raise NotFound(f"Nothing known as {ref}")


def lookup_text(session: Session, text: str) -> list[str]:
    """For a scan nothing else recognised: a lot code, a serial number or a return (RMA)."""
    if session.scalar(select(Lot.id).where(Lot.code == text).limit(1)) is not None:
        return lot_history(session, text)
    if session.scalar(select(SerialUnit.id).where(SerialUnit.serial == text).limit(1)) is not None:
        return serial_history(session, text)
    if session.scalar(select(ReturnOrder.id).where(ReturnOrder.ref == text)) is not None:
        return return_status(session, text)
    raise NotFound(f"Nothing known as {text[:40]} — scan an item, bin, LPN, lot or serial")
