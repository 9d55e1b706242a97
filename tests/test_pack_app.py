"""The Pack workflow in the real app (demo warehouse, simulated scanner) at 80x24 and 40x16.

tests/scenarios/pack-order.replay tells the whole story, picking included. Here
its pack half runs on a demo copy where the picked state is staged through the
ledger (pick movements into the tote at the pack station, qty_picked set), so
these tests hold whatever the Pick workflow does.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import Carton, Item, OutboundOrder, PickList, PickListOrder, Quant
from warehouse_tui.replay import apply_step, parse_script, screen_text
from warehouse_tui.services import masterdata as md
from warehouse_tui.services import packing
from warehouse_tui.services.check import run_checks
from warehouse_tui.services.ledger import Actor, post
from warehouse_tui.workflows import registry
from warehouse_tui.workflows.pack import Pack

SCENARIOS = Path(__file__).parent / "scenarios"
SIZES = {"80x24": (80, 24), "40x16": (40, 16)}
LOGIN = "scan U1001\ntype 1234\nkey enter\n"
BATT, USBC = "09501101011410", "09501101011571"
PACK_HALF = "# --- pack it"


def pack_half_of_the_scenario() -> str:
    text = (SCENARIOS / "pack-order.replay").read_text(encoding="utf-8")
    assert PACK_HALF in text
    return LOGIN + text[text.index(PACK_HALF):]


def stage_picked(path: Path, order_ref: str, tote_code: str) -> None:
    """The state picking leaves: every line's units moved from stock into the order's tote at the pack station."""
    db = Database(path)
    try:
        with db.transaction() as s:
            actor = Actor(None, "PICKER")
            order = s.scalars(select(OutboundOrder).where(OutboundOrder.ref == order_ref)).one()
            tote = md.container(s, tote_code, create=False)
            pick_list = PickList(ref=f"PL-{order_ref}")
            s.add(pick_list)
            s.flush()
            s.add(PickListOrder(pick_list_id=pick_list.id, order_id=order.id, tote_id=tote.id))
            station = packing.pack_bin(s)
            for line in order.lines:
                item = s.get(Item, line.item_id)
                assert item.tracking == "none", "stage_picked moves untracked items only"
                quant = s.scalars(select(Quant).where(Quant.item_id == item.id, Quant.container_id.is_(None),
                                                      Quant.qty - Quant.reserved >= line.qty).order_by(Quant.id)).first()
                post(s, actor, kind="pick", item=item, qty=line.qty, from_bin=s.get(md.Bin, quant.bin_id), to_bin=station,
                     to_container=tote, doc_ref=order.ref)
                line.qty_picked = line.qty
            order.status = "picked"
    finally:
        db.dispose()


@pytest.fixture
def run(make_app, demo_path, tmp_path, monkeypatch):
    """Run a replay script in a fresh app on the demo warehouse with ORD-10001 picked into TOTE-0005; returns the screen."""
    monkeypatch.setitem(registry.WORKFLOWS, "PACK", Pack)
    stage_picked(demo_path, "ORD-10001", "TOTE-0005")

    async def drive(app, script: str, size: tuple[int, int]) -> str:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            for step in parse_script(script):
                failed = await apply_step(app, pilot, step)
                assert failed is None, f"{failed.message}\n{failed.screen}"
            await pilot.pause()
            return screen_text(app)

    def runner(script: str, size: tuple[int, int]) -> str:
        return asyncio.run(drive(make_app(label_dir=str(tmp_path / "labels")), script, size))

    return runner


@pytest.mark.parametrize("size", SIZES)
def test_pack_scenario_ships_the_order(run, demo_path, tmp_path, size):
    screen = run(pack_half_of_the_scenario(), SIZES[size])
    assert "BATT-AA-4: 72" in screen  # the scenario ends at the inquiry of the pick face
    db = Database(demo_path)
    try:
        with db.reading() as s:
            # (the demo also holds the carton of an order shipped earlier, ORD-20001, for returns)
            carton = s.scalars(select(Carton).join(OutboundOrder, OutboundOrder.id == Carton.order_id)
                               .where(OutboundOrder.ref == "ORD-10001")).one()
            sscc = carton.sscc
            assert (carton.status, float(carton.weight_kg)) == ("shipped", 2.5)
            assert s.scalars(select(OutboundOrder.status).where(OutboundOrder.ref == "ORD-10001")).one() == "shipped"
            report = run_checks(s)
            assert report.ok, report.render()
    finally:
        db.dispose()
    assert sorted(p.name for p in (tmp_path / "labels").iterdir()) == [f"{sscc}.svg", f"{sscc}.zpl"]


@pytest.mark.parametrize("size", SIZES)
def test_pack_screen_shows_order_lines_carton_and_keys(run, size):
    screen = run(LOGIN + f"scan @PACK\nscan TOTE-0005\ntype 2\nkey enter\nscan {BATT}", SIZES[size])
    assert "Scan item" in screen
    assert "ORD-10001 · TOTE-0005" in screen
    assert "Carton ORD-10001-1: 2 unit(s)" in screen
    assert "BATT-AA-4" in screen and "2/6" in screen and "USBC-1M" in screen and "0/1" in screen
    assert "Packed 2 × BATT-AA-4" in screen
    assert "F7 Close" in screen and "F2 Done" in screen


@pytest.mark.parametrize("size", SIZES)
def test_pack_refusals_show_on_screen_and_change_nothing(run, demo_path, size):
    screen = run(LOGIN + "scan @PACK\nscan TOTE-0002", SIZES[size])  # an empty tote
    assert "holds no order" in screen and "Scan tote or order" in screen
    screen = run(LOGIN + "scan @PACK\nscan ORD-10001\nkey f7", SIZES[size])
    assert "Nothing packed in this" in screen
    db = Database(demo_path)
    try:
        with db.reading() as s:
            assert s.scalar(select(func.count()).select_from(Carton).join(OutboundOrder, OutboundOrder.id == Carton.order_id)
                            .where(OutboundOrder.ref == "ORD-10001")) == 0
    finally:
        db.dispose()
