"""What the pick screen shows (the pick card and the list's progress) and the lookups of picking:
a pick list by ref, the claim check, a task with its order slot, the pick drop bin.

Split out of services/picking.py (issue 12), which re-exports every public name here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import (
    Bin,
    BinKind,
    Container,
    Item,
    Lot,
    Operator,
    OutboundLine,
    OutboundOrder,
    PickList,
    PickListOrder,
    PickTask,
)
from warehouse_tui.errors import NotAllowed, NotFound
from warehouse_tui.services import clients
from warehouse_tui.services.claims import refuse_if_taken_over
from warehouse_tui.services.ledger import Actor


TO_PICK = ("open", "skipped")
FINISHED = ("done", "short")


# --------------------------------------------------------------------------- what the screen shows


@dataclass(frozen=True)
class OrderSlot:
    order_ref: str
    tote_code: str | None


@dataclass(frozen=True)
class PickListView:
    ref: str
    status: str
    orders: tuple[OrderSlot, ...]
    finished: int  # tasks done or short
    total: int

    @property
    def order_without_tote(self) -> str | None:
        return next((slot.order_ref for slot in self.orders if slot.tote_code is None), None)


@dataclass(frozen=True)
class TaskView:
    id: int
    pick_list_ref: str
    number: int  # the task's place in the walk: finished tasks + 1
    total: int
    bin_code: str
    item_id: int
    sku: str
    description: str
    uom: str
    needs_lot: bool  # lot-tracked: the allocated lot is scanned
    # Dated without lots: the lot is named by its date, so the date is what the picker checks.
    needs_expiry: bool
    serial: bool  # one serial scanned per unit
    lot_code: str | None
    expiry: dt.date | None
    qty: int
    qty_picked: int
    order_ref: str
    tote_code: str | None
    status: str
    owner: str = ""  # the client whose stock this is, named only where the warehouse holds more than one client's
    waiting: bool = False  # held until a replenishment fills the face

    @property
    def remaining(self) -> int:
        return self.qty - self.qty_picked



@dataclass(frozen=True)
class PickResult:
    task: TaskView
    qty: int
    bin_empty: bool  # the pick left the bin empty by the books: ask "Bin empty?"


@dataclass(frozen=True)
class ShortResult:
    task: TaskView
    found: int
    missing: int
    exception_id: int
    count_task_id: int


# --------------------------------------------------------------------------- lookups


def pick_drop_bin(session: Session) -> Bin:
    """Where picked totes stand by the books: the first pack bin, else the first staging bin."""
    for kind in (BinKind.PACK.value, BinKind.STAGING.value):
        found = session.scalars(
            select(Bin).where(Bin.kind == kind, Bin.blocked.is_(False)).order_by(Bin.pick_seq, Bin.code).limit(1)
        ).first()
        if found is not None:
            return found
    raise NotFound("No pack or staging bin to take totes to — ask a supervisor to add one")


def _pick_list(session: Session, ref: str, *, lock: bool = False) -> PickList:
    query = select(PickList).where(PickList.ref == ref)
    found = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if found is None:
        raise NotFound(f"Pick list {ref} is not known — scan it again")
    return found


def _claimed_by_other(session: Session, pick_list: PickList) -> str:
    other = session.get(Operator, pick_list.claimed_by) if pick_list.claimed_by else None
    who = other.badge if other else "another operator"
    return f"{pick_list.ref} is being picked by {who}" + (f" on {pick_list.claimed_terminal}" if pick_list.claimed_terminal else "")


def _mine(session: Session, actor: Actor, pick_list: PickList) -> PickList:
    """The pick list, if this operator has it claimed on this terminal; else NotAllowed."""
    if actor.operator is None:
        raise NotAllowed("Log in to pick — scan your badge")
    if pick_list.status == "done":
        raise NotAllowed(f"Pick list {pick_list.ref} is done — scan another or @NEXT")
    if pick_list.status != "picking" or pick_list.claimed_by is None:
        raise NotAllowed(f"Pick list {pick_list.ref} is not claimed — scan it to start")
    if pick_list.claimed_by != actor.operator_id:
        raise NotAllowed(_claimed_by_other(session, pick_list) + " — @NEXT for another list")
    refuse_if_taken_over(f"Pick list {pick_list.ref}", pick_list.claimed_terminal, actor)
    return pick_list


def _task(session: Session, actor: Actor, task_id: int, *, to_pick: bool = True) -> tuple[PickTask, PickList]:
    task = session.get(PickTask, task_id)
    if task is None:
        raise NotFound("Pick task not known — scan the pick list again")
    pick_list = _mine(session, actor, session.get(PickList, task.pick_list_id))
    if to_pick and task.status not in TO_PICK:
        raise NotAllowed(f"Task {task.seq} of {pick_list.ref} is {task.status} already — go to the next task")
    return task, pick_list


def _slot(session: Session, task: PickTask) -> tuple[PickListOrder, OutboundOrder, OutboundLine]:
    line = session.get(OutboundLine, task.order_line_id)
    order = session.get(OutboundOrder, line.order_id)
    slot = session.scalars(select(PickListOrder).where(PickListOrder.pick_list_id == task.pick_list_id,
                                                       PickListOrder.order_id == order.id)).one()
    return slot, order, line


def _progress(session: Session, pick_list_id: int) -> tuple[int, int]:
    rows = dict(session.execute(
        select(PickTask.status, func.count()).where(PickTask.pick_list_id == pick_list_id).group_by(PickTask.status)
    ).all())
    return sum(n for status, n in rows.items() if status in FINISHED), sum(rows.values())


def pick_list_view(session: Session, ref: str) -> PickListView:
    pick_list = _pick_list(session, ref)
    rows = session.execute(
        select(OutboundOrder.ref, Container.code)
        .select_from(PickListOrder)
        .join(OutboundOrder, OutboundOrder.id == PickListOrder.order_id)
        .outerjoin(Container, Container.id == PickListOrder.tote_id)
        .where(PickListOrder.pick_list_id == pick_list.id)
        .order_by(OutboundOrder.priority.desc(), OutboundOrder.created_at, OutboundOrder.id)
    ).all()
    finished, total = _progress(session, pick_list.id)
    return PickListView(pick_list.ref, pick_list.status, tuple(OrderSlot(o, t) for o, t in rows), finished, total)


def task_view(session: Session, task_id: int) -> TaskView:
    task = session.get(PickTask, task_id)
    if task is None:
        raise NotFound("Pick task not known — scan the pick list again")
    pick_list = session.get(PickList, task.pick_list_id)
    item = session.get(Item, task.item_id)
    lot = session.get(Lot, task.lot_id) if task.lot_id else None
    slot, order, _ = _slot(session, task)
    tote = session.get(Container, slot.tote_id) if slot.tote_id else None
    finished, total = _progress(session, pick_list.id)
    return TaskView(
        id=task.id, pick_list_ref=pick_list.ref, number=min(finished + (0 if task.status in FINISHED else 1), total), total=total,
        bin_code=session.get(Bin, task.bin_id).code, item_id=item.id, sku=item.sku, description=item.description,
        uom=item.uom, needs_lot=item.needs_lot, needs_expiry=item.lots_by_expiry, serial=item.is_serial,
        lot_code=lot.code if lot else None, expiry=lot.expiry if lot else None,
        qty=task.qty, qty_picked=task.qty_picked, order_ref=order.ref, tote_code=tote.code if tote else None,
        status=task.status, owner=clients.client_shown(session, [item.id]), waiting=bool(task.waiting),
    )
