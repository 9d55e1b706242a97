"""Pack (@PACK), DESIGN §5.

Scan the tote (or the order number) -> the order's lines show with packed /
ordered -> scan items: each scan packs one unit into the open carton; type a
number + Enter before a scan to pack that many with it (a GS1 case label with
a count, AI 30/37, packs its count). Every unit is
verified against the order: an item not on it, or one unit more than ordered
or picked, is refused and nothing moves. A lot-tracked item packs the lot in
the tote (asked only when the tote holds several lots of it, or taken from a
GS1 scan); a serial-tracked item asks for the serial of each unit unless the
scan carries it (AI 21).

@CLOSE closes the carton -> weight in kg + Enter (or a scale's GS1 weight) ->
the carton gets its SSCC and its label files (ZPL and SVG, in the label
directory) -> for an order with a carrier: scan the carrier label's tracking
barcode (the order's carrier's format and check digit; another carrier's
number or one already on a carton is refused), and the label files are
written again with it; @SKIP (or @CANCEL) leaves it empty when the carrier
labels are printed later, which puts the carton in the exceptions queue ->
more items go into a new carton. Scanning a sealed carton (its code or SSCC)
at "Scan tote or order" asks for its missing tracking number. When every line is packed and
the last carton is closed the order is ready: @DONE confirms the shipment,
the stock leaves the warehouse, and the next tote can be scanned.

@CANCEL drops the typed count or the half-scanned unit (back to "scan item"),
leaves the weight prompt with the carton still open, and at "scan item" with
nothing pending leaves the order (its open carton waits for the next scan of
the tote or order).

Transitions:
  document --tote | order--> item | ready
  item --qty--> item
  item --item--> lot | serial | item
  lot --lot--> item
  serial --serial--> item
  lot --refused by the order (the unit is dropped)--> item
  serial --refused by the order (the unit is dropped)--> item
  item --@CLOSE--> weight
  weight --kg--> tracking | item | ready
  tracking --tracking number | @SKIP | @CANCEL--> item | ready | document
  item --@DONE--> document
  ready --@DONE--> document
  ready --tote | order--> item | ready
  document --sealed carton--> tracking
  ready --sealed carton--> tracking
  * --@CANCEL--> item | document
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from warehouse_tui.errors import InvalidInput, WarehouseError
from warehouse_tui.labels import label_directory, write_carton_label
from warehouse_tui.scan.resolver import Scan, ScanKind
from warehouse_tui.scan.types import DocType
from warehouse_tui.services import carton_tracking, items, packing
from warehouse_tui.workflows.base import Outcome, Prompt, Workflow, fit, kinds
from warehouse_tui.workflows.item_details import Detail, ItemDetails
from warehouse_tui.workflows.machine import Machine

log = logging.getLogger(__name__)


class State(enum.StrEnum):
    DOCUMENT = "document"
    ITEM = "item"
    LOT = "lot"
    SERIAL = "serial"
    WEIGHT = "weight"
    TRACKING = "tracking"
    READY = "ready"


CLIENT_ROOM = 20  # cells of a client's code on the order's line: a long one is cut with …

MACHINE = Machine(State, [
    ("document", "tote | order", "item | ready"),
    ("item", "qty", "item"),
    ("item", "item", "lot | serial | item"),
    ("lot", "lot", "item"),
    ("serial", "serial", "item"),
    ("lot", "refused by the order (the unit is dropped)", "item"),
    ("serial", "refused by the order (the unit is dropped)", "item"),
    ("item", "@CLOSE", "weight"),
    ("weight", "kg", "tracking | item | ready"),
    ("tracking", "tracking number | @SKIP | @CANCEL", "item | ready | document"),
    ("item", "@DONE", "document"),
    ("ready", "@DONE", "document"),
    ("ready", "tote | order", "item | ready"),
    ("document", "sealed carton", "tracking"),
    ("ready", "sealed carton", "tracking"),
    ("*", "@CANCEL", "item | document"),
])


@dataclass
class Pack(Workflow):
    initial = State.DOCUMENT
    machine = MACHINE
    # The weight's scan commits its own unit of work (`writing()`): the carton label is written after the commit.
    write_states = frozenset({State.ITEM, State.LOT, State.SERIAL, State.READY})
    order_ref: str | None = None
    view: packing.PackProgress | None = None
    count: int | None = None
    pending: ItemDetails | None = None  # a unit scanned but not packed yet: its lot or serial is still to come
    lots: tuple[str, ...] = ()  # the lots of the pending unit's item in the tote
    tracking_carton: str | None = None  # the sealed carton whose tracking number is asked
    after_tracking: State = State.ITEM  # where the tracking prompt goes back to

    last: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.title = "Pack"

    # ------------------------------------------------------------------ prompts
    @property
    def prompt(self) -> Prompt:
        match self.state:
            case State.DOCUMENT:
                return Prompt("Scan tote or order", kinds(ScanKind.CONTAINER, ScanKind.DOCUMENT))
            case State.ITEM:
                text = f"Scan item — packs {self.count}" if self.count else "Scan item"
                return Prompt(text, kinds(ScanKind.ITEM, ScanKind.QTY), ("CLOSE", "DONE"))
            case State.LOT:
                return Prompt(f"Scan lot of {self.pending.sku}", kinds(ScanKind.LOT))
            case State.SERIAL:
                return Prompt(f"Scan serial of {self.pending.sku}", kinds(ScanKind.SERIAL))
            case State.WEIGHT:
                return Prompt("Carton weight kg + Enter", kinds(ScanKind.WEIGHT))
            case State.TRACKING:
                carrier = self.view.carrier if self.view is not None and self.view.carrier else "carrier"
                return Prompt(f"Scan {carrier} tracking — @SKIP: later", kinds(ScanKind.TEXT), ("SKIP",))
            case State.READY:
                return Prompt("Packed — @DONE ships it", kinds(ScanKind.CONTAINER, ScanKind.DOCUMENT), ("DONE",))
        raise AssertionError(self.state)

    def lines(self) -> list[str]:
        v = self.view
        if v is None:
            return [self.last] if self.last else []
        # The client is named (where the warehouse holds more than one's goods) on the order's own line.
        out = [v.order_ref + (f" · {', '.join(v.totes)}" if v.totes else "") + (f" · client {fit(v.owner, CLIENT_ROOM)}" if v.owner else "")]
        if v.carrier:
            out.append(" ".join(p for p in ("Ship", v.carrier, v.service) if p))
        if self.state == State.TRACKING and self.tracking_carton:
            out.append(f"Carton {self.tracking_carton}: tracking?")
        if v.carton_code:
            out.append(f"Carton {v.carton_code}: {v.carton_units} unit(s)")
        elif v.cartons_closed:
            out.append(f"{v.cartons_closed} carton(s) closed")
        if self.last:
            out.append(self.last)
        if self.pending is not None and self.lots:
            out.append("Lots: " + ", ".join(self.lots))
        # Lines still to pack first: they are what the packer looks for.
        for line in sorted(v.lines, key=lambda ln: ln.done):
            out.append(f"{'✔' if line.done else ' '} {line.sku[:20]:<20} {line.packed:>3}/{line.ordered}")
        return out

    # ------------------------------------------------------------------ the order
    def on_document(self, scan: Scan) -> Outcome:
        if scan.kind == ScanKind.DOCUMENT and scan.doc_type != DocType.OUTBOUND:
            raise InvalidInput(f"{scan.document} is not a customer order — scan the tote or the order")
        code = scan.document if scan.kind == ScanKind.DOCUMENT else scan.container_code
        if scan.kind == ScanKind.CONTAINER:
            with self.reading() as session:
                sealed = carton_tracking.carton(session, code)
            if sealed is not None and sealed.status != "open":
                return self._rescanned(sealed)
        with self.reading() as session:
            order = packing.order_for_packing(session, code)
            self.order_ref = order.ref
            self.view = packing.progress(session, order.ref)
        self.count, self.pending, self.lots, self.last = None, None, (), ""
        if self.view.complete:
            self.go(State.READY)
            return Outcome(True, f"{self.order_ref} is packed — @DONE ships it")
        self.go(State.ITEM)
        return Outcome(True, f"Packing {self.order_ref}" + (f" — carton {self.view.carton_code} open" if self.view.carton_code else ""))

    on_ready = on_document

    def _rescanned(self, sealed: carton_tracking.CartonRef) -> Outcome:
        """A sealed carton scanned at the order prompt: its tracking number, or the prompt for the missing one."""
        if sealed.tracking is not None:
            return Outcome(True, f"Carton {sealed.code} has tracking {sealed.tracking}")
        with self.reading() as session:
            self.view = packing.progress(session, sealed.order_ref)
        self.order_ref, self.tracking_carton, self.after_tracking = sealed.order_ref, sealed.code, State.DOCUMENT
        self.go(State.TRACKING)
        return Outcome(True, f"Carton {sealed.code} of {sealed.order_ref}: scan its carrier label")

    # ------------------------------------------------------------------ units
    def on_item(self, scan: Scan) -> Outcome:
        if scan.kind == ScanKind.QTY:
            self.count = packing.check_count(self.view, scan.qty)
            return Outcome(True, f"Next scan packs {scan.qty}")
        try:
            with self.reading() as session:
                # A typed count wins; else a GS1 count (AI 30/37) on a case label; else one unit.
                goods = packing.check_goods(session, self.order_ref, scan.item_id, qty=self.count or scan.qty or 1,
                                            lot_code=scan.lot, serial=scan.serial)
                if goods.ask is not None:
                    self.pending = ItemDetails(items.item_facts(session, goods.item_id), qty=goods.qty)
        except WarehouseError as exc:
            self.count = None  # after a refusal the next scan starts clean: no count left over
            return Outcome(False, str(exc))
        if goods.ask is not None:
            self.lots = goods.lots
            self.go(State(goods.ask))
            return Outcome(True, f"{goods.sku}: scan the {goods.ask}")
        return self._pack(goods)

    def on_lot(self, scan: Scan) -> Outcome:
        p = self.pending
        p.take(Detail.LOT, scan)
        with self.reading() as session:
            goods = packing.check_goods(session, self.order_ref, p.item_id, qty=p.qty, lot_code=p.lot)
        return self._pack(goods)

    def on_serial(self, scan: Scan) -> Outcome:
        p = self.pending
        p.take(Detail.SERIAL, scan)
        with self.reading() as session:
            goods = packing.check_goods(session, self.order_ref, p.item_id, qty=1, serial=p.serial)
        return self._pack(goods)

    def _pack(self, goods: packing.Goods) -> Outcome:
        try:
            with self.writing() as session:
                self.view = packing.pack_units(session, self.terminal.actor, order_ref=self.order_ref, item_id=goods.item_id,
                                               qty=goods.qty, lot_code=goods.lot, serial=goods.serial)
        except WarehouseError as exc:
            # Refused, the count and the half-scanned unit are used up all the same: the next scan starts clean.
            self._unit_done()
            return Outcome(False, str(exc))
        self._unit_done()
        what = f"{goods.qty} × {goods.sku}" + (f" lot {goods.lot}" if goods.lot else "") + (f" SN {goods.serial}" if goods.serial else "")
        self.last = f"Last: {what}"
        if all(line.done for line in self.view.lines):
            return Outcome(True, f"Packed {what} — all packed: @CLOSE the carton")
        return Outcome(True, f"Packed {what}")

    def _unit_done(self) -> None:
        self.count, self.pending, self.lots = None, None, ()
        self.go(State.ITEM)

    # ------------------------------------------------------------------ carton
    def cmd_close(self) -> Outcome:
        if not self.view.carton_code or not self.view.carton_units:
            raise InvalidInput("Nothing packed in this carton — scan items first")
        self.count, self.pending, self.lots = None, None, ()
        self.go(State.WEIGHT)
        return Outcome(True, f"Weigh carton {self.view.carton_code}")

    def on_weight(self, scan: Scan) -> Outcome:
        settings = self.terminal.settings
        with self.writing() as session:
            label = packing.close_carton(session, self.terminal.actor, order_ref=self.order_ref, weight=scan.weight_kg,
                                         company_prefix=settings.gs1_company_prefix)
            self.view = packing.progress(session, self.order_ref)
        # After the commit: a label never carries an SSCC the database does not hold.
        note = ""
        try:
            write_carton_label(label, label_directory(settings.label_dir), dpi=settings.printer_dpi)
        except OSError as exc:
            log.warning("label for %s not written: %s", label.sscc, exc)
            note = " — label NOT written, tell a supervisor"
        self.last = f"SSCC {label.sscc}"
        next_state = State.READY if self.view.complete else State.ITEM
        if label.carrier:
            self.tracking_carton, self.after_tracking = label.carton_code, next_state
            self.go(State.TRACKING)
            return Outcome(True, f"Carton {label.carton_no} closed, {label.weight_kg} kg{note} — scan the {label.carrier} label")
        self.go(next_state)
        if self.view.complete:
            return Outcome(True, f"Carton {label.carton_no} closed, {label.weight_kg} kg{note} — @DONE ships it")
        return Outcome(True, f"Carton {label.carton_no} closed, {label.weight_kg} kg{note}")

    # ------------------------------------------------------------------ carrier tracking
    def on_tracking(self, scan: Scan) -> Outcome:
        settings = self.terminal.settings
        # Its own unit of work, like the weight: the label files are written again after the commit.
        with self.writing() as session:
            done = carton_tracking.record(session, self.terminal.actor, self.tracking_carton, scan.value or scan.text,
                                          scan.symbology, any_carriers=settings.any_carriers)
            label = packing.carton_label(session, done.code)
        note = ""
        try:
            write_carton_label(label, label_directory(settings.label_dir), dpi=settings.printer_dpi)
        except OSError as exc:
            log.warning("label for %s not written: %s", label.sscc, exc)
            note = " — label NOT written, tell a supervisor"
        self.last = f"Tracking {done.tracking}"
        return self._after_tracking(f"Carton {done.code}: tracking {done.tracking}{note}")

    def cmd_skip(self) -> Outcome:
        with self.writing() as session:
            done = carton_tracking.skip(session, self.terminal.actor, self.tracking_carton)
        self.last = f"Carton {done.code}: no tracking yet"
        return self._after_tracking(f"Carton {done.code} has no tracking — rescan it at @PACK when the label is printed")

    def _after_tracking(self, message: str) -> Outcome:
        back, self.tracking_carton, self.after_tracking = self.after_tracking, None, State.ITEM
        if back == State.DOCUMENT:
            self.order_ref, self.view = None, None
        elif back == State.READY:
            message += " — @DONE ships it"
        self.go(back)
        return Outcome(True, message)

    # ------------------------------------------------------------------ shipping
    def cmd_done(self) -> Outcome:
        with self.writing() as session:
            shipment = packing.ship_order(session, self.terminal.actor, self.order_ref)
        self.order_ref, self.view, self.count, self.pending, self.lots = None, None, None, None, ()
        self.last = f"Shipped {shipment.order_ref}: {len(shipment.cartons)} carton(s), {shipment.units} unit(s)"
        self.go(State.DOCUMENT)
        return Outcome(True, f"Shipped {shipment.order_ref} — scan the next tote")

    def cancel(self) -> Outcome:
        if self.state == State.TRACKING:  # the carton is sealed: leaving without a number is a skip
            return self.cmd_skip()
        if self.state in (State.LOT, State.SERIAL, State.WEIGHT):
            self.pending, self.count, self.lots = None, None, ()
            self.go(State.ITEM)
            return Outcome(True, "Cancelled — scan item")
        if self.state == State.ITEM and self.count:
            self.count = None
            return Outcome(True, "Count dropped — scan item")
        self.order_ref, self.view, self.count, self.pending, self.lots, self.last = None, None, None, None, (), ""
        self.go(State.DOCUMENT)
        return Outcome(True, "Cancelled — scan tote or order")
