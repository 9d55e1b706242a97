"""Every label the CLI writes, rendered and read back as a scanner would: exactly the code, the right symbology.

ZPL is rendered by zplkit (a local renderer of Zebra's ZPL, no printer and no
network), SVG by resvg; PNG is python-barcode's own picture. zxing-cpp decodes
each one. The text we print under a symbol is not what is checked: the bars are.
"""

from __future__ import annotations

import io

import biip
import pytest
import resvg_py
import zxingcpp
from PIL import Image
from zplkit import Options, render

from drivers.printers import carrier_job
from warehouse_tui.labels import labels_for

PRINTABLE_ASCII = "".join(chr(c) for c in range(0x20, 0x7F))
# Bin codes and LPNs may hold any printable ASCII character; a 4 inch label takes about
# 16 characters of Code 128 at our module width, so the characters come in short codes.
ASCII_CODES = ["L" + PRINTABLE_ASCII[i:i + 12] for i in range(0, len(PRINTABLE_ASCII), 12)]


def gs1_check_digit(digits: str) -> str:
    """GS1 mod 10 (General Specifications 7.9.1), written here apart from the app's own."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str(-total % 10)


SSCCS = [s + gs1_check_digit(s) for s in ("30950110000123456", "00614141123456789")]
GTINS = [g + gs1_check_digit(g) for g in ("950110101141", "03600029145", "9638507", "1061414100734")]  # 13, 12, 8, 14

# (kind, code, symbology, what the symbol holds after the symbology identifier)
PLAIN = [(kind, code, "]C0", code) for kind in ("bins", "lpn") for code in ASCII_CODES + ["LPN>03", "LPN_03", "A-01-02-1"]]
PLAIN += [("items", "S" + code[1:], "]C0", "S" + code[1:]) for code in ASCII_CODES]  # SKUs of items without a GTIN
GS1 = [("sscc", sscc, "]C1", "00" + sscc) for sscc in SSCCS]
GS1 += [("lpn", SSCCS[0], "]C1", "00" + SSCCS[0])]  # a pallet named by its SSCC
GS1 += [("items", gtin, "]C1", "01" + gtin.zfill(14)) for gtin in GTINS]


def read(image: Image.Image) -> tuple[str, str]:
    """The one symbol on a label: (symbology identifier, data as transmitted, FNC1 as GS)."""
    (found,) = zxingcpp.read_barcodes(image, text_mode=zxingcpp.TextMode.Plain)
    return found.symbology_identifier, found.text


def assert_reads_back(image: Image.Image, kind: str, code: str, symbology: str, data: str) -> None:
    assert read(image) == (symbology, data)
    if symbology == "]C1":
        # A GS1 parser of its own (biip) finds the key with a valid check digit.
        parsed = biip.parse(symbology + data)
        assert parsed.gs1_message_error is None and parsed.gs1_message is not None
        (element,) = parsed.gs1_message.element_strings
        key = element.sscc if data.startswith("00") else element.gtin
        assert key is not None and key.value == data[2:]


def read_zpl(zpl: bytes, dpi: int = 203) -> list:
    document = render(zpl, Options(profile="specification", dpi=dpi))
    (label,) = document.labels
    return zxingcpp.read_barcodes(Image.open(io.BytesIO(label.png())))


def zpl_image(zpl: bytes, dpi: int) -> Image.Image:
    (label,) = render(zpl, Options(profile="specification", dpi=dpi)).labels
    return Image.open(io.BytesIO(label.png()))


def svg_image(svg: bytes) -> Image.Image:
    return Image.open(io.BytesIO(resvg_py.svg_to_bytes(svg_string=svg.decode("utf-8"), dpi=300, background="#ffffff")))


@pytest.mark.parametrize("kind, code, symbology, data", PLAIN + GS1)
@pytest.mark.parametrize("fmt", ["png", "svg", "zpl"])
def test_every_label_kind_reads_back_as_exactly_its_code(fmt, kind, code, symbology, data):
    (label,) = labels_for(kind, [code], fmt)
    image = {"png": lambda: Image.open(io.BytesIO(label.data)), "svg": lambda: svg_image(label.data),
             "zpl": lambda: zpl_image(label.data, 203)}[fmt]()
    assert_reads_back(image, kind, code, symbology, data)


def narrowest_bar_dots(image: Image.Image) -> int:
    """The narrowest bar or space across the symbol, in pixels (dots of the rendered printer)."""
    grey = image.convert("L")
    (found,) = zxingcpp.read_barcodes(grey)
    y = (found.position.top_left.y + found.position.bottom_left.y) // 2
    dark = [grey.getpixel((x, y)) < 128 for x in range(found.position.top_left.x, found.position.top_right.x + 1)]
    runs, count = [], 1
    for a, b in zip(dark, dark[1:]):
        if a == b:
            count += 1
        else:
            runs.append(count)
            count = 1
    return min(runs + [count])


@pytest.mark.parametrize("kind, code, symbology, data", GS1[:1] + GS1[-2:] + PLAIN[:2])
@pytest.mark.parametrize("dpi", [203, 300, 600])
def test_zpl_labels_read_back_at_every_printer_resolution_with_gs1s_x_dimension(dpi, kind, code, symbology, data):
    (label,) = labels_for(kind, [code], "zpl", dpi=dpi)
    image = zpl_image(label.data, dpi)
    assert_reads_back(image, kind, code, symbology, data)
    x_mm = narrowest_bar_dots(image) * 25.4 / dpi
    if symbology == "]C1":
        assert 0.495 <= x_mm <= 1.016  # GS1 General Specifications 5.12.3, symbol specification tables 2 and 5
    else:
        assert x_mm >= 0.33


@pytest.mark.parametrize("kind", ["bins", "lpn"])
@pytest.mark.parametrize("code", ASCII_CODES + ["LPN>03", "LPN_03", "A^B~C"])
def test_zpl_code_labels_print_every_printable_ascii_character(kind, code):
    (label,) = labels_for(kind, [code], "zpl")
    (found,) = read_zpl(label.data)
    assert (found.text, found.symbology_identifier) == (code, "]C0")


@pytest.mark.parametrize("carrier_format", [
    b"^LH100,300", b"^POI", b"^PMY", b"^LS100", b"^LRY",
])
def test_a_carrier_label_printed_before_ours_does_not_move_or_turn_ours(carrier_format):
    # Format settings carry from one label to the next on the printer; a carrier label keeps its
    # own (drivers.printers strips only the printer's setup), so our labels set theirs.
    carrier = carrier_job(b"^XA" + carrier_format + b"^FO0,0^A0N,30,30^FDCARRIER^FS^XZ")
    (ours,) = labels_for("bins", ["A-01-02"], "zpl")

    after_carrier = render(carrier.data + ours.data, Options(profile="specification", dpi=203)).labels[1]
    alone = render(ours.data, Options(profile="specification", dpi=203)).labels[0]

    assert after_carrier.png() == alone.png()
