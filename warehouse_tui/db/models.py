"""SQLAlchemy models for the whole warehouse domain (DESIGN §3).

Local integer ids never leave a terminal: what syncs upstream (the outbox) names
things by their natural keys (sku + owner, bin code, lot code, serial, container
code), so two terminals can create the same lot or tote without colliding.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid as uuid_module

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from warehouse_tui import clock

# A naming convention makes constraint names deterministic, which SQLite batch
# migrations need to find and alter them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a bigint.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> dt.datetime:
    """Naive UTC by the app's one clock (warehouse_tui.clock), as every timestamp is stored."""
    return clock.utcnow()


def new_uuid() -> str:
    return str(uuid_module.uuid4())


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Tracking(str, enum.Enum):
    NONE = "none"
    LOT = "lot"
    SERIAL = "serial"


class BinKind(str, enum.Enum):
    RECEIVING = "receiving"
    STORAGE = "storage"
    PICK = "pick"
    PACK = "pack"
    SHIPPING = "shipping"
    STAGING = "staging"
    RETURNS = "returns"  # customer returns graded good, waiting for putaway
    QUARANTINE = "quarantine"  # damaged returns: never allocated to picks or waves


class ContainerKind(str, enum.Enum):
    LPN = "lpn"
    SSCC = "sscc"
    TOTE = "tote"
    CARTON = "carton"


class MovementKind(str, enum.Enum):
    RECEIPT = "receipt"
    PUTAWAY = "putaway"
    MOVE = "move"
    PICK = "pick"
    PACK = "pack"
    SHIP = "ship"
    ADJUST = "adjust"
    COUNT = "count"
    RETURN = "return"
    SCRAP = "scrap"


class Role(str, enum.Enum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"


def _enum_check(column: str, enum_cls: type[enum.Enum]) -> CheckConstraint:
    values = ", ".join(f"'{m.value}'" for m in enum_cls)
    return CheckConstraint(f"{column} IN ({values})", name=f"{column}_valid")


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
    __table_args__ = (UniqueConstraint("item_id", "code"),)
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


# --------------------------------------------------------------------------- documents


class InboundOrder(Base):
    """A purchase order or ASN to receive against."""

    __tablename__ = "inbound_orders"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8), default="po")  # po | asn | blind
    supplier: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | receiving | closed
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    lines: Mapped[list[InboundLine]] = relationship(back_populates="order", order_by="InboundLine.id")


class InboundLine(Base):
    __tablename__ = "inbound_lines"
    __table_args__ = (CheckConstraint("qty_expected >= 0", name="expected_not_negative"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The line's identity across databases (a terminal may add lines): sync matches on it.
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    order_id: Mapped[int] = mapped_column(ForeignKey("inbound_orders.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    qty_expected: Mapped[int] = mapped_column(BigInteger, default=0)
    qty_received: Mapped[int] = mapped_column(BigInteger, default=0)
    lot: Mapped[str | None] = mapped_column(String(64), nullable=True)
    expiry: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    order: Mapped[InboundOrder] = relationship(back_populates="lines")


class OutboundOrder(Base):
    """A customer order from a sales channel or the OMS."""

    __tablename__ = "outbound_orders"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(64), default="")
    ship_to: Mapped[str] = mapped_column(String(300), default="")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # new | released | picking | picked | packed | shipped | cancelled
    status: Mapped[str] = mapped_column(String(16), default="new")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # The carrier and its service the OMS chose (ups/ground …, or a site's own courier); None: not said.
    carrier: Mapped[str | None] = mapped_column(String(32), nullable=True)
    service: Mapped[str | None] = mapped_column(String(32), nullable=True)
    shipped_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    lines: Mapped[list[OutboundLine]] = relationship(back_populates="order", order_by="OutboundLine.id")


class OutboundLine(Base):
    __tablename__ = "outbound_lines"
    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)  # identity across databases
    order_id: Mapped[int] = mapped_column(ForeignKey("outbound_orders.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    qty: Mapped[int] = mapped_column(BigInteger)
    qty_allocated: Mapped[int] = mapped_column(BigInteger, default=0)
    qty_picked: Mapped[int] = mapped_column(BigInteger, default=0)
    qty_packed: Mapped[int] = mapped_column(BigInteger, default=0)
    qty_shipped: Mapped[int] = mapped_column(BigInteger, default=0)
    order: Mapped[OutboundOrder] = relationship(back_populates="lines")


class PickList(Base):
    __tablename__ = "pick_lists"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="released")  # released | picking | done
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), nullable=True)
    claimed_terminal: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class PickListOrder(Base):
    """An order in a (batch) pick list, with the tote its units go into."""

    __tablename__ = "pick_list_orders"
    __table_args__ = (UniqueConstraint("pick_list_id", "order_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    pick_list_id: Mapped[int] = mapped_column(ForeignKey("pick_lists.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("outbound_orders.id"))
    tote_id: Mapped[int | None] = mapped_column(ForeignKey("containers.id"), nullable=True)


class FullTote(Base):
    """A tote an order filled during a pick (@FULL): it stays the order's, a new tote takes the rest."""

    __tablename__ = "full_totes"
    __table_args__ = (UniqueConstraint("pick_list_order_id", "tote_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    pick_list_order_id: Mapped[int] = mapped_column(ForeignKey("pick_list_orders.id"), index=True)
    tote_id: Mapped[int] = mapped_column(ForeignKey("containers.id"), index=True)
    closed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class PickTask(Base):
    __tablename__ = "pick_tasks"
    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)  # identity across databases
    pick_list_id: Mapped[int] = mapped_column(ForeignKey("pick_lists.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("outbound_lines.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    bin_id: Mapped[int] = mapped_column(ForeignKey("bins.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"), nullable=True)
    quant_id: Mapped[int | None] = mapped_column(ForeignKey("quants.id", ondelete="SET NULL"), nullable=True)
    qty: Mapped[int] = mapped_column(BigInteger)
    qty_picked: Mapped[int] = mapped_column(BigInteger, default=0)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | done | short | skipped
    # Held until a replenishment fills its pick face (services/replenishment.py): shown, not pickable.
    waiting: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class PickFace(Base):
    """A pick bin's settings: the one SKU it holds and the min/max replenishment keeps it between."""

    __tablename__ = "pick_faces"
    __table_args__ = (
        CheckConstraint("min_qty > 0 AND max_qty > min_qty", name="min_below_max"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bin_id: Mapped[int] = mapped_column(ForeignKey("bins.id"), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    min_qty: Mapped[int] = mapped_column(BigInteger)
    max_qty: Mapped[int] = mapped_column(BigInteger)


class ReplenTask(Base):
    """Move stock from one storage bin (and lot) to a pick face; claimed like a pick list."""

    __tablename__ = "replen_tasks"
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        Index("ix_replen_tasks_face", "to_bin_id", "status"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The task's identity across databases (a terminal may raise one after a pick): sync matches on it.
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"), nullable=True)  # the FEFO lot suggested
    from_bin_id: Mapped[int] = mapped_column(ForeignKey("bins.id"))
    to_bin_id: Mapped[int] = mapped_column(ForeignKey("bins.id"))
    qty: Mapped[int] = mapped_column(BigInteger)
    qty_moved: Mapped[int] = mapped_column(BigInteger, default=0)
    # Wave-blocking tasks (pick tasks wait for them) go first, then by priority.
    blocking: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | done | short
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), nullable=True)
    claimed_terminal: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    @property
    def remaining(self) -> int:
        return self.qty - self.qty_moved

    @property
    def ref(self) -> str:
        """What the floor calls the task (and the movements' document)."""
        return f"RP-{self.uuid[:8].upper()}"


class Carton(Base):
    __tablename__ = "cartons"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # A carton is one container; sync finds it by the container's code.
    container_id: Mapped[int] = mapped_column(ForeignKey("containers.id"), index=True, unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("outbound_orders.id"), index=True)
    sscc: Mapped[str | None] = mapped_column(String(18), unique=True, nullable=True)
    weight_kg: Mapped[float | None] = mapped_column(Numeric(10, 3), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed | shipped
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    # The carrier label's tracking number (None: not scanned yet, @SKIP); one number is on one carton only.
    tracking: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True, unique=True)
    # When the shipment confirmation of this carton was handed to the OMS (export confirmations --mark-sent, confirm).
    confirmation_sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class CartonLine(Base):
    __tablename__ = "carton_lines"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)  # identity across databases
    carton_id: Mapped[int] = mapped_column(ForeignKey("cartons.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("outbound_lines.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"), nullable=True)
    serial: Mapped[str | None] = mapped_column(String(64), nullable=True)
    qty: Mapped[int] = mapped_column(BigInteger)


class SsccCounter(Base):
    """The last serial reference used for SSCCs per company prefix: never reused."""

    __tablename__ = "sscc_counters"
    company_prefix: Mapped[str] = mapped_column(String(12), primary_key=True)
    last_serial: Mapped[int] = mapped_column(BigInteger, default=0)


class SsccRange(Base):
    """A block of SSCC numbers the upstream leased to one terminal, so terminals packing offline never share one.

    Upstream: one row per lease (the counter moved past it). On a terminal: its own
    leases, used from `next_serial` up to `last_serial`.
    """

    __tablename__ = "sscc_ranges"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    company_prefix: Mapped[str] = mapped_column(String(12), index=True)
    terminal: Mapped[str] = mapped_column(String(64))
    first_serial: Mapped[int] = mapped_column(BigInteger)
    last_serial: Mapped[int] = mapped_column(BigInteger)
    next_serial: Mapped[int] = mapped_column(BigInteger)
    leased_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class CountTask(Base):
    __tablename__ = "count_tasks"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The task's identity across databases (ids are local to each): sync matches on it.
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    bin_id: Mapped[int] = mapped_column(ForeignKey("bins.id"), index=True)
    blind: Mapped[bool] = mapped_column(Boolean, default=True)
    # open | counting | recount | review | approved | rejected | closed
    status: Mapped[str] = mapped_column(String(16), default="open")
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), nullable=True)
    claimed_terminal: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # Ledger position when counting started: movements after it are netted out (issue 4).
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class CountLine(Base):
    __tablename__ = "count_lines"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)  # identity across databases
    task_id: Mapped[int] = mapped_column(ForeignKey("count_tasks.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"), nullable=True)
    container_id: Mapped[int | None] = mapped_column(ForeignKey("containers.id"), nullable=True)
    serial: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    expected: Mapped[int] = mapped_column(BigInteger, default=0)
    counted: Mapped[int] = mapped_column(BigInteger, default=0)


class WarehouseException(Base):
    """Something a supervisor must decide: over-receipt, short pick, backorder, variance, sync conflict."""

    __tablename__ = "exceptions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The exception's identity across databases (ids are local to each): sync matches on it.
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    kind: Mapped[str] = mapped_column(String(24), index=True)
    ref: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | approved | rejected
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), nullable=True)
    terminal: Mapped[str] = mapped_column(String(64), default="")
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), nullable=True)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    resolution: Mapped[str | None] = mapped_column(String(300), nullable=True)
    data: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class ReturnOrder(Base):
    """A customer return (RMA) against a shipped order; "unplanned" when the parcel came without paperwork.

    open: being received; short: @DONE with less than announced, waiting for a supervisor; closed.
    """

    __tablename__ = "returns"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("outbound_orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="rma")  # rma | unplanned
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | short | closed
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    lines: Mapped[list[ReturnLine]] = relationship(back_populates="ret", order_by="ReturnLine.id")


class ReturnLine(Base):
    """What a return announces (or, unplanned, what came back) for one order line."""

    __tablename__ = "return_lines"
    __table_args__ = (CheckConstraint("qty_expected >= 0", name="expected_not_negative"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)  # identity across databases
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("outbound_lines.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    serial: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    qty_expected: Mapped[int] = mapped_column(BigInteger, default=0)
    qty_received: Mapped[int] = mapped_column(BigInteger, default=0)
    ret: Mapped[ReturnOrder] = relationship(back_populates="lines")


class ReturnGrade(str, enum.Enum):
    GOOD = "good"
    DAMAGED = "damaged"
    SCRAP = "scrap"


class ReturnReceipt(Base):
    """Units of one return line received and graded by one scan: what the OMS refunds."""

    __tablename__ = "return_receipts"
    __table_args__ = (
        _enum_check("grade", ReturnGrade),
        CheckConstraint("qty > 0", name="qty_positive"),
        Index("ix_return_receipts_serial", "item_id", "serial"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    line_id: Mapped[int] = mapped_column(ForeignKey("return_lines.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"), nullable=True)
    serial: Mapped[str | None] = mapped_column(String(64), nullable=True)
    qty: Mapped[int] = mapped_column(BigInteger)
    grade: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    bin_id: Mapped[int | None] = mapped_column(ForeignKey("bins.id"), nullable=True)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), nullable=True)
    terminal: Mapped[str] = mapped_column(String(64), default="")
    received_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# --------------------------------------------------------------------------- people and audit


class Operator(Base):
    __tablename__ = "operators"
    __table_args__ = (_enum_check("role", Role),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    badge: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16), default=Role.OPERATOR.value)
    pin_hash: Mapped[str] = mapped_column(String(300))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class AuditEvent(Base):
    """Append-only: logins, failed logins, overrides, approvals."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), nullable=True)
    badge: Mapped[str | None] = mapped_column(String(64), nullable=True)
    terminal: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="")


# --------------------------------------------------------------------------- sync


class TerminalState(Base):
    """This database's terminal identity and its sync cursor (one row per terminal name)."""

    __tablename__ = "terminal_state"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    pull_cursor: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_push_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    last_pull_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class OutboxEntry(Base):
    """An event waiting to go upstream, written in the same transaction that made it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "pushed_at", "position"),)
    position: Mapped[int] = mapped_column(BigId, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)  # the idempotency key upstream
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict] = mapped_column(JSON)
    terminal: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    pushed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)  # applied | duplicate | conflict
    outcome_detail: Mapped[str | None] = mapped_column(Text, nullable=True)


class SyncMeta(Base):
    """Facts about this database's part in sync: key "role" = "upstream" once `upstream init` ran."""

    __tablename__ = "sync_meta"
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


class AppliedEntry(Base):
    """Upstream: each outbox entry a terminal pushed, applied exactly once (the uuid is the idempotency key)."""

    __tablename__ = "applied_entries"
    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    terminal: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))  # applied | conflict
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    applied_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ChangeFeed(Base):
    """Upstream: one row per changed thing terminals must see, numbered in commit order.

    seq is taken under a lock held until commit (see sync/feed.py), so a reader that
    sees seq N has seen every row below it: a pull cursor never skips a late commit.
    """

    __tablename__ = "change_feed"
    seq: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    ref_id: Mapped[int] = mapped_column(BigInteger)
