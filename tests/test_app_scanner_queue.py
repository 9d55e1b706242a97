"""Scans a scanner's reader thread hands over reach the app in the order they were read, each recorded.

A driver's callback must return soon (drivers/base.py): the app queues what the
reader thread delivers and its loop handles the queue one scan at a time, each in
its own transaction, showing the result once per burst. These tests drive the
real app headless with a real serial driver on a pseudo-terminal, or the
simulated scanner fed from a real second thread.
"""

from __future__ import annotations

import asyncio
import threading
import time

from sqlalchemy import select

from driver_harness import DEADLINE_S, PtyDevice
from drivers.base import RawScan
from drivers.registry import scanner_for
from warehouse_tui.app import WarehouseApp
from warehouse_tui.config import Settings
from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import Movement

STOVE = "05901234021357"  # NO-STOVE, serial-tracked (demo warehouse)


async def start_blind_receipt(app, pilot) -> None:
    app.handle_raw(RawScan("U1001"))
    app.submit_typed("1234")
    app.handle_raw(RawScan("@RECEIVE"))
    app.handle_raw(RawScan("@BLIND"))
    await pilot.pause()
    assert app.floor.workflow.prompt.text.startswith("Scan item"), app.floor.workflow.outcome


async def until(pilot, predicate, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.02)


def received_serials(db: Database) -> list[str]:
    with db.reading() as s:
        return list(s.scalars(select(Movement.serial).where(Movement.kind == "receipt", Movement.serial.is_not(None))
                              .order_by(Movement.seq)))


def test_a_burst_read_by_the_serial_driver_is_recorded_scan_by_scan_in_the_order_read(tmp_path, demo_path):
    asyncio.run(burst_through_the_serial_driver(tmp_path, demo_path))


async def burst_through_the_serial_driver(tmp_path, demo_path) -> None:
    device = PtyDevice(tmp_path)
    db = Database(demo_path)
    settings = Settings(db=str(demo_path), terminal="T1", idle_logout_seconds=0)
    app = WarehouseApp(db, settings, scanner=scanner_for(f"serial://{device.path}?baud=115200"), terminal_name="T1",
                       cursor_blink=False)
    serials = [f"Q-{n:03d}" for n in range(40)]
    before = received_serials(db)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.terminal.scanner_state == "connected", "the scanner")
            await start_blind_receipt(app, pilot)

            # When the scanner reads forty serial labels and then a garbled frame, in one burst
            device.write(b"".join(f"]C101{STOVE}21{sn}\r".encode() for sn in serials) + b"GARBLED\x07\r")
            await until(pilot, lambda: "control character" in (app.floor.workflow.outcome.message or ""), "the garbled frame")

            # Then every label is one receipt, in the order read, and the screen ends on the refusal that came last
            assert received_serials(db)[len(before):] == serials
            assert "Last: 1 × NO-STOVE SN Q-039" in app.floor.query_one("#lines").render().plain
            assert app.scans_waiting == 0
    finally:
        device.close()
        db.dispose()


def test_a_scan_on_the_apps_own_loop_comes_after_the_scans_the_reader_handed_over_before_it(make_app):
    asyncio.run(scan_on_the_loop_after_queued_scans(make_app()))


async def scan_on_the_loop_after_queued_scans(app) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await start_blind_receipt(app, pilot)
        before = received_serials(app.terminal.db)

        # Given two labels a reader thread handed over while the app's loop was busy (here: waiting for that thread)
        reader = threading.Thread(target=lambda: [app.scanner.feed(f"01{STOVE}21{sn}", "C1") for sn in ("R-1", "R-2")])
        reader.start()
        reader.join(timeout=DEADLINE_S)
        assert not reader.is_alive(), "the reader thread waited for the app instead of going back to reading"
        assert app.scans_waiting == 2

        # When a third label arrives on the app's own loop
        app.scanner.feed(f"01{STOVE}21R-3", "C1")

        # Then the two read before it are recorded first
        assert app.scans_waiting == 0
        assert received_serials(app.terminal.db)[len(before):] == ["R-1", "R-2", "R-3"]
