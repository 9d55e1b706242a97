"""Count (@COUNT), DESIGN §5.

@NEXT takes the next open count task (the operator's own unfinished count
first, then open tasks in bin walking order), or the operator scans a bin
(its open task, or an unplanned blind count of it). The task is now theirs;
no one else is handed it. Then, for everything in the bin:

  [optional: scan an LPN/SSCC standing in the bin to count what is on it] ->
  scan item -> the lot if lot-tracked, the expiry (YYMMDD) if the item is
  dated and the lot does not say it -> the serial if serial-tracked (each
  serial is one unit; the prompt stays on "next serial" for the same item) ->
  qty + Enter otherwise -> the count adds to that item's line -> back to
  "scan item". A GS1 label answers lot, expiry, serial and qty at once.

@DONE closes the bin: what was not scanned counts as zero. The count matches
the books: the task is closed. It differs: one recount (a step like any other,
shown in green), which starts again at the same bin's "scan item" with nothing
counted. It still differs after the
recount: it goes to the supervisor queue and the operator takes the next bin.

A blind count never shows a book quantity — not while counting, not when it
differs (the screen says a recount is needed, not which line). A count that is
not blind lists the book under the prompt, and the differing lines.

@CANCEL drops the item in hand (back to "scan item"); at "scan item" it drops
the LPN, and with no LPN it pauses the bin: the count stays the operator's,
resumed with @NEXT or by scanning the bin again.

The operator's own count open on another terminal is refused, naming that
terminal, and offered: @YES takes it over here with what was counted so far
(audited; that terminal's next scan on it is refused), @NO leaves it there.

Transitions:
  start --bin | @NEXT--> item
  start --own count open on another terminal (refused)--> take_over
  take_over --@YES--> item
  take_over --@NO--> start
  take_over --bin--> item | take_over
  item --LPN--> item
  item --item--> lot | expiry | serial | qty | item
  lot --lot--> expiry | qty | item
  expiry --date--> qty | item
  qty --qty--> item
  serial --serial--> serial
  serial --item--> lot | expiry | serial | qty | item
  item --@DONE--> start | item
  serial --@DONE--> start | item
  * --@CANCEL--> item | start
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from warehouse_tui.errors import NotFound
from warehouse_tui.scan.resolver import Scan, ScanKind
from warehouse_tui.services import clients, counting, items
from warehouse_tui.services.claims import HeldOnAnotherTerminal
from warehouse_tui.workflows.base import Outcome, Prompt, Workflow, kinds
from warehouse_tui.workflows.item_details import Detail, ItemDetails
from warehouse_tui.workflows.machine import Machine

WIDTH = 38  # a context line fits a 40-column handheld
SHOWN = 5  # counted (and book) lines under the prompt; the newest last


class State(enum.StrEnum):
    START = "start"
    TAKE_OVER = "take_over"
    ITEM = "item"
    LOT = "lot"
    EXPIRY = "expiry"
    SERIAL = "serial"
    QTY = "qty"


MACHINE = Machine(State, [
    ("start", "bin | @NEXT", "item"),
    ("start", "own count open on another terminal (refused)", "take_over"),
    ("take_over", "@YES", "item"),
    ("take_over", "@NO", "start"),
    ("take_over", "bin", "item | take_over"),
    ("item", "LPN", "item"),
    ("item", "item", "lot | expiry | serial | qty | item"),
    ("lot", "lot", "expiry | qty | item"),
    ("expiry", "date", "qty | item"),
    ("qty", "qty", "item"),
    ("serial", "serial", "serial"),
    ("serial", "item", "lot | expiry | serial | qty | item"),
    ("item", "@DONE", "start | item"),
    ("serial", "@DONE", "start | item"),
    ("*", "@CANCEL", "item | start"),
])

# What a line of the count asks, in this order: a serial is the whole line.
ASKS = (Detail.SERIAL, Detail.LOT, Detail.EXPIRY, Detail.QTY)


def _row(what: str, number: str) -> str:
    """One context line: the label cut to fit, the number always whole."""
    room = WIDTH - len(number) - 1
    return f"{what if len(what) <= room else what[:room - 1] + '…'} {number}"


@dataclass
class Count(Workflow):
    initial = State.START
    machine = MACHINE
    write_states = frozenset(State)  # claiming a bin, recording a line, closing the bin: any scan may write
    view: counting.CountView | None = None
    lpn: str | None = None
    goods: ItemDetails | None = None
    serials_counted: int = 0  # of the item in hand since it was scanned: the prompt says "next serial"
    variances: tuple[counting.VarianceLine, ...] = ()
    waiting: int = 0
    mine: list[str] = field(default_factory=list)
    held: HeldOnAnotherTerminal | None = None  # the operator's own count, open on another terminal: take it over?

    def __post_init__(self) -> None:
        super().__post_init__()
        self.title = "Count"
        self._refresh_waiting()

    # ------------------------------------------------------------------ what the screen shows
    @property
    def prompt(self) -> Prompt:
        g = self.goods
        match self.state:
            case State.START:
                return Prompt("Scan bin or @NEXT", kinds(ScanKind.BIN), ("NEXT",))
            case State.TAKE_OVER:
                return Prompt(f"Take {self.held.key} over here? @YES / @NO", kinds(ScanKind.BIN), ("YES", "NO"))
            case State.ITEM:
                return Prompt("Scan item" + ("" if self.lpn else " or LPN"), kinds(ScanKind.ITEM, ScanKind.CONTAINER), ("DONE",))
            case State.LOT:
                return Prompt(f"Scan lot of {g.sku}", kinds(ScanKind.LOT))
            case State.EXPIRY:
                return Prompt(f"Expiry of {g.sku} YYMMDD", kinds(ScanKind.EXPIRY))
            case State.SERIAL:
                text = f"Next serial of {g.sku} or item" if self.serials_counted else f"Scan serial of {g.sku}"
                return Prompt(text, kinds(ScanKind.SERIAL, ScanKind.ITEM), ("DONE",))
            case State.QTY:
                return Prompt(f"Qty of {g.sku} + Enter", kinds(ScanKind.QTY))
        raise AssertionError(self.state)

    def lines(self) -> list[str]:
        v = self.view
        if v is None:
            out = [f"Yours to finish: {', '.join(self.mine)}"[:WIDTH]] if self.mine else []
            out.append(f"{self.waiting} count task(s) open" if self.waiting else "No count task open — scan a bin")
            return out
        head = f"Bin {v.bin_code}" + (" · blind" if v.blind else "") + (" · RECOUNT" if v.status == counting.RECOUNT else "")
        out = [head[:WIDTH]]
        if self.lpn:
            out.append(f"On LPN {self.lpn}"[:WIDTH])
        if self.goods is not None and self.state != State.SERIAL:
            out.append(self.goods.label()[:WIDTH])
        if self.goods is not None:
            g, lpn = self.goods, self.lpn
            out += self.client_in_hand(lambda session: clients.client_of_stock(
                session, bin_code=v.bin_code, lpn=lpn, item_id=g.item_id, lot=g.lot))
        if self.variances:  # never filled for a blind count
            out.append("Differs from the books:")
            out += [_row(x.label, f"{x.counted}/{x.expected}") for x in self.variances[:SHOWN]]
        elif not v.blind and v.book:
            out.append("Book:")
            out += [_row(b.label, str(b.qty)) for b in v.book[:SHOWN]]
        if v.counted:
            out.append(f"Counted {len(v.counted)} line(s):")
            out += [_row(c.label, str(c.counted)) for c in v.counted[-SHOWN:]]
        return out

    # ------------------------------------------------------------------ taking a bin
    def on_start(self, scan: Scan) -> Outcome:
        return self._take(lambda session: counting.start_bin(session, self.terminal.actor, scan.bin_code), False)

    def on_take_over(self, scan: Scan) -> Outcome:
        return self.on_start(scan)  # another bin instead

    def cmd_next(self) -> Outcome:
        return self._take(lambda session: counting.next_task(session, self.terminal.actor), False)

    def cmd_yes(self) -> Outcome:
        code = self.held.key
        return self._take(lambda session: counting.start_bin(session, self.terminal.actor, code, take_over=True), True)

    def cmd_no(self) -> Outcome:
        held, self.held = self.held, None
        self.go(State.START)
        return Outcome(True, f"The count of {held.key} stays on terminal {held.terminal}")

    def _take(self, claim, take_over: bool) -> Outcome:
        try:
            with self.writing() as session:
                self.view = claim(session)
                # Inside the local transaction: refused upstream, the local claim rolls back too.
                if self.terminal.upstream_claim is not None:
                    self.terminal.claim_upstream("count_task", counting.task_uuid(session, self.view.task_id), take_over=take_over)
        except HeldOnAnotherTerminal as held:
            # Nothing was claimed; moving the count here is the operator's explicit choice.
            self.view, self.held = None, held
            self.go(State.TAKE_OVER)
            return Outcome(False, f"{held} — @YES takes it over here, @NO leaves it")
        self.held = None
        return self._begin()

    def _begin(self) -> Outcome:
        self.lpn, self.goods, self.variances = None, None, ()
        self.go(State.ITEM)
        v = self.view
        resumed = " (resumed)" if v.counted else ""
        return Outcome(True, f"Count bin {v.bin_code}{resumed}" + (" — recount" if v.status == counting.RECOUNT else ""))

    # ------------------------------------------------------------------ counting
    def on_item(self, scan: Scan) -> Outcome:
        if scan.kind == ScanKind.CONTAINER:
            if scan.container_id is None:
                raise NotFound(f"LPN {scan.container_code} is not known — count what is on it as loose stock")
            self.lpn = scan.container_code
            return Outcome(True, f"Counting on {scan.container_code}")
        with self.reading() as session:
            counting.check_claim(session, self.terminal.actor, self.view.task_id)
            self.goods = ItemDetails.scanned(items.item_facts(session, scan.item_id), scan)
        self.serials_counted = 0
        return self._advance()

    def on_lot(self, scan: Scan) -> Outcome:
        self.goods.take(Detail.LOT, scan)
        return self._advance()

    def on_expiry(self, scan: Scan) -> Outcome:
        self.goods.take(Detail.EXPIRY, scan)
        return self._advance()

    def on_serial(self, scan: Scan) -> Outcome:
        if scan.kind == ScanKind.ITEM:
            return self.on_item(scan)
        self.goods.take(Detail.SERIAL, scan)
        return self._advance()

    def on_qty(self, scan: Scan) -> Outcome:
        self.goods.take(Detail.QTY, scan)
        return self._advance()

    def _advance(self) -> Outcome:
        g = self.goods
        if g.item.needs_lot and g.lot and g.expiry is None and g.item.needs_expiry:
            # A known lot already has its expiry: don't ask again.
            with self.reading() as session:
                g.expiry = items.known_lot_expiry(session, g.item_id, g.lot)
        missing = g.missing(ASKS)
        if missing is not None:
            self.go(State(missing))
            return Outcome(True, g.sku)
        return self._record()

    def _record(self) -> Outcome:
        g = self.goods
        with self.writing() as session:
            line = counting.record(session, self.terminal.actor, self.view.task_id, item_id=g.item_id, qty=g.qty,
                                   lot_code=g.lot, expiry=g.expiry, serial=g.serial, container_code=self.lpn)
            self.view = counting.view(session, self.terminal.actor, self.view.task_id)
        if g.item.is_serial:
            # Next unit of the same item: the serial prompt stays.
            serial, g.serial, g.lot = g.serial, None, None
            self.serials_counted += 1
            self.go(State.SERIAL)
            return Outcome(True, f"Counted {g.sku} SN {serial}")
        self.goods = None
        self.go(State.ITEM)
        total = f" ({line.counted} in all)" if line.counted != g.qty else ""
        return Outcome(True, f"Counted {g.qty} × {g.label()}{total}")

    # ------------------------------------------------------------------ closing the bin
    def cmd_done(self) -> Outcome:
        with self.writing() as session:
            result = counting.close_bin(session, self.terminal.actor, self.view.task_id)
        code = result.view.bin_code
        self.lpn, self.goods = None, None
        if result.outcome == "recount":
            # A normal step, not a refusal: the count lines are written and the recount starts (red means nothing changed).
            self.view, self.variances = result.view, result.variances
            self.go(State.ITEM)
            return Outcome(True, f"Recount {code}: counts differ — count the bin again")
        self.view, self.variances = None, ()
        self.go(State.START)
        self._refresh_waiting()
        if result.outcome == "closed":
            return Outcome(True, f"{code} matches the books — closed")
        return Outcome(True, f"{code} differs: to supervisor")

    def cancel(self) -> Outcome:
        if self.state in (State.LOT, State.EXPIRY, State.SERIAL, State.QTY):
            self.goods = None
            self.go(State.ITEM)
            return Outcome(True, "Cancelled — scan item")
        if self.state == State.ITEM and self.lpn:
            self.lpn = None
            return Outcome(True, "LPN dropped — counting loose stock")
        if self.state == State.ITEM:
            code = self.view.bin_code
            self.view, self.goods, self.variances = None, None, ()
            self.go(State.START)
            self._refresh_waiting()
            return Outcome(True, f"{code} paused — @NEXT resumes")
        if self.state == State.TAKE_OVER:
            return self.cmd_no()
        return Outcome(True, "Cancelled")

    def _refresh_waiting(self) -> None:
        with self.reading() as session:
            self.waiting = counting.open_tasks(session)
            self.mine = counting.in_hand(session, self.terminal.actor)
