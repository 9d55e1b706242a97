"""Which 3PL client's goods an operator has in hand: the rule behind the client line of the floor screens.

A client (an owner) is named on screen only where the warehouse holds more than
one client's goods; with one client every answer here is "". Whose goods they are
depends on what is handled:

- receive: the item in hand's owner, else the owners of the receipt's lines;
- putaway, move, count: the owners of the stock (quants) in hand — in the bin or
  on the LPN, of the item (and lot) when one is scanned — else the item's owner
  (stock found where the books have none is the item owner's, as the ledger books it);
- returns: the owners of the goods of the order the return is against;
- pick, pack, replenishment: the owners of the items of the task or order.

Codes are returned as stored: master data, shown as text by the screens.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import Bin, Container, InboundLine, InboundOrder, Item, Lot, OutboundLine, Owner, Quant, ReturnOrder


def _several(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(Owner)) >= 2


def _codes(session: Session, owner_ids) -> str:
    return ", ".join(session.scalars(select(Owner.code).where(Owner.id.in_(owner_ids)).distinct().order_by(Owner.code)))


def client_shown(session: Session, item_ids: Iterable[int]) -> str:
    """The owners of these items, named only where the warehouse has more than one client."""
    item_ids = list(item_ids)
    if not item_ids or not _several(session):
        return ""
    return _codes(session, select(Item.owner_id).where(Item.id.in_(item_ids)))


def client_of_receipt(session: Session, ref: str | None, item_id: int | None = None) -> str:
    """The client whose goods are being received: the item in hand's, else those of the receipt's lines."""
    if item_id is not None:
        return client_shown(session, [item_id])
    if ref is None or not _several(session):
        return ""
    return _codes(session, select(Item.owner_id).join(InboundLine, InboundLine.item_id == Item.id)
                  .join(InboundOrder, InboundOrder.id == InboundLine.order_id).where(InboundOrder.ref == ref))


def client_of_stock(session: Session, *, bin_code: str | None = None, lpn: str | None = None, item_id: int | None = None,
                    lot: str | None = None) -> str:
    """The client(s) of the stock in hand: owners of the quants in that bin or on that LPN (of that item and lot),
    else the item's owner."""
    if not _several(session) or (bin_code is None and lpn is None and item_id is None):
        return ""
    quants = select(Quant.owner_id).where(Quant.qty != 0)
    if lpn is not None:
        quants = quants.join(Container, Container.id == Quant.container_id).where(Container.code == lpn)
    elif bin_code is not None:
        quants = quants.join(Bin, Bin.id == Quant.bin_id).where(Bin.code == bin_code)
    if item_id is not None:
        quants = quants.where(Quant.item_id == item_id)
        if lot:
            quants = quants.join(Lot, Lot.id == Quant.lot_id).where(Lot.code == lot)
    if bin_code is not None or lpn is not None:
        found = _codes(session, quants)
        if found or item_id is None:
            return found
    return client_shown(session, [item_id])


def client_of_return(session: Session, ref: str | None) -> str:
    """The client whose goods come back: the owners of the goods of the order the return is against."""
    if ref is None or not _several(session):
        return ""
    return _codes(session, select(Item.owner_id).join(OutboundLine, OutboundLine.item_id == Item.id)
                  .join(ReturnOrder, ReturnOrder.order_id == OutboundLine.order_id).where(ReturnOrder.ref == ref))
