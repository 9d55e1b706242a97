"""Foundations of the models (DESIGN §3): the declarative Base and its naming
convention, column types, the enums stored as strings and their CHECKs, utcnow/new_uuid.

Every model module builds on this one Base, so Alembic sees one metadata.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid as uuid_module

from sqlalchemy import BigInteger, CheckConstraint, Integer, MetaData
from sqlalchemy.orm import DeclarativeBase

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
