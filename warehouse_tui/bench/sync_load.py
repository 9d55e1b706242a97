"""The sync under load: many terminals booking and syncing every second against one PostgreSQL upstream.

`measure_load` (a `warehouse-tui bench` figure, and tests/test_sync_load.py at a small size)
builds a scratch upstream with master data, gives each simulated terminal its own SQLite
file, and runs them in a few worker processes, a thread per terminal:

- each pushing terminal books `movements` receipts through `ledger.post` spread over
  `seconds` and runs a full `sync_once` (push, pull, SSCC leases) once a second;
- each pulling terminal books nothing and syncs once a second, then at once again: that
  second sync, with (nearly) nothing new to push or pull, is the "empty sync under load";
- a monitor samples the upstream's waiting locks (pg_locks, not granted) every 50 ms; each push
  transaction's wait for the push lock and its hold until commit are timed in the workers.

Then every terminal syncs until its outbox is empty, and the upstream's movements are
compared with every terminal's outbox: each booked movement upstream exactly once, none
lost, none made up. The terminals share the machine's CPU with the upstream: the figures
are what this machine does, not what 50 real terminals would see.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, text


def _percentile_ms(values: list[float], pct: int) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))] * 1000, 3)


def run_terminals(spec_json: str) -> None:
    """Worker process: run the terminals of the spec, each on its own thread; print their records as JSON."""
    from warehouse_tui.db.engine import Database
    from warehouse_tui.services import masterdata as md
    from warehouse_tui.services.ledger import Actor, post
    from warehouse_tui.sync import install, open_upstream, sync_once

    install()  # each terminal's database gets the sync hooks of its role, as the app gives them
    spec = json.loads(spec_json)
    # Real terminals do not share an interpreter: here a thread back from the network would wait up to
    # (threads x 5 ms) for the GIL, inside the upstream transaction it holds. Hand it over sooner.
    sys.setswitchinterval(0.0005)
    upstream = open_upstream(spec["url"])
    lock_waits: list[float] = []
    lock_holds: list[float] = []
    _time_push_lock(upstream.engine, lock_waits, lock_holds)
    records: dict[str, dict] = {}
    start = spec["start"]

    def terminal(name: str, path: str, role: str, index: int) -> None:
        local = Database(Path(path))
        record = records[name] = {"role": role, "syncs": [], "empty": [], "empty_rows": [], "booked": 0, "late": 0, "errors": []}
        per_second = [spec["movements"] * (s + 1) // spec["seconds"] - spec["movements"] * s // spec["seconds"]
                      for s in range(spec["seconds"])]
        try:
            for second in range(spec["seconds"]):
                delay = start + second + (index % 10) / 10 - time.time()  # the terminals' syncs spread over each second
                if delay > 0:
                    time.sleep(delay)
                else:
                    record["late"] += 1
                if role == "push":
                    with local.transaction() as s:
                        for n in range(per_second[second]):
                            k = index * 7919 + record["booked"]
                            post(s, Actor(None, name), kind="receipt", item=md.item_by_sku(s, f"SKU{k % spec['items']:06d}"), qty=1,
                                 to_bin=md.bin_by_code(s, f"B{k % spec['bins']:06d}"))
                            record["booked"] += 1
                began = time.perf_counter()
                sync_once(local, upstream, name)
                record["syncs"].append(time.perf_counter() - began)
                if role == "pull":
                    began = time.perf_counter()
                    result = sync_once(local, upstream, name)
                    record["empty"].append(time.perf_counter() - began)
                    record["empty_rows"].append(result.pull.rows + result.push.pushed)
            while True:  # drain: whatever is still waiting goes up now
                if sync_once(local, upstream, name).pending == 0:
                    break
        except Exception as exc:  # recorded and reported: a lost terminal must show in the figures
            record["errors"].append(f"{type(exc).__name__}: {exc}")
        finally:
            local.dispose()

    threads = [threading.Thread(target=terminal, args=(t["name"], t["path"], t["role"], t["index"]), daemon=True)
               for t in spec["terminals"]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    upstream.dispose()
    if records:  # the process's push-lock timings travel with its first terminal's record
        first = next(iter(records.values()))
        first["lock_waits"], first["lock_holds"] = lock_waits, lock_holds
    print(json.dumps(records))


def _template_terminal(url: str, path: Path) -> None:
    """A terminal that has pulled the master data once, its WAL folded in: copied for every simulated terminal."""
    from warehouse_tui.db.engine import Database
    from warehouse_tui.sync import install, open_upstream, sync_once

    install()
    local, upstream = Database(path), open_upstream(url)
    try:
        sync_once(local, upstream, "TEMPLATE")
    finally:
        local.dispose()
        upstream.dispose()
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def _outbox_uuids(path: str) -> tuple[list[str], int]:
    con = sqlite3.connect(path)
    try:
        uuids = [u for (u,) in con.execute("SELECT uuid FROM outbox WHERE kind = 'movement'")]
        pending = con.execute("SELECT count(*) FROM outbox WHERE pushed_at IS NULL").fetchone()[0]
    finally:
        con.close()
    return uuids, pending


def measure_load(admin_url: str, workdir: Path, *, terminals: int = 50, movements: int = 200, seconds: int = 60,
                 pullers: int = 2, processes: int = 8, items: int = 1_000, bins: int = 1_000) -> dict:
    """`terminals` terminals each booking `movements` over `seconds` and syncing every second, `pullers` only pulling."""
    from warehouse_tui.bench.sync_figures import ScratchDatabase, _upstream_with

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    with ScratchDatabase(admin_url) as url:
        _upstream_with(url, items, bins)
        template = workdir / f"load-template-{os.getpid()}.sqlite"
        _template_terminal(url, template)
        everyone = [{"name": f"T{n:02d}", "role": "push", "index": n} for n in range(terminals)]
        everyone += [{"name": f"P{n}", "role": "pull", "index": terminals + n} for n in range(pullers)]
        for t in everyone:
            t["path"] = str(workdir / f"load-{t['name']}-{os.getpid()}.sqlite")
            shutil.copyfile(template, t["path"])
        start = time.time() + 3.0  # the workers' imports and connections are done by then
        spec = {"url": url, "start": start, "seconds": seconds, "movements": movements, "items": items, "bins": bins}
        workers = []
        for w in range(processes):
            mine = everyone[w::processes]
            code = "import sys; from warehouse_tui.bench.sync_load import run_terminals; run_terminals(sys.argv[1])"
            workers.append(subprocess.Popen([sys.executable, "-c", code, json.dumps({**spec, "terminals": mine})],
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        waits, stop = [], threading.Event()
        monitor = threading.Thread(target=_watch_locks, args=(admin_url, url.rsplit("/", 1)[1], waits, stop), daemon=True)
        monitor.start()
        records: dict[str, dict] = {}
        failures = []
        for worker in workers:
            out, err = worker.communicate()
            if worker.returncode != 0:
                failures.append(err.strip().splitlines()[-1] if err.strip() else f"worker exited {worker.returncode}")
                continue
            records.update(json.loads(out.strip().splitlines()[-1]))
        elapsed = time.time() - start
        stop.set()
        monitor.join()
        booked, left = [], 0
        for t in everyone:
            uuids, pending = _outbox_uuids(t["path"])
            booked += uuids
            left += pending
        engine = create_engine(url)
        with engine.connect() as conn:
            upstream_rows = conn.execute(text("SELECT uuid FROM movements")).scalars().all()
            applied = dict(conn.execute(text("SELECT outcome, count(*) FROM applied_entries GROUP BY outcome")).all())
        engine.dispose()
    for t in [*everyone, {"path": str(template)}]:
        for suffix in ("", "-wal", "-shm"):
            Path(t["path"] + suffix).unlink(missing_ok=True)
    pushers = [r for r in records.values() if r["role"] == "push"]
    lock_waits = [w for r in records.values() for w in r.get("lock_waits", [])]
    lock_holds = [h for r in records.values() for h in r.get("lock_holds", [])]
    syncs = [s for r in pushers for s in r["syncs"]]
    empty = [s for r in records.values() for s in r["empty"]]
    empty_rows = [n for r in records.values() for n in r["empty_rows"]]
    upstream_set, booked_set = set(upstream_rows), set(booked)
    return {
        "terminals": terminals, "pullers": pullers, "movements_each": movements, "seconds": seconds, "worker_processes": processes,
        "elapsed_s": round(elapsed, 1),
        "movements_booked": len(booked), "movements_upstream": len(upstream_rows),
        "upstream_exactly_once": len(upstream_rows) == len(upstream_set) and upstream_set == booked_set and len(booked) == len(booked_set),
        "lost": len(booked_set - upstream_set), "unknown_upstream": len(upstream_set - booked_set), "left_pending": left,
        "applied_entries": applied,
        "push_throughput_mv_per_s": round(len(booked) / elapsed, 1) if elapsed > 0 else None,
        "sync_p50_ms": _percentile_ms(syncs, 50), "sync_p95_ms": _percentile_ms(syncs, 95), "syncs": len(syncs),
        "empty_sync_p50_ms": _percentile_ms(empty, 50), "empty_sync_p95_ms": _percentile_ms(empty, 95), "empty_syncs": len(empty),
        "empty_sync_rows_mean": round(sum(empty_rows) / len(empty_rows), 2) if empty_rows else None,
        "late_ticks": sum(r["late"] for r in records.values()),
        "lock_wait_samples": len(waits), "lock_waiting_max": max(waits, default=0),
        "lock_waiting_sampled_in": f"{sum(1 for w in waits if w)} of {len(waits)} samples (every 50 ms)",
        "push_lock_wait_p50_ms": _percentile_ms(lock_waits, 50), "push_lock_wait_p95_ms": _percentile_ms(lock_waits, 95),
        "push_lock_hold_p50_ms": _percentile_ms(lock_holds, 50), "push_lock_hold_p95_ms": _percentile_ms(lock_holds, 95),
        "push_lock_taken": len(lock_holds),
        "errors": [e for r in records.values() for e in r["errors"]] + failures,
    }


def _watch_locks(admin_url: str, database: str, waits: list[int], stop: threading.Event) -> None:
    """Every 50 ms: how many of the upstream's backends wait for a lock."""
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            while not stop.wait(0.05):
                waits.append(conn.execute(text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE NOT l.granted AND a.datname = :db"), {"db": database}).scalar())
    finally:
        engine.dispose()


def _time_push_lock(engine, waits: list[float], holds: list[float]) -> None:
    """Per upstream transaction that takes the push lock (sync/apply.py): how long it waited for it, and how long
    it held it until its commit began (the first advisory lock of a transaction is the push lock)."""
    from sqlalchemy import event

    @event.listens_for(engine, "before_cursor_execute")
    def asked(conn, _cursor, statement, *_args) -> None:
        if "pg_advisory_xact_lock" in statement and "push_lock_got" not in conn.info:
            conn.info["push_lock_asked"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def got(conn, _cursor, statement, *_args) -> None:
        if "pg_advisory_xact_lock" in statement and "push_lock_asked" in conn.info:
            now = time.perf_counter()
            waits.append(now - conn.info.pop("push_lock_asked"))
            conn.info["push_lock_got"] = now

    @event.listens_for(engine, "commit")
    def committing(conn) -> None:
        if "push_lock_got" in conn.info:
            holds.append(time.perf_counter() - conn.info.pop("push_lock_got"))

    @event.listens_for(engine, "rollback")
    def rolled_back(conn) -> None:
        conn.info.pop("push_lock_got", None)
        conn.info.pop("push_lock_asked", None)
