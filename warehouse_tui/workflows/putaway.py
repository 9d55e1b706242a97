"""Putaway (@PUTAWAY) and Move (@MOVE), DESIGN §5.

Putaway: scan an LPN, or an item (+lot, +serial) lying in a receiving bin (or
a returns bin: customer returns graded good wait there) ->
for an item, qty + Enter (Enter alone = all of it) -> the screen suggests a
bin (the item's pick face, else an empty bin in its zone) -> scan the bin ->
moved. Scanning another valid bin is allowed and audited as an override.

Transitions:
  source --LPN--> to_bin;  source --item--> lot | serial | qty
  lot --> serial | qty;  serial --> to_bin;  qty --> to_bin;  to_bin --bin--> source

Move: scan the from-bin or LPN -> item (+lot/serial) -> qty -> scan the to-bin
(or a tote/LPN standing in a bin; an empty tote standing nowhere is on the
cart, so it is filled at the from-bin) -> moved.

Transitions:
  from --bin/LPN--> item --item--> lot | serial | qty;  lot --> serial | qty;
  serial --> to;  qty --> to;  to --bin/container--> item (same from-bin)
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from warehouse_tui.db.models import Bin, BinKind, Container, ContainerKind, Item, Lot, Quant, Tracking
from warehouse_tui.errors import InvalidInput, InvariantViolation, NotFound
from warehouse_tui.scan.resolver import Scan, ScanKind
from warehouse_tui.services import masterdata as md
from warehouse_tui.services import putaway as svc
from warehouse_tui.services.receiving import receiving_bin
from warehouse_tui.workflows.base import Outcome, Prompt, Workflow, kinds


@dataclass
class Goods:
    """The item being moved and what is known of it so far."""

    item_id: int
    sku: str
    tracking: str
    needs_lot: bool
    lot: str | None = None
    serial: str | None = None
    qty: int | None = None

    def missing(self) -> str | None:
        if self.needs_lot and not self.lot:
            return "lot"
        if self.tracking == Tracking.SERIAL.value and not self.serial:
            return "serial"
        return None

    def label(self) -> str:
        return self.sku + (f" lot {self.lot}" if self.lot else "") + (f" SN {self.serial}" if self.serial else "")


def _goods(session, scan: Scan) -> Goods:
    item = session.get(Item, scan.item_id)
    return Goods(item.id, item.sku, item.tracking, svc.needs_lot(item), lot=scan.lot, serial=scan.serial, qty=scan.qty)


@dataclass
class Putaway(Workflow):
    initial = "source"
    goods: Goods | None = None
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
            case "source":
                return Prompt("Scan LPN or item", kinds(ScanKind.CONTAINER, ScanKind.ITEM))
            case "lot":
                return Prompt(f"Scan lot of {self.goods.sku}", kinds(ScanKind.LOT))
            case "serial":
                return Prompt(f"Scan serial of {self.goods.sku}", kinds(ScanKind.SERIAL))
            case "qty":
                return Prompt(f"Qty + Enter (Enter = all {self.available})", kinds(ScanKind.QTY), accepts_empty=True)
            case "to_bin":
                return Prompt(f"Scan bin {self.suggested}" if self.suggested else "Scan a bin (no suggestion)", kinds(ScanKind.BIN))
        raise AssertionError(self.state)

    def lines(self) -> list[str]:
        out = []
        if self.lpn:
            out.append(f"LPN {self.lpn} from {self.from_bin}")
        elif self.goods:
            out.append(f"{self.goods.label()} from {self.from_bin}")
            if self.goods.qty:
                out.append(f"Qty {self.goods.qty}")
        if self.state == "to_bin" and self.suggested:
            out.append(f"Suggested: {self.suggested}")
        return out

    def on_source(self, scan: Scan) -> Outcome:
        with self.terminal.db.reading() as session:
            if scan.kind == ScanKind.CONTAINER:
                if scan.container_id is None:
                    raise NotFound(f"LPN {scan.container_code} is not known — scan another")
                lpn = session.get(Container, scan.container_id)
                if lpn.bin_id is None:
                    raise InvariantViolation(f"{lpn.code} is empty — nothing to put away")
                suggestion = svc.container_suggestion(session, lpn)
                self.lpn, self.from_bin = lpn.code, session.get(Bin, lpn.bin_id).code
                self.suggested = suggestion.code if suggestion else None
                self.state = "to_bin"
                return Outcome(True, f"LPN {lpn.code}")
            goods = _goods(session, scan)
            self.from_bin = self._receiving_bin_with(session, goods.item_id)
        self.goods = goods
        return self._advance()

    def _receiving_bin_with(self, session, item_id: int) -> str:
        """The receiving (or returns) bin holding loose stock of the item: this terminal's receiving bin first, else any."""
        preferred = receiving_bin(session, self.terminal.settings.receiving_bin)
        rows = session.execute(
            select(Bin.code, Bin.id).join(Quant, Quant.bin_id == Bin.id)
            .where(Quant.item_id == item_id, Bin.kind.in_((BinKind.RECEIVING.value, BinKind.RETURNS.value)),
                   Quant.container_id.is_(None), Quant.qty > 0)
            .order_by(Bin.code)
        ).all()
        if not rows:
            raise InvariantViolation("None of this item lies loose in a receiving or returns bin — scan its LPN")
        codes = [code for code, _ in rows]
        return preferred.code if preferred.code in codes else codes[0]

    def on_lot(self, scan: Scan) -> Outcome:
        self.goods.lot = scan.lot or scan.value
        return self._advance()

    def on_serial(self, scan: Scan) -> Outcome:
        self.goods.serial = scan.serial or scan.value
        return self._advance()

    def _advance(self) -> Outcome:
        missing = self.goods.missing()
        if missing == "lot":
            # One lot in the bin: no need to ask.
            with self.terminal.db.reading() as session:
                item = session.get(Item, self.goods.item_id)
                lots = svc.lots_in_bin(session, item, md.bin_by_code(session, self.from_bin))
            if len(lots) == 1:
                self.goods.lot = lots[0].code
                missing = self.goods.missing()
        if missing:
            self.state = missing
            return Outcome(True, self.goods.sku)
        with self.terminal.db.reading() as session:
            item = session.get(Item, self.goods.item_id)
            lot = session.scalars(select(Lot).where(Lot.item_id == item.id, Lot.code == self.goods.lot)).first() if self.goods.lot else None
            if self.goods.lot and lot is None:
                raise NotFound(f"Lot {self.goods.lot} of {item.sku} is not known — scan another lot")
            self.available = svc.loose_stock(session, item, md.bin_by_code(session, self.from_bin), lot)
            if self.available <= 0:
                raise InvariantViolation(f"No free {self.goods.label()} in {self.from_bin}")
            suggestion = svc.suggest_bin(session, item)
            self.suggested = suggestion.code if suggestion else None
        if self.goods.serial or self.goods.qty:
            self.state = "to_bin"
        else:
            self.state = "qty"
        return Outcome(True, self.goods.label())

    def on_qty(self, scan: Scan | None) -> Outcome:
        qty = self.available if scan is None else scan.qty
        if qty > self.available:
            raise InvariantViolation(f"Only {self.available} of {self.goods.label()} in {self.from_bin}")
        self.goods.qty = qty
        self.state = "to_bin"
        return Outcome(True, f"Qty {qty}")

    def on_to_bin(self, scan: Scan) -> Outcome:
        actor = self.terminal.actor
        with self.terminal.db.transaction() as session:
            if self.lpn:
                svc.putaway_container(session, actor, container_code=self.lpn, to_bin_code=scan.bin_code, suggested_code=self.suggested)
                what = f"LPN {self.lpn}"
            else:
                g = self.goods
                svc.putaway_item(session, actor, item_id=g.item_id, from_bin_code=self.from_bin, to_bin_code=scan.bin_code,
                                 qty=g.qty if not g.serial else 1, lot_code=g.lot, serial=g.serial, suggested_code=self.suggested)
                what = f"{g.qty or 1} × {g.label()}"
        override = self.suggested is not None and scan.bin_code != self.suggested
        self._reset()
        return Outcome(True, f"Put {what} in {scan.bin_code}" + (" (override)" if override else ""))

    def _reset(self) -> None:
        self.goods, self.lpn, self.from_bin, self.suggested, self.available = None, None, None, None, 0
        self.state = "source"

    def cancel(self) -> Outcome:
        self._reset()
        return Outcome(True, "Cancelled — scan LPN or item")


@dataclass
class Move(Workflow):
    initial = "from"
    from_bin: str | None = None
    from_lpn: str | None = None
    goods: Goods | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.title = "Move"

    @property
    def prompt(self) -> Prompt:
        match self.state:
            case "from":
                return Prompt("Scan from-bin or LPN", kinds(ScanKind.BIN, ScanKind.CONTAINER))
            case "item":
                return Prompt("Scan item", kinds(ScanKind.ITEM))
            case "lot":
                return Prompt(f"Scan lot of {self.goods.sku}", kinds(ScanKind.LOT))
            case "serial":
                return Prompt(f"Scan serial of {self.goods.sku}", kinds(ScanKind.SERIAL))
            case "qty":
                return Prompt(f"Qty of {self.goods.sku} + Enter", kinds(ScanKind.QTY))
            case "to":
                return Prompt("Scan to-bin", kinds(ScanKind.BIN, ScanKind.CONTAINER))
        raise AssertionError(self.state)

    def lines(self) -> list[str]:
        out = []
        if self.from_bin:
            out.append(f"From {self.from_lpn + ' in ' if self.from_lpn else ''}{self.from_bin}")
        if self.goods:
            out.append(self.goods.label() + (f" × {self.goods.qty}" if self.goods.qty else ""))
        return out

    def on_from(self, scan: Scan) -> Outcome:
        with self.terminal.db.reading() as session:
            if scan.kind == ScanKind.CONTAINER:
                if scan.container_id is None:
                    raise NotFound(f"{scan.container_code} is not known — scan a bin or LPN")
                cont = session.get(Container, scan.container_id)
                if cont.bin_id is None:
                    raise InvariantViolation(f"{cont.code} is empty")
                self.from_lpn, self.from_bin = cont.code, session.get(Bin, cont.bin_id).code
            else:
                self.from_lpn, self.from_bin = None, scan.bin_code
        self.state = "item"
        return Outcome(True, f"From {self.from_lpn or self.from_bin}")

    def on_item(self, scan: Scan) -> Outcome:
        with self.terminal.db.reading() as session:
            self.goods = _goods(session, scan)
        return self._advance()

    def on_lot(self, scan: Scan) -> Outcome:
        self.goods.lot = scan.lot or scan.value
        return self._advance()

    def on_serial(self, scan: Scan) -> Outcome:
        self.goods.serial = scan.serial or scan.value
        return self._advance()

    def _advance(self) -> Outcome:
        missing = self.goods.missing()
        if missing:
            self.state = missing
        elif self.goods.serial:
            self.goods.qty = 1
            self.state = "to"
        else:
            self.state = "to" if self.goods.qty else "qty"
        return Outcome(True, self.goods.label())

    def on_qty(self, scan: Scan) -> Outcome:
        self.goods.qty = scan.qty
        self.state = "to"
        return Outcome(True, f"Qty {scan.qty}")

    def on_to(self, scan: Scan) -> Outcome:
        g = self.goods
        to_bin, to_container = scan.bin_code, None
        with self.terminal.db.transaction() as session:
            if scan.kind == ScanKind.CONTAINER:
                if scan.container_id is None:
                    raise NotFound(f"{scan.container_code} is not known — scan a bin, or a tote standing in one")
                cont = session.get(Container, scan.container_id)
                if cont.bin_id is not None:
                    to_bin, to_container = session.get(Bin, cont.bin_id).code, cont.code
                elif cont.kind == ContainerKind.TOTE.value:
                    # An empty tote stands nowhere by the books: it is on the cart, at the from-bin.
                    to_bin, to_container = self.from_bin, cont.code
                else:
                    raise InvalidInput(f"{cont.code} stands nowhere — scan the bin it is in")
            svc.move_stock(session, self.terminal.actor, item_id=g.item_id, from_bin_code=self.from_bin, to_bin_code=to_bin,
                           qty=g.qty, lot_code=g.lot, serial=g.serial, from_container_code=self.from_lpn, to_container_code=to_container)
        self.goods, self.state = None, "item"
        return Outcome(True, f"Moved {g.qty} × {g.label()} to {to_container or to_bin}")

    def cancel(self) -> Outcome:
        self.goods = None
        self.state = "item" if self.from_bin else "from"
        return Outcome(True, "Cancelled")
