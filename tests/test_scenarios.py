"""Every replay scenario in tests/scenarios runs against a fresh copy of the demo warehouse.

A scenario is a replay script (DESIGN §7) named for its workflow
(login-*.replay, receive-*.replay, pick-*.replay …); every *.replay file in the
folder is picked up. A leading comment `# size: 40x16` runs it at that size,
`# size: both` at 80x24 and 40x16; the default is 80x24. The scripts run in
process through warehouse_tui.replay, with the real app and the simulated
scanner; a failed `expect` fails the test with the line, the regex and the
screen as the operator saw it. After every scenario the ledger invariants must
still hold. See tests/scenarios/README.md.

Scripts are fixed text (they type expiry dates such as 351231): they run on a
demo built for conftest's SCREEN_CLOCK with the app's clock there, so none of
them turns into a refusal on the day the calendar passes a date it types.
"""

from __future__ import annotations

import asyncio
import re
import shlex
from pathlib import Path

import pytest

from drivers.sim import SimScanner
from warehouse_tui.app import WarehouseApp
from warehouse_tui.config import Settings
from warehouse_tui.db.engine import Database
from warehouse_tui import cli
from warehouse_tui.replay import parse_script, parse_size, run_steps
from warehouse_tui.services.check import run_checks

SCENARIOS = Path(__file__).parent / "scenarios"
DEFAULT_SIZE = "80x24"
BOTH = ("80x24", "40x16")
_SIZE_LINE = re.compile(r"#\s*size:\s*(\S+)\s*$")


def declared_sizes(text: str) -> tuple[str, ...]:
    """The sizes a scenario asks for in its leading comment block (`# size: 40x16` or `# size: both`)."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break
        if m := _SIZE_LINE.fullmatch(stripped):
            value = m.group(1).lower()
            if value == "both":
                return BOTH
            parse_size(value)  # a bad size is a bad scenario: fail loudly at collection
            return (value,)
    return (DEFAULT_SIZE,)


def _cases() -> list:
    cases = []
    for path in sorted(SCENARIOS.glob("*.replay")):
        for size in declared_sizes(path.read_text(encoding="utf-8")):
            cases.append(pytest.param(path, size, id=f"{path.stem}@{size}"))
    return cases


def test_scenario_folder_is_not_empty():
    assert _cases(), f"no *.replay scenarios found in {SCENARIOS}"


def test_size_header_is_read_from_the_leading_comments():
    assert declared_sizes("# what it does\n# size: 40x16\nscan U1001\n") == ("40x16",)
    assert declared_sizes("# size: both\n") == BOTH
    assert declared_sizes("scan U1001\n# size: 40x16\n") == (DEFAULT_SIZE,)  # only the leading block counts
    assert declared_sizes("# no size here\nscan U1001\n") == (DEFAULT_SIZE,)


def setup_commands(text: str) -> list[list[str]]:
    """`# setup: wave --orders ORD-10001` lines of the leading comment block: CLI commands run before the replay."""
    commands = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            break
        if stripped.startswith("# setup:"):
            commands.append(shlex.split(stripped.removeprefix("# setup:")))
    return commands


def test_setup_lines_are_read_from_the_leading_comments():
    assert setup_commands("# setup: wave --orders A,B\n# size: both\nscan X\n# setup: check\n") == [["wave", "--orders", "A,B"]]


@pytest.fixture
def demo_template(screen_day_demo_template: Path) -> Path:
    """Scenarios run on the demo built for SCREEN_CLOCK (overrides conftest's, built for today)."""
    return screen_day_demo_template


@pytest.mark.parametrize(("script", "size"), _cases())
def test_scenario(script: Path, size: str, demo_path: Path, tmp_path: Path, capsys, screen_clock) -> None:
    text = script.read_text(encoding="utf-8")
    steps = parse_script(text)
    for command in setup_commands(text):
        # The real CLI, as a supervisor would run it before the shift.
        code = cli.main([*command, "--db", str(demo_path), "--terminal", "T1"])
        assert code == 0, f"{script.name}: setup {' '.join(command)} failed: {capsys.readouterr()}"
    db = Database(demo_path)
    try:
        settings = Settings(db=str(demo_path), terminal="T1", idle_logout_seconds=0)
        app = WarehouseApp(db, settings, scanner=SimScanner("sim://"), terminal_name="T1", cursor_blink=False)
        result = asyncio.run(run_steps(app, steps, parse_size(size), tmp_path / "screens"))
        if not result.ok:
            pytest.fail(f"{script.name} at {size}: {result.message}\n----- screen -----\n{result.screen}\n------------------",
                        pytrace=False)
        with db.reading() as session:
            report = run_checks(session)
        assert report.ok, f"{script.name} at {size} left the ledger broken:\n{report.render()}"
    finally:
        db.dispose()
