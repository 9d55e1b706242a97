"""Documents of DESIGN §3: inbound and outbound orders, pick lists and tasks, full
totes, pick faces and replenishment, cartons and SSCCs, counts, exceptions, returns."""

from __future__ import annotations

import datetime as dt
import enum

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
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from warehouse_tui.db.model_base import Base, BigId, _enum_check, new_uuid, utcnow


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
