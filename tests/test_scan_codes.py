"""Codes hold nothing invisible and nothing that looks like something else (issue 10).

Bins, SKUs and aliases, lots, serials, LPNs, badges and documents are scanned
or typed. A code with NBSP, a line or paragraph separator, a private-use or
unassigned code point, a bidi override or a zero-width space would look the
same as another code on a label or a screen and yet be a different one: it is
refused, and the message names the character. Spaces around a code are no part
of it. GS stays where GS1 needs it. Data that the resolver takes for GS1 and
refuses is never a new code: not at pick's "Scan tote", not at receive's LPN
prompt (issue 11).
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from fixture_dates import FAR, yymmdd
from test_pick_app import pick_workflow  # noqa: F401 (fixture: a released order at pick's first prompts)
from test_scan_resolution import GS, GS1_LOOKING_BROKEN, KNOWN_SSCC, WIDGET_GTIN, scan_at, warehouse  # noqa: F401

from drivers.base import RawScan
from warehouse_tui.config import Settings
from warehouse_tui.db.models import Container, Item, ItemCode, Lot, Movement, Operator
from warehouse_tui.errors import InvalidInput
from warehouse_tui.replay import screen_text
from warehouse_tui.scan.gtin import make_sscc
from warehouse_tui.scan.types import ScanKind as K
from warehouse_tui.workflows.base import Terminal
from warehouse_tui.workflows.receive import Receive

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


# --------------------------------------------------------------------------- GS1 data that fails is no new code


def _containers(db, code: str) -> int:
    with db.reading() as s:
        return s.scalar(select(func.count()).select_from(Container).where(Container.code == code))


@pytest.mark.parametrize("text", [p.values[0] for p in GS1_LOOKING_BROKEN])
def test_broken_gs1_data_at_picks_scan_tote_is_refused_and_makes_no_tote(pick_workflow, db, text):
    wf, submit = pick_workflow
    submit("ORD-1")
    assert wf.state == "tote" and wf.prompt.text == "Scan tote for ORD-1"

    outcome = submit(text)

    assert not outcome.ok and wf.state == "tote", outcome
    assert _containers(db, text) == 0
    assert submit("TOTE-1").ok and wf.state == "bin"  # a real tote is still taken


@pytest.mark.parametrize("text", [p.values[0] for p in GS1_LOOKING_BROKEN])
def test_broken_gs1_data_at_receives_lpn_prompt_is_refused_and_opens_no_pallet(demo_db, text):
    with demo_db.reading() as s:
        operator = s.scalars(select(Operator).where(Operator.badge == "U1001")).one()
    wf = Receive(Terminal(demo_db, Settings(db="", terminal="T1"), "T1", operator=operator))
    assert wf.submit(RawScan("PO-1002")).ok and wf.prompt.text == "Scan item or LPN"

    outcome = wf.submit(RawScan(text))

    assert not outcome.ok and wf.state == "item" and wf.lpn is None, outcome
    assert _containers(demo_db, text) == 0


# --------------------------------------------------------------------------- GS1 rules apply to the whole label

# A GS1 logistic label prints the pallet's SSCC (00) in one barcode and its content (02)(37)(10)(17) in another.
# The General Specifications ask AI (37) for (00) and (02) on the label, not in one barcode: once receive has
# taken the pallet's SSCC for the line, the content barcode is accepted and booked onto that pallet.
LABEL_SSCC = make_sscc(0, "9501101", 3700)
PASSATA = "PASSATA-700"  # on PO-1002, lot-tracked and dated, lot and expiry read at receipt


def _receiving_po_1002(demo_db) -> Receive:
    with demo_db.reading() as s:
        operator = s.scalars(select(Operator).where(Operator.badge == "U1001")).one()
    wf = Receive(Terminal(demo_db, Settings(db="", terminal="T1"), "T1", operator=operator))
    assert wf.submit(RawScan("PO-1002")).ok and wf.prompt.text == "Scan item or LPN"
    return wf


def _gtin_of(db, sku: str) -> str:
    with db.reading() as s:
        return s.scalars(select(ItemCode.code).join(Item).where(Item.sku == sku, ItemCode.kind == "gtin")).first()


def _content_barcode(gtin: str, count: int, ai: str = "02") -> str:
    """The label's second GS1-128 as a scanner sends it (]C1 split off): content, expiry, count, lot."""
    return f"{ai}{gtin}17{yymmdd(FAR)}37{count}{GS}10PA-T1"


def _movements(db) -> list[tuple[str, int, str | None]]:
    with db.reading() as s:
        return [tuple(row) for row in s.execute(
            select(Item.sku, Movement.qty, Container.code).join(Item, Item.id == Movement.item_id)
            .outerjoin(Container, Container.id == Movement.to_container_id).order_by(Movement.seq))]


def test_the_pallets_sscc_then_its_content_barcode_books_the_count_onto_the_pallet(demo_db):
    wf = _receiving_po_1002(demo_db)
    gtin = _gtin_of(demo_db, PASSATA)
    before = _movements(demo_db)

    assert wf.submit(RawScan(f"00{LABEL_SSCC}", "C1")).ok and wf.lpn == LABEL_SSCC
    outcome = wf.submit(RawScan(_content_barcode(gtin, 24), "C1"))

    assert outcome.ok and wf.state == "item" and wf.pending is None, outcome
    assert f"Received 24 × {PASSATA}" in outcome.message and outcome.message.endswith(f"onto {LABEL_SSCC}")
    assert _movements(demo_db) == [*before, (PASSATA, 24, LABEL_SSCC)]
    with demo_db.reading() as s:
        lot = s.scalars(select(Lot).join(Item).where(Item.sku == PASSATA, Lot.code == "PA-T1")).one()
        assert lot.expiry == FAR


def test_a_content_barcode_without_the_pallets_sscc_is_still_refused(demo_db):
    wf = _receiving_po_1002(demo_db)
    before = _movements(demo_db)

    outcome = wf.submit(RawScan(_content_barcode(_gtin_of(demo_db, PASSATA), 24), "C1"))

    assert not outcome.ok and wf.state == "item" and wf.pending is None and wf.lpn is None, outcome
    assert "AI (37) needs AI (00) and (02) or (8026)" in outcome.message
    assert _movements(demo_db) == before


def test_a_gtin_with_a_count_is_refused_even_on_a_pallet(demo_db):
    # (37) counts trade items inside a logistic unit: it never stands with (01), whatever the label holds.
    wf = _receiving_po_1002(demo_db)
    before = _movements(demo_db)
    assert wf.submit(RawScan(f"00{LABEL_SSCC}", "C1")).ok

    outcome = wf.submit(RawScan(_content_barcode(_gtin_of(demo_db, PASSATA), 24, ai="01"), "C1"))

    assert not outcome.ok and wf.state == "item" and wf.pending is None and wf.lpn == LABEL_SSCC, outcome
    assert "AI (01) cannot be used with AI (37)" in outcome.message
    assert _movements(demo_db) == before


def test_dropping_the_pallet_drops_what_its_label_gave(demo_db):
    wf = _receiving_po_1002(demo_db)
    assert wf.submit(RawScan(f"00{LABEL_SSCC}", "C1")).ok
    assert wf.submit(RawScan("@CANCEL")).ok and wf.lpn is None

    outcome = wf.submit(RawScan(_content_barcode(_gtin_of(demo_db, PASSATA), 24), "C1"))

    assert not outcome.ok and "AI (37) needs AI (00)" in outcome.message, outcome
