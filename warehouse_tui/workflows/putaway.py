"""Putaway (@PUTAWAY) and Move (@MOVE), DESIGN §5.

Putaway: scan an LPN, or an item (+lot, +serial) lying in a receiving bin (or
a returns bin, where customer returns graded good wait) ->
for an item, qty + Enter (Enter alone = all of it) -> the screen suggests a
bin (the item's pick face, else an empty bin in its zone) -> scan the bin ->
moved. Scanning another valid bin is allowed and audited as an override.

Transitions:
  source --LPN--> to_bin
  source --item--> lot | serial | qty | to_bin
  lot --lot--> serial | qty | to_bin
  serial --serial--> to_bin
  qty --qty | Enter (all)--> to_bin
  to_bin --bin--> source
  * --@CANCEL--> source

Move: scan the from-bin or LPN -> item (+lot/serial) -> qty -> scan the to-bin
(or a tote/LPN standing in a bin; an empty tote standing nowhere is on the
cart, so it is filled at the from-bin) -> moved.

Move transitions:
  from --bin | LPN--> item
  item --item--> lot | serial | qty | to
  lot --lot--> serial | qty | to
  serial --serial--> to
  qty --qty--> to
  to --bin | container--> item
  * --@CANCEL--> item | from
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from warehouse_tui.scan.resolver import Scan, ScanKind
from warehouse_tui.services import clients, items
from warehouse_tui.services import putaway as svc
from warehouse_tui.workflows.base import Outcome, Prompt, Workflow, kinds
from warehouse_tui.workflows.item_details import Detail, ItemDetails
from warehouse_tui.workflows.machine import Machine


class PutawayState(enum.StrEnum):
    SOURCE = "source"
    LOT = "lot"
    SERIAL = "serial"
    QTY = "qty"
    TO_BIN = "to_bin"


PUTAWAY = Machine(PutawayState, [
    ("source", "LPN", "to_bin"),
    ("source", "item", "lot | serial | qty | to_bin"),
    ("lot", "lot", "serial | qty | to_bin"),
    ("serial", "serial", "to_bin"),
    ("qty", "qty | Enter (all)", "to_bin"),
    ("to_bin", "bin", "source"),
    ("*", "@CANCEL", "source"),
])


class MoveState(enum.StrEnum):
    FROM = "from"
    ITEM = "item"
    LOT = "lot"
    SERIAL = "serial"
    QTY = "qty"
    TO = "to"


MOVE = Machine(MoveState, [
    ("from", "bin | LPN", "item"),
    ("item", "item", "lot | serial | qty | to"),
    ("lot", "lot", "serial | qty | to"),
    ("serial", "serial", "to"),
    ("qty", "qty", "to"),
    ("to", "bin | container", "item"),
    ("*", "@CANCEL", "item | from"),
], title="Move transitions")

# What goods on hand ask before they move: the lot they lie in, the serial (each serial is one unit).
PUTAWAY_ASKS = (Detail.LOT, Detail.SERIAL)
MOVE_ASKS = (Detail.LOT, Detail.SERIAL, Detail.QTY)


def _client_of_goods(wf: Workflow, bin_code: str | None, lpn: str | None) -> list[str]:
    """The client line for the goods in hand (`wf.goods`) taken from that bin or LPN."""
    goods = wf.goods
    return wf.client_in_hand(lambda session: clients.client_of_stock(session, bin_code=bin_code, lpn=lpn,
                                                                          item_id=goods.item_id, lot=goods.lot))


@dataclass
class Putaway(Workflow):
    initial = PutawayState.SOURCE
    machine = PUTAWAY
    write_states = frozenset({PutawayState.TO_BIN})
    goods: ItemDetails | None = None
    lpn: str | None = None
    from_bin: str | None = None
    available: int = 0
    suggested: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.title = "Putaway"

    @property
    def prompt(self) -> Prompt:
        match self.state:
            case PutawayState.SOURCE:
                return Prompt("Scan LPN or item", kinds(ScanKind.CONTAINER, ScanKind.ITEM))
            case PutawayState.LOT:
                return Prompt(f"Scan lot of {self.goods.sku}", kinds(ScanKind.LOT))
            case PutawayState.SERIAL:
                return Prompt(f"Scan serial of {self.goods.sku}", kinds(ScanKind.SERIAL))
            case PutawayState.QTY:
                return Prompt(f"Qty + Enter (Enter = all {self.available})", kinds(ScanKind.QTY), accepts_empty=True)
            case PutawayState.TO_BIN:
                return Prompt(f"Scan bin {self.suggested}" if self.suggested else "Scan a bin (no suggestion)", kinds(ScanKind.BIN))
        raise AssertionError(self.state)

    def lines(self) -> list[str]:
        out = []
        if self.lpn:
            out.append(f"LPN {self.lpn} from {self.from_bin}")
            out += self.client_in_hand(lambda session: clients.client_of_stock(session, lpn=self.lpn))
        elif self.goods:
            out.append(f"{self.goods.label()} from {self.from_bin}")
            out += _client_of_goods(self, self.from_bin, None)
            if self.goods.qty:
                out.append(f"Qty {self.goods.qty}")
        if self.state == PutawayState.TO_BIN and self.suggested:
            out.append(f"Suggested: {self.suggested}")
        return out

    def on_source(self, scan: Scan) -> Outcome:
        with self.reading() as session:
            if scan.kind == ScanKind.CONTAINER:
                pallet = svc.pallet_to_put_away(session, scan.container_id, scan.container_code)
                self.lpn, self.from_bin, self.suggested = pallet.lpn, pallet.from_bin, pallet.suggested
                self.go(PutawayState.TO_BIN)
                return Outcome(True, f"LPN {pallet.lpn}")
            goods = ItemDetails.scanned(items.item_facts(session, scan.item_id), scan, stock_lots=True)
            self.from_bin = svc.receiving_bin_with(session, goods.item_id, self.terminal.settings.receiving_bin)
        self.goods = goods
        return self._advance()

    def on_lot(self, scan: Scan) -> Outcome:
        self.goods.take(Detail.LOT, scan)
        return self._advance()

    def on_serial(self, scan: Scan) -> Outcome:
        self.goods.take(Detail.SERIAL, scan)
        return self._advance()

    def _advance(self) -> Outcome:
        g = self.goods
        missing = g.missing(PUTAWAY_ASKS)
        if missing == Detail.LOT:
            # One lot in the bin: no need to ask.
            with self.reading() as session:
                g.lot = svc.only_lot_in_bin(session, g.item_id, self.from_bin)
            missing = g.missing(PUTAWAY_ASKS)
        if missing:
            self.go(PutawayState(missing))
            return Outcome(True, g.sku)
        with self.reading() as session:
            plan = svc.loose_putaway(session, g.item_id, self.from_bin, g.lot, g.label())
        self.available, self.suggested = plan.available, plan.suggested
        self.go(PutawayState.TO_BIN if g.serial or g.qty else PutawayState.QTY)
        return Outcome(True, g.label())

    def on_qty(self, scan: Scan | None) -> Outcome:
        qty = self.available if scan is None else scan.qty
        self.goods.qty = svc.check_putaway_qty(qty, self.available, self.goods.label(), self.from_bin)
        self.go(PutawayState.TO_BIN)
        return Outcome(True, f"Qty {qty}")

    def on_to_bin(self, scan: Scan) -> Outcome:
        actor = self.terminal.actor
        with self.writing() as session:
            if self.lpn:
                svc.putaway_container(session, actor, container_code=self.lpn, to_bin_code=scan.bin_code, suggested_code=self.suggested)
                what = f"LPN {self.lpn}"
            else:
                g = self.goods
                svc.putaway_item(session, actor, item_id=g.item_id, from_bin_code=self.from_bin, to_bin_code=scan.bin_code,
                                 qty=g.qty, lot_code=g.lot, serial=g.serial, suggested_code=self.suggested)
                what = f"{g.qty or 1} × {g.label()}"
        override = self.suggested is not None and scan.bin_code != self.suggested
        self._reset()
        return Outcome(True, f"Put {what} in {scan.bin_code}" + (" (override)" if override else ""))

    def _reset(self) -> None:
        self.goods, self.lpn, self.from_bin, self.suggested, self.available = None, None, None, None, 0
        self.go(PutawayState.SOURCE)

    def cancel(self) -> Outcome:
        self._reset()
        return Outcome(True, "Cancelled — scan LPN or item")


@dataclass
class Move(Workflow):
    initial = MoveState.FROM
    machine = MOVE
    write_states = frozenset({MoveState.TO})
    from_bin: str | None = None
    from_lpn: str | None = None
    goods: ItemDetails | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.title = "Move"

    @property
    def prompt(self) -> Prompt:
        match self.state:
            case MoveState.FROM:
                return Prompt("Scan from-bin or LPN", kinds(ScanKind.BIN, ScanKind.CONTAINER))
            case MoveState.ITEM:
                return Prompt("Scan item", kinds(ScanKind.ITEM))
            case MoveState.LOT:
                return Prompt(f"Scan lot of {self.goods.sku}", kinds(ScanKind.LOT))
            case MoveState.SERIAL:
                return Prompt(f"Scan serial of {self.goods.sku}", kinds(ScanKind.SERIAL))
            case MoveState.QTY:
                return Prompt(f"Qty of {self.goods.sku} + Enter", kinds(ScanKind.QTY))
            case MoveState.TO:
                return Prompt("Scan to-bin", kinds(ScanKind.BIN, ScanKind.CONTAINER))
        raise AssertionError(self.state)

    def lines(self) -> list[str]:
        out = []
        if self.from_bin:
            out.append(f"From {self.from_lpn + ' in ' if self.from_lpn else ''}{self.from_bin}")
        if self.goods:
            out.append(self.goods.label() + (f" × {self.goods.qty}" if self.goods.qty else ""))
        if self.from_bin:
            if self.goods:
                out += _client_of_goods(self, self.from_bin, self.from_lpn)
            else:
                out += self.client_in_hand(lambda session: clients.client_of_stock(
                    session, bin_code=self.from_bin, lpn=self.from_lpn))
        return out

    def label_ais(self) -> frozenset[str]:
        # The LPN/SSCC the goods come from is the (00) its content barcode (02)(37) goes with.
        return frozenset({"00"}) if self.from_lpn else frozenset()

    def on_from(self, scan: Scan) -> Outcome:
        if scan.kind == ScanKind.CONTAINER:
            with self.reading() as session:
                self.from_lpn, self.from_bin = svc.move_source(session, scan.container_id, scan.container_code)
        else:
            self.from_lpn, self.from_bin = None, scan.bin_code
        self.go(MoveState.ITEM)
        return Outcome(True, f"From {self.from_lpn or self.from_bin}")

    def on_item(self, scan: Scan) -> Outcome:
        with self.reading() as session:
            self.goods = ItemDetails.scanned(items.item_facts(session, scan.item_id), scan, stock_lots=True)
        return self._advance()

    def on_lot(self, scan: Scan) -> Outcome:
        self.goods.take(Detail.LOT, scan)
        return self._advance()

    def on_serial(self, scan: Scan) -> Outcome:
        self.goods.take(Detail.SERIAL, scan)
        return self._advance()

    def _advance(self) -> Outcome:
        missing = self.goods.missing(MOVE_ASKS)
        if missing is not None:
            self.go(MoveState(missing))
        else:
            if self.goods.serial:
                self.goods.qty = 1
            self.go(MoveState.TO)
        return Outcome(True, self.goods.label())

    def on_qty(self, scan: Scan) -> Outcome:
        self.goods.take(Detail.QTY, scan)
        self.go(MoveState.TO)
        return Outcome(True, f"Qty {scan.qty}")

    def on_to(self, scan: Scan) -> Outcome:
        g = self.goods
        to_bin, to_container = scan.bin_code, None
        with self.writing() as session:
            if scan.kind == ScanKind.CONTAINER:
                to_bin, to_container = svc.move_target(session, scan.container_id, scan.container_code, self.from_bin)
            svc.move_stock(session, self.terminal.actor, item_id=g.item_id, from_bin_code=self.from_bin, to_bin_code=to_bin,
                           qty=g.qty, lot_code=g.lot, serial=g.serial, from_container_code=self.from_lpn, to_container_code=to_container)
        self.goods = None
        self.go(MoveState.ITEM)
        return Outcome(True, f"Moved {g.qty} × {g.label()} to {to_container or to_bin}")

    def cancel(self) -> Outcome:
        self.goods = None
        self.go(MoveState.ITEM if self.from_bin else MoveState.FROM)
        return Outcome(True, "Cancelled")
