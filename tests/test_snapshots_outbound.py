"""Snapshot tests: every screen state of pick, pack, count and supervisor at 80x24 and 40x16.

Each state is set up by CLI commands run in process on a copy of the demo
warehouse (`wave`, `count create`), then reached by a replay script (DESIGN §7)
through the simulated scanner; its `expect` lines prove the snapshot shows the
state it is named for. Update with `pytest --snapshot-update` and look at every
SVG you accept (tests/__snapshots__/test_snapshots_outbound/).

Stable SVGs: the clock stands at a fixed day for this module and the demo is
built for it, so its lot codes (SU9348A) and expiry dates are the same on every
run, whatever the real date; the supervisor queue's "raised at"
time is pinned before the queue is read; and each test checks that no date of
the real calendar is on screen and that the status line's unsynced count is the
database's (a stale one would change at the app's next 2 s tick).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, func, select, update

from warehouse_tui import cli, clock
from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import OutboxEntry, WarehouseException
from warehouse_tui.replay import apply_step, parse_script, screen_text

BUILD_DAY = dt.date(2040, 1, 1)  # the clock's day in this module (see `fixed_clock`)
RAISED_AT = dt.datetime(2040, 1, 1, 8, 30)

LOGIN = "scan U1001\ntype 1234\nkey enter\n"
SUPERVISOR = "scan S9001\ntype 9999\nkey enter\n"
BATT = "9501101011410"  # BATT-AA-4: 78 in pick face A-01-08-1
USBC = "9501101011571"  # USBC-1M: pick face A-01-09-1
TAPE = "09501101010031"  # TAPE-48: the books hold 13 in A-01-01-1
DRILL = "09501101012363"  # DRILL-18V, not on ORD-10001
BOTTLE = "09501101014886"  # BOTTLE-750: 12 on ORD-10007, in B-01-09-1
SUNSCREEN = "09501101016163"  # SUNSCREEN-50: lot SU9348A in pick face B-02-06-1, SU9348B in reserve

WAVE_1 = (("wave", "--orders", "ORD-10001"),)
WAVE_7 = (("wave", "--orders", "ORD-10007"),)
BLIND_COUNT = (("count", "create", "--bins", "A-01-01-1", "--blind"),)
NO_BOOK = (r"Book", r"\b13\b")  # a blind count never shows the book (13 × TAPE-48)
# ORD-10001 picked into TOTE-0005 and taken to PACK-01 (as in pick-order.replay).
PICKED_1 = (LOGIN + f"scan @PICK\nscan ORD-10001\nscan TOTE-0005\nscan A-01-08-1\nscan {BATT}\ntype 6\nkey enter\n"
            f"scan A-01-09-1\nscan {USBC}\ntype 1\nkey enter\nkey f2\nexpect Take the totes to PACK-01\n")
PACKING_1 = PICKED_1 + "scan @PACK\nscan TOTE-0005\n"
ALL_PACKED_1 = PACKING_1 + f"type 6\nkey enter\nscan {BATT}\nscan {USBC}\nexpect @CLOSE the carton\n"
# A blind count of A-01-01-1 that stays 3 short after the recount: a variance in the supervisor queue.
VARIANCE = (LOGIN + f"scan @COUNT\nscan A-01-01-1\nscan {TAPE}\ntype 10\nkey enter\nscan @DONE\n"
            f"scan {TAPE}\ntype 10\nkey enter\nscan @DONE\nexpect differs: to supervisor\nscan @LOGOUT\n")
# ORD-10007: the bottles picked, then at the allocated lot of sunscreen.
SUNSCREEN_LOT = (LOGIN + f"scan @PICK\nscan ORD-10007\nscan TOTE-0007\nscan B-01-09-1\nscan {BOTTLE}\ntype 12\nkey enter\n"
                 f"scan B-02-06-1\nscan {SUNSCREEN}\n")
LOCK_U1001 = "scan U1001\ntype 0000\nkey enter\n" * 5 + "expect badge U1001 is now\n"


@dataclass(frozen=True)
class State:
    script: str
    setup: tuple[tuple[str, ...], ...] = ()
    absent: tuple[str, ...] = ()  # regexes that must NOT be on screen


STATES = {
    # ---------------------------------------------------------------- pick
    "pick-list": State(LOGIN + "scan @PICK\nexpect Scan pick list or order", WAVE_1),
    "pick-tote": State(LOGIN + "scan @PICK\nscan ORD-10001\nexpect Scan tote for ORD-10001", WAVE_1),
    "pick-bin": State(LOGIN + "scan @PICK\nscan ORD-10001\nscan TOTE-0005\nexpect Scan bin A-01-08-1\nexpect task 1/2", WAVE_1),
    "pick-item": State(LOGIN + "scan @PICK\nscan ORD-10001\nscan TOTE-0005\nscan A-01-08-1\nexpect Scan item BATT-AA-4", WAVE_1),
    "pick-qty": State(LOGIN + f"scan @PICK\nscan ORD-10001\nscan TOTE-0005\nscan A-01-08-1\nscan {BATT}\n"
                      r"expect Qty \+ Enter \(6 to pick\)", WAVE_1),
    "pick-too-many": State(LOGIN + f"scan @PICK\nscan ORD-10001\nscan TOTE-0005\nscan A-01-08-1\nscan {BATT}\n"
                           "type 7\nkey enter\nexpect Only 6 to pick here", WAVE_1),
    "pick-lot": State(SUNSCREEN_LOT + "expect Scan lot SU9348A", WAVE_7),
    "pick-wrong-lot": State(SUNSCREEN_LOT + "scan SU9348B\nexpect Wrong lot SU9348B — pick lot SU9348A\n"
                            "expect Scan lot SU9348A", WAVE_7),
    "pick-short-qty": State(LOGIN + "scan @PICK\nscan ORD-10001\nscan TOTE-0005\nkey f5\nexpect Qty found", WAVE_1),
    "pick-zero-check": State(
        # 72 of the 78 in A-01-08-1 moved up to reserve: the 6 picked leave the pick face empty by the books.
        LOGIN + f"scan @MOVE\nscan A-01-08-1\nscan {BATT}\ntype 72\nkey enter\nscan A-01-08-2\nexpect Moved 72\n"
        f"scan @PICK\nscan ORD-10001\nscan TOTE-0005\nscan A-01-08-1\nscan {BATT}\ntype 6\nkey enter\n"
        "expect Bin A-01-08-1 empty\\?\nexpect Picked 6 EA", WAVE_1),
    "pick-all-picked": State(LOGIN + f"scan @PICK\nscan ORD-10001\nscan TOTE-0005\nscan A-01-08-1\nscan {BATT}\ntype 6\nkey enter\n"
                             f"scan A-01-09-1\nscan {USBC}\ntype 1\nkey enter\nexpect All picked", WAVE_1),
    "pick-list-done": State(PICKED_1 + "expect PL-00001 done", WAVE_1),
    # ---------------------------------------------------------------- pack
    "pack-document": State(PICKED_1 + "scan @PACK\nexpect Scan tote or order", WAVE_1),
    "pack-item": State(PACKING_1 + "expect Packing ORD-10001", WAVE_1),
    "pack-count-typed": State(PACKING_1 + "type 3\nkey enter\nexpect Scan item — packs 3", WAVE_1),
    "pack-progress": State(PACKING_1 + f"type 3\nkey enter\nscan {BATT}\nexpect Packed 3 × BATT-AA-4", WAVE_1),
    "pack-not-on-order": State(PACKING_1 + f"scan {DRILL}\nexpect DRILL-18V is not on ORD-10001", WAVE_1),
    "pack-one-too-many": State(ALL_PACKED_1 + f"scan {BATT}\nexpect needs 6 BATT-AA-4", WAVE_1),
    "pack-weight": State(ALL_PACKED_1 + "key f7\nexpect Carton weight kg", WAVE_1),
    "pack-carton-closed": State(ALL_PACKED_1 + "key f7\ntype 2.5\nkey enter\nexpect SSCC 009501100000000011", WAVE_1),
    "pack-shipped": State(ALL_PACKED_1 + "key f7\ntype 2.5\nkey enter\nscan @DONE\nexpect Shipped ORD-10001", WAVE_1),
    # ---------------------------------------------------------------- count
    "count-start": State(LOGIN + "scan @COUNT\nexpect Scan bin or @NEXT\nexpect 1 count task", BLIND_COUNT),
    "count-blind-item": State(LOGIN + "scan @COUNT\nkey f4\nexpect Bin A-01-01-1 · blind\nexpect Scan item or LPN",
                              BLIND_COUNT, absent=NO_BOOK),
    "count-book-item": State(LOGIN + "scan @COUNT\nkey f4\nexpect Book:\nexpect TAPE-48 13",
                             (("count", "create", "--bins", "A-01-01-1"),)),
    "count-qty": State(LOGIN + f"scan @COUNT\nkey f4\nscan {TAPE}\nexpect Qty of TAPE-48",
                       BLIND_COUNT, absent=NO_BOOK),
    "count-counted": State(LOGIN + f"scan @COUNT\nkey f4\nscan {TAPE}\ntype 5\nkey enter\nscan {TAPE}\ntype 7\nkey enter\n"
                           r"expect Counted 7 × TAPE-48 \(12 in all\)",
                           BLIND_COUNT, absent=NO_BOOK),
    "count-recount": State(LOGIN + f"scan @COUNT\nkey f4\nscan {TAPE}\ntype 12\nkey enter\nscan @DONE\n"
                           "expect Recount A-01-01-1: counts differ\nexpect RECOUNT",
                           BLIND_COUNT, absent=NO_BOOK),
    "count-closed": State(LOGIN + f"scan @COUNT\nkey f4\nscan {TAPE}\ntype 12\nkey enter\nscan @DONE\n"
                          f"scan {TAPE}\ntype 13\nkey enter\nscan @DONE\nexpect A-01-01-1 matches the books — closed",
                          BLIND_COUNT),
    "count-to-supervisor": State(VARIANCE.removesuffix("scan @LOGOUT\n")),
    # ---------------------------------------------------------------- supervisor
    "supervisor-queue": State(VARIANCE + SUPERVISOR + "scan @SUPERVISOR\nexpect 1/1 variance A-01-01-1\n"
                              r"expect book 13 counted 10 \(-3\)"),
    "supervisor-reject-reason": State(VARIANCE + SUPERVISOR + "scan @SUPERVISOR\nkey f10\nexpect Why rejected\\?"),
    "supervisor-rejected": State(VARIANCE + SUPERVISOR + "scan @SUPERVISOR\nkey f10\ntype Found 3 in overstock\nkey enter\n"
                                 "expect Rejected A-01-01-1 — stock unchanged"),
    # @YES scanned, not F9: a command key leaves the unsynced count stale until the next tick (app.run_command).
    "supervisor-approved": State(VARIANCE + SUPERVISOR + "scan @SUPERVISOR\nscan @YES\nexpect Approved: 1 adjustment"),
    "supervisor-history": State(VARIANCE + SUPERVISOR + "scan @SUPERVISOR\nscan @YES\ntype h\nkey enter\n"
                                "expect appr variance A-01-01-1"),
    "supervisor-operator-refused": State(LOGIN + "scan @SUPERVISOR\nexpect Supervisors only"),
    "supervisor-queue-empty": State(SUPERVISOR + "scan @SUPERVISOR\nexpect Queue empty"),
    "supervisor-create-counts": State(SUPERVISOR + "scan @SUPERVISOR\ntype c\nkey enter\nscan A-01-01-1\nscan A-01-01-2\nkey f8\n"
                                      "expect Bins: A-01-01-1, A-01-01-2\nexpect Blind: yes"),
    "supervisor-counts-created": State(SUPERVISOR + "scan @SUPERVISOR\ntype c\nkey enter\nscan A-01-01-1\nscan A-01-01-2\nkey f8\n"
                                       "key f2\nexpect Created 2 blind count task\\(s\\)"),
    "supervisor-unlock": State(LOCK_U1001 + SUPERVISOR + "scan @SUPERVISOR\ntype u\nkey enter\nexpect Scan badge to unlock\n"
                               "expect Locked: U1001"),
    "supervisor-unlocked": State(LOCK_U1001 + SUPERVISOR + "scan @SUPERVISOR\ntype u\nkey enter\nscan U1001\n"
                                 "expect Badge U1001 unlocked"),
}
SIZES = {"80x24": (80, 24), "40x16": (40, 16)}
ISO_DATE = re.compile(r"\b(\d{4})-\d\d-\d\d\b")


@pytest.fixture(scope="module", autouse=True)
def fixed_clock():
    """The app's clock runs from 09:00 on BUILD_DAY for this module, whatever the real date."""
    clock.set_clock(dt.datetime.combine(BUILD_DAY, dt.time(9, 0)))
    yield
    clock.reset_clock()


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory, fixed_clock):
    """The demo warehouse built for BUILD_DAY (overrides conftest's, built for today)."""
    from warehouse_tui.demo import build_demo

    path = tmp_path_factory.mktemp("demo-outbound") / "demo.sqlite"
    build_demo(path, today=BUILD_DAY)
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def calendar_on_screen(text: str) -> list[str]:
    """Dates of the real calendar on screen, which the app's clock (fixed here) would never show:
    the real today, or any ISO date before the build day's year. Something reading the real clock."""
    today = dt.date.today()  # deliberately the real clock, not warehouse_tui.clock
    found = [m.group(0) for m in ISO_DATE.finditer(text) if int(m.group(1)) < BUILD_DAY.year]
    if (today.month, today.day) != (BUILD_DAY.month, BUILD_DAY.day):  # on a real 1 January the build day's date is expected
        found += re.findall(rf"\b{today:%y%m%d}\b|\b{today:%d %b}\b", text)
    return found


def unsynced_in_db(db: Database) -> int:
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(OutboxEntry).where(OutboxEntry.pushed_at.is_(None))) or 0


def pin_raised_at(db: Database) -> None:
    """The queue shows when each exception was raised: pin it, so the snapshot does not move with the clock."""
    with db.transaction() as session:
        session.execute(update(WarehouseException).values(created_at=RAISED_AT))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("state", STATES)
def test_screen_state(snap_compare, make_app, demo_path, tmp_path, capsys, state, size):
    spec = STATES[state]
    for command in spec.setup:
        assert cli.main([*command, "--db", str(demo_path), "--terminal", "T1"]) == 0
    capsys.readouterr()
    steps = parse_script(spec.script)
    app = make_app(label_dir=str(tmp_path / "labels"))

    async def drive(pilot):
        await pilot.pause()
        for step in steps:
            if step.verb == "scan" and step.arg == "@SUPERVISOR":
                pin_raised_at(pilot.app.terminal.db)
            failed = await apply_step(pilot.app, pilot, step)
            assert failed is None, failed
        await pilot.pause()
        text = screen_text(pilot.app)
        for pattern in spec.absent:
            assert not re.search(pattern, text), f"{pattern!r} must not be on screen:\n{text}"
        assert not calendar_on_screen(text), f"a date that moves with the clock on screen:\n{text}"
        # The status line's unsynced count is exact now; a stale one would change at the next 2 s tick.
        assert pilot.app.unsynced == unsynced_in_db(pilot.app.terminal.db), text

    assert snap_compare(app, terminal_size=SIZES[size], run_before=drive)
