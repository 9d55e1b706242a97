"""What the packer sees (the order's lines packed, picked and ordered) and finding the order to
pack: by its ref or any of its totes (those of its pick lists and those filled with @FULL).

Split out of services/packing.py (issue 12), which re-exports every public name here.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import (
    Carton,
    CartonLine,
    Container,
    ContainerKind,
    FullTote,
    Item,
    OutboundLine,
    OutboundOrder,
    PickListOrder,
)
from warehouse_tui.errors import InvalidInput, NotAllowed, NotFound
from warehouse_tui.services import clients


CLOSED_STATES = ("shipped", "cancelled")


# --------------------------------------------------------------------------- what the packer sees


@dataclass(frozen=True)
class LineProgress:
    sku: str
    ordered: int
    picked: int
    packed: int

    @property
    def done(self) -> bool:
        return self.packed >= self.ordered


@dataclass(frozen=True)
class PackProgress:
    """One order at the pack station: its totes, open carton and lines."""

    order_ref: str
    ship_to: str
    status: str
    totes: tuple[str, ...]
    carton_code: str | None       # the open carton, None before the first unit of a carton
    carton_units: int
    cartons_closed: int
    lines: tuple[LineProgress, ...]
    carrier: str | None = None    # the carrier's name and service, as the OMS gave them
    service: str | None = None
    owner: str = ""               # the client whose goods these are, named only where the warehouse has more than one

    @property
    def complete(self) -> bool:
        """Every line packed and no carton open: the order is ready to ship."""
        return all(line.done for line in self.lines) and self.carton_code is None

    @property
    def units_left(self) -> int:
        return sum(max(0, line.ordered - line.packed) for line in self.lines)


@dataclass(frozen=True)
class Goods:
    """An item checked against the order: the lot to pack (when known) and what must still be asked."""

    item_id: int
    sku: str
    qty: int
    lot: str | None
    serial: str | None
    ask: str | None               # "lot" | "serial" | None (ready to pack)
    lots: tuple[str, ...] = ()    # the item's lots in the totes, when the packer must choose


@dataclass(frozen=True)
class Shipment:
    order_ref: str
    cartons: tuple[str, ...]      # SSCCs
    units: int


# --------------------------------------------------------------------------- finding the order


def order_for_packing(session: Session, code: str) -> OutboundOrder:
    """The order a scanned tote or order reference names, if it can be packed or shipped now.

    Raises NotFound for a tote holding no order and an unknown code, NotAllowed for a
    shipped or cancelled order and one of which nothing is picked.
    """
    order = session.scalars(select(OutboundOrder).where(OutboundOrder.ref == code)).one_or_none()
    if order is None:
        tote = session.scalars(select(Container).where(Container.code == code)).one_or_none()
        if tote is None:
            raise NotFound(f"{code} is neither a tote nor an order — scan the tote's label")
        if tote.kind != ContainerKind.TOTE.value:
            noun = {"lpn": "an LPN", "sscc": "a pallet", "carton": "a carton"}.get(tote.kind, "no tote")
            raise InvalidInput(f"{code} is {noun}, not a tote — scan the tote or the order")
        order = session.scalars(
            select(OutboundOrder).join(PickListOrder, PickListOrder.order_id == OutboundOrder.id)
            .where(PickListOrder.tote_id == tote.id, OutboundOrder.status.not_in(CLOSED_STATES))
            .order_by(PickListOrder.id.desc()).limit(1)
        ).first() or session.scalars(  # a tote the order filled (@FULL during the pick)
            select(OutboundOrder).join(PickListOrder, PickListOrder.order_id == OutboundOrder.id)
            .join(FullTote, FullTote.pick_list_order_id == PickListOrder.id)
            .where(FullTote.tote_id == tote.id, OutboundOrder.status.not_in(CLOSED_STATES))
            .order_by(FullTote.id.desc()).limit(1)
        ).first()
        if order is None:
            raise NotFound(f"Tote {code} holds no order to pack — scan the order number")
    if order.status in CLOSED_STATES:
        raise NotAllowed(f"{order.ref} is {order.status} — nothing to pack")
    lines = _lines(session, order)
    if not any(line.qty_picked > line.qty_packed for line in lines) and not _cartons(session, order):
        raise NotAllowed(f"Nothing of {order.ref} is picked yet — pick it first")
    return order


def _order(session: Session, ref: str, *, lock: bool = False) -> OutboundOrder:
    """The order by reference; `lock` serialises writers of one order on PostgreSQL (SQLite writes one at a time anyway)."""
    query = select(OutboundOrder).where(OutboundOrder.ref == ref)
    order = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if order is None:
        raise NotFound(f"Order {ref} is not known — scan the order number")
    if order.status in CLOSED_STATES:
        raise NotAllowed(f"{order.ref} is {order.status} — nothing to pack")
    return order


def _lines(session: Session, order: OutboundOrder) -> list[OutboundLine]:
    return list(session.scalars(select(OutboundLine).where(OutboundLine.order_id == order.id).order_by(OutboundLine.id)))


def _cartons(session: Session, order: OutboundOrder) -> list[Carton]:
    return list(session.scalars(select(Carton).where(Carton.order_id == order.id).order_by(Carton.id)))


def _open_carton(session: Session, order: OutboundOrder) -> Carton | None:
    return session.scalars(
        select(Carton).where(Carton.order_id == order.id, Carton.status == "open").order_by(Carton.id.desc()).limit(1)
    ).first()


def _totes(session: Session, order: OutboundOrder) -> list[Container]:
    """The order's totes: those it filled (@FULL) first, then the ones it was picked into last."""
    full = session.scalars(
        select(Container).join(FullTote, FullTote.tote_id == Container.id)
        .join(PickListOrder, PickListOrder.id == FullTote.pick_list_order_id)
        .where(PickListOrder.order_id == order.id).order_by(FullTote.id)
    ).all()
    current = session.scalars(
        select(Container).join(PickListOrder, PickListOrder.tote_id == Container.id)
        .where(PickListOrder.order_id == order.id).order_by(PickListOrder.id)
    ).all()
    return list(dict.fromkeys([*full, *current]))


def progress(session: Session, order_ref: str) -> PackProgress:
    order = session.scalars(select(OutboundOrder).where(OutboundOrder.ref == order_ref)).one()
    carton = _open_carton(session, order)
    units = 0
    code = None
    if carton is not None:
        units = int(session.scalar(select(func.coalesce(func.sum(CartonLine.qty), 0)).where(CartonLine.carton_id == carton.id)))
        code = session.get(Container, carton.container_id).code
    closed = session.scalar(select(func.count()).select_from(Carton).where(Carton.order_id == order.id, Carton.status != "open"))
    skus = dict(session.execute(select(Item.id, Item.sku).join(OutboundLine, OutboundLine.item_id == Item.id)
                                .where(OutboundLine.order_id == order.id)).all())
    lines = tuple(LineProgress(skus[ln.item_id], ln.qty, ln.qty_picked, ln.qty_packed) for ln in _lines(session, order))
    from warehouse_tui.services.carriers import carrier_name

    return PackProgress(order.ref, order.ship_to, order.status, tuple(t.code for t in _totes(session, order)), code,
                        units, closed or 0, lines, carrier_name(order.carrier) if order.carrier else None, order.service,
                        clients.client_shown(session, list(skus)))
