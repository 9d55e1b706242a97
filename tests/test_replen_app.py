"""@REPLEN: the state machine without a screen, its documented transitions, and snapshots of every state at both sizes."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import create_engine, select

from drivers.base import RawScan
from fixture_dates import ahead
from test_waves import build_site, order, stock
from warehouse_tui import cli, clock
from warehouse_tui.config import Settings
from warehouse_tui.db.models import CountTask, Operator, PickTask, ReplenTask
from warehouse_tui.replay import apply_step, parse_script, screen_text
from warehouse_tui.services import masterdata as md
from warehouse_tui.services import waves
from warehouse_tui.services.importing import import_bytes
from warehouse_tui.services.ledger import Actor
from warehouse_tui.workflows.base import Terminal
from warehouse_tui.workflows.replenish import Replenish, State

CLI = Actor(None, "CLI")
PLAIN = "09501101530027"
MILK = "09501101530034"


# --------------------------------------------------------------------------- the state machine


@pytest.fixture
def replen(db):
    """Face A1 (PLAIN, min 2, max 10) holds 3, S1 holds 30; face A2 (MILK, lot) holds none, S1 has two lots."""
    build_site(db)
    with db.transaction() as s:
        md.add_bin(s, "S1", kind="storage", pick_seq=100)
        md.add_item(s, "PLAIN2", gtins=[PLAIN])
        md.add_item(s, "MILK2", tracking="lot", expiry_required=True, gtins=[MILK])
    import_bytes(db, "pickfaces", b"bin,sku,min,max\nA1,PLAIN2,2,10\nA2,MILK2,2,6\n", CLI)
    with db.transaction() as s:
        stock(s, "PLAIN2", "A1", 3)
        stock(s, "PLAIN2", "S1", 30)
        stock(s, "MILK2", "S1", 10, lot="M-1", expiry=ahead(30))
        stock(s, "MILK2", "S1", 10, lot="M-2", expiry=ahead(31))
        stock(s, "MILK2", "S1", 10, lot="M-9", expiry=ahead(300))
        order(s, "ORD-1", [("PLAIN2", 7)])
        waves.release(s, CLI, ["ORD-1"])
    return db


def workflow(db, badge="U1", terminal="T1", tolerance=0):
    with db.reading() as s:
        operator = s.scalars(select(Operator).where(Operator.badge == badge)).one()
    wf = Replenish(Terminal(db, Settings(db="", terminal=terminal, replen_fefo_tolerance_days=tolerance), terminal, operator=operator))

    def submit(text: str):
        return wf.submit(RawScan(text=text))

    return wf, submit


def test_a_wave_task_comes_first_and_enter_moves_what_is_suggested(replen):
    with replen.transaction() as s:
        from warehouse_tui.services import replenishment
        replenishment.replenish_all(s, CLI)  # MILK2's face too: not for a wave
    wf, submit = workflow(replen)
    assert wf.prompt.text == "@NEXT for the next replenishment"
    assert submit("@NEXT").ok and wf.state == State.SOURCE
    assert wf.lines()[:3] == ["A wave waits for this", "From S1", "SKU  PLAIN2"]
    assert not submit("A1").ok and wf.state == State.SOURCE
    submit("S1")
    submit(PLAIN)
    assert wf.prompt.text == "Qty + Enter (Enter = 7)" and wf.prompt.accepts_empty
    assert not submit("8").ok and wf.state == State.QTY
    assert submit("").ok and wf.prompt.text == "Put 7 in face A1"
    refused = submit("A2")
    assert not refused.ok and "put it in pick face A1" in refused.message and wf.state == State.FACE
    done = submit("A1")
    assert done.ok and "1 pick(s) released" in done.message
    with replen.reading() as s:
        assert s.scalar(select(PickTask.id).where(PickTask.waiting.is_(True))) is None
    # the next task follows at once: MILK2's face
    assert wf.state == State.SOURCE and wf.task.sku == "MILK2"


def test_a_lot_within_the_tolerance_is_taken_and_a_later_one_refused_naming_the_lot(replen):
    with replen.transaction() as s:
        s.execute(ReplenTask.__table__.delete())
        from warehouse_tui.services import replenishment
        replenishment.replenish_all(s, CLI)
    wf, submit = workflow(replen, tolerance=1)
    submit("@NEXT")
    submit("S1")
    submit(MILK)
    assert wf.prompt.text == "Scan lot M-1"
    refused = submit("M-9")
    assert not refused.ok and "take lot M-1 of MILK2" in refused.message and wf.state == State.LOT
    assert submit("M-2").ok and wf.state == State.QTY and "Lot  M-2" in wf.lines()
    submit("6")
    assert submit("A2").ok


def test_a_partial_move_keeps_the_task_and_short_raises_a_count_task(replen):
    wf, submit = workflow(replen)
    submit("@NEXT")
    submit("S1")
    submit(PLAIN)
    submit("3")
    outcome = submit("A1")
    assert outcome.ok and "4 left" in outcome.message and wf.state == State.SOURCE and wf.task.remaining == 4
    assert submit("@SHORT").ok and wf.state == State.SHORT_QTY
    outcome = submit("1")
    assert outcome.ok and wf.state == State.FACE and wf.prompt.text == "Put 1 in face A1"
    submit("A1")
    with replen.reading() as s:
        assert s.scalar(select(CountTask.id)) is not None
        # 4 units were moved: the 4 waiting picks are covered
        assert s.scalar(select(PickTask.id).where(PickTask.waiting.is_(True))) is None


def test_two_replenishers_never_get_the_same_task(replen):
    first, submit_first = workflow(replen, "U1")
    second, submit_second = workflow(replen, "U2", "T2")
    submit_first("@NEXT")
    outcome = submit_second("@NEXT")
    assert outcome.message == "Nothing to replenish" and second.state == State.NEXT


def test_home_menu_0_and_ctrl_e_start_replenishment(replen):
    from warehouse_tui.widgets.prompt_panel import COMMAND_KEYS, key_label
    from warehouse_tui.workflows.login import Home

    with replen.reading() as s:
        operator = s.scalars(select(Operator).where(Operator.badge == "U1")).one()
    home = Home(Terminal(replen, Settings(db="", terminal="T1"), "T1", operator=operator))
    assert home.submit(RawScan(text="0")).navigate == "REPLEN"
    assert (COMMAND_KEYS["REPLEN"], key_label("REPLEN"), key_label("FULL")) == ("ctrl+e", "^E", "^T")


def test_cancel_goes_back_to_the_source_bin(replen):
    wf, submit = workflow(replen)
    submit("@NEXT")
    submit("S1")
    submit(PLAIN)
    assert submit("@CANCEL").message == "Cancelled — scan bin S1" and wf.state == State.SOURCE


# --------------------------------------------------------------------------- snapshots


BUILD_DAY = dt.date(2040, 1, 1)
LOGIN = "scan U1001\ntype 1234\nkey enter\n"
HDMI = "09501101011755"  # HDMI-2M: face A-01-10-1 (min 15, max 62) holds 42, reserve A-01-03-3
WAVE = (("wave", "--orders", "ORD-10011"),)
PICKED = (LOGIN + f"scan @PICK\nscan ORD-10011\nscan TOTE-0006\nscan A-01-10-1\nscan {HDMI}\ntype 42\nkey enter\nscan @YES\n")
REPLEN = LOGIN + "key ctrl+e\n"
# ORD-10001: 6 × BATT-AA-4 picked into TOTE-0005, which is then full.
FULL = (LOGIN + "scan @PICK\nscan ORD-10001\nscan TOTE-0005\nscan A-01-08-1\nscan 9501101011410\ntype 6\nkey enter\n"
        "expect Scan bin A-01-09-1\nkey ctrl+t\n")
CARD = REPLEN + "key f4\n"
STATES = {
    "replen-next": (REPLEN + "expect @NEXT for the next replenishment", WAVE),
    "replen-none": (REPLEN + "key f4\nexpect Nothing to replenish", ()),
    "replen-source": (CARD + "expect Scan bin A-01-03-3\nexpect A wave waits for this", WAVE),
    "replen-item": (CARD + "scan A-01-03-3\nexpect Scan item HDMI-2M", WAVE),
    "replen-qty": (CARD + f"scan A-01-03-3\nscan {HDMI}\nexpect Enter = 20", WAVE),
    "replen-face": (CARD + f"scan A-01-03-3\nscan {HDMI}\nkey enter\nexpect Put 20 in face A-01-10-1", WAVE),
    "replen-wrong-face": (CARD + f"scan A-01-03-3\nscan {HDMI}\nkey enter\nscan A-01-03-3\nexpect put it in pick\\s+face", WAVE),
    "replen-short-qty": (CARD + "key f5\nexpect Qty found", WAVE),
    "replen-done": (CARD + f"scan A-01-03-3\nscan {HDMI}\nkey enter\nscan A-01-10-1\nexpect released", WAVE),
    "pick-waiting": (PICKED + "expect WAITING for replenishment", WAVE),
    "pick-full-tote": (FULL + "expect Scan new tote for ORD-10001\nexpect TOTE-0005 full", (("wave", "--orders", "ORD-10001"),)),
    "pick-new-tote": (FULL + "scan TOTE-0009\nexpect ORD-10001 goes on in TOTE-0009\nexpect Into TOTE-0009",
                      (("wave", "--orders", "ORD-10001"),)),
}
SIZES = {"80x24": (80, 24), "40x16": (40, 16)}


@pytest.fixture(scope="module")
def fixed_clock():
    clock.set_clock(dt.datetime.combine(BUILD_DAY, dt.time(9, 0)))
    yield
    clock.reset_clock()


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory, fixed_clock):
    """The demo warehouse built for BUILD_DAY (overrides conftest's), so lots and dates on screen never move."""
    from warehouse_tui.demo import build_demo

    path = tmp_path_factory.mktemp("demo-replen") / "demo.sqlite"
    build_demo(path, today=BUILD_DAY)
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("state", STATES)
def test_screen_state(snap_compare, make_app, demo_path, fixed_clock, capsys, state, size):
    script, setup = STATES[state]
    for command in setup:
        assert cli.main([*command, "--db", str(demo_path), "--terminal", "T1"]) == 0
    capsys.readouterr()
    steps = parse_script(script)
    app = make_app()

    async def drive(pilot):
        await pilot.pause()
        for step in steps:
            failed = await apply_step(pilot.app, pilot, step)
            assert failed is None, failed
        await pilot.pause()
        assert screen_text(pilot.app)

    assert snap_compare(app, terminal_size=SIZES[size], run_before=drive)
