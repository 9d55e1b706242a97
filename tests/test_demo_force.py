"""`demo --force` builds the new warehouse beside the old one and swaps it in whole (issue 10).

The old database is never deleted before the new one is complete: a build that
dies half-way (killed, disk full) leaves the old warehouse as it was, and a
finished build never inherits the old file's WAL.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

from test_cli_check import run_cli, stocked  # noqa: F401  (stocked is a fixture)


def bins_in(path) -> int:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return con.execute("SELECT count(*) FROM bins").fetchone()[0]
    finally:
        con.close()


def warehouse_of(path, demo_bins: int | None = None) -> tuple[str, int]:
    """Which warehouse the file holds ("old" with the test's PLAIN item, "demo" with all `demo_bins` of the demo) and its movements."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        skus = {row[0] for row in con.execute("SELECT sku FROM items")}
        bins = con.execute("SELECT count(*) FROM bins").fetchone()[0]
        movements = con.execute("SELECT count(*) FROM movements").fetchone()[0]
    finally:
        con.close()
    if "PLAIN" in skus:
        return "old", movements
    return ("demo" if bins == demo_bins else f"partial ({bins} bins)"), movements


def test_a_demo_build_killed_half_way_leaves_the_old_warehouse_whole(tmp_path, stocked):
    # given a warehouse, and `demo --force` started over it
    assert warehouse_of(stocked)[0] == "old"
    inode = stocked.stat().st_ino
    building = stocked.parent / (stocked.name + ".building")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAREHOUSE_")}
    env.update(HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "home/.config"),
               XDG_DATA_HOME=str(tmp_path / "home/.local/share"))
    proc = subprocess.Popen([sys.executable, "-m", "warehouse_tui.cli", "demo", "--force", "--no-open", "--db", str(stocked)],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        # when it is killed while the new warehouse is being written (its file beside, or the old one replaced)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if building.exists() or not stocked.exists() or stocked.stat().st_ino != inode:
                break
            time.sleep(0.005)
        time.sleep(0.3)  # well into the build (about 1.5 s long), before it is finished
        assert proc.poll() is None, "the build finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    # then the file is still the old warehouse, whole
    assert warehouse_of(stocked)[0] == "old"
    result = run_cli(tmp_path, "check", "--db", str(stocked))
    assert result.returncode == 0, result.stdout + result.stderr


def test_demo_force_replaces_the_warehouse_and_drops_the_old_wal(tmp_path, stocked, demo_template):
    # given a warehouse whose last commits are still only in its WAL (a process that ended without a checkpoint)
    writer = ("import os, sqlite3, sys\n"
              "con = sqlite3.connect(sys.argv[1]); con.execute('PRAGMA wal_autocheckpoint = 0')\n"
              "con.execute(\"INSERT INTO bins (code, barcode, zone, kind, pick_seq, blocked) VALUES ('OLD-WAL', 'OLD-WAL', 'Z', 'storage', 1, 0)\")\n"
              "con.commit(); os._exit(0)\n")
    subprocess.run([sys.executable, "-c", writer, str(stocked)], check=True, timeout=60)
    wal = stocked.parent / (stocked.name + "-wal")
    assert wal.exists() and wal.stat().st_size > 0
    # when the demo is built over it
    result = run_cli(tmp_path, "demo", "--force", "--no-open", "--db", str(stocked))
    assert result.returncode == 0, result.stderr
    # then the file is the demo warehouse alone, sound, with nothing of the old WAL replayed into it
    assert warehouse_of(stocked, demo_bins=bins_in(demo_template))[0] == "demo"
    con = sqlite3.connect(stocked)
    try:
        assert con.execute("SELECT count(*) FROM bins WHERE code = 'OLD-WAL'").fetchone()[0] == 0
    finally:
        con.close()
    checked = run_cli(tmp_path, "check", "--db", str(stocked))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert not (stocked.parent / (stocked.name + ".building")).exists()
