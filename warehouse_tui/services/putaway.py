"""Putaway and moves: stock from the receiving bin (or anywhere) into storage, one movement per action.

Directed putaway suggests a bin: the same item's pick face first (a pick bin
already holding the item), then an empty bin in the item's zone in walking
order. The operator may scan another valid bin: that is recorded as an
override in the audit log, with both bins named.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import Bin, BinKind, Container, ContainerKind, Item, Lot, Movement, MovementKind, Quant
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
    if serial:
        qty = 1  # each serial is one unit
    elif qty is None:
        qty = loose_stock(session, item, from_bin, lot)
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


# --------------------------------------------------------------------------- what the putaway and move prompts ask


@dataclass(frozen=True)
class PalletPutaway:
    """An LPN to put away: where it stands and where it should go."""

    lpn: str
    from_bin: str
    suggested: str | None


@dataclass(frozen=True)
class LoosePutaway:
    """Loose stock of an item (+lot) in a bin: how much may be put away, and where it should go."""

    available: int
    suggested: str | None


def pallet_to_put_away(session: Session, container_id: int | None, code: str) -> PalletPutaway:
    """The LPN scanned at "Scan LPN or item": it must be known and stand in a bin."""
    if container_id is None:
        raise NotFound(f"LPN {code} is not known — scan another")
    lpn = session.get(Container, container_id)
    if lpn.bin_id is None:
        raise InvariantViolation(f"{lpn.code} is empty — nothing to put away")
    suggestion = container_suggestion(session, lpn)
    return PalletPutaway(lpn.code, session.get(Bin, lpn.bin_id).code, suggestion.code if suggestion else None)


def receiving_bin_with(session: Session, item_id: int, preferred_code: str | None) -> str:
    """The receiving (or returns) bin holding loose stock of the item: the terminal's receiving bin first, else any.

    Customer returns graded good wait in a returns bin and go back to stock by this same putaway.
    """
    from warehouse_tui.services.receiving import receiving_bin

    preferred = receiving_bin(session, preferred_code)
    codes = list(session.scalars(
        select(Bin.code).join(Quant, Quant.bin_id == Bin.id)
        .where(Quant.item_id == item_id, Bin.kind.in_((BinKind.RECEIVING.value, BinKind.RETURNS.value)),
               Quant.container_id.is_(None), Quant.qty > 0)
        .order_by(Bin.code)
    ))
    if not codes:
        raise InvariantViolation("None of this item lies loose in a receiving or returns bin — scan its LPN")
    return preferred.code if preferred.code in codes else codes[0]


def only_lot_in_bin(session: Session, item_id: int, bin_code: str) -> str | None:
    """The lot of the item lying loose in the bin when there is exactly one (so it need not be asked)."""
    lots = lots_in_bin(session, session.get(Item, item_id), md.bin_by_code(session, bin_code))
    return lots[0].code if len(lots) == 1 else None


def loose_putaway(session: Session, item_id: int, from_bin_code: str, lot_code: str | None, what: str) -> LoosePutaway:
    """What of the item (+lot) lies free in the bin, and the bin suggested for it; `what` names the goods in a refusal."""
    item = session.get(Item, item_id)
    lot = session.scalars(select(Lot).where(Lot.item_id == item.id, Lot.code == lot_code)).first() if lot_code else None
    if lot_code and lot is None:
        raise NotFound(f"Lot {lot_code} of {item.sku} is not known — scan another lot")
    available = loose_stock(session, item, md.bin_by_code(session, from_bin_code), lot)
    if available <= 0:
        raise InvariantViolation(f"No free {what} in {from_bin_code}")
    suggestion = suggest_bin(session, item)
    return LoosePutaway(available, suggestion.code if suggestion else None)


def check_putaway_qty(qty: int, available: int, what: str, from_bin_code: str) -> int:
    """A quantity to put away: never more than lies free in the bin."""
    if qty > available:
        raise InvariantViolation(f"Only {available} of {what} in {from_bin_code}")
    return qty


def move_source(session: Session, container_id: int | None, code: str) -> tuple[str, str]:
    """The LPN scanned at "Scan from-bin or LPN": (its code, the bin it stands in)."""
    if container_id is None:
        raise NotFound(f"{code} is not known — scan a bin or LPN")
    cont = session.get(Container, container_id)
    if cont.bin_id is None:
        raise InvariantViolation(f"{cont.code} is empty")
    return cont.code, session.get(Bin, cont.bin_id).code


def move_target(session: Session, container_id: int | None, code: str, from_bin_code: str) -> tuple[str, str]:
    """A container scanned at "Scan to-bin": (the bin it stands in, its code).

    An empty tote stands nowhere by the books: it is on the cart, at the from-bin.
    """
    if container_id is None:
        raise NotFound(f"{code} is not known — scan a bin, or a tote standing in one")
    cont = session.get(Container, container_id)
    if cont.bin_id is not None:
        return session.get(Bin, cont.bin_id).code, cont.code
    if cont.kind == ContainerKind.TOTE.value:
        return from_bin_code, cont.code
    raise InvalidInput(f"{cont.code} stands nowhere — scan the bin it is in")
