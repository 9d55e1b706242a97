"""The inventory ledger: every physical change is a movement that updates quants in the same transaction.

`post` is the only code that changes quants and serial locations. It refuses what
would break an invariant (DESIGN §3) with a `WarehouseError` an operator can act
on, and it writes the outbox entry that carries the movement upstream in the
same transaction, so a movement and its sync record are never apart.

The movement row and its outbox entry are inserted directly, not through the
session's unit of work (a third of a receipt's cost); the returned Movement is
still the session's. Sessions whose factory asked for it with
`record_movements_as_objects` get them as objects flushed through the unit of
work instead, for listeners that see only what is flushed (the sync asks for it
on an upstream, whose change feed is such a listener).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session, make_transient_to_detached, sessionmaker

from warehouse_tui.db.models import (
    Bin,
    Container,
    Item,
    Lot,
    Movement,
    MovementKind,
    Operator,
    OutboxEntry,
    Owner,
    Quant,
    SerialUnit,
    Tracking,
    quant_key,
    utcnow,
)
from warehouse_tui.errors import InvalidInput, InvariantViolation, NotAllowed
from warehouse_tui.services.unit_of_work import remember_row, row_by_key

# The largest quantity one movement may carry: far above any real pallet, far
# below where integer columns or sums could overflow.
MAX_QTY = 1_000_000_000
AVAILABLE = "available"

# The lookups every movement makes, built once (building a statement costs about as much as running it).
_QUANT_BY_KEY = select(Quant).where(Quant.key == bindparam("key"))
_SERIAL_OF_ITEM = select(SerialUnit).where(SerialUnit.item_id == bindparam("item_id"), SerialUnit.serial == bindparam("serial"))
_INSERT_MOVEMENT = insert(Movement.__table__)
_INSERT_OUTBOX = insert(OutboxEntry.__table__)
# Session info key set by record_movements_as_objects.
AS_OBJECTS = "ledger.movements_as_objects"


@dataclass(frozen=True)
class Actor:
    """Who does an action and on which terminal."""

    operator: Operator | None
    terminal: str

    @property
    def operator_id(self) -> int | None:
        return self.operator.id if self.operator is not None else None

    @property
    def badge(self) -> str | None:
        return self.operator.badge if self.operator is not None else None


def record_movements_as_objects(sessions: sessionmaker) -> None:
    """Sessions made by `sessions` from now on add each movement and its outbox entry as objects, flushed
    through the unit of work, instead of inserting them directly: for session hooks that see only what is
    flushed (on an upstream, the sync's change feed)."""
    sessions.configure(info={**sessions.kw.get("info", {}), AS_OBJECTS: True})


def check_qty(qty: object) -> int:
    """A movement quantity: a positive whole number within MAX_QTY, never rounded."""
    if isinstance(qty, bool) or not isinstance(qty, int):
        raise InvalidInput(f"Quantity must be a whole number, not {qty!r}")
    if qty <= 0:
        raise InvalidInput("Quantity must be more than zero")
    if qty > MAX_QTY:
        raise InvalidInput(f"Quantity {qty} is too large (at most {MAX_QTY:,})")
    return qty


def _where(bin_: Bin | None, container: Container | None) -> str:
    if container is not None:
        return f"{container.code} in {bin_.code}" if bin_ is not None else container.code
    return bin_.code if bin_ is not None else "nowhere"


def find_quant(
    session: Session,
    item: Item,
    bin_: Bin,
    lot: Lot | None,
    container: Container | None,
    owner_id: int,
    status: str = AVAILABLE,
) -> Quant | None:
    key = quant_key(item.id, bin_.id, lot.id if lot else None, container.id if container else None, owner_id, status)
    # Remembered for the transaction: a burst into the same bin (a scan group) finds its quant without a query.
    return row_by_key(session, Quant, key, lambda: session.scalars(_QUANT_BY_KEY, {"key": key}).one_or_none(),
                      lambda quant: quant.key == key)


def post(
    session: Session,
    actor: Actor,
    *,
    kind: MovementKind | str,
    item: Item,
    qty: int,
    lot: Lot | None = None,
    serial: str | None = None,
    from_bin: Bin | None = None,
    to_bin: Bin | None = None,
    from_container: Container | None = None,
    to_container: Container | None = None,
    from_status: str = AVAILABLE,
    to_status: str = AVAILABLE,
    owner: Owner | None = None,
    doc_ref: str | None = None,
    consume_reserved: int = 0,
    allow_negative: bool = False,
    at: dt.datetime | None = None,
    movement_uuid: str | None = None,
) -> Movement:
    """Post one movement; quants, serial location and the outbox change with it or not at all.

    Raises InvalidInput for a malformed request (bad qty, missing lot or serial) and
    InvariantViolation when the stock is not there or a serial is elsewhere.
    `allow_negative` is for sync conflicts only: the physical action happened, so it
    is booked whatever the books say — stock may go negative, a serial or container
    is taken from wherever it is, a blocked bin is no refusal (see warehouse_tui/sync).
    """
    kind = MovementKind(kind)
    qty = check_qty(qty)
    owner_id = owner.id if owner is not None else item.owner_id
    if from_container is not None and from_bin is None:
        from_bin = session.get(Bin, from_container.bin_id) if from_container.bin_id else None
        if from_bin is None:  # else the take would silently become a receipt
            raise InvariantViolation(f"{from_container.code} is in no bin — nothing can be taken from it")
    if from_bin is None and to_bin is None:
        raise InvalidInput("A movement needs a from-bin, a to-bin or both")
    if from_bin is not None and to_bin is not None and from_bin.id == to_bin.id and _same(from_container, to_container) and from_status == to_status:
        raise InvalidInput(f"{item.sku} is already in {_where(to_bin, to_container)}")
    check_tracking(item, lot, serial, qty)
    if to_bin is not None and to_bin.blocked and kind not in (MovementKind.ADJUST, MovementKind.COUNT) and not allow_negative:
        raise NotAllowed(f"Bin {to_bin.code} is blocked — scan another bin")

    unit = None
    # Quants and serial units change only here and are flushed at the end of every post, so what post reads
    # before it changes anything is never waiting in the session: the caller's pending changes (a document
    # line) need not go out first and leave in post's one flush. After a take, what follows must see it
    # (the container it emptied may move): from there the session flushes before reading, as usual.
    with session.no_autoflush:
        if serial is not None:
            unit = _find_serial(session, item, serial) if allow_negative else _check_serial(session, item, serial, lot, from_bin, from_container)
        if from_bin is not None:
            _take(session, item, qty, lot, from_bin, from_container, owner_id, from_status, consume_reserved, allow_negative)
    if to_bin is not None:
        with contextlib.nullcontext() if from_bin is not None else session.no_autoflush:
            _place_container(session, to_container, to_bin, force=allow_negative)
            _give(session, item, qty, lot, to_bin, to_container, owner_id, to_status)
    if serial is not None:
        _move_serial(session, kind, unit, item, serial, lot, to_bin, to_container, owner_id)

    row = {
        "uuid": movement_uuid or str(uuid.uuid4()),
        "kind": kind.value,
        "item_id": item.id,
        "qty": qty,
        "lot_id": lot.id if lot else None,
        "serial": serial,
        "from_bin_id": from_bin.id if from_bin else None,
        "to_bin_id": to_bin.id if to_bin else None,
        "from_container_id": from_container.id if from_container else None,
        "to_container_id": to_container.id if to_container else None,
        "owner_id": owner_id,
        "from_status": from_status,
        "to_status": to_status,
        "operator_id": actor.operator_id,
        "terminal": actor.terminal,
        "at": at or utcnow(),
        "doc_ref": doc_ref,
        "conflict": allow_negative,
    }
    owner_code = owner.code if owner is not None else item.owner.code
    entry = {
        "uuid": row["uuid"],
        "kind": "movement",
        "terminal": actor.terminal,
        "created_at": row["at"],
        "payload": {
            "id": row["uuid"],
            "kind": kind.value,
            "sku": item.sku,
            "owner": owner_code,
            "qty": qty,
            "lot": lot.code if lot else None,
            "expiry": lot.expiry.isoformat() if lot and lot.expiry else None,
            "serial": serial,
            "from_bin": from_bin.code if from_bin else None,
            "to_bin": to_bin.code if to_bin else None,
            "from_container": from_container.code if from_container else None,
            "to_container": to_container.code if to_container else None,
            "from_status": from_status,
            "to_status": to_status,
            "operator": actor.badge,
            "terminal": actor.terminal,
            "at": row["at"].isoformat(),
            "ref": doc_ref,
            "consume_reserved": consume_reserved,
        },
    }
    if session.info.get(AS_OBJECTS):
        movement = Movement(**row)
        session.add(movement)
        session.add(OutboxEntry(**entry))
        session.flush()
        return movement
    session.flush()  # quants, the serial unit and the caller's pending changes, in their order
    connection = session.connection()
    seq = connection.execute(_INSERT_MOVEMENT, row).inserted_primary_key[0]
    connection.execute(_INSERT_OUTBOX, entry)
    movement = Movement(**row)
    movement.seq = seq
    make_transient_to_detached(movement)  # the row exists: the session takes it as loaded, without writing it
    session.add(movement)
    return movement


def _same(a: Container | None, b: Container | None) -> bool:
    return (a.id if a else None) == (b.id if b else None)


def check_tracking(item: Item, lot: Lot | None, serial: str | None, qty: int) -> None:
    """Refuse (InvalidInput) a lot or serial the item's tracking does not allow, or one it needs and lacks."""
    if lot is not None and lot.item_id != item.id:
        raise InvalidInput(f"Lot {lot.code} belongs to another item, not {item.sku}")
    if item.tracking == Tracking.SERIAL.value:
        if not serial:
            raise InvalidInput(f"{item.sku} is serial-tracked — scan the serial number")
        if qty != 1:
            raise InvalidInput(f"{item.sku} is serial-tracked — one unit per serial, not {qty}")
    elif serial is not None:
        raise InvalidInput(f"{item.sku} is not serial-tracked — no serial number expected")
    if item.tracking == Tracking.LOT.value and lot is None:
        raise InvalidInput(f"{item.sku} is lot-tracked — scan the lot")
    if item.tracking == Tracking.NONE.value and lot is not None and not item.expiry_required:
        raise InvalidInput(f"{item.sku} is not lot-tracked — no lot expected")
    if item.expiry_required and (lot is None or lot.expiry is None):
        raise InvalidInput(f"{item.sku} needs an expiry date")


def _take(
    session: Session,
    item: Item,
    qty: int,
    lot: Lot | None,
    bin_: Bin,
    container: Container | None,
    owner_id: int,
    status: str,
    consume_reserved: int,
    allow_negative: bool,
) -> None:
    quant = find_quant(session, item, bin_, lot, container, owner_id, status)
    have = quant.qty if quant is not None else 0
    what = f"{item.sku}" + (f" lot {lot.code}" if lot else "")
    if not allow_negative:
        if have < qty:
            raise InvariantViolation(f"Only {have} of {what} in {_where(bin_, container)}, not {qty} — count the bin or scan another")
        reserved = quant.reserved if quant is not None else 0
        if consume_reserved > reserved or consume_reserved > qty:
            raise InvariantViolation(f"{what} in {_where(bin_, container)}: releasing {consume_reserved} reserved but {reserved} are reserved")
        if have - qty < reserved - consume_reserved:
            free = have - reserved
            raise InvariantViolation(
                f"{reserved} of {what} in {_where(bin_, container)} are reserved for picking; only {free} free"
            )
    if quant is None:
        quant = _new_quant(session, item, bin_, lot, container, owner_id, status)
    quant.qty -= qty
    quant.reserved = max(0, quant.reserved - consume_reserved)
    if quant.qty == 0 and quant.reserved == 0:
        session.delete(quant)


def _give(session: Session, item: Item, qty: int, lot: Lot | None, bin_: Bin, container: Container | None, owner_id: int, status: str) -> None:
    quant = find_quant(session, item, bin_, lot, container, owner_id, status)
    if quant is None:
        quant = _new_quant(session, item, bin_, lot, container, owner_id, status)
    if quant.qty + qty > MAX_QTY * 10:
        raise InvalidInput(f"{item.sku} in {bin_.code} would exceed {MAX_QTY * 10:,} units")
    quant.qty += qty
    if quant.qty == 0 and quant.reserved == 0:  # a conflict's negative quant filled back up
        session.delete(quant)


def _new_quant(session: Session, item: Item, bin_: Bin, lot: Lot | None, container: Container | None, owner_id: int, status: str) -> Quant:
    lot_id = lot.id if lot else None
    container_id = container.id if container else None
    quant = Quant(
        key=quant_key(item.id, bin_.id, lot_id, container_id, owner_id, status),
        item_id=item.id,
        bin_id=bin_.id,
        lot_id=lot_id,
        container_id=container_id,
        owner_id=owner_id,
        status=status,
        qty=0,
        reserved=0,
    )
    session.add(quant)
    session.flush()
    remember_row(session, Quant, quant.key, quant)
    return quant


def _place_container(session: Session, container: Container | None, bin_: Bin, force: bool = False) -> None:
    """A container receiving stock stands in the movement's to-bin; it cannot be in two bins."""
    if container is None or container.bin_id == bin_.id:
        return
    if not force and container.bin_id is not None and container_has_stock(session, container):
        here = session.get(Bin, container.bin_id)
        raise InvariantViolation(f"{container.code} stands in {here.code if here else '?'}, not {bin_.code} — move it first")
    container.bin_id = bin_.id


def container_has_stock(session: Session, container: Container) -> bool:
    return session.scalar(select(Quant.id).where(Quant.container_id == container.id, Quant.qty != 0).limit(1)) is not None


def _find_serial(session: Session, item: Item, serial: str) -> SerialUnit | None:
    return session.scalars(_SERIAL_OF_ITEM, {"item_id": item.id, "serial": serial}).one_or_none()


def _check_serial(
    session: Session, item: Item, serial: str, lot: Lot | None, from_bin: Bin | None, from_container: Container | None
) -> SerialUnit | None:
    """Validate a serial's whereabouts before anything changes; returns its unit (None if new)."""
    unit = _find_serial(session, item, serial)
    if from_bin is None:
        # Into the warehouse: the serial must not already be in stock anywhere.
        if unit is not None and unit.status == "in_stock":
            where = session.get(Bin, unit.bin_id)
            raise InvariantViolation(f"Serial {serial} of {item.sku} is already in {where.code if where else 'stock'} — scan another serial")
        return unit
    if unit is None or unit.status != "in_stock":
        raise InvariantViolation(f"Serial {serial} of {item.sku} is not in stock — scan another serial")
    if unit.bin_id != from_bin.id or unit.container_id != (from_container.id if from_container else None):
        where = session.get(Bin, unit.bin_id) if unit.bin_id else None
        raise InvariantViolation(f"Serial {serial} is in {where.code if where else 'another place'}, not {_where(from_bin, from_container)}")
    if (unit.lot_id or None) != (lot.id if lot else None):
        raise InvariantViolation(f"Serial {serial} is not in lot {lot.code if lot else '(none)'}")
    return unit


def _move_serial(
    session: Session,
    kind: MovementKind,
    unit: SerialUnit | None,
    item: Item,
    serial: str,
    lot: Lot | None,
    to_bin: Bin | None,
    to_container: Container | None,
    owner_id: int,
) -> None:
    if unit is None:
        unit = SerialUnit(item_id=item.id, serial=serial, owner_id=owner_id)
        session.add(unit)
    if to_bin is None:
        unit.status = "shipped" if kind == MovementKind.SHIP else "removed"
        unit.bin_id = None
        unit.container_id = None
    else:
        unit.status = "in_stock"
        unit.bin_id = to_bin.id
        unit.container_id = to_container.id if to_container else None
        unit.lot_id = lot.id if lot else None
        unit.owner_id = owner_id


def move_container(session: Session, actor: Actor, container: Container, to_bin: Bin, *, kind: MovementKind | str = MovementKind.MOVE, doc_ref: str | None = None) -> list[Movement]:
    """Move a whole LPN/tote and everything in it to another bin: one movement per quant (and serial)."""
    if container.bin_id == to_bin.id:
        raise InvalidInput(f"{container.code} is already in {to_bin.code}")
    if to_bin.blocked:
        raise NotAllowed(f"Bin {to_bin.code} is blocked — scan another bin")
    from_bin = session.get(Bin, container.bin_id) if container.bin_id else None
    quants = session.scalars(select(Quant).where(Quant.container_id == container.id, Quant.qty > 0).order_by(Quant.id)).all()
    if from_bin is None or not quants:
        container.bin_id = to_bin.id
        return []
    if any(q.reserved for q in quants):
        raise InvariantViolation(f"{container.code} holds stock reserved for picking — it cannot move")
    contents = [(session.get(Item, q.item_id), session.get(Lot, q.lot_id) if q.lot_id else None, q.qty, q.owner_id, q.status) for q in quants]
    container.bin_id = to_bin.id
    movements = []
    for item, lot, qty, owner_id, status in contents:
        owner = session.get(Owner, owner_id)
        if item.tracking == Tracking.SERIAL.value:
            serials = session.scalars(
                select(SerialUnit.serial).where(SerialUnit.item_id == item.id, SerialUnit.container_id == container.id, SerialUnit.status == "in_stock",
                                                # only this quant's units: a pallet may hold several lots
                                                SerialUnit.lot_id == lot.id if lot else SerialUnit.lot_id.is_(None), SerialUnit.owner_id == owner_id)
            ).all()
            for serial in serials:
                movements.append(post(session, actor, kind=kind, item=item, qty=1, lot=lot, serial=serial, from_bin=from_bin, to_bin=to_bin,
                                      from_container=container, to_container=container, from_status=status, to_status=status, owner=owner, doc_ref=doc_ref))
        else:
            movements.append(post(session, actor, kind=kind, item=item, qty=qty, lot=lot, from_bin=from_bin, to_bin=to_bin,
                                  from_container=container, to_container=container, from_status=status, to_status=status, owner=owner, doc_ref=doc_ref))
    return movements
