"""Returns (@RETURN, issue 14): receive a customer's parcel against what was shipped, grade it, book it.

Scan the RMA; when the parcel came without paperwork, the order number, the
shipped carton's SSCC or a serial that shipped (a GS1 label with AI 21 does)
finds the shipment and opens an unplanned return, flagged for the supervisor.
Then, for each unit or quantity: scan the item (a GS1 label answers lot,
serial and quantity at once) -> the lot if the item is kept in lots and more
than one lot of it shipped (the shipped lots are shown; a single one is taken)
-> the serial if serial-tracked and the scan had none (it must have shipped on
that order) -> the quantity + Enter if not serial and not in the scan (never
more than shipped minus already returned) -> grade it: optionally scan a
reason code, then @GOOD (^G, resellable: to the returns bin), @DAMAGED (^D: to
quarantine) or @SCRAP (^X: booked out). Each grade is one unit of work. @DONE
closes the return and shows expected vs received per SKU; a short one stays
open for a supervisor. @CANCEL drops the unit in hand.

Transitions:
  source --RMA | order | SSCC | shipped serial--> item
  item --item--> lot | serial | qty | grade
  lot --lot--> serial | qty | grade
  serial --serial--> qty | grade
  qty --qty--> grade
  grade --reason code--> grade
  grade --@GOOD | @DAMAGED | @SCRAP--> item
  item --@DONE--> summary
  summary --RMA | order | SSCC | shipped serial--> item
  * --@CANCEL--> source | item
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from warehouse_tui.errors import InvalidInput
from warehouse_tui.scan.resolver import Scan, ScanKind
from warehouse_tui.services import clients, items, returns
from warehouse_tui.workflows.base import Outcome, Prompt, Workflow, kinds
from warehouse_tui.workflows.item_details import Detail, ItemDetails
from warehouse_tui.workflows.machine import Machine


class State(enum.StrEnum):
    SOURCE = "source"
    ITEM = "item"
    LOT = "lot"
    SERIAL = "serial"
    QTY = "qty"
    GRADE = "grade"
    SUMMARY = "summary"


MACHINE = Machine(State, [
    ("source", "RMA | order | SSCC | shipped serial", "item"),
    ("item", "item", "lot | serial | qty | grade"),
    ("lot", "lot", "serial | qty | grade"),
    ("serial", "serial", "qty | grade"),
    ("qty", "qty", "grade"),
    ("grade", "reason code", "grade"),
    ("grade", "@GOOD | @DAMAGED | @SCRAP", "item"),
    ("item", "@DONE", "summary"),
    ("summary", "RMA | order | SSCC | shipped serial", "item"),
    ("*", "@CANCEL", "source | item"),
])

# What a returned unit asks, in this order (the expiry of a lot that shipped is known).
ASKS = (Detail.LOT, Detail.SERIAL, Detail.QTY)
GRADES = {"GOOD": "good", "DAMAGED": "damaged", "SCRAP": "scrap"}
SOURCE_KINDS = kinds(ScanKind.DOCUMENT, ScanKind.CONTAINER, ScanKind.ITEM)


@dataclass
class Return(Workflow):
    initial = State.SOURCE
    machine = MACHINE
    # The first scan may open an unplanned return, a grade books the goods, @DONE closes: each one unit of work.
    write_states = frozenset({State.SOURCE, State.SUMMARY, State.ITEM, State.GRADE})
    ref: str | None = None
    header: str = ""
    unit: ItemDetails | None = None
    lots: tuple[str, ...] = ()  # lots of the unit's item that shipped on the order
    left: int = 0  # units of it that may still come back
    reason: str | None = None
    summary: list[returns.ReturnSummaryLine] = field(default_factory=list)
    last: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.title = "Returns"

    # ------------------------------------------------------------------ prompts
    @property
    def prompt(self) -> Prompt:
        u = self.unit
        match self.state:
            case State.SOURCE:
                return Prompt("Scan RMA, order, SSCC or serial", SOURCE_KINDS)
            case State.SUMMARY:
                return Prompt("Return done — scan next RMA", SOURCE_KINDS)
            case State.ITEM:
                return Prompt("Scan returned item", kinds(ScanKind.ITEM), ("DONE",))
            case State.LOT:
                return Prompt(f"Scan lot of {u.sku}", kinds(ScanKind.LOT))
            case State.SERIAL:
                return Prompt(f"Scan serial of {u.sku}", kinds(ScanKind.SERIAL))
            case State.QTY:
                return Prompt(f"Qty of {u.sku} + Enter", kinds(ScanKind.QTY))
            case State.GRADE:
                return Prompt("Grade it (reason optional)", kinds(ScanKind.TEXT), ("GOOD", "DAMAGED", "SCRAP"))
        raise AssertionError(self.state)

    def lines(self) -> list[str]:
        if self.state == State.SUMMARY:
            out = [self.header, f"{'SKU':<14}{'exp':>6}{'rcvd':>6}{'diff':>6}"]
            return out + [f"{r.sku[:14]:<14}{r.expected:>6}{r.received:>6}{r.difference:>+6}" for r in self.summary]
        out = [self.header] if self.header else []
        if self.ref:
            out += self.client_in_hand(lambda session: clients.client_of_return(session, self.ref))
        u = self.unit
        if u is not None:
            out.append(u.label() + (f" × {u.qty}" if u.qty else ""))
            if self.state == State.LOT:
                out.append("Shipped lots: " + ", ".join(self.lots[:4]) + ("…" if len(self.lots) > 4 else ""))
            elif self.state == State.QTY:
                out.append(f"Up to {self.left} can come back")
            elif self.state == State.GRADE:
                out.append("^G good  ^D damaged  ^X scrap")
                if self.reason:
                    out.append(f"Reason {self.reason}")
        if self.last:
            out.append(self.last)
        return out

    # ------------------------------------------------------------------ finding the return
    def on_source(self, scan: Scan) -> Outcome:
        if scan.kind == ScanKind.ITEM:
            if not scan.serial:
                raise InvalidInput(f"{scan.sku} alone does not name the order — scan the RMA, order, SSCC or the serial")
            code = scan.serial
        else:
            code = scan.document or scan.container_code or scan.text
        with self.writing() as session:
            view = returns.open_return(session, self.terminal.actor, code)
        self.ref = view.ref
        self.header = (f"RMA {view.ref}" if view.kind == "rma" else f"Unplanned {view.ref}") + f" · {view.order}"
        self.unit, self.reason, self.summary, self.last = None, None, [], ""
        self.go(State.ITEM)
        if view.kind == "unplanned" and view.found_by:
            return Outcome(True, f"No RMA: return of {view.order} opened, flagged for the supervisor")
        return Outcome(True, f"Receiving return {view.ref} of order {view.order}")

    on_summary = on_source

    # ------------------------------------------------------------------ the goods in hand
    def on_item(self, scan: Scan) -> Outcome:
        with self.reading() as session:
            what = returns.returnable(session, self.ref, scan.item_id)
            if what.left <= 0:
                raise InvalidInput(f"All {what.shipped} of {what.sku} shipped on this order are back already — set it aside")
            if scan.lot:
                returns.check_lot(session, self.ref, what.item_id, scan.lot)
            if scan.serial:
                returns.check_serial(session, self.ref, what.item_id, scan.serial)
            if scan.qty is not None and scan.qty > what.left:
                raise InvalidInput(f"Only {what.left} of {what.sku} can come back, not {scan.qty} — count again")
            unit = ItemDetails.scanned(items.item_facts(session, what.item_id), scan)
        unit.lot_asked = what.needs_lot and len(what.lots) > 1
        if what.needs_lot and not unit.lot and len(what.lots) == 1:
            unit.lot = what.lots[0]  # the one lot that shipped
        self.unit, self.lots, self.left, self.reason = unit, what.lots, what.left, None
        return self._advance()

    def on_lot(self, scan: Scan) -> Outcome:
        with self.reading() as session:
            returns.check_lot(session, self.ref, self.unit.item_id, scan.lot or scan.value)
        self.unit.take(Detail.LOT, scan)
        return self._advance()

    def on_serial(self, scan: Scan) -> Outcome:
        with self.reading() as session:
            returns.check_serial(session, self.ref, self.unit.item_id, scan.serial or scan.value)
        self.unit.take(Detail.SERIAL, scan)
        return self._advance()

    def on_qty(self, scan: Scan) -> Outcome:
        if scan.qty > self.left:
            raise InvalidInput(f"Only {self.left} of {self.unit.sku} can come back, not {scan.qty} — type {self.left} or fewer")
        self.unit.take(Detail.QTY, scan)
        return self._advance()

    def _advance(self) -> Outcome:
        missing = self.unit.missing(ASKS)
        if missing is None:
            self.go(State.GRADE)
            return Outcome(True, f"{self.unit.sku}: grade it")
        self.go(State(missing.value))
        return Outcome(True, self.unit.sku)

    # ------------------------------------------------------------------ grading
    def on_grade(self, scan: Scan) -> Outcome:
        self.reason = returns.clean_reason(scan.value)
        return Outcome(True, f"Reason {self.reason}" if self.reason else "No reason")

    def command(self, name: str) -> Outcome:
        if name in GRADES and self.state != State.GRADE:
            return Outcome(False, "Scan the returned item before grading it" if self.ref else "Scan the RMA first, then the item")
        return super().command(name)

    def _grade(self, grade: str) -> Outcome:
        u = self.unit
        qty = 1 if u.item.is_serial else u.qty
        settings = self.terminal.settings
        with self.writing() as session:
            done = returns.receive_return(session, self.terminal.actor, ref=self.ref, item_id=u.item_id, qty=qty, grade=grade,
                                          lot_code=u.lot, serial=u.serial, reason=self.reason,
                                          returns_bin_code=settings.returns_bin, quarantine_bin_code=settings.quarantine_bin)
        what = f"{qty} × {u.label()}"
        where = "scrapped" if done.bin_code is None else f"to {done.bin_code}"
        self.last = f"Last: {what} {grade}" + (f" ({done.line_received}/{done.line_expected})" if done.line_expected else "")
        self.unit, self.reason = None, None
        self.go(State.ITEM)
        return Outcome(True, f"{what} {grade} — {where}")

    def cmd_good(self) -> Outcome:
        return self._grade("good")

    def cmd_damaged(self) -> Outcome:
        return self._grade("damaged")

    def cmd_scrap(self) -> Outcome:
        return self._grade("scrap")

    # ------------------------------------------------------------------ closing
    def cmd_done(self) -> Outcome:
        with self.writing() as session:
            self.summary = returns.close_return(session, self.terminal.actor, self.ref)
            status = returns.return_view(session, self.ref).status
        self.header = f"{self.header.split(' · ')[0]} {status}"
        self.ref, self.unit = None, None
        self.go(State.SUMMARY)
        if status == "short":
            return Outcome(True, "Less than announced — left open for a supervisor")
        return Outcome(True, "Return closed")

    def cancel(self) -> Outcome:
        self.unit, self.reason = None, None
        if self.ref is None:
            self.go(State.SOURCE)
            return Outcome(True, "Cancelled")
        self.go(State.ITEM)
        return Outcome(True, "Unit dropped — scan item")
