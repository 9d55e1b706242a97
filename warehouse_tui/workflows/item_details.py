"""The shared sub-machine of every line of goods: lot -> expiry -> serial -> qty, asked only where the item needs it.

Receive, count, putaway, move and pack all ask the same questions of an item
in hand. `ItemDetails` holds the answers so far (a GS1 scan may carry several
at once) and `missing` names the next question in the order the workflow asks
them; the workflow's states for these prompts are named after the `Detail`.

- lot: when the workflow asks for it (lot-tracked items; for stock already in
  the warehouse, any item kept in lots) and none is known;
- expiry: for dated items with no expiry known;
- serial: for serial-tracked items; a serial is the whole line (one unit), so
  nothing after it is asked;
- qty: for anything else with no quantity known.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from warehouse_tui.scan.resolver import Scan
from warehouse_tui.services.items import ItemFacts


class Detail(enum.StrEnum):
    LOT = "lot"
    EXPIRY = "expiry"
    SERIAL = "serial"
    QTY = "qty"


@dataclass
class ItemDetails:
    """The item in hand and what is known of it so far."""

    item: ItemFacts
    lot: str | None = None
    expiry: dt.date | None = None
    serial: str | None = None
    qty: int | None = None
    lot_asked: bool = False  # whether this workflow asks for the lot of this item

    @classmethod
    def scanned(cls, item: ItemFacts, scan: Scan, *, stock_lots: bool = False) -> ItemDetails:
        """From the item's scan: whatever its label carried. `stock_lots`: the lot of stock on hand is asked (putaway, move)."""
        return cls(item, lot=scan.lot, expiry=scan.expiry, serial=scan.serial, qty=scan.qty,
                   lot_asked=item.kept_in_lots if stock_lots else item.needs_lot)

    @property
    def item_id(self) -> int:
        return self.item.id

    @property
    def sku(self) -> str:
        return self.item.sku

    def missing(self, asks: Sequence[Detail]) -> Detail | None:
        """The next question of `asks` (in that order) still open, or None when the line is complete."""
        for detail in asks:
            match detail:
                case Detail.LOT if self.lot_asked and not self.lot:
                    return detail
                case Detail.EXPIRY if self.item.needs_expiry and self.expiry is None:
                    return detail
                case Detail.SERIAL if self.item.is_serial:
                    return None if self.serial else detail
                case Detail.QTY if not self.item.is_serial and self.qty is None:
                    return detail
        return None

    def take(self, detail: Detail, scan: Scan) -> None:
        """The answer to `detail` from a scan at its prompt (a GS1 lot label may carry the expiry too)."""
        match detail:
            case Detail.LOT:
                self.lot = scan.lot or scan.value
                if scan.expiry and self.expiry is None:
                    self.expiry = scan.expiry
            case Detail.EXPIRY:
                self.expiry = scan.expiry
            case Detail.SERIAL:
                self.serial = scan.serial or scan.value
            case Detail.QTY:
                self.qty = scan.qty

    def label(self) -> str:
        return self.sku + (f" lot {self.lot}" if self.lot else "") + (f" SN {self.serial}" if self.serial else "")

    def copy(self) -> ItemDetails:
        return dataclasses.replace(self)
