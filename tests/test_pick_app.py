"""Pick through the real app (sim scanner, demo warehouse) at 80x24 and 40x16."""

from __future__ import annotations

import asyncio
import datetime as dt
import shlex
from pathlib import Path

import pytest
from sqlalchemy import select

from drivers.base import RawScan
from fixture_dates import ahead, yymmdd
from test_waves import build_site, order, stock
from warehouse_tui.config import Settings
from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import (
    AuditEvent,
    Bin,
    Container,
    CountTask,
    Item,
    ItemCode,
    Lot,
    Operator,
    OutboundLine,
    OutboundOrder,
    PickTask,
    Quant,
    WarehouseException,
)
from warehouse_tui.replay import replay, screen_text
from warehouse_tui.services import masterdata as md
from warehouse_tui.services import picking, waves
from warehouse_tui.services.auth import find_operator
from warehouse_tui.services.check import run_checks
from warehouse_tui.services.ledger import Actor, post
from warehouse_tui.workflows import registry
from warehouse_tui.workflows.base import Terminal
from warehouse_tui.workflows.pick import Pick

SIZES = pytest.mark.parametrize("size", [(80, 24), (40, 16)], ids=["80x24", "40x16"])
SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("pick-*.replay"))
CLI = Actor(None, "CLI")


@pytest.fixture(autouse=True)
def pick_registered(monkeypatch):
    monkeypatch.setitem(registry.WORKFLOWS, "PICK", Pick)


def release(path: Path, order_ref: str) -> list[dict]:
    """Release one demo order; returns its tasks in walking order as what the picker will scan."""
    db = Database(path)
    try:
        with db.transaction() as s:
            waves.release(s, CLI, [order_ref])
        with db.reading() as s:
            rows = s.execute(
                select(PickTask.id, Bin.code, Item.id, Item.sku, Lot.code, PickTask.qty)
                .join(Bin, Bin.id == PickTask.bin_id).join(Item, Item.id == PickTask.item_id)
                .outerjoin(Lot, Lot.id == PickTask.lot_id).order_by(PickTask.seq)
            ).all()
            tasks = []
            for task_id, bin_code, item_id, sku, lot, qty in rows:
                gtin = s.scalars(select(ItemCode.code).where(ItemCode.item_id == item_id, ItemCode.kind == "gtin")).first()
                other_lot = s.scalars(select(Lot.code).where(Lot.item_id == item_id, Lot.code != lot)).first() if lot else None
                tasks.append({"id": task_id, "bin": bin_code, "sku": sku, "gtin": gtin, "lot": lot, "other_lot": other_lot, "qty": qty})
            return tasks
    finally:
        db.dispose()


class Floor:
    """Drives the app like a picker: every scan through the simulated scanner, keys through the pilot."""

    def __init__(self, app, pilot) -> None:
        self.app, self.pilot = app, pilot

    async def scan(self, text: str) -> str:
        self.app.scanner.feed(text)
        await self.pilot.pause()
        return self.text

    async def key(self, name: str) -> str:
        await self.pilot.press(name)
        await self.pilot.pause()
        return self.text

    async def login(self, badge: str = "U1001", pin: str = "1234") -> None:
        await self.scan(badge)
        assert "Choose a task" in await self.scan(pin)

    @property
    def text(self) -> str:
        return screen_text(self.app)


def drive(app, size, story) -> None:
    async def run() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await story(Floor(app, pilot))

    asyncio.run(run())


@SIZES
def test_a_demo_order_is_picked_whole_through_the_app(make_app, demo_path, size):
    # Given ORD-10007 (a lot-tracked sunscreen and water bottles) released into a pick list
    tasks = release(demo_path, "ORD-10007")
    assert [t["sku"] for t in tasks] == ["BOTTLE-750", "SUNSCREEN-50"] and tasks[1]["lot"] and tasks[1]["other_lot"]
    app = make_app()

    async def story(floor: Floor) -> None:
        await floor.login()
        assert "Scan pick list or order, or @NEXT" in await floor.scan("@PICK")
        screen = await floor.scan("ORD-10007")
        assert "Scan tote for ORD-10007" in screen and "(scan tote)" in screen
        await floor.scan("TOTE-0003")
        for n, task in enumerate(tasks, start=1):
            # The task card: bin, SKU, allocated lot, quantity, progress, tote.
            card = floor.text
            assert f"Scan bin {task['bin']}" in card
            assert f"task {n}/2" in card and f"SKU  {task['sku']}" in card and f"Pick {task['qty']} EA" in card
            assert "Into TOTE-0003 (ORD-10007)" in card
            if task["lot"]:
                assert f"Lot  {task['lot']}" in card
            assert f"Scan item {task['sku']}" in await floor.scan(task["bin"])
            screen = await floor.scan(task["gtin"])
            if task["lot"]:
                assert f"Scan lot {task['lot']}" in screen
                refused = await floor.scan(task["other_lot"])
                assert f"Wrong lot {task['other_lot']}" in refused and task["lot"] in refused.split("Wrong lot")[1]
                assert f"Scan lot {task['lot']}" in refused
                screen = await floor.scan(task["lot"])
            assert f"Qty + Enter ({task['qty']} to pick)" in screen
            screen = await floor.scan(str(task["qty"]))
            assert f"Picked {task['qty']} × {task['sku']}" in screen
        screen = floor.text
        assert "All picked — @DONE to finish" in screen and "F2 Done" in screen
        screen = await floor.key("f2")
        assert "PL-00001 done" in screen and "Take the totes to PACK-01" in screen
        assert "Scan pick list or order, or @NEXT" in screen

    drive(app, size, story)

    # Then the order is picked and its units stand in the tote at the pack station.
    with app.terminal.db.reading() as s:
        assert s.scalars(select(OutboundOrder.status).where(OutboundOrder.ref == "ORD-10007")).one() == "picked"
        tote = s.scalars(select(Container).where(Container.code == "TOTE-0003")).one()
        assert s.get(Bin, tote.bin_id).code == "PACK-01"
        contents = {s.get(Item, q.item_id).sku: q.qty for q in s.scalars(select(Quant).where(Quant.container_id == tote.id))}
        assert contents == {t["sku"]: t["qty"] for t in tasks}
        assert s.scalar(select(Quant.reserved).where(Quant.reserved > 0).limit(1)) is None
        assert run_checks(s).ok


@SIZES
def test_skip_short_and_zero_check_through_the_app(make_app, demo_path, size):
    # Given ORD-10001 (6 × BATT-AA-4, 1 × USBC-1M) whose USB-C pick face holds exactly the one unit ordered
    db = Database(demo_path)
    with db.transaction() as s:
        usbc = md.item_by_sku(s, "USBC-1M")
        face = s.scalars(select(Quant).join(Bin).where(Quant.item_id == usbc.id, Bin.kind == "pick")).one()
        post(s, CLI, kind="adjust", item=usbc, qty=face.qty - 1, from_bin=s.get(Bin, face.bin_id), doc_ref="TEST")
    db.dispose()
    tasks = {t["sku"]: t for t in release(demo_path, "ORD-10001")}
    batt, usb = tasks["BATT-AA-4"], tasks["USBC-1M"]
    assert batt["qty"] == 6 and usb["qty"] == 1
    app = make_app()

    async def story(floor: Floor) -> None:
        await floor.login()
        await floor.scan("@PICK")
        assert "Scan tote for ORD-10001" in await floor.key("f4")  # @NEXT
        assert f"Scan bin {batt['bin']}" in await floor.scan("TOTE-0004")
        # @SKIP: the batteries come last.
        screen = await floor.key("f6")
        assert f"Skipped BATT-AA-4 in {batt['bin']}" in screen and f"Scan bin {usb['bin']}" in screen
        await floor.scan(usb["bin"])
        await floor.scan(usb["gtin"])
        screen = await floor.scan("1")
        # The bin is empty by the books: zero check; @NO raises a count task.
        assert f"Bin {usb['bin']} empty? @YES / @NO" in screen and "F9 Yes" in screen and "F10 No" in screen
        assert "Only a command" in await floor.scan(usb["gtin"])
        screen = await floor.key("f10")
        assert f"Count task raised for {usb['bin']}" in screen
        assert f"Scan bin {batt['bin']}" in screen and "task 2/2" in screen
        # @SHORT with 4 found.
        await floor.scan(batt["bin"])
        await floor.scan(batt["gtin"])
        assert "Qty found + Enter" in await floor.key("f5")
        assert "Quantity must be a whole number" in await floor.scan("4.5")
        screen = await floor.scan("4")
        assert "Short 2 × BATT-AA-4" in screen and "All picked" in screen
        assert "PL-00001 done" in await floor.scan("@DONE")

    drive(app, size, story)

    with app.terminal.db.reading() as s:
        short = s.scalars(select(WarehouseException).where(WarehouseException.kind == "short_pick")).one()
        assert (short.ref, short.status, short.data["found"], short.data["missing"]) == ("ORD-10001", "open", 4, 2)
        counted = {s.get(Bin, c.bin_id).code: c.reason for c in s.scalars(select(CountTask))}
        assert set(counted) == {batt["bin"], usb["bin"]}
        assert s.scalars(select(AuditEvent.badge).where(AuditEvent.kind == "short_pick")).one() == "U1001"
        lines = {s.get(Item, line.item_id).sku: (line.qty_allocated, line.qty_picked) for line in s.scalars(select(OutboundLine).join(OutboundOrder).where(OutboundOrder.ref == "ORD-10001"))}
        assert lines == {"BATT-AA-4": (4, 4), "USBC-1M": (1, 1)}
        assert run_checks(s).ok


def test_a_list_picked_on_another_terminal_is_refused_with_who_has_it(make_app, demo_path):
    release(demo_path, "ORD-10005")
    db = Database(demo_path)
    with db.transaction() as s:
        picking.claim(s, Actor(find_operator(s, "U1001"), "T2"), "ORD-10005")
    db.dispose()
    app = make_app()

    async def story(floor: Floor) -> None:
        await floor.login("S9001", "9999")
        await floor.scan("@PICK")
        screen = await floor.scan("ORD-10005")
        assert "PL-00001 is being picked by U1001 on T2" in screen
        assert "Scan pick list or order, or @NEXT" in screen

    drive(app, (80, 24), story)


@pytest.mark.parametrize("script", SCENARIOS, ids=[p.stem for p in SCENARIOS])
@SIZES
def test_pick_scenarios_replay_after_their_setup(demo_path, script, size, capsys):
    # The scenario runner's `# setup:` lines, as this file's scenarios need them: `wave [--orders A,B] [--max-orders N]`.
    db = Database(demo_path)
    for line in script.read_text(encoding="utf-8").splitlines():
        if line.startswith("# setup:"):
            words = shlex.split(line.removeprefix("# setup:"))
            assert words[0] == "wave", line
            options = dict(zip(words[1::2], words[2::2]))
            refs = options["--orders"].split(",") if "--orders" in options else None
            waves.release_from_cli(db, refs, int(options["--max-orders"]) if "--max-orders" in options else None, CLI)
    settings = Settings(db=str(demo_path), terminal="T1", idle_logout_seconds=0)
    code = replay(script, db=db, settings=settings, size=size)
    out = capsys.readouterr().out
    assert code == 0, out
    with db.reading() as s:
        assert run_checks(s).ok
    db.dispose()


# --------------------------------------------------------------------------- the state machine, without a screen


SOAP_EXPIRY = ahead(400)  # a fixed 2030-01-31 here would have stopped the tests on 1 February 2030


@pytest.fixture
def pick_workflow(db):
    """A Pick workflow on a small site (see test_waves.build_site), logged in as U1, with one order released."""
    build_site(db)
    with db.transaction() as s:
        md.add_item(s, "SOAP", expiry_required=True, gtins=["09501101530003"])
        md.add_item(s, "MILK2", tracking="lot", expiry_required=True, gtins=["09501101530010"])
        stock(s, "SOAP", "A1", 5, lot=SOAP_EXPIRY.isoformat(), expiry=SOAP_EXPIRY)
        stock(s, "MILK2", "A2", 8, lot="M-A", expiry=SOAP_EXPIRY)
        stock(s, "MILK2", "A2", 8, lot="M-B", expiry=SOAP_EXPIRY + dt.timedelta(days=365))
        order(s, "ORD-1", [("SOAP", 2), ("MILK2", 5)])
        waves.release(s, CLI, ["ORD-1"])
        operator = s.scalars(select(Operator).where(Operator.badge == "U1")).one()
    terminal = Terminal(db, Settings(db="", terminal="T1"), "T1", operator=operator)
    workflow = Pick(terminal)

    def submit(text: str):
        return workflow.submit(RawScan(text=text))

    return workflow, submit


def test_dated_items_without_lots_ask_for_the_allocated_expiry(pick_workflow):
    wf, submit = pick_workflow
    submit("ORD-1")
    submit("TOTE-1")
    assert wf.prompt.text == "Scan bin A1" and f"Exp  {SOAP_EXPIRY:%Y-%m-%d}" in wf.lines()
    submit("A1")
    assert submit("09501101530003").ok and wf.prompt.text == f"Expiry {yymmdd(SOAP_EXPIRY)} + Enter"
    refused = submit(yymmdd(SOAP_EXPIRY + dt.timedelta(days=28)))
    assert not refused.ok and f"pick SOAP expiring {SOAP_EXPIRY:%Y-%m-%d}" in refused.message and wf.state == "expiry"
    submit(yymmdd(SOAP_EXPIRY))
    assert wf.prompt.text == "Qty + Enter (2 to pick)"


def test_a_gs1_label_answers_the_lot_prompt_and_a_wrong_lot_on_it_is_refused(pick_workflow):
    wf, submit = pick_workflow
    submit("ORD-1")
    submit("TOTE-1")
    submit("A1")
    submit("09501101530003")
    submit(yymmdd(SOAP_EXPIRY))
    submit("2")
    assert wf.prompt.text == "Scan bin A2"
    submit("A2")
    refused = submit("(01)09501101530010(10)M-B")
    assert not refused.ok and "Wrong lot M-B — pick lot M-A of MILK2" in refused.message and wf.state == "item"
    assert submit("(01)09501101530010(10)M-A(30)3").ok  # lot and quantity from the label: picked at once
    assert wf.prompt.text == "Qty + Enter (2 to pick)" and "Pick 2 EA (3 of 5 done)" in wf.lines()


def test_cancel_goes_back_to_the_tasks_bin_and_short_with_enter_alone_finds_none(pick_workflow):
    wf, submit = pick_workflow
    submit("ORD-1")
    submit("TOTE-1")
    submit("A1")
    submit("09501101530003")
    assert submit("@CANCEL").message == "Cancelled — scan bin A1" and wf.state == "bin"
    assert not submit("@DONE").ok and wf.state == "bin"  # not possible before every task is finished
    submit("@SHORT")
    assert wf.prompt.accepts_empty and wf.prompt.text == "Qty found + Enter (Enter = none)"
    outcome = submit("")
    assert outcome.ok and outcome.message == "Short 2 × SOAP — count task for A1"
    assert wf.prompt.text == "Scan bin A2" and "task 2/2" in wf.lines()[0]


def test_nothing_is_accepted_at_the_zero_check_but_yes_or_no(pick_workflow):
    wf, submit = pick_workflow
    with wf.terminal.db.transaction() as s:
        # SOAP's bin holds exactly the two ordered: the pick empties it.
        soap = md.item_by_sku(s, "SOAP")
        post(s, CLI, kind="adjust", item=soap, qty=3, lot=md.lot(s, soap, SOAP_EXPIRY.isoformat()), from_bin=md.bin_by_code(s, "A1"))
    submit("ORD-1")
    submit("TOTE-1")
    submit("A1")
    submit("09501101530003")
    submit(yymmdd(SOAP_EXPIRY))
    submit("2")
    assert wf.prompt.text == "Bin A1 empty? @YES / @NO"
    assert not submit("A1").ok and not submit("@CANCEL").ok and not submit("@SKIP").ok and wf.state == "zero"
    assert submit("@YES").message == "Bin A1 empty — next task" and wf.prompt.text == "Scan bin A2"
    with wf.terminal.db.reading() as s:
        assert s.scalar(select(CountTask.id)) is None
