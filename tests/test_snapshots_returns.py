"""Snapshot tests of the @RETURN screens (issue 14) at 80x24 and 40x16, on the demo's shipped ORD-20001 and its RMA-30001.

Each state is reached by a replay script through the simulated scanner, as in
tests/test_snapshots.py. Update with `pytest --snapshot-update` and look at
every SVG you accept (tests/__snapshots__/test_snapshots_returns/).
"""

from __future__ import annotations

import pytest

from warehouse_tui.replay import apply_step, parse_script

LOGIN = "scan U1001\ntype 1234\nkey enter\n"
MUG = "09501101015227"  # MUG-300: 2 shipped on ORD-20001, 1 announced back (NOFIT)
LAPTOP = "09501101012530"  # LAPTOP-14: serial-tracked
SHIPPED_SERIAL = "LT1414260846"  # the laptop that shipped on ORD-20001 (announced back, DOA)
STOCK_SERIAL = "LT1465934948"  # a laptop still on the shelf: it never shipped
RMA = LOGIN + "scan @RETURN\nscan RMA-30001\n"

STATES = {
    "return-source": LOGIN + "scan @RETURN",
    "return-unknown": LOGIN + "scan @RETURN\nscan NO-SUCH-RMA",
    "return-item": RMA,
    "return-grade-early": RMA + "scan @GOOD",
    "return-qty": RMA + f"scan {MUG}",
    "return-grade": RMA + f"scan {MUG}\ntype 1\nkey enter\nscan NOFIT",
    "return-serial": RMA + f"scan {LAPTOP}",
    "return-serial-not-shipped": RMA + f"scan {LAPTOP}\nscan {STOCK_SERIAL}",
    "return-graded": RMA + f"scan {LAPTOP}\nscan {SHIPPED_SERIAL}\nkey ctrl+d",
    "return-summary-short": RMA + f"scan {MUG}\ntype 1\nkey enter\nkey ctrl+g\nscan @DONE",
}
SIZES = {"80x24": (80, 24), "40x16": (40, 16)}


@pytest.fixture
def demo_template(screen_day_demo_template):
    """Screens are taken on the demo built for SCREEN_CLOCK (overrides conftest's, built for today)."""
    return screen_day_demo_template


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("state", STATES)
def test_return_screen_state(snap_compare, make_app, state, size, screen_clock):
    steps = parse_script(STATES[state])

    async def drive(pilot):
        await pilot.pause()
        for step in steps:
            failed = await apply_step(pilot.app, pilot, step)
            assert failed is None, failed
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=SIZES[size], run_before=drive)
