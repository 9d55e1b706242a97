"""The supervisor's floor view (@FLOOR, ^F) in the real app on the demo warehouse at conftest's SCREEN_CLOCK.

A morning is played on the demo first, through the services, at the times it
happened: a wave is released at 07:00; Maria (U1001) logs in on T1 at 07:05 and
picks her list from 07:10, one task short; Sam (S9001) claims the second list on
T2 at 08:30, picks once at 08:35 and leaves it (idle at 09:00). At the dock Maria
receives 24 rolls of tape at 07:20 and puts them away at 07:50, 12 more at 08:00
put away at 08:40; she counts bin A-01-01-2 at 08:05, matching the books.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools

import pytest
from sqlalchemy import select

from warehouse_tui import clock
from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import Lot, Movement, Operator, WarehouseException
from warehouse_tui.replay import apply_step, parse_script, screen_text
from warehouse_tui.db.models import Bin, Quant
from warehouse_tui.services import count_tasks, counting, masterdata, picking, putaway, receiving, waves
from warehouse_tui.services.auth import audit
from warehouse_tui.services.ledger import Actor
from warehouse_tui.services.floor_metrics import DockToStock, ListProgress
from warehouse_tui.workflows.floor_view import FloorView, bar, spark

SUPERVISOR = "scan S9001\ntype 9999\nkey enter\n"
OPERATOR = "scan U1001\ntype 1234\nkey enter\n"
SIZES = {"80x24": (80, 24), "40x16": (40, 16)}


@pytest.fixture
def demo_template(screen_day_demo_template):
    return screen_day_demo_template


def _at(hh: int, mm: int) -> None:
    clock.set_clock(dt.datetime.combine(clock.today(), dt.time(hh, mm)).astimezone(), frozen=True)


def _actor(s, badge: str, terminal: str) -> Actor:
    return Actor(s.scalars(select(Operator).where(Operator.badge == badge)).one(), terminal)


def _work(db: Database, badge: str, terminal: str, ref: str, times: list[tuple[int, int]], short_last: bool = False) -> None:
    with db.transaction() as s:
        view = picking.claim(s, _actor(s, badge, terminal), ref)
        for slot in view.orders:
            picking.assign_tote(s, _actor(s, badge, terminal), ref, slot.order_ref, f"TOTE-{slot.order_ref}")
    for n, (hh, mm) in enumerate(times):
        _at(hh, mm)
        with db.transaction() as s:
            task = picking.next_task(s, _actor(s, badge, terminal), ref)
            if task is None:
                return
            while task.serial:
                picking.skip(s, _actor(s, badge, terminal), task.id)
                task = picking.next_task(s, _actor(s, badge, terminal), ref)
            if short_last and n == len(times) - 1:
                picking.short(s, _actor(s, badge, terminal), task.id, 0)
            else:
                picking.confirm_pick(s, _actor(s, badge, terminal), task.id, bin_code=task.bin_code, item_id=task.item_id,
                                     qty=task.qty - task.qty_picked, lot_code=task.lot_code)


@pytest.fixture
def morning(demo_path, screen_clock):
    db = Database(demo_path)
    try:
        _at(7, 0)
        with db.transaction() as s:
            lists = [p.ref for p in waves.release(s, Actor(None, "CLI"), batch_size=3).pick_lists]
        _at(7, 5)
        with db.transaction() as s:
            audit(s, "login", operator=_actor(s, "U1001", "T1").operator, terminal="T1")
        _work(db, "U1001", "T1", lists[0], [(7, 10), (7, 40), (8, 20), (8, 45), (8, 50)], short_last=True)
        for (rh, rm), (ph, pm), qty in (((7, 20), (7, 50), 24), ((8, 0), (8, 40), 12)):
            _at(rh, rm)
            with db.transaction() as s:
                tape = masterdata.item_by_sku(s, "TAPE-48").id
                receiving.receive_item(s, _actor(s, "U1001", "T1"), receipt_ref="PO-1001", item_id=tape, qty=qty)
            _at(ph, pm)
            with db.transaction() as s:
                putaway.putaway_item(s, _actor(s, "U1001", "T1"), item_id=tape, from_bin_code="RCV-01",
                                     to_bin_code="A-01-01-2", qty=qty)
        _at(8, 5)
        with db.transaction() as s:
            count_tasks.create_counts(s, _actor(s, "S9001", "T2"), bins=["B-01-01-1"])
            task = counting.start_bin(s, _actor(s, "U1001", "T1"), "B-01-01-1")
            for item_id, lot_id, qty in s.execute(select(Quant.item_id, Quant.lot_id, Quant.qty).join(Bin, Bin.id == Quant.bin_id)
                                                  .where(Bin.code == "B-01-01-1", Quant.qty > 0)):
                lot = s.get(Lot, lot_id).code if lot_id else None
                counting.record(s, _actor(s, "U1001", "T1"), task.task_id, item_id=item_id, qty=qty, lot_code=lot)
            assert counting.close_bin(s, _actor(s, "U1001", "T1"), task.task_id).outcome == "closed"
        _at(8, 30)
        with db.transaction() as s:
            audit(s, "login", operator=_actor(s, "S9001", "T2").operator, terminal="T2")
        _work(db, "S9001", "T2", lists[1], [(8, 35)])
    finally:
        db.dispose()
        # Stopped at 09:00: a screen that says "as of 09:00" must not turn 09:01 on a slow machine.
        clock.set_clock(screen_clock, frozen=True)
    return demo_path


async def _drive(pilot, script: str) -> None:
    await pilot.pause()
    for step in parse_script(script):
        failed = await apply_step(pilot.app, pilot, step)
        assert failed is None, failed
    await pilot.pause()


def in_loop(test):
    """An async test body run to the end in its own event loop (as the other app tests do)."""
    @functools.wraps(test)
    def run(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))
    return run


PAGES = {"80x24": 3, "40x16": 5}
STATES = [(size, page) for size in SIZES for page in range(PAGES[size])]


@pytest.mark.parametrize(("size", "page"), STATES, ids=[f"page{p + 1}-{s}" for s, p in STATES])
def test_floor_view_pages(snap_compare, make_app, morning, size, page):
    script = SUPERVISOR + "key ctrl+f\n" + "scan @NEXT\n" * page

    async def drive(pilot):
        await _drive(pilot, script)

    assert snap_compare(make_app(), terminal_size=SIZES[size], run_before=drive)


@pytest.mark.parametrize("size", SIZES)
def test_floor_view_refused_to_an_operator(snap_compare, make_app, morning, size):
    async def drive(pilot):
        await _drive(pilot, OPERATOR + "scan @FLOOR")

    assert snap_compare(make_app(), terminal_size=SIZES[size], run_before=drive)


@in_loop
async def test_the_view_shows_the_morning_and_the_idle_list(make_app, morning):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        # Every page shown once (each is measured when first shown), back on page 1.
        await _drive(pilot, SUPERVISOR + "scan @FLOOR\nscan @NEXT\nscan @NEXT\nscan @NEXT\n")
        text = screen_text(app)
        assert "as of 09:00" in text
        # Maria's list: 4 picked and 1 short of its tasks; the short at 08:50 found nothing (no movement),
        # so her last pick is the one at 08:45: 15 minutes.
        workflow = app.floor.workflow
        first, second = workflow.snapshot.lists[:2]
        assert (first.holder, first.done, first.short, first.idle_minutes) == ("U1001", 4, 1, 15)
        assert (second.holder, second.done, second.idle_minutes, second.idle) == ("S9001", 1, 25, True)
        assert "IDLE" in text
        # Picks per hour 02..09: 1 at 07h, 2 at 08h (U1001) + 1 at 08h (S9001).
        assert workflow.snapshot.picked_lines[-3:] == (2, 3, 0)
        # The tape: 24 rolls waited 30 min, 12 waited 40: the 18th of 36 units (median) 30, the 33rd (p90) 40.
        assert workflow.snapshot.dock_to_stock == DockToStock(36, 30.0, 40.0)
        assert (workflow.snapshot.accuracy.lines, workflow.snapshot.accuracy.matched) == (1, 1)
        assert workflow.snapshot.received_units[-3:] == (24, 12, 0)


@in_loop
async def test_the_view_opens_at_once_and_is_measured_in_a_worker(make_app, morning):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _drive(pilot, SUPERVISOR)
        # Making the view measures nothing (it is made on the UI thread): its frame says "measuring…".
        view = FloorView(app.terminal)
        assert view.snapshot is None and view.unmeasured() == ("lists", "throughput")
        assert view.lines() == ["Pick lists: measuring…", "Throughput: measuring…"]
        assert view.prompt.text.endswith("1/3 · measuring…")
        # The app fills it from its worker thread, the page on screen first; the next page when it is shown.
        await _drive(pilot, "scan @FLOOR")
        workflow = app.floor.workflow
        assert set(workflow.measured_at) == {"lists", "throughput"} and "IDLE" in screen_text(app)
        await _drive(pilot, "scan @NEXT")
        assert set(workflow.measured_at) == {"lists", "throughput", "operators", "exceptions"}
        assert "U1001" in screen_text(app) and "measuring" not in screen_text(app)


@in_loop
async def test_the_view_measures_again_by_itself_while_shown(make_app, morning):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        # The stock page is measured when it is shown (09:00), then the view goes back to page 1.
        await _drive(pilot, SUPERVISOR + "scan @FLOOR\nscan @NEXT\nscan @NEXT\nscan @NEXT\n")
        before = app.floor.workflow.snapshot
        # Another terminal records a pick meanwhile (into the same database: as a sync pull would).
        _work(app.terminal.db, "S9001", "T2", before.lists[1].ref, [(9, 0)])
        clock.set_clock(dt.datetime.combine(clock.today(), dt.time(9, 1)).astimezone(), frozen=True)
        app._refresh_floor_view()  # what the app's timer calls every floor_refresh_seconds
        await app.workers.wait_for_complete()
        await pilot.pause()
        after = app.floor.workflow.snapshot
        assert after.as_of > before.as_of and after.lists[1].done == before.lists[1].done + 1
        assert "as of 09:01" in screen_text(app)
        # The refresh measured the page on screen only: the stock page still says when it was measured.
        await _drive(pilot, "scan @NEXT\nscan @NEXT\n")
        assert "Stock health 3/3 · as of 09:00" in screen_text(app)


@in_loop
async def test_an_exception_kind_jumps_to_the_queue_of_that_kind(make_app, morning):
    app = make_app()
    async with app.run_test(size=(40, 16)) as pilot:
        # 40x16: one topic per page, exceptions is the 4th.
        await _drive(pilot, SUPERVISOR + "key ctrl+f\nscan @NEXT\nscan @NEXT\nscan @NEXT\n")
        assert "Exceptions 4/5" in screen_text(app)
        with app.terminal.db.reading() as s:
            kinds = set(s.scalars(select(WarehouseException.kind).where(WarehouseException.status == "open")))
        assert "short_pick" in kinds
        await _drive(pilot, "type 1\nkey enter\n")
        supervisor = app.floor.workflow
        assert type(supervisor).__name__ == "Supervisor" and supervisor.only_kind == "short_pick"
        assert supervisor.entries and {e.kind for e in supervisor.entries} == {"short_pick"}
        await _drive(pilot, "key escape\n")  # @CANCEL: the whole queue again
        assert supervisor.only_kind is None


@in_loop
async def test_an_operator_gets_no_figures(make_app, morning):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _drive(pilot, OPERATOR + "key ctrl+f\n")
        assert isinstance(app.floor.workflow, FloorView) and app.floor.workflow.snapshot is None
        assert "Supervisors only" in screen_text(app)


def test_bars_and_sparklines_are_plain_characters():
    assert bar(ListProgress("PL", 2, 1, 0, 1, None, None, False), 8) == "████▒▒··"
    assert spark((0, 1, 4, 8)) == "·▁▄█"
    assert spark((0, 0)) == "··"
