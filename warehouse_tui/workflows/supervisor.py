"""Supervisor (@SUPERVISOR), DESIGN §5 — supervisors only (the services refuse anyone else too).

The screen opens on the queue of open exceptions (variances, short picks,
backorders, sync conflicts), oldest first, one entry highlighted with its
details (a variance lists book vs counted per line). At the queue prompt:

  @YES or a + Enter  approve the entry (a variance posts its adjustments)
  @NO or r + Enter   reject it -> type the reason + Enter (stock unchanged)
  @NEXT or n + Enter the next entry (p + Enter: the one before)
  c + Enter          create counts: scan bins or items, type a zone + Enter,
                     as many as needed; @BLIND toggles blind (off by default,
                     as on the command line); @DONE creates the tasks
  u + Enter          unlock a badge: scan or type it
  h + Enter          history: the last decided exceptions, over-receipts
                     approved at the dock included

@CANCEL from any step goes back to the queue.

Transitions:
  queue --a | @YES--> queue
  queue --r | @NO--> reason
  reason --text--> queue
  reason --decided elsewhere meanwhile (refused)--> queue
  queue --n | p | @NEXT--> queue
  queue --h--> history
  history --any--> queue
  queue --c--> targets
  targets --bin | item | zone | @BLIND--> targets
  targets --@DONE--> queue
  queue --u--> unlock
  unlock --badge--> queue
  reason --@CANCEL--> queue
  targets --@CANCEL--> queue
  unlock --@CANCEL--> queue
  history --@CANCEL--> queue
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from warehouse_tui.errors import InvalidInput, NotAllowed, NotFound, WarehouseError
from warehouse_tui.scan.resolver import Scan, ScanKind
from warehouse_tui.services import counting, items
from warehouse_tui.services import supervisor as svc
from warehouse_tui.workflows.base import Outcome, Prompt, Workflow, kinds
from warehouse_tui.workflows.machine import Machine

WIDTH = 38  # a context line fits a 40-column handheld
FACTS = 4  # lines of an entry's facts shown; the rest as "… and N more"
MENU = "c count · u unlock · h history"


class State(enum.StrEnum):
    DENIED = "denied"
    QUEUE = "queue"
    REASON = "reason"
    TARGETS = "targets"
    UNLOCK = "unlock"
    HISTORY = "history"


MACHINE = Machine(State, [
    ("queue", "a | @YES", "queue"),
    ("queue", "r | @NO", "reason"),
    ("reason", "text", "queue"),
    ("reason", "decided elsewhere meanwhile (refused)", "queue"),
    ("queue", "n | p | @NEXT", "queue"),
    ("queue", "h", "history"),
    ("history", "any", "queue"),
    ("queue", "c", "targets"),
    ("targets", "bin | item | zone | @BLIND", "targets"),
    ("targets", "@DONE", "queue"),
    ("queue", "u", "unlock"),
    ("unlock", "badge", "queue"),
    ("reason", "@CANCEL", "queue"),
    ("targets", "@CANCEL", "queue"),
    ("unlock", "@CANCEL", "queue"),
    ("history", "@CANCEL", "queue"),
])


@dataclass
class Supervisor(Workflow):
    initial = State.QUEUE
    machine = MACHINE
    write_states = frozenset({State.QUEUE, State.REASON, State.TARGETS, State.UNLOCK})
    entries: list[svc.ExceptionView] = field(default_factory=list)
    index: int = 0
    rejecting: int | None = None
    bins: list[str] = field(default_factory=list)
    zones: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    blind: bool = False
    locked: list[str] = field(default_factory=list)
    decided: list[svc.ExceptionView] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.title = "Supervisor"
        if not self.terminal.is_supervisor:
            self.state = State.DENIED  # where it starts for anyone else; no transition leaves it
            return
        self._reload()

    # ------------------------------------------------------------------ what the screen shows
    @property
    def prompt(self) -> Prompt:
        match self.state:
            case State.DENIED:
                return Prompt("Supervisors only — @HOME", kinds())
            case State.QUEUE:
                if self.entries:
                    return Prompt("a approve · r reject · n next", kinds(ScanKind.TEXT), ("YES", "NO", "NEXT"))
                return Prompt("Queue empty — c, u or h + Enter", kinds(ScanKind.TEXT))
            case State.REASON:
                return Prompt("Why rejected? Type + Enter", kinds(ScanKind.TEXT))
            case State.TARGETS:
                return Prompt("Scan bin/item or type zone", kinds(ScanKind.BIN, ScanKind.ITEM, ScanKind.TEXT), ("DONE", "BLIND"))
            case State.UNLOCK:
                return Prompt("Scan badge to unlock", kinds(ScanKind.BADGE))
            case State.HISTORY:
                return Prompt("History — Enter to go back", kinds(ScanKind.TEXT), accepts_empty=True)
        raise AssertionError(self.state)

    def lines(self) -> list[str]:
        match self.state:
            case State.DENIED:
                return ["The supervisor screen is for", "supervisor badges only."]
            case State.QUEUE:
                return self._entry_lines() + [MENU]
            case State.REASON:
                return self._entry_lines()
            case State.TARGETS:
                out = [f"Bins: {', '.join(self.bins)}" if self.bins else "Bins: -"]
                if self.zones:
                    out.append(f"Zone: {', '.join(self.zones)}")
                if self.items:
                    out.append(f"Items: {', '.join(self.items)}")
                out.append(f"Blind: {'yes' if self.blind else 'no'} (@BLIND to change)")
                out.append("@DONE creates the counts")
                return [line[:WIDTH] for line in out]
            case State.UNLOCK:
                return ["Locked: " + ", ".join(self.locked) if self.locked else "No badge is locked"]
            case State.HISTORY:
                if not self.decided:
                    return ["Nothing decided yet"]
                return [f"{e.status[:4]} {e.kind.replace('_', ' ')} {e.ref} {e.resolved_by or ''}".rstrip()[:WIDTH]
                        for e in self.decided]
        return []

    def _entry_lines(self) -> list[str]:
        if not self.entries:
            return ["No open exceptions"]
        e = self.entries[self.index]
        out = [f"{self.index + 1}/{len(self.entries)} {e.title}"[:WIDTH]]
        if e.facts:
            out += [fact[:WIDTH] for fact in e.facts[:FACTS]]
            if len(e.facts) > FACTS:
                out.append(f"… and {len(e.facts) - FACTS} more line(s)")
        else:
            out.append(e.detail)
        out.append(f"by {e.created_by or '-'} {e.terminal} {e.created_at:%d %b %H:%M}"[:WIDTH])
        return out

    # ------------------------------------------------------------------ the queue
    def on_denied(self, scan: Scan) -> Outcome:
        return Outcome(False, "Supervisors only — scan @HOME")

    def on_queue(self, scan: Scan) -> Outcome:
        key = (scan.value or "").strip().lower()
        match key:
            case "a":
                return self.cmd_yes()
            case "r":
                return self.cmd_no()
            case "n":
                return self.cmd_next()
            case "p":
                return self._step(-1)
            case "c":
                self.bins, self.zones, self.items, self.blind = [], [], [], False
                self.go(State.TARGETS)
                return Outcome(True, "New count: scan bins or items, or type a zone")
            case "u":
                with self.reading() as session:
                    self.locked = svc.locked_badges(session, self.terminal.actor)
                self.go(State.UNLOCK)
                return Outcome(True, "Unlock: scan the badge")
            case "h":
                with self.reading() as session:
                    self.decided = svc.history(session, self.terminal.actor, limit=8)
                self.go(State.HISTORY)
                return Outcome(True, "Decided exceptions, newest first")
        if self.entries:
            raise InvalidInput("Type a (approve), r (reject), n (next), c, u or h + Enter")
        raise InvalidInput("Type c (count), u (unlock) or h (history) + Enter")

    def cmd_yes(self) -> Outcome:
        entry = self._current()
        try:
            with self.writing() as session:
                message = svc.approve(session, self.terminal.actor, entry.id)
        except WarehouseError as exc:
            self._reload()  # decided elsewhere meanwhile, maybe: the queue shows what is open now
            return Outcome(False, str(exc))
        self._reload()
        return Outcome(True, message)

    def cmd_no(self) -> Outcome:
        entry = self._current()
        self.rejecting = entry.id
        self.go(State.REASON)
        return Outcome(True, f"Rejecting {entry.ref or entry.kind}")

    def cmd_next(self) -> Outcome:
        return self._step(1)

    def _step(self, by: int) -> Outcome:
        if not self.entries:
            raise NotFound("The queue is empty")
        self.index = (self.index + by) % len(self.entries)
        return Outcome(True, "")

    def on_reason(self, scan: Scan) -> Outcome:
        try:
            with self.writing() as session:
                message = svc.reject(session, self.terminal.actor, self.rejecting, scan.value or "")
        except (NotAllowed, NotFound) as exc:
            # Decided on another terminal meanwhile: back to what is open now.
            self.rejecting = None
            self.go(State.QUEUE)
            self._reload()
            return Outcome(False, str(exc))
        self.rejecting = None
        self.go(State.QUEUE)
        self._reload()
        return Outcome(True, message)

    def on_history(self, scan: Scan | None) -> Outcome:
        self.go(State.QUEUE)
        self._reload()
        return Outcome(True, "")

    def _current(self) -> svc.ExceptionView:
        if not self.entries:
            raise NotFound("The queue is empty — nothing to decide")
        return self.entries[self.index]

    def _reload(self) -> None:
        with self.reading() as session:
            self.entries = svc.queue(session, self.terminal.actor)
        self.index = min(self.index, max(len(self.entries) - 1, 0))

    # ------------------------------------------------------------------ creating counts
    def on_targets(self, scan: Scan) -> Outcome:
        if scan.kind == ScanKind.BIN:
            if scan.bin_code not in self.bins:
                self.bins.append(scan.bin_code)
            return Outcome(True, f"Bin {scan.bin_code} added")
        if scan.kind == ScanKind.ITEM:
            with self.reading() as session:
                sku = items.sku(session, scan.item_id)
            if sku not in self.items:
                self.items.append(sku)
            return Outcome(True, f"Bins holding {sku} added")
        zone = (scan.value or "").strip()
        with self.reading() as session:
            known = counting.zone_exists(session, zone)
        if not known:
            raise NotFound(f"Not a bin, item or zone: {zone[:20]} — scan a bin label")
        if zone not in self.zones:
            self.zones.append(zone)
        return Outcome(True, f"Zone {zone} added")

    def cmd_blind(self) -> Outcome:
        self.blind = not self.blind
        return Outcome(True, "Blind count: no book quantities shown" if self.blind else "Not blind: the book is shown")

    def cmd_done(self) -> Outcome:
        if not (self.bins or self.zones or self.items):
            raise InvalidInput("Scan a bin or item, or type a zone, first")
        with self.writing() as session:
            created, skipped = svc.create_counts_for(session, self.terminal.actor, bins=self.bins, zones=self.zones,
                                                     items=self.items, blind=self.blind)
        self.go(State.QUEUE)
        self._reload()
        message = f"Created {created} {'blind ' if self.blind else ''}count task(s)"
        if skipped:
            message += f"; {len(skipped)} bin(s) already had one"
        return Outcome(created > 0, message)

    # ------------------------------------------------------------------ badges
    def on_unlock(self, scan: Scan) -> Outcome:
        with self.writing() as session:
            message = svc.unlock(session, self.terminal.actor, scan.badge)
        self.go(State.QUEUE)
        return Outcome(True, message)

    def cancel(self) -> Outcome:
        if self.state == State.DENIED:
            return Outcome(False, "Supervisors only — scan @HOME")
        self.rejecting = None
        self.go(State.QUEUE)
        self._reload()
        return Outcome(True, "Back to the queue")
