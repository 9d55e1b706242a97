"""Snapshot tests: every screen state of login, receive, putaway, move and inquiry at 80x24 and 40x16.

Each state is reached by a replay script (DESIGN §7) on a copy of the demo
warehouse, through the simulated scanner. Update with `pytest --snapshot-update`
and look at every SVG you accept (tests/__snapshots__/test_snapshots/).
Screens never show build-day-relative dates, so the SVGs are stable; and they
run on a demo built for conftest's SCREEN_CLOCK with the app's clock there, so
the expiry they type (351231) is never refused as past.
"""

from __future__ import annotations

import pytest

from warehouse_tui.replay import apply_step, parse_script

LOGIN = "scan U1001\ntype 1234\nkey enter\n"
PASSATA = "9501101017467"  # EAN-13 of PASSATA-700 (lot-tracked, expiry), stored as GTIN-14
STOVE = "05901234021357"  # NO-STOVE, serial-tracked, on ASN-2001
PAPER_CASE = "19501101010205"  # PAPER-A4, GTIN-14 of a case; 2 cases lie loose in RCV-01
TAPE = "09501101010031"
PALLET_SSCC = "359012340000778016"  # the SSCC pallet of tape waiting in RCV-01

STATES = {
    "login-badge": "",
    "login-pin": "scan U1001",
    "login-wrong-pin": "scan U1001\ntype 0000\nkey enter",
    "home": LOGIN,
    "receive-document": LOGIN + "scan @RECEIVE",
    "receive-item": LOGIN + "scan @RECEIVE\nscan PO-1002",
    "receive-lot": LOGIN + f"scan @RECEIVE\nscan PO-1002\nscan {PASSATA}",
    "receive-expiry": LOGIN + f"scan @RECEIVE\nscan PO-1002\nscan {PASSATA}\nscan LT-0042",
    "receive-qty": LOGIN + f"scan @RECEIVE\nscan PO-1002\nscan {PASSATA}\nscan LT-0042\ntype 351231\nkey enter",
    "receive-qty-refused": LOGIN + f"scan @RECEIVE\nscan PO-1002\nscan {PASSATA}\nscan LT-0042\ntype 351231\nkey enter\ntype 1.5\nkey enter",
    "receive-received": LOGIN + f"scan @RECEIVE\nscan PO-1002\nscan ]C101{PASSATA.zfill(14)}1735123110LT-0042\\x1d305",
    "receive-serial": LOGIN + f"scan @RECEIVE\nscan ASN-2001\nscan {STOVE}",
    "receive-duplicate-serial": LOGIN + f"scan @RECEIVE\nscan ASN-2001\nscan ]C101{STOVE}21ST-1\nscan ]C101{STOVE}21ST-1",
    "receive-over-receipt": LOGIN + "scan @RECEIVE\nscan PO-1002\nscan (01)09501101016415(17)351231(10)OO-NEW(30)61",
    "receive-supervisor-pin": LOGIN + "scan @RECEIVE\nscan PO-1002\nscan (01)09501101016415(17)351231(10)OO-NEW(30)61\nscan S9001",
    "receive-unknown-scan": LOGIN + "scan @RECEIVE\nscan PO-1002\nscan GARBAGE-XYZ",
    "receive-summary": LOGIN + f"scan @RECEIVE\nscan PO-1002\nscan ]C101{PASSATA.zfill(14)}1735123110LT-0042\\x1d305\nscan @DONE",
    "putaway-qty": LOGIN + f"scan @PUTAWAY\nscan {PAPER_CASE}",
    "putaway-bin": LOGIN + f"scan @PUTAWAY\nscan {PAPER_CASE}\nkey enter",
    "putaway-lpn": LOGIN + f"scan @PUTAWAY\nscan {PALLET_SSCC}",
    "putaway-unknown-bin": LOGIN + f"scan @PUTAWAY\nscan {PAPER_CASE}\nkey enter\nscan Z-99-99-9",
    "move-item": LOGIN + "scan @MOVE\nscan A-01-01-2",
    "move-to": LOGIN + f"scan @MOVE\nscan A-01-01-2\nscan {TAPE}\ntype 10\nkey enter",
    "inquiry-item": LOGIN + f"scan @INQUIRY\nscan {TAPE}",
    "inquiry-bin": LOGIN + "scan @INQUIRY\nscan A-01-01-2",
    "inquiry-lpn": LOGIN + f"scan @INQUIRY\nscan {PALLET_SSCC}",
}
SIZES = {"80x24": (80, 24), "40x16": (40, 16)}


@pytest.fixture
def demo_template(screen_day_demo_template):
    """Screens are taken on the demo built for SCREEN_CLOCK (overrides conftest's, built for today)."""
    return screen_day_demo_template


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("state", STATES)
def test_screen_state(snap_compare, make_app, state, size, screen_clock):
    steps = parse_script(STATES[state])

    async def drive(pilot):
        await pilot.pause()
        for step in steps:
            failed = await apply_step(pilot.app, pilot, step)
            assert failed is None, failed
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=SIZES[size], run_before=drive)
