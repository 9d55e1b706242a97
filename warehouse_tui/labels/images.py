"""Barcode pictures through python-barcode: Code 128 for codes, GS1-128 (FNC1 first) for GS1 element strings.

A GS1 element string is given without FNC1 and without brackets ("00" + SSCC,
"01" + GTIN-14). Only fixed-length AIs are printed here, so no FNC1 separator
is ever needed between elements. SVG needs nothing beyond python-barcode; PNG
needs Pillow (python-barcode's `images` extra).
"""

from __future__ import annotations

import io

import barcode
from barcode.errors import BarcodeError

from warehouse_tui.errors import InvalidInput

# GS1 General Specifications: X-dimension 0.495-1.016 mm for logistic labels; a little
# above the minimum keeps the symbol inside a 4 inch label and readable by any scanner.
GS1_MODULE_MM = 0.5
CODE128_MODULE_MM = 0.33
BAR_HEIGHT_MM = 25.0
QUIET_ZONE_MM = 6.5
PNG_DPI = 300


def _symbol(data: str, *, gs1: bool, writer) -> barcode.Barcode:
    name = "gs1_128" if gs1 else "code128"
    if gs1 and not (data.isascii() and data.isdigit()):
        raise InvalidInput(f"GS1 element string must be digits, not {data!r}")
    if not (data and data.isascii() and data.isprintable()):
        # Code 128 also encodes control characters and FNC1 ("\xf1"): never from a code we print.
        raise InvalidInput(f"{data!r} cannot be printed as Code 128 — use letters, digits and - . /")
    try:
        return barcode.get_barcode_class(name)(data, writer=writer)
    except (BarcodeError, KeyError, ValueError) as exc:
        raise InvalidInput(f"{data!r} cannot be printed as Code 128 ({exc}) — use letters, digits and - . /") from None


def _options(gs1: bool) -> dict:
    return {
        "module_width": GS1_MODULE_MM if gs1 else CODE128_MODULE_MM,
        "module_height": BAR_HEIGHT_MM,
        "quiet_zone": QUIET_ZONE_MM,
        "font_size": 10,
        "text_distance": 4,
    }


def barcode_svg(data: str, *, text: str, gs1: bool = False) -> bytes:
    """An SVG document of the barcode with `text` printed under it (e.g. "(00) 3095…")."""
    from barcode.writer import SVGWriter

    out = io.BytesIO()
    _symbol(data, gs1=gs1, writer=SVGWriter()).write(out, options=_options(gs1), text=text)
    return out.getvalue()


def barcode_png(data: str, *, text: str, gs1: bool = False, dpi: int = PNG_DPI) -> bytes:
    """A PNG of the barcode with `text` under it; raises InvalidInput when Pillow is not installed."""
    from barcode.writer import ImageWriter

    if ImageWriter is None:
        raise InvalidInput("PNG labels need Pillow — pip install 'python-barcode[images]', or use --format svg or zpl")
    out = io.BytesIO()
    _symbol(data, gs1=gs1, writer=ImageWriter(dpi=dpi)).write(out, options=_options(gs1), text=text)
    return out.getvalue()
