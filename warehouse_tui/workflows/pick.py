"""Pick (@PICK), DESIGN §5.

Scan a pick list or one of its orders, or @NEXT for the next released list by
priority (the operator's own unfinished list comes first); the list is now
claimed by this operator on this terminal and no one else is handed it. The
operator's own list open on another terminal is refused, naming that terminal,
and offered: @YES takes it over here (audited; that terminal's next scan on it
is refused), @NO leaves it there. Then scan a tote for
each order of the list (a code not yet known becomes a new tote). Then, task by
task in bin walking order, the screen shows the task card — bin, SKU,
description, the allocated lot, the quantity, the order's tote and "task 3/7" —
and the operator:

  scans the bin -> scans the item -> scans the allocated lot if lot-tracked (a
  different lot found in the bin is accepted when no earlier-expiring lot lies
  there, and the allocation moves to it; otherwise refused, naming the right
  one; dated items without lots take the expiry instead) -> types the qty + Enter, or for serial items scans
  one serial per unit -> the units go into the order's tote -> next task.

Picking fewer than the task asks keeps the task: the rest is asked for again.
A GS1 item scan carrying the lot, expiry, serial or quantity answers those
prompts at once.

Exceptional actions at every task prompt:
  @SHORT -> qty found + Enter (Enter alone or 0 = none found): the found units
           are picked, a short-pick exception and a count task for the bin are
           raised, and the walk goes on with the next task.
  @SKIP  -> the task is deferred to the end of the list.
  @FULL  -> the order's tote is full: it stays the order's and goes to
           packing; scan a new empty tote, and the task goes on where it was.
A task whose pick face waits for a wave's replenishment shows "WAITING for
replenishment" on its card and refuses the bin: @SKIP to the next task.
Zero check: when a pick leaves the bin empty by the books the screen asks
"Bin … empty?": @YES goes on, @NO raises a count task for that bin.
When every task is done or short: @DONE closes the list (its orders are
picked) and the totes go to the pack station.

@CANCEL abandons the task's scans so far and goes back to "scan bin" of the
same task (from a tote prompt: back to "scan pick list").

Transitions:
  list --pick list | order | @NEXT--> tote | bin | done
  list --own list open on another terminal (refused)--> take_over
  take_over --@YES--> tote | bin | done
  take_over --@NO--> list
  take_over --pick list | order--> tote | bin | done | take_over
  tote --tote--> tote | bin | done
  bin --bin--> item
  item --item--> lot | expiry | serial | qty | zero | bin | done
  lot --lot--> serial | qty | zero | bin | done
  expiry --date--> qty | zero | bin | done
  serial --serial--> serial | zero | bin | done
  qty --qty--> qty | zero | bin | done
  bin --@SHORT--> short_qty
  item --@SHORT--> short_qty
  lot --@SHORT--> short_qty
  expiry --@SHORT--> short_qty
  serial --@SHORT--> short_qty
  qty --@SHORT--> short_qty
  short_qty --qty found | Enter (none)--> bin | done
  bin --@SKIP--> bin
  item --@SKIP--> bin
  lot --@SKIP--> bin
  expiry --@SKIP--> bin
  serial --@SKIP--> bin
  qty --@SKIP--> bin
  bin --@FULL--> full_tote
  item --@FULL--> full_tote
  lot --@FULL--> full_tote
  expiry --@FULL--> full_tote
  serial --@FULL--> full_tote
  qty --@FULL--> full_tote
  full_tote --new tote--> bin | item | lot | expiry | serial | qty
  zero --@YES | @NO--> serial | qty | bin | done
  done --@DONE--> list
  * --@CANCEL--> list | bin
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from warehouse_tui.errors import InvalidInput
from warehouse_tui.scan.resolver import Scan, ScanKind
from warehouse_tui.scan.types import DocType
from warehouse_tui.services import picking
from warehouse_tui.services.claims import HeldOnAnotherTerminal
from warehouse_tui.workflows.base import Outcome, Prompt, Workflow, fit, kinds, quantity_found
from warehouse_tui.workflows.machine import Machine


class State(enum.StrEnum):
    LIST = "list"
    TAKE_OVER = "take_over"
    TOTE = "tote"
    BIN = "bin"
    ITEM = "item"
    LOT = "lot"
    EXPIRY = "expiry"
    SERIAL = "serial"
    QTY = "qty"
    SHORT_QTY = "short_qty"
    FULL_TOTE = "full_tote"
    ZERO = "zero"
    DONE = "done"


TASK_STATES = ("bin", "item", "lot", "expiry", "serial", "qty")
MACHINE = Machine(State, [
    ("list", "pick list | order | @NEXT", "tote | bin | done"),
    ("list", "own list open on another terminal (refused)", "take_over"),
    ("take_over", "@YES", "tote | bin | done"),
    ("take_over", "@NO", "list"),
    ("take_over", "pick list | order", "tote | bin | done | take_over"),
    ("tote", "tote", "tote | bin | done"),
    ("bin", "bin", "item"),
    ("item", "item", "lot | expiry | serial | qty | zero | bin | done"),
    ("lot", "lot", "serial | qty | zero | bin | done"),
    ("expiry", "date", "qty | zero | bin | done"),
    ("serial", "serial", "serial | zero | bin | done"),
    ("qty", "qty", "qty | zero | bin | done"),
    *((state, "@SHORT", "short_qty") for state in TASK_STATES),
    ("short_qty", "qty found | Enter (none)", "bin | done"),
    *((state, "@SKIP", "bin") for state in TASK_STATES),
    *((state, "@FULL", "full_tote") for state in TASK_STATES),
    ("full_tote", "new tote", " | ".join(TASK_STATES)),
    ("zero", "@YES | @NO", "serial | qty | bin | done"),
    ("done", "@DONE", "list"),
    ("*", "@CANCEL", "list | bin"),
])
TASK_COMMANDS = ("SHORT", "SKIP", "FULL")
WIDTH = 38  # a context line fits a 40-column handheld


@dataclass
class Pick(Workflow):
    initial = State.LIST
    machine = MACHINE
    write_states = frozenset(State)  # claims, totes, picks, shorts, skips, zero checks: any scan may write
    view: picking.PickListView | None = None
    order_for_tote: str | None = None
    task: picking.TaskView | None = None
    summary: list[str] = field(default_factory=list)
    held: HeldOnAnotherTerminal | None = None  # the operator's own list, open on another terminal: take it over?
    resume: str = State.BIN  # the step a full tote's replacement goes back to

    def __post_init__(self) -> None:
        super().__post_init__()
        self.title = "Pick"

    # ------------------------------------------------------------------ prompts
    @property
    def prompt(self) -> Prompt:
        t = self.task
        match self.state:
            case State.LIST:
                return Prompt("Scan pick list or order, or @NEXT", kinds(ScanKind.DOCUMENT), ("NEXT",))
            case State.TAKE_OVER:
                return Prompt(f"Take {self.held.key} over here? @YES / @NO", kinds(ScanKind.DOCUMENT), ("YES", "NO"))
            case State.TOTE:
                return Prompt(f"Scan tote for {self.order_for_tote}", kinds(ScanKind.CONTAINER))
            case State.BIN if t.waiting:
                return Prompt("Waiting for replenishment — @SKIP", kinds(ScanKind.BIN), TASK_COMMANDS)
            case State.BIN:
                return Prompt(f"Scan bin {t.bin_code}", kinds(ScanKind.BIN), TASK_COMMANDS)
            case State.ITEM:
                return Prompt(f"Scan item {t.sku}", kinds(ScanKind.ITEM), TASK_COMMANDS)
            case State.LOT:
                return Prompt(f"Scan lot {t.lot_code}", kinds(ScanKind.LOT), TASK_COMMANDS)
            case State.EXPIRY:
                return Prompt(f"Expiry {t.expiry:%y%m%d} + Enter", kinds(ScanKind.EXPIRY), TASK_COMMANDS)
            case State.SERIAL:
                return Prompt(f"Scan serial {t.qty_picked + 1}/{t.qty}", kinds(ScanKind.SERIAL), TASK_COMMANDS)
            case State.QTY:
                return Prompt(f"Qty + Enter ({t.remaining} to pick)", kinds(ScanKind.QTY), TASK_COMMANDS)
            case State.FULL_TOTE:
                return Prompt(f"Scan new tote for {t.order_ref}", kinds(ScanKind.CONTAINER))
            case State.SHORT_QTY:
                return Prompt("Qty found + Enter (Enter = none)", kinds(ScanKind.QTY, ScanKind.TEXT), accepts_empty=True)
            case State.ZERO:
                return Prompt(f"Bin {t.bin_code} empty? @YES / @NO", kinds(), ("YES", "NO"))
            case State.DONE:
                return Prompt("All picked — @DONE to finish", kinds(), ("DONE",))
        raise AssertionError(self.state)

    def lines(self) -> list[str]:
        if self.state == State.LIST:
            return self.summary
        if self.state in (State.TOTE, State.DONE):
            head = f"{self.view.ref}: {len(self.view.orders)} order(s)"
            return [head] + [f"{s.order_ref:<12} {s.tote_code or '(scan tote)'}" for s in self.view.orders]
        t = self.task
        card = [
            f"{t.pick_list_ref}  task {t.number}/{t.total}",
            f"Bin  {t.bin_code}",
            fit(f"SKU  {t.sku}" + (f" · client {t.owner}" if t.owner else ""), WIDTH),
        ]
        if t.description:
            card.append(f"     {t.description}"[:WIDTH])
        if t.lot_code and not t.needs_expiry:
            card.append(f"Lot  {t.lot_code}" + (f" exp {t.expiry:%Y-%m-%d}" if t.expiry else ""))
        elif t.expiry:
            card.append(f"Exp  {t.expiry:%Y-%m-%d}")
        if t.remaining:
            card.append(f"Pick {t.remaining} {t.uom}" + (f" ({t.qty_picked} of {t.qty} done)" if t.qty_picked else ""))
        else:  # the zero check after the last unit: nothing is left to pick here
            card.append(f"Picked {t.qty_picked} {t.uom}")
        card.append(f"Into {t.tote_code} ({t.order_ref})"[:WIDTH])
        if t.waiting:
            card.append("WAITING for replenishment")
        return card

    # ------------------------------------------------------------------ the pick list and totes
    def on_list(self, scan: Scan) -> Outcome:
        if scan.doc_type not in (DocType.PICKLIST, DocType.OUTBOUND):
            raise InvalidInput(f"{scan.document} is a PO/ASN — scan a pick list or order")
        return self._claim(scan.document)

    def on_take_over(self, scan: Scan) -> Outcome:
        return self.on_list(scan)  # another list instead

    def cmd_next(self) -> Outcome:
        return self._claim(None)

    def _claim(self, ref: str | None, *, take_over: bool = False) -> Outcome:
        try:
            with self.writing() as session:
                self.view = picking.claim(session, self.terminal.actor, ref, take_over=take_over)
                # Inside the local transaction: refused upstream, the local claim rolls back too.
                self.terminal.claim_upstream("pick_list", self.view.ref, take_over=take_over)
                self.summary, self.held = [], None
                message = f"{self.view.ref}: {len(self.view.orders)} order(s), {self.view.total - self.view.finished} task(s) to pick"
                return self._after_totes(session, message)
        except HeldOnAnotherTerminal as held:
            # Nothing was claimed; moving the list here is the operator's explicit choice.
            self.view, self.held = None, held
            self.go(State.TAKE_OVER)
            return Outcome(False, f"{held} — @YES takes it over here, @NO leaves it")

    def on_tote(self, scan: Scan) -> Outcome:
        with self.writing() as session:
            self.view = picking.assign_tote(session, self.terminal.actor, self.view.ref, self.order_for_tote, scan.container_code)
            return self._after_totes(session, f"{self.order_for_tote} picks into {scan.container_code}")

    def _after_totes(self, session, message: str) -> Outcome:
        self.order_for_tote = self.view.order_without_tote
        if self.order_for_tote is not None:
            self.go(State.TOTE)
            return Outcome(True, message)
        return self._next_task(session, message)

    def _next_task(self, session, message: str) -> Outcome:
        self.task = picking.next_task(session, self.terminal.actor, self.view.ref)
        if self.task is None:
            self.view = picking.pick_list_view(session, self.view.ref)
            self.go(State.DONE)
        else:
            self.go(State.BIN)
        return Outcome(True, message)

    # ------------------------------------------------------------------ one task
    def on_bin(self, scan: Scan) -> Outcome:
        with self.reading() as session:
            picking.check_claim(session, self.terminal.actor, self.task.id)
            picking.check_bin(session, self.task.id, scan.bin_code)
            if self.task.waiting:  # its face was filled meanwhile
                self.task = picking.task_view(session, self.task.id)
        self.go(State.ITEM)
        return Outcome(True, f"Bin {scan.bin_code}")

    def on_item(self, scan: Scan) -> Outcome:
        t = self.task
        with self.reading() as session:
            picking.check_claim(session, self.terminal.actor, t.id)
            picking.check_item(session, t.id, scan.item_id)
            # A GS1 label answers the lot or expiry prompt at once, and is checked just the same.
            if t.needs_expiry and scan.expiry:
                picking.check_expiry(session, t.id, scan.expiry)
        if t.needs_lot and scan.lot:
            changed = self._take_lot(scan.lot)
            if changed:
                return self._to_units(scan.serial, scan.qty, changed)
        if t.needs_lot and not scan.lot:
            self.go(State.LOT)
            return Outcome(True, t.sku)
        if t.needs_expiry and t.expiry and not scan.expiry:
            self.go(State.EXPIRY)
            return Outcome(True, t.sku)
        return self._to_units(scan.serial, scan.qty)

    def on_lot(self, scan: Scan) -> Outcome:
        return self._to_units(scan.serial, scan.qty, self._take_lot(scan.lot or scan.value))

    def _take_lot(self, code: str) -> str | None:
        """The allocated lot is checked; another lot found in the bin takes the allocation when FEFO allows (a message)."""
        t = self.task
        if code == t.lot_code:
            with self.reading() as session:
                picking.check_claim(session, self.terminal.actor, t.id)
                picking.check_lot(session, t.id, code)
            return None
        with self.writing() as session:
            self.task = picking.change_lot(session, self.terminal.actor, t.id, code)
        return f"Lot {code} instead of {t.lot_code}"

    def on_expiry(self, scan: Scan) -> Outcome:
        with self.reading() as session:
            picking.check_claim(session, self.terminal.actor, self.task.id)
            picking.check_expiry(session, self.task.id, scan.expiry)
        return self._to_units(None, scan.qty)

    def _to_units(self, serial: str | None, qty: int | None, message: str | None = None) -> Outcome:
        """The item (and lot) are confirmed: pick what the scan carried, else ask for serial or qty."""
        if self.task.serial:
            if serial:
                return self._pick(1, serial)
            self.go(State.SERIAL)
            return Outcome(True, message or self.task.sku)
        if qty:
            return self._pick(qty, None)
        self.go(State.QTY)
        return Outcome(True, message or self.task.sku)

    def on_serial(self, scan: Scan) -> Outcome:
        return self._pick(1, scan.serial or scan.value)

    def on_qty(self, scan: Scan) -> Outcome:
        return self._pick(scan.qty, None)

    def _pick(self, qty: int, serial: str | None) -> Outcome:
        t = self.task
        with self.writing() as session:
            result = picking.confirm_pick(session, self.terminal.actor, t.id, bin_code=t.bin_code, item_id=t.item_id,
                                          qty=qty, lot_code=t.lot_code, serial=serial)
            self.task = result.task
            what = f"Picked {qty} × {t.sku}" + (f" SN {serial}" if serial else "") + f" into {t.tote_code}"
            if result.bin_empty:
                self.go(State.ZERO)
                return Outcome(True, what)
            if result.task.remaining > 0:
                self.go(State.SERIAL if t.serial else State.QTY)
                return Outcome(True, what)
            return self._next_task(session, what)

    # ------------------------------------------------------------------ full tote
    def cmd_full(self) -> Outcome:
        self.resume = self.state
        self.go(State.FULL_TOTE)
        return Outcome(True, f"Tote {self.task.tote_code} full — put it aside for packing")

    def on_full_tote(self, scan: Scan) -> Outcome:
        t = self.task
        with self.writing() as session:
            self.view = picking.tote_full(session, self.terminal.actor, t.pick_list_ref, t.order_ref, scan.container_code)
            self.task = picking.task_view(session, t.id)
        self.go(State(self.resume))
        return Outcome(True, f"{t.order_ref} goes on in {scan.container_code}; {t.tote_code} to packing")

    # ------------------------------------------------------------------ short, skip, zero check, done
    def cmd_short(self) -> Outcome:
        self.go(State.SHORT_QTY)
        return Outcome(True, f"Short: how many {self.task.sku} did you find?")

    def on_short_qty(self, scan: Scan | None) -> Outcome:
        found = quantity_found(scan)
        t = self.task
        with self.writing() as session:
            result = picking.short(session, self.terminal.actor, t.id, found)
            return self._next_task(session, f"Short {result.missing} × {t.sku} — count task for {t.bin_code}")

    def cmd_skip(self) -> Outcome:
        t = self.task
        with self.writing() as session:
            self.task = picking.skip(session, self.terminal.actor, t.id)
        self.go(State.BIN)
        if self.task.id == t.id:
            return Outcome(True, "Only this task is left — pick it or @SHORT")
        return Outcome(True, f"Skipped {t.sku} in {t.bin_code} — it comes last")

    def cmd_yes(self) -> Outcome:
        if self.state == State.TAKE_OVER:
            return self._claim(self.held.key, take_over=True)
        return self._zero_answer(True)

    def cmd_no(self) -> Outcome:
        if self.state == State.TAKE_OVER:
            held, self.held = self.held, None
            self.go(State.LIST)
            return Outcome(True, f"{held.key} stays on terminal {held.terminal}")
        return self._zero_answer(False)

    def _zero_answer(self, empty: bool) -> Outcome:
        t = self.task
        with self.writing() as session:
            picking.zero_check(session, self.terminal.actor, t.id, empty)
            message = f"Bin {t.bin_code} empty — next task" if empty else f"Count task raised for {t.bin_code}"
            if t.remaining > 0:
                self.go(State.SERIAL if t.serial else State.QTY)
                return Outcome(True, message)
            return self._next_task(session, message)

    def cmd_done(self) -> Outcome:
        ref = self.view.ref
        with self.writing() as session:
            slots = picking.finish(session, self.terminal.actor, ref)
            drop = picking.pick_drop_bin(session).code
        self.summary = [f"{ref} picked"] + [f"{s.order_ref:<12} {s.tote_code or '-'}" for s in slots] + [f"Take the totes to {drop}"]
        self.view, self.task, self.order_for_tote = None, None, None
        self.go(State.LIST)
        return Outcome(True, f"{ref} done — take the totes to {drop}")

    # ------------------------------------------------------------------ cancel
    def cancel(self) -> Outcome:
        if self.state in (State.LIST, State.TOTE, State.TAKE_OVER):
            self.view, self.task, self.order_for_tote, self.held = None, None, None, None
            self.go(State.LIST)
            return Outcome(True, "Cancelled — scan pick list or order")
        if self.state == State.ZERO:
            return Outcome(False, f"Answer first: is bin {self.task.bin_code} empty? @YES or @NO")
        if self.state == State.DONE:
            return Outcome(False, "All picked — @DONE to finish")
        self.go(State.BIN)
        return Outcome(True, f"Cancelled — scan bin {self.task.bin_code}")
