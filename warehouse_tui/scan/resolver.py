"""Scan resolution (DESIGN §4): a raw scan and the kinds a prompt expects become a typed Scan or an operator-readable error.

The order of the rules is the contract:

1. Refuse what is not a scan: longer than 4096 characters, a character that
   does not show as itself other than GS (FNC1) — controls, invisible format
   characters (U+200B, U+202E), separators other than the space (NBSP,
   U+2028/2029), private-use and unassigned code points — named in the
   message, or empty. Leading and trailing spaces are no part of a scan
   (a scanner's suffix, a stray key), except at a PIN prompt.
2. `@WORD` is a command, accepted at every prompt; an unknown word is refused.
3. A prompt for free values only (lot, serial, expiry, qty, weight, PIN, text)
   takes the scan as it stands, unless it is explicitly GS1 (a GS1 symbology
   identifier, a GS separator, the bracketed `(01)…` form or a GS1 Digital Link
   URI): then the matching AI is taken, and its absence is an error.
4. Exact database matches of the expected kinds win, so a bin or lot `10D9T`
   is never read as AI 10 with lot `D9T`. A symbol whose identifier says GS1
   and whose data is a whole GS1 message carrying a GTIN (01/02) or SSCC (00)
   with a valid check digit is a product or pallet label: it goes straight to
   rule 5, without looking its raw text up (one scan, one item lookup).
5. GS1 (parsed with biip, checked against GS1's Barcode Syntax Dictionary in
   scan/gs1.py, counting the AIs the same label already gave: `label_ais`) when explicit, or when the whole string parses and carries a
   GTIN (01/02) or SSCC (00) with a valid check digit. An unmarked string that
   starts with AI 00 + 18 digits or 01/02 + 14 digits is GS1 data: when it does
   not parse or check it is refused (Gs1Refused), like any GS1 data that breaks
   a rule, and never reaches rule 7.
6. Plain GTIN-8/12/13/14 and SSCC-18 digit strings: a wrong check digit is an
   error, never a silent guess. UPC-E (6 or 8 digits, scan/upc.py) is expanded
   to its GTIN first.
7. Otherwise: a prompt for a tote or LPN takes an unknown code as a new
   container, a prompt that also takes a free value takes it as that value,
   and anything else is refused, naming what it is when we know it ("That is a
   bin (A-01), not an item") or what the prompt wanted ("Not a bin: X").

Resolution never writes: creating the new container or lot is the workflow's job.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

from drivers.base import GS, MAX_SCAN_LENGTH
from warehouse_tui import clock
from warehouse_tui.errors import InvalidInput, NotFound
from warehouse_tui.scan import gs1, upc
from warehouse_tui.scan.gs1 import load_gs1
from warehouse_tui.scan.gtin import GTIN_LENGTHS, gs1_check_digit, has_valid_check_digit
from warehouse_tui.scan.types import (
    CODED_KINDS,
    FREE_KINDS,
    DocType,
    ItemRef,
    RawScan,
    Scan,
    ScanCatalog,
    ScanKind,
)

if TYPE_CHECKING:
    from biip.gs1_messages import GS1Message

MAX_QTY = 1_000_000_000
# Longest code the database holds (lots, serials, container codes).
MAX_CODE_LENGTH = 64
# A carton weight fits the database's Numeric(10, 3).
MAX_WEIGHT_KG = Decimal("9999999.999")

COMMANDS = frozenset({
    "RECEIVE", "PUTAWAY", "PICK", "PACK", "COUNT", "MOVE", "INQUIRY", "SYNC", "SUPERVISOR", "HOME", "BACK",
    "CANCEL", "DONE", "NEXT", "SHORT", "SKIP", "CLOSE", "BLIND", "YES", "NO", "LOGOUT",
    "RETURN", "GOOD", "DAMAGED", "SCRAP",
    "REPLEN", "FULL",
}) | {"FLOOR"}

_COMMAND = re.compile(r"@([A-Za-z][A-Za-z0-9_]*)")
_WEIGHT = re.compile(r"([0-9]{1,7})(?:[.,]([0-9]{1,3}))?")

# Free kinds in the order a plain value is tried: strict parsers before the ones that take anything.
_FREE_ORDER = (ScanKind.QTY, ScanKind.WEIGHT, ScanKind.EXPIRY, ScanKind.LOT, ScanKind.SERIAL, ScanKind.PIN,
               ScanKind.TEXT)
# Exact database matches are tried in this order when a prompt expects several kinds.
_EXACT_ORDER = (ScanKind.BIN, ScanKind.CONTAINER, ScanKind.DOCUMENT, ScanKind.ITEM, ScanKind.BADGE, ScanKind.LOT)
# Kinds an unexpected code is checked against before it becomes a new container or a free value:
# a scanned bin, item or document is a mistake, a code that happens to equal a lot or badge is not.
_STRONG_KINDS = (ScanKind.BIN, ScanKind.CONTAINER, ScanKind.DOCUMENT, ScanKind.ITEM)
_WEAK_KINDS = (ScanKind.LOT, ScanKind.BADGE)

_NOUN = {
    ScanKind.COMMAND: "a command", ScanKind.ITEM: "an item", ScanKind.BIN: "a bin",
    ScanKind.CONTAINER: "an LPN or tote", ScanKind.DOCUMENT: "a document", ScanKind.BADGE: "a badge",
    ScanKind.LOT: "a lot", ScanKind.SERIAL: "a serial number", ScanKind.EXPIRY: "an expiry date",
    ScanKind.QTY: "a quantity", ScanKind.WEIGHT: "a weight", ScanKind.PIN: "a PIN", ScanKind.TEXT: "text",
    ScanKind.UNKNOWN: "anything",
}
_ASK = {
    ScanKind.COMMAND: "scan a command", ScanKind.ITEM: "scan the item's barcode", ScanKind.BIN: "scan a bin label",
    ScanKind.CONTAINER: "scan an LPN or tote label", ScanKind.DOCUMENT: "scan the PO, order or pick list",
    ScanKind.BADGE: "scan your badge", ScanKind.LOT: "scan the lot", ScanKind.SERIAL: "scan the serial number",
    ScanKind.EXPIRY: "type the expiry as YYMMDD", ScanKind.QTY: "type the quantity",
    ScanKind.WEIGHT: "type the weight in kg", ScanKind.PIN: "type your PIN", ScanKind.TEXT: "type the text",
    ScanKind.UNKNOWN: "scan again",
}
_AI_NAME = {
    ScanKind.LOT: "lot (AI 10)", ScanKind.SERIAL: "serial number (AI 21)", ScanKind.EXPIRY: "expiry date (AI 17)",
    ScanKind.QTY: "quantity (AI 30/37)", ScanKind.WEIGHT: "net weight in kg (AI 310n)", ScanKind.PIN: "PIN",
}
_DOC_NOUN = {DocType.INBOUND: "a PO/ASN", DocType.OUTBOUND: "an order", DocType.PICKLIST: "a pick list"}
_CONTAINER_NOUN = {"lpn": "an LPN", "sscc": "a pallet", "tote": "a tote", "carton": "a carton"}


# --------------------------------------------------------------------------- biip, loaded when first needed


def __getattr__(name: str):
    # biip loads its GS1 prefix tables on import (about a tenth of a second): not before the
    # login screen is up, but at the first GS1 scan or when the app warms it up (`load_gs1`).
    if name in ("GS1Message", "BiipException"):
        return load_gs1()[0 if name == "GS1Message" else 1]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------- typed values


def parse_qty(text: str) -> int:
    """A quantity typed or scanned: a positive whole number up to 1,000,000,000, exactly as written.

    Raises InvalidInput for anything else ("1.5", "-5", "0", " 12", "1e3"): never rounds or trims.
    """
    if not text:
        raise InvalidInput("Type a quantity — a whole number like 12")
    if not (text.isascii() and text.isdigit()):
        if text[0] == "-" and text[1:].isascii() and text[1:].isdigit():
            raise InvalidInput(f"Quantity must be positive, not {_shown(text)} — type a whole number like 12")
        raise InvalidInput(f"Quantity must be a whole number, not {_shown(text)} — type e.g. 12")
    # Checked on the digits before int(): a 4000-digit number is refused, not converted.
    if len(text.lstrip("0")) > len(str(MAX_QTY)) or int(text) > MAX_QTY:
        raise InvalidInput(f"Quantity {_shown(text)} is too large (at most {MAX_QTY:,}) — type it again")
    qty = int(text)
    if qty == 0:
        raise InvalidInput("Quantity must be at least 1 — type the quantity")
    return qty


def parse_expiry(text: str, *, today: dt.date | None = None) -> dt.date:
    """An expiry typed as YYMMDD: a real date; day 00 is the last day of the month and the
    century follows GS1 (the year lies between 49 years back and 50 years ahead)."""
    if not (len(text) == 6 and text.isascii() and text.isdigit()):
        raise InvalidInput(f"Expiry must be 6 digits YYMMDD, not {_shown(text)} — type e.g. 261231")
    yy, month, day = int(text[:2]), int(text[2:4]), int(text[4:])
    year = _gs1_year(yy, (today or clock.today()).year)
    if not 1 <= month <= 12:
        raise InvalidInput(f"Expiry {text} has no month {month:02d} — type YYMMDD")
    if day == 0:
        day = calendar.monthrange(year, month)[1]
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise InvalidInput(f"Expiry {text} is not a real date — type YYMMDD") from None


def parse_weight(text: str) -> Decimal:
    """A weight in kg: a positive number with at most 3 decimals ("12.5" or "12,5")."""
    match = _WEIGHT.fullmatch(text) if text.isascii() else None
    if match is None:
        raise InvalidInput(f"Weight must be a number of kg like 12.5, not {_shown(text)} — type it again")
    weight = Decimal(f"{match[1]}.{match[2] or '0'}")
    if weight <= 0:
        raise InvalidInput("Weight must be more than 0 kg — type the weight")
    if weight > MAX_WEIGHT_KG:
        raise InvalidInput(f"Weight {text} kg is too large — type the weight in kg")
    return weight


def _gs1_year(yy: int, current_year: int) -> int:
    # GS1 General Specifications §7.12.
    century = current_year - current_year % 100
    difference = yy - current_year % 100
    if 51 <= difference <= 99:
        return century - 100 + yy
    if -99 <= difference <= -50:
        return century + 100 + yy
    return century + yy


# --------------------------------------------------------------------------- resolution


def resolve(raw: RawScan, expects: frozenset[ScanKind], catalog: ScanCatalog, *,
            label_ais: frozenset[str] = frozenset()) -> Scan:
    """The typed scan for this prompt, or a WarehouseError whose message tells the operator what to do.

    Raises InvalidInput for malformed scans and scans of the wrong kind, NotFound for
    well-formed codes that name nothing the prompt accepts. Looks things up through
    `catalog` (indexed single-row queries) and never writes.

    `label_ais` are the GS1 AIs another barcode of the same label already gave for
    the unit in hand: {"00"} once the workflow has taken the pallet's SSCC or LPN for
    the line. They satisfy GS1's mandatory associations (so (02)(37) is accepted
    without its own (00)) and nothing else (gs1.check_message).
    """
    text, symbology = raw.text, raw.symbology
    _refuse_non_scans(text, symbology)
    if ScanKind.PIN not in expects:  # a PIN is taken exactly as typed
        text = text.strip(" ")

    if text.startswith("@") and (command := _COMMAND.fullmatch(text)):
        word = command[1].upper()
        if word not in COMMANDS:
            # What is typed at a PIN prompt is never shown, not even as an unknown command.
            shown = "" if ScanKind.PIN in expects else f" @{_shown(command[1])}"
            raise InvalidInput(f"Unknown command{shown} — scan a command from the sheet")
        return Scan(ScanKind.COMMAND, text, symbology, command=word)

    if not expects - {ScanKind.COMMAND}:
        raise InvalidInput("Only a command is accepted here — scan a command")
    free = expects & FREE_KINDS
    coded = expects & CODED_KINDS
    gs1_form = gs1.explicit_form(text, symbology)

    if free and not coded:
        if gs1_form is None:
            return _typed_value(text, symbology, free)
        message = gs1.parse_explicit(text, gs1_form)
        return _free_value_from_gs1(text, symbology, _Gs1Data.of(message, label_ais), free, catalog)

    if gs1_form == "aim" and (labelled := gs1.implicit_message(text)) is not None:
        return _resolve_gs1(text, symbology, _Gs1Data.of(labelled, label_ais), expects, catalog)

    if gs1_form not in ("gs", "hri", "dl"):  # no database code holds a GS, the bracketed form or a GS1 URI
        for kind in _EXACT_ORDER:
            if kind in expects and (scan := _exact_match(kind, text, symbology, catalog)) is not None:
                return scan

    message = gs1.parse_explicit(text, gs1_form) if gs1_form else gs1.implicit_message(text)
    if message is not None:
        return _resolve_gs1(text, symbology, _Gs1Data.of(message, label_ais), expects, catalog)

    return _resolve_unmatched(text, symbology, expects, catalog)


def _refuse_non_scans(text: str, symbology: str | None = None) -> None:
    if len(text) > MAX_SCAN_LENGTH:
        raise InvalidInput(f"Scan is too long ({len(text)} characters, at most {MAX_SCAN_LENGTH}) — scan again")
    # The one rule for what may stand in a scan: what shows as itself (str.isprintable: no Cc, Cf, Cs, Co, Cn,
    # Zl, Zp, nor a Zs other than the space), and GS. Two codes that look alike on a label or a screen are the
    # same code, and nothing invisible rides along into the database.
    if not text.replace(GS, "").isprintable():
        for ch in text:
            if ch != GS and not ch.isprintable():
                raise InvalidInput(f"Scan holds a control character ({character_name(ch)}) — scan again")
    if not text.replace(GS, "").strip(" "):  # nothing but spaces and FNC1s is no data either
        if symbology is not None and not text:
            raise InvalidInput(f"Empty scan: the barcode (]{_shown(symbology)}) held no data — scan again")
        raise InvalidInput("Empty scan — scan again")


def character_name(ch: str) -> str:
    """The character as a message names it: "U+200B ZERO WIDTH SPACE", "U+E000 PRIVATE USE", "U+0007"."""
    name = unicodedata.name(ch, "") or _UNNAMED.get(unicodedata.category(ch), "")
    return f"U+{ord(ch):04X}" + (f" {name}" if name else "")


_UNNAMED = {"Co": "PRIVATE USE", "Cn": "UNASSIGNED", "Cs": "SURROGATE"}


class _Gs1Data:
    """The fields of a GS1 message the warehouse uses."""

    __slots__ = ("gtin", "sscc", "lot", "expiry", "serial", "qty", "weight_kg")

    def __init__(self) -> None:
        self.gtin: str | None = None
        self.sscc: str | None = None
        self.lot: str | None = None
        self.expiry: dt.date | None = None
        self.serial: str | None = None
        self.qty: int | None = None
        self.weight_kg: Decimal | None = None

    @classmethod
    def of(cls, message: GS1Message, label_ais: frozenset[str] = frozenset()) -> _Gs1Data:
        """The fields, or Gs1Refused when a value or the message breaks a GS1 rule (gs1.check_message);
        `label_ais`: AIs the same label already gave (see `resolve`)."""
        try:
            data = cls._fields_of(message)
        except gs1.Gs1Refused:
            raise
        except InvalidInput as exc:  # a GS1 date or count that is no date or count: GS1 data, refused
            raise gs1.Gs1Refused(str(exc)) from exc
        gs1.check_message([(element.ai.ai, element.value) for element in message.element_strings], label_ais)
        return data

    @classmethod
    def _fields_of(cls, message: GS1Message) -> _Gs1Data:
        data = cls()
        best_before: dt.date | None = None
        for element in message.element_strings:
            ai, value = element.ai.ai, element.value
            if ai in ("01", "02") and data.gtin is None:
                if not has_valid_check_digit(value):
                    raise gs1.Gs1Refused(f"GTIN {value} in the barcode has a wrong check digit "
                                         f"(should end in {gs1_check_digit(value[:-1])}) — scan again")
                data.gtin = value
            elif ai == "00" and data.sscc is None:
                if not has_valid_check_digit(value):
                    raise gs1.Gs1Refused(f"SSCC {value} in the barcode has a wrong check digit — scan again")
                data.sscc = value
            elif ai == "10" and data.lot is None:
                data.lot = value
            elif ai == "21" and data.serial is None:
                data.serial = value
            elif ai == "17" and data.expiry is None:
                data.expiry = parse_expiry(value)  # the century by the app's clock, not biip's
            elif ai == "15" and best_before is None:
                best_before = parse_expiry(value)
            elif ai in ("30", "37") and data.qty is None:
                data.qty = parse_qty(value)
            elif ai.startswith("310") and data.weight_kg is None:
                data.weight_kg = element.decimal
        data.expiry = data.expiry or best_before
        return data

    def has(self, kind: ScanKind) -> bool:
        return {
            ScanKind.LOT: self.lot, ScanKind.SERIAL: self.serial, ScanKind.EXPIRY: self.expiry,
            ScanKind.QTY: self.qty, ScanKind.WEIGHT: self.weight_kg,
        }.get(kind) is not None

    def fields(self) -> dict[str, object]:
        """The Scan fields this message fills."""
        return {"gtin": self.gtin, "lot": self.lot, "expiry": self.expiry, "serial": self.serial, "qty": self.qty,
                "weight_kg": self.weight_kg}


def _item_fields(item: ItemRef | None) -> dict[str, object]:
    return {} if item is None else {"item_id": item.id, "sku": item.sku}


def _resolve_gs1(text: str, symbology: str | None, data: _Gs1Data, expects: frozenset[ScanKind],
                 catalog: ScanCatalog) -> Scan:
    """A GS1 scan at a prompt for codes: an SSCC is a container, a GTIN an item, else its free values."""
    if data.sscc is not None and ScanKind.CONTAINER in expects:
        known = catalog.container_by_code(data.sscc)
        item = catalog.item_by_code(data.gtin) if data.gtin else None
        return Scan(ScanKind.CONTAINER, text, symbology, container_code=data.sscc,
                    container_id=known.id if known else None, sscc=True, **data.fields(), **_item_fields(item))
    if data.gtin is not None:
        item = catalog.item_by_code(data.gtin)
        if ScanKind.ITEM in expects:
            if item is None:
                raise NotFound(f"GTIN {data.gtin} is not a known item — scan another barcode")
            return Scan(ScanKind.ITEM, text, symbology, container_code=data.sscc, sscc=data.sscc is not None,
                        **data.fields(), **_item_fields(item))
        what = f"an item (SKU {item.sku})" if item else f"an item barcode (GTIN {data.gtin})"
        raise InvalidInput(f"That is {what}, not {_wanted(expects)} — {_ask(expects)}")
    if data.sscc is not None:
        raise InvalidInput(f"That is a pallet label (SSCC {data.sscc}), not {_wanted(expects)} — {_ask(expects)}")
    free = expects & FREE_KINDS
    if free:
        return _free_value_from_gs1(text, symbology, data, free, catalog)
    raise InvalidInput(f"That GS1 barcode holds no GTIN or SSCC, not {_wanted(expects)} — {_ask(expects)}")


def _free_value_from_gs1(text: str, symbology: str | None, data: _Gs1Data, free: frozenset[ScanKind],
                         catalog: ScanCatalog) -> Scan:
    """The free value a prompt wants, taken from its AI in an explicit GS1 scan."""
    # The item is named too, so the workflow can check the label belongs to the item in hand.
    item = catalog.item_by_code(data.gtin) if data.gtin else None
    for kind in _FREE_ORDER:
        if kind in free and data.has(kind):
            value = {ScanKind.LOT: data.lot, ScanKind.SERIAL: data.serial}.get(kind)
            return Scan(kind, text, symbology, value=value, container_code=data.sscc, sscc=data.sscc is not None,
                        **data.fields(), **_item_fields(item))
    if ScanKind.TEXT in free:
        return Scan(ScanKind.TEXT, text, symbology, value=text)
    missing = " or ".join(_AI_NAME[kind] for kind in _FREE_ORDER if kind in free)
    raise InvalidInput(f"This barcode holds no {missing} — {_ask(free)}")


def _typed_value(text: str, symbology: str | None, free: frozenset[ScanKind]) -> Scan:
    """The scan as the free value the prompt wants, exactly as it stands."""
    first_error: InvalidInput | None = None
    for kind in _FREE_ORDER:
        if kind not in free:
            continue
        try:
            return _one_typed_value(kind, text, symbology)
        except InvalidInput as exc:
            first_error = first_error or exc
    assert first_error is not None  # every kind in FREE_KINDS is in _FREE_ORDER
    raise first_error


def _one_typed_value(kind: ScanKind, text: str, symbology: str | None) -> Scan:
    if kind is ScanKind.QTY:
        return Scan(kind, text, symbology, value=text, qty=parse_qty(text))
    if kind is ScanKind.WEIGHT:
        return Scan(kind, text, symbology, value=text, weight_kg=parse_weight(text))
    if kind is ScanKind.EXPIRY:
        return Scan(kind, text, symbology, value=text, expiry=parse_expiry(text))
    if kind in (ScanKind.LOT, ScanKind.SERIAL):
        noun = "Lot" if kind is ScanKind.LOT else "Serial number"
        if len(text) > MAX_CODE_LENGTH:
            raise InvalidInput(f"{noun} is longer than {MAX_CODE_LENGTH} characters — {_ask({kind})}")
        field = "lot" if kind is ScanKind.LOT else "serial"
        return Scan(kind, text, symbology, value=text, **{field: text})
    return Scan(kind, text, symbology, value=text)


def _exact_match(kind: ScanKind, text: str, symbology: str | None, catalog: ScanCatalog) -> Scan | None:
    """The scan as a database code of this kind, or None."""
    if kind is ScanKind.BIN:
        bin_ = catalog.bin_by_code(text)
        return None if bin_ is None else Scan(kind, text, symbology, bin_id=bin_.id, bin_code=bin_.code)
    if kind is ScanKind.CONTAINER:
        found = catalog.container_by_code(text)
        return None if found is None else Scan(kind, text, symbology, container_code=found.code,
                                                container_id=found.id, sscc=_is_sscc(found.code))
    if kind is ScanKind.DOCUMENT:
        doc = catalog.document_by_ref(text)
        return None if doc is None else Scan(kind, text, symbology, document=doc.ref, document_id=doc.id,
                                              doc_type=doc.doc_type)
    if kind is ScanKind.ITEM:
        upc_e = upc.upc_e_gtin14(text, symbology)
        item = None if upc_e and upc.read_as_upc_e_first(text, symbology) else catalog.item_by_code(text)
        if item is not None:
            gtin = text.zfill(14) if _is_gtin(text) else None
        elif upc_e is not None:  # a UPC-E, or an 8-digit code that is no EAN-8 of ours but may be a UPC-E
            gtin, item = upc_e, catalog.item_by_code(upc_e)
        return None if item is None else Scan(kind, text, symbology, gtin=gtin, **_item_fields(item))
    if kind is ScanKind.BADGE:
        return Scan(kind, text, symbology, badge=text) if catalog.badge_exists(text) else None
    if kind is ScanKind.LOT:
        return Scan(kind, text, symbology, lot=text, value=text) if catalog.lot_exists(text) else None
    return None


def _resolve_unmatched(text: str, symbology: str | None, expects: frozenset[ScanKind],
                       catalog: ScanCatalog) -> Scan:
    """No exact match and not GS1: wrong kind, plain digits, a new container, a free value, or an error."""
    others = [kind for kind in _STRONG_KINDS if kind not in expects]
    if (what := _identify(text, others, catalog)) is not None:
        raise InvalidInput(f"That is {what}, not {_wanted(expects)} — {_ask(expects)}")

    free = expects & FREE_KINDS
    digits = text.isascii() and text.isdigit()
    # Six digits at a prompt that also takes a new LPN may be that LPN; eight digits are a GTIN-8 or UPC-E anyway.
    upc_e_here = ScanKind.ITEM in expects and not free and (len(text) == 8 or ScanKind.CONTAINER not in expects)
    if upc_e_here and (upc_e := upc.upc_e_gtin14(text, symbology)) is not None:
        raise NotFound(f"GTIN {upc_e} (UPC-E {text}) is not a known item — scan another barcode")
    if digits and len(text) in GTIN_LENGTHS and ScanKind.ITEM in expects and not free:
        if not has_valid_check_digit(text):
            raise InvalidInput(f"Barcode {text} has a wrong check digit "
                               f"(should end in {gs1_check_digit(text[:-1])}) — scan it again")
        raise NotFound(f"GTIN {text.zfill(14)} is not a known item — scan another barcode")
    if digits and len(text) == 18 and ScanKind.CONTAINER in expects:
        if not has_valid_check_digit(text):
            raise InvalidInput(f"SSCC {text} has a wrong check digit — scan it again")
        return Scan(ScanKind.CONTAINER, text, symbology, container_code=text, sscc=True)

    if ScanKind.CONTAINER in expects and _is_reasonable_code(text):
        # DESIGN §5: at a prompt for a tote or an LPN, a code not yet known creates that container.
        return Scan(ScanKind.CONTAINER, text, symbology, container_code=text)
    if free:
        return _typed_value(text, symbology, free)
    if ScanKind.UNKNOWN in expects:
        return Scan(ScanKind.UNKNOWN, text, symbology, value=text)

    others = [kind for kind in _WEAK_KINDS if kind not in expects]
    if (what := _identify(text, others, catalog)) is not None:
        raise InvalidInput(f"That is {what}, not {_wanted(expects)} — {_ask(expects)}")
    raise NotFound(f"Not {_wanted(expects)}: {_shown(text)} — {_ask(expects)}")


def _identify(text: str, kinds: Iterable[ScanKind], catalog: ScanCatalog) -> str | None:
    """What the code is among these kinds, as words for a message ("a bin (A-01)"), or None."""
    for kind in kinds:
        if kind is ScanKind.BIN and (bin_ := catalog.bin_by_code(text)):
            return f"a bin ({bin_.code})"
        if kind is ScanKind.CONTAINER and (found := catalog.container_by_code(text)):
            return f"{_CONTAINER_NOUN.get(found.kind, 'a container')} ({found.code})"
        if kind is ScanKind.DOCUMENT and (doc := catalog.document_by_ref(text)):
            return f"{_DOC_NOUN[doc.doc_type]} ({doc.ref})"
        if kind is ScanKind.ITEM and (item := catalog.item_by_code(text)):
            return f"an item (SKU {item.sku})"
        if kind is ScanKind.LOT and catalog.lot_exists(text):
            return f"a lot ({_shown(text)})"
        if kind is ScanKind.BADGE and catalog.badge_exists(text):
            return "a badge"
    return None


def _is_gtin(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) in GTIN_LENGTHS and has_valid_check_digit(text)


def _is_sscc(text: str) -> bool:
    return len(text) == 18 and text.isascii() and text.isdigit() and has_valid_check_digit(text)


def _is_reasonable_code(text: str) -> bool:
    return len(text) <= MAX_CODE_LENGTH and text.isprintable() and text == text.strip()


def _in_order(kinds: Iterable[ScanKind]) -> list[ScanKind]:
    # "anything" (UNKNOWN) never helps an operator read what to scan.
    wanted = set(kinds) - {ScanKind.COMMAND, ScanKind.UNKNOWN}
    return [kind for kind in ScanKind if kind in wanted]


def _wanted(kinds: Iterable[ScanKind]) -> str:
    nouns = [_NOUN[kind] for kind in _in_order(kinds)]
    return " or ".join(nouns) or "a command"


def _ask(kinds: Iterable[ScanKind]) -> str:
    asks = [_ASK[kind] for kind in _in_order(kinds)]
    return " or ".join(asks) or "scan a command"


def visible(text: str) -> str:
    """Text as an operator may see it: every character that would not show as itself is written out.

    Controls (ESC, NUL …), invisible format characters (bidi overrides, zero-width
    spaces), separators other than the plain space, private-use, unassigned and
    surrogate code points — all that `str.isprintable` refuses — become `<1B>`,
    `<202E>` …, and GS `<GS>`: such text can neither corrupt a terminal nor look
    like something else. Scans, typed values and master data all reach the
    screen through this.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ("<GS>" if ch == GS else f"<{ord(ch):02X}>") for ch in text)


def _shown(text: str, limit: int = 24) -> str:
    """The scan as a message can show it on a 40-column screen: made visible, long text cut."""
    cut = len(text) > limit
    text = text[: limit - 1] if cut else text
    shown = visible(text)
    return shown + "…" if cut else shown
