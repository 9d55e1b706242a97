"""The vocabulary of scanning: raw scans, the kinds a prompt expects, typed scans and the catalog they are resolved against."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

# What a driver yields (text with the AIM symbology identifier split off, time, source) is what resolution
# takes: one RawScan for both layers, re-exported here.
from drivers.base import RawScan as RawScan


class ScanKind(enum.StrEnum):
    """What a scan is; a prompt declares the kinds it accepts as a frozenset of these."""

    COMMAND = "command"
    ITEM = "item"
    BIN = "bin"
    CONTAINER = "container"
    DOCUMENT = "document"
    BADGE = "badge"
    LOT = "lot"
    SERIAL = "serial"
    EXPIRY = "expiry"
    QTY = "qty"
    WEIGHT = "weight"
    PIN = "pin"
    TEXT = "text"
    UNKNOWN = "unknown"


# Kinds whose value is taken as it stands (or from a GS1 AI) rather than looked up.
FREE_KINDS = frozenset({ScanKind.LOT, ScanKind.SERIAL, ScanKind.EXPIRY, ScanKind.QTY, ScanKind.WEIGHT,
                        ScanKind.PIN, ScanKind.TEXT})
# Kinds that name something in the database.
CODED_KINDS = frozenset({ScanKind.ITEM, ScanKind.BIN, ScanKind.CONTAINER, ScanKind.DOCUMENT, ScanKind.BADGE})


class DocType(enum.StrEnum):
    INBOUND = "inbound"      # PO or ASN
    OUTBOUND = "outbound"    # customer order
    PICKLIST = "picklist"


@dataclass(frozen=True)
class Scan:
    """A resolved scan: its kind, the scanned text and whatever it carried or named.

    Only the fields that the scan filled are set. A GS1 item scan can fill gtin,
    item_id, sku, lot, expiry, serial, qty and weight_kg at once; a free value
    (lot, serial, expiry, qty, weight, PIN, text) fills its own field and `value`.
    """

    kind: ScanKind
    text: str
    symbology: str | None = None
    command: str | None = None          # "RECEIVE", without the "@"
    gtin: str | None = None             # always GTIN-14
    item_id: int | None = None
    sku: str | None = None
    lot: str | None = None
    expiry: dt.date | None = None
    serial: str | None = None
    qty: int | None = None
    weight_kg: Decimal | None = None
    bin_id: int | None = None
    bin_code: str | None = None
    container_code: str | None = None
    container_id: int | None = None     # None for a container not known yet (a prompt for one creates it)
    sscc: bool = False                  # container_code is an SSCC
    document: str | None = None
    document_id: int | None = None
    doc_type: DocType | None = None
    badge: str | None = None
    value: str | None = None            # the text of a free value, as it stands


# --------------------------------------------------------------------------- what the catalog answers


@dataclass(frozen=True)
class ItemRef:
    id: int
    sku: str
    tracking: str          # none | lot | serial
    expiry_required: bool


@dataclass(frozen=True)
class BinRef:
    id: int
    code: str
    kind: str
    blocked: bool


@dataclass(frozen=True)
class ContainerRef:
    id: int
    code: str
    kind: str              # lpn | sscc | tote | carton
    bin_id: int | None
    status: str


@dataclass(frozen=True)
class DocumentRef:
    id: int
    ref: str
    doc_type: DocType
    status: str


class ScanCatalog(Protocol):
    """The lookups scan resolution needs, each one indexed single-row query.

    Every method takes the code exactly as scanned, returns None (or False) when
    nothing matches and raises nothing for an unknown or odd code.
    """

    def item_by_code(self, code: str) -> ItemRef | None:
        """The item with this GTIN (any length, matched as GTIN-14) or alias."""

    def bin_by_code(self, code: str) -> BinRef | None:
        """The bin whose barcode or code this is."""

    def container_by_code(self, code: str) -> ContainerRef | None:
        """The LPN, SSCC, tote or carton with this code."""

    def document_by_ref(self, ref: str) -> DocumentRef | None:
        """The inbound order, outbound order or pick list with this reference."""

    def badge_exists(self, badge: str) -> bool:
        """Whether an operator has this badge (locked or not: login tells them apart)."""

    def lot_exists(self, code: str) -> bool:
        """Whether any item has a lot with this code."""
