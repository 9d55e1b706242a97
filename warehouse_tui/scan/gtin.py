"""GS1 check digits and GTIN normalisation: GTIN-8/12/13/14 all become GTIN-14."""

from __future__ import annotations

from warehouse_tui.errors import InvalidInput

GTIN_LENGTHS = (8, 12, 13, 14)


def gs1_check_digit(payload: str) -> int:
    """The GS1 mod-10 check digit for the digits before it (GTIN, SSCC, GLN)."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        total += int(ch) * (3 if i % 2 == 0 else 1)
    return (10 - total % 10) % 10


def has_valid_check_digit(code: str) -> bool:
    return code.isdigit() and len(code) >= 2 and gs1_check_digit(code[:-1]) == int(code[-1])


def looks_like_gtin(code: str) -> bool:
    return code.isascii() and code.isdigit() and len(code) in GTIN_LENGTHS


def normalize_gtin(code: str) -> str:
    """The GTIN-14 form of a GTIN-8/12/13/14; raises InvalidInput on a bad length or check digit."""
    code = code.strip()
    if not looks_like_gtin(code):
        raise InvalidInput(f"{code!r} is not a GTIN (8, 12, 13 or 14 digits)")
    if not has_valid_check_digit(code):
        raise InvalidInput(f"GTIN {code} has a wrong check digit (should end in {gs1_check_digit(code[:-1])})")
    return code.zfill(14)


def make_sscc(extension: int, company_prefix: str, serial_ref: int) -> str:
    """An 18-digit SSCC: extension digit + company prefix + serial reference + check digit."""
    if not company_prefix.isdigit() or not 6 <= len(company_prefix) <= 12:
        raise InvalidInput("GS1 company prefix must be 6 to 12 digits")
    width = 16 - len(company_prefix)
    if not 0 <= serial_ref < 10**width:
        raise InvalidInput(f"SSCC serial reference {serial_ref} does not fit {width} digits")
    payload = f"{extension % 10}{company_prefix}{serial_ref:0{width}d}"
    return payload + str(gs1_check_digit(payload))
