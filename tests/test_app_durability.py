"""A receipt the screen confirmed survives a kill -9 of the app (DESIGN §3: durable before the confirmation shows).

`warehouse-tui replay --trace` drives the real app in a subprocess through a
long blind receipt, one unit per scan; after each scan an `expect` checks the
screen's running count, and the trace prints `line N: expect ok` once it held.
The test reads the trace until about fifty receipts were confirmed, SIGKILLs
the process mid-stream, reopens the database and requires every confirmed
receipt in it, the receipt document in step with the ledger, and every ledger
invariant holding.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading

from sqlalchemy import func, select

from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import InboundLine, InboundOrder, Movement
from warehouse_tui.services.check import run_checks

RECEIPTS = 300
CONFIRMED_BEFORE_KILL = 50
TAPE = "09501101010031"  # TAPE-48, untracked


def long_receipt_script() -> tuple[str, dict[int, int]]:
    """The script and, for each expect line number, how many units its receipt brings the total to."""
    lines = ["scan U1001", "type 1234", "key enter", "expect Choose a task", "scan @RECEIVE", "scan @BLIND",
             "expect Blind receipt"]
    expect_lines: dict[int, int] = {}
    for n in range(1, RECEIPTS + 1):
        lines.append(f"scan ]C101{TAPE}301")  # GS1: the item and qty 1 in one scan, recorded at once
        lines.append(rf"expect Last: 1 × TAPE-48 \({n}\)")
        expect_lines[len(lines)] = n
    return "\n".join(lines) + "\n", expect_lines


def test_every_confirmed_receipt_survives_sigkill(tmp_path, demo_path):
    text, expect_lines = long_receipt_script()
    script = tmp_path / "long-receipt.replay"
    script.write_text(text, encoding="utf-8")
    env = {**os.environ, "WAREHOUSE_TERMINAL": "T1", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    env.pop("WAREHOUSE_DB", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "warehouse_tui.cli", "replay", str(script), "--db", str(demo_path), "--trace"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env,
    )
    watchdog = threading.Timer(120, proc.kill)  # never hang the suite if the trace stops coming
    watchdog.start()
    confirmed = 0
    seen: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            m = re.match(r"line (\d+): expect ok", line)
            if m and int(m.group(1)) in expect_lines:
                confirmed = max(confirmed, expect_lines[int(m.group(1))])
                if confirmed >= CONFIRMED_BEFORE_KILL:
                    os.kill(proc.pid, signal.SIGKILL)
                    break
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        stderr = proc.stderr.read() if proc.stderr else ""
    assert confirmed >= CONFIRMED_BEFORE_KILL, "".join(seen[-20:]) + stderr
    assert proc.returncode == -signal.SIGKILL, f"the replay ended by itself ({proc.returncode}) before the kill"

    db = Database(demo_path)
    try:
        with db.reading() as s:
            blind = s.scalars(select(InboundOrder).where(InboundOrder.kind == "blind")).one()
            received = s.scalar(select(func.coalesce(func.sum(Movement.qty), 0))
                                .where(Movement.kind == "receipt", Movement.doc_ref == blind.ref))
            on_document = s.scalar(select(func.coalesce(func.sum(InboundLine.qty_received), 0))
                                   .where(InboundLine.order_id == blind.id))
            report = run_checks(s)
    finally:
        db.dispose()
    assert received >= confirmed, f"{confirmed} receipts were confirmed on screen, {received} are in the database"
    assert received < RECEIPTS  # the kill really came mid-stream
    assert on_document == received  # the document line moved in the same transactions as the ledger
    assert report.ok, report.render()
