"""Putaway and moves: stock from the receiving bin (or anywhere) into storage, one movement per action.

Directed putaway suggests a bin: the same item's pick face first (a pick bin
already holding the item), then an empty bin in the item's zone in walking
order. The operator may scan another valid bin: that is recorded as an
override in the audit log, with both bins named.
"""

from __future__ import annotations

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import Bin, BinKind, Container, Item, Lot, Movement, MovementKind, Quant, Tracking
from warehouse_tui.errors import InvalidInput, InvariantViolation, NotAllowed, NotFound
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.auth import audit
from warehouse_tui.services.ledger import Actor, check_qty, move_container, post

STORABLE = (BinKind.STORAGE.value, BinKind.PICK.value)


def loose_stock(session: Session, item: Item, bin_: Bin, lot: Lot | None) -> int:
    """Units of the item (+lot) lying loose in the bin (not in a container), not reserved."""
    q = select(func.coalesce(func.sum(Quant.qty - Quant.reserved), 0)).where(
        Quant.item_id == item.id, Quant.bin_id == bin_.id, Quant.container_id.is_(None), Quant.status == "available"
    )
    q = q.where(Quant.lot_id == lot.id) if lot is not None else q.where(Quant.lot_id.is_(None))
    return int(session.scalar(q) or 0)


def lots_in_bin(session: Session, item: Item, bin_: Bin) -> list[Lot]:
    return list(session.scalars(
        select(Lot).join(Quant, Quant.lot_id == Lot.id)
        .where(Quant.item_id == item.id, Quant.bin_id == bin_.id, Quant.container_id.is_(None), Quant.qty > 0)
        .order_by(Lot.expiry, Lot.code)
    ).unique())


def suggest_bin(session: Session, item: Item, *, exclude_bin_id: int | None = None) -> Bin | None:
    """The same item's pick face, else an empty bin in the item's zone (walking order), else None."""
    face = session.scalars(
        select(Bin).join(Quant, Quant.bin_id == Bin.id)
        .where(Quant.item_id == item.id, Bin.kind == BinKind.PICK.value, Bin.blocked.is_(False), Quant.qty > 0)
        .order_by(Bin.pick_seq, Bin.code).limit(1)
    ).first()
    if face is not None and face.id != exclude_bin_id:
        return face
    query = select(Bin).where(
        Bin.kind.in_(STORABLE), Bin.blocked.is_(False),
        ~exists().where(Quant.bin_id == Bin.id),
        ~exists().where(Container.bin_id == Bin.id),
    )
    if item.zone:
        query = query.where(Bin.zone == item.zone)
    return session.scalars(query.order_by(Bin.pick_seq, Bin.code).limit(1)).first()


def _storable(bin_: Bin) -> Bin:
    if bin_.blocked:
        raise NotAllowed(f"Bin {bin_.code} is blocked — scan another bin")
    if bin_.kind not in STORABLE:
        raise NotAllowed(f"{bin_.code} is a {bin_.kind} bin, not storage — scan a storage or pick bin")
    return bin_


def _record_override(session: Session, actor: Actor, what: str, suggested: str | None, chosen: str) -> None:
    if suggested and suggested != chosen:
        audit(session, "putaway_override", operator=actor.operator, terminal=actor.terminal,
              detail=f"{what}: suggested {suggested}, put in {chosen}")


def putaway_item(
    session: Session,
    actor: Actor,
    *,
    item_id: int,
    from_bin_code: str,
    to_bin_code: str,
    qty: int | None,
    lot_code: str | None = None,
    serial: str | None = None,
    suggested_code: str | None = None,
) -> Movement:
    """Put loose stock of an item away; qty None = all of it (never for serial items)."""
    item = session.get(Item, item_id)
    from_bin = md.bin_by_code(session, from_bin_code)
    to_bin = _storable(md.bin_by_code(session, to_bin_code))
    lot = _lot(session, item, lot_code)
    if qty is None:
        qty = 1 if serial else loose_stock(session, item, from_bin, lot)
        if qty <= 0:
            raise InvariantViolation(f"No {item.sku} left in {from_bin.code}")
    qty = check_qty(qty)
    movement = post(session, actor, kind=MovementKind.PUTAWAY, item=item, qty=qty, lot=lot, serial=serial,
                    from_bin=from_bin, to_bin=to_bin)
    _record_override(session, actor, f"{qty} {item.sku}", suggested_code, to_bin.code)
    return movement


def putaway_container(session: Session, actor: Actor, *, container_code: str, to_bin_code: str, suggested_code: str | None = None) -> list[Movement]:
    lpn = md.container(session, container_code, create=False)
    to_bin = _storable(md.bin_by_code(session, to_bin_code))
    movements = move_container(session, actor, lpn, to_bin, kind=MovementKind.PUTAWAY)
    if not movements:
        raise InvariantViolation(f"{lpn.code} is empty — nothing to put away")
    _record_override(session, actor, lpn.code, suggested_code, to_bin.code)
    return movements


def container_suggestion(session: Session, container: Container) -> Bin | None:
    """Where an LPN should go: by its first item's rules (a mixed pallet goes by its biggest line)."""
    quant = session.scalars(select(Quant).where(Quant.container_id == container.id, Quant.qty > 0).order_by(Quant.qty.desc()).limit(1)).first()
    if quant is None:
        return None
    item = session.get(Item, quant.item_id)
    # A pallet goes to an empty storage bin, not onto a pick face.
    query = select(Bin).where(
        Bin.kind.in_(STORABLE), Bin.blocked.is_(False),
        ~exists().where(Quant.bin_id == Bin.id), ~exists().where(Container.bin_id == Bin.id),
    )
    if item.zone:
        query = query.where(Bin.zone == item.zone)
    return session.scalars(query.order_by(Bin.pick_seq, Bin.code).limit(1)).first()


def move_stock(
    session: Session,
    actor: Actor,
    *,
    item_id: int,
    from_bin_code: str | None,
    to_bin_code: str,
    qty: int,
    lot_code: str | None = None,
    serial: str | None = None,
    from_container_code: str | None = None,
    to_container_code: str | None = None,
) -> Movement:
    """Move units between bins and containers (from an LPN, into a tote)."""
    item = session.get(Item, item_id)
    from_container = md.container(session, from_container_code, create=False) if from_container_code else None
    from_bin = md.bin_by_code(session, from_bin_code) if from_bin_code else None
    if from_container is not None:
        if from_container.bin_id is None:
            raise InvariantViolation(f"{from_container.code} is empty")
        from_bin = session.get(Bin, from_container.bin_id)
    if from_bin is None:
        raise InvalidInput("Scan the bin or LPN to move from")
    to_bin = md.bin_by_code(session, to_bin_code)
    if to_bin.blocked:
        raise NotAllowed(f"Bin {to_bin.code} is blocked — scan another bin")
    to_container = md.container(session, to_container_code, "tote") if to_container_code else None
    lot = _lot(session, item, lot_code)
    return post(session, actor, kind=MovementKind.MOVE, item=item, qty=check_qty(qty), lot=lot, serial=serial,
                from_bin=from_bin, to_bin=to_bin, from_container=from_container, to_container=to_container)


def _lot(session: Session, item: Item, lot_code: str | None) -> Lot | None:
    if lot_code is None:
        return None
    lot = session.scalars(select(Lot).where(Lot.item_id == item.id, Lot.code == lot_code)).one_or_none()
    if lot is None:
        raise NotFound(f"Lot {lot_code} of {item.sku} is not in stock — scan another lot")
    return lot


def needs_lot(item: Item) -> bool:
    return item.tracking == Tracking.LOT.value or (item.tracking == Tracking.NONE.value and item.expiry_required)
