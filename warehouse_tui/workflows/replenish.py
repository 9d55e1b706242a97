"""Replenish (@REPLEN): fill pick faces from storage, task by task.

@NEXT takes the next replenishment task — the operator's own open one first,
then the ones a wave waits for, then by priority and age — and claims it for
this operator on this terminal, so no other replenisher is handed it (online,
the claim is taken on the upstream first). The operator's own task open on
another terminal is offered: @YES takes it over here, @NO leaves it. The card
shows the source bin, SKU, suggested lot, quantity and the pick face, then the
operator:

  scans the source bin -> scans the item (a GS1 label answers the lot and qty)
  -> scans the lot if lot-tracked (another lot of that bin is allowed when it
  expires no more than `replen_fefo_tolerance_days` after the suggested one,
  else refused naming it) -> types the qty + Enter (Enter alone = all that is
  left) -> scans the pick face -> moved (one ledger movement, durable before the
  screen says so); pick tasks waiting for the face are released at once.

Moving less than the task asks keeps it open: its source bin is asked for again.
@SHORT at any step of a task: type the qty found + Enter (Enter alone = none):
a count task is raised for the source bin, the units found still go to the face.

Transitions:
  next --@NEXT--> source | take_over | next
  take_over --@YES--> source | next
  take_over --@NO--> next
  source --bin--> item
  item --item--> lot | qty | face
  lot --lot--> qty | face
  qty --qty | Enter (all)--> face
  face --pick face--> source | next
  source --@SHORT--> short_qty
  item --@SHORT--> short_qty
  lot --@SHORT--> short_qty
  qty --@SHORT--> short_qty
  short_qty --qty found | Enter (none)--> face | source | next
  * --@CANCEL--> next | source
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from warehouse_tui.errors import InvalidInput
from warehouse_tui.scan.resolver import Scan, ScanKind
from warehouse_tui.services import clients, replenishment
from warehouse_tui.services.claims import HeldOnAnotherTerminal
from warehouse_tui.workflows.base import Outcome, Prompt, Workflow, kinds, quantity_found
from warehouse_tui.workflows.machine import Machine

WIDTH = 38  # a context line fits a 40-column handheld


class State(enum.StrEnum):
    NEXT = "next"
    TAKE_OVER = "take_over"
    SOURCE = "source"
    ITEM = "item"
    LOT = "lot"
    QTY = "qty"
    FACE = "face"
    SHORT_QTY = "short_qty"


TASK_STATES = ("source", "item", "lot", "qty")
MACHINE = Machine(State, [
    ("next", "@NEXT", "source | take_over | next"),
    ("take_over", "@YES", "source | next"),
    ("take_over", "@NO", "next"),
    ("source", "bin", "item"),
    ("item", "item", "lot | qty | face"),
    ("lot", "lot", "qty | face"),
    ("qty", "qty | Enter (all)", "face"),
    ("face", "pick face", "source | next"),
    *((state, "@SHORT", "short_qty") for state in TASK_STATES),
    ("short_qty", "qty found | Enter (none)", "face | source | next"),
    ("*", "@CANCEL", "next | source"),
])


@dataclass
class Replenish(Workflow):
    initial = State.NEXT
    machine = MACHINE
    write_states = frozenset({State.NEXT, State.TAKE_OVER, State.FACE, State.SHORT_QTY})  # claims, moves, shorts
    task: replenishment.ReplenView | None = None
    lot_code: str | None = None
    qty: int | None = None
    summary: list[str] = field(default_factory=list)
    held: HeldOnAnotherTerminal | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.title = "Replenish"

    # ------------------------------------------------------------------ what the screen shows
    @property
    def prompt(self) -> Prompt:
        t = self.task
        task_commands = ("SHORT",)
        match self.state:
            case State.NEXT:
                return Prompt("@NEXT for the next replenishment", kinds(), ("NEXT",))
            case State.TAKE_OVER:
                return Prompt("Take it over here? @YES / @NO", kinds(), ("YES", "NO"))
            case State.SOURCE:
                return Prompt(f"Scan bin {t.from_bin}", kinds(ScanKind.BIN), task_commands)
            case State.ITEM:
                return Prompt(f"Scan item {t.sku}", kinds(ScanKind.ITEM), task_commands)
            case State.LOT:
                return Prompt(f"Scan lot {t.lot_code}", kinds(ScanKind.LOT), task_commands)
            case State.QTY:
                return Prompt(f"Qty + Enter (Enter = {t.remaining})", kinds(ScanKind.QTY), task_commands, accepts_empty=True)
            case State.FACE:
                return Prompt(f"Put {self.qty} in face {t.to_bin}", kinds(ScanKind.BIN))
            case State.SHORT_QTY:
                return Prompt("Qty found + Enter (Enter = none)", kinds(ScanKind.QTY, ScanKind.TEXT), accepts_empty=True)
        raise AssertionError(self.state)

    def lines(self) -> list[str]:
        t = self.task
        if t is None or self.state in (State.NEXT, State.TAKE_OVER):
            return self.summary
        card = ["A wave waits for this" if t.blocking else "Face at or below min", f"From {t.from_bin}", f"SKU  {t.sku}"]
        card += self.client_in_hand(lambda session: clients.client_shown(session, [t.item_id]))
        if t.description:
            card.append(f"     {t.description}"[:WIDTH])
        lot = self.lot_code or t.lot_code
        if lot:
            card.append(f"Lot  {lot}" + (f" exp {t.expiry:%Y-%m-%d}" if t.expiry and lot == t.lot_code else ""))
        card.append(f"Move {t.remaining} {t.uom}" + (f" ({t.qty_moved} of {t.qty} done)" if t.qty_moved else ""))
        card.append(f"To   {t.to_bin}")
        return card

    # ------------------------------------------------------------------ taking a task
    def cmd_next(self) -> Outcome:
        return self._take(take_over=False)

    def _take(self, *, take_over: bool) -> Outcome:
        try:
            with self.writing() as session:
                task = replenishment.next_task(session, self.terminal.actor, take_over=take_over)
                if task is not None:
                    # Inside the scan's transaction: refused upstream, the local claim is not kept either.
                    self.terminal.claim_upstream("replen_task", task.uuid, take_over=take_over)
        except HeldOnAnotherTerminal as held:
            self.held = held
            self.go(State.TAKE_OVER)
            self.summary = [f"{held}"]
            return Outcome(True, f"{held} — @YES takes it over here, @NO leaves it")
        self.held = None
        if task is None:
            self.task, self.summary = None, ["No replenishment is open."]
            self.go(State.NEXT)
            return Outcome(True, "Nothing to replenish")
        self._start(task)
        return Outcome(True, f"{task.remaining} × {task.sku}: {task.from_bin} -> {task.to_bin}")

    def _start(self, task: replenishment.ReplenView) -> None:
        self.task, self.lot_code, self.qty, self.summary = task, None, None, []
        self.go(State.SOURCE)

    def cmd_yes(self) -> Outcome:
        return self._take(take_over=True)

    def cmd_no(self) -> Outcome:
        held, self.held = self.held, None
        self.go(State.NEXT)
        self.summary = []
        return Outcome(True, f"It stays on terminal {held.terminal}" if held else "")

    # ------------------------------------------------------------------ one task
    def on_source(self, scan: Scan) -> Outcome:
        with self.reading() as session:
            replenishment.check_source(session, self.terminal.actor, self.task.id, scan.bin_code)
        self.go(State.ITEM)
        return Outcome(True, f"Bin {scan.bin_code}")

    def on_item(self, scan: Scan) -> Outcome:
        t = self.task
        with self.reading() as session:
            replenishment.check_item(session, t.id, scan.item_id)
            if t.needs_lot and scan.lot:
                self.lot_code = self._check_lot(session, scan.lot)
        if t.needs_lot and not scan.lot:
            self.go(State.LOT)
            return Outcome(True, t.sku)
        return self._to_qty(scan.qty)

    def on_lot(self, scan: Scan) -> Outcome:
        with self.reading() as session:
            self.lot_code = self._check_lot(session, scan.lot or scan.value)
        return self._to_qty(scan.qty)

    def _check_lot(self, session, code: str) -> str | None:
        days = self.terminal.settings.replen_fefo_tolerance_days
        return replenishment.check_lot(session, self.task.id, code, days)

    def _to_qty(self, qty: int | None) -> Outcome:
        if qty:
            return self._hold(qty)
        self.go(State.QTY)
        return Outcome(True, self.task.sku + (f" lot {self.lot_code}" if self.lot_code else ""))

    def on_qty(self, scan: Scan | None) -> Outcome:
        return self._hold(self.task.remaining if scan is None else scan.qty)

    def _hold(self, qty: int) -> Outcome:
        if qty > self.task.remaining:
            raise InvalidInput(f"Only {self.task.remaining} to move, not {qty} — type {self.task.remaining} or fewer")
        self.qty = qty
        self.go(State.FACE)
        return Outcome(True, f"{qty} × {self.task.sku} — take them to {self.task.to_bin}")

    def on_face(self, scan: Scan) -> Outcome:
        t = self.task
        with self.writing() as session:
            result = replenishment.move(session, self.terminal.actor, t.id, face_code=scan.bin_code, qty=self.qty, item_id=t.item_id,
                                        lot_code=self.lot_code or t.lot_code,
                                        tolerance_days=self.terminal.settings.replen_fefo_tolerance_days)
            message = f"Moved {result.qty} × {t.sku} to {t.to_bin}"
            if result.released:
                message += f" — {result.released} pick(s) released"
            if result.task.remaining > 0:
                self.task, self.lot_code, self.qty = result.task, None, None
                self.go(State.SOURCE)
                return Outcome(True, message + f"; {result.task.remaining} left")
            return self._after_task(session, message)

    def _after_task(self, session, message: str) -> Outcome:
        task = replenishment.next_task(session, self.terminal.actor)
        if task is not None:
            self.terminal.claim_upstream("replen_task", task.uuid)
        if task is None:
            self.task, self.lot_code, self.qty, self.summary = None, None, None, ["No replenishment is open."]
            self.go(State.NEXT)
            return Outcome(True, message)
        self._start(task)
        return Outcome(True, message)

    # ------------------------------------------------------------------ short
    def cmd_short(self) -> Outcome:
        self.go(State.SHORT_QTY)
        return Outcome(True, f"Short: how many {self.task.sku} are in {self.task.from_bin}?")

    def on_short_qty(self, scan: Scan | None) -> Outcome:
        found = quantity_found(scan)
        t = self.task
        with self.writing() as session:
            view = replenishment.short(session, self.terminal.actor, t.id, found)
            message = f"Short {t.remaining - found} × {t.sku} — count task for {t.from_bin}"
            if found:
                self.task, self.qty = view, found
                self.go(State.FACE)
                return Outcome(True, message + f"; take {found} to {t.to_bin}")
            return self._after_task(session, message)

    # ------------------------------------------------------------------ cancel
    def cancel(self) -> Outcome:
        if self.task is None or self.state in (State.NEXT, State.TAKE_OVER):
            self.task, self.held, self.summary = None, None, []
            self.go(State.NEXT)
            return Outcome(True, "Cancelled — @NEXT for a task")
        self.lot_code, self.qty = None, None
        self.go(State.SOURCE)
        return Outcome(True, f"Cancelled — scan bin {self.task.from_bin}")
