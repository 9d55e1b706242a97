"""`warehouse-tui bench`'s floor view figure: one refresh of the supervisor's floor view on the large warehouse.

On a copy of the benchmark dataset (1M quants, and the 1M opening movements that
made them, dated a week before), a shift is laid down the way the floor
would have recorded it, over the 8 hours before the measuring instant: 40
operators logged in, 300 released pick lists of 10 tasks (half picked), 24,000
movements (picks on the lists' orders, receipts, putaways, shipments), 500
counts finished over the last 30 days and 60 open exceptions. Then, `samples`
times (wall and CPU), with a few scans' movements recorded before each: every
80-column page's first draw (on a fresh engine: what opening the view or paging
to a page runs in the app's worker thread) and its refresh (what the worker
runs every few seconds while the page is shown), and the whole view in one read
transaction; beside the bare database running the refresh's heaviest
statements (hourly throughput, the lists' progress and last pick) as raw SQL
through sqlite3.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import sqlite3
import time
import uuid
from pathlib import Path

from warehouse_tui.db.engine import Database

# The pages of the view at 80 columns: a refresh while the view is shown measures the page on screen.
PAGES = (("lists", "throughput"), ("operators", "exceptions"), ("stock",))
OPERATORS, LISTS, TASKS_PER_LIST, SHIFT_MOVEMENTS, COUNTS, EXCEPTIONS = 40, 300, 10, 24_000, 500, 60


def _iso(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def lay_down_shift(path: Path, now: dt.datetime, rng: random.Random) -> dict:
    """Write a shift's worth of floor records ending at `now` into the SQLite file at `path`."""
    con = sqlite3.connect(path)
    try:
        con.execute("BEGIN")
        start = now - dt.timedelta(hours=8)
        items = [r[0] for r in con.execute("SELECT id FROM items WHERE tracking = 'none' ORDER BY id LIMIT 2000")]
        bins = [r[0] for r in con.execute("SELECT id FROM bins WHERE kind = 'storage' ORDER BY id LIMIT 2000")]
        receiving = con.execute("SELECT id FROM bins WHERE kind = 'receiving' ORDER BY id LIMIT 1").fetchone()[0]
        owner = con.execute("SELECT id FROM owners ORDER BY id LIMIT 1").fetchone()[0]
        ops = []
        for n in range(OPERATORS):
            cur = con.execute("INSERT INTO operators (badge, name, role, pin_hash, failed_logins, locked, active) "
                              "VALUES (?, ?, 'operator', 'x', 0, 0, 1)", (f"FLOOR{n:03d}", f"Picker {n}"))
            ops.append(cur.lastrowid)
            con.execute("INSERT INTO audit_events (at, kind, operator_id, badge, terminal, detail) VALUES (?, 'login', ?, ?, ?, '')",
                        (_iso(start + dt.timedelta(minutes=rng.randrange(30))), cur.lastrowid, f"FLOOR{n:03d}", f"T{n:03d}"))
        orders = []
        for n in range(LISTS):
            cur = con.execute("INSERT INTO pick_lists (ref, priority, status, claimed_by, claimed_terminal, created_at) "
                              "VALUES (?, ?, ?, ?, ?, ?)", (f"FL-{n:05d}", rng.randrange(10), "picking" if n % 2 else "released",
                                                            ops[n % OPERATORS] if n % 2 else None, f"T{n % OPERATORS:03d}", _iso(start)))
            list_id = cur.lastrowid
            order_id = con.execute("INSERT INTO outbound_orders (ref, channel, ship_to, priority, status, created_at) "
                                   "VALUES (?, 'web', '', 0, 'picking', ?)", (f"FO-{n:05d}", _iso(start))).lastrowid
            orders.append(f"FO-{n:05d}")
            con.execute("INSERT INTO pick_list_orders (pick_list_id, order_id) VALUES (?, ?)", (list_id, order_id))
            for t in range(TASKS_PER_LIST):
                line_id = con.execute("INSERT INTO outbound_lines (uuid, order_id, item_id, qty, qty_allocated, qty_picked, "
                                      "qty_packed, qty_shipped) VALUES (?, ?, ?, 2, 2, 0, 0, 0)",
                                      (str(uuid.uuid4()), order_id, rng.choice(items))).lastrowid
                status = rng.choice(("done", "done", "short", "skipped", "open", "open")) if n % 2 else "open"
                con.execute("INSERT INTO pick_tasks (uuid, pick_list_id, order_line_id, item_id, bin_id, qty, qty_picked, seq, status) "
                            "VALUES (?, ?, ?, ?, ?, 2, 0, ?, ?)", (str(uuid.uuid4()), list_id, line_id, rng.choice(items),
                                                                  rng.choice(bins), t, status))
        rows = []
        for n in range(SHIFT_MOVEMENTS):
            kind = rng.choice(("pick", "pick", "pick", "receipt", "putaway", "ship"))
            at = start + dt.timedelta(seconds=rng.randrange(8 * 3600))
            bin_ = rng.choice(bins)
            from_bin, to_bin = {"pick": (bin_, None), "receipt": (None, receiving), "putaway": (receiving, bin_),
                                "ship": (None, None)}[kind]
            rows.append((str(uuid.uuid4()), kind, rng.choice(items), rng.randrange(1, 6), from_bin, to_bin, owner,
                         rng.choice(ops), f"T{n % OPERATORS:03d}", _iso(at), rng.choice(orders) if kind == "pick" else None))
        con.executemany("INSERT INTO movements (uuid, kind, item_id, qty, from_bin_id, to_bin_id, owner_id, from_status, "
                        "to_status, operator_id, terminal, at, doc_ref, conflict, origin) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, 'available', 'available', ?, ?, ?, ?, 0, 'local')", rows)
        for n in range(COUNTS):
            started_at = now - dt.timedelta(days=rng.randrange(30), minutes=rng.randrange(600))
            task_id = con.execute("INSERT INTO count_tasks (uuid, bin_id, blind, status, attempt, created_at, started_at) "
                                  "VALUES (?, ?, 1, 'closed', 1, ?, ?)", (str(uuid.uuid4()), rng.choice(bins), _iso(started_at),
                                                                         _iso(started_at))).lastrowid
            for _ in range(5):
                expected = rng.randrange(1, 50)
                counted = expected if rng.random() < 0.97 else expected + rng.choice((-1, 1))
                con.execute("INSERT INTO count_lines (uuid, task_id, item_id, attempt, expected, counted) VALUES (?, ?, ?, 1, ?, ?)",
                            (str(uuid.uuid4()), task_id, rng.choice(items), expected, counted))
        for n in range(EXCEPTIONS):
            con.execute("INSERT INTO exceptions (uuid, kind, ref, detail, status, created_at, terminal) VALUES (?, ?, ?, '', 'open', ?, '')",
                        (str(uuid.uuid4()), rng.choice(("short_pick", "variance", "sync_conflict", "over_receipt")),
                         f"FL-{n:05d}", _iso(now - dt.timedelta(minutes=n))))
        con.execute("COMMIT")
    finally:
        con.close()
    return {"operators": OPERATORS, "pick_lists": LISTS, "pick_tasks": LISTS * TASKS_PER_LIST,
            "shift_movements": SHIFT_MOVEMENTS, "counts": COUNTS, "open_exceptions": EXCEPTIONS}


BARE_STATEMENTS = (
    # The throughput per hour of the shift.
    "SELECT substr(at, 1, 13), kind, sum(qty), count(*) FROM movements WHERE at >= :start AND at <= :now "
    "AND kind IN ('pick', 'receipt', 'ship') GROUP BY 1, 2",
    # Each open list's tasks by status, and its last pick.
    "SELECT t.pick_list_id, t.status, count(*) FROM pick_tasks t JOIN pick_lists l ON l.id = t.pick_list_id "
    "WHERE l.status IN ('released', 'picking') GROUP BY 1, 2",
    "SELECT plo.pick_list_id, max(m.at) FROM pick_list_orders plo JOIN pick_lists l ON l.id = plo.pick_list_id "
    "JOIN outbound_orders o ON o.id = plo.order_id JOIN movements m ON m.doc_ref = o.ref AND m.kind = 'pick' "
    "WHERE l.status IN ('released', 'picking') GROUP BY 1",
)


def _record_more_work(path: Path, at: dt.datetime, n: int) -> None:
    """A few scans' movements between two refreshes (a receipt, its putaway, picks), as the floor records them."""
    con = sqlite3.connect(path)
    try:
        row = con.execute("SELECT item_id, owner_id, operator_id, from_bin_id, to_bin_id FROM movements "
                          "WHERE kind = 'putaway' ORDER BY seq DESC LIMIT 1").fetchone()
        item, owner, operator, receiving, storage = row
        stamp = _iso(at)
        rows = [(str(uuid.uuid4()), "receipt", item, 4, None, receiving, owner, operator, "T000", stamp, "PO-BENCH"),
                (str(uuid.uuid4()), "putaway", item, 4, receiving, storage, owner, operator, "T000", stamp, None)]
        rows += [(str(uuid.uuid4()), "pick", item, 1, storage, None, owner, operator, "T000", stamp, "FO-00001")
                 for _ in range(max(0, n - 2))]
        with con:
            con.executemany("INSERT INTO movements (uuid, kind, item_id, qty, from_bin_id, to_bin_id, owner_id, from_status, "
                            "to_status, operator_id, terminal, at, doc_ref, conflict, origin) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, 'available', 'available', ?, ?, ?, ?, 0, 'local')", rows)
    finally:
        con.close()


def _timed(figures: tuple[list, list], run) -> object:
    t0, c0 = time.perf_counter(), time.process_time()
    out = run()
    figures[0].append(time.perf_counter() - t0)
    figures[1].append(time.process_time() - c0)
    return out


def measure_floor_view(source: Path, workdir: Path, samples: int, rng: random.Random) -> dict:
    """Time the floor view on a copy of `source` with a shift laid down in it.

    Per 80-column page: its first draw (what opening the view, or paging to it,
    measures: a fresh engine, nothing kept from an earlier refresh) and its
    refresh while shown (every few seconds, with a few scans' movements recorded
    since the last one, so dock-to-stock folds new work in); and the whole view
    in one read transaction. Each `samples` times, wall and CPU, beside the bare
    database running the refresh's heaviest statements as raw SQL.
    """
    from warehouse_tui.bench.report import percentiles
    from warehouse_tui.services import floor_metrics as fm

    workdir.mkdir(parents=True, exist_ok=True)
    copy = workdir / f"floor-{source.name}"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, copy)
    Database(copy).dispose()  # migrated to this version's schema (its indexes) before the shift is laid on it
    con = sqlite3.connect(copy)
    built = dt.datetime.fromisoformat(con.execute("SELECT max(at) FROM movements").fetchone()[0])
    movements, quants = (con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("movements", "quants"))
    con.close()
    # A week after the opening stock was booked, at half past an hour (the samples' clock moves on a few
    # seconds each, within the hour: the shift's window stays put): the shift is the last 8 hours.
    now = (built + dt.timedelta(days=7)).replace(minute=30, second=0, microsecond=0)
    shift = lay_down_shift(copy, now, rng)
    db = Database(copy)
    try:
        db.engine.dispose()
        with db.reading() as session:
            snap = fm.snapshot(session, now)  # warm: the first read of the file's pages
        whole = ([], [])
        first = {topics: ([], []) for topics in PAGES}
        refresh = {topics: ([], []) for topics in PAGES}
        bare = []
        raw = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
        for n in range(samples):
            at = now + dt.timedelta(seconds=2 * n + 1)
            _record_more_work(copy, at - dt.timedelta(milliseconds=500), 5)
            for topics in PAGES:
                fresh = Database(copy)  # nothing kept from earlier refreshes, as when the app has just started
                try:
                    with fresh.reading() as session:
                        session.connection()
                    _timed(first[topics], lambda: fm.measure(fresh, at, topics=topics))
                finally:
                    fresh.dispose()
                _timed(refresh[topics], lambda: fm.measure(db, at, topics=topics, before=snap))
            snap = _timed(whole, lambda: fm.measure(db, at))
            params = {"start": _iso(at - dt.timedelta(hours=8)), "now": _iso(at)}
            t0 = time.perf_counter()
            for statement in BARE_STATEMENTS:
                raw.execute(statement, params).fetchall()
            bare.append(time.perf_counter() - t0)
        raw.close()
    finally:
        db.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)

    def figure(timings: tuple[list, list]) -> dict:
        wall, used = percentiles(timings[0]), percentiles(timings[1])
        return {"p50_ms": wall["p50_ms"], "p95_ms": wall["p95_ms"], "cpu_p50_ms": used["p50_ms"], "cpu_p95_ms": used["p95_ms"]}

    pages = {" + ".join(topics): {"first_draw": figure(first[topics]), "refresh": figure(refresh[topics])} for topics in PAGES}
    # The budget's figure: the slowest page's refresh (what the worker runs every few seconds while a page is shown).
    worst = max((page["refresh"] for page in pages.values()), key=lambda f: f["p95_ms"])
    raw_p = percentiles(bare)
    return {"p50_ms": worst["p50_ms"], "p95_ms": worst["p95_ms"], "cpu_p50_ms": worst["cpu_p50_ms"],
            "per_page": pages, "whole_view": figure(whole),
            "bare_p50_ms": raw_p["p50_ms"], "bare_p95_ms": raw_p["p95_ms"],
            "ratio_p50": round(worst["p50_ms"] / raw_p["p50_ms"], 2) if raw_p["p50_ms"] else None,
            "samples": samples, "quants": quants, "movements": movements + shift["shift_movements"], "shift": shift,
            "lists_shown": len(snap.lists), "operators_shown": len(snap.operators)}
