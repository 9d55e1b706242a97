"""Count and Supervisor in the real app on the demo warehouse, at 80x24 and 40x16.

A blind count with a variance goes all the way: the supervisor creates the
count on the Supervisor screen, the operator counts short twice (the screen
never shows the book), the supervisor approves the variance with a typed "a",
and the books match the count. Scans go through the simulated scanner
(app.scanner.feed); the screen is read as text (warehouse_tui.replay.screen_text).

COUNT and SUPERVISOR are put into the workflow registry here until the app
registers them itself.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import CountTask, Movement, Quant, WarehouseException
from warehouse_tui.replay import apply_step, parse_script, screen_text
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.check import run_checks
from warehouse_tui.workflows import registry
from warehouse_tui.workflows.count import Count
from warehouse_tui.workflows.supervisor import Supervisor

TAPE = "09501101010031"  # TAPE-48, untracked: 13 in pick face A-01-01-1 by the demo's books
BIN = "A-01-01-1"
SIZES = {"80x24": (80, 24), "40x16": (40, 16)}
SCENARIOS = Path(__file__).parent / "scenarios"


@pytest.fixture
def app_with_counts(monkeypatch, make_app):
    monkeypatch.setitem(registry.WORKFLOWS, "COUNT", Count)
    monkeypatch.setitem(registry.WORKFLOWS, "SUPERVISOR", Supervisor)
    return make_app


def tape_in_bin(db: Database) -> int:
    with db.reading() as s:
        item = md.item_by_sku(s, "TAPE-48")
        return s.scalar(select(func.coalesce(func.sum(Quant.qty), 0))
                        .where(Quant.item_id == item.id, Quant.bin_id == md.bin_by_code(s, BIN).id))


@pytest.mark.parametrize("size", SIZES)
def test_blind_count_with_variance_through_supervisor_approval(app_with_counts, size):
    app = app_with_counts()
    db = app.terminal.db
    seen_by_operator: list[str] = []

    async def drive() -> None:
        async with app.run_test(size=SIZES[size]) as pilot:
            async def scan(text: str) -> str:
                app.scanner.feed(text)
                await pilot.pause()
                return screen_text(app)

            async def type_enter(text: str) -> str:
                app.floor.query_one("#entry").insert_text_at_cursor(text)
                await pilot.press("enter")
                await pilot.pause()
                return screen_text(app)

            async def log_in(badge: str, pin: str) -> None:
                await scan(badge)
                assert "Choose a task" in await type_enter(pin)

            await pilot.pause()
            # The supervisor creates a blind count of the bin on the Supervisor screen.
            await log_in("S9001", "9999")
            assert "Queue empty" in await scan("@SUPERVISOR")
            assert "Scan bin/item or type zone" in await type_enter("c")
            await scan(BIN)
            assert "Blind: yes" in await scan("@BLIND")
            assert "Created 1 blind count task(s)" in await scan("@DONE")
            await scan("@LOGOUT")

            # The operator counts 10 where the books say 13, twice.
            await log_in("U1001", "1234")
            await scan("@COUNT")
            screen = await scan("@NEXT")
            assert f"Bin {BIN} · blind" in screen and "Scan item or LPN" in screen
            seen_by_operator.append(screen)
            seen_by_operator.append(await scan(TAPE))
            screen = await type_enter("10")
            assert "Counted 10 × TAPE-48" in screen
            seen_by_operator.append(screen)
            screen = await scan("@DONE")
            assert f"Recount {BIN}: counts differ" in screen and "RECOUNT" in screen and "Scan item" in screen
            seen_by_operator.append(screen)
            await scan(TAPE)
            seen_by_operator.append(await type_enter("10"))
            screen = await scan("@DONE")
            assert f"{BIN} differs: to supervisor" in screen and "Scan bin or @NEXT" in screen
            seen_by_operator.append(screen)
            await scan("@LOGOUT")

            # The supervisor sees book vs counted and approves with a typed "a".
            await log_in("S9001", "9999")
            screen = await scan("@SUPERVISOR")
            assert f"1/1 variance {BIN}" in screen
            assert "TAPE-48: book 13 counted 10 (-3)" in screen
            screen = await type_enter("a")
            assert "Approved: 1 adjustment(s) posted" in screen
            assert "No open exceptions" in screen

    asyncio.run(drive())

    # Blind: the book quantity (13) was never on the operator's screen.
    for screen in seen_by_operator:
        assert not re.search(r"\b13\b", screen), screen
    assert tape_in_bin(db) == 10
    with db.reading() as s:
        assert s.scalars(select(WarehouseException.status).where(WarehouseException.kind == "variance")).one() == "approved"
        assert s.scalars(select(CountTask.status)).all() == ["approved"]
        assert s.scalar(select(func.count()).select_from(Movement).where(Movement.kind == "count")) == 1
        assert run_checks(s).ok


@pytest.mark.parametrize("size", SIZES)
def test_operator_is_refused_on_the_supervisor_screen(app_with_counts, size):
    app = app_with_counts()

    async def drive() -> str:
        async with app.run_test(size=SIZES[size]) as pilot:
            await pilot.pause()
            app.scanner.feed("U1001")
            await pilot.pause()
            app.floor.query_one("#entry").insert_text_at_cursor("1234")
            await pilot.press("enter")
            app.scanner.feed("@SUPERVISOR")
            await pilot.pause()
            app.scanner.feed("@YES")
            await pilot.pause()
            return screen_text(app)

    screen = asyncio.run(drive())
    assert "Supervisors only" in screen


@pytest.mark.parametrize("script", sorted(p.name for p in SCENARIOS.glob("count-*.replay")) +
                         sorted(p.name for p in SCENARIOS.glob("supervisor-*.replay")))
@pytest.mark.parametrize("size", SIZES)
def test_count_and_supervisor_scenarios(app_with_counts, script, size):
    """The count-*/supervisor-* replay scenarios, run here with the workflows registered."""
    steps = parse_script((SCENARIOS / script).read_text(encoding="utf-8"))
    app = app_with_counts()

    async def drive():
        async with app.run_test(size=SIZES[size]) as pilot:
            await pilot.pause()
            for step in steps:
                failed = await apply_step(app, pilot, step)
                assert failed is None, f"{script} at {size}: {failed.message}\n{failed.screen}"

    asyncio.run(drive())
    with app.terminal.db.reading() as s:
        assert run_checks(s).ok
