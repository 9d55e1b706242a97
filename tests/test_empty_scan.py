"""A scan with no data is refused; only the Enter key on an empty entry line means "Enter alone".

At a putaway's qty, Enter alone moves all; at a short pick's "Qty found",
Enter alone books none found. A symbol that decoded to nothing (a scanner that
sent only its AIM identifier, `]C1` or `]E0`) used to pass for Enter alone
there. Real app on the demo warehouse, scans through the simulated scanner.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import CountTask, Movement, WarehouseException
from warehouse_tui.replay import screen_text
from warehouse_tui.services import waves
from warehouse_tui.services.ledger import Actor

PAPER_CASE = "19501101010205"  # PAPER-A4 case: 2 lie loose in RCV-01
EMPTY_SCANS = ["]C1", "]E0", "]d2", ""]


def counts(db: Database) -> tuple[int, int, int]:
    with db.reading() as s:
        return (s.scalar(select(func.count()).select_from(Movement)),
                s.scalar(select(func.count()).select_from(WarehouseException)),
                s.scalar(select(func.count()).select_from(CountTask)))


def run(app, story) -> None:
    async def main() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()

            async def scan(text: str) -> str:
                app.scanner.feed(text)
                await pilot.pause()
                return screen_text(app)

            await scan("U1001")
            await scan("1234")
            await story(pilot, scan)

    asyncio.run(main())


def test_an_empty_scan_at_putaway_qty_moves_nothing_and_enter_alone_still_means_all(make_app):
    app = make_app()
    db = app.terminal.db

    async def story(pilot, scan) -> None:
        await scan("@PUTAWAY")
        assert "Qty + Enter (Enter = all 2)" in await scan(PAPER_CASE)
        before = counts(db)
        for empty in EMPTY_SCANS:
            screen = await scan(empty)
            wf = app.floor.workflow
            assert not wf.outcome.ok and "Empty scan" in wf.outcome.message, empty
            assert "Empty scan" in screen and "scan again" in screen
            assert wf.state == "qty" and wf.goods.qty is None
            assert counts(db) == before
        # The Enter key on the empty entry line is still "all".
        await pilot.press("enter")
        await pilot.pause()
        assert app.floor.workflow.state == "to_bin" and app.floor.workflow.goods.qty == 2

    run(app, story)


def test_an_empty_scan_at_qty_found_books_no_short_pick_and_enter_alone_still_means_none(make_app, demo_path):
    setup = Database(demo_path)
    with setup.transaction() as s:
        waves.release(s, Actor(None, "CLI"), ["ORD-10001"])
    setup.dispose()
    app = make_app()
    db = app.terminal.db

    async def story(pilot, scan) -> None:
        await scan("@PICK")
        await scan("ORD-10001")
        await scan("TOTE-0005")
        assert "Qty found + Enter (Enter = none)" in await scan("@SHORT")
        before = counts(db)
        for empty in EMPTY_SCANS:
            await scan(empty)
            wf = app.floor.workflow
            assert not wf.outcome.ok and "Empty scan" in wf.outcome.message, empty
            assert wf.state == "short_qty"
            assert counts(db) == before  # no short pick, no exception, no count task
        await pilot.press("enter")
        await pilot.pause()
        wf = app.floor.workflow
        assert wf.outcome.ok and wf.outcome.message.startswith("Short 6 × BATT-AA-4")
        movements, exceptions, count_tasks = counts(db)
        assert exceptions == before[1] + 1 and count_tasks == before[2] + 1

    run(app, story)


@pytest.mark.parametrize("symbology", ["C1", "E0"])
def test_an_empty_scan_names_the_barcode_it_came_from(make_app, symbology):
    app = make_app()

    async def story(pilot, scan) -> None:
        await scan("@PUTAWAY")
        await scan(PAPER_CASE)
        app.scanner.feed("", symbology=symbology)
        await pilot.pause()
        assert app.floor.workflow.outcome.message == f"Empty scan: the barcode (]{symbology}) held no data — scan again"

    run(app, story)
