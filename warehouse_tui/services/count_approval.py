"""A supervisor's decision on a count that still differs after the recount: post the differences, or leave the books.

Called by services/supervisor.py, which checks the supervisor and owns the transaction.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import Bin, Container, CountLine, CountTask, Item, Lot, Movement, MovementKind, SerialUnit
from warehouse_tui.errors import InvariantViolation, NotAllowed, NotFound
from warehouse_tui.services.counting import APPROVED, REJECTED, REVIEW
from warehouse_tui.services.ledger import Actor, post


def apply_variance(session: Session, actor: Actor, task_id: int) -> list[Movement]:
    """Post the `count` movements that make the books match the final count of a task in review.

    Each line's difference is applied to the book as it is now (see the module
    docstring); serials found elsewhere by the books are moved here, missing ones
    leave the books. The caller has checked the supervisor and owns the transaction.
    """
    task = session.get(CountTask, task_id, with_for_update=True)
    if task is None:
        raise NotFound(f"Count task {task_id} is not known")
    if task.status != REVIEW:
        raise NotAllowed(f"Count task {task.id} is {task.status}, not waiting for a decision")
    bin_ = session.get(Bin, task.bin_id)
    doc = f"COUNT-{task.id}"
    movements: list[Movement] = []
    lines = session.scalars(select(CountLine).where(CountLine.task_id == task.id, CountLine.attempt == task.attempt,
                                                    CountLine.counted != CountLine.expected).order_by(CountLine.id)).all()
    try:
        for line in lines:
            movements += _settle(session, actor, line, bin_, doc)
    except InvariantViolation as exc:
        raise InvariantViolation(f"Cannot post the count: {exc} — reject it and count again") from exc
    task.status = APPROVED
    session.flush()
    return movements


def _settle(session: Session, actor: Actor, line: CountLine, bin_: Bin, doc: str) -> list[Movement]:
    """The movement that applies one line's difference (none when the books have caught up)."""
    item = session.get(Item, line.item_id)
    lot = session.get(Lot, line.lot_id) if line.lot_id else None
    container = session.get(Container, line.container_id) if line.container_id else None
    difference = line.counted - line.expected
    if line.serial is not None:
        movement = _settle_serial(session, actor, item, lot, line.serial, bin_, container, found=difference > 0, doc=doc)
        return [movement] if movement is not None else []
    if difference > 0:
        return [post(session, actor, kind=MovementKind.COUNT, item=item, qty=difference, lot=lot,
                     to_bin=bin_, to_container=container, doc_ref=doc)]
    return [post(session, actor, kind=MovementKind.COUNT, item=item, qty=-difference, lot=lot,
                 from_bin=bin_, from_container=container, doc_ref=doc)]


def _settle_serial(session: Session, actor: Actor, item: Item, lot: Lot | None, serial: str, bin_: Bin,
                   container: Container | None, *, found: bool, doc: str) -> Movement | None:
    unit = session.scalars(select(SerialUnit).where(SerialUnit.item_id == item.id, SerialUnit.serial == serial)).one_or_none()
    in_stock = unit is not None and unit.status == "in_stock"
    here = in_stock and unit.bin_id == bin_.id and unit.container_id == (container.id if container else None)
    if not found:
        if not here:
            return None  # it has left this place by the books since the count: nothing to take off
        return post(session, actor, kind=MovementKind.COUNT, item=item, qty=1, lot=lot, serial=serial, from_bin=bin_,
                    from_container=container, doc_ref=doc)
    if here:
        return None  # the books have caught up since the count
    if in_stock:
        # Found here, on the books elsewhere: one movement corrects both places.
        unit_lot = session.get(Lot, unit.lot_id) if unit.lot_id else None
        return post(session, actor, kind=MovementKind.COUNT, item=item, qty=1, lot=unit_lot, serial=serial,
                    from_bin=session.get(Bin, unit.bin_id),
                    from_container=session.get(Container, unit.container_id) if unit.container_id else None,
                    to_bin=bin_, to_container=container, doc_ref=doc)
    return post(session, actor, kind=MovementKind.COUNT, item=item, qty=1, lot=lot, serial=serial, to_bin=bin_,
                to_container=container, doc_ref=doc)


def reject_variance(session: Session, task_id: int) -> None:
    """Leave the books as they are: the task ends rejected (the reason is on the exception)."""
    task = session.get(CountTask, task_id, with_for_update=True)
    if task is None:
        raise NotFound(f"Count task {task_id} is not known")
    if task.status != REVIEW:
        raise NotAllowed(f"Count task {task.id} is {task.status}, not waiting for a decision")
    task.status = REJECTED
    session.flush()
