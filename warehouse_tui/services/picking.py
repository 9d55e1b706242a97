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

The pick card and lookups live in picking_views.py, totes and @FULL in picking_totes.py, the
scans at the pick face and the change of lot in picking_face.py; this module re-exports them.
"""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import (
    Bin,
    Container,
    CountTask,
    Item,
    Lot,
    MovementKind,
    Operator,
    OutboundOrder,
    PickList,
    PickListOrder,
    PickTask,
    Quant,
    WarehouseException,
)
from warehouse_tui.errors import InvalidInput, NotAllowed, NotFound
from warehouse_tui.services import replenishment
from warehouse_tui.services.auth import audit, require_supervisor
from warehouse_tui.services.claims import take_over_or_refuse
from warehouse_tui.services.ledger import Actor, check_qty, container_has_stock, post
from warehouse_tui.services.picking_face import (
    _release_reservation,
    change_lot,
    check_bin,
    check_claim,
    check_expiry,
    check_item,
    check_lot,
)
from warehouse_tui.services.picking_totes import assign_tote, tote_full
from warehouse_tui.services.picking_views import (
    FINISHED,
    TO_PICK,
    OrderSlot,
    PickListView,
    PickResult,
    ShortResult,
    TaskView,
    _claimed_by_other,
    _mine,
    _pick_list,
    _slot,
    _task,
    pick_drop_bin,
    pick_list_view,
    task_view,
)
from warehouse_tui.services.waves import SEQ_STEP

__all__ = [
    "FINISHED",
    "TO_PICK",
    "OrderSlot",
    "PickListView",
    "PickResult",
    "ShortResult",
    "TaskView",
    "assign_tote",
    "change_lot",
    "check_bin",
    "check_claim",
    "check_expiry",
    "check_item",
    "check_lot",
    "claim",
    "confirm_pick",
    "finish",
    "next_task",
    "pick_drop_bin",
    "pick_list_view",
    "raise_count_task",
    "short",
    "skip",
    "task_view",
    "tote_full",
    "unclaim",
    "zero_check",
]


# --------------------------------------------------------------------------- claim (totes: picking_totes.py)


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


# --------------------------------------------------------------------------- the walk


def next_task(session: Session, actor: Actor, pick_list_ref: str) -> TaskView | None:
    """The next task to pick in walking order (deferred tasks come last), or None when all are finished."""
    pick_list = _mine(session, actor, _pick_list(session, pick_list_ref))
    task_id = session.scalar(
        select(PickTask.id).where(PickTask.pick_list_id == pick_list.id, PickTask.status.in_(TO_PICK))
        .order_by(PickTask.seq, PickTask.id).limit(1)
    )
    return None if task_id is None else task_view(session, task_id)


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
