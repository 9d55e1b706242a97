"""Every label the CLI writes, rendered and read back as a scanner would: exactly the code, the right symbology.

ZPL is rendered by zplkit (a local renderer of Zebra's ZPL, no printer and no
network), SVG by resvg; PNG is python-barcode's own picture. zxing-cpp decodes
each one. The text we print under a symbol is not what is checked: the bars are.
"""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image
from zplkit import Options, render

from drivers.printers import carrier_job
from warehouse_tui.labels import labels_for

PRINTABLE_ASCII = "".join(chr(c) for c in range(0x20, 0x7F))
# Bin codes and LPNs may hold any printable ASCII character; a 4 inch label takes about
# 16 characters of Code 128 at our module width, so the characters come in short codes.
ASCII_CODES = ["L" + PRINTABLE_ASCII[i:i + 12] for i in range(0, len(PRINTABLE_ASCII), 12)]


def read_zpl(zpl: bytes, dpi: int = 203) -> list:
    document = render(zpl, Options(profile="specification", dpi=dpi))
    (label,) = document.labels
    return zxingcpp.read_barcodes(Image.open(io.BytesIO(label.png())))


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
