"""What a carton's SSCC label says, and the GS1 forms of an SSCC (element string, human-readable)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from warehouse_tui.errors import InvalidInput
from warehouse_tui.scan.gtin import has_valid_check_digit


def check_sscc(sscc: str) -> str:
    """An SSCC as printed: 18 digits with a valid GS1 check digit; InvalidInput otherwise."""
    if not (len(sscc) == 18 and sscc.isascii() and sscc.isdigit()):
        raise InvalidInput(f"SSCC must be 18 digits, not {sscc!r}")
    if not has_valid_check_digit(sscc):
        raise InvalidInput(f"SSCC {sscc} has a wrong check digit")
    return sscc


def element_string(sscc: str) -> str:
    """The GS1 element string a GS1-128 symbol carries after FNC1: AI 00 + the SSCC."""
    return "00" + check_sscc(sscc)


def hri(sscc: str) -> str:
    """The human-readable interpretation printed under the symbol: "(00) " + SSCC."""
    return "(00) " + check_sscc(sscc)


@dataclass(frozen=True)
class CartonLabel:
    """Everything printed on one closed carton's label."""

    sscc: str
    order_ref: str
    ship_to: str
    carton_code: str
    carton_no: int
    weight_kg: Decimal
    units: int
    carrier: str | None = None      # the carrier's name as printed (UPS, FedEx …, or the site's courier)
    service: str | None = None
    tracking: str | None = None     # the carrier label's number, once scanned
