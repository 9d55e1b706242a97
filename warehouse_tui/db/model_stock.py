"""Master data (owners, items, bins, lots, containers, serials) and the ledger
(quants and movements) of DESIGN §3."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from warehouse_tui.db.model_base import (
    Base,
    BigId,
    BinKind,
    ContainerKind,
    MovementKind,
    Tracking,
    _enum_check,
    utcnow,
)


# --------------------------------------------------------------------------- master data


class Owner(Base):
    """A stock owner: the warehouse itself or a 3PL client."""

    __tablename__ = "owners"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("owner_id", "sku"),
        _enum_check("tracking", Tracking),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id"))
    sku: Mapped[str] = mapped_column(String(64), index=True)
    description: Mapped[str] = mapped_column(String(300), default="")
    uom: Mapped[str] = mapped_column(String(16), default="EA")
    tracking: Mapped[str] = mapped_column(String(8), default=Tracking.NONE.value)
    expiry_required: Mapped[bool] = mapped_column(Boolean, default=False)
    # The zone where putaway looks for an empty bin when there is no pick face.
    zone: Mapped[str | None] = mapped_column(String(32), nullable=True)

    owner: Mapped[Owner] = relationship(lazy="joined")
    codes: Mapped[list[ItemCode]] = relationship(back_populates="item", cascade="all, delete-orphan")

    # What the item asks of the floor: the one place tracking is read.
    @property
    def is_serial(self) -> bool:
        """Each unit has its own serial number (one scan, one unit)."""
        return self.tracking == Tracking.SERIAL.value

    @property
    def needs_lot(self) -> bool:
        """Lot-tracked: the lot number is scanned with the goods."""
        return self.tracking == Tracking.LOT.value

    @property
    def needs_expiry(self) -> bool:
        """Dated: the expiry is known for every unit."""
        return bool(self.expiry_required)

    @property
    def lots_by_expiry(self) -> bool:
        """Dated without lot tracking: its stock lies in one lot per expiry date, named by the date."""
        return self.tracking == Tracking.NONE.value and self.needs_expiry

    @property
    def kept_in_lots(self) -> bool:
        """Its stock lies in lots: lot-tracked, or dated (one lot per expiry date)."""
        return self.needs_lot or self.lots_by_expiry


class ItemCode(Base):
    """A code that names an item: GTIN (stored as GTIN-14), UPC alias or supplier code."""

    __tablename__ = "item_codes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="gtin")  # gtin | alias

    item: Mapped[Item] = relationship(back_populates="codes")


class Bin(Base):
    __tablename__ = "bins"
    __table_args__ = (_enum_check("kind", BinKind), Index("ix_bins_zone_kind", "zone", "kind"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    barcode: Mapped[str] = mapped_column(String(64), unique=True)
    zone: Mapped[str] = mapped_column(String(32), default="")
    kind: Mapped[str] = mapped_column(String(16), default=BinKind.STORAGE.value)
    pick_seq: Mapped[int] = mapped_column(Integer, default=0)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)


class Lot(Base):
    __tablename__ = "lots"
    # By expiry (migration 0007_floor_lot_expiry): the floor view's soonest-expiring lots without reading every lot.
    __table_args__ = (UniqueConstraint("item_id", "code"), Index("ix_lots_expiry", "expiry"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    code: Mapped[str] = mapped_column(String(64), index=True)
    expiry: Mapped[dt.date | None] = mapped_column(Date, nullable=True)


class Container(Base):
    """An LPN/SSCC pallet, a tote or a carton, and the bin it stands in."""

    __tablename__ = "containers"
    __table_args__ = (_enum_check("kind", ContainerKind),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    bin_id: Mapped[int | None] = mapped_column(ForeignKey("bins.id"), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16), default="active")


class SerialUnit(Base):
    """One serial-numbered unit and where it is now (null bin = left the warehouse)."""

    __tablename__ = "serial_units"
    __table_args__ = (UniqueConstraint("item_id", "serial"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    serial: Mapped[str] = mapped_column(String(64), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"), nullable=True)
    bin_id: Mapped[int | None] = mapped_column(ForeignKey("bins.id"), nullable=True, index=True)
    container_id: Mapped[int | None] = mapped_column(ForeignKey("containers.id"), nullable=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id"))
    status: Mapped[str] = mapped_column(String(16), default="in_stock")  # in_stock | shipped | removed


# --------------------------------------------------------------------------- the ledger


class Quant(Base):
    """Stock on hand for one item/bin/lot/container/owner/status; kept equal to its movements."""

    __tablename__ = "quants"
    __table_args__ = (
        # NULLs are distinct in unique constraints, so the identity is a text key.
        UniqueConstraint("key"),
        Index("ix_quants_bin", "bin_id"),
        Index("ix_quants_item_bin", "item_id", "bin_id"),
        Index("ix_quants_container", "container_id"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(120))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    bin_id: Mapped[int] = mapped_column(ForeignKey("bins.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"), nullable=True)
    container_id: Mapped[int | None] = mapped_column(ForeignKey("containers.id"), nullable=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id"))
    status: Mapped[str] = mapped_column(String(16), default="available")
    qty: Mapped[int] = mapped_column(BigInteger, default=0)
    # Units promised to pick tasks; never more than qty.
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)


def quant_key(item_id: int, bin_id: int, lot_id: int | None, container_id: int | None, owner_id: int, status: str) -> str:
    return f"{item_id}:{bin_id}:{lot_id or ''}:{container_id or ''}:{owner_id}:{status}"


class Movement(Base):
    """One append-only physical change; qty is positive, direction is from -> to."""

    __tablename__ = "movements"
    __table_args__ = (
        _enum_check("kind", MovementKind),
        CheckConstraint("qty > 0", name="qty_positive"),
        Index("ix_movements_item", "item_id"),
        Index("ix_movements_from_bin", "from_bin_id"),
        Index("ix_movements_to_bin", "to_bin_id"),
        Index("ix_movements_doc", "doc_ref"),
        Index("ix_movements_serial", "item_id", "serial"),
        # The floor view's shift by time (migration 0006_floor): covers its hourly and per-operator sums.
        Index("ix_movements_at_kind", "at", "kind", "operator_id", "qty"),
    )
    # Local order of posting; the uuid made on the terminal is the identity everywhere else.
    seq: Mapped[int] = mapped_column(BigId, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    qty: Mapped[int] = mapped_column(BigInteger)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"), nullable=True)
    serial: Mapped[str | None] = mapped_column(String(64), nullable=True)
    from_bin_id: Mapped[int | None] = mapped_column(ForeignKey("bins.id"), nullable=True)
    to_bin_id: Mapped[int | None] = mapped_column(ForeignKey("bins.id"), nullable=True)
    from_container_id: Mapped[int | None] = mapped_column(ForeignKey("containers.id"), nullable=True)
    to_container_id: Mapped[int | None] = mapped_column(ForeignKey("containers.id"), nullable=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id"))
    from_status: Mapped[str] = mapped_column(String(16), default="available")
    to_status: Mapped[str] = mapped_column(String(16), default="available")
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), nullable=True)
    terminal: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    doc_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Set when the movement came from a sync conflict: it may leave stock negative.
    conflict: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where the row was made: "local" (here; it has an outbox entry), "pulled" (made
    # elsewhere, came down the upstream's change feed) or "upstream" (written on the
    # upstream, whose change feed is its record). See warehouse_tui/sync.
    origin: Mapped[str] = mapped_column(String(16), default="local", server_default="local")
    # The movement's seq on the upstream once known: the order every database agrees on.
    upstream_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
