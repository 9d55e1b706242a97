"""The values of a row: codes, free text, choices, quantities, integers and dates, each refused with a message."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from warehouse_tui.db.models import BinKind, Role, Tracking
from warehouse_tui.errors import InvalidInput, WarehouseError
from warehouse_tui.services.ledger import MAX_QTY, check_qty

_TRIMMED = " \t\r\n\x0b\x0c"  # ASCII whitespace; anything else invisible around a code is refused, not trimmed
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # tab and line breaks allowed
_INTEGER = re.compile(r"[+-]?[0-9]+")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# What str.isprintable() refuses besides controls (Cc), named where Unicode gives no name: format characters (Cf),
# line and paragraph separators (Zl, Zp), spaces other than U+0020 (Zs), private use (Co), surrogates (Cs),
# unassigned code points (Cn) — exactly the characters a code may not hold.
_NAMELESS = {"Co": "a private-use character", "Cs": "a surrogate", "Cn": "an unassigned code point"}
TRACKINGS = [t.value for t in Tracking]
LOT, SERIAL = Tracking.LOT.value, Tracking.SERIAL.value  # compared for every stock row (an enum's .value is slow)
BIN_KINDS = [k.value for k in BinKind]
ROLES = [r.value for r in Role]


def shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")


def _unprintable(value: str) -> str:
    """The first character of `value` str.isprintable() refuses, named: "U+200B ZERO WIDTH SPACE"."""
    ch = next(ch for ch in value if not ch.isprintable())
    name = unicodedata.name(ch, None)
    return f"U+{ord(ch):04X} {name}" if name else f"U+{ord(ch):04X} ({_NAMELESS.get(unicodedata.category(ch), 'a control character')})"


def read_code(values: dict[str, str], column: str, max_len: int = 64, *, required: bool = False) -> str:
    """A code (sku, bin, lot, serial, ref …): one line of visible characters, at most max_len."""
    value = (values.get(column) or "").strip(_TRIMMED)
    if not value:
        if required:
            raise InvalidInput(f"{column} is empty")
        return ""
    if not value.isprintable():
        if _CONTROL.search(value):
            raise InvalidInput(f"{column} contains a control character or line break")
        raise InvalidInput(f"{column} contains {_unprintable(value)}, which cannot be seen or typed — retype the {column}")
    if len(value) > max_len:
        raise InvalidInput(f"{column} is longer than {max_len} characters")
    return value


def read_key(values: dict[str, str], column: str) -> str | None:
    """A code as a row names it, to look up before the row is checked (None: the check will refuse it)."""
    try:
        return read_code(values, column) or None
    except WarehouseError:
        return None


def read_text(values: dict[str, str], column: str, max_len: int) -> str:
    """Free text (description, supplier, ship-to): tabs and line breaks allowed."""
    value = (values.get(column) or "").strip()
    if _CONTROL_IN_TEXT.search(value):
        raise InvalidInput(f"{column} contains a control character")
    if len(value) > max_len:
        raise InvalidInput(f"{column} is longer than {max_len} characters")
    return value


def read_choice(values: dict[str, str], column: str, choices: list[str], default: str) -> str:
    value = (values.get(column) or "").strip().lower()
    if not value:
        return default
    if value not in choices:
        raise InvalidInput(f"{column} must be {_either(choices)}, not {shown(values[column].strip())}")
    return value


def _either(choices: list[str]) -> str:
    return ", ".join(choices[:-1]) + " or " + choices[-1] if len(choices) > 1 else choices[0]


def read_yes_no(values: dict[str, str], column: str) -> bool:
    value = (values.get(column) or "").strip().lower()
    if value in ("", "no", "false"):
        return False
    if value in ("yes", "true"):
        return True
    raise InvalidInput(f"{column} must be yes or no, not {shown(values[column].strip())}")


def read_qty(values: dict[str, str], column: str = "qty") -> int:
    """A positive whole number up to the ledger's MAX_QTY, never rounded."""
    value = (values.get(column) or "").strip()
    if not value:
        raise InvalidInput(f"{column} is empty — give a positive whole number")
    if not (value.isascii() and value.isdigit()):
        raise InvalidInput(f"{column} must be a positive whole number, not {shown(value)}")
    if len(value.lstrip("0")) > 12:
        raise InvalidInput(f"{column} {shown(value)} is too large (at most {MAX_QTY:,})")
    number = int(value)
    if number == 0:
        raise InvalidInput(f"{column} must be more than zero")
    if number > MAX_QTY:
        raise InvalidInput(f"{column} {number:,} is too large (at most {MAX_QTY:,})")
    return check_qty(number)


def read_integer(values: dict[str, str], column: str, low: int, high: int, default: int = 0) -> int:
    value = (values.get(column) or "").strip()
    if not value:
        return default
    if not _INTEGER.fullmatch(value) or len(value) > 12:
        raise InvalidInput(f"{column} must be a whole number from {low} to {high}, not {shown(value)}")
    number = int(value)
    if not low <= number <= high:
        raise InvalidInput(f"{column} must be a whole number from {low} to {high}, not {number}")
    return number


def read_date(values: dict[str, str], column: str) -> dt.date | None:
    value = (values.get(column) or "").strip()
    if not value:
        return None
    if not _ISO_DATE.fullmatch(value):
        raise InvalidInput(f"{column} must be a date as YYYY-MM-DD (e.g. 2026-03-31), not {shown(value)}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{column} {value} is not a real date") from None
