"""UPC-E: the zero-suppressed UPC of small packs, expanded to the GTIN it stands for before any lookup.

A UPC-E symbol reads as 8 digits (number system 0 or 1, six data digits, the
check digit of the expanded UPC-A), or as its 6 data digits alone when the
scanner drops the rest. Items are stored by GTIN-14, so `425261` and `04252614`
are looked up as 00042100005264. An 8-digit code may also be an EAN-8: the
AIM identifier tells them apart (`]E0` UPC/EAN-13 family, `]E4` EAN-8), and
without one both are tried.
"""

from __future__ import annotations

UPC_E_LENGTHS = (6, 8)


def upc_e_gtin14(text: str, symbology: str | None = None) -> str | None:
    """The GTIN-14 a UPC-E code expands to, or None when the code cannot be a UPC-E (or its check digit is wrong)."""
    if not (len(text) in UPC_E_LENGTHS and text.isascii() and text.isdigit()):
        return None
    if symbology == "E4" or (len(text) == 8 and text[0] not in "01"):
        return None
    from biip import BiipException
    from biip.upc import Upc

    try:
        return Upc.parse(text).as_gtin_14()
    except (BiipException, ValueError):
        return None


def read_as_upc_e_first(text: str, symbology: str | None) -> bool:
    """An 8- or 6-digit code whose identifier says UPC (]E0) is a UPC-E before it is an EAN-8 or an alias."""
    return symbology == "E0" and len(text) in UPC_E_LENGTHS
