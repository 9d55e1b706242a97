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
from warehouse_tui.labels import symbol_size

# Pictures are laid out for a 300 dpi printer: a module is whole pixels (GS1-128: 6 px,
# 0.508 mm, inside GS1's 0.495-1.016 mm, see symbol_size), so every bar of one width is
# drawn alike. The quiet zone is above 10 modules for both symbologies.
PNG_DPI = 300
QUIET_ZONE_MM = 6.5


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


def modules(data: str, *, gs1: bool = False) -> str:
    """The symbol as modules, "1" a dark one and "0" a light one, start to stop without quiet zones."""
    return _symbol(data, gs1=gs1, writer=None).build()[0]


def _options(gs1: bool) -> dict:
    return {
        "module_width": symbol_size.module_mm(PNG_DPI, gs1=gs1),
        "module_height": symbol_size.bar_height_mm(gs1=gs1),
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
