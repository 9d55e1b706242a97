"""A recount request is a normal step of a count: green, no bell; red is kept for "nothing changed".

@DONE on a bin that differs writes the count lines and asks for one recount.
It used to flash red with a bell ("counts differ") although it had recorded
the count. Real app on the demo warehouse, scans through the simulated scanner.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import CountLine
from warehouse_tui.replay import screen_text
from warehouse_tui.services import supervisor
from warehouse_tui.services.auth import find_operator
from warehouse_tui.services.ledger import Actor
from warehouse_tui.widgets.prompt_panel import Feedback

TAPE = "09501101010031"  # TAPE-48: the books hold 13 in A-01-01-1


def test_a_recount_request_is_shown_as_success_and_its_count_lines_are_kept(make_app, demo_path):
    setup = Database(demo_path)
    with setup.transaction() as s:
        supervisor.create_counts(s, Actor(find_operator(s, "S9001"), "T1"), bins=["A-01-01-1"], blind=True)
    setup.dispose()
    app = make_app()
    seen: dict[str, object] = {}

    async def main() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            for text in ("U1001", "1234", "@COUNT", "@NEXT", TAPE, "12", "@DONE"):
                app.scanner.feed(text)
                await pilot.pause()
            feedback = app.floor.query_one(Feedback)
            seen.update(outcome=app.floor.workflow.outcome, ok=feedback.has_class("-ok"),
                        error=feedback.has_class("-error"), screen=screen_text(app))

    asyncio.run(main())
    assert seen["outcome"].ok  # handle_raw rings the bell only for a refusal
    assert seen["ok"] and not seen["error"]
    assert "✔ Recount A-01-01-1: counts differ — count the bin again" in seen["screen"]
    assert "RECOUNT" in seen["screen"] and "Scan item" in seen["screen"]
    db = Database(demo_path)
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(CountLine)) >= 1  # what was counted is recorded
    db.dispose()
