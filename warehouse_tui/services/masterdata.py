"""Master data lookups and creation shared by import, demo and the workflows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import Bin, BinKind, Container, ContainerKind, Item, ItemCode, Lot, Owner, Tracking
from warehouse_tui.errors import InvalidInput, NotFound
from warehouse_tui.scan.gtin import looks_like_gtin, normalize_gtin

DEFAULT_OWNER = "MAIN"

# The lookups of every scan, built once: building a statement costs about as much as running it.
# Two plain parameters, not an expanding IN: an expanding list is rendered into the SQL again at every
# execution; a scan has at most two candidate codes (the text as scanned and its GTIN-14).
_ITEMS_BY_CODES = (select(ItemCode.code, Item).join(Item, Item.id == ItemCode.item_id)
                   .where(ItemCode.code.in_([bindparam("code"), bindparam("gtin14")])))
_ITEMS_BY_SKU = select(Item).where(Item.sku == bindparam("sku")).limit(2)
_BIN_BY_CODE = select(Bin).where((Bin.code == bindparam("code")) | (Bin.barcode == bindparam("code")))


def owner(session: Session, code: str | None = None, *, create: bool = True) -> Owner:
    code = (code or DEFAULT_OWNER).strip() or DEFAULT_OWNER
    found = session.scalars(select(Owner).where(Owner.code == code)).one_or_none()
    if found is None:
        if not create:
            raise NotFound(f"Owner {code} is not known")
        found = Owner(code=code, name=code)
        session.add(found)
        session.flush()
    return found


def add_item(
    session: Session,
    sku: str,
    *,
    description: str = "",
    gtins: list[str] | tuple[str, ...] = (),
    aliases: list[str] | tuple[str, ...] = (),
    uom: str = "EA",
    tracking: str = Tracking.NONE.value,
    expiry_required: bool = False,
    owner_code: str | None = None,
    zone: str | None = None,
) -> Item:
    """Create an item with its GTINs (normalised to GTIN-14, check digit enforced) and aliases."""
    if tracking not in {t.value for t in Tracking}:
        raise InvalidInput(f"tracking must be none, lot or serial, not {tracking!r}")
    own = owner(session, owner_code)
    item = Item(owner_id=own.id, sku=sku, description=description, uom=uom, tracking=tracking,
                expiry_required=expiry_required, zone=zone)
    session.add(item)
    session.flush()
    for code in gtins:
        session.add(ItemCode(item_id=item.id, code=normalize_gtin(code), kind="gtin"))
    for code in aliases:
        session.add(ItemCode(item_id=item.id, code=code, kind="alias"))
    return item


def item_by_sku(session: Session, sku: str, owner_code: str | None = None) -> Item:
    query = select(Item).where(Item.sku == sku)
    if owner_code:
        query = query.join(Owner).where(Owner.code == owner_code)
    items = session.scalars(query).all()
    if not items:
        raise NotFound(f"Item {sku} is not known")
    if len(items) > 1:
        raise InvalidInput(f"SKU {sku} exists for several owners — name the owner")
    return items[0]


def item_by_code(session: Session, code: str) -> Item | None:
    """An item by GTIN (any length, as GTIN-14), alias or SKU (DESIGN §4); None when nothing matches.

    A SKU that several owners use names no item by itself: None, so the
    operator scans the barcode instead.
    """
    candidates = [code]
    if looks_like_gtin(code):
        try:
            candidates.insert(0, normalize_gtin(code))
        except InvalidInput:
            pass
    # One query for every candidate code; a GTIN-14 match beats the raw text.
    found = session.execute(_ITEMS_BY_CODES, {"code": code, "gtin14": candidates[0]}).all()
    by_code = {c: item for c, item in found}
    for candidate in candidates:
        if candidate in by_code:
            return by_code[candidate]
    by_sku = session.scalars(_ITEMS_BY_SKU, {"sku": code}).all()
    return by_sku[0] if len(by_sku) == 1 else None


def add_bin(session: Session, code: str, *, zone: str = "", kind: str = BinKind.STORAGE.value, pick_seq: int = 0,
            barcode: str | None = None, blocked: bool = False) -> Bin:
    if kind not in {k.value for k in BinKind}:
        raise InvalidInput(f"bin kind must be one of {', '.join(k.value for k in BinKind)}, not {kind!r}")
    bin_ = Bin(code=code, barcode=barcode or code, zone=zone, kind=kind, pick_seq=pick_seq, blocked=blocked)
    session.add(bin_)
    session.flush()
    return bin_


def bin_by_code(session: Session, code: str) -> Bin:
    found = session.scalars(_BIN_BY_CODE, {"code": code}).first()
    if found is None:
        raise NotFound(f"Bin {code} is not known — scan another bin")
    return found


def lot(session: Session, item: Item, code: str, expiry: dt.date | None = None) -> Lot:
    """The item's lot with this code, created if new. A lot's expiry, once known, cannot change."""
    code = code.strip()
    if not code:
        raise InvalidInput("Lot code is empty")
    if len(code) > 64:
        raise InvalidInput("Lot code is longer than 64 characters")
    found = session.scalars(select(Lot).where(Lot.item_id == item.id, Lot.code == code)).one_or_none()
    if found is None:
        found = Lot(item_id=item.id, code=code, expiry=expiry)
        session.add(found)
        session.flush()
    elif expiry is not None:
        if found.expiry is None:
            found.expiry = expiry
        elif found.expiry != expiry:
            raise InvalidInput(f"Lot {code} of {item.sku} expires {found.expiry:%Y-%m-%d}, not {expiry:%Y-%m-%d}")
    return found


def container(session: Session, code: str, kind: str = ContainerKind.LPN.value, *, create: bool = True) -> Container:
    found = session.scalars(select(Container).where(Container.code == code)).one_or_none()
    if found is None:
        if not create:
            raise NotFound(f"Container {code} is not known")
        if kind not in {k.value for k in ContainerKind}:
            raise InvalidInput(f"container kind must be one of {', '.join(k.value for k in ContainerKind)}")
        found = Container(code=code, kind=kind)
        session.add(found)
        session.flush()
    return found

