"""What the picker scans at the pick face: the claim, bin, item, lot or date of a task, and
the change of lot (the picker found another lot of the same date in the bin: the allocation and
its reservation move to it when FEFO is kept there).

Split out of services/picking.py (issue 12), which re-exports every public name here.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from warehouse_tui import clock
from warehouse_tui.db.models import Bin, Item, Lot, PickTask, Quant
from warehouse_tui.errors import InvalidInput, InvariantViolation, NotAllowed
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.auth import audit
from warehouse_tui.services.ledger import AVAILABLE, Actor, find_quant
from warehouse_tui.services.picking_views import TaskView, _task, task_view


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


def _release_reservation(session: Session, task: PickTask, item: Item, qty: int) -> None:
    # By its identity, not task.quant_id: a quant emptied and deleted may see its id reused.
    lot = session.get(Lot, task.lot_id) if task.lot_id else None
    quant = find_quant(session, item, session.get(Bin, task.bin_id), lot, None, item.owner_id, AVAILABLE)
    if quant is None or quant.reserved < qty:
        raise InvariantViolation(f"The reservation of {item.sku} in the bin is gone — tell a supervisor")
    quant.reserved -= qty
    if quant.qty == 0 and quant.reserved == 0:
        session.delete(quant)
