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
  document --PO/ASN--> item;  document --@BLIND--> item
  item --LPN--> item (receiving onto it);  item --item--> lot | expiry | serial | qty | (recorded) item
  lot --> expiry | serial | qty | item;  expiry --> serial | qty | item;  serial --> item;  qty --> item
  any of the above --over-receipt--> supervisor_badge --> supervisor_pin --> item
  item --@DONE--> summary;  summary --PO/ASN--> item
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy import select

from warehouse_tui import clock
from warehouse_tui.db.models import Item, Lot, Operator, Tracking
from warehouse_tui.errors import InvalidInput, NotFound
from warehouse_tui.scan.resolver import Scan, ScanKind
from warehouse_tui.scan.types import DocType
from warehouse_tui.services import receiving
from warehouse_tui.services.auth import attempt_login, require_supervisor
from warehouse_tui.workflows.base import Outcome, Prompt, Workflow, kinds

# States where a scan may complete a line and record it: each such scan is one transaction.
RECORDING_STATES = frozenset({"item", "lot", "expiry", "serial", "qty"})


@dataclass
class PendingLine:
    item_id: int
    sku: str
    tracking: str
    expiry_required: bool
    lot: str | None = None
    expiry: dt.date | None = None
    serial: str | None = None
    qty: int | None = None

    def missing(self) -> str | None:
        """The next thing to ask for, or None when the line can be recorded."""
        if self.tracking == Tracking.LOT.value and not self.lot:
            return "lot"
        if self.expiry_required and self.expiry is None:
            return "expiry"
        if self.tracking == Tracking.SERIAL.value:
            return None if self.serial else "serial"
        return None if self.qty is not None else "qty"


@dataclass
class Receive(Workflow):
    initial = "document"
    ref: str | None = None
    doc_label: str = ""
    blind: bool = False  # a blind receipt expects every item
    lpn: str | None = None
    pending: PendingLine | None = None
    summary: list[receiving.ReceiptLine] = field(default_factory=list)
    supervisor_badge: str | None = None
    last: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.title = "Receive"

    def scan_writes(self) -> bool:
        return self.state in RECORDING_STATES

    def _save(self) -> dict:
        saved = super()._save()
        saved["pending"] = dataclasses.replace(self.pending) if self.pending is not None else None
        return saved

    # ------------------------------------------------------------------ prompts
    @property
    def prompt(self) -> Prompt:
        match self.state:
            case "document":
                return Prompt("Scan PO/ASN or @BLIND", kinds(ScanKind.DOCUMENT), ("BLIND",))
            case "summary":
                return Prompt("Receipt closed — scan next PO/ASN", kinds(ScanKind.DOCUMENT), ("BLIND",))
            case "item":
                return Prompt("Scan item" + ("" if self.lpn else " or LPN"), kinds(ScanKind.ITEM, ScanKind.CONTAINER), ("DONE",))
            case "lot":
                return Prompt(f"Scan lot of {self.pending.sku}", kinds(ScanKind.LOT))
            case "expiry":
                return Prompt("Expiry YYMMDD + Enter", kinds(ScanKind.EXPIRY))
            case "serial":
                return Prompt(f"Scan serial of {self.pending.sku}", kinds(ScanKind.SERIAL))
            case "qty":
                return Prompt(f"Qty of {self.pending.sku} + Enter", kinds(ScanKind.QTY))
            case "supervisor_badge":
                return Prompt("Over-receipt: supervisor badge", kinds(ScanKind.BADGE))
            case "supervisor_pin":
                return Prompt("Supervisor PIN + Enter", kinds(ScanKind.PIN), secret=True)
        raise AssertionError(self.state)

    def lines(self) -> list[str]:
        if self.state == "summary":
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
        if self.last:
            out.append(self.last)
        return out

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
        self.state = "item"

    # ------------------------------------------------------------------ one line of goods
    def on_item(self, scan: Scan) -> Outcome:
        if scan.kind == ScanKind.CONTAINER:
            if scan.container_id is None and not scan.sscc and not re.fullmatch(self.terminal.settings.lpn_pattern, scan.container_code):
                raise NotFound(f"Not an item or LPN: {scan.container_code[:30]} — scan the item's barcode")
            if scan.container_id is not None and not scan.sscc:
                with self.reading() as session:
                    from warehouse_tui.services.masterdata import container

                    found = container(session, scan.container_code, create=False)
                    if found.kind not in ("lpn", "sscc"):
                        raise InvalidInput(f"{found.code} is a {found.kind}, not a pallet — scan an LPN")
            self.lpn = scan.container_code
            return Outcome(True, f"Receiving onto {scan.container_code}")
        with self.reading() as session:
            if not self.blind:
                receiving.expect_item(session, self.ref, scan.item_id)
            item = session.get(Item, scan.item_id)  # loaded by the resolver in this transaction
            self.pending = PendingLine(item.id, item.sku, item.tracking, item.expiry_required,
                                       lot=scan.lot, expiry=scan.expiry, serial=scan.serial, qty=scan.qty)
        return self._advance()

    def on_lot(self, scan: Scan) -> Outcome:
        self.pending.lot = scan.lot or scan.value
        if scan.expiry and self.pending.expiry is None:
            self.pending.expiry = scan.expiry
        if self.pending.expiry is None:
            # A lot seen before already has its expiry: don't ask again.
            with self.reading() as session:
                known = session.scalars(select(Lot.expiry).where(Lot.item_id == self.pending.item_id, Lot.code == self.pending.lot)).first()
            self.pending.expiry = known
        return self._advance()

    def on_expiry(self, scan: Scan) -> Outcome:
        if scan.expiry < clock.today():
            raise InvalidInput(f"Expiry {scan.expiry:%Y-%m-%d} is in the past — check the label, set expired goods aside")
        self.pending.expiry = scan.expiry
        return self._advance()

    def on_serial(self, scan: Scan) -> Outcome:
        self.pending.serial = scan.serial or scan.value
        return self._advance()

    def on_qty(self, scan: Scan) -> Outcome:
        self.pending.qty = scan.qty
        return self._advance()

    def _advance(self) -> Outcome:
        nxt = self.pending.missing()
        if nxt is not None:
            self.state = nxt
            return Outcome(True, f"{self.pending.sku}")
        return self._record(approved_by=None)

    def _record(self, approved_by: Operator | None) -> Outcome:
        p = self.pending
        qty = 1 if p.tracking == Tracking.SERIAL.value else p.qty
        try:
            with self.writing() as session:
                received = receiving.receive_item(
                    session, self.terminal.actor, receipt_ref=self.ref, item_id=p.item_id, qty=qty,
                    lot_code=p.lot, expiry=p.expiry, serial=p.serial, lpn_code=self.lpn,
                    bin_code=self.terminal.settings.receiving_bin,
                    tolerance_pct=self.terminal.settings.over_receipt_tolerance_pct, approved_by=approved_by,
                )
        except receiving.OverReceipt as exc:
            self.state = "supervisor_badge"
            return Outcome(False, str(exc))
        except Exception:
            # Refused: the line is dropped so the operator rescans it cleanly.
            self.pending, self.state = None, "item"
            raise
        what = f"{qty} × {p.sku}" + (f" SN {p.serial}" if p.serial else "") + (f" lot {p.lot}" if p.lot else "")
        self.last = f"Last: {what}" + (f" ({received.received}/{received.expected})" if received.expected else f" ({received.received})")
        self.pending, self.state = None, "item"
        return Outcome(True, f"Received {what}" + (f" onto {self.lpn}" if self.lpn else ""))

    # ------------------------------------------------------------------ supervisor approval
    def on_supervisor_badge(self, scan: Scan) -> Outcome:
        self.supervisor_badge = scan.badge
        self.state = "supervisor_pin"
        return Outcome(True, "Supervisor: type PIN")

    def on_supervisor_pin(self, scan: Scan) -> Outcome:
        badge, self.supervisor_badge = self.supervisor_badge, None
        try:
            sup = attempt_login(self.terminal.db, badge, scan.value, self.terminal.name, purpose="supervisor_approval",
                                asked_by=self.terminal.operator)
            require_supervisor(sup, "approve an over-receipt")
        except Exception:
            self.state = "supervisor_badge"
            raise
        return self._record(approved_by=sup)

    # ------------------------------------------------------------------ commands
    def cmd_done(self) -> Outcome:
        with self.writing() as session:
            self.summary = receiving.close_receipt(session, self.terminal.actor, self.ref)
        short = sum(1 for r in self.summary if r.difference)
        self.state, self.ref, self.lpn, self.pending = "summary", None, None, None
        return Outcome(True, "Receipt closed" + (f" — {short} line(s) differ" if short else " — all as expected"))

    def cancel(self) -> Outcome:
        self.pending, self.supervisor_badge = None, None
        if self.ref is None:
            self.state = "document"
            return Outcome(True, "Cancelled")
        if self.state == "item" and self.lpn:
            self.lpn = None
            return Outcome(True, "LPN dropped — receiving loose")
        self.state = "item"
        return Outcome(True, "Line cancelled — scan item")
