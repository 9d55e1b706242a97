"""Receive (@RECEIVE), DESIGN §5.

Scan a PO/ASN number, or @BLIND for a receipt with no document. Then, for each
line of goods: optionally scan an LPN/SSCC to receive onto (it stays current
until @CANCEL or another LPN) -> scan the item (GTIN, alias, or GS1 carrying any
of 01/02, 10, 17/15, 21, 30/37) -> the lot if the item is lot-tracked and the
scan had none -> the expiry (YYMMDD) if the item needs one and the scan had
none -> the serial if serial-tracked and the scan had none (each serial is one
unit) -> the quantity + Enter if not serial and not in the scan -> recorded
into the receiving bin (or onto the LPN standing there) -> back to "scan item".

Over-receipt beyond the tolerance: the scan is refused and the screen asks for
a supervisor badge, then the supervisor's PIN; with both the same receipt is
recorded and the approval audited. @CANCEL drops the pending line.

@DONE closes the receipt and shows expected vs received per item; the next
scan of a document starts a new receipt.

Transitions:
  document --PO/ASN | @BLIND--> item
  item --LPN--> item
  item --item--> lot | expiry | serial | qty | item
  lot --lot--> expiry | serial | qty | item
  expiry --date--> serial | qty | item
  serial --serial--> item
  qty --qty--> item
  item --over-receipt (refused)--> supervisor_badge
  lot --over-receipt (refused)--> supervisor_badge
  expiry --over-receipt (refused)--> supervisor_badge
  serial --over-receipt (refused)--> supervisor_badge
  qty --over-receipt (refused)--> supervisor_badge
  supervisor_badge --badge--> supervisor_pin
  supervisor_pin --PIN--> item
  supervisor_pin --wrong PIN or not a supervisor (refused)--> supervisor_badge
  item --@DONE--> summary
  summary --PO/ASN | @BLIND--> item
  * --@CANCEL--> document | item
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from warehouse_tui.errors import InvalidInput, WarehouseError
from warehouse_tui.scan.resolver import Scan, ScanKind
from warehouse_tui.scan.types import DocType
from warehouse_tui.services import clients, items, receiving
from warehouse_tui.services.auth import attempt_login, require_supervisor
from warehouse_tui.workflows.base import Outcome, Prompt, Workflow, kinds
from warehouse_tui.workflows.item_details import Detail, ItemDetails
from warehouse_tui.workflows.machine import Machine


class State(enum.StrEnum):
    DOCUMENT = "document"
    ITEM = "item"
    LOT = "lot"
    EXPIRY = "expiry"
    SERIAL = "serial"
    QTY = "qty"
    SUPERVISOR_BADGE = "supervisor_badge"
    SUPERVISOR_PIN = "supervisor_pin"
    SUMMARY = "summary"


MACHINE = Machine(State, [
    ("document", "PO/ASN | @BLIND", "item"),
    ("item", "LPN", "item"),
    ("item", "item", "lot | expiry | serial | qty | item"),
    ("lot", "lot", "expiry | serial | qty | item"),
    ("expiry", "date", "serial | qty | item"),
    ("serial", "serial", "item"),
    ("qty", "qty", "item"),
    ("item", "over-receipt (refused)", "supervisor_badge"),
    ("lot", "over-receipt (refused)", "supervisor_badge"),
    ("expiry", "over-receipt (refused)", "supervisor_badge"),
    ("serial", "over-receipt (refused)", "supervisor_badge"),
    ("qty", "over-receipt (refused)", "supervisor_badge"),
    ("supervisor_badge", "badge", "supervisor_pin"),
    ("supervisor_pin", "PIN", "item"),
    ("supervisor_pin", "wrong PIN or not a supervisor (refused)", "supervisor_badge"),
    ("item", "@DONE", "summary"),
    ("summary", "PO/ASN | @BLIND", "item"),
    ("*", "@CANCEL", "document | item"),
])

# What a line of goods asks, in this order (DESIGN §5 Receive).
ASKS = (Detail.LOT, Detail.EXPIRY, Detail.SERIAL, Detail.QTY)


@dataclass
class Receive(Workflow):
    initial = State.DOCUMENT
    machine = MACHINE
    # A scan at these may record a line (@BLIND opens a receipt, @DONE closes one): each such scan is one unit of work.
    write_states = frozenset({State.DOCUMENT, State.SUMMARY, State.ITEM, State.LOT, State.EXPIRY, State.SERIAL, State.QTY})
    ref: str | None = None
    doc_label: str = ""
    blind: bool = False  # a blind receipt expects every item
    lpn: str | None = None
    pending: ItemDetails | None = None
    summary: list[receiving.ReceiptLine] = field(default_factory=list)
    supervisor_badge: str | None = None
    last: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.title = "Receive"

    # ------------------------------------------------------------------ prompts
    @property
    def prompt(self) -> Prompt:
        match self.state:
            case State.DOCUMENT:
                return Prompt("Scan PO/ASN or @BLIND", kinds(ScanKind.DOCUMENT), ("BLIND",))
            case State.SUMMARY:
                return Prompt("Receipt closed — scan next PO/ASN", kinds(ScanKind.DOCUMENT), ("BLIND",))
            case State.ITEM:
                return Prompt("Scan item" + ("" if self.lpn else " or LPN"), kinds(ScanKind.ITEM, ScanKind.CONTAINER), ("DONE",))
            case State.LOT:
                return Prompt(f"Scan lot of {self.pending.sku}", kinds(ScanKind.LOT))
            case State.EXPIRY:
                return Prompt("Expiry YYMMDD + Enter", kinds(ScanKind.EXPIRY))
            case State.SERIAL:
                return Prompt(f"Scan serial of {self.pending.sku}", kinds(ScanKind.SERIAL))
            case State.QTY:
                return Prompt(f"Qty of {self.pending.sku} + Enter", kinds(ScanKind.QTY))
            case State.SUPERVISOR_BADGE:
                return Prompt("Over-receipt: supervisor badge", kinds(ScanKind.BADGE))
            case State.SUPERVISOR_PIN:
                return Prompt("Supervisor PIN + Enter", kinds(ScanKind.PIN), secret=True)
        raise AssertionError(self.state)

    def lines(self) -> list[str]:
        if self.state == State.SUMMARY:
            out = [f"{self.doc_label} closed", f"{'SKU':<14}{'exp':>6}{'rcvd':>6}{'diff':>6}"]
            out += [f"{r.sku[:14]:<14}{r.expected:>6}{r.received:>6}{r.difference:>+6}" for r in self.summary]
            return out
        out = []
        if self.ref:
            out.append(self.doc_label)
        if self.lpn:
            out.append(f"Onto LPN {self.lpn}")
        p = self.pending
        if p is not None:
            detail = p.sku
            if p.lot:
                detail += f" lot {p.lot}"
            if p.expiry:
                detail += f" exp {p.expiry:%Y-%m-%d}"
            if p.serial:
                detail += f" SN {p.serial}"
            out.append(detail)
        if self.ref:
            item_id = p.item_id if p is not None else None
            out += self.client_in_hand(lambda session: clients.client_of_receipt(session, self.ref, item_id))
        if self.last:
            out.append(self.last)
        return out

    def label_ais(self) -> frozenset[str]:
        # The pallet's SSCC/LPN scanned for the line is the (00) its content barcode (02)(37) goes with.
        return frozenset({"00"}) if self.lpn else frozenset()

    # ------------------------------------------------------------------ document
    def on_document(self, scan: Scan) -> Outcome:
        if scan.doc_type != DocType.INBOUND:
            raise InvalidInput(f"{scan.document} is not a PO/ASN — scan the inbound document")
        with self.reading() as session:
            order = receiving.open_receipt(session, self.terminal.actor, scan.document)
            self.ref, self.doc_label = order.ref, f"{order.kind.upper()} {order.ref}" + (f" · {order.supplier}" if order.supplier else "")
            self.blind = order.kind == "blind"
        self._start_lines()
        return Outcome(True, f"Receiving {self.doc_label}")

    on_summary = on_document

    def cmd_blind(self) -> Outcome:
        with self.writing() as session:
            order = receiving.open_blind_receipt(session, self.terminal.actor)
            self.ref, self.doc_label, self.blind = order.ref, f"Blind {order.ref}", True
        self._start_lines()
        return Outcome(True, "Blind receipt — scan items")

    def _start_lines(self) -> None:
        self.lpn, self.pending, self.summary, self.last = None, None, [], ""
        self.go(State.ITEM)

    # ------------------------------------------------------------------ one line of goods
    def on_item(self, scan: Scan) -> Outcome:
        if scan.kind == ScanKind.CONTAINER:
            with self.reading() as session:
                self.lpn = receiving.check_pallet(session, scan.container_code, known=scan.container_id is not None,
                                                  sscc=scan.sscc, lpn_pattern=self.terminal.settings.lpn_pattern)
            return Outcome(True, f"Receiving onto {scan.container_code}")
        with self.reading() as session:
            if not self.blind:
                receiving.expect_item(session, self.ref, scan.item_id)
            self.pending = ItemDetails.scanned(items.item_facts(session, scan.item_id), scan)
        return self._advance()

    def on_lot(self, scan: Scan) -> Outcome:
        self.pending.take(Detail.LOT, scan)
        if self.pending.expiry is None:
            # A lot seen before already has its expiry: don't ask again.
            with self.reading() as session:
                self.pending.expiry = items.known_lot_expiry(session, self.pending.item_id, self.pending.lot)
        return self._advance()

    def on_expiry(self, scan: Scan) -> Outcome:
        receiving.check_expiry(scan.expiry)
        self.pending.take(Detail.EXPIRY, scan)
        return self._advance()

    def on_serial(self, scan: Scan) -> Outcome:
        self.pending.take(Detail.SERIAL, scan)
        return self._advance()

    def on_qty(self, scan: Scan) -> Outcome:
        self.pending.take(Detail.QTY, scan)
        return self._advance()

    def _advance(self) -> Outcome:
        nxt = self.pending.missing(ASKS)
        if nxt is not None:
            self.go(State(nxt))
            return Outcome(True, f"{self.pending.sku}")
        return self._record(approved_by=None)

    def _record(self, approved_by) -> Outcome:
        p = self.pending
        try:
            with self.writing() as session:
                received = receiving.receive_item(
                    session, self.terminal.actor, receipt_ref=self.ref, item_id=p.item_id, qty=p.qty,
                    lot_code=p.lot, expiry=p.expiry, serial=p.serial, lpn_code=self.lpn,
                    bin_code=self.terminal.settings.receiving_bin,
                    tolerance_pct=self.terminal.settings.over_receipt_tolerance_pct, approved_by=approved_by,
                )
                qty = received.movement.qty
        except receiving.OverReceipt as exc:
            self.go(State.SUPERVISOR_BADGE)
            return Outcome(False, str(exc))
        what = f"{qty} × {p.sku}" + (f" SN {p.serial}" if p.serial else "") + (f" lot {p.lot}" if p.lot else "")
        self.last = f"Last: {what}" + (f" ({received.received}/{received.expected})" if received.expected else f" ({received.received})")
        self.pending = None
        self.go(State.ITEM)
        return Outcome(True, f"Received {what}" + (f" onto {self.lpn}" if self.lpn else ""))

    # ------------------------------------------------------------------ supervisor approval
    def on_supervisor_badge(self, scan: Scan) -> Outcome:
        self.supervisor_badge = scan.badge
        self.go(State.SUPERVISOR_PIN)
        return Outcome(True, "Supervisor: type PIN")

    def on_supervisor_pin(self, scan: Scan) -> Outcome:
        badge, self.supervisor_badge = self.supervisor_badge, None
        try:
            # Its own transaction: a wrong PIN counts toward the badge's lock even though the scan is refused.
            sup = attempt_login(self.terminal.db, badge, scan.value, self.terminal.name, purpose="supervisor_approval",
                                asked_by=self.terminal.operator)
            require_supervisor(sup, "approve an over-receipt")
        except WarehouseError as exc:
            self.go(State.SUPERVISOR_BADGE)
            return Outcome(False, str(exc))
        return self._record(approved_by=sup)

    # ------------------------------------------------------------------ commands
    def cmd_done(self) -> Outcome:
        with self.writing() as session:
            self.summary = receiving.close_receipt(session, self.terminal.actor, self.ref)
        short = sum(1 for r in self.summary if r.difference)
        self.ref, self.lpn, self.pending = None, None, None
        self.go(State.SUMMARY)
        return Outcome(True, "Receipt closed" + (f" — {short} line(s) differ" if short else " — all as expected"))

    def cancel(self) -> Outcome:
        self.pending, self.supervisor_badge = None, None
        if self.ref is None:
            self.go(State.DOCUMENT)
            return Outcome(True, "Cancelled")
        if self.state == State.ITEM and self.lpn:
            self.lpn = None
            return Outcome(True, "LPN dropped — receiving loose")
        self.go(State.ITEM)
        return Outcome(True, "Line cancelled — scan item")
