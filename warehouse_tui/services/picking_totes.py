"""Totes of a pick list (DESIGN §5 Pick): a tote per order before the first pick, @FULL.

A code not yet known becomes a new tote; a tote holding stock, or in use for an order of an
unfinished list (as its tote or a full one), is refused. @FULL closes the order's tote full: it
stays the order's and goes to packing with the rest, a new empty tote takes the next units.

Split out of services/picking.py (issue 12), which re-exports every public name here.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import Container, ContainerKind, FullTote, OutboundOrder, PickList, PickListOrder
from warehouse_tui.errors import InvalidInput, NotAllowed, NotFound
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.auth import audit
from warehouse_tui.services.ledger import Actor, container_has_stock
from warehouse_tui.services.picking_views import PickListView, _mine, _pick_list, pick_list_view


def assign_tote(session: Session, actor: Actor, pick_list_ref: str, order_ref: str, tote_code: str) -> PickListView:
    """Put a tote on an order of the claimed list; an unknown code becomes a new tote."""
    pick_list = _mine(session, actor, _pick_list(session, pick_list_ref, lock=True))
    slot = session.scalars(
        select(PickListOrder).join(OutboundOrder, OutboundOrder.id == PickListOrder.order_id)
        .where(PickListOrder.pick_list_id == pick_list.id, OutboundOrder.ref == order_ref)
    ).one_or_none()
    if slot is None:
        raise NotFound(f"Order {order_ref} is not on {pick_list.ref}")
    tote = _tote(session, tote_code)
    if slot.tote_id == tote.id:
        return pick_list_view(session, pick_list.ref)
    if slot.tote_id is not None:
        current = session.get(Container, slot.tote_id)
        if container_has_stock(session, current):
            raise NotAllowed(f"{order_ref} already picks into {current.code} — keep that tote, or @FULL when it is full")
    _refuse_if_in_use(session, tote, slot)
    slot.tote_id = tote.id
    session.flush()
    return pick_list_view(session, pick_list.ref)


def _tote(session: Session, tote_code: str) -> Container:
    """The tote a scanned code names (an unknown code becomes a new tote)."""
    code = tote_code.strip()
    if not code or len(code) > 64 or code != tote_code:
        raise InvalidInput("Not a tote code — scan the tote's label")
    tote = md.container(session, code, ContainerKind.TOTE.value)
    if tote.kind != ContainerKind.TOTE.value:
        raise NotAllowed(f"{tote.code} is a {tote.kind}, not a tote — scan a tote")
    return tote


def _refuse_if_in_use(session: Session, tote: Container, slot: PickListOrder) -> None:
    """A tote for an order must be empty and not another order's on an unfinished list (as its tote or a full one)."""
    if container_has_stock(session, tote):
        raise NotAllowed(f"Tote {tote.code} is not empty — scan an empty tote")
    in_use = (
        select(PickList.ref, OutboundOrder.ref)
        .select_from(PickListOrder)
        .join(PickList, PickList.id == PickListOrder.pick_list_id)
        .join(OutboundOrder, OutboundOrder.id == PickListOrder.order_id)
        .where(PickList.status != "done", PickListOrder.id != slot.id)
    )
    other = session.execute(in_use.where(PickListOrder.tote_id == tote.id)).first() or session.execute(
        in_use.join(FullTote, FullTote.pick_list_order_id == PickListOrder.id).where(FullTote.tote_id == tote.id)).first()
    if other is not None:
        raise NotAllowed(f"Tote {tote.code} is in use for {other[1]} on {other[0]} — scan another tote")


def tote_full(session: Session, actor: Actor, pick_list_ref: str, order_ref: str, tote_code: str) -> PickListView:
    """@FULL: the order's tote is full — it stays the order's (off to packing with the rest), a new empty tote takes over.

    Raises NotAllowed for an empty current tote (nothing to close), a tote not empty or in use, and InvalidInput
    for the full tote scanned again.
    """
    pick_list = _mine(session, actor, _pick_list(session, pick_list_ref, lock=True))
    slot = session.scalars(
        select(PickListOrder).join(OutboundOrder, OutboundOrder.id == PickListOrder.order_id)
        .where(PickListOrder.pick_list_id == pick_list.id, OutboundOrder.ref == order_ref)
    ).one_or_none()
    if slot is None:
        raise NotFound(f"Order {order_ref} is not on {pick_list.ref}")
    if slot.tote_id is None:
        raise NotAllowed(f"Scan a tote for {order_ref} first")
    full = session.get(Container, slot.tote_id)
    if not container_has_stock(session, full):
        raise NotAllowed(f"Tote {full.code} is empty — keep picking into it")
    tote = _tote(session, tote_code)
    if tote.id == full.id:
        raise InvalidInput(f"{full.code} is the full tote — scan a new, empty tote")
    _refuse_if_in_use(session, tote, slot)
    session.add(FullTote(pick_list_order_id=slot.id, tote_id=full.id))
    slot.tote_id = tote.id
    audit(session, "tote_full", operator=actor.operator, terminal=actor.terminal,
          detail=f"{order_ref} on {pick_list.ref}: {full.code} full, goes on in {tote.code}")
    session.flush()
    return pick_list_view(session, pick_list.ref)
