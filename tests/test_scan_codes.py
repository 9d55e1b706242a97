"""Codes hold nothing invisible and nothing that looks like something else (issue 10).

Bins, SKUs and aliases, lots, serials, LPNs, badges and documents are scanned
or typed. A code with NBSP, a line or paragraph separator, a private-use or
unassigned code point, a bidi override or a zero-width space would look the
same as another code on a label or a screen and yet be a different one: it is
refused, and the message names the character. Spaces around a code are no part
of it. GS stays where GS1 needs it.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from test_scan_resolution import GS, KNOWN_SSCC, WIDGET_GTIN, scan_at, warehouse  # noqa: F401 (fixture)

from warehouse_tui.db.models import Movement
from warehouse_tui.errors import InvalidInput
from warehouse_tui.replay import screen_text
from warehouse_tui.scan.types import ScanKind as K

CODE_PROMPTS = [{K.BIN}, {K.ITEM}, {K.LOT}, {K.SERIAL}, {K.CONTAINER}, {K.BADGE}, {K.DOCUMENT}, {K.TEXT},
                {K.ITEM, K.CONTAINER}]


@pytest.mark.parametrize(("text", "named"), [
    pytest.param("B0101\u00a0", "U+00A0 NO-BREAK SPACE", id="trailing-nbsp"),
    pytest.param("\u00a0B0101", "U+00A0 NO-BREAK SPACE", id="leading-nbsp"),
    pytest.param("LOT\u00a01", "U+00A0 NO-BREAK SPACE", id="inner-nbsp"),
    pytest.param("B0101\u2028", "U+2028 LINE SEPARATOR", id="line-separator"),
    pytest.param("B01\u202901", "U+2029 PARAGRAPH SEPARATOR", id="paragraph-separator"),
    pytest.param("B0101\ue000", "U+E000 PRIVATE USE", id="private-use"),
    pytest.param("B0101\U000f0000", "U+F0000 PRIVATE USE", id="private-use-plane-15"),
    pytest.param("\u202e1010B", "U+202E RIGHT-TO-LEFT OVERRIDE", id="rtl-override"),
    pytest.param("B01\u200b01", "U+200B ZERO WIDTH SPACE", id="zero-width-space"),
    pytest.param("\ufeffB0101", "U+FEFF ZERO WIDTH NO-BREAK SPACE", id="byte-order-mark"),
    pytest.param("B0101\u00ad", "U+00AD SOFT HYPHEN", id="soft-hyphen"),
    pytest.param("B0101\u0378", "U+0378 UNASSIGNED", id="unassigned"),
    pytest.param("B0101\u3000", "U+3000 IDEOGRAPHIC SPACE", id="ideographic-space"),
    pytest.param("B0101\x1b", "U+001B", id="escape"),
])
def test_an_invisible_or_look_alike_character_in_a_code_is_refused_by_name(warehouse, text, named):
    for expects in CODE_PROMPTS:
        with pytest.raises(InvalidInput) as refused:
            scan_at(warehouse, text, *expects)
        assert f"control character ({named})" in str(refused.value), (expects, str(refused.value))


@pytest.mark.parametrize(("text", "expects", "field", "value"), [
    (" B0101", {K.BIN}, "bin_code", "A-01-01"),
    ("B0101  ", {K.BIN}, "bin_code", "A-01-01"),
    (f" {WIDGET_GTIN} ", {K.ITEM}, "sku", "WIDGET"),
    ("  W-1 ", {K.ITEM}, "sku", "WIDGET"),
    (" L-77 ", {K.LOT}, "lot", "L-77"),
    (" SN 1 ", {K.SERIAL}, "value", "SN 1"),
    (" T-100 ", {K.CONTAINER}, "container_code", "T-100"),
    (f"{KNOWN_SSCC} ", {K.CONTAINER}, "container_code", KNOWN_SSCC),
    (" B1001", {K.BADGE}, "badge", "B1001"),
    ("PO-1 ", {K.DOCUMENT}, "document", "PO-1"),
    (" 12 ", {K.QTY}, "qty", 12),
    (" @DONE ", {K.BIN}, "command", "DONE"),
])
def test_spaces_around_a_code_are_no_part_of_it(warehouse, text, expects, field, value):
    assert getattr(scan_at(warehouse, text, *expects), field) == value


def test_a_pin_is_taken_exactly_as_typed(warehouse):
    assert scan_at(warehouse, " 1234", K.PIN).value == " 1234"


def test_gs_is_still_a_gs1_separator(warehouse):
    scan = scan_at(warehouse, f"01{WIDGET_GTIN}10L-77{GS}21SN-5", K.ITEM)
    assert (scan.sku, scan.lot, scan.serial) == ("WIDGET", "L-77", "SN-5")


def test_a_zero_width_space_before_a_gtin_at_the_receive_prompt_records_nothing(make_app):
    app = make_app()
    seen: list[str] = []

    async def main() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            for text in ("U1001", "1234", "@RECEIVE", "PO-1002"):
                app.scanner.feed(text)
                await pilot.pause()
            app.scanner.feed("\u200b09501101017467")
            await pilot.pause()
            seen.append(screen_text(app))
            seen.append(app.floor.workflow.state)

    with app.terminal.db.reading() as s:
        before = s.scalar(select(func.count()).select_from(Movement))
    asyncio.run(main())
    screen, state = seen
    assert "U+200B ZERO WIDTH SPACE" in "".join(line.strip() for line in screen.splitlines())
    assert state == "item"
    with app.terminal.db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Movement)) == before
