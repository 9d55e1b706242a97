"""People and audit (operators, audit events, terminal state) and sync (outbox,
applied entries, change feed) of DESIGN §3."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from warehouse_tui.db.model_base import Base, BigId, Role, _enum_check, utcnow


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
