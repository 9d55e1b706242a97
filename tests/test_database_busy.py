"""A scan that cannot get SQLite's write lock in time says "Database busy — scan again" and records nothing.

A second connection to the same database file holds `BEGIN IMMEDIATE` (as an
import or another process writing would), so the app's write transaction waits
its busy_timeout and gives up. The app is the real one on a copy of the demo
warehouse, scans through the simulated scanner. The busy timeout is lowered for
these tests with SQLite's own `PRAGMA busy_timeout` on the app's connections,
so each refused scan waits a fifth of a second instead of five.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Iterator

from sqlalchemy import event, func, select

from warehouse_tui.db.models import AuditEvent, Movement
from warehouse_tui.replay import screen_text

PAPER_CASE = "19501101010205"  # PAPER-A4 case: 2 lie loose in RCV-01, pick face A-01-02-1
PASSATA = "9501101017467"  # PASSATA-700 on PO-1002: lot and expiry tracked
BUSY_TIMEOUT_MS = 200


def short_busy_timeout(app) -> None:
    """Every connection the app opens from now on waits at most BUSY_TIMEOUT_MS for the write lock."""
    engine = app.terminal.db.engine

    @event.listens_for(engine, "connect")
    def _shorter(dbapi_connection, _record) -> None:
        dbapi_connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    engine.dispose()  # the pooled connections were opened with the default


@contextlib.contextmanager
def another_writer(path) -> Iterator[None]:
    """Another connection holding the database's write lock."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def movements(app) -> int:
    with app.terminal.db.reading() as s:
        return s.scalar(select(func.count()).select_from(Movement))


def run(app, story) -> None:
    async def main() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()

            async def scan(text: str) -> str:
                app.scanner.feed(text)
                await pilot.pause()
                return screen_text(app)

            await story(pilot, scan)
            assert app.is_running

    asyncio.run(main())


def test_a_putaway_while_another_writer_holds_the_lock_is_refused_as_busy_and_recorded_when_scanned_again(
        make_app, demo_path):
    app = make_app()
    short_busy_timeout(app)

    async def story(pilot, scan) -> None:
        await scan("U1001")
        await scan("1234")
        await scan("@PUTAWAY")
        await scan(PAPER_CASE)
        await pilot.press("enter")  # all of it
        await pilot.pause()
        wf = app.floor.workflow
        assert wf.state == "to_bin" and wf.goods.qty == 2
        before = movements(app)
        with another_writer(demo_path):
            screen = await scan("A-01-02-1")
        assert "Database busy — scan again" in screen and "Internal error" not in screen
        assert not wf.outcome.ok
        assert (wf.state, wf.goods.qty, wf.suggested) == ("to_bin", 2, "A-01-02-1")
        assert movements(app) == before
        # The lock is free again: the same scan goes through.
        assert "Put 2 × PAPER-A4 in A-01-02-1" in await scan("A-01-02-1")
        assert movements(app) == before + 1

    run(app, story)


def test_a_receipt_while_another_writer_holds_the_lock_keeps_the_line_in_hand(make_app, demo_path):
    app = make_app()
    short_busy_timeout(app)

    async def story(pilot, scan) -> None:
        await scan("U1001")
        await scan("1234")
        await scan("@RECEIVE")
        await scan("PO-1002")
        await scan(PASSATA)
        await scan("LT-BUSY")
        await scan("351231")
        wf = app.floor.workflow
        assert wf.state == "qty" and wf.scan_writes()
        before = movements(app)
        with another_writer(demo_path):
            screen = await scan("4")
        assert "Database busy — scan again" in screen
        assert wf.state == "qty" and wf.pending.lot == "LT-BUSY" and wf.pending.qty is None
        assert movements(app) == before
        assert "Received 4 × PASSATA-700" in await scan("4")
        assert movements(app) == before + 1

    run(app, story)


def test_a_login_while_another_writer_holds_the_lock_stays_at_the_pin_prompt(make_app, demo_path):
    app = make_app()
    short_busy_timeout(app)

    async def story(pilot, scan) -> None:
        await scan("U1001")
        with app.terminal.db.reading() as s:
            audits = s.scalar(select(func.count()).select_from(AuditEvent))
        with another_writer(demo_path):
            screen = await scan("1234")
        wf = app.floor.workflow
        assert "Database busy — scan again" in screen
        assert (wf.state, wf.badge) == ("pin", "U1001") and app.terminal.operator is None
        with app.terminal.db.reading() as s:
            assert s.scalar(select(func.count()).select_from(AuditEvent)) == audits
        assert "Choose a task" in await scan("1234")

    run(app, story)


def test_logging_out_while_another_writer_holds_the_lock_says_busy_and_keeps_the_app(make_app, demo_path):
    app = make_app()
    short_busy_timeout(app)

    async def story(pilot, scan) -> None:
        await scan("U1001")
        await scan("1234")
        with another_writer(demo_path):
            await pilot.press("f12")  # @LOGOUT by its key: the audit entry cannot be written now
            await pilot.pause()
            screen = screen_text(app)
        assert "Database busy — scan again" in screen and app.terminal.operator is not None
        await pilot.press("f12")
        await pilot.pause()
        assert app.terminal.operator is None and "Logged out" in screen_text(app)

    run(app, story)
