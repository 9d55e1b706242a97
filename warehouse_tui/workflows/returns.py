"""Returns (@RETURN, issue 14): receive a customer's parcel against what was shipped, grade it, book it.

Scan the RMA; when the parcel came without paperwork, the order number, the
shipped carton's SSCC or a serial that shipped (a GS1 label with AI 21 does)
finds the shipment and opens an unplanned return, flagged for the supervisor.
Then, for each unit or quantity: scan the item (a GS1 label answers lot,
expiry, serial and quantity at once) -> the lot if lot-tracked, more than one
lot shipped and the scan had none (the shipped lots are shown) -> the serial if
serial-tracked and the scan had none (it must have shipped on that order) ->
the quantity + Enter if not serial and not in the scan (never more than shipped
minus already returned) -> grade it: optionally scan a reason code, then
@GOOD (^G, resellable: to the returns bin), @DAMAGED (^D: to quarantine) or
@SCRAP (^X: booked out). Each grade is one durable transaction. @DONE closes
the return and shows expected vs received per SKU; a short one stays open
for a supervisor. @CANCEL drops the unit in hand.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from warehouse_tui.errors import InvalidInput
from warehouse_tui.scan.resolver import Scan, ScanKind
from warehouse_tui.services import returns
from warehouse_tui.workflows.base import Outcome, Prompt, Workflow, kinds


class State(enum.StrEnum):
    SOURCE = "source"
    ITEM = "item"
    LOT = "lot"
    SERIAL = "serial"
    QTY = "qty"
    GRADE = "grade"
    SUMMARY = "summary"


# What each state accepts and where it leads: the prompt sequence above, as data (a test holds the code to it).
TRANSITIONS: dict[State, dict[str, tuple[State, ...]]] = {
    State.SOURCE: {"RMA/order/SSCC/serial": (State.ITEM,)},
    State.ITEM: {"item": (State.LOT, State.SERIAL, State.QTY, State.GRADE), "@DONE": (State.SUMMARY,)},
    State.LOT: {"lot": (State.SERIAL, State.QTY, State.GRADE)},
    State.SERIAL: {"serial": (State.QTY, State.GRADE)},
    State.QTY: {"qty": (State.GRADE,)},
    State.GRADE: {"reason": (State.GRADE,), "@GOOD/@DAMAGED/@SCRAP": (State.ITEM,)},
    State.SUMMARY: {"RMA/order/SSCC/serial": (State.ITEM,)},
}
GRADES = {"GOOD": "good", "DAMAGED": "damaged", "SCRAP": "scrap"}
SOURCE_KINDS = kinds(ScanKind.DOCUMENT, ScanKind.CONTAINER, ScanKind.ITEM)


@dataclass
class Unit:
    """The goods in hand, filled in prompt by prompt."""

    item_id: int
    sku: str
    is_serial: bool
    needs_lot: bool
    lots: tuple[str, ...]
    left: int
    lot: str | None = None
    serial: str | None = None
    qty: int | None = None
    reason: str | None = None

    def missing(self) -> State:
        if self.needs_lot and self.lot is None and len(self.lots) > 1:
            return State.LOT
        if self.is_serial:
            return State.GRADE if self.serial else State.SERIAL
        return State.GRADE if self.qty is not None else State.QTY


@dataclass
class Return(Workflow):
    initial = State.SOURCE.value
    ref: str | None = None
    header: str = ""
    unit: Unit | None = None
    summary: list[returns.ReturnSummaryLine] = field(default_factory=list)
    last: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.title = "Returns"

    def scan_writes(self) -> bool:
        # the first scan may open an unplanned return; a grade books the goods; @DONE closes
        return self.state in (State.SOURCE, State.SUMMARY, State.GRADE)

    def _save(self) -> dict:
        saved = super()._save()
        saved["unit"] = replace(self.unit) if self.unit is not None else None
        return saved

    def go(self, to: State) -> None:
        assert any(to in targets for targets in TRANSITIONS[State(self.state)].values()) or to == State.SOURCE, (self.state, to)
        self.state = to.value

    # ------------------------------------------------------------------ prompts
    @property
    def prompt(self) -> Prompt:
        u = self.unit
        match State(self.state):
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
        u = self.unit
        if u is not None:
            detail = u.sku + (f" lot {u.lot}" if u.lot else "") + (f" SN {u.serial}" if u.serial else "") + (f" × {u.qty}" if u.qty else "")
            out.append(detail)
            if self.state == State.LOT:
                out.append("Shipped lots: " + ", ".join(u.lots[:4]) + ("…" if len(u.lots) > 4 else ""))
            elif self.state == State.QTY:
                out.append(f"Up to {u.left} can come back")
            elif self.state == State.GRADE:
                out.append("^G good  ^D damaged  ^X scrap")
                if u.reason:
                    out.append(f"Reason {u.reason}")
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
        self.unit, self.summary, self.last = None, [], ""
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
        lot = scan.lot or (what.lots[0] if what.needs_lot and len(what.lots) == 1 else None)  # the one lot that shipped
        self.unit = Unit(what.item_id, what.sku, what.is_serial, what.needs_lot, what.lots, what.left, lot=lot, serial=scan.serial,
                         qty=None if what.is_serial else scan.qty)
        return self._advance()

    def on_lot(self, scan: Scan) -> Outcome:
        lot = scan.lot or scan.value
        with self.reading() as session:
            returns.check_lot(session, self.ref, self.unit.item_id, lot)
        self.unit.lot = lot
        return self._advance()

    def on_serial(self, scan: Scan) -> Outcome:
        serial = scan.serial or scan.value
        with self.reading() as session:
            returns.check_serial(session, self.ref, self.unit.item_id, serial)
        self.unit.serial = serial
        return self._advance()

    def on_qty(self, scan: Scan) -> Outcome:
        if scan.qty > self.unit.left:
            raise InvalidInput(f"Only {self.unit.left} of {self.unit.sku} can come back, not {scan.qty} — type {self.unit.left} or fewer")
        self.unit.qty = scan.qty
        return self._advance()

    def _advance(self) -> Outcome:
        self.go(self.unit.missing())
        if self.state == State.GRADE:
            return Outcome(True, f"{self.unit.sku}: grade it")
        return Outcome(True, self.unit.sku)

    # ------------------------------------------------------------------ grading
    def on_grade(self, scan: Scan) -> Outcome:
        self.unit.reason = returns.clean_reason(scan.value)
        return Outcome(True, f"Reason {self.unit.reason}" if self.unit.reason else "No reason")

    def command(self, name: str) -> Outcome:
        if name in GRADES and self.state != State.GRADE:
            return Outcome(False, "Scan the returned item before grading it" if self.ref else "Scan the RMA first, then the item")
        return super().command(name)

    def _grade(self, grade: str) -> Outcome:
        u = self.unit
        qty = 1 if u.is_serial else u.qty
        settings = self.terminal.settings
        with self.writing() as session:
            done = returns.receive_return(session, self.terminal.actor, ref=self.ref, item_id=u.item_id, qty=qty, grade=grade,
                                          lot_code=u.lot, serial=u.serial, reason=u.reason,
                                          returns_bin_code=settings.returns_bin, quarantine_bin_code=settings.quarantine_bin)
        what = f"{qty} × {u.sku}" + (f" SN {u.serial}" if u.serial else "") + (f" lot {u.lot}" if u.lot else "")
        where = "scrapped" if done.bin_code is None else f"to {done.bin_code}"
        self.last = f"Last: {what} {grade}" + (f" ({done.line_received}/{done.line_expected})" if done.line_expected else "")
        self.unit = None
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
            status = returns.find_return(session, self.ref).status
        self.header = f"{self.header.split(' · ')[0]} {status}"
        self.ref, self.unit = None, None
        self.go(State.SUMMARY)
        if status == "short":
            return Outcome(True, "Less than announced — left open for a supervisor")
        return Outcome(True, "Return closed — all as announced" if all(r.difference >= 0 for r in self.summary) else "Return closed")

    def cancel(self) -> Outcome:
        self.unit = None
        if self.ref is None:
            self.state = self.initial
            return Outcome(True, "Cancelled")
        self.state = State.ITEM.value
        return Outcome(True, "Unit dropped — scan item")
