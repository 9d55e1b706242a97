"""What the rows of a file name (items, bins), read set-based a chunk of rows at a time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import Bin, Item, Owner
from warehouse_tui.errors import InvalidInput, NotFound
from warehouse_tui.services.batch_ledger import chunks, where_in


class ItemRef(NamedTuple):
    id: int
    sku: str
    owner_id: int
    owner: str
    tracking: str
    expiry_required: bool


class BinRef(NamedTuple):
    id: int
    code: str
    barcode: str


def items_with_skus(session: Session, skus: Iterable[str], postgres: bool) -> dict[str, list[ItemRef]]:
    """SKU -> the items of any owner with that SKU."""
    found: dict[str, list[ItemRef]] = defaultdict(list)
    for chunk in chunks(skus):
        for r in session.execute(select(Item.id, Item.sku, Item.owner_id, Owner.code, Item.tracking, Item.expiry_required)
                                 .join(Owner, Owner.id == Item.owner_id).where(where_in(Item.sku, chunk, postgres)).order_by(Item.id)):
            found[r[1]].append(ItemRef(r[0], r[1], r[2], r[3], r[4], bool(r[5])))
    return found


def bins_named(session: Session, names: Iterable[str], postgres: bool) -> dict[str, tuple[BinRef, ...]]:
    """Name -> the bins whose code or barcode it is (lowest id first)."""
    found: dict[str, list[BinRef]] = defaultdict(list)
    for chunk in chunks(names):
        wanted = set(chunk)
        for r in session.execute(select(Bin.id, Bin.code, Bin.barcode)
                                 .where(or_(where_in(Bin.code, chunk, postgres), where_in(Bin.barcode, chunk, postgres))).order_by(Bin.id)):
            ref = BinRef(*r)
            if ref.code in wanted:
                found[ref.code].append(ref)
            if ref.barcode != ref.code and ref.barcode in wanted:
                found[ref.barcode].append(ref)
    return {name: tuple(refs) for name, refs in found.items()}


class Catalog:
    """The items and bins the rows of one file name: read a chunk of rows at a time, kept for the file."""

    def __init__(self) -> None:
        self.items: dict[str, list[ItemRef]] = {}
        self.bins: dict[str, BinRef | None] = {}
        self.items_by_id: dict[int, ItemRef] = {}
        self.bins_by_id: dict[int, BinRef] = {}

    def load(self, session: Session, postgres: bool, skus: Iterable[str | None] = (), bins: Iterable[str | None] = ()) -> None:
        new_skus = {s for s in skus if s and s not in self.items}
        found = items_with_skus(session, new_skus, postgres)
        for sku in new_skus:
            self.items[sku] = found.get(sku, [])
            self.items_by_id.update((i.id, i) for i in self.items[sku])
        new_bins = {b for b in bins if b and b not in self.bins}
        named = bins_named(session, new_bins, postgres)
        for name in new_bins:
            refs = named.get(name, ())
            # a bin's own code before another bin's barcode (bins import keeps the two apart anyway)
            ref = next((b for b in refs if b.code == name), refs[0] if refs else None)
            self.bins[name] = ref
            if ref is not None:
                self.bins_by_id[ref.id] = ref

    def item(self, sku: str) -> ItemRef:
        found = self.items.get(sku) or []
        if not found:
            raise NotFound(f"SKU {sku} is not known — import it with the items first")
        if len(found) > 1:
            raise InvalidInput(f"SKU {sku} exists for several owners — name the owner")
        return found[0]

    def bin(self, name: str) -> BinRef:
        found = self.bins.get(name)
        if found is None:
            raise NotFound(f"bin {name} is not known — import it with the bins first")
        return found
