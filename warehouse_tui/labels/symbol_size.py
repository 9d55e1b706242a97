"""How big a barcode is printed: its X-dimension (narrowest bar) and bar height, in millimetres and in a printer's dots.

A printer prints whole dots, so a module is a whole number of dots: the narrowest
whole number that is not below the minimum X-dimension, checked against the maximum.
"""

from __future__ import annotations

import math

from warehouse_tui.errors import InvalidInput

MM_PER_INCH = 25.4
# Thermal label printers come with 8, 12 or 24 dots/mm print heads: 203, 300 and 600 dpi.
PRINTER_DPI = (203, 300, 600)

# GS1 General Specifications, section 5.12.3 "GS1 symbol specification tables": table 5
# (logistic units scanned in general distribution: the SSCC of a carton or pallet) and
# table 2 (trade items scanned in general distribution: the GTIN in AI 01 of an item
# label) both give GS1-128 an X-dimension of 0.495 mm minimum and 1.016 mm maximum and a
# minimum bar height of 31.75 mm (at the minimum X). Section 5.4.4.2: quiet zones of 10 X.
GS1_128_X_MIN_MM = 0.495
GS1_128_X_MAX_MM = 1.016
GS1_128_BAR_HEIGHT_MM = 31.75
QUIET_ZONE_MODULES = 10

# Plain Code 128 (bins, LPNs, SKUs) is no GS1 symbol and no table applies. About 0.33 mm
# (13 mil) reads at arm's length with any floor scanner and keeps a 16-character bin
# code inside a 4 inch label; 25 mm bars forgive a skewed scan.
CODE128_X_MIN_MM = 0.33
CODE128_BAR_HEIGHT_MM = 25.0


def check_dpi(dpi: int) -> int:
    """The printer resolution if it is one we lay labels out for; InvalidInput otherwise."""
    if isinstance(dpi, bool) or dpi not in PRINTER_DPI:
        raise InvalidInput(f"printer_dpi must be {', '.join(map(str, PRINTER_DPI))} (the label printer's resolution), not {dpi!r}")
    return dpi


def module_dots(dpi: int, *, gs1: bool) -> int:
    """Dots per module at this resolution: the fewest whole dots not below the minimum X-dimension.

    For GS1-128: 4 dots (0.500 mm) at 203 dpi, 6 (0.508 mm) at 300, 12 (0.508 mm) at 600.
    """
    minimum = GS1_128_X_MIN_MM if gs1 else CODE128_X_MIN_MM
    dots = math.ceil(minimum * check_dpi(dpi) / MM_PER_INCH - 1e-9)
    if gs1 and dots_to_mm(dots, dpi) > GS1_128_X_MAX_MM:
        raise InvalidInput(f"No whole number of dots at {dpi} dpi makes a GS1-128 X-dimension of "
                           f"{GS1_128_X_MIN_MM}-{GS1_128_X_MAX_MM} mm")
    return dots


def bar_height_dots(dpi: int, *, gs1: bool) -> int:
    """Bar height in dots at this resolution, not below the minimum."""
    return math.ceil((GS1_128_BAR_HEIGHT_MM if gs1 else CODE128_BAR_HEIGHT_MM) * check_dpi(dpi) / MM_PER_INCH - 1e-9)


def dots_to_mm(dots: float, dpi: int) -> float:
    return dots * MM_PER_INCH / dpi


def module_mm(dpi: int, *, gs1: bool) -> float:
    """The X-dimension in mm of a picture drawn at `dpi`: whole pixels per module, so every bar is alike."""
    return dots_to_mm(module_dots(dpi, gs1=gs1), dpi)


def bar_height_mm(*, gs1: bool) -> float:
    return GS1_128_BAR_HEIGHT_MM if gs1 else CODE128_BAR_HEIGHT_MM
