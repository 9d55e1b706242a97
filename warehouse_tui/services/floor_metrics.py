"""What the supervisor's floor view and the floor reports measure, read from the ledger, the audit log and the counts.

Every function here only reads (a read-only session is enough) and takes the
instant it measures at from its caller, which has it from the app's one clock.
Times are naive UTC, as the database stores them; hours and days are UTC hours
and days.

The measures:

- pick list progress: per released or picking list, its tasks done / short /
  skipped / open, who holds it and minutes since the last movement on its
  orders (its last pick);
- throughput: units and lines picked, units received and shipped, per hour
  of the shift (the last `shift_hours` whole hours, the current one included);
- operator rates: lines and units per hour (movements an operator made by hand:
  receipt, putaway, move, pick, pack, ship), over the last hour and over the
  hours logged in during the shift. Hours logged in come from the audit log
  (login to logout, idle logout or the next login at that terminal), merged
  across terminals, so an operator logged in on two terminals at once is not
  counted twice;
- open exceptions by kind;
- inventory record accuracy from the count lines of the last attempt of the
  counts finished in the last 30 days: the share of lines that matched the
  books and 1 - (units of absolute variance / units counted);
- dock-to-stock: each received unit's time from its receipt to its putaway
  (matched first in, first out per item, lot, owner and the receiving bin or
  LPN it stood in), median and p90 over units;
- lots expiring within N days, with their bins.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import (
    AuditEvent,
    Bin,
    CountLine,
    CountTask,
    Item,
    Lot,
    Movement,
    Operator,
    OutboundOrder,
    PickList,
    PickListOrder,
    PickTask,
    Quant,
    WarehouseException,
)
# putaway_waits is also where the reports find it, beside the other measures.
from warehouse_tui.services.dock_to_stock import putaway_waits, shift_waits  # noqa: F401

# Movements an operator makes by hand: what productivity counts (adjustments and counts are a supervisor's books).
WORK_KINDS = ("receipt", "putaway", "move", "pick", "pack", "ship")
WORKFLOW_OF_KIND = {"receipt": "Receive", "putaway": "Putaway", "move": "Move", "pick": "Pick", "pack": "Pack",
                    "ship": "Pack", "count": "Count", "adjust": "Count"}
SESSION_START = ("login",)
SESSION_END = ("logout", "idle_logout")
# Counts whose result is known: the last attempt's lines are what the books were compared with.
FINISHED_COUNTS = ("closed", "review", "approved", "rejected")
# Exceptions the floor view shows by kind, in this order (others follow by name).
EXCEPTION_ORDER = ("short_pick", "variance", "sync_conflict", "over_receipt")


@dataclass(frozen=True)
class FloorSettings:
    idle_minutes: int = 10
    expiry_days: int = 30
    shift_hours: int = 8
    accuracy_days: int = 30


# --------------------------------------------------------------------------- what is measured


@dataclass(frozen=True)
class ListProgress:
    ref: str
    done: int
    short: int
    skipped: int
    open: int
    holder: str | None
    idle_minutes: int | None  # since the last pick on the list (None: nothing picked yet)
    idle: bool  # held and idle over the limit

    @property
    def total(self) -> int:
        return self.done + self.short + self.skipped + self.open


@dataclass(frozen=True)
class OperatorRate:
    badge: str
    lines_last_hour: int
    units_last_hour: int
    lines_per_hour: float  # over the hours logged in during the shift
    units_per_hour: float
    hours: float
    task: str  # the pick list or count bin held, or the document of the last movement
    workflow: str


@dataclass(frozen=True)
class Accuracy:
    lines: int
    matched: int
    units_counted: int
    abs_variance: int

    @property
    def line_accuracy(self) -> float | None:
        return self.matched / self.lines if self.lines else None

    @property
    def unit_accuracy(self) -> float | None:
        """1 - |variance| / counted; None when nothing was counted."""
        if not self.units_counted:
            return None if not self.abs_variance else 0.0
        return max(0.0, 1 - self.abs_variance / self.units_counted)


@dataclass(frozen=True)
class DockToStock:
    units: int
    median_minutes: float | None
    p90_minutes: float | None


@dataclass(frozen=True)
class ExpiringLot:
    sku: str
    lot: str
    expiry: dt.date
    days_left: int
    qty: int
    by_bin: tuple[tuple[str, int], ...]  # (bin, qty), by bin code

    @property
    def bins(self) -> tuple[str, ...]:
        return tuple(code for code, _qty in self.by_bin)


@dataclass(frozen=True)
class FloorSnapshot:
    as_of: dt.datetime
    lists: tuple[ListProgress, ...]
    hours: tuple[dt.datetime, ...]  # the start of each hour of the shift
    picked_units: tuple[int, ...]
    picked_lines: tuple[int, ...]
    received_units: tuple[int, ...]
    shipped_units: tuple[int, ...]
    operators: tuple[OperatorRate, ...]
    exceptions: tuple[tuple[str, int], ...]
    accuracy: Accuracy
    dock_to_stock: DockToStock
    expiring: tuple[ExpiringLot, ...]  # the soonest EXPIRING_SHOWN
    expiring_total: int  # lots in stock expiring within the days (expired ones included), counted up to EXPIRING_COUNTED + 1


TOPICS = ("lists", "throughput", "operators", "exceptions", "stock")


def measure(db, now: dt.datetime, settings: FloorSettings = FloorSettings(), topics=TOPICS,
            before: FloorSnapshot | None = None) -> FloorSnapshot:
    """One refresh of the floor view: `snapshot` in one read transaction of its own (any thread)."""
    with db.reading() as session:
        return snapshot(session, now, settings, topics, before)


def snapshot(session: Session, now: dt.datetime, settings: FloorSettings = FloorSettings(), topics=TOPICS,
             before: FloorSnapshot | None = None) -> FloorSnapshot:
    """What the floor view shows, as of `now` (naive UTC).

    Only `topics` are measured; the others are taken from `before` (the view
    measures the page it shows, every few seconds) or left empty.
    """
    hours = shift_hours(now, settings.shift_hours)
    start = hours[0]
    fields: dict = {} if before is None else {k: v for k, v in vars(before).items() if k not in ("as_of", "hours")}
    if "lists" in topics:
        fields["lists"] = tuple(list_progress(session, now, settings.idle_minutes))
    if "throughput" in topics or before is None:
        fields.update(throughput(session, hours, now) if "throughput" in topics else _no_throughput(hours))
    if "operators" in topics:
        fields["operators"] = tuple(operator_rates(session, start, now))
    if "exceptions" in topics:
        fields["exceptions"] = tuple(open_exceptions(session))
    if "stock" in topics:
        fields["accuracy"] = accuracy(session, now - dt.timedelta(days=settings.accuracy_days), now)
        fields["dock_to_stock"] = dock_to_stock(session, start, now)
        fields.update(_expiring(session, now.date(), settings.expiry_days))
    empty = {"lists": (), "operators": (), "exceptions": (), "accuracy": Accuracy(0, 0, 0, 0),
             "dock_to_stock": DockToStock(0, None, None), "expiring": (), "expiring_total": 0}
    return FloorSnapshot(as_of=now, hours=hours, **{**empty, **fields})


def _no_throughput(hours) -> dict:
    return {name: (0,) * len(hours) for name in ("picked_units", "picked_lines", "received_units", "shipped_units")}


EXPIRING_SHOWN = 10
# The view counts the lots due up to here and says "more than" beyond: counting every lot due in a big
# warehouse (thousands, each checked for stock) cost more than the rest of the stock page.
EXPIRING_COUNTED = 100


def _expiring(session: Session, today: dt.date, days: int) -> dict:
    """The soonest lots in stock and how many there are: the view shows a page, not every lot of the warehouse.

    Both walk the lots' expiry index (migration 0007_floor_lot_expiry) from the soonest and stop early.
    """
    in_stock = select(Quant.id).where(Quant.item_id == Lot.item_id, Quant.lot_id == Lot.id, Quant.qty > 0).exists()
    due = [Lot.expiry.is_not(None), Lot.expiry <= today + dt.timedelta(days=days), in_stock]
    counted = select(Lot.id).where(*due).order_by(Lot.expiry, Lot.id).limit(EXPIRING_COUNTED + 1).subquery()
    total = session.scalar(select(func.count()).select_from(counted)) or 0
    first = list(session.scalars(select(Lot.id).where(*due).order_by(Lot.expiry, Lot.id).limit(EXPIRING_SHOWN)))
    lots = expiring_lots(session, today, days, lot_ids=first) if first else []
    return {"expiring": tuple(lots), "expiring_total": total}


# --------------------------------------------------------------------------- pick lists


def list_progress(session: Session, now: dt.datetime, idle_minutes: int) -> list[ListProgress]:
    """Released and picking lists, highest priority first: task counts by status, holder, minutes since the last pick."""
    lists = session.execute(
        select(PickList.id, PickList.ref, Operator.badge)
        .outerjoin(Operator, Operator.id == PickList.claimed_by)
        .where(PickList.status.in_(("released", "picking")))
        .order_by(PickList.priority.desc(), PickList.id)).all()
    if not lists:
        return []
    ids = [row.id for row in lists]
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for list_id, status, n in session.execute(
            select(PickTask.pick_list_id, PickTask.status, func.count())
            .where(PickTask.pick_list_id.in_(ids)).group_by(PickTask.pick_list_id, PickTask.status)):
        counts[list_id][status] += n
    # The newest movement on the list's orders (its picks; by then rarely anything else): the highest seq
    # per order comes from the document index alone, then one row per list for its time.
    newest = dict(session.execute(
        select(PickListOrder.pick_list_id, func.max(Movement.seq))
        .join(OutboundOrder, OutboundOrder.id == PickListOrder.order_id)
        .join(Movement, Movement.doc_ref == OutboundOrder.ref)
        .where(PickListOrder.pick_list_id.in_(ids)).group_by(PickListOrder.pick_list_id)).all())
    times = dict(session.execute(select(Movement.seq, Movement.at).where(Movement.seq.in_([v for v in newest.values() if v]))).all())
    last = {list_id: times[seq] for list_id, seq in newest.items() if seq in times}
    out = []
    for row in lists:
        c = counts[row.id]
        minutes = None if row.id not in last else max(0, int((now - last[row.id]).total_seconds() // 60))
        idle = row.badge is not None and minutes is not None and minutes >= idle_minutes
        out.append(ListProgress(row.ref, c["done"], c["short"], c["skipped"], c["open"], row.badge, minutes, idle))
    return out


# --------------------------------------------------------------------------- throughput


def shift_hours(now: dt.datetime, hours: int) -> tuple[dt.datetime, ...]:
    top = now.replace(minute=0, second=0, microsecond=0)
    return tuple(top - dt.timedelta(hours=n) for n in range(max(hours, 1) - 1, -1, -1))


def _hour_key(value) -> str:
    return str(value)[:13]  # "YYYY-MM-DD HH" on SQLite and PostgreSQL alike


def throughput(session: Session, hours: tuple[dt.datetime, ...], now: dt.datetime) -> dict[str, tuple[int, ...]]:
    """Units and lines picked, units received and shipped, per hour of `hours` (up to `now`)."""
    # SQLite stores a DateTime as ISO text: its first 13 characters are the hour.
    hour = func.substr(Movement.at, 1, 13) if _is_sqlite(session) else func.to_char(Movement.at, "YYYY-MM-DD HH24")
    index = {h.strftime("%Y-%m-%d %H"): n for n, h in enumerate(hours)}
    out = {name: [0] * len(hours) for name in ("picked_units", "picked_lines", "received_units", "shipped_units")}
    for when, kind, units, lines in session.execute(
            select(hour, Movement.kind, func.sum(Movement.qty), func.count())
            .where(Movement.at >= hours[0], Movement.at <= now, Movement.kind.in_(("pick", "receipt", "ship")))
            .group_by(hour, Movement.kind)):
        n = index.get(_hour_key(when))
        if n is None:
            continue
        if kind == "pick":
            out["picked_units"][n] += int(units or 0)
            out["picked_lines"][n] += int(lines)
        elif kind == "receipt":
            out["received_units"][n] += int(units or 0)
        else:
            out["shipped_units"][n] += int(units or 0)
    return {name: tuple(values) for name, values in out.items()}


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


# --------------------------------------------------------------------------- operators


def presence(session: Session, start: dt.datetime, end: dt.datetime) -> dict[int, list[tuple[dt.datetime, dt.datetime]]]:
    """Per operator id, the intervals within [start, end) they were logged in anywhere, merged across terminals.

    A session runs from a login to the logout or idle logout at that terminal, or
    to the next login there (the terminal changed hands without a logout), or to
    `end`. Sessions that began up to a day before `start` are found too.
    """
    events = session.execute(
        select(AuditEvent.at, AuditEvent.kind, AuditEvent.operator_id, AuditEvent.terminal)
        .where(AuditEvent.kind.in_(SESSION_START + SESSION_END), AuditEvent.at >= start - dt.timedelta(days=1),
               AuditEvent.at < end)
        .order_by(AuditEvent.at, AuditEvent.id)).all()
    open_at: dict[str, tuple[int, dt.datetime]] = {}
    spans: dict[int, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for at, kind, operator_id, terminal in events:
        held = open_at.pop(terminal, None)
        if held is not None:
            spans[held[0]].append((held[1], at))
        if kind in SESSION_START and operator_id is not None:
            open_at[terminal] = (operator_id, at)
    for operator_id, since in open_at.values():
        spans[operator_id].append((since, end))
    return {op: merged for op, intervals in spans.items() if (merged := _merge(intervals, start, end))}


def _merge(intervals: Iterable[tuple[dt.datetime, dt.datetime]], start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    clipped = sorted((max(a, start), min(b, end)) for a, b in intervals if b > start and a < end)
    out: list[list[dt.datetime]] = []
    for a, b in clipped:
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def hours_in(intervals: Iterable[tuple[dt.datetime, dt.datetime]]) -> float:
    return sum((b - a).total_seconds() for a, b in intervals) / 3600


def operator_rates(session: Session, start: dt.datetime, now: dt.datetime) -> list[OperatorRate]:
    """Operators who worked or were logged in since `start`: their rates, current task and workflow."""
    last_hour = now - dt.timedelta(hours=1)
    work = defaultdict(lambda: [0, 0, 0, 0])  # lines shift, units shift, lines last hour, units last hour
    recent = Movement.at >= last_hour
    for op, lines, units, recent_lines, recent_units in session.execute(
            select(Movement.operator_id, func.count(), func.sum(Movement.qty),
                   func.sum(case((recent, 1), else_=0)), func.sum(case((recent, Movement.qty), else_=0)))
            .where(Movement.at >= start, Movement.at <= now, Movement.kind.in_(WORK_KINDS), Movement.operator_id.is_not(None))
            .group_by(Movement.operator_id)):
        work[op] = [lines, int(units or 0), int(recent_lines or 0), int(recent_units or 0)]
    present = presence(session, start, now)
    ids = set(work) | set(present)
    if not ids:
        return []
    badges = dict(session.execute(select(Operator.id, Operator.badge).where(Operator.id.in_(ids))).all())
    held_lists = dict(session.execute(select(PickList.claimed_by, PickList.ref)
                                      .where(PickList.claimed_by.in_(ids), PickList.status.in_(("released", "picking")))).all())
    held_counts = dict(session.execute(select(CountTask.claimed_by, Bin.code).join(Bin, Bin.id == CountTask.bin_id)
                                       .where(CountTask.claimed_by.in_(ids), CountTask.status.in_(("counting", "recount")))).all())
    latest = {}
    newest = (select(Movement.operator_id, func.max(Movement.seq).label("seq"))
              .where(Movement.operator_id.in_(ids), Movement.at >= start, Movement.at <= now).group_by(Movement.operator_id).subquery())
    for op, kind, ref in session.execute(select(Movement.operator_id, Movement.kind, Movement.doc_ref)
                                         .join(newest, newest.c.seq == Movement.seq)):
        latest[op] = (kind, ref)
    out = []
    for op in ids:
        lines, units, lines_hour, units_hour = work[op]
        hours = hours_in(present.get(op, ()))
        if op in held_lists:
            task, workflow = held_lists[op], "Pick"
        elif op in held_counts:
            task, workflow = held_counts[op], "Count"
        elif op in latest:
            task, workflow = latest[op][1] or "-", WORKFLOW_OF_KIND.get(latest[op][0], latest[op][0])
        else:
            task, workflow = "-", "-"
        out.append(OperatorRate(badges.get(op, str(op)), lines_hour, units_hour, _rate(lines, hours), _rate(units, hours),
                                round(hours, 2), task, workflow))
    out.sort(key=lambda r: (-r.units_last_hour, -r.units_per_hour, r.badge))
    return out


def _rate(amount: int, hours: float) -> float:
    return round(amount / hours, 1) if hours > 0 else 0.0


# --------------------------------------------------------------------------- exceptions


def open_exceptions(session: Session) -> list[tuple[str, int]]:
    found = dict(session.execute(select(WarehouseException.kind, func.count())
                                 .where(WarehouseException.status == "open").group_by(WarehouseException.kind)).all())
    ordered = [(kind, found.pop(kind, 0)) for kind in EXCEPTION_ORDER]
    return ordered + sorted(found.items())


# --------------------------------------------------------------------------- stock health


def count_lines(session: Session, start: dt.datetime, end: dt.datetime, owner_id: int | None = None):
    """(day the last attempt started, expected, counted) of each line of the last attempt of counts finished in [start, end)."""
    when = func.coalesce(CountTask.started_at, CountTask.created_at)
    query = (select(when, CountLine.expected, CountLine.counted)
             .join(CountTask, CountTask.id == CountLine.task_id)
             .where(CountTask.status.in_(FINISHED_COUNTS),
                    # A task's attempt is 0 before counting starts and its lines start at 1.
                    CountLine.attempt == case((CountTask.attempt < 1, 1), else_=CountTask.attempt),
                    when >= start, when < end))
    if owner_id is not None:
        query = query.join(Item, Item.id == CountLine.item_id).where(Item.owner_id == owner_id)
    return session.execute(query).all()


def accuracy_of(lines: Iterable[tuple[int, int]]) -> Accuracy:
    n = matched = counted_units = variance = 0
    for expected, counted in lines:
        n += 1
        matched += expected == counted
        counted_units += counted
        variance += abs(counted - expected)
    return Accuracy(n, matched, counted_units, variance)


def accuracy(session: Session, start: dt.datetime, end: dt.datetime) -> Accuracy:
    return accuracy_of((expected, counted) for _when, expected, counted in count_lines(session, start, end))


def weighted_quantile(samples: list[tuple[float, int]], q: float) -> float | None:
    """The value below which a share `q` of the units lie (nearest rank over units)."""
    total = sum(w for _v, w in samples)
    if not total:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for value, weight in sorted(samples):
        seen += weight
        if seen >= rank:
            return round(value, 1)
    return round(max(v for v, _w in samples), 1)


def dock_to_stock_of(waits: Iterable[tuple[float, int]]) -> DockToStock:
    samples = list(waits)
    return DockToStock(sum(w for _v, w in samples), weighted_quantile(samples, 0.5), weighted_quantile(samples, 0.9))


def dock_to_stock(session: Session, start: dt.datetime, end: dt.datetime,
                  lookback: dt.timedelta = dt.timedelta(days=1)) -> DockToStock:
    """Over the putaways in [start, end), their receipts looked for a day back (the view's shift, refreshed every few seconds).

    The FIFO matching is kept between refreshes and only what was recorded since is folded in (`shift_waits`).
    """
    return dock_to_stock_of((minutes, units) for _at, minutes, units in shift_waits(session, start, end, lookback))


def expiring_lots(session: Session, today: dt.date, days: int, owner_id: int | None = None,
                  since: dt.date | None = None, lot_ids: list[int] | None = None) -> list[ExpiringLot]:
    """Lots in stock expiring on or before today + `days` (expired ones included unless `since`), soonest first."""
    horizon = today + dt.timedelta(days=days)
    query = (select(Item.sku, Lot.code, Lot.expiry, Bin.code, func.sum(Quant.qty))
             # On item and lot: the quants' (item, bin) index finds a lot's stock without one of its own.
             .join(Quant, and_(Quant.item_id == Lot.item_id, Quant.lot_id == Lot.id))
             .join(Item, Item.id == Lot.item_id).join(Bin, Bin.id == Quant.bin_id)
             .where(Lot.expiry.is_not(None), Lot.expiry <= horizon, Quant.qty > 0)
             .group_by(Item.sku, Lot.code, Lot.expiry, Bin.code))
    if since is not None:
        query = query.where(Lot.expiry >= since)
    if lot_ids is not None:
        query = query.where(Lot.id.in_(lot_ids))
    if owner_id is not None:
        query = query.where(Quant.owner_id == owner_id)
    lots: dict[tuple[str, str, dt.date], list] = {}
    for sku, lot, expiry, bin_code, qty in session.execute(query):
        entry = lots.setdefault((sku, lot, expiry), [0, []])
        entry[0] += int(qty)
        entry[1].append((bin_code, int(qty)))
    return [ExpiringLot(sku, lot, expiry, (expiry - today).days, qty, tuple(sorted(bins)))
            for (sku, lot, expiry), (qty, bins) in sorted(lots.items(), key=lambda kv: (kv[0][2], kv[0][0], kv[0][1]))]

