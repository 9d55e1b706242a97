"""A confirmed scan survives kill -9 (DESIGN §3): the commit is durable before "ok" is shown."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

from sqlalchemy import func, select

from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import Movement, OutboxEntry, Quant
from warehouse_tui.services.check import run_checks

# One receipt per transaction through the real Database and ledger, confirmed after commit,
# as a receiving screen confirms a scan.
RECEIVER = textwrap.dedent("""
    import sys
    from warehouse_tui.db.engine import Database
    from warehouse_tui.services import masterdata as md
    from warehouse_tui.services.ledger import Actor, post

    db = Database(sys.argv[1])
    with db.transaction() as s:
        md.add_bin(s, "RCV-01", kind="receiving")
        md.add_item(s, "PLAIN")
        md.add_item(s, "SERIAL", tracking="serial")
    actor = Actor(None, "T1")
    n = 0
    while True:
        with db.transaction() as s:
            rcv = md.bin_by_code(s, "RCV-01")
            post(s, actor, kind="receipt", item=md.item_by_sku(s, "PLAIN"), qty=1, to_bin=rcv, doc_ref=f"R{n + 1}")
            post(s, actor, kind="receipt", item=md.item_by_sku(s, "SERIAL"), qty=1, serial=f"SN{n + 1}", to_bin=rcv,
                 doc_ref=f"R{n + 1}")
        n += 1
        print(f"ok {n}", flush=True)
""")

CONFIRMED_BEFORE_KILL = 50


def test_every_confirmed_receipt_survives_kill_9(tmp_path):
    path = tmp_path / "warehouse.sqlite"
    child = subprocess.Popen([sys.executable, "-c", RECEIVER, str(path)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    confirmed = 0
    deadline = time.monotonic() + 60
    try:
        for line in child.stdout:
            assert line.startswith("ok "), line
            confirmed = int(line.split()[1])
            if confirmed >= CONFIRMED_BEFORE_KILL or time.monotonic() > deadline:
                break
        # Kill in the middle of the stream of commits, not between runs.
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        # Through the same buffered reader: lines it already read ahead are not lost.
        rest, errors = child.stdout.read(), child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL, errors
    for line in rest.splitlines():  # confirmations already in the pipe when the kill landed
        if line.startswith("ok "):
            confirmed = int(line.split()[1])
    assert confirmed >= CONFIRMED_BEFORE_KILL, f"only {confirmed} confirmations before the deadline: {errors}"

    # The file is left as the kill left it (WAL and all): opening it recovers the WAL.
    db = Database(path)
    try:
        with db.reading() as s:
            refs = set(s.scalars(select(Movement.doc_ref)))
            movements = s.scalar(select(func.count()).select_from(Movement))
            # Every confirmed receipt is there; at most the one in flight beyond it.
            assert {f"R{i}" for i in range(1, confirmed + 1)} <= refs
            assert refs <= {f"R{i}" for i in range(1, confirmed + 2)}
            assert movements in (2 * confirmed, 2 * confirmed + 2)
            assert s.scalar(select(func.count()).select_from(OutboxEntry)) == movements
            assert s.scalar(select(func.sum(Quant.qty))) == movements
            report = run_checks(s)
            assert report.ok, report.render()
    finally:
        db.dispose()
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        con.close()
