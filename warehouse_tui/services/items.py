"""What a floor workflow needs to know of an item: its SKU and what a line of it asks for (lot, expiry, serial, qty)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import Item, Lot
from warehouse_tui.errors import NotFound


@dataclass(frozen=True)
class ItemFacts:
    """An item's answers to the questions a prompt sequence asks (the model's predicates, as plain values)."""

    id: int
    sku: str
    needs_lot: bool  # lot-tracked: the lot is scanned
    needs_expiry: bool  # dated
    is_serial: bool  # one serial per unit
    kept_in_lots: bool  # its stock lies in lots (lot-tracked, or dated: one lot per expiry date)


def item_facts(session: Session, item_id: int) -> ItemFacts:
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound("Item not known — scan the item again")
    return ItemFacts(item.id, item.sku, item.needs_lot, item.needs_expiry, item.is_serial, item.kept_in_lots)


def sku(session: Session, item_id: int) -> str:
    return item_facts(session, item_id).sku


def known_lot_expiry(session: Session, item_id: int, lot_code: str) -> dt.date | None:
    """The expiry of an item's lot when the lot is known (so it need not be asked again)."""
    return session.scalars(select(Lot.expiry).where(Lot.item_id == item_id, Lot.code == lot_code)).first()

