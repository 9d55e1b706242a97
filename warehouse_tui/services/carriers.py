"""Carriers and their tracking numbers: which carrier a scanned carrier label belongs to, and whether its check digit holds.

A small table of the common formats, each with its carriers' published check
digit rule (the `tracking-numbers` package on PyPI was looked at: last release
2022, 0.x; a table we test ourselves is easier to keep right):

- UPS `1Z` + 15 characters + check digit (mod 10, letters as digits, even
  positions doubled).
- FedEx Express 12 digits (mod 11 of weights 3,1,7), FedEx Ground 15 digits
  and the 22-digit "96" barcode (mod 10, 3/1), the 34-digit barcodes
  ("100…" Express, "96…" Ground GSN) whose tracking number is the last 12
  digits (mod 11 of weights 1,7,3), FedEx SmartPost 20/22 digits.
- USPS IMpb: 20 digits, 22/26 digits starting 91-95, optionally after the GS1
  routing `420` + ZIP (5 or 9 digits, with or without a GS); mod 10, 3/1.
- DHL Express: 10 (or 11) digits, the last one the rest modulo 7.
- GS1 on any carrier's label: `(00)` SSCC (GS1 check digit), `(401)` global
  consignment number; `(421)` alone is the ship-to postcode, not a tracking
  number.

The rule at the pack bench (`validate`): a carrier of the table takes only its
own formats with a good check digit; a number of another carrier is refused
naming both; a site's own couriers (setting `any_carriers`) take any text
except a number that is clearly another carrier's (UPS `1Z`, USPS IMpb, FedEx
"96"/34-digit). GS1 (00)/(401) are accepted for every carrier.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from warehouse_tui.errors import InvalidInput
from warehouse_tui.scan.gtin import has_valid_check_digit

GS = "\x1d"
# The carriers whose formats are in the table.
KNOWN_CARRIERS = ("ups", "fedex", "usps", "dhl")
NAMES = {"ups": "UPS", "fedex": "FedEx", "usps": "USPS", "dhl": "DHL", "gs1": "GS1"}
MAX_TRACKING = 64


def carrier_name(code: str | None) -> str:
    return NAMES.get(code or "", code or "no carrier")


def normalise_carrier(value: str | None, any_carriers: Iterable[str] = ()) -> str | None:
    """The carrier code of an order (lower case), None when empty; InvalidInput for a carrier nobody configured."""
    code = (value or "").strip().lower()
    if not code:
        return None
    allowed = set(KNOWN_CARRIERS) | {c.strip().lower() for c in any_carriers if c.strip()}
    if code not in allowed:
        raise InvalidInput(f"Unknown carrier {value!r} — use one of {', '.join(sorted(allowed))} "
                           f"(a site's own courier goes in the setting any_carriers)")
    return code


# --------------------------------------------------------------------------- check digits


def _digit(ch: str) -> int:
    # UPS reads a letter as a digit: A=2, B=3 … (ASCII code - 3) mod 10.
    return int(ch) if ch.isdigit() else (ord(ch) - 3) % 10


def mod10(body: str, *, odd: int, even: int) -> int:
    """The check digit of `body` whose 1st, 3rd … characters weigh `odd` and 2nd, 4th … `even`."""
    total = sum(_digit(ch) * (odd if i % 2 == 0 else even) for i, ch in enumerate(body))
    return (10 - total % 10) % 10


def mod11(body: str, weights: tuple[int, ...]) -> int:
    """FedEx: the weighted sum (weights from the left) modulo 11, then modulo 10."""
    return sum(int(ch) * w for ch, w in zip(body, weights, strict=True)) % 11 % 10


def _ups(n: str) -> bool:
    return n[17].isdigit() and mod10(n[2:17], odd=1, even=2) == int(n[17])


def _fedex12(n: str) -> bool:
    return mod11(n[:11], (3, 1, 7) * 3 + (3, 1)) == int(n[11])


def _fedex_last14(n: str) -> bool:
    body = n[-14:]
    return mod11(body[:13], (1, 7, 3) * 4 + (1,)) == int(body[13])


def _ground15(n: str) -> bool:
    body = n[-15:]
    return mod10(body[:14], odd=1, even=3) == int(body[14])


def _impb(n: str) -> bool:
    # GS1's mod 10: the data digit next to the check digit weighs 3.
    body = n[:-1]
    return mod10(body, odd=3, even=1) == int(n[-1]) if len(body) % 2 else mod10(body, odd=1, even=3) == int(n[-1])


def _smartpost(n: str) -> bool:
    body = n if n.startswith("92") else "92" + n
    return _impb(body)


def _dhl(n: str) -> bool:
    return int(n[:-1]) % 7 == int(n[-1])


@dataclass(frozen=True)
class TrackingFormat:
    carrier: str
    name: str
    pattern: re.Pattern
    valid: Callable[[str], bool]
    tracking: Callable[[str], str]      # the tracking number the carrier knows, from the barcode
    distinctive: bool                   # so clearly this carrier's that a site courier's label cannot be it


def _whole(n: str) -> str:
    return n


FORMATS: tuple[TrackingFormat, ...] = (
    TrackingFormat("ups", "UPS 1Z", re.compile(r"1Z[A-Z0-9]{16}"), _ups, _whole, True),
    TrackingFormat("fedex", "FedEx Express (12)", re.compile(r"[0-9]{12}"), _fedex12, _whole, False),
    TrackingFormat("fedex", "FedEx Ground (15)", re.compile(r"[0-9]{15}"), _ground15, _whole, False),
    TrackingFormat("fedex", "FedEx Ground 96 (22)", re.compile(r"96[0-9]{20}"), _ground15, lambda n: n[-15:], True),
    TrackingFormat("fedex", "FedEx Express (34)", re.compile(r"100[0-9]{31}"), _fedex_last14, lambda n: n[-12:], True),
    TrackingFormat("fedex", "FedEx Ground GSN (34)", re.compile(r"96[0-9]{32}"), _fedex_last14, lambda n: n[-12:], True),
    TrackingFormat("fedex", "FedEx SmartPost", re.compile(r"(?:92)?[0-9]{20}"), _smartpost, _whole, False),
    TrackingFormat("usps", "USPS 20", re.compile(r"[0-9]{20}"), _impb, _whole, False),
    TrackingFormat("usps", "USPS IMpb", re.compile(r"9[1-5][0-9]{20}|9[1-5][0-9]{24}"), _impb, _whole, True),
    TrackingFormat("dhl", "DHL Express", re.compile(r"[0-9]{10,11}"), _dhl, _whole, False),
)

_IMPB_ROUTED = re.compile(r"420([0-9]{5}|[0-9]{9})\x1d?(9[1-5][0-9]{20,24})")
_HRI = re.compile(r"\((\d{2,4})\)([^()]+)")


@dataclass(frozen=True)
class TrackingNumber:
    """A scanned carrier label read: the number to keep, the carriers whose format it fits (empty: unknown)."""

    number: str
    carriers: tuple[str, ...]
    format: str | None


def _gs1_fields(text: str, symbology: str | None) -> dict[str, str] | None:
    """The GS1 AIs of an explicit GS1 scan that matter for carrier labels (00, 401, 420, 421), else None."""
    if (m := _HRI.findall(text)) and "".join(f"({a}){v}" for a, v in m) == text:
        return {ai: value for ai, value in m}
    if symbology not in ("C1", "d2", "Q3", "e0") and GS not in text:
        return None
    fields: dict[str, str] = {}
    rest = text
    fixed = {"00": 18}
    while rest:
        ai = next((a for a in ("00", "401", "420", "421") if rest.startswith(a)), None)
        if ai is None:
            return fields or None
        rest = rest[len(ai):]
        if ai in fixed:
            fields[ai], rest = rest[:fixed[ai]], rest[fixed[ai]:]
        else:
            value, _, rest = rest.partition(GS)
            fields[ai] = value
    return fields


def read(text: str, symbology: str | None = None) -> TrackingNumber:
    """What a scan at the tracking prompt is: a known carrier format (check digit checked), GS1, or unknown text.

    Raises InvalidInput for an empty or overlong scan, a GS1 SSCC with a wrong check
    digit, a GS1 label holding only the ship-to postcode, and a number that fits a
    carrier's format but not its check digit (distinctive formats, where no other
    carrier's number looks the same).
    """
    raw = text.strip()
    if not raw:
        raise InvalidInput("Empty tracking number — scan the carrier label's tracking barcode")
    if (routed := _IMPB_ROUTED.fullmatch(raw)) is not None:
        raw = routed[2]  # USPS: the routing 420 + ZIP is no part of the tracking number
    elif (gs1 := _gs1_fields(raw, symbology)) is not None:
        if "00" in gs1:
            sscc = gs1["00"]
            if not (len(sscc) == 18 and sscc.isdigit() and has_valid_check_digit(sscc)):
                raise InvalidInput(f"SSCC {sscc} on the carrier label has a wrong check digit — scan it again")
            return TrackingNumber(sscc, ("gs1",), "GS1 SSCC (00)")
        if "401" in gs1:
            return TrackingNumber(gs1["401"][:MAX_TRACKING], ("gs1",), "GS1 consignment (401)")
        if "420" in gs1 and re.fullmatch(r"9[1-5][0-9]{20,24}", rest := raw.split(GS)[-1]):
            raw = rest
        else:
            raise InvalidInput("That barcode holds the ship-to postcode, not the tracking number — scan the tracking barcode")
    compact = raw.replace(" ", "").upper()
    if len(compact) > MAX_TRACKING:
        raise InvalidInput(f"A tracking number has at most {MAX_TRACKING} characters — scan the tracking barcode")
    fits = [f for f in FORMATS if f.pattern.fullmatch(compact)]
    good = [f for f in fits if f.valid(compact)]
    if good:
        carriers = tuple(dict.fromkeys(f.carrier for f in good))
        return TrackingNumber(good[0].tracking(compact), carriers, good[0].name)
    bad = [f for f in fits if f.distinctive]
    if bad:
        raise InvalidInput(f"{compact} looks like a {carrier_name(bad[0].carrier)} tracking number but its check digit "
                           f"is wrong — scan it again")
    return TrackingNumber(compact if re.fullmatch(r"[0-9A-Z ]+", raw.upper()) else raw, (), None)


def validate(text: str, symbology: str | None, carrier: str | None, *, any_carriers: Iterable[str] = (),
             order_ref: str = "") -> TrackingNumber:
    """The tracking number to keep for a carton of an order shipping with `carrier`, or InvalidInput saying why not.

    A carrier of the table takes its own formats (good check digit) and GS1; a site's
    own courier (in `any_carriers`) anything but another carrier's distinctive number;
    an order without a carrier any number whose check digit holds where it can be checked.
    """
    found = read(text, symbology)
    if "gs1" in found.carriers:
        return found
    whose = f"{order_ref} ships with {carrier_name(carrier)}" if order_ref else f"the order ships with {carrier_name(carrier)}"
    if carrier is None:
        return found
    if carrier in found.carriers:
        return found
    site_own = {c.strip().lower() for c in any_carriers}
    if carrier in site_own and carrier not in KNOWN_CARRIERS:
        distinctive = [f for f in FORMATS if f.carrier in found.carriers and f.distinctive and f.pattern.fullmatch(text.strip().replace(" ", "").upper())]
        if found.carriers and (distinctive or _routed(text)):
            raise InvalidInput(f"{found.number} is a {carrier_name(found.carriers[0])} tracking number but {whose} — "
                               f"scan the {carrier_name(carrier)} label")
        return found
    if found.carriers:
        raise InvalidInput(f"{found.number} is a {carrier_name(found.carriers[0])} tracking number but {whose} — "
                           f"scan the {carrier_name(carrier)} label")
    if carrier in KNOWN_CARRIERS:
        raise InvalidInput(f"{_shown(found.number)} is not a {carrier_name(carrier)} tracking number (or its check digit is "
                           f"wrong) — scan the {carrier_name(carrier)} label's tracking barcode")
    raise InvalidInput(f"Carrier {carrier} is not configured — add it to the setting any_carriers")


def _routed(text: str) -> bool:
    return _IMPB_ROUTED.fullmatch(text.strip()) is not None


def _shown(text: str, limit: int = 34) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
