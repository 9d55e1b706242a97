"""The app on a syncing terminal: the demo warehouse lives upstream (PostgreSQL), a terminal pulls it,
receives through the real app with the simulated scanner, and @SYNC brings the receipt upstream."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from sqlalchemy import func, select

from drivers.sim import SimScanner
from fixture_dates import FAR_YYMMDD
from warehouse_tui.app import WarehouseApp
from warehouse_tui.config import Settings
from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import Lot, Movement, OutboxEntry, Quant
from warehouse_tui.replay import screen_text
from warehouse_tui.services.check import run_checks
from warehouse_tui.demo import build_demo
from warehouse_tui.sync import init_upstream, open_upstream, sync_once

pytestmark = pytest.mark.postgres
PASSATA = "09501101017467"


def stock(db: Database) -> int:
    with db.reading() as s:
        return int(s.scalar(select(func.coalesce(func.sum(Quant.qty), 0))))


def test_a_receipt_scanned_on_a_terminal_reaches_the_upstream_on_sync(pg_url, tmp_path):
    # given the demo warehouse upstream and a terminal that has pulled it
    build_demo(pg_url)
    init_upstream(pg_url)
    upstream = open_upstream(pg_url)
    terminal = Database(tmp_path / "t1.sqlite")
    sync_once(terminal, upstream, "T1")
    assert stock(terminal) == stock(upstream) > 0
    before = stock(upstream)

    settings = Settings(db=str(tmp_path / "t1.sqlite"), terminal="T1", upstream=pg_url, idle_logout_seconds=0)
    app = WarehouseApp(terminal, settings, scanner=SimScanner("sim://"), terminal_name="T1", cursor_blink=False)

    async def shift() -> str:
        async with app.run_test(size=(80, 24)) as pilot:
            for text in ("U1001",):
                app.scanner.feed(text)
            app.submit_typed("1234")
            app.scanner.feed("@RECEIVE")
            app.scanner.feed("PO-1002")
            app.scanner.feed(f"]C101{PASSATA}17{FAR_YYMMDD}10LT-SYNC\x1d305")
            await pilot.pause()
            assert "Received 5" in screen_text(app)
            app.scanner.feed("@SYNC")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                await pilot.pause(0.1)
                if app.online == "online" and app.unsynced == 0:
                    break
            return screen_text(app)

    screen = asyncio.run(shift())
    # then the status line says online, when it last synced, nothing left to send; the upstream holds the receipt once
    assert re.search(r"online \(synced \d\d:\d\d\) · 0 unsynced", screen), screen
    assert stock(upstream) == before + 5
    with upstream.reading() as s:
        assert s.scalar(select(func.count()).select_from(Movement).where(Movement.doc_ref == "PO-1002")) == 1
        assert run_checks(s).ok
    sync_once(terminal, upstream, "T1")
    assert stock(terminal) == stock(upstream)
    with terminal.reading() as s:
        assert run_checks(s).ok
    upstream.dispose()
    terminal.dispose()


def test_the_app_run_directly_on_the_upstream_books_there_and_terminals_pull_it(pg_url, tmp_path):
    # given the demo warehouse upstream, and the app opened on it with --db (online mode: no local file, no worker)
    build_demo(pg_url)
    init_upstream(pg_url)
    online = Database(pg_url)
    terminal = Database(tmp_path / "t2.sqlite")
    upstream = open_upstream(pg_url)
    sync_once(terminal, upstream, "T2")
    before = stock(online)
    settings = Settings(db=pg_url, terminal="DOCK-1", idle_logout_seconds=0)
    app = WarehouseApp(online, settings, scanner=SimScanner("sim://"), terminal_name="DOCK-1", cursor_blink=False)

    async def shift() -> str:
        async with app.run_test(size=(80, 24)) as pilot:
            app.scanner.feed("U1001")
            app.submit_typed("1234")
            app.scanner.feed("@RECEIVE")
            app.scanner.feed("PO-1002")
            app.scanner.feed(f"]C101{PASSATA}17{FAR_YYMMDD}10LT-ONLINE\x1d303")
            await pilot.pause()
            return screen_text(app)

    # when a receipt is scanned
    screen = asyncio.run(shift())
    assert "Received 3" in screen, screen
    # then it is booked upstream at once, with no outbox to push, and a terminal's next sync brings it down
    assert stock(online) == before + 3
    with online.reading() as s:
        assert s.scalar(select(func.count()).select_from(Movement).where(Movement.doc_ref == "PO-1002")) == 1
        assert s.scalar(select(func.count()).select_from(OutboxEntry)) == 0
        assert run_checks(s).ok
    sync_once(terminal, upstream, "T2")
    assert stock(terminal) == stock(online)
    with terminal.reading() as s:
        lot_stock = s.scalar(select(func.coalesce(func.sum(Quant.qty), 0)).join(Lot, Lot.id == Quant.lot_id).where(Lot.code == "LT-ONLINE"))
    assert lot_stock == 3
    for db in (online, terminal, upstream):
        db.dispose()
