"""Cycle counts: create count tasks, count a bin line by line, recount once, leave what still differs to a supervisor.

The rules (DESIGN §5 Count; the scan sequence itself is workflows/count.py):

- A count task covers one whole bin: its loose stock and the LPN/SSCC pallets
  standing in it. Totes and cartons are left out: by the books a tote stands
  at its pick drop bin while it travels on the picker's cart, so a count
  would never find it there; packing verifies their contents instead. Only
  stock of status available is counted.
- Tasks are created (services/count_tasks.py) by a supervisor (bins, a zone, or every bin holding given
  items; blind or not), by `warehouse-tui count create` (whoever can open the
  database file runs the command line, as for imports), or by picking (short
  picks, failed zero checks). A bin has at most one unfinished task: bins
  that already have one are skipped and named.
- Claim: an operator takes the next open task (their own unfinished count
  first, then open tasks in walking order) or scans a bin. Scanning a bin
  with no task counts it anyway (an unplanned, blind count). A task claimed
  by one operator is never handed to another; a supervisor can take the
  claim back (`unclaim`). A claim belongs to the badge on a terminal
  (services/claims.py): the same badge on another terminal is refused, naming
  the terminal that holds the count, until it takes the bin over explicitly
  (`take_over`, audited; the lines counted so far stay); the first terminal
  is then refused, told who took it.
- Counting: each item (+lot, +expiry for dated items, +serial) and quantity
  adds to the line of that item/lot/LPN/serial in the current attempt. Each
  serial scanned is one unit, and a serial counts once per attempt.
- Closing (@DONE): what was not scanned counts as zero. Lines whose count
  differs from the books are a variance. A first variance asks for one
  recount of the whole bin (attempt 2, a fresh set of lines); a variance that
  remains after the recount puts the task in review with an open `variance`
  exception for a supervisor. A count (or recount) that matches the books
  closes the task with no movement. Other open tasks for the bin created
  before this attempt began are closed with it: this count covers them.
- Approval (services/supervisor.py, through services/count_approval.py) posts
  `count` movements (doc COUNT-<id>) for each difference; rejection posts
  nothing and the reason is recorded.
- Blind counts: nothing this module returns to a workflow for a blind task
  carries a book quantity (`CountView.book` and `CloseResult.variances` are
  empty); only the supervisor's queue shows them.

Stock moving while a bin is being counted (the rule that keeps it from making
a false variance): each line is compared with the book quantity **at the
moment the operator entered it**, not at close.

- Every entry stores the book quantity of its item/lot/LPN (or whether the
  serial is here) as `expected`, in the same transaction as the count, so a
  pick or putaway posted before the entry is in both numbers and one posted
  after it is in neither. Entering the same item again refreshes `expected`
  to the book at that entry (movements of an item in the middle of counting
  that same item cannot be told apart; the last entry wins).
- A book position nobody scanned counts as zero. It is a variance only if the
  book was above zero throughout the attempt: the book is replayed from the
  attempt's start (`CountTask.started_at`) through every movement of that
  position posted since. If it was zero at any moment — stock that arrived
  after the operator passed the spot, or left before — a zero count is
  consistent and no line is made. Otherwise its `expected` is the book at close.
  "Since" is by the movements' own time (`Movement.at`, when the goods moved),
  so a movement that reaches this database later through sync still falls on
  the right side of the attempt's start.
- Approval applies each line's difference (counted - expected) to the book as
  it is at approval, so movements posted after the count are kept, not
  overwritten. A difference that can no longer be applied (the stock to take
  off has since left or is reserved for picking) refuses the approval with
  the ledger's reason; the supervisor rejects and counts again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import (
    Bin,
    Container,
    ContainerKind,
    CountLine,
    CountTask,
    Item,
    Lot,
    Movement,
    Operator,
    Quant,
    SerialUnit,
    Tracking,
    WarehouseException,
    quant_key,
    utcnow,
)
from warehouse_tui.errors import InvalidInput, NotAllowed, NotFound
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.auth import audit, require_supervisor
from warehouse_tui.services.claims import held_elsewhere, refuse_if_taken_over, take_over_or_refuse
from warehouse_tui.services.ledger import AVAILABLE, MAX_QTY, Actor, check_qty

OPEN, COUNTING, RECOUNT, REVIEW = "open", "counting", "recount", "review"
APPROVED, REJECTED, CLOSED = "approved", "rejected", "closed"
UNFINISHED = (OPEN, COUNTING, RECOUNT, REVIEW)  # a bin has at most one of these (picking may add another open one)
IN_HAND = (COUNTING, RECOUNT)
MAX_ATTEMPTS = 2  # the count and one recount
PALLETS = (ContainerKind.LPN.value, ContainerKind.SSCC.value)
VARIANCE = "variance"


# --------------------------------------------------------------------------- what the workflow and screens see


@dataclass(frozen=True)
class CountedLine:
    label: str
    counted: int


@dataclass(frozen=True)
class BookLine:
    label: str
    qty: int


@dataclass(frozen=True)
class CountView:
    """A task as the counting operator may see it. `book` is always empty for a blind count."""

    task_id: int
    bin_code: str
    blind: bool
    status: str
    attempt: int
    reason: str | None
    counted: tuple[CountedLine, ...]
    book: tuple[BookLine, ...]


@dataclass(frozen=True)
class VarianceLine:
    sku: str
    lot: str | None
    container: str | None
    serial: str | None
    expected: int
    counted: int

    @property
    def difference(self) -> int:
        return self.counted - self.expected

    @property
    def label(self) -> str:
        return label(self.sku, self.lot, self.container, self.serial)

    def as_data(self) -> dict:
        return {"sku": self.sku, "lot": self.lot, "container": self.container, "serial": self.serial,
                "expected": self.expected, "counted": self.counted}


@dataclass(frozen=True)
class CloseResult:
    """How closing a bin ended: "closed" (matches), "recount" (count again) or "review" (sent to a supervisor).

    `variances` lists the differing lines for a count that is not blind; for a blind
    count it is empty and only `differing` says how many lines differ.
    """

    outcome: str
    view: CountView
    differing: int
    variances: tuple[VarianceLine, ...]
    exception_id: int | None = None


def label(sku: str, lot: str | None = None, container: str | None = None, serial: str | None = None) -> str:
    return sku + (f" lot {lot}" if lot else "") + (f" SN {serial}" if serial else "") + (f" on {container}" if container else "")


def open_tasks(session: Session) -> int:
    """How many count tasks wait for someone to take them."""
    return session.scalar(select(func.count()).select_from(CountTask).where(CountTask.status == OPEN)) or 0


def in_hand(session: Session, actor: Actor) -> list[str]:
    """The bins this operator claimed and has not finished counting (paused, or left by logging out)."""
    if actor.operator_id is None:
        return []
    return list(session.scalars(select(Bin.code).join(CountTask, CountTask.bin_id == Bin.id)
                                .where(CountTask.claimed_by == actor.operator_id, CountTask.status.in_(IN_HAND))
                                .order_by(CountTask.id)))


def next_task(session: Session, actor: Actor) -> CountView:
    """The operator's own unfinished count, else the first open task in walking order, claimed for them.

    Their own count held on another terminal is offered, not handed over: HeldOnAnotherTerminal.
    """
    operator = _counter(actor)
    here_first = case((CountTask.claimed_terminal == actor.terminal, 0), else_=1)
    task = session.scalars(
        select(CountTask).where(CountTask.claimed_by == operator.id, CountTask.status.in_(IN_HAND))
        .order_by(here_first, CountTask.id).limit(1)
    ).first()
    if task is not None:
        _take_over_or_refuse(session, actor, task, take_over=False)
    else:
        task = session.scalars(
            select(CountTask).join(Bin, Bin.id == CountTask.bin_id).where(CountTask.status == OPEN)
            .order_by(Bin.pick_seq, Bin.code, CountTask.id).limit(1).with_for_update()
        ).first()
        if task is None:
            raise NotFound("No count task is open — scan a bin to count it")
        _claim(session, actor, task)
    return _view(session, task)


def start_bin(session: Session, actor: Actor, bin_code: str, *, take_over: bool = False) -> CountView:
    """Count this bin: resume the operator's count of it, claim its open task, or start an unplanned blind count.

    The operator's own count of it held on another terminal is refused (HeldOnAnotherTerminal) unless `take_over`.
    """
    operator = _counter(actor)
    bin_ = md.bin_by_code(session, bin_code)
    tasks = session.scalars(
        select(CountTask).where(CountTask.bin_id == bin_.id, CountTask.status.in_(UNFINISHED)).order_by(CountTask.id).with_for_update()
    ).all()
    for task in tasks:
        if task.status in IN_HAND:
            if task.claimed_by != operator.id:
                other = session.get(Operator, task.claimed_by) if task.claimed_by else None
                raise NotAllowed(f"Bin {bin_.code} is being counted by {other.badge if other else 'someone else'} — scan another bin")
            if _take_over_or_refuse(session, actor, task, take_over=take_over):
                task.claimed_terminal = actor.terminal
            return _view(session, task)
    for task in tasks:
        if task.status == REVIEW:
            raise NotAllowed(f"Bin {bin_.code} waits for a supervisor's decision on its count — scan another bin")
    if tasks:
        task = tasks[0]
    else:
        task = CountTask(bin_id=bin_.id, blind=True, status=OPEN, attempt=0, reason=f"unplanned count by {operator.badge}",
                         created_by=operator.id)
        session.add(task)
        session.flush()
    _claim(session, actor, task)
    return _view(session, task)


def task_uuid(session: Session, task_id: int) -> str:
    """The task's id shared with the upstream (what a claim there names)."""
    return session.get(CountTask, task_id).uuid


def check_claim(session: Session, actor: Actor, task_id: int) -> None:
    """The count is still this operator's on this terminal (a scan on a count taken over elsewhere is refused)."""
    _mine(session, actor, task_id)


def view(session: Session, actor: Actor, task_id: int) -> CountView:
    return _view(session, _mine(session, actor, task_id))


def unclaim(session: Session, actor: Actor, task_id: int) -> None:
    """A supervisor takes a count back from the operator who claimed it (audited); its lines so far are dropped."""
    supervisor = current_supervisor(session, actor, "take back a count task")
    task = session.get(CountTask, task_id, with_for_update=True)
    if task is None:
        raise NotFound(f"Count task {task_id} is not known")
    if task.status not in IN_HAND:
        raise NotAllowed(f"Count task {task_id} is {task.status}, not being counted")
    previous = session.get(Operator, task.claimed_by) if task.claimed_by else None
    for line in session.scalars(select(CountLine).where(CountLine.task_id == task.id)):
        session.delete(line)
    task.status, task.attempt, task.claimed_by, task.claimed_terminal, task.started_at = OPEN, 0, None, None, None
    audit(session, "count_unclaimed", operator=supervisor, terminal=actor.terminal,
          detail=f"count task {task.id} taken back from {previous.badge if previous else '-'}")
    session.flush()


def _claim(session: Session, actor: Actor, task: CountTask) -> None:
    task.status = COUNTING
    task.attempt = 1
    task.claimed_by = actor.operator_id
    task.claimed_terminal = actor.terminal
    task.started_at = utcnow()
    session.flush()


def _take_over_or_refuse(session: Session, actor: Actor, task: CountTask, *, take_over: bool) -> bool:
    """Whether the operator's own count moves here from another terminal (refused unless `take_over`)."""
    if not held_elsewhere(task.claimed_terminal, actor):
        return False
    code = session.get(Bin, task.bin_id).code
    take_over_or_refuse(session, actor, what=f"The count of bin {code}", key=code, claimed_terminal=task.claimed_terminal,
                        take_over=take_over, audit_kind="count_taken_over")
    return True


def _counter(actor: Actor) -> Operator:
    if actor.operator is None:
        raise NotAllowed("Log in to count — scan your badge")
    return actor.operator


def current_supervisor(session: Session, actor: Actor, action: str) -> Operator:
    # The role as stored now, not as it was when the operator logged in.
    current = session.get(Operator, actor.operator_id) if actor.operator_id is not None else None
    return require_supervisor(current if current is not None and current.active else None, action)


def _mine(session: Session, actor: Actor, task_id: int) -> CountTask:
    operator = _counter(actor)
    task = session.get(CountTask, task_id)
    if task is None:
        raise NotFound(f"Count task {task_id} is not known")
    if task.status not in IN_HAND:
        raise NotAllowed(f"Count task {task_id} is {task.status} — take the next count")
    if task.claimed_by != operator.id:
        raise NotAllowed(f"Count task {task_id} is someone else's count — take the next count")
    if held_elsewhere(task.claimed_terminal, actor):
        refuse_if_taken_over(f"The count of bin {session.get(Bin, task.bin_id).code}", task.claimed_terminal, actor)
    return task


# --------------------------------------------------------------------------- counting


def record(session: Session, actor: Actor, task_id: int, *, item_id: int, qty: int | None = 1, lot_code: str | None = None,
           expiry: dt.date | None = None, serial: str | None = None, container_code: str | None = None) -> CountedLine:
    """Add `qty` of an item (a serial: one unit) to the current attempt's count; returns the line's total counted.

    Raises InvalidInput for a missing lot/expiry/serial, a bad qty or a serial already
    counted in this attempt; NotFound/NotAllowed for an LPN that is unknown or stands
    elsewhere by the books.
    """
    task = _mine(session, actor, task_id)
    bin_ = session.get(Bin, task.bin_id)
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound("Item not known — scan the item again")
    container = _container_here(session, bin_, container_code) if container_code else None
    container_id = container.id if container else None
    serial = serial.strip() if serial else None

    if item.is_serial:
        if not serial:
            raise InvalidInput(f"{item.sku} is serial-tracked — scan the serial number")
        if len(serial) > 64:
            raise InvalidInput("Serial number is longer than 64 characters — scan it again")
        qty = 1
        already = session.scalar(select(CountLine.id).where(
            CountLine.task_id == task.id, CountLine.attempt == task.attempt, CountLine.item_id == item.id, CountLine.serial == serial))
        if already is not None:
            raise InvalidInput(f"Serial {serial} is already counted in this bin — scan the next one")
        unit = session.scalars(select(SerialUnit).where(SerialUnit.item_id == item.id, SerialUnit.serial == serial)).one_or_none()
        if unit is not None:  # a known serial keeps its lot, whatever the label in hand says
            lot = session.get(Lot, unit.lot_id) if unit.lot_id else None
        else:
            lot = md.lot(session, item, lot_code, expiry) if lot_code else None
        here = (unit is not None and unit.status == "in_stock" and unit.bin_id == bin_.id and unit.container_id == container_id
                and unit.lot_id == (lot.id if lot else None))
        expected = 1 if here else 0
    else:
        qty = check_qty(qty)
        serial = None
        lot = _lot_for(session, item, lot_code, expiry)
        expected = _book(session, bin_.id, item, lot.id if lot else None, container_id)

    line = session.scalars(select(CountLine).where(
        CountLine.task_id == task.id, CountLine.attempt == task.attempt, CountLine.item_id == item.id,
        _is(CountLine.lot_id, lot.id if lot else None), _is(CountLine.container_id, container_id), _is(CountLine.serial, serial),
    )).one_or_none()
    if line is None:
        line = CountLine(task_id=task.id, attempt=task.attempt, item_id=item.id, lot_id=lot.id if lot else None,
                         container_id=container_id, serial=serial, counted=0, expected=0)
        session.add(line)
    if line.counted + qty > MAX_QTY:
        raise InvalidInput(f"That makes more than {MAX_QTY:,} of {item.sku} — check the quantity")
    line.counted += qty
    # The book at this entry: movements before it are in both numbers, later ones in neither.
    line.expected = expected
    session.flush()
    return CountedLine(label(item.sku, lot.code if lot else None, container.code if container else None, serial), line.counted)


def _lot_for(session: Session, item: Item, lot_code: str | None, expiry: dt.date | None) -> Lot | None:
    from warehouse_tui.services.receiving import expiry_lot_code

    if item.needs_lot:
        if not lot_code:
            raise InvalidInput(f"{item.sku} is lot-tracked — scan the lot")
        lot = md.lot(session, item, lot_code, expiry)
        if item.needs_expiry and lot.expiry is None:
            raise InvalidInput(f"{item.sku} needs an expiry date — type it as YYMMDD")
        return lot
    if item.needs_expiry:
        if expiry is None:
            raise InvalidInput(f"{item.sku} is dated — type the expiry as YYMMDD")
        return md.lot(session, item, expiry_lot_code(expiry), expiry)
    return None  # an untracked item: a lot on its label does not matter


def _container_here(session: Session, bin_: Bin, code: str) -> Container:
    found = session.scalars(select(Container).where(Container.code == code)).one_or_none()
    if found is None:
        raise NotFound(f"LPN {code} is not known — count what is on it as loose stock")
    if found.kind not in PALLETS:
        raise InvalidInput(f"{found.code} is a {found.kind}; totes and cartons are not counted — count its items loose or scan an LPN")
    if found.bin_id != bin_.id:
        where = session.get(Bin, found.bin_id) if found.bin_id else None
        raise NotAllowed(f"{found.code} stands in {where.code if where else 'no bin'} by the books — move it here first (@MOVE), then count it")
    return found


def _is(column, value):
    return column.is_(None) if value is None else column == value


def _book(session: Session, bin_id: int, item: Item, lot_id: int | None, container_id: int | None) -> int:
    key = quant_key(item.id, bin_id, lot_id, container_id, item.owner_id, AVAILABLE)
    return session.scalar(select(Quant.qty).where(Quant.key == key)) or 0


# --------------------------------------------------------------------------- closing


def close_bin(session: Session, actor: Actor, task_id: int) -> CloseResult:
    """@DONE: unscanned stock counts as zero; matches -> closed, first variance -> recount, second -> review."""
    task = _mine(session, actor, task_id)
    bin_ = session.get(Bin, task.bin_id)
    now = utcnow()
    _zero_lines(session, task, bin_, now)
    session.flush()
    differing = _variances(session, task)
    if not differing:
        task.status = CLOSED
        _close_covered(session, task, bin_)
        result = CloseResult("closed", _view(session, task), 0, ())
    elif task.attempt < MAX_ATTEMPTS:
        task.status = RECOUNT
        task.attempt += 1
        task.started_at = now
        result = CloseResult("recount", _view(session, task), len(differing), () if task.blind else tuple(differing))
    else:
        task.status = REVIEW
        _close_covered(session, task, bin_)
        shown = ", ".join(f"{v.label} {v.difference:+d}" for v in differing[:5]) + (" …" if len(differing) > 5 else "")
        exception = WarehouseException(
            kind=VARIANCE, ref=bin_.code, status="open", created_by=actor.operator_id, terminal=actor.terminal,
            detail=f"{bin_.code}: {len(differing)} line(s) differ after the recount (count task {task.id}): {shown}"[:2000],
            data={"count_task": task.id, "attempt": task.attempt, "bin": bin_.code, "blind": task.blind,
                  "lines": [v.as_data() for v in differing]},
        )
        session.add(exception)
        session.flush()
        result = CloseResult("review", _view(session, task), len(differing), () if task.blind else tuple(differing), exception.id)
    session.flush()
    return result


def _zero_lines(session: Session, task: CountTask, bin_: Bin, now: dt.datetime) -> None:
    """A zero line for each book position nobody scanned whose book stayed above zero through the attempt."""
    lines = session.scalars(select(CountLine).where(CountLine.task_id == task.id, CountLine.attempt == task.attempt)).all()
    scanned = {(line.item_id, line.lot_id, line.container_id, line.serial) for line in lines}
    since = task.started_at or now
    positions = session.execute(
        select(Quant.item_id, Quant.lot_id, Quant.container_id, Quant.qty)
        .join(Item, Item.id == Quant.item_id)
        .outerjoin(Container, Container.id == Quant.container_id)
        .where(Quant.bin_id == bin_.id, Quant.status == AVAILABLE, Quant.qty != 0, Quant.owner_id == Item.owner_id,
               Item.tracking != Tracking.SERIAL.value,
               or_(Quant.container_id.is_(None), Container.kind.in_(PALLETS)))
        .order_by(Quant.id)
    ).all()
    for item_id, lot_id, container_id, qty in positions:
        if (item_id, lot_id, container_id, None) in scanned:
            continue
        if not _above_zero_throughout(session, bin_.id, item_id, lot_id, container_id, None, qty, since):
            continue
        session.add(CountLine(task_id=task.id, attempt=task.attempt, item_id=item_id, lot_id=lot_id,
                              container_id=container_id, serial=None, expected=qty, counted=0))
    units = session.execute(
        select(SerialUnit.item_id, SerialUnit.lot_id, SerialUnit.container_id, SerialUnit.serial)
        .outerjoin(Container, Container.id == SerialUnit.container_id)
        .where(SerialUnit.bin_id == bin_.id, SerialUnit.status == "in_stock",
               or_(SerialUnit.container_id.is_(None), Container.kind.in_(PALLETS)))
        .order_by(SerialUnit.id)
    ).all()
    for item_id, lot_id, container_id, serial in units:
        if (item_id, lot_id, container_id, serial) in scanned:
            continue
        if not _above_zero_throughout(session, bin_.id, item_id, lot_id, container_id, serial, 1, since):
            continue
        session.add(CountLine(task_id=task.id, attempt=task.attempt, item_id=item_id, lot_id=lot_id,
                              container_id=container_id, serial=serial, expected=1, counted=0))


def _above_zero_throughout(session: Session, bin_id: int, item_id: int, lot_id: int | None, container_id: int | None,
                           serial: str | None, book_now: int, since: dt.datetime) -> bool:
    """Whether the book of this position was above zero at every moment since `since` (replaying its movements)."""
    query = select(Movement).where(
        Movement.item_id == item_id, Movement.at >= since, _is(Movement.lot_id, lot_id),
        or_(Movement.from_bin_id == bin_id, Movement.to_bin_id == bin_id),
    ).order_by(Movement.seq)
    if serial is not None:
        query = query.where(Movement.serial == serial)
    effects = []
    for m in session.scalars(query):
        effect = 0
        if m.to_bin_id == bin_id and m.to_container_id == container_id and m.to_status == AVAILABLE:
            effect += m.qty
        if m.from_bin_id == bin_id and m.from_container_id == container_id and m.from_status == AVAILABLE:
            effect -= m.qty
        if effect:
            effects.append(effect)
    running = book_now - sum(effects)
    if running <= 0:
        return False
    for effect in effects:
        running += effect
        if running <= 0:
            return False
    return True


def _variances(session: Session, task: CountTask) -> list[VarianceLine]:
    rows = session.execute(
        select(Item.sku, Lot.code, Container.code, CountLine.serial, CountLine.expected, CountLine.counted)
        .join(Item, Item.id == CountLine.item_id)
        .outerjoin(Lot, Lot.id == CountLine.lot_id)
        .outerjoin(Container, Container.id == CountLine.container_id)
        .where(CountLine.task_id == task.id, CountLine.attempt == task.attempt, CountLine.counted != CountLine.expected)
        .order_by(Item.sku, Lot.code, CountLine.serial, CountLine.id)
    ).all()
    return [VarianceLine(*row) for row in rows]


def _close_covered(session: Session, task: CountTask, bin_: Bin) -> None:
    """Open tasks for the bin created before this attempt began are answered by this count."""
    since = task.started_at or utcnow()
    for other in session.scalars(select(CountTask).where(CountTask.bin_id == bin_.id, CountTask.status == OPEN,
                                                         CountTask.id != task.id, CountTask.created_at <= since)):
        other.status = CLOSED
        other.reason = f"{other.reason or ''} (covered by count task {task.id})".strip()[:200]


def _view(session: Session, task: CountTask) -> CountView:
    bin_ = session.get(Bin, task.bin_id)
    rows = session.execute(
        select(Item.sku, Lot.code, Container.code, CountLine.counted)
        .join(Item, Item.id == CountLine.item_id)
        .outerjoin(Lot, Lot.id == CountLine.lot_id)
        .outerjoin(Container, Container.id == CountLine.container_id)
        .where(CountLine.task_id == task.id, CountLine.attempt == task.attempt, CountLine.counted > 0)
        .order_by(CountLine.id)
    ).all()
    counted: dict[str, int] = {}
    for sku, lot, container, qty in rows:  # serials add up per item/lot/LPN
        key = label(sku, lot, container)
        counted[key] = counted.get(key, 0) + qty
    book: tuple[BookLine, ...] = ()
    if not task.blind:
        positions = session.execute(
            select(Item.sku, Lot.code, Container.code, Quant.qty)
            .join(Item, Item.id == Quant.item_id)
            .outerjoin(Lot, Lot.id == Quant.lot_id)
            .outerjoin(Container, Container.id == Quant.container_id)
            .where(Quant.bin_id == bin_.id, Quant.status == AVAILABLE, Quant.qty != 0,
                   or_(Quant.container_id.is_(None), Container.kind.in_(PALLETS)))
            .order_by(Item.sku, Lot.code, Container.code)
        ).all()
        book = tuple(BookLine(label(sku, lot, container), qty) for sku, lot, container, qty in positions)
    return CountView(task.id, bin_.code, task.blind, task.status, task.attempt, task.reason,
                     tuple(CountedLine(k, v) for k, v in counted.items()), book)


def zone_exists(session: Session, zone: str) -> bool:
    return session.scalar(select(Bin.id).where(Bin.zone == zone).limit(1)) is not None
