"""Floor view (@FLOOR, ^F), supervisors only: how far the waves are, who is stuck, how fast and how accurate.

The view is pages of pictures drawn in text: pick lists as bars (done █,
short ▒, skipped ░, open ·) with holder and minutes since the last pick (a held
list idle over the limit is marked IDLE); picked units and lines, received and
shipped units as sparklines, one column per hour of the shift; per operator
lines and units in the last hour and per hour logged in, with current task and
workflow; open exceptions by kind; stock health (record accuracy of the last
30 days of counts, dock-to-stock median and p90, lots expiring soon with bins).

At 80 columns a page holds two topics, at 40 columns one. The measures come
from the local database (on a syncing terminal that includes what was pulled
from the others) and are measured off the scan path, in the app's worker
thread (`measure`): a page when it is first shown (it says "measuring…" until
then), and again every few seconds while it is shown; the prompt says as of when.

  @NEXT or n + Enter   next page (p + Enter: the one before)
  1-9 + Enter          on the exceptions page: the supervisor queue, that kind only

A digit leaves for the supervisor queue (the app's navigation), so it is no
transition of this machine.

Transitions:
  view --@NEXT | n | p--> view
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

from warehouse_tui import clock
from warehouse_tui.errors import InvalidInput
from warehouse_tui.scan.resolver import Scan, ScanKind
from warehouse_tui.services import floor_metrics as fm
from warehouse_tui.workflows.base import Outcome, Prompt, Workflow, kinds
from warehouse_tui.workflows.machine import Machine


class State(enum.StrEnum):
    DENIED = "denied"
    VIEW = "view"


MACHINE = Machine(State, [
    ("view", "@NEXT | n | p", "view"),
])

TOPICS = ("lists", "throughput", "operators", "exceptions", "stock")
TOPIC_TITLES = {"lists": "Pick lists", "throughput": "Throughput", "operators": "Operators",
                "exceptions": "Exceptions", "stock": "Stock health"}
WIDE_PAGES = (("lists", "throughput"), ("operators", "exceptions"), ("stock",))
NARROW_PAGES = tuple((topic,) for topic in TOPICS)
SPARKS = "▁▂▃▄▅▆▇█"
# Lines a page may use below the prompt: 80x24 has 14 (two topics), 40x16 about 9.
WIDE_LINES, NARROW_LINES = 14, 9


def settings_of(settings) -> fm.FloorSettings:
    return fm.FloorSettings(idle_minutes=settings.floor_idle_minutes, expiry_days=settings.floor_expiry_days,
                            shift_hours=settings.shift_hours)


def measure(terminal, topics=fm.TOPICS, before: fm.FloorSnapshot | None = None) -> fm.FloorSnapshot:
    """One refresh of `topics` from one read of the local database (safe to run in a worker thread)."""
    return fm.measure(terminal.db, clock.utcnow(), settings_of(terminal.settings), topics, before)


def spark(values: tuple[int, ...]) -> str:
    """One character per value, scaled to the largest; zero is a dot so each hour keeps its column."""
    top = max(values, default=0)
    if top <= 0:
        return "·" * len(values)
    return "".join("·" if v <= 0 else SPARKS[min(len(SPARKS) - 1, (v * len(SPARKS) - 1) // top)] for v in values)


def bar(p: fm.ListProgress, width: int) -> str:
    """done █, short ▒, skipped ░, open ·: each task's share of `width` cells (every non-empty part gets one)."""
    parts = [(p.done, "█"), (p.short, "▒"), (p.skipped, "░"), (p.open, "·")]
    total = p.total or 1
    cells = [max(1, round(n * width / total)) if n else 0 for n, _ch in parts]
    while sum(cells) > width:
        cells[cells.index(max(cells))] -= 1
    while sum(cells) < width and p.total:
        cells[cells.index(max(cells))] += 1
    return "".join(ch * n for n, (_count, ch) in zip(cells, parts)) or "·" * width


@dataclass
class FloorView(Workflow):
    initial = State.VIEW
    machine = MACHINE
    snapshot: fm.FloorSnapshot | None = None
    page: int = 0
    narrow: bool = False
    shown_exceptions: list[str] = field(default_factory=list)
    # When each topic was last measured: the prompt says the oldest of the page's.
    measured_at: dict[str, dt.datetime] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.title = "Floor view"
        if not self.terminal.is_supervisor:
            self.state = State.DENIED  # where it starts for anyone else; no transition leaves it
        # Nothing is measured here (on the UI thread): the app measures the page shown in a worker thread
        # as soon as the view is on screen, and each page when it is first shown; until then it says "measuring…".

    # ------------------------------------------------------------------ layout
    def fit_to(self, width: int, height: int) -> None:
        """The screen's size: below 60 columns one topic per page."""
        narrow = width < 60
        if narrow != self.narrow:
            topic = self.pages[self.page][0] if self.pages else TOPICS[0]
            self.narrow = narrow
            self.page = next(n for n, page in enumerate(self.pages) if topic in page)

    @property
    def pages(self) -> tuple[tuple[str, ...], ...]:
        return NARROW_PAGES if self.narrow else WIDE_PAGES

    def shown_topics(self) -> tuple[str, ...]:
        """What the page on screen shows: a refresh measures these only."""
        return self.pages[self.page]

    def unmeasured(self) -> tuple[str, ...]:
        """Topics of the page on screen not measured yet: the app measures them at once, not at the next refresh."""
        if self.state != State.VIEW:
            return ()
        return tuple(topic for topic in self.shown_topics() if topic not in self.measured_at)

    def updated(self, snapshot: fm.FloorSnapshot, topics=fm.TOPICS) -> None:
        """A new measure of `topics` (the app's refresh measures the page on screen)."""
        self.snapshot = snapshot
        self.measured_at.update({topic: snapshot.as_of for topic in topics})

    # ------------------------------------------------------------------ what the screen shows
    @property
    def prompt(self) -> Prompt:
        if self.state == State.DENIED:
            return Prompt("Supervisors only — @HOME", kinds())
        page = self.pages[self.page]
        times = [self.measured_at[t] for t in page if t in self.measured_at]
        as_of = f"as of {_local(min(times))}" if times else "measuring…"
        name = " + ".join(TOPIC_TITLES[t] for t in page) if not self.narrow else TOPIC_TITLES[page[0]]
        return Prompt(f"{name} {self.page + 1}/{len(self.pages)} · {as_of}", kinds(ScanKind.TEXT), ("NEXT",))

    def lines(self) -> list[str]:
        if self.state == State.DENIED:
            return ["The floor view is for", "supervisor badges only."]
        width = 38 if self.narrow else 78
        page = self.pages[self.page]
        room = (NARROW_LINES if self.narrow else WIDE_LINES) // len(page)
        out: list[str] = []
        for topic in page:
            if self.snapshot is None or topic not in self.measured_at:
                out.append(f"{TOPIC_TITLES[topic]}: measuring…")
                continue
            out += getattr(self, f"_{topic}")(width, room)[:room]
        return [line[:width] for line in out]

    def _lists(self, width: int, room: int) -> list[str]:
        snap = self.snapshot
        limit = self.terminal.settings.floor_idle_minutes
        if self.narrow:
            head = f"█done ▒short ░skip ·open !idle≥{limit}m"
        else:
            head = f"Pick lists: █ done ▒ short ░ skipped · open; IDLE: held, no pick ≥{limit} min"
        if not snap.lists:
            return [head, "No released pick lists"]
        bar_width = 8 if self.narrow else 20
        out = [head]
        shown = snap.lists[:room - 1] if len(snap.lists) <= room - 1 else snap.lists[:room - 2]
        for p in shown:
            idle = "-" if p.idle_minutes is None else f"{p.idle_minutes}m"
            mark = " IDLE" if p.idle else ""
            holder = (p.holder or "-")[:6]
            if self.narrow:
                finished = f"{p.done + p.short + p.skipped}/{p.total}"
                out.append(f"{p.ref[-8:]:8} {bar(p, bar_width)} {finished:5} {holder[:5]:5} {idle}{'!' if p.idle else ''}")
            else:
                out.append(f"{p.ref[:14]:14} {bar(p, bar_width)} {p.done}✔ {p.short}▒ {p.skipped}░ {p.open}· "
                           f"{holder:6} last pick {idle}{mark}")
        if len(shown) < len(snap.lists):
            out.append(f"… and {len(snap.lists) - len(shown)} more")
        return out

    def _throughput(self, width: int, room: int) -> list[str]:
        snap = self.snapshot
        rows = [("Picked u", snap.picked_units), ("Picked l", snap.picked_lines), ("Received", snap.received_units),
                ("Shipped", snap.shipped_units)]
        # One column per hour at 40 columns, three (a bar and a gap) at 80, so the hours line up under their labels.
        cell = 1 if self.narrow else 3
        hours = "".join(_local(h)[:2].ljust(cell) if cell > 1 else _local(h)[1] for h in snap.hours)
        out = [f"{'Per hour':8} {hours} {'shift':>6}"]
        for label, values in rows:
            line = spark(values) if cell == 1 else "".join(ch * (cell - 1) + " " for ch in spark(values))
            out.append(f"{label:8} {line} {sum(values):>6}")
        return out

    def _operators(self, width: int, room: int) -> list[str]:
        snap = self.snapshot
        if not snap.operators:
            return ["Operators: nobody logged in or working"]
        if self.narrow:
            out = ["Who    L/1h U/1h  L/h   U/h"]
            per = 2
        else:
            out = ["Operator  lines/last h  units/last h  lines/h  units/h  task · workflow"]
            per = 1
        shown = snap.operators[:max(1, (room - 1) // per)]
        for r in shown:
            if self.narrow:
                out.append(f"{r.badge[:6]:6} {r.lines_last_hour:>4} {r.units_last_hour:>4} {r.lines_per_hour:>5} {r.units_per_hour:>5}")
                out.append(f"  {r.task[:20]} · {r.workflow}")
            else:
                out.append(f"{r.badge[:9]:9} {r.lines_last_hour:>12} {r.units_last_hour:>13} {r.lines_per_hour:>8} "
                           f"{r.units_per_hour:>8}  {r.task[:14]} · {r.workflow}")
        if len(shown) < len(snap.operators):
            out = out[:room - 1] + [f"… and {len(snap.operators) - len(shown)} more"]
        return out

    def _exceptions(self, width: int, room: int) -> list[str]:
        snap = self.snapshot
        self.shown_exceptions = [kind for kind, _n in snap.exceptions][:9]
        out = ["Open exceptions — number + Enter: queue"]
        for n, (kind, count) in enumerate(snap.exceptions[:9], start=1):
            out.append(f"{n} {kind.replace('_', ' '):18} {count:>5}")
        return out

    def _stock(self, width: int, room: int) -> list[str]:
        snap = self.snapshot
        a, d = snap.accuracy, snap.dock_to_stock
        out = [f"Accuracy 30d: {_pct(a.line_accuracy)} lines match",
               f"  units {_pct(a.unit_accuracy)} of {a.units_counted} (best ≥ 99.9%)",
               f"Dock→stock: median {_minutes(d.median_minutes)} p90 {_minutes(d.p90_minutes)} ({d.units}u)"]
        days = self.terminal.settings.floor_expiry_days
        total = snap.expiring_total if snap.expiring_total <= fm.EXPIRING_COUNTED else f"over {fm.EXPIRING_COUNTED}"
        out.append(f"Expiring within {days}d: {total} lot(s)")
        for lot in snap.expiring[:max(0, room - len(out))]:
            bins = ",".join(lot.bins[:3]) + ("…" if len(lot.bins) > 3 else "")
            out.append(f" {lot.days_left:>3}d {lot.lot[:10]} {lot.sku[:10]} {bins}")
        return out

    # ------------------------------------------------------------------ input
    def on_denied(self, scan: Scan) -> Outcome:
        return Outcome(False, "Supervisors only — scan @HOME")

    def on_view(self, scan: Scan) -> Outcome:
        key = (scan.value or "").strip().lower()
        if key == "n":
            return self.cmd_next()
        if key == "p":
            self.page = (self.page - 1) % len(self.pages)
            return Outcome(True, "")
        if key.isdigit() and "exceptions" in self.pages[self.page]:
            n = int(key)
            if not 1 <= n <= len(self.shown_exceptions):
                raise InvalidInput(f"Type 1 to {len(self.shown_exceptions)} + Enter for a kind of exception")
            kind = self.shown_exceptions[n - 1]
            self.terminal.queue_kind = kind
            return Outcome(True, "", navigate="SUPERVISOR")
        raise InvalidInput("@NEXT or n + Enter: next page; p + Enter: the one before")

    def cmd_next(self) -> Outcome:
        if self.state == State.DENIED:
            return Outcome(False, "Supervisors only — scan @HOME")
        self.page = (self.page + 1) % len(self.pages)
        return Outcome(True, "")


def _local(utc: dt.datetime) -> str:
    """HH:MM on the floor's clock (times are stored as naive UTC)."""
    return utc.replace(tzinfo=dt.timezone.utc).astimezone().strftime("%H:%M")


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.1f}%"


def _minutes(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}m" if value < 120 else f"{value / 60:.1f}h"
