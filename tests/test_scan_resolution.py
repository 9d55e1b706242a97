"""Scan resolution (DESIGN §4): raw scanner text + what the prompt expects -> a typed Scan, or a clear error."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from warehouse_tui.db.models import InboundOrder, Operator, OutboundOrder, PickList
from warehouse_tui.errors import InvalidInput, NotFound, WarehouseError
from warehouse_tui.scan import gs1, resolver
from warehouse_tui.scan.gtin import make_sscc
from warehouse_tui.scan.resolver import parse_expiry, parse_qty, parse_weight, resolve
from warehouse_tui.scan.types import DocType, RawScan, Scan, ScanKind
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.catalog import SqlCatalog

K = ScanKind
GS = "\x1d"
WIDGET_GTIN = "09501101530003"
CEREAL_EAN13 = "4006381333931"
SODA_UPC12 = "036000291452"
UNKNOWN_EAN13 = "5012345678900"
KNOWN_SSCC = make_sscc(0, "9501101", 1)      # 095011010000000018
NEW_SSCC = make_sscc(0, "9501101", 2)        # 095011010000000025
LEGACY_ALIAS = "12345678"                    # 8 digits whose check digit is wrong for a GTIN-8


@pytest.fixture
def warehouse(db):
    """Given a warehouse with items (GTIN-14, EAN-13, UPC-12, aliases), bins, a lot, containers, documents, a badge."""
    with db.transaction() as s:
        widget = md.add_item(s, "WIDGET", gtins=[WIDGET_GTIN], aliases=["W-1"], tracking="lot", expiry_required=True)
        md.add_item(s, "CEREAL", gtins=[CEREAL_EAN13])
        md.add_item(s, "SODA", gtins=[SODA_UPC12])
        md.add_item(s, "LEGACY", aliases=[LEGACY_ALIAS])
        md.add_bin(s, "10D9T")
        md.add_bin(s, "A-01-01", barcode="B0101")
        md.lot(s, widget, "L-77")
        md.container(s, "T-100", "tote")
        md.container(s, KNOWN_SSCC, "sscc")
        s.add_all([InboundOrder(ref="PO-1"), OutboundOrder(ref="SO-1"), PickList(ref="PL-1"),
                   Operator(badge="B1001", name="Ann", pin_hash="not-used-here")])
    return db


def scan_at(db, text: str, *expects: ScanKind, symbology: str | None = None) -> Scan:
    """When `text` is scanned at a prompt expecting `expects`."""
    with db.reading() as session:
        return resolve(RawScan(text, symbology), frozenset(expects), SqlCatalog(session))


# --------------------------------------------------------------------------- items


GS1_ITEM_SCANS = [
    pytest.param(f"]C1010950110153000317261231101234AB{GS}21SN1",
                 dict(symbology="C1", lot="1234AB", serial="SN1", expiry=dt.date(2026, 12, 31)), id="gs1-128"),
    pytest.param(f"]d201095011015300031726123110ABC{GS}21SN2",
                 dict(symbology="d2", lot="ABC", serial="SN2", expiry=dt.date(2026, 12, 31)), id="gs1-datamatrix"),
    pytest.param("]Q30109501101530003" "10LOT9",
                 dict(symbology="Q3", lot="LOT9"), id="gs1-qr"),
    pytest.param(f"010950110153000310ABC{GS}21SN3",
                 dict(symbology=None, lot="ABC", serial="SN3"), id="gs-separator-without-identifier"),
    pytest.param("(01)09501101530003(17)261231(10)ABC",
                 dict(lot="ABC", expiry=dt.date(2026, 12, 31)), id="bracketed-human-form"),
    pytest.param("01095011015300031726123110ABC",
                 dict(symbology=None, lot="ABC", expiry=dt.date(2026, 12, 31)), id="unmarked-but-whole-gs1-with-gtin"),
    pytest.param("]C1010950110153000317260200",
                 dict(expiry=dt.date(2026, 2, 28)), id="ai17-day-00-is-last-day-of-month"),
    pytest.param("]C1010950110153000317280200",
                 dict(expiry=dt.date(2028, 2, 29)), id="ai17-day-00-in-a-leap-february"),
    pytest.param("]C1010950110153000315270131",
                 dict(expiry=dt.date(2027, 1, 31)), id="ai15-best-before-when-no-ai17"),
    pytest.param("]C10109501101530003" "3040", dict(qty=40), id="ai30-variable-count"),
    pytest.param(f"]C100{KNOWN_SSCC}0209501101530003" "3724", dict(qty=24, container_code=KNOWN_SSCC, sscc=True),
                 id="ai02-contained-gtin-on-its-pallet"),
    pytest.param("]C10109501101530003" "3103001250", dict(weight_kg=Decimal("1.250")), id="ai3103-net-weight"),
]


@pytest.mark.parametrize(("text", "expected"), GS1_ITEM_SCANS)
def test_gs1_item_scans_name_the_item_and_carry_their_fields(warehouse, text, expected):
    # When a GS1 label of a known GTIN is scanned at an item prompt
    scan = scan_at(warehouse, text, K.ITEM)

    # Then it is that item, with every AI the label carries
    assert (scan.kind, scan.sku, scan.gtin) == (K.ITEM, "WIDGET", WIDGET_GTIN)
    for field, value in expected.items():
        assert getattr(scan, field) == value, field


# GS1 General Specifications §4.13 as GS1's Barcode Syntax Dictionary writes it (warehouse_tui/scan/data/):
# invalid pairs (ex=) and mandatory associations (req=), each refused naming the rule.
GS1_PAIRING_REFUSALS = [
    pytest.param("]C10109501101530003" "3712", r"AI \(01\) cannot be used with AI \(37\)",
                 id="ai37-count-is-only-for-a-logistic-unit"),
    pytest.param("(01)09501101530003(37)12", r"AI \(01\) cannot be used with AI \(37\)", id="ai37-count-bracketed"),
    pytest.param("]C10109501101530003" "0209501101530003", r"AI \(02\) cannot be used with AI \(01\)",
                 id="gtin-and-contained-gtin"),
    pytest.param("]C10209501101530003" "3724", r"AI \(37\) needs AI \(00\) and \(02\) or \(8026\)",
                 id="ai02-ai37-without-sscc"),
    pytest.param("]C10209501101530003" "1012", r"AI \(02\) needs AI \(37\)", id="ai02-without-count"),
    pytest.param(f"]C1010950110153000310A{GS}10B", r"AI \(10\) appears twice with different values",
                 id="two-lots-in-one-symbol"),
    pytest.param(f"]C1010950110153000321S1{GS}2351", r"AI \(21\) cannot be used with AI \(235\)",
                 id="serial-and-third-party-serial"),
]


@pytest.mark.parametrize(("text", "rule"), GS1_PAIRING_REFUSALS)
@pytest.mark.parametrize("expects", [{K.ITEM}, {K.ITEM, K.CONTAINER}, {K.CONTAINER}, {K.QTY}, {K.LOT}],
                         ids=["item", "item-or-lpn", "tote", "qty", "lot"])
def test_a_gs1_symbol_breaking_a_pairing_rule_is_refused_naming_the_rule(warehouse, text, rule, expects):
    # When a GS1 symbol whose AIs may not stand together is scanned at any prompt
    with pytest.raises(gs1.Gs1Refused, match=rf"Not a valid GS1 barcode: {rule}"):
        scan_at(warehouse, text, *expects)


def _at_label(db, text: str, label_ais: frozenset[str], *expects: ScanKind) -> Scan:
    with db.reading() as session:
        return resolve(RawScan(text), frozenset(expects), SqlCatalog(session), label_ais=label_ais)


def test_mandatory_associations_count_what_the_same_label_already_gave(warehouse):
    # GS1 applies req= to the whole label: the pallet's SSCC, scanned from its own barcode, is the (00) that
    # (02)(37) needs. The GTIN-14 (02) names the item, (37) the count.
    scan = _at_label(warehouse, "]C10209501101530003" "3724", frozenset({"00"}), K.ITEM, K.CONTAINER)
    assert (scan.kind, scan.sku, scan.qty, scan.container_code) == (K.ITEM, "WIDGET", 24, None)
    assert _at_label(warehouse, "]C10209501101530003" "3724", frozenset({"00"}), K.QTY).qty == 24


@pytest.mark.parametrize(("text", "rule"), [
    pytest.param("]C10109501101530003" "3712", r"AI \(01\) cannot be used with AI \(37\)", id="ex-rule-stays"),
    pytest.param("]C10209501101530003" "1012", r"AI \(02\) needs AI \(37\)", id="other-req-rules-stay"),
])
def test_what_the_label_already_gave_satisfies_no_other_rule(warehouse, text, rule):
    with pytest.raises(gs1.Gs1Refused, match=rule):
        _at_label(warehouse, text, frozenset({"00"}), K.ITEM, K.CONTAINER)


# Lint-level checks of the Syntax Dictionary: refused like any GS1 data that breaks a rule (DESIGN §4 rule 5, §10):
# a scan is resolved or refused, and a label that fails GS1's own checks is not trusted for the fields it does carry.
GS1_LINT_REFUSALS = [
    pytest.param("(01)09501101530003(422)999", r"AI \(422\) 999 is not a country code", id="origin-not-a-country"),
    pytest.param("(01)09501101530003(422)000", r"AI \(422\) 000 is not a country code", id="origin-000"),
    pytest.param("(01)09501101530003(426)277", r"AI \(426\) 277 is not a country code", id="full-process-country"),
    pytest.param("(00)095011010000000018(410)9501101000010", r"AI \(410\) 9501101000010 has a wrong check digit",
                 id="ship-to-gln-check-digit"),
    pytest.param("(01)09501101530003(3922)1250", r"AI \(3922\) needs AI \(01\) and \(30\), \(31nn\)",
                 id="price-without-a-quantity-ai"),
]


@pytest.mark.parametrize(("text", "rule"), GS1_LINT_REFUSALS)
@pytest.mark.parametrize("expects", [{K.ITEM}, {K.CONTAINER}, {K.LOT}], ids=["item", "tote", "lot"])
def test_a_gs1_symbol_failing_a_lint_check_is_refused_naming_it(warehouse, text, rule, expects):
    with pytest.raises(gs1.Gs1Refused, match=rf"Not a valid GS1 barcode: {rule}"):
        scan_at(warehouse, text, *expects)


@pytest.mark.parametrize("text", [
    pytest.param("(01)09501101530003(422)276(10)L1", id="origin-germany"),
    pytest.param("(01)09501101530003(3922)1250(30)4(10)L1", id="price-with-count"),
])
def test_a_gs1_symbol_passing_the_lint_checks_is_read(warehouse, text):
    assert scan_at(warehouse, text, K.ITEM).lot == "L1"


def test_a_lot_and_expiry_symbol_beside_the_gtin_symbol_is_taken_at_the_lot_prompt(warehouse):
    # A second GS1-128 on the same label carries (17)(10) without the GTIN: its pairing is with the item scan.
    scan = scan_at(warehouse, "]C11726123110L-9", K.LOT)

    assert (scan.kind, scan.lot, scan.expiry) == (K.LOT, "L-9", dt.date(2026, 12, 31))


DIGITAL_LINK = "https://id.gs1.org/01/09501101530003/10/LOT1/21/SN%2F7?17=271231"


@pytest.mark.parametrize("text", [
    pytest.param("]Q1" + DIGITAL_LINK, id="qr"),
    pytest.param(DIGITAL_LINK, id="no-aim-identifier"),
    pytest.param("]d1" + DIGITAL_LINK, id="datamatrix"),
    pytest.param(DIGITAL_LINK.replace("https://id.gs1.org", "http://example.com/shop"), id="own-domain-and-path"),
    pytest.param("https://id.gs1.org/01/9501101530003/10/LOT1/21/SN%2F7?17=271231", id="gtin13-in-the-path"),
])
def test_a_gs1_digital_link_is_the_same_item_lot_expiry_and_serial_as_the_element_string(warehouse, text):
    element_string = scan_at(warehouse, f"]C1010950110153000317271231" f"10LOT1{GS}21SN/7", K.ITEM)

    scan = scan_at(warehouse, text, K.ITEM)

    assert (scan.kind, scan.sku, scan.gtin, scan.lot, scan.expiry, scan.serial) == (
        K.ITEM, "WIDGET", WIDGET_GTIN, "LOT1", dt.date(2027, 12, 31), "SN/7")
    assert (scan.gtin, scan.lot, scan.expiry, scan.serial) == (
        element_string.gtin, element_string.lot, element_string.expiry, element_string.serial)


@pytest.mark.parametrize(("expects", "field", "value"), [
    ({K.LOT}, "lot", "LOT1"), ({K.EXPIRY}, "expiry", dt.date(2027, 12, 31)), ({K.SERIAL}, "serial", "SN/7"),
])
def test_a_gs1_digital_link_answers_the_lot_expiry_and_serial_prompts(warehouse, expects, field, value):
    assert getattr(scan_at(warehouse, "]Q1" + DIGITAL_LINK, *expects), field) == value


@pytest.mark.parametrize("text", [
    pytest.param("https://id.gs1.org/01/09501101530004/10/LOT1", id="wrong-check-digit"),
    pytest.param("https://id.gs1.org/01/0950110153000/10/LOT1", id="short-gtin"),
    pytest.param("https://id.gs1.org/01/09501101530003/10/LOT1?17=271340", id="no-such-date"),
    pytest.param("https://id.gs1.org/01/09501101530003?37=12", id="count-without-sscc"),
])
@pytest.mark.parametrize("expects", [{K.ITEM}, {K.CONTAINER}, {K.LOT}], ids=["item", "tote", "lot"])
def test_a_broken_gs1_digital_link_is_refused_at_every_prompt(warehouse, text, expects):
    with pytest.raises(gs1.Gs1Refused, match="Not a valid GS1 barcode|in the barcode has a wrong check digit"):
        scan_at(warehouse, text, *expects)


@pytest.mark.parametrize(("text", "rule"), [
    pytest.param("https://id.gs1.org/01/09501101530003?10=LOT1", r"AI \(10\) belongs in the path",
                 id="qualifier-in-the-query"),
    pytest.param("https://id.gs1.org/01/09501101530003?01=09501101530003", r"AI \(01\) belongs in the path",
                 id="key-again-in-the-query"),
    pytest.param("https://id.gs1.org/01/09501101530003?17=271231&17=281231", r"AI \(17\) appears twice",
                 id="attribute-twice"),
    pytest.param("https://id.gs1.org/01/09501101530003?17=", r"AI \(17\) in this Digital Link holds no value",
                 id="empty-attribute"),
    pytest.param("https://id.gs1.org/01/09501101530003?89=X", r"unknown AI \(89\)", id="unknown-ai"),
    pytest.param("HtTpS://id.gs1.org/01/09501101530003", r"starts with http or https", id="mixed-case-scheme"),
])
def test_a_digital_link_breaking_gs1s_uri_syntax_is_refused_naming_the_rule(warehouse, text, rule):
    with pytest.raises(gs1.Gs1Refused, match=rule):
        scan_at(warehouse, text, K.ITEM)


def test_a_digital_link_keeps_other_web_query_parameters_out_of_the_scan(warehouse):
    scan = scan_at(warehouse, "https://id.gs1.org/01/09501101530003/10/LOT1?17=271231&utm_source=label", K.ITEM)

    assert (scan.sku, scan.lot, scan.expiry) == ("WIDGET", "LOT1", dt.date(2027, 12, 31))


def test_a_web_address_that_names_no_gs1_key_is_no_gs1_scan(warehouse):
    with pytest.raises(NotFound, match="Not an item"):
        scan_at(warehouse, "https://example.com/products/widget", K.ITEM)


UPC_E_GTIN = "00042100005264"        # UPC-A 042100005264, zero-suppressed as UPC-E 0425261(4)
BOTH_EAN8_AND_UPC_E = "01234053"     # a valid EAN-8 (GTIN 00000001234053) and a valid UPC-E (GTIN 00012340000053)


@pytest.mark.parametrize("text", [
    pytest.param("425261", id="six-digits"),
    pytest.param("04252614", id="eight-digits"),
    pytest.param("]E004252614", id="eight-digits-aim-e0"),
    pytest.param("]E0425261", id="six-digits-aim-e0"),
])
def test_a_upc_e_finds_the_item_of_its_expanded_gtin(warehouse, text):
    with warehouse.transaction() as s:
        md.add_item(s, "MINT", gtins=[UPC_E_GTIN])

    scan = scan_at(warehouse, text, K.ITEM)

    assert (scan.kind, scan.sku, scan.gtin) == (K.ITEM, "MINT", UPC_E_GTIN)


def test_an_unknown_upc_e_is_not_found_by_its_gtin_not_refused_for_a_check_digit(warehouse):
    with pytest.raises(NotFound, match=f"GTIN {UPC_E_GTIN} \\(UPC-E 04252614\\) is not a known item"):
        scan_at(warehouse, "04252614", K.ITEM)


@pytest.mark.parametrize(("gtins", "text", "sku"), [
    pytest.param({"EAN8": "00000001234053"}, BOTH_EAN8_AND_UPC_E, "EAN8", id="as-ean8"),
    pytest.param({"UPCE": "00012340000053"}, BOTH_EAN8_AND_UPC_E, "UPCE", id="as-upc-e-when-no-ean8-item"),
    pytest.param({"EAN8": "00000001234053", "UPCE": "00012340000053"}, "]E0" + BOTH_EAN8_AND_UPC_E, "UPCE",
                 id="aim-e0-says-upc-e"),
    pytest.param({"EAN8": "00000001234053", "UPCE": "00012340000053"}, "]E4" + BOTH_EAN8_AND_UPC_E, "EAN8",
                 id="aim-e4-says-ean8"),
])
def test_eight_digits_valid_as_ean8_and_upc_e_try_both(warehouse, gtins, text, sku):
    with warehouse.transaction() as s:
        for name, gtin in gtins.items():
            md.add_item(s, name, gtins=[gtin])

    assert scan_at(warehouse, text, K.ITEM).sku == sku


@pytest.mark.parametrize(("text", "sku", "gtin14"), [
    pytest.param(CEREAL_EAN13, "CEREAL", "0" + CEREAL_EAN13, id="ean13"),
    pytest.param(SODA_UPC12, "SODA", "00" + SODA_UPC12, id="upc12"),
    pytest.param("0" + CEREAL_EAN13, "CEREAL", "0" + CEREAL_EAN13, id="gtin14"),
    pytest.param("]E0" + CEREAL_EAN13, "CEREAL", "0" + CEREAL_EAN13, id="ean13-with-aim-identifier"),
])
def test_short_gtins_find_the_item_stored_as_gtin14(warehouse, text, sku, gtin14):
    scan = scan_at(warehouse, text, K.ITEM)

    assert (scan.kind, scan.sku, scan.gtin) == (K.ITEM, sku, gtin14)
    assert scan.item_id is not None


def test_a_gs1_symbol_carrying_a_gtin_is_read_as_gs1_even_if_its_text_is_also_a_code(warehouse):
    # Given an alias that happens to be the very text of a GS1-128 label of WIDGET (GTIN + count 12)
    label = "0109501101530003" "3012"
    with warehouse.transaction() as s:
        md.add_item(s, "LOOKALIKE", aliases=[label])

    # When the label is scanned, its identifier saying GS1 (DESIGN §4 rule 3)
    scan = scan_at(warehouse, "]C1" + label, K.ITEM, K.CONTAINER)

    # Then it is what the label says: 12 of WIDGET
    assert (scan.kind, scan.sku, scan.qty) == (K.ITEM, "WIDGET", 12)


@pytest.mark.parametrize(("text", "expects", "field", "value"), [
    pytest.param("]C1B0101", {K.BIN}, "bin_code", "A-01-01", id="bin-label-printed-as-gs1-128"),
    pytest.param("]C110D9T", {K.BIN}, "bin_code", "10D9T", id="bin-that-reads-as-ai-10"),
    pytest.param("]C1W-1", {K.ITEM, K.CONTAINER}, "sku", "WIDGET", id="alias"),
])
def test_a_gs1_symbol_carrying_no_gtin_or_sscc_still_matches_a_code_exactly(warehouse, text, expects, field, value):
    # A scanner may mark every Code 128 as GS1-128: data that is no product or pallet label is looked up as it stands.
    scan = scan_at(warehouse, text, *expects)

    assert getattr(scan, field) == value


def test_an_alias_names_its_item(warehouse):
    scan = scan_at(warehouse, "W-1", K.ITEM)

    assert (scan.kind, scan.sku, scan.gtin) == (K.ITEM, "WIDGET", None)


def test_a_numeric_alias_wins_over_the_check_digit_rule(warehouse):
    # Given LEGACY's alias 12345678, which would be a GTIN-8 with a wrong check digit
    scan = scan_at(warehouse, LEGACY_ALIAS, K.ITEM)

    assert (scan.kind, scan.sku) == (K.ITEM, "LEGACY")


@pytest.mark.parametrize("text", [
    pytest.param("4006381333932", id="ean13"),
    pytest.param("036000291453", id="upc12"),
    pytest.param("09501101530004", id="gtin14"),
    pytest.param("96385075", id="ean8"),
])
def test_a_plain_gtin_with_a_wrong_check_digit_is_refused_naming_it(warehouse, text):
    with pytest.raises(InvalidInput, match=rf"{text} has a wrong check digit \(should end in \d\)"):
        scan_at(warehouse, text, K.ITEM)


@pytest.mark.parametrize("text", [
    pytest.param("]C10109501101530004" "10ABC", id="gs1-128"),
    pytest.param("(01)09501101530004(10)ABC", id="bracketed"),
])
def test_a_gs1_gtin_with_a_wrong_check_digit_is_refused(warehouse, text):
    with pytest.raises(InvalidInput, match=r"GTIN 09501101530004 .*wrong check digit \(should end in 3\)"):
        scan_at(warehouse, text, K.ITEM)


@pytest.mark.parametrize("text", [UNKNOWN_EAN13, "]C1010" + UNKNOWN_EAN13 + "10X", "(01)0" + UNKNOWN_EAN13])
def test_a_valid_gtin_that_is_no_item_is_not_found(warehouse, text):
    with pytest.raises(NotFound, match=f"GTIN 0{UNKNOWN_EAN13} is not a known item"):
        scan_at(warehouse, text, K.ITEM)


@pytest.mark.parametrize("text", [
    pytest.param("]C1ZZZ", id="identifier-but-no-ai"),
    pytest.param("(01)123", id="bracketed-short-gtin"),
    pytest.param("(10)AB CD", id="bracketed-with-space"),
    pytest.param("(10)ABC(", id="bracketed-stray-tail"),
    pytest.param("]C10109501101530003" "17261331", id="ai17-month-13"),
    pytest.param(f"{GS}{GS}", id="only-separators"),
    pytest.param(f"]C1{GS}", id="identifier-and-separator"),
])
def test_malformed_gs1_is_refused_as_invalid(warehouse, text):
    with pytest.raises(InvalidInput):
        scan_at(warehouse, text, K.ITEM)


def test_unmarked_text_that_merely_parses_as_gs1_is_not_read_as_gs1(warehouse):
    # Given "10D9T" parses as AI 10 with lot D9T but carries no GTIN or SSCC
    # When scanned at an item prompt, Then it is just an unknown code, named as a bin we know
    with pytest.raises(InvalidInput, match=r"That is a bin \(10D9T\), not an item"):
        scan_at(warehouse, "10D9T", K.ITEM)


def test_garbage_at_an_item_prompt_is_not_found_and_says_what_to_scan(warehouse):
    with pytest.raises(NotFound, match=r"^Not an item: %%%garbage — scan the item's barcode$"):
        scan_at(warehouse, "%%%garbage", K.ITEM)


# --------------------------------------------------------------------------- bins and wrong kinds


@pytest.mark.parametrize(("text", "code"), [("10D9T", "10D9T"), ("B0101", "A-01-01"), ("A-01-01", "A-01-01")])
def test_a_known_bin_code_or_barcode_is_that_bin(warehouse, text, code):
    scan = scan_at(warehouse, text, K.BIN)

    assert (scan.kind, scan.bin_code, scan.lot) == (K.BIN, code, None)
    assert scan.bin_id is not None


@pytest.mark.parametrize(("text", "expects", "message"), [
    pytest.param(CEREAL_EAN13, {K.BIN}, r"^That is an item \(SKU CEREAL\), not a bin — scan a bin label$", id="ean-at-bin"),
    pytest.param("W-1", {K.BIN}, r"That is an item \(SKU WIDGET\), not a bin", id="alias-at-bin"),
    pytest.param(f"]C1010{CEREAL_EAN13}10ABC", {K.BIN}, r"That is an item \(SKU CEREAL\), not a bin", id="gs1-at-bin"),
    pytest.param("T-100", {K.BIN}, r"That is a tote \(T-100\), not a bin", id="tote-at-bin"),
    pytest.param("L-77", {K.BIN}, r"That is a lot \(L-77\), not a bin", id="lot-at-bin"),
    pytest.param("B1001", {K.BIN}, r"That is a badge, not a bin", id="badge-at-bin"),
    pytest.param("B0101", {K.ITEM}, r"That is a bin \(A-01-01\), not an item", id="bin-at-item"),
    pytest.param("PL-1", {K.ITEM}, r"That is a pick list \(PL-1\), not an item", id="picklist-at-item"),
    pytest.param("10D9T", {K.CONTAINER}, r"That is a bin \(10D9T\), not an LPN or tote", id="bin-at-tote"),
    pytest.param(CEREAL_EAN13, {K.CONTAINER}, r"That is an item \(SKU CEREAL\)", id="item-at-tote"),
    pytest.param("00" + KNOWN_SSCC, {K.ITEM}, rf"That is a pallet label \(SSCC {KNOWN_SSCC}\), not an item",
                 id="sscc-at-item"),
    pytest.param("]C110ABC", {K.BIN}, r"holds no GTIN or SSCC, not a bin", id="gs1-without-gtin-at-bin"),
])
def test_a_scan_of_the_wrong_kind_is_refused_saying_what_it_is(warehouse, text, expects, message):
    with pytest.raises(InvalidInput, match=message):
        scan_at(warehouse, text, *expects)


def test_an_unknown_code_at_a_bin_prompt_says_what_was_wanted(warehouse):
    with pytest.raises(NotFound, match=r"^Not a bin: XYZ — scan a bin label$"):
        scan_at(warehouse, "XYZ", K.BIN)


def test_a_prompt_for_several_kinds_names_them_all_when_nothing_matches(warehouse):
    with pytest.raises(NotFound, match=r"^Not an item or a bin: XYZ — scan the item's barcode or scan a bin label$"):
        scan_at(warehouse, "XYZ", K.BIN, K.ITEM)


# --------------------------------------------------------------------------- free values: lot, serial, expiry, qty, weight


def test_a_lot_prompt_takes_a_code_that_is_also_a_bin_as_the_lot(warehouse):
    # Given bin 10D9T exists, When 10D9T is scanned at the lot prompt, Then it is lot 10D9T (not AI 10 "D9T")
    scan = scan_at(warehouse, "10D9T", K.LOT)

    assert (scan.kind, scan.lot, scan.value, scan.bin_id) == (K.LOT, "10D9T", "10D9T", None)


# Issue 10: spaces around a code are no part of it (the one change to "as it stands"); inside, they are.
@pytest.mark.parametrize(("text", "lot"), [("NEW LOT ", "NEW LOT"), ("0123", "0123"), (UNKNOWN_EAN13, UNKNOWN_EAN13)])
def test_a_typed_lot_is_taken_exactly_as_it_stands(warehouse, text, lot):
    assert scan_at(warehouse, text, K.LOT).lot == lot


def test_explicit_gs1_at_a_lot_prompt_takes_ai_10(warehouse):
    assert scan_at(warehouse, "]C110D9T", K.LOT).lot == "D9T"


def test_a_gs1_item_label_at_a_lot_prompt_gives_the_lot_and_names_the_item(warehouse):
    scan = scan_at(warehouse, "(01)09501101530003(10)ABC", K.LOT)

    assert (scan.kind, scan.lot, scan.sku, scan.gtin) == (K.LOT, "ABC", "WIDGET", WIDGET_GTIN)


def test_explicit_gs1_without_the_wanted_ai_is_refused(warehouse):
    with pytest.raises(InvalidInput, match=r"holds no lot \(AI 10\)"):
        scan_at(warehouse, "]C10109501101530003", K.LOT)


def test_a_lot_longer_than_the_database_holds_is_refused(warehouse):
    with pytest.raises(InvalidInput, match="Lot is longer than 64"):
        scan_at(warehouse, "L" * 65, K.LOT)


def test_serial_prompt_takes_the_scan_or_ai_21(warehouse):
    assert scan_at(warehouse, "SN-0001", K.SERIAL).serial == "SN-0001"
    assert scan_at(warehouse, f"]C1010950110153000310L1{GS}21SN1", K.SERIAL).serial == "SN1"


@pytest.mark.parametrize(("text", "expiry"), [
    ("261231", dt.date(2026, 12, 31)),
    ("260200", dt.date(2026, 2, 28)),
    ("]C117260200", dt.date(2026, 2, 28)),
    ("(17)270615", dt.date(2027, 6, 15)),
])
def test_expiry_prompt_takes_yymmdd_or_ai_17(warehouse, text, expiry):
    scan = scan_at(warehouse, text, K.EXPIRY)

    assert (scan.kind, scan.expiry) == (K.EXPIRY, expiry)


@pytest.mark.parametrize("text", ["261331", "260230", "20261231", "26-12-31", "abcdef", "２６１２３１"])
def test_expiry_prompt_refuses_what_is_not_a_real_yymmdd_date(warehouse, text):
    with pytest.raises(InvalidInput, match="Expiry"):
        scan_at(warehouse, text, K.EXPIRY)


@pytest.mark.parametrize(("text", "today", "expiry"), [
    pytest.param("991231", dt.date(2025, 1, 1), dt.date(1999, 12, 31), id="74-years-ahead-is-last-century"),
    pytest.param("740101", dt.date(2025, 1, 1), dt.date(2074, 1, 1), id="49-years-ahead-is-this-century"),
    pytest.param("750101", dt.date(2025, 1, 1), dt.date(2075, 1, 1), id="50-years-ahead-is-this-century"),
    pytest.param("240200", dt.date(2025, 1, 1), dt.date(2024, 2, 29), id="day-00-leap-year"),
])
def test_parse_expiry_follows_the_gs1_century_rule(text, today, expiry):
    assert parse_expiry(text, today=today) == expiry


@pytest.mark.parametrize("text", [
    "abc", "-5", "0", "000", "1.5", "1,5", "1e3", " 12", "12 ", "+5", "", "12345678901234567890", "1000000001",
    "١٢", "²",
])
def test_parse_qty_refuses_anything_but_a_positive_whole_number(text):
    with pytest.raises(InvalidInput, match="[Qq]uantity"):
        parse_qty(text)


@pytest.mark.parametrize(("text", "qty"), [("7", 7), ("007", 7), ("1000000000", 1_000_000_000)])
def test_parse_qty_accepts_whole_numbers_exactly(text, qty):
    assert parse_qty(text) == qty


@pytest.mark.parametrize(("text", "qty"), [("7", 7), ("]C13712", 12)])
def test_qty_prompt_takes_the_number_or_ai_37(warehouse, text, qty):
    scan = scan_at(warehouse, text, K.QTY)

    assert (scan.kind, scan.qty) == (K.QTY, qty)


@pytest.mark.parametrize("text", ["1.5", "-5", "0", "]C13700"])
def test_qty_prompt_refuses_what_is_not_a_positive_whole_number(warehouse, text):
    with pytest.raises(InvalidInput, match="Quantity"):
        scan_at(warehouse, text, K.QTY)


@pytest.mark.parametrize(("text", "kg"), [("12.5", Decimal("12.5")), ("12,5", Decimal("12.5")), ("3", Decimal("3"))])
def test_weight_prompt_takes_kilograms(warehouse, text, kg):
    assert scan_at(warehouse, text, K.WEIGHT).weight_kg == kg


@pytest.mark.parametrize("text", ["0", "0.000", "1.2345", "abc", "-1", "1e3"])
def test_parse_weight_refuses_what_is_not_a_positive_weight(text):
    with pytest.raises(InvalidInput, match="Weight"):
        parse_weight(text)


def test_pin_and_text_prompts_take_the_value_as_it_stands(warehouse):
    assert scan_at(warehouse, "0042", K.PIN).value == "0042"
    assert scan_at(warehouse, "any note (10)x", K.TEXT).value == "any note (10)x"


# --------------------------------------------------------------------------- containers, documents, badges


def test_a_known_tote_is_that_container(warehouse):
    scan = scan_at(warehouse, "T-100", K.CONTAINER)

    assert (scan.kind, scan.container_code, scan.sscc) == (K.CONTAINER, "T-100", False)
    assert scan.container_id is not None


def test_an_unknown_code_at_a_tote_prompt_is_a_new_container(warehouse):
    scan = scan_at(warehouse, "T-NEW-7", K.CONTAINER)

    assert (scan.kind, scan.container_code, scan.container_id) == (K.CONTAINER, "T-NEW-7", None)


@pytest.mark.parametrize(("text", "code", "known"), [
    pytest.param(KNOWN_SSCC, KNOWN_SSCC, True, id="plain-known"),
    pytest.param(NEW_SSCC, NEW_SSCC, False, id="plain-new"),
    pytest.param("]C100" + NEW_SSCC, NEW_SSCC, False, id="gs1-128-new"),
    pytest.param("00" + KNOWN_SSCC, KNOWN_SSCC, True, id="unmarked-ai00"),
    pytest.param("(00)" + KNOWN_SSCC, KNOWN_SSCC, True, id="bracketed"),
])
def test_an_sscc_at_an_lpn_prompt_is_a_container_flagged_sscc(warehouse, text, code, known):
    scan = scan_at(warehouse, text, K.CONTAINER)

    assert (scan.kind, scan.container_code, scan.sscc) == (K.CONTAINER, code, True)
    assert (scan.container_id is not None) is known


def test_an_sscc_with_a_wrong_check_digit_is_refused_not_created(warehouse):
    with pytest.raises(InvalidInput, match="SSCC 095011010000000019 has a wrong check digit"):
        scan_at(warehouse, "095011010000000019", K.CONTAINER)


def test_a_code_too_long_for_a_container_is_not_created(warehouse):
    with pytest.raises(NotFound, match="Not an LPN or tote"):
        scan_at(warehouse, "X" * 65, K.CONTAINER)


@pytest.mark.parametrize(("text", "doc_type"), [
    ("PO-1", DocType.INBOUND), ("SO-1", DocType.OUTBOUND), ("PL-1", DocType.PICKLIST),
])
def test_a_document_ref_names_its_document_and_type(warehouse, text, doc_type):
    scan = scan_at(warehouse, text, K.DOCUMENT)

    assert (scan.kind, scan.document, scan.doc_type) == (K.DOCUMENT, text, doc_type)
    assert scan.document_id is not None


def test_an_unknown_document_ref_is_not_found(warehouse):
    with pytest.raises(NotFound, match=r"^Not a document: PO-404 — scan the PO, order or pick list$"):
        scan_at(warehouse, "PO-404", K.DOCUMENT)


def test_a_badge_prompt_knows_badges(warehouse):
    assert scan_at(warehouse, "B1001", K.BADGE).badge == "B1001"
    with pytest.raises(NotFound, match="Not a badge: B9999 — scan your badge"):
        scan_at(warehouse, "B9999", K.BADGE)


# --------------------------------------------------------------------------- prompts that take several kinds


def test_an_item_or_lot_prompt_prefers_items_then_known_lots_then_a_new_lot(warehouse):
    assert scan_at(warehouse, "W-1", K.ITEM, K.LOT).kind is K.ITEM
    known_lot = scan_at(warehouse, "L-77", K.ITEM, K.LOT)
    assert (known_lot.kind, known_lot.lot) == (K.LOT, "L-77")
    assert scan_at(warehouse, "NEWLOT", K.ITEM, K.LOT).lot == "NEWLOT"
    # a number that fails the GTIN check digit may be a lot here
    assert scan_at(warehouse, "4006381333932", K.ITEM, K.LOT).lot == "4006381333932"


def test_a_bin_or_qty_prompt_takes_a_bin_scan_or_a_typed_number(warehouse):
    assert scan_at(warehouse, "B0101", K.BIN, K.QTY).bin_code == "A-01-01"
    assert scan_at(warehouse, "7", K.BIN, K.QTY).qty == 7


def test_a_pallet_label_at_an_lpn_or_item_prompt_is_the_pallet_with_its_contents(warehouse):
    scan = scan_at(warehouse, f"]C100{NEW_SSCC}02{WIDGET_GTIN}3710", K.CONTAINER, K.ITEM)

    assert (scan.kind, scan.container_code, scan.sku, scan.qty) == (K.CONTAINER, NEW_SSCC, "WIDGET", 10)


def test_an_inquiry_prompt_takes_anything_unknown_as_unknown(warehouse):
    scan = scan_at(warehouse, "whatever", K.BIN, K.ITEM, K.UNKNOWN)

    assert (scan.kind, scan.value) == (K.UNKNOWN, "whatever")


def test_a_prompt_for_commands_only_refuses_anything_else(warehouse):
    with pytest.raises(InvalidInput, match="Only a command"):
        scan_at(warehouse, "B0101")


# --------------------------------------------------------------------------- commands and raw input


@pytest.mark.parametrize(("text", "expects", "command"), [
    ("@RECEIVE", {K.BIN}, "RECEIVE"),
    ("@done", {K.ITEM}, "DONE"),
    ("@Cancel", {K.QTY}, "CANCEL"),
    ("]C0@LOGOUT", {K.LOT}, "LOGOUT"),
])
def test_commands_are_accepted_at_every_prompt_in_any_case(warehouse, text, expects, command):
    scan = scan_at(warehouse, text, *expects)

    assert (scan.kind, scan.command) == (K.COMMAND, command)


def test_every_command_of_the_design_is_known():
    assert {"RECEIVE", "PUTAWAY", "PICK", "PACK", "COUNT", "MOVE", "INQUIRY", "SYNC", "SUPERVISOR", "HOME", "BACK",
            "CANCEL", "DONE", "NEXT", "SHORT", "SKIP", "CLOSE", "BLIND", "YES", "NO", "LOGOUT"} <= resolver.COMMANDS


def test_an_unknown_command_is_refused_by_name(warehouse):
    with pytest.raises(InvalidInput, match="Unknown command @FOO"):
        scan_at(warehouse, "@FOO", K.BIN, K.TEXT)


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("", "Empty scan", id="empty"),
    pytest.param("   ", "Empty scan", id="blank"),
    pytest.param("]C1", "Empty scan", id="identifier-only"),
    pytest.param("A" * 4097, "too long", id="4097-chars"),
    pytest.param("A" * 1_000_000, "too long", id="1MB"),
    pytest.param("A\x00B", r"control character \(U\+0000\)", id="nul"),
    pytest.param("ABC\r", r"control character \(U\+000D\)", id="cr"),
    pytest.param("AB\nC", r"control character \(U\+000A\)", id="lf"),
    pytest.param("A\tB", "control character", id="tab"),
    pytest.param("\x1b[A", "control character", id="escape-sequence"),
    pytest.param("AB\x7f", "control character", id="del"),
    pytest.param("AB\x85", "control character", id="c1-control"),
    pytest.param("AB\u200b", "control character", id="zero-width-space"),
    pytest.param("AB\ud800", "control character", id="lone-surrogate"),
])
def test_non_scans_are_refused_at_every_prompt(warehouse, text, message):
    for expects in ({K.BIN}, {K.LOT}, {K.TEXT}, {K.CONTAINER}):
        with pytest.raises(InvalidInput, match=message):
            scan_at(warehouse, text, *expects)


def test_a_scan_of_exactly_4096_characters_is_accepted(warehouse):
    assert scan_at(warehouse, "A" * 4096, K.TEXT).value == "A" * 4096


@pytest.mark.parametrize(("raw", "text", "symbology"), [
    (RawScan("]C1abc"), "abc", "C1"),
    (RawScan("]e0abc"), "abc", "e0"),
    (RawScan("]E0" + CEREAL_EAN13), CEREAL_EAN13, "E0"),
    (RawScan("]C-abc"), "]C-abc", None),
    (RawScan("]C1abc", symbology="C1"), "]C1abc", "C1"),
    (RawScan("abc", symbology="]d2"), "abc", "d2"),
])
def test_raw_scans_split_off_an_aim_identifier_only_when_the_driver_gave_none(raw, text, symbology):
    assert (raw.text, raw.symbology) == (text, symbology)


# --------------------------------------------------------------------------- the scan path stays cheap


def test_a_plain_code_never_reaches_the_gs1_parser(warehouse, monkeypatch):
    def no_biip(*args, **kwargs):
        raise AssertionError("biip called for a plain code")

    monkeypatch.setattr(resolver.GS1Message, "parse", no_biip)
    monkeypatch.setattr(resolver.GS1Message, "parse_hri", no_biip)

    assert scan_at(warehouse, "B0101", K.BIN).bin_code == "A-01-01"
    assert scan_at(warehouse, CEREAL_EAN13, K.ITEM).sku == "CEREAL"
    with pytest.raises(NotFound):
        scan_at(warehouse, "A-99-99", K.BIN)


@pytest.mark.parametrize(("text", "expects"), [
    ("B0101", {K.BIN}),
    (CEREAL_EAN13, {K.ITEM}),
    ("T-100", {K.CONTAINER}),
    (f"]C1010950110153000317261231101234AB{GS}21SN1", {K.ITEM}),
    ("]C10109501101530003" "3012", {K.ITEM, K.CONTAINER}),
])
def test_a_matching_scan_costs_one_query(warehouse, text, expects):
    statements: list[str] = []
    event.listen(warehouse.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: statements.append(statement))

    scan_at(warehouse, text, *expects)

    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


# --------------------------------------------------------------------------- fuzz: bad input is an error, never a crash

_PIECES = st.sampled_from(["]C1", "]d2", "]Q3", "]E0", "]e0", GS, "(", ")", "(01)", "(10)", "(17)", "@", "01", "00",
                           "10", "17", "21", "37", "3103", WIDGET_GTIN, KNOWN_SSCC, "10D9T", "B0101", "0", "9", "\r",
                           "\x00", "\ud800", " "])
_ANY_TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=8), st.characters(codec=None)), max_size=12).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_ANY_TEXT, expects=st.frozensets(st.sampled_from(list(ScanKind))),
       symbology=st.sampled_from([None, "C1", "d2", "E0", "Zz"]))
def test_resolve_on_any_text_returns_a_scan_or_raises_a_warehouse_error(warehouse, text, expects, symbology):
    try:
        scan = scan_at(warehouse, text, *expects, symbology=symbology)
    except WarehouseError as exc:
        assert str(exc)  # an operator always gets a message
    else:
        assert scan.kind in expects | {K.COMMAND}


# --------------------------------------------------------------------------- GS1 data that fails is never a new code


GS1_LOOKING_BROKEN = [
    pytest.param("00376130321109103421", r"SSCC 376130321109103421 in the barcode has a wrong check digit",
                 id="sscc-with-a-wrong-check-digit"),
    pytest.param("011234567890123117251340", r"Not a valid GS1 barcode: AI \(17\)", id="gtin-and-no-such-date"),
    pytest.param("0109501101530003" "3712", r"AI \(01\) cannot be used with AI \(37\)", id="unmarked-pairing-rule"),
]


@pytest.mark.parametrize(("text", "why"), GS1_LOOKING_BROKEN)
@pytest.mark.parametrize("expects", [{K.CONTAINER}, {K.ITEM, K.CONTAINER}, {K.ITEM}, {K.BIN}, {K.CONTAINER, K.LOT}],
                         ids=["tote", "item-or-lpn", "item", "bin", "lpn-or-lot"])
def test_unmarked_gs1_data_that_fails_is_refused_not_taken_as_a_new_code(warehouse, text, why, expects):
    # Given no code in the database is this text, which starts as GS1 data does (AI 00 + 18 or 01 + 14 digits)
    with pytest.raises(gs1.Gs1Refused, match=why):
        scan_at(warehouse, text, *expects)
