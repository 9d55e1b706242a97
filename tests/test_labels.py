"""Labels: the SSCC barcode decodes back to AI 00 + the SSCC; ZPL, SVG and PNG for every label kind."""

from __future__ import annotations

import io
import re
import xml.dom.minidom
from decimal import Decimal

import pytest

import zxingcpp
from PIL import Image

from warehouse_tui.errors import InvalidInput
from warehouse_tui.labels import CartonLabel, LabelFile, label_directory, labels_for, write_carton_label, write_labels
from warehouse_tui.labels import images, symbol_size, zpl
from warehouse_tui.scan.gtin import make_sscc


SSCC = make_sscc(3, "0950110", 123456)
LABEL = CartonLabel(sscc=SSCC, order_ref="ORD-10001", ship_to="Jana Novák, Hauptstrasse 12, 10115 Berlin, DE",
                    carton_code="ORD-10001-1", carton_no=1, weight_kg=Decimal("2.500"), units=7)


def decode(png: bytes) -> list:
    return zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))


def digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def test_sscc_barcode_decodes_to_ai_00_and_the_sscc():
    (found,) = decode(images.barcode_png("00" + SSCC, text="(00) " + SSCC, gs1=True))
    # ]C1 is GS1-128: the symbol starts with FNC1, so a reader hands on AI 00, not a bare Code 128.
    assert found.symbology_identifier == "]C1" and found.content_type == zxingcpp.ContentType.GS1
    assert digits(found.text) == "00" + SSCC


def test_sscc_labels_from_labels_for_decode_in_png():
    (label,) = labels_for("sscc", [SSCC], "png")
    (found,) = decode(label.data)
    assert label.name == f"sscc-{SSCC}.png" and digits(found.text) == "00" + SSCC and found.symbology_identifier == "]C1"


@pytest.mark.parametrize("kind, code, text, symbology", [
    ("bins", "A-01-02-1", "A-01-02-1", "]C0"),
    ("items", "9501101011410", "(01)09501101011410", "]C1"),  # a GTIN-13 printed as GTIN-14 in AI 01
    ("items", "SKU_7", "SKU_7", "]C0"),
    ("lpn", "LPN-000042", "LPN-000042", "]C0"),
    ("lpn", SSCC, f"(00){SSCC}", "]C1"),                      # a pallet named by its SSCC
])
def test_code_labels_decode_to_their_code(kind, code, text, symbology):
    (label,) = labels_for(kind, [code], "png")
    (found,) = decode(label.data)
    assert (found.text, found.symbology_identifier) == (text, symbology)


def test_carton_label_files_are_zpl_and_svg_named_by_sscc(tmp_path):
    paths = write_carton_label(LABEL, tmp_path / "labels")
    assert sorted(p.name for p in paths) == [f"{SSCC}.svg", f"{SSCC}.zpl"]
    assert sorted(p.name for p in (tmp_path / "labels").iterdir()) == [f"{SSCC}.svg", f"{SSCC}.zpl"]  # no partial files
    text = (tmp_path / "labels" / f"{SSCC}.zpl").read_text(encoding="utf-8")
    assert text.startswith("^XA") and text.rstrip().endswith("^XZ")
    assert f"^BCN,300,N,N,N^FD>;>800{SSCC}^FS" in text  # subset C, FNC1, AI 00
    for shown in ("ORD-10001", "Jana Novák", "10115 Berlin", f"(00) {SSCC}", "WEIGHT 2.5 kg", "UNITS 7"):
        assert shown in text
    svg = xml.dom.minidom.parse(str(tmp_path / "labels" / f"{SSCC}.svg"))
    assert len(svg.getElementsByTagName("rect")) > 20
    assert [t.firstChild.data for t in svg.getElementsByTagName("text")] == [f"(00) {SSCC}"]


def test_zpl_text_cannot_inject_printer_commands():
    hostile = CartonLabel(**{**LABEL.__dict__, "ship_to": "Evil ^XZ^XA~JR Co_, Road 1"})
    text = zpl.carton_label(hostile)
    assert text.count("^XA") == 1 and text.count("^XZ") == 1 and "~JR" not in text
    assert "Evil _5EXZ_5EXA_7EJR Co_5F" in text


def test_svg_and_zpl_labels_for_every_kind():
    for kind, code in (("bins", "A-01"), ("items", "SKU-1"), ("lpn", "LPN-1"), ("sscc", SSCC)):
        (svg,) = labels_for(kind, [code], "svg")
        assert svg.name == f"{kind}-{code}.svg" and b"<svg" in svg.data
        (label,) = labels_for(kind, [code], "zpl")
        assert label.data.startswith(b"^XA") and b"^BC" in label.data
    assert b">;>800" + SSCC.encode() in labels_for("sscc", [SSCC], "zpl")[0].data
    assert b"^FDA-01^FS" in labels_for("bins", ["A-01"], "zpl")[0].data


@pytest.mark.parametrize("kind, codes, fmt, message", [
    ("pallets", ["X"], "zpl", "Labels are for bins, items, lpn, sscc"),
    ("bins", ["A-01"], "pdf", "Label format must be zpl, svg, png"),
    ("sscc", [SSCC[:-1] + str((int(SSCC[-1]) + 1) % 10)], "zpl", "wrong check digit"),
    ("sscc", ["12345"], "svg", "SSCC must be 18 digits"),
    ("bins", ["Fläche-1"], "svg", "cannot be printed as Code 128"),
    ("bins", ["A\x1dB"], "png", "cannot be printed as Code 128"),
])
def test_labels_that_cannot_be_printed_are_refused(kind, codes, fmt, message):
    with pytest.raises(InvalidInput, match=message):
        labels_for(kind, codes, fmt)


def test_file_names_never_leave_the_label_directory():
    (label,) = labels_for("lpn", ["../../etc/passwd"], "svg")
    assert "/" not in label.name and not label.name.startswith(".")


def test_label_directory_is_the_setting_else_the_user_data_dir(tmp_path):
    assert label_directory(str(tmp_path)) == tmp_path
    assert label_directory("").name == "labels"


# --------------------------------------------------------------------------- ZPL ^BC field data (invocation codes)

PRINTABLE_ASCII = "".join(chr(c) for c in range(0x20, 0x7F))


def test_bc_invocation_table_is_the_zebra_guide_table():
    # ZPL II Programming Guide, ^BC, "Code 128 Invocation Characters": the decimal value each code puts in the symbol.
    assert zpl.BC_INVOCATION_CODES == {
        "><": 62, ">0": 30, ">=": 94, ">1": 95, ">2": 96, ">3": 97, ">4": 98,
        ">5": 99, ">6": 100, ">7": 101, ">8": 102, ">9": 103, ">:": 104, ">;": 105,
    }


@pytest.mark.parametrize("char", list(PRINTABLE_ASCII))
def test_every_printable_ascii_character_round_trips_through_bc_field_data(char):
    text = f"LPN{char}03"
    data = zpl.code128_field_data(text)
    assert "^" not in data and "~" not in data  # never a ZPL command inside the field
    assert zpl.read_code128_field_data(data) == ("]C0", text)


def test_the_three_characters_zpl_cannot_take_literally_use_their_invocation_codes():
    # '>' is Code 128 value 30 (>0), '^' value 62 (><), '~' value 94 (>=) in subset B.
    assert zpl.code128_field_data("LPN>03") == "LPN>003"
    assert zpl.code128_field_data("A^B~C") == "A><B>=C"
    assert zpl.read_code128_field_data("LPN><03") == ("]C0", "LPN^03")  # what the old "><" printed


def test_each_invocation_code_reads_as_its_table_value_in_every_subset():
    assert zpl.code128_symbol_values(">:><>0>=") == [104, 62, 30, 94]
    assert zpl.read_code128_field_data(">9") == ("]C0", "")
    assert zpl.read_code128_field_data(">9336294") == ("]C0", "A^\x1e")  # subset A: digit pairs are values
    assert zpl.read_code128_field_data(">;1234>6AB>7") == ("]C0", "1234AB")  # C -> B -> A


def test_all_printable_ascii_in_one_field_round_trips():
    data = zpl.code128_field_data(PRINTABLE_ASCII)
    assert zpl.read_code128_field_data(data) == ("]C0", PRINTABLE_ASCII)


def test_gs1_128_field_data_starts_in_subset_c_with_fnc1():
    data = zpl.gs1_128_field_data("00" + SSCC)
    assert data == ">;>800" + SSCC
    assert zpl.read_code128_field_data(data) == ("]C1", "00" + SSCC)
    assert zpl.read_code128_field_data(">;>80109501101530003>8" + "1012") == ("]C1", "0109501101530003\x1d1012")


@pytest.mark.parametrize("data, problem", [
    ("A>XB", "not an invocation code"),
    ("AB>", "not an invocation code"),
    (">;123", "unpaired digit"),
    (">;12A4", "not a digit pair"),
])
def test_field_data_a_printer_would_misread_is_refused_by_the_reader(data, problem):
    with pytest.raises(ValueError, match=problem):
        zpl.read_code128_field_data(data)


@pytest.mark.parametrize("text", ["", "Fläche", "A\x1dB", "A\x7fB"])
def test_code128_field_data_refuses_what_subset_b_cannot_hold(text):
    with pytest.raises(InvalidInput):
        zpl.code128_field_data(text)


@pytest.mark.parametrize("element_string", ["0012345", "00ABC", ""])
def test_gs1_128_field_data_refuses_odd_or_non_digit_strings(element_string):
    with pytest.raises(InvalidInput):
        zpl.gs1_128_field_data(element_string)


@pytest.mark.parametrize("code", ["LPN>03", "A^B", "T~1", "X_>0<>=\\Y"])
def test_zpl_lpn_labels_print_exactly_the_code(code):
    (label,) = labels_for("lpn", [code], "zpl")
    ((hex_escapes, field),) = re.findall(r"\^BC[^\^]*(\^FH_)?\^FD([^\^]*)\^FS", label.data.decode())
    if hex_escapes:  # ^FH_ turns _XX into the byte before the barcode reads the field
        field = re.sub(r"_([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), field)
    assert zpl.read_code128_field_data(field) == ("]C0", code)


# --------------------------------------------------------------------------- label file names

def test_codes_that_a_safe_file_name_would_merge_get_their_own_files():
    codes = ["LPN>03", "LPN_03", "LPN<03", "LPN 03", "LPN/03", ".LPN_03", "lpn_03"]
    names = [label.name for label in labels_for("lpn", codes, "png")]
    assert len({name.casefold() for name in names}) == len(codes)  # distinct even on a case-blind file system
    assert names[1] == "lpn-LPN_03.png"  # a code that is already a safe name keeps it


def test_a_file_name_is_stable_for_its_code():
    (first,) = labels_for("bins", ["A>01"], "svg")
    (again,) = labels_for("bins", ["A>01"], "svg")
    assert first.name == again.name and first.name.startswith("bins-A_01+")


def test_very_long_codes_keep_file_names_short_and_distinct():
    codes = ["L" * 300 + "1", "L" * 300 + "2"]
    names = [label.name for label in labels_for("lpn", codes, "svg")]
    assert names[0] != names[1] and all(len(name) < 100 for name in names)


def test_write_labels_writes_each_code_once_and_never_overwrites_one_it_wrote(tmp_path):
    labels = labels_for("lpn", ["LPN>03", "LPN_03", "LPN_03"], "png")
    paths = write_labels(labels, tmp_path / "out")
    assert len(paths) == 2 and sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths)
    assert [p.read_bytes() for p in paths] == [labels[0].data, labels[1].data]


def test_write_labels_refuses_two_codes_for_one_file_before_writing_anything(tmp_path):
    a, b = labels_for("lpn", ["LPN-1", "LPN-2"], "svg")
    clash = [a, LabelFile(a.name.upper(), b.data, code=b.code)]
    with pytest.raises(InvalidInput, match="LPN-1.*LPN-2"):
        write_labels(clash, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


# --------------------------------------------------------------------------- X-dimension per printer resolution

def zpl_module_mm(label: str, dpi: int) -> float:
    """The narrowest bar of the label's one symbol in mm: ^BY's module, or the narrowest ^GB bar."""
    by = re.findall(r"\^BY(\d+)", label)
    dots = int(by[0]) if by else min(int(w) for w in re.findall(r"\^GB(\d+),\d+,\d+\^FS", label) if int(w) < dpi)
    return dots * 25.4 / dpi


@pytest.mark.parametrize("dpi", [203, 300, 600])
@pytest.mark.parametrize("kind, code", [("sscc", SSCC), ("items", "9501101011410"), ("lpn", SSCC)])
def test_gs1_128_zpl_labels_meet_gs1s_x_dimension_at_every_resolution(kind, code, dpi):
    (label,) = labels_for(kind, [code], "zpl", dpi=dpi)
    # GS1 General Specifications 5.12.3, symbol specification tables 2 and 5: 0.495-1.016 mm
    assert 0.495 <= zpl_module_mm(label.data.decode(), dpi) <= 1.016


@pytest.mark.parametrize("dpi", [203, 300, 600])
def test_carton_label_meets_gs1s_x_dimension_and_bar_height(dpi):
    text = zpl.carton_label(LABEL, dpi=dpi)
    assert 0.495 <= zpl_module_mm(text, dpi) <= 1.016
    heights = re.findall(r"\^BCN,(\d+),", text) or re.findall(r"\^GB\d+,(\d+),\d+\^FS", text)[-1:]
    assert int(heights[0]) * 25.4 / dpi >= 31.75


def test_module_widths_are_the_narrowest_whole_dots_at_or_above_the_minimum():
    assert [symbol_size.module_dots(dpi, gs1=True) for dpi in (203, 300, 600)] == [4, 6, 12]
    assert [symbol_size.module_dots(dpi, gs1=False) for dpi in (203, 300, 600)] == [3, 4, 8]


@pytest.mark.parametrize("dpi", [203, 300, 600])
def test_a_label_fills_the_same_four_inches_at_every_resolution(dpi):
    (label,) = labels_for("bins", ["A-01"], "zpl", dpi=dpi)
    assert f"^PW{round(4 * dpi)}" in label.data.decode()  # 812 dots is 4 in at 203 dpi
    assert zpl_module_mm(label.data.decode(), dpi) >= 0.33


@pytest.mark.parametrize("dpi", [0, 200, 250, 1200])
def test_a_printer_resolution_we_do_not_lay_out_for_is_refused(dpi):
    with pytest.raises(InvalidInput, match="printer_dpi must be 203, 300, 600"):
        labels_for("bins", ["A-01"], "zpl", dpi=dpi)


def test_a_code_too_long_for_the_label_is_refused_not_cut_off():
    with pytest.raises(InvalidInput, match="too long for a 4 inch label"):
        labels_for("lpn", ["PAL-" + "X" * 40], "zpl")


def dark_runs(row: list[int]) -> list[int]:
    """Lengths of the bars and spaces between the first and last bar of one pixel row."""
    dark = [value < 128 for value in row]
    first, last = dark.index(True), len(dark) - 1 - dark[::-1].index(True)
    runs, count = [], 1
    for a, b in zip(dark[first:last], dark[first + 1:last + 1]):
        if a == b:
            count += 1
        else:
            runs.append(count)
            count = 1
    return runs + [count]


@pytest.mark.parametrize("kind, code", [("sscc", SSCC), ("items", "9501101011410")])
def test_gs1_128_png_labels_meet_gs1s_x_dimension_and_bar_height(kind, code):
    (label,) = labels_for(kind, [code], "png")
    image = Image.open(io.BytesIO(label.data)).convert("L")
    dpi = images.PNG_DPI
    middle = [image.getpixel((x, image.height // 3)) for x in range(image.width)]
    assert 0.495 <= min(dark_runs(middle)) * 25.4 / dpi <= 1.016
    first_bar = [value < 128 for value in middle].index(True)
    column = [image.getpixel((first_bar, y)) for y in range(image.height)]
    assert max(dark_runs(column)) * 25.4 / dpi >= 31.75


@pytest.mark.parametrize("kind, code", [("sscc", SSCC), ("items", "9501101011410")])
def test_gs1_128_svg_labels_meet_gs1s_x_dimension_and_bar_height(kind, code):
    (label,) = labels_for(kind, [code], "svg")
    bars = xml.dom.minidom.parseString(label.data).getElementsByTagName("rect")[1:]  # the first is the background
    widths = [float(bar.getAttribute("width").removesuffix("mm")) for bar in bars]
    heights = [float(bar.getAttribute("height").removesuffix("mm")) for bar in bars]
    assert 0.495 <= min(widths) <= 1.016 and min(heights) >= 31.75
