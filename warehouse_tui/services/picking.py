"""Picking: claim a released pick list, give each order a tote, and pick the tasks in walking order.

The rules (DESIGN §5 Pick; the scan sequence itself is workflows/pick.py):

- Claim: a pick list is claimed by the operator who scans it (or its order, or
  takes it with @NEXT: their own unfinished list first, then the released one
  of highest priority). A list claimed by one operator is not handed to
  another; a supervisor can take the claim back (`unclaim`). Claiming sets the
  list and its orders to picking. A claim belongs to the badge on a terminal
  (services/claims.py): the same badge on another terminal is refused, naming
  the terminal that holds it, until it takes the list over explicitly
  (`take_over`, audited); the first terminal is then refused, told who took it.
- Totes: every order of the list gets a tote before the first pick. A code not
  yet known becomes a new tote; a tote holding stock, or in use for an order of
  an unfinished list, is refused.
- Where picked units go: the tote travels with the picker, but by the books it
  stands at its destination, the pick drop bin — the first pack bin that is not
  blocked (walking order), else the first staging bin. So every pick is one
  ledger movement (kind pick, doc = the order) from the bin into the tote
  standing in the drop bin, consuming the task's reservation; counting a bin
  the picker walked past never finds a tote there, and Pack finds the units in
  the tote where it is delivered. A tote already holding stock somewhere else
  (moved on by hand) keeps receiving it where it stands.
- A pick must scan the task's bin, item and — where tracked — the allocated lot
  (a different lot is refused with the right lot named, unless the picker found
  that lot in the bin instead: `change_lot` moves the allocation to it when FEFO
  is kept there) or, for items dated
  without lots, the allocated expiry; serial items are picked one serial per
  unit, any in-stock serial lying loose in the bin (and lot). Picking less than
  the task is allowed: the rest stays to pick.
- Short: the operator found fewer than the task asks. The units found are
  picked, the rest of the reservation is released, the order line's allocation
  drops by the shortfall, and an open `short_pick` exception, a blind count
  task for the bin (unless one is already open) and an audit entry are written
  in the same transaction. Serial units found are scanned before @SHORT.
- Waiting: a task whose pick face a wave's replenishment must fill first is
  shown but refused ("waiting for replenishment") until a move fills the face;
  the picker skips it. A pick that leaves a face at or below its min raises
  replenishment tasks (services/replenishment.py).
- Full tote (@FULL): the order's tote is closed full and stays the order's (it
  goes to packing with the rest); a new empty tote takes the order's next units.
  Pack finds the order from any of its totes (services/packing.py).
- Skip defers a task to the end of the list.
- Zero check: when a pick leaves its bin empty by the books, the operator is
  asked whether it is empty; "no" raises a count task for the bin.
- Finish: when no task is left open, the list is done and its orders picked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from warehouse_tui import clock
from warehouse_tui.db.models import (
    Bin,
    BinKind,
    Container,
    ContainerKind,
    CountTask,
    FullTote,
    Item,
    Lot,
    MovementKind,
    Operator,
    OutboundLine,
    OutboundOrder,
    PickList,
    PickListOrder,
    PickTask,
    Quant,
    WarehouseException,
)
from warehouse_tui.errors import InvalidInput, InvariantViolation, NotAllowed, NotFound
from warehouse_tui.services import masterdata as md
from warehouse_tui.services import replenishment
from warehouse_tui.services.auth import audit, require_supervisor
from warehouse_tui.services.claims import refuse_if_taken_over, take_over_or_refuse
from warehouse_tui.services.ledger import AVAILABLE, Actor, check_qty, container_has_stock, find_quant, post
from warehouse_tui.services.waves import SEQ_STEP

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
        status=task.status, owner=md.client_shown(session, [item.id]), waiting=bool(task.waiting),
    )


# --------------------------------------------------------------------------- claim and totes


def claim(session: Session, actor: Actor, ref: str | None = None, *, take_over: bool = False) -> PickListView:
    """Claim a pick list by its ref or one of its orders' refs; None = the next one (@NEXT).

    Raises NotFound (nothing released, unknown ref) and NotAllowed (not logged in,
    claimed by another operator, done, order not released); HeldOnAnotherTerminal
    when this operator holds it on another terminal, unless `take_over` (audited).
    """
    if actor.operator is None:
        raise NotAllowed("Log in to pick — scan your badge")
    pick_drop_bin(session)  # no destination for totes: refuse before anything is picked
    pick_list = _next_list(session, actor) if ref is None else _list_for(session, ref)
    if pick_list.status == "done":
        raise NotAllowed(f"Pick list {pick_list.ref} is done — scan another or @NEXT")
    if pick_list.claimed_by is not None and pick_list.claimed_by != actor.operator_id:
        raise NotAllowed(_claimed_by_other(session, pick_list) + " — @NEXT for another list")
    if pick_list.claimed_by is not None:
        take_over_or_refuse(session, actor, what=f"Pick list {pick_list.ref}", key=pick_list.ref,
                            claimed_terminal=pick_list.claimed_terminal, take_over=take_over, audit_kind="pick_list_taken_over")
    pick_list.claimed_by = actor.operator_id
    pick_list.claimed_terminal = actor.terminal
    pick_list.status = "picking"
    for order in session.scalars(select(OutboundOrder).join(PickListOrder, PickListOrder.order_id == OutboundOrder.id)
                                 .where(PickListOrder.pick_list_id == pick_list.id)):
        if order.status == "released":
            order.status = "picking"
    session.flush()
    return pick_list_view(session, pick_list.ref)


def _next_list(session: Session, actor: Actor) -> PickList:
    by_priority = (PickList.priority.desc(), PickList.created_at, PickList.id)
    here_first = case((PickList.claimed_terminal == actor.terminal, 0), else_=1)  # then one held on another terminal
    mine = session.scalars(select(PickList).where(PickList.status == "picking", PickList.claimed_by == actor.operator_id)
                           .order_by(here_first, *by_priority).limit(1).with_for_update()).first()
    if mine is not None:
        return mine
    released = session.scalars(select(PickList).where(PickList.status == "released", PickList.claimed_by.is_(None))
                               .order_by(*by_priority).limit(1).with_for_update()).first()
    if released is None:
        raise NotFound("No pick list is released — ask a supervisor to release a wave")
    return released


def _list_for(session: Session, ref: str) -> PickList:
    found = session.scalars(select(PickList).where(PickList.ref == ref).with_for_update()).one_or_none()
    if found is not None:
        return found
    order = session.scalars(select(OutboundOrder).where(OutboundOrder.ref == ref)).one_or_none()
    if order is None:
        raise NotFound(f"{ref} is no pick list or order — scan another")
    lists = session.scalars(
        select(PickList).join(PickListOrder, PickListOrder.pick_list_id == PickList.id)
        .where(PickListOrder.order_id == order.id).order_by(PickList.id.desc()).with_for_update()
    ).all()
    active = [p for p in lists if p.status != "done"]
    if active:
        return active[0]
    if order.status == "new":
        raise NotAllowed(f"Order {ref} is not released yet — ask a supervisor to release it")
    raise NotAllowed(f"Order {ref} is {order.status} — nothing left to pick")


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


# --------------------------------------------------------------------------- the walk


def next_task(session: Session, actor: Actor, pick_list_ref: str) -> TaskView | None:
    """The next task to pick in walking order (deferred tasks come last), or None when all are finished."""
    pick_list = _mine(session, actor, _pick_list(session, pick_list_ref))
    task_id = session.scalar(
        select(PickTask.id).where(PickTask.pick_list_id == pick_list.id, PickTask.status.in_(TO_PICK))
        .order_by(PickTask.seq, PickTask.id).limit(1)
    )
    return None if task_id is None else task_view(session, task_id)


def check_claim(session: Session, actor: Actor, task_id: int) -> None:
    """The task's list is still this operator's on this terminal (a scan on a list taken over elsewhere is refused)."""
    _task(session, actor, task_id, to_pick=False)


def check_bin(session: Session, task_id: int, bin_code: str) -> None:
    task = session.get(PickTask, task_id)
    want = session.get(Bin, task.bin_id)
    if task.waiting:
        raise NotAllowed(f"{want.code} is waiting for replenishment — @SKIP to the next task")
    got = md.bin_by_code(session, bin_code)
    if got.id != want.id:
        raise InvalidInput(f"Wrong bin {got.code} — go to {want.code}")


def check_item(session: Session, task_id: int, item_id: int | None) -> None:
    task = session.get(PickTask, task_id)
    if item_id != task.item_id:
        want = session.get(Item, task.item_id)
        got = session.get(Item, item_id) if item_id else None
        raise InvalidInput(f"That is {got.sku if got else 'another item'} — pick {want.sku}")


def check_lot(session: Session, task_id: int, lot_code: str | None) -> None:
    """The allocated lot is the one to pick; another lot is refused, naming the right one."""
    task = session.get(PickTask, task_id)
    want = session.get(Lot, task.lot_id) if task.lot_id else None
    if want is None:
        if lot_code:
            item = session.get(Item, task.item_id)
            raise InvalidInput(f"{item.sku} is picked without a lot here — scan the item")
        return
    if lot_code != want.code:
        item = session.get(Item, task.item_id)
        raise NotAllowed(f"Wrong lot {lot_code or '(none)'} — pick lot {want.code} of {item.sku}"
                         + (f" (exp {want.expiry:%Y-%m-%d})" if want.expiry else ""))


def change_lot(session: Session, actor: Actor, task_id: int, lot_code: str) -> TaskView:
    """The picker found another lot in the bin than the allocated one and scanned it: move the allocation to it.

    Accepted when it is a lot of the task's item lying loose in the task's bin with enough free units for
    what is left to pick, not expired, and no other lot available there — the allocated one included —
    expires earlier (FEFO kept: typically lots of the same date); the task's
    reservation moves from the allocated lot to the scanned one (upstream too: the task's lot syncs and the
    upstream sets its reservations from the tasks). Refused naming the allocated lot otherwise.
    """
    task, _ = _task(session, actor, task_id)
    item = session.get(Item, task.item_id)
    want = session.get(Lot, task.lot_id) if task.lot_id else None
    if want is None or lot_code == want.code:
        check_lot(session, task.id, lot_code)
        return task_view(session, task.id)
    named = f"pick lot {want.code} of {item.sku}" + (f" (exp {want.expiry:%Y-%m-%d})" if want.expiry else "")
    bin_ = session.get(Bin, task.bin_id)
    if task.waiting:
        raise NotAllowed(f"{bin_.code} is waiting for replenishment — @SKIP to the next task")
    got = session.scalars(select(Lot).where(Lot.item_id == item.id, Lot.code == (lot_code or ""))).one_or_none()
    quant = find_quant(session, item, bin_, got, None, item.owner_id, AVAILABLE) if got is not None else None
    remaining = task.qty - task.qty_picked
    if got is None:
        raise NotAllowed(f"Wrong lot {lot_code or '(none)'} — {named}")
    earlier = (Lot.expiry.is_not(None) if got.expiry is None else Lot.expiry < got.expiry)
    older = session.scalar(
        select(Lot.code).join(Quant, Quant.lot_id == Lot.id)
        .where(Quant.bin_id == bin_.id, Quant.item_id == item.id, Quant.container_id.is_(None), Quant.status == AVAILABLE,
               or_(Lot.id == want.id, Quant.qty > Quant.reserved), Quant.qty > 0, Lot.id != got.id, earlier)
        .order_by(Lot.expiry).limit(1))
    if older is not None:  # FEFO: the earlier-expiring lot is the one to pick
        raise NotAllowed(f"Wrong lot {got.code} — {named}")
    if quant is None or quant.qty - quant.reserved < remaining:
        free = 0 if quant is None else max(0, quant.qty - quant.reserved)
        raise NotAllowed(f"Wrong lot {got.code}: {free} free in {bin_.code}, {remaining} to pick — {named}")
    if got.expiry is not None and got.expiry < clock.today():
        raise NotAllowed(f"Lot {got.code} expired {got.expiry:%Y-%m-%d} — {named}")
    _release_reservation(session, task, item, remaining)
    quant.reserved += remaining
    task.lot_id, task.quant_id = got.id, quant.id
    audit(session, "pick_lot_changed", operator=actor.operator, terminal=actor.terminal,
          detail=f"{item.sku} in {bin_.code}: lot {want.code} -> {got.code} ({remaining} to pick)")
    session.flush()
    return task_view(session, task.id)


def check_expiry(session: Session, task_id: int, expiry: dt.date) -> None:
    """For items dated without lots: the allocated date is the one to pick."""
    task = session.get(PickTask, task_id)
    want = session.get(Lot, task.lot_id) if task.lot_id else None
    if want is None or want.expiry is None:
        return
    if expiry != want.expiry:
        item = session.get(Item, task.item_id)
        raise NotAllowed(f"Wrong date {expiry:%Y-%m-%d} — pick {item.sku} expiring {want.expiry:%Y-%m-%d}")


def confirm_pick(
    session: Session,
    actor: Actor,
    task_id: int,
    *,
    bin_code: str,
    item_id: int,
    qty: int,
    lot_code: str | None = None,
    serial: str | None = None,
    tote_code: str | None = None,
) -> PickResult:
    """Pick `qty` of a task from its bin into its order's tote (one ledger movement).

    Raises InvalidInput (wrong bin, item or qty; missing serial), NotAllowed (wrong
    lot, not this operator's list, no tote yet) and InvariantViolation (the stock
    or serial is not there); then nothing changes.
    """
    qty = check_qty(qty)
    task, pick_list = _task(session, actor, task_id)
    check_bin(session, task.id, bin_code)
    check_item(session, task.id, item_id)
    check_lot(session, task.id, lot_code)
    item = session.get(Item, task.item_id)
    if item.is_serial:
        if not serial:
            raise InvalidInput(f"{item.sku} is serial-tracked — scan the serial number")
        if qty != 1:
            raise InvalidInput(f"{item.sku} is serial-tracked — one scan per unit")
    elif serial:
        raise InvalidInput(f"{item.sku} is not serial-tracked — no serial number expected")
    remaining = task.qty - task.qty_picked
    if qty > remaining:
        raise InvalidInput(f"Only {remaining} to pick here, not {qty} — type {remaining} or fewer")
    _move_into_tote(session, actor, task, pick_list, qty, serial)
    bin_ = session.get(Bin, task.bin_id)
    empty = session.scalar(select(Quant.id).where(Quant.bin_id == bin_.id, Quant.qty > 0).limit(1)) is None
    replenishment.after_pick(session, actor, bin_.id, task.item_id)  # a face at or below min gets its tasks
    return PickResult(task_view(session, task.id), qty, bin_empty=empty)


def _move_into_tote(session: Session, actor: Actor, task: PickTask, pick_list: PickList, qty: int, serial: str | None) -> None:
    slot, order, line = _slot(session, task)
    if slot.tote_id is None:
        raise NotAllowed(f"Scan a tote for {order.ref} first")
    tote = session.get(Container, slot.tote_id)
    if tote.bin_id is not None and container_has_stock(session, tote):
        to_bin = session.get(Bin, tote.bin_id)
    else:
        to_bin = pick_drop_bin(session)
    item = session.get(Item, task.item_id)
    lot = session.get(Lot, task.lot_id) if task.lot_id else None
    post(session, actor, kind=MovementKind.PICK, item=item, qty=qty, lot=lot, serial=serial,
         from_bin=session.get(Bin, task.bin_id), to_bin=to_bin, to_container=tote, doc_ref=order.ref,
         consume_reserved=qty)
    task.qty_picked += qty
    line.qty_picked += qty
    if task.qty_picked == task.qty:
        task.status = "done"
    session.flush()


# --------------------------------------------------------------------------- exceptions of the walk


def short(session: Session, actor: Actor, task_id: int, qty_found: int) -> ShortResult:
    """Record a short pick: `qty_found` (0 or more) go into the tote, the rest is missing.

    Writes, in the caller's transaction: the pick of what was found, the released
    reservation, an open short_pick exception, a blind count task for the bin
    (unless one is open already) and an audit entry.
    """
    if isinstance(qty_found, bool) or not isinstance(qty_found, int) or qty_found < 0:
        raise InvalidInput(f"Type the quantity found — a whole number, 0 if none, not {qty_found!r}")
    task, pick_list = _task(session, actor, task_id)
    item = session.get(Item, task.item_id)
    remaining = task.qty - task.qty_picked
    if qty_found > remaining:
        raise InvalidInput(f"Only {remaining} to pick here — type how many you found (0 if none)")
    if qty_found == remaining:
        raise InvalidInput(f"{qty_found} is all of it — no short: @CANCEL and pick it")
    if qty_found and task.waiting:
        raise InvalidInput(f"{item.sku} waits for replenishment — nothing was there to pick: type 0")
    if qty_found and item.is_serial:
        raise InvalidInput("Scan each serial you found first, then @SHORT and type 0")
    if qty_found:
        _move_into_tote(session, actor, task, pick_list, qty_found, None)
    missing = remaining - qty_found
    if task.waiting:  # nothing was reserved yet: the face was still to be filled
        task.waiting = False
    else:
        _release_reservation(session, task, item, missing)
    slot, order, line = _slot(session, task)
    line.qty_allocated -= missing
    task.status = "short"
    bin_ = session.get(Bin, task.bin_id)
    lot = session.get(Lot, task.lot_id) if task.lot_id else None
    what = item.sku + (f" lot {lot.code}" if lot else "")
    detail = f"{what} in {bin_.code}: {remaining} to pick, {qty_found} found ({pick_list.ref}, order {order.ref})"
    exception = WarehouseException(
        kind="short_pick", ref=order.ref, detail=detail, status="open", created_by=actor.operator_id,
        terminal=actor.terminal,
        data={"pick_list": pick_list.ref, "order": order.ref, "bin": bin_.code, "sku": item.sku,
              "lot": lot.code if lot else None, "expected": remaining, "found": qty_found, "missing": missing},
    )
    session.add(exception)
    count_task = raise_count_task(session, actor, bin_, f"short pick {pick_list.ref}: {item.sku}")
    audit(session, "short_pick", operator=actor.operator, terminal=actor.terminal, detail=detail)
    session.flush()
    return ShortResult(task_view(session, task.id), qty_found, missing, exception.id, count_task.id)


def _release_reservation(session: Session, task: PickTask, item: Item, qty: int) -> None:
    # By its identity, not task.quant_id: a quant emptied and deleted may see its id reused.
    lot = session.get(Lot, task.lot_id) if task.lot_id else None
    quant = find_quant(session, item, session.get(Bin, task.bin_id), lot, None, item.owner_id, AVAILABLE)
    if quant is None or quant.reserved < qty:
        raise InvariantViolation(f"The reservation of {item.sku} in the bin is gone — tell a supervisor")
    quant.reserved -= qty
    if quant.qty == 0 and quant.reserved == 0:
        session.delete(quant)


def raise_count_task(session: Session, actor: Actor, bin_: Bin, reason: str) -> CountTask:
    """An open blind count task for the bin: the one already waiting, else a new one."""
    found = session.scalars(select(CountTask).where(CountTask.bin_id == bin_.id, CountTask.status == "open")
                            .order_by(CountTask.id).limit(1)).first()
    if found is not None:
        return found
    task = CountTask(bin_id=bin_.id, blind=True, status="open", reason=reason[:200], created_by=actor.operator_id)
    session.add(task)
    session.flush()
    return task


def skip(session: Session, actor: Actor, task_id: int) -> TaskView:
    """Defer a task to the end of the walk; returns the task to do now (the same one if it is the last)."""
    task, pick_list = _task(session, actor, task_id)
    last = session.scalar(select(func.max(PickTask.seq)).where(PickTask.pick_list_id == pick_list.id)) or 0
    if task.seq != last:
        task.seq = last + SEQ_STEP
    task.status = "skipped"
    session.flush()
    return next_task(session, actor, pick_list.ref)


def zero_check(session: Session, actor: Actor, task_id: int, empty: bool) -> int | None:
    """The answer to "Bin empty?" after a pick; "no" raises a count task for the bin (returns its id)."""
    task, _ = _task(session, actor, task_id, to_pick=False)
    bin_ = session.get(Bin, task.bin_id)
    if empty:
        return None
    item = session.get(Item, task.item_id)
    count_task = raise_count_task(session, actor, bin_, f"zero check: {bin_.code} not empty after picking {item.sku}")
    audit(session, "zero_check_failed", operator=actor.operator, terminal=actor.terminal,
          detail=f"{bin_.code} empty by the books, not on the shelf (after {item.sku})")
    session.flush()
    return count_task.id


def finish(session: Session, actor: Actor, pick_list_ref: str) -> list[OrderSlot]:
    """Close a pick list whose tasks are all done or short: the list is done, its orders picked."""
    pick_list = _mine(session, actor, _pick_list(session, pick_list_ref, lock=True))
    left = session.scalar(select(func.count()).select_from(PickTask)
                          .where(PickTask.pick_list_id == pick_list.id, PickTask.status.in_(TO_PICK))) or 0
    if left:
        raise NotAllowed(f"{left} task(s) left on {pick_list.ref} — pick them or @SHORT")
    pick_list.status = "done"
    view = pick_list_view(session, pick_list.ref)
    for order in session.scalars(select(OutboundOrder).join(PickListOrder, PickListOrder.order_id == OutboundOrder.id)
                                 .where(PickListOrder.pick_list_id == pick_list.id)):
        if order.status in ("released", "picking"):
            order.status = "picked"
    session.flush()
    return list(view.orders)


def unclaim(session: Session, actor: Actor, pick_list_ref: str) -> None:
    """A supervisor takes a claimed list back so another operator can finish it (audited)."""
    require_supervisor(actor.operator, "take back a pick list")
    pick_list = _pick_list(session, pick_list_ref, lock=True)
    if pick_list.status != "picking":
        raise NotAllowed(f"Pick list {pick_list.ref} is {pick_list.status}, not being picked")
    previous = session.get(Operator, pick_list.claimed_by) if pick_list.claimed_by else None
    pick_list.claimed_by = None
    pick_list.claimed_terminal = None
    pick_list.status = "released"
    audit(session, "pick_list_unclaimed", operator=actor.operator, terminal=actor.terminal,
          detail=f"{pick_list.ref} taken back from {previous.badge if previous else '-'}")
    session.flush()
