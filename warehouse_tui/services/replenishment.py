"""Replenishment: keep pick faces filled from storage, first-expiry-first-out.

The rules (the scan sequence itself is workflows/replenish.py):

- A pick face is a pick bin with settings (`pick_faces`, imported from
  `pickfaces` CSV: bin,sku,min,max): it holds one SKU and is kept between min
  and max. A face needs replenishing when its stock on hand (loose, available)
  is at or below min and no replenishment to it is open.
- Triggers: a pick that leaves a face at or below min (`after_pick`); a wave
  whose tasks need more from a face than it holds (`plan_for_wave`, called by
  waves.release: the shortfall's pick tasks wait for the face, marked
  `waiting`); `warehouse-tui replenish [--zone Z]` for every face at or below
  min (`replenish_all`).
- Quantity: up to max (max - on hand - what open tasks already bring; at least
  what a wave waits for), taken from storage bins by FEFO as picking allocates
  (lots by expiry, an expired lot never; lots without expiry oldest first;
  then walking order), loose available stock of the item's owner only — never
  quarantine (not a storage bin), a blocked bin or another client's stock. One
  task per source bin and lot; its units are reserved at the source so a wave
  cannot promise them to a picker meanwhile.
- Working a task: claimed by one operator on one terminal like a pick list
  (services/claims.py); wave-blocking tasks first, then priority, then oldest.
  The replenisher scans the source bin, the item, the lot (another lot of the
  source bin is allowed when it expires no more than `tolerance_days` after the
  suggested one, else refused naming the suggested lot), the qty and the pick
  face: one move movement (doc = the task's ref). Moving less keeps the task
  open. Each move releases the face's waiting pick tasks it now covers.
- Short at the source: the units found still go to the face, the rest of the
  reservation is released, a blind count task is raised for the source bin and
  a `short_replen` exception for the supervisor, like a short pick; pick tasks
  still waiting for the face get a new task from another source if one exists.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from warehouse_tui import clock
from warehouse_tui.db.models import (
    Bin,
    BinKind,
    Item,
    Lot,
    MovementKind,
    Operator,
    PickFace,
    PickList,
    PickTask,
    Quant,
    ReplenTask,
    Tracking,
    WarehouseException,
)
from warehouse_tui.errors import InvalidInput, InvariantViolation, NotAllowed, NotFound
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.auth import audit
from warehouse_tui.services.claims import refuse_if_taken_over, take_over_or_refuse
from warehouse_tui.services.ledger import AVAILABLE, Actor, check_qty, find_quant, post

OPEN = "open"
# A replenishment the wave waits for comes before any other.
WAVE_PRIORITY = 100


# --------------------------------------------------------------------------- what the screen shows


@dataclass(frozen=True)
class FaceView:
    bin_code: str
    sku: str
    min_qty: int
    max_qty: int
    on_hand: int
    incoming: int  # what open replenishment tasks still bring


@dataclass(frozen=True)
class ReplenView:
    id: int
    uuid: str
    ref: str
    item_id: int
    sku: str
    description: str
    uom: str
    tracking: str
    lot_code: str | None
    expiry: dt.date | None
    from_bin: str
    to_bin: str
    qty: int
    qty_moved: int
    blocking: bool
    status: str

    @property
    def remaining(self) -> int:
        return self.qty - self.qty_moved

    @property
    def needs_lot(self) -> bool:
        return self.tracking == Tracking.LOT.value or self.lot_code is not None


@dataclass(frozen=True)
class MoveResult:
    task: ReplenView
    qty: int
    lot_code: str | None
    released: int  # pick tasks no longer waiting for the face


@dataclass
class ReplenRun:
    """What `warehouse-tui replenish` did."""

    tasks: list[ReplenView] = field(default_factory=list)
    unfilled: list[str] = field(default_factory=list)  # faces at or below min with no stock in storage

    def render(self) -> str:
        if not self.tasks and not self.unfilled:
            return "No pick face needs replenishing."
        out = [f"Created {len(self.tasks)} replenishment task(s)"] if self.tasks else ["No replenishment task created."]
        for t in self.tasks:
            out.append(f"  {t.ref}  {t.sku}  {t.qty}  {t.from_bin} -> {t.to_bin}" + (f"  lot {t.lot_code}" if t.lot_code else ""))
        if self.unfilled:
            out.append(f"No stock in storage for: {', '.join(self.unfilled)}")
        return "\n".join(out)


# --------------------------------------------------------------------------- faces


def face_of_bin(session: Session, bin_id: int) -> PickFace | None:
    return session.scalars(select(PickFace).where(PickFace.bin_id == bin_id)).one_or_none()


def face_of_item(session: Session, item_id: int) -> PickFace | None:
    """The item's usable pick face (a pick bin, not blocked), if it has one."""
    return session.scalars(
        select(PickFace).join(Bin, Bin.id == PickFace.bin_id)
        .where(PickFace.item_id == item_id, Bin.kind == BinKind.PICK.value, Bin.blocked.is_(False))
        .order_by(Bin.pick_seq, Bin.code).limit(1)
    ).first()


def on_hand(session: Session, face: PickFace) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(Quant.qty), 0)).where(
        Quant.bin_id == face.bin_id, Quant.item_id == face.item_id, Quant.container_id.is_(None),
        Quant.status == AVAILABLE)) or 0)


def incoming(session: Session, face: PickFace) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(ReplenTask.qty - ReplenTask.qty_moved), 0)).where(
        ReplenTask.to_bin_id == face.bin_id, ReplenTask.item_id == face.item_id, ReplenTask.status == OPEN)) or 0)


def face_view(session: Session, bin_: Bin) -> FaceView | None:
    """A bin's pick-face settings and fill, for @INQUIRY; None for a bin that is no face."""
    face = face_of_bin(session, bin_.id)
    if face is None:
        return None
    item = session.get(Item, face.item_id)
    return FaceView(bin_.code, item.sku, face.min_qty, face.max_qty, on_hand(session, face), incoming(session, face))


# --------------------------------------------------------------------------- planning


def source_stock(session: Session, item: Item, today: dt.date, exclude_bins: tuple[int, ...] = ()) -> list[Quant]:
    """Storage quants a face may be filled from, FEFO first, locked for update."""
    query = (
        select(Quant)
        .join(Bin, Bin.id == Quant.bin_id)
        .outerjoin(Lot, Lot.id == Quant.lot_id)
        .where(
            Quant.item_id == item.id, Quant.owner_id == item.owner_id, Quant.container_id.is_(None),
            Quant.status == AVAILABLE, Quant.qty > Quant.reserved,
            Bin.kind == BinKind.STORAGE.value, Bin.blocked.is_(False),
            or_(Quant.lot_id.is_(None), Lot.expiry.is_(None), Lot.expiry >= today),
            Bin.id.not_in(exclude_bins or (-1,)),
        )
        .order_by(Lot.expiry.is_(None), Lot.expiry, Lot.id, Bin.pick_seq, Bin.code, Quant.id)
        .with_for_update(of=Quant)
    )
    return list(session.scalars(query))


def plan(session: Session, actor: Actor, face: PickFace, qty: int, *, blocking: bool = False, reason: str = "",
         today: dt.date | None = None, exclude_bins: tuple[int, ...] = ()) -> list[ReplenTask]:
    """Up to `qty` units for the face from storage by FEFO: one task per source bin and lot, reserved at the source."""
    item = session.get(Item, face.item_id)
    today = today or clock.today()
    tasks: list[ReplenTask] = []
    for quant in source_stock(session, item, today, exclude_bins):
        if qty <= 0:
            break
        take = min(qty, quant.qty - quant.reserved)
        quant.reserved += take
        qty -= take
        task = ReplenTask(item_id=item.id, lot_id=quant.lot_id, from_bin_id=quant.bin_id, to_bin_id=face.bin_id, qty=take,
                          qty_moved=0, blocking=blocking, priority=WAVE_PRIORITY if blocking else 0, status=OPEN,
                          reason=reason[:200] or None)
        session.add(task)
        tasks.append(task)
    session.flush()
    return tasks


def fill_quantity(session: Session, face: PickFace) -> int:
    """How many units bring the face up to max, counting what open tasks already bring."""
    return max(0, face.max_qty - on_hand(session, face) - incoming(session, face))


def needs_replenishing(session: Session, face: PickFace) -> bool:
    return incoming(session, face) == 0 and on_hand(session, face) <= face.min_qty


def after_pick(session: Session, actor: Actor, bin_id: int, item_id: int) -> list[ReplenTask]:
    """A pick left the bin as it is now: a face at or below min (and none on the way) gets its tasks."""
    face = face_of_bin(session, bin_id)
    if face is None or face.item_id != item_id or not needs_replenishing(session, face):
        return []
    return plan(session, actor, face, fill_quantity(session, face), reason=f"pick left {on_hand(session, face)} (min {face.min_qty})")


def plan_for_wave(session: Session, actor: Actor, face: PickFace, need: int, today: dt.date) -> list[tuple[ReplenTask, int]]:
    """A wave needs `need` more units from the face than it holds: blocking tasks bringing them (and the face to max).

    Returns (task, units of it the wave's pick tasks wait for), FEFO order; fewer units than `need` when storage
    has fewer.
    """
    extra = max(0, face.max_qty - on_hand(session, face) - incoming(session, face) - need)
    out = []
    for task in plan(session, actor, face, need + extra, blocking=True, reason="wave needs it", today=today):
        for_wave = min(need, task.qty)
        need -= for_wave
        if for_wave:
            out.append((task, for_wave))
    return out


def replenish_all(session: Session, actor: Actor, zone: str | None = None) -> ReplenRun:
    """Tasks for every face at or below min with nothing on the way (the night shift's `replenish`)."""
    if zone is not None and not session.scalar(select(Bin.id).where(Bin.zone == zone).limit(1)):
        raise NotFound(f"Zone {zone} has no bins — give a zone that exists")
    query = select(PickFace).join(Bin, Bin.id == PickFace.bin_id).where(Bin.blocked.is_(False)).order_by(Bin.pick_seq, Bin.code)
    if zone is not None:
        query = query.where(Bin.zone == zone)
    run = ReplenRun()
    for face in session.scalars(query).all():
        if not needs_replenishing(session, face):
            continue
        tasks = plan(session, actor, face, fill_quantity(session, face), reason="replenish run")
        if tasks:
            run.tasks.extend(task_view(session, t.id) for t in tasks)
        else:
            run.unfilled.append(session.get(Bin, face.bin_id).code)
    if run.tasks:
        audit(session, "replenish_run", operator=actor.operator, terminal=actor.terminal,
              detail=f"{len(run.tasks)} task(s)" + (f" in zone {zone}" if zone else ""))
    session.flush()
    return run


def replenish_from_cli(db, zone: str | None, actor: Actor) -> str:
    """`warehouse-tui replenish [--zone Z]`: one transaction; the summary to print."""
    with db.transaction() as session:
        return replenish_all(session, actor, zone).render()


# --------------------------------------------------------------------------- pick tasks waiting for a face


def release_waiting(session: Session, face_bin_id: int, item_id: int) -> int:
    """Reserve face stock for the pick tasks waiting on it, best first; returns how many stopped waiting.

    A waiting task takes its planned lot when the face has it, else the face's earliest-expiring lot that
    covers it (the replenisher may have brought another lot within the tolerance).
    """
    waiting = session.scalars(
        select(PickTask).join(PickList, PickList.id == PickTask.pick_list_id)
        .where(PickTask.bin_id == face_bin_id, PickTask.item_id == item_id, PickTask.waiting.is_(True),
               PickTask.status.in_(("open", "skipped")))
        .order_by(PickList.priority.desc(), PickList.id, PickTask.seq)
    ).all()
    released = 0
    for task in waiting:
        need = task.qty - task.qty_picked
        quants = session.scalars(
            select(Quant).outerjoin(Lot, Lot.id == Quant.lot_id)
            .where(Quant.bin_id == face_bin_id, Quant.item_id == item_id, Quant.container_id.is_(None),
                   Quant.status == AVAILABLE, Quant.qty - Quant.reserved >= need)
            .order_by((Quant.lot_id == task.lot_id).desc() if task.lot_id else Quant.id, Lot.expiry.is_(None), Lot.expiry, Quant.id)
        ).all()
        if not quants:
            continue
        quant = quants[0]
        quant.reserved += need
        task.lot_id, task.quant_id, task.waiting = quant.lot_id, quant.id, False
        released += 1
    session.flush()
    return released


# --------------------------------------------------------------------------- the replenisher's walk


def task_view(session: Session, task_id: int) -> ReplenView:
    task = session.get(ReplenTask, task_id)
    if task is None:
        raise NotFound("Replenishment task not known — @NEXT for the next one")
    item = session.get(Item, task.item_id)
    lot = session.get(Lot, task.lot_id) if task.lot_id else None
    return ReplenView(task.id, task.uuid, task.ref, item.id, item.sku, item.description, item.uom, item.tracking,
                      lot.code if lot else None, lot.expiry if lot else None, session.get(Bin, task.from_bin_id).code,
                      session.get(Bin, task.to_bin_id).code, task.qty, task.qty_moved, bool(task.blocking), task.status)


def _held_by_other(session: Session, task: ReplenTask) -> str:
    other = session.get(Operator, task.claimed_by)
    return f"{task.ref} is being done by {other.badge if other else 'another operator'}" + \
        (f" on {task.claimed_terminal}" if task.claimed_terminal else "")


def next_task(session: Session, actor: Actor, *, take_over: bool = False) -> ReplenView | None:
    """Claim the next task: this operator's own open one first, then wave-blocking, priority, oldest; None when none is open.

    Raises NotAllowed (not logged in) and HeldOnAnotherTerminal when the operator's own task is open on
    another terminal, unless `take_over` (audited).
    """
    if actor.operator is None:
        raise NotAllowed("Log in to replenish — scan your badge")
    order = (ReplenTask.blocking.desc(), ReplenTask.priority.desc(), ReplenTask.created_at, ReplenTask.id)
    mine = session.scalars(select(ReplenTask).where(ReplenTask.status == OPEN, ReplenTask.claimed_by == actor.operator_id)
                           .order_by(*order).limit(1).with_for_update()).first()
    task = mine or session.scalars(select(ReplenTask).where(ReplenTask.status == OPEN, ReplenTask.claimed_by.is_(None))
                                   .order_by(*order).limit(1).with_for_update()).first()
    if task is None:
        return None
    return claim(session, actor, task.id, take_over=take_over)


def claim(session: Session, actor: Actor, task_id: int, *, take_over: bool = False) -> ReplenView:
    """Claim one task for this operator on this terminal (refused when another operator holds it)."""
    if actor.operator is None:
        raise NotAllowed("Log in to replenish — scan your badge")
    task = session.get(ReplenTask, task_id)
    if task is None:
        raise NotFound("Replenishment task not known — @NEXT for the next one")
    if task.status != OPEN:
        raise NotAllowed(f"{task.ref} is {task.status} already — @NEXT for the next one")
    if task.claimed_by is not None and task.claimed_by != actor.operator_id:
        raise NotAllowed(_held_by_other(session, task) + " — @NEXT for another")
    if task.claimed_by is not None:
        take_over_or_refuse(session, actor, what=f"Replenishment {task.ref}", key=task.uuid,
                            claimed_terminal=task.claimed_terminal, take_over=take_over, audit_kind="replen_taken_over")
    if task.claimed_by != actor.operator_id or task.claimed_terminal != actor.terminal:
        task.claimed_by, task.claimed_terminal = actor.operator_id, actor.terminal
    session.flush()
    return task_view(session, task.id)


def _mine(session: Session, actor: Actor, task_id: int) -> ReplenTask:
    task = session.get(ReplenTask, task_id)
    if task is None:
        raise NotFound("Replenishment task not known — @NEXT for the next one")
    if task.status != OPEN:
        raise NotAllowed(f"{task.ref} is {task.status} already — @NEXT for the next one")
    if task.claimed_by != actor.operator_id:
        raise NotAllowed(_held_by_other(session, task) + " — @NEXT for another")
    refuse_if_taken_over(f"Replenishment {task.ref}", task.claimed_terminal, actor)
    return task


def check_source(session: Session, actor: Actor, task_id: int, bin_code: str) -> None:
    task = _mine(session, actor, task_id)
    got = md.bin_by_code(session, bin_code)
    if got.id != task.from_bin_id:
        raise InvalidInput(f"Wrong bin {got.code} — take from {session.get(Bin, task.from_bin_id).code}")


def check_item(session: Session, task_id: int, item_id: int | None) -> None:
    task = session.get(ReplenTask, task_id)
    if item_id != task.item_id:
        got = session.get(Item, item_id) if item_id else None
        raise InvalidInput(f"That is {got.sku if got else 'another item'} — take {session.get(Item, task.item_id).sku}")


def check_lot(session: Session, task_id: int, lot_code: str | None, tolerance_days: int = 0,
              today: dt.date | None = None) -> str | None:
    """The lot to move: the suggested one, or another in the source bin that keeps FEFO within `tolerance_days`.

    Returns the lot code accepted; raises NotAllowed naming the suggested lot otherwise.
    """
    task = session.get(ReplenTask, task_id)
    want = session.get(Lot, task.lot_id) if task.lot_id else None
    item = session.get(Item, task.item_id)
    if want is None:
        if lot_code:
            raise InvalidInput(f"{item.sku} is moved without a lot here — scan the item")
        return None
    if lot_code == want.code:
        return lot_code
    named = f"take lot {want.code} of {item.sku}" + (f" (exp {want.expiry:%Y-%m-%d})" if want.expiry else "")
    got = session.scalars(select(Lot).where(Lot.item_id == item.id, Lot.code == (lot_code or ""))).one_or_none()
    if got is None:
        raise NotAllowed(f"Lot {lot_code or '(none)'} is not known — {named}")
    quant = find_quant(session, item, session.get(Bin, task.from_bin_id), got, None, item.owner_id, AVAILABLE)
    if quant is None or quant.qty - quant.reserved <= 0:
        raise NotAllowed(f"No free stock of lot {got.code} in {session.get(Bin, task.from_bin_id).code} — {named}")
    today = today or clock.today()
    if got.expiry is not None and got.expiry < today:
        raise NotAllowed(f"Lot {got.code} expired {got.expiry:%Y-%m-%d} — {named}")
    if want.expiry is not None:
        late = None if got.expiry is None else (got.expiry - want.expiry).days
        if late is None or late > tolerance_days:
            days = "no expiry" if late is None else f"{late} days later"
            raise NotAllowed(f"Lot {got.code} breaks FEFO ({days}, {tolerance_days} allowed) — {named}")
    elif got.expiry is not None or got.id < want.id:
        raise NotAllowed(f"Lot {got.code} breaks FEFO — {named}")
    return got.code


def move(session: Session, actor: Actor, task_id: int, *, face_code: str, qty: int, item_id: int,
         lot_code: str | None = None, tolerance_days: int = 0) -> MoveResult:
    """Move `qty` from the task's source bin to its pick face (one movement); waiting picks it covers are released.

    Raises InvalidInput (wrong face, item or qty), NotAllowed (wrong lot, not this operator's task) and
    InvariantViolation (the stock is not there); then nothing changes.
    """
    qty = check_qty(qty)
    task = _mine(session, actor, task_id)
    check_item(session, task.id, item_id)
    lot_code = check_lot(session, task.id, lot_code, tolerance_days)
    face = md.bin_by_code(session, face_code)
    if face.id != task.to_bin_id:
        raise InvalidInput(f"Wrong bin {face.code} — put it in pick face {session.get(Bin, task.to_bin_id).code}")
    if qty > task.remaining:
        raise InvalidInput(f"Only {task.remaining} to move, not {qty} — type {task.remaining} or fewer")
    item = session.get(Item, task.item_id)
    source = session.get(Bin, task.from_bin_id)
    planned = session.get(Lot, task.lot_id) if task.lot_id else None
    lot = planned if planned is None or lot_code == planned.code else md.lot(session, item, lot_code)
    if lot is planned:
        consume = qty
    else:  # another lot: the planned lot's reservation goes, the moved lot must be free
        _unreserve(session, item, source, planned, qty)
        consume = 0
    post(session, actor, kind=MovementKind.MOVE, item=item, qty=qty, lot=lot, from_bin=source, to_bin=face,
         doc_ref=task.ref, consume_reserved=consume)
    task.qty_moved += qty
    if task.qty_moved == task.qty:
        task.status = "done"
    session.flush()
    released = release_waiting(session, face.id, item.id)
    return MoveResult(task_view(session, task.id), qty, lot.code if lot else None, released)


def _unreserve(session: Session, item: Item, bin_: Bin, lot: Lot | None, qty: int) -> None:
    quant = find_quant(session, item, bin_, lot, None, item.owner_id, AVAILABLE)
    if quant is None:
        return
    quant.reserved = max(0, quant.reserved - qty)
    if quant.qty == 0 and quant.reserved == 0:
        session.delete(quant)


def short(session: Session, actor: Actor, task_id: int, found: int) -> ReplenView:
    """The source holds only `found` (0 or more) of what is left: the task shrinks to what can still be moved.

    Releases the missing units' reservation and raises a blind count task for the source bin and a
    short_replen exception; when nothing is left to move the task is short. Pick tasks still waiting for the
    face get new tasks from other sources when storage has more.
    """
    from warehouse_tui.services.picking import raise_count_task

    if isinstance(found, bool) or not isinstance(found, int) or found < 0:
        raise InvalidInput(f"Type the quantity found — a whole number, 0 if none, not {found!r}")
    task = _mine(session, actor, task_id)
    if found >= task.remaining:
        raise InvalidInput(f"{found} is all of it — no short: @CANCEL and move it")
    item = session.get(Item, task.item_id)
    source = session.get(Bin, task.from_bin_id)
    lot = session.get(Lot, task.lot_id) if task.lot_id else None
    missing = task.remaining - found
    _unreserve(session, item, source, lot, missing)
    expected = task.remaining
    if found:
        task.qty -= missing  # the found units are still to move
    else:
        task.status = "short"  # qty stays as planned: the record of what was asked
    what = item.sku + (f" lot {lot.code}" if lot else "")
    detail = f"{what} in {source.code}: {expected} to move, {found} found ({task.ref} to {session.get(Bin, task.to_bin_id).code})"
    session.add(WarehouseException(kind="short_replen", ref=task.ref, detail=detail, status="open", created_by=actor.operator_id,
                                   terminal=actor.terminal, data={"task": task.uuid, "bin": source.code, "sku": item.sku,
                                                                  "lot": lot.code if lot else None, "expected": expected,
                                                                  "found": found, "missing": missing}))
    raise_count_task(session, actor, source, f"short replenishment {task.ref}: {item.sku}")
    audit(session, "short_replen", operator=actor.operator, terminal=actor.terminal, detail=detail)
    session.flush()
    _plan_for_waiting(session, actor, task.to_bin_id, item.id, source.id)
    return task_view(session, task.id)


def _plan_for_waiting(session: Session, actor: Actor, face_bin_id: int, item_id: int, short_bin_id: int) -> None:
    """Pick tasks still waiting for the face beyond what is on the way: plan them from another source (not the short one)."""
    face = face_of_bin(session, face_bin_id)
    if face is None:
        return
    waiting = int(session.scalar(select(func.coalesce(func.sum(PickTask.qty - PickTask.qty_picked), 0)).where(
        PickTask.bin_id == face_bin_id, PickTask.item_id == item_id, PickTask.waiting.is_(True),
        PickTask.status.in_(("open", "skipped")))) or 0)
    free = int(session.scalar(select(func.coalesce(func.sum(Quant.qty - Quant.reserved), 0)).where(
        Quant.bin_id == face_bin_id, Quant.item_id == item_id, Quant.container_id.is_(None), Quant.status == AVAILABLE)) or 0)
    need = waiting - free - incoming(session, face)
    if need > 0:
        plan(session, actor, face, need, blocking=True, reason="short at the source, picks waiting", exclude_bins=(short_bin_id,))

