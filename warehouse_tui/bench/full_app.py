"""Full-app figures for `warehouse-tui bench` (DESIGN §9): each runs in its own process.

- scan latency: a GS1 scan through the simulated scanner driver -> resolver ->
  receiving service -> durable SQLite commit -> screen refreshed, timed per scan
  in the real app running headless;
- serial receipts: N serial-numbered units received end to end, one GS1 scan
  (01 + 21) each, as a reader thread hands them over (queued scans are group-committed):
  wall clock and the process's CPU time per scan, and the commits it took;
- serial driver: a frame written to a pseudo-terminal until the app has committed the receipt,
  back to back (`serial_driver_to_commit`: each scan also waits for the previous one's paint) and
  paced (`serial_driver_paced`: the app settles between scans, untimed);
- cold start: process start to the login screen drawn;
- peak resident memory of the app process.

    python -m warehouse_tui.bench.full_app scans DB --samples 500
    python -m warehouse_tui.bench.full_app serials DB --count 10000
    python -m warehouse_tui.bench.full_app serial-driver DB --samples 500 [--paced]
    python -m warehouse_tui.bench.full_app coldstart DB
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import time

T0 = time.perf_counter()  # as early as this module loads: the cold start clock in the child

BENCH_BADGE, BENCH_PIN = "BENCH1", "2468"
PLAIN_ITEMS = 50


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    return {
        "p50_ms": round(pct(50) * 1000, 3),
        "p95_ms": round(pct(95) * 1000, 3),
        "p99_ms": round(pct(99) * 1000, 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
        "samples": len(ordered),
    }


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def prepare(db) -> tuple[list[str], str]:
    """Bench items, a receiving bin and an operator; returns (plain GTINs, serial item GTIN)."""
    from sqlalchemy import select

    from warehouse_tui.db.models import Bin, Item, Operator
    from warehouse_tui.scan.gtin import gs1_check_digit
    from warehouse_tui.services import masterdata as md
    from warehouse_tui.services.auth import hash_pin

    def gtin(n: int) -> str:
        # GS1 prefix 29x is for restricted circulation: never a real product, never the dataset's 95x.
        body = f"0299{n:09d}"
        return body + str(gs1_check_digit(body))

    plain = [gtin(i) for i in range(PLAIN_ITEMS)]
    serial = gtin(PLAIN_ITEMS)
    with db.transaction() as s:
        if s.scalars(select(Item).where(Item.sku == "BENCH-SN")).first() is None:
            for i, code in enumerate(plain):
                md.add_item(s, f"BENCH-{i:03d}", gtins=[code], description="bench item")
            md.add_item(s, "BENCH-SN", gtins=[serial], tracking="serial", description="bench serial item")
        if s.scalars(select(Bin).where(Bin.code == "BENCH-RCV")).first() is None:
            md.add_bin(s, "BENCH-RCV", kind="receiving", zone="BENCH")
        if s.scalars(select(Operator).where(Operator.badge == BENCH_BADGE)).first() is None:
            s.add(Operator(badge=BENCH_BADGE, name="Bench", role="operator", pin_hash=hash_pin(BENCH_PIN)))
    return plain, serial


async def _logged_in_blind_receipt(app, pilot) -> None:
    app.scanner.feed(BENCH_BADGE)
    await pilot.pause()
    app.submit_typed(BENCH_PIN)
    await pilot.pause()
    app.scanner.feed("@RECEIVE")
    app.scanner.feed("@BLIND")
    await pilot.pause()
    if "Scan item" not in app.floor.workflow.prompt.text:
        raise RuntimeError(f"bench could not start a blind receipt: {app.floor.workflow.outcome}")


def _app(db_path: str):
    from drivers.sim import SimScanner
    from warehouse_tui.app import WarehouseApp
    from warehouse_tui.config import Settings
    from warehouse_tui.db.engine import Database

    db = Database(db_path)
    settings = Settings(db=db_path, terminal="BENCH", receiving_bin="BENCH-RCV", idle_logout_seconds=0)
    return db, WarehouseApp(db, settings, scanner=SimScanner("sim://"), terminal_name="BENCH", cursor_blink=False)


async def _scans(db_path: str, samples: int) -> dict:
    db, app = _app(db_path)
    plain, _ = prepare(db)
    times, committed = [], []
    async with app.run_test(size=(80, 24)) as pilot:
        await _logged_in_blind_receipt(app, pilot)
        for i in range(samples + 20):
            code = f"01{plain[i % len(plain)]}301"  # GTIN + AI 30 count 1: one scan, one receipt
            t = time.perf_counter()
            app.scanner.feed(code, "C1")  # returns when the receipt is committed and the widgets hold the result
            t_committed = time.perf_counter()
            # Until every widget has handled its refresh and the screen is laid out and painted.
            # (pilot.pause() would add its own idle wait of 20 ms or more, which is the harness,
            # not the app; a real terminal may add up to one 60 Hz frame.)
            await pilot._wait_for_screen()
            app.screen._on_timer_update()
            elapsed = time.perf_counter() - t
            await pilot.pause()  # let the app settle, untimed
            if not app.floor.workflow.outcome.ok:
                raise RuntimeError(f"bench scan refused: {app.floor.workflow.outcome.message}")
            if i >= 20:  # warm-up
                times.append(elapsed)
                committed.append(t_committed - t)
    return {**_percentiles(times), "to_commit": _percentiles(committed), "peak_rss_mb": _peak_rss_mb()}


async def _serials(db_path: str, count: int) -> dict:
    """Serial receipts as a scanner's reader thread delivers them: read one after another, each committed.

    The feeder thread stands where a serial or TCP driver's reader thread stands:
    it hands each scan over and goes back to reading; the app handles them in
    order, one transaction each, and paints at its own frame rate meanwhile, as it
    does on a terminal. Timed until the last receipt is committed and shown.
    """
    import asyncio

    from sqlalchemy import func, select

    from warehouse_tui.db.models import Movement

    db, app = _app(db_path)
    _, serial_gtin = prepare(db)
    stamp = int(time.time())
    prefix = f"B{stamp}-"

    def feeder() -> None:
        for i in range(count):
            app.scanner.feed(f"01{serial_gtin}21{prefix}{i:06d}", "C1")

    from sqlalchemy import event

    commits: list[int] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await _logged_in_blind_receipt(app, pilot)
        event.listen(db.engine, "commit", lambda _conn: commits.append(1))
        t, cpu = time.perf_counter(), time.process_time()
        await asyncio.get_running_loop().run_in_executor(None, feeder)
        while app.scans_waiting:
            await asyncio.sleep(0.001)
        await pilot.pause()
        total, cpu = time.perf_counter() - t, time.process_time() - cpu
        last = app.floor.workflow.outcome
    with db.reading() as s:
        received = s.scalar(select(func.count()).select_from(Movement).where(Movement.serial.startswith(prefix)))
    if received != count:
        raise RuntimeError(f"{count - received} serial receipts refused; the last outcome: {last.message if last else '-'}")
    # CPU time beside the wall clock: on a shared machine the wall clock also counts the other processes' turns.
    # Commits: the durable transactions the burst took (fewer than scans when queued scans are group-committed).
    return {"count": count, "seconds": round(total, 2), "per_scan_ms": round(total / count * 1000, 3),
            "cpu_per_scan_ms": round(cpu / count * 1000, 3), "commits": len(commits), "peak_rss_mb": _peak_rss_mb()}


async def _serial_driver(db_path: str, samples: int, paced: bool = False) -> dict:
    """Scan-to-app through the real serial driver: a frame written to a pseudo-terminal (the scanner's
    side) until the app has committed the receipt; the driver's reader thread hands it over.

    Back to back (the default) each frame is written as soon as the previous one is committed, while
    the app still paints that one's result: the time includes waiting for that paint. `paced` lets the
    app settle (paint, idle) between scans, untimed, as a receiver's scans a second or so apart find it.
    """
    import asyncio
    import os
    import pty
    import tty

    from drivers.registry import scanner_for

    master, slave = pty.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    db, _ = _app(db_path)
    plain, _ = prepare(db)
    from warehouse_tui.app import WarehouseApp
    from warehouse_tui.config import Settings

    settings = Settings(db=db_path, terminal="BENCH", receiving_bin="BENCH-RCV", idle_logout_seconds=0)
    app = WarehouseApp(db, settings, scanner=scanner_for(f"serial://{path}?baud=115200&suffix=CR"), terminal_name="BENCH",
                       cursor_blink=False)
    handled: list[float] = []
    original = app.handle_raw

    def timed_handle(raw, **kwargs):
        outcome = original(raw, **kwargs)
        handled.append(time.perf_counter())
        return outcome

    app.handle_raw = timed_handle
    times = []
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            deadline = time.monotonic() + 10
            while app.terminal.scanner_state != "connected" and time.monotonic() < deadline:
                await pilot.pause(0.05)

            async def scan(text: str) -> float:
                count = len(handled)
                t = time.perf_counter()
                os.write(master, text.encode() + b"\r")
                while len(handled) == count:
                    await asyncio.sleep(0.0005)
                return handled[-1] - t

            for text in (BENCH_BADGE,):
                await scan(text)
            app.submit_typed(BENCH_PIN)
            await scan("@RECEIVE")
            await scan("@BLIND")
            for i in range(samples + 20):
                elapsed = await scan(f"]C101{plain[i % len(plain)]}301")
                if not app.floor.workflow.outcome.ok:
                    raise RuntimeError(f"bench scan refused: {app.floor.workflow.outcome.message}")
                if i >= 20:
                    times.append(elapsed)
                if paced:
                    await pilot.pause()  # the screen painted and the app idle again, untimed
    finally:
        os.close(master)
        os.close(slave)
    return {**_percentiles(times), "peak_rss_mb": _peak_rss_mb()}


async def _picks(workdir: str) -> dict:
    """Pick scans through the full app on the demo warehouse with every order waved: each bin, item, lot,
    serial and qty entry timed from the scan to the painted screen (the receipt figure's method)."""
    import shutil
    from pathlib import Path

    from sqlalchemy import select

    from warehouse_tui.db.engine import Database
    from warehouse_tui.db.models import ItemCode, SerialUnit
    from warehouse_tui.demo import build_demo
    from warehouse_tui.services.ledger import Actor
    from warehouse_tui.services.waves import release_from_cli

    path = Path(workdir) / "bench-picks.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    build_demo(path)
    # Every order waved, as `warehouse-tui wave` does it (the service, not the command line: bench sits below cli).
    waving = Database(path, create=False)
    try:
        print(release_from_cli(waving, None, None, Actor(None, "BENCH")))
    finally:
        waving.dispose()
    db, app = _app(str(path))
    times: dict[str, list[float]] = {}

    async def timed(state: str, action) -> None:
        t = time.perf_counter()
        action()
        await pilot._wait_for_screen()
        app.screen._on_timer_update()
        times.setdefault(state, []).append(time.perf_counter() - t)
        await pilot.pause()

    async with app.run_test(size=(80, 24)) as pilot:
        app.scanner.feed("U1001")
        app.submit_typed("1234")
        app.scanner.feed("@PICK")
        await pilot.pause()
        totes = iter(f"TOTE-{n:04d}" for n in range(1, 21))
        for _ in range(2000):
            wf = app.floor.workflow
            state, task = wf.state, getattr(wf, "task", None)
            if state == "list":
                app.scanner.feed("@NEXT")
                await pilot.pause()
                if wf.state == "list":  # nothing left to pick
                    break
            elif state == "tote":
                app.scanner.feed(next(totes))
                await pilot.pause()
            elif state == "bin":
                await timed("bin", lambda: app.scanner.feed(task.bin_code))
            elif state == "item":
                with db.reading() as s:
                    code = s.scalars(select(ItemCode.code).where(ItemCode.item_id == task.item_id, ItemCode.kind == "gtin")).first()
                await timed("item", lambda: app.scanner.feed(code))
            elif state == "lot":
                await timed("lot", lambda: app.scanner.feed(task.lot_code))
            elif state == "expiry":
                await timed("expiry", lambda: app.submit_typed(f"{task.expiry:%y%m%d}"))
            elif state == "serial":
                with db.reading() as s:
                    serial = s.scalars(select(SerialUnit.serial).where(SerialUnit.item_id == task.item_id, SerialUnit.status == "in_stock",
                                                                     SerialUnit.container_id.is_(None))).first()
                await timed("serial", lambda: app.scanner.feed(serial))
            elif state == "qty":
                await timed("qty", lambda: app.submit_typed(str(task.remaining)))
            elif state == "zero":
                await timed("zero", lambda: app.scanner.feed("@YES"))
            elif state == "done":
                app.scanner.feed("@DONE")
                await pilot.pause()
            else:
                raise RuntimeError(f"pick bench: unexpected state {state}: {wf.outcome}")
            if wf.outcome is not None and not wf.outcome.ok and state != "list":
                raise RuntimeError(f"pick bench: {state} refused: {wf.outcome.message}")
    shutil.rmtree(Path(workdir) / "labels", ignore_errors=True)
    every = [t for ts in times.values() for t in ts]
    return {**_percentiles(every), "by_prompt": {k: _percentiles(v) for k, v in times.items()}, "peak_rss_mb": _peak_rss_mb()}


async def _coldstart(db_path: str) -> dict:
    _, app = _app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        if "Scan your badge" not in app.floor.workflow.prompt.text:
            raise RuntimeError("login screen not shown")
        ready = time.perf_counter() - T0
    return {"seconds_after_imports_started": round(ready, 3), "peak_rss_mb": _peak_rss_mb()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m warehouse_tui.bench.full_app")
    parser.add_argument("what", choices=("scans", "serials", "coldstart", "serial-driver", "picks"))
    parser.add_argument("db")
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--paced", action="store_true", help="serial-driver: let the app settle between scans (untimed)")
    args = parser.parse_args(argv)
    if args.what == "scans":
        result = asyncio.run(_scans(args.db, args.samples))
    elif args.what == "picks":
        result = asyncio.run(_picks(args.db))
    elif args.what == "serial-driver":
        result = asyncio.run(_serial_driver(args.db, args.samples, args.paced))
    elif args.what == "serials":
        result = asyncio.run(_serials(args.db, args.count))
    else:
        result = asyncio.run(_coldstart(args.db))
    print(json.dumps(result))
    return 0


def run_child(what: str, db_path: str, *extra: str, env: dict[str, str] | None = None) -> dict:
    """Run one figure in a fresh interpreter; the parent also times the whole process for cold start."""
    import subprocess

    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "warehouse_tui.bench.full_app", what, db_path, *extra],
                          capture_output=True, text=True, check=False, env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"bench {what} failed: {proc.stderr.strip()[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = round(wall, 3)
    return result


def run_coldstart(db_path: str, starts: int = 3) -> dict:
    """Cold start to the login screen as an installed app starts: its modules' bytecode already compiled.

    pip compiles a wheel's modules when it installs them; a source checkout run under
    PYTHONDONTWRITEBYTECODE (as some shells set it) compiles every module of the app at every
    start instead (measured: a sixth of the start's CPU). The first start here runs without that
    variable, so Python writes what bytecode is missing (into the usual __pycache__ folders), and
    is reported as `first_start_s`; the figure is the median of the `starts` after it, each a
    fresh interpreter.
    """
    import os

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    first = run_child("coldstart", db_path, env=env)
    runs = [run_child("coldstart", db_path, env=env) for _ in range(starts)]
    walls = [r["process_wall_s"] for r in runs]
    middle = runs[walls.index(sorted(walls)[len(walls) // 2])]
    return {**middle, "starts_s": walls, "first_start_s": first["process_wall_s"]}

if __name__ == "__main__":
    sys.exit(main())
