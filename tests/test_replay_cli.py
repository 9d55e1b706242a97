"""`warehouse-tui replay` as a process (DESIGN §7): exit 0 when every expect held, 1 with the screen, 2 on a bad script."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

GOOD = """\
# log in and look at a bin
scan U1001
type 1234
key enter
expect Choose a task
scan @INQUIRY
scan A-01-01-2
expect TAPE-48: 271
snapshot inquiry-bin
"""


def run_replay(script_text: str, tmp_path: Path, db: Path, *, size: str = "40x16") -> subprocess.CompletedProcess:
    script = tmp_path / "script.replay"
    script.write_text(script_text, encoding="utf-8")
    env = {**os.environ, "WAREHOUSE_TERMINAL": "T1", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    env.pop("WAREHOUSE_DB", None)
    return subprocess.run(
        [sys.executable, "-m", "warehouse_tui.cli", "replay", str(script), "--db", str(db), "--size", size,
         "--screens", str(tmp_path / "screens")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env,
    )


def test_good_script_exits_0_and_snapshot_writes_an_svg(tmp_path, demo_path):
    result = run_replay(GOOD, tmp_path, demo_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every expect held" in result.stdout
    assert logins(demo_path) == 1
    svg = tmp_path / "screens" / "inquiry-bin.svg"
    assert svg.is_file()
    text = svg.read_text(encoding="utf-8")
    assert text.lstrip().startswith("<svg") and "A-01-01-2" in text


def test_failed_expect_exits_1_and_prints_the_screen(tmp_path, demo_path):
    result = run_replay("scan U1001\nexpect Welcome back\n", tmp_path, demo_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "line 2: expected /Welcome back/ not on screen" in result.stdout
    # The screen as the operator saw it: the PIN prompt after the badge scan.
    assert "Type PIN + Enter" in result.stdout and "Badge U1001" in result.stdout


LOGIN = "scan U1001\ntype 1234\nkey enter\n"


def logins(db: Path) -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT count(*) FROM audit_events WHERE kind = 'login'").fetchone()[0]
    finally:
        con.close()


@pytest.mark.parametrize(("script", "message"), [
    (LOGIN + "wiggle the mouse\n", "line 4: unknown event 'wiggle'"),
    (LOGIN + "expect (unclosed\n", "line 4: bad regex"),
    (LOGIN + "scan\n", "line 4: scan needs an argument"),
    (LOGIN + "snapshot ../outside\n", "line 4: snapshot name"),
], ids=["unknown-verb", "bad-regex", "missing-arg", "bad-snapshot-name"])
def test_bad_script_exits_2_and_runs_nothing(tmp_path, demo_path, script, message):
    result = run_replay(script, tmp_path, demo_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stdout + result.stderr
    assert logins(demo_path) == 0  # the login lines before the bad one never ran


@pytest.mark.parametrize("size", ["40by16", "10x5"])
def test_bad_size_exits_2(tmp_path, demo_path, size):
    result = run_replay(GOOD, tmp_path, demo_path, size=size)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--size" in result.stderr
