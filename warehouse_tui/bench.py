"""`warehouse-tui bench`: the performance figures of DESIGN §9, printed as one JSON object.

Each figure is measured beside the same work done by the bare database (raw
SQL through the driver, in the same run) and reported with the ratio. Figures
so far:

- ``import``: ``warehouse-tui import items|bins|stock|orders`` of generated files
  (``--import-rows`` stock rows and order lines, a fifth as many items, half as
  many bins) into a fresh database, each in a child process, beside the same
  rows written by raw SQL in one transaction (nothing checked) into a copy of
  the database as it stood; with how long each import checked (no write lock)
  and wrote (the write lock held), and its peak RSS. Then the stock file again
  with a terminal scanning beside it (durable one-row write transactions back
  to back, as a scan makes): how many scans committed while the file was
  checked and the longest any scan waited, against the write phase.
- ``ledger_receipt``: one ledger transaction, a receipt of one unit through
  ``ledger.post`` in one ``Database.transaction()`` ending in a durable commit
  (WAL, synchronous=FULL, BEGIN IMMEDIATE), against the bare sqlite3
  transaction making the same writes (select the quant by key, update or
  insert it, insert the movement, insert the outbox entry). Measured at 10k
  quants and at ``--quants`` (1M by default); ``growth_p95`` is the ratio of
  the two p95s (1.0 = flat).

Each sample receives into a different quant picked at random over the whole
dataset (never a serial item, never a blocked bin), so the figure is not that
of one hot row; ledger and bare samples alternate, so drift in the machine
(page cache, WAL checkpoints) hits both alike. The ledger path loads its item,
bin and lot by id inside the timed transaction, as a service does; the bare
path knows the names for the payload beforehand.

The datasets are built with ``build_large`` in a child process (so their
build does not count in ``peak_rss_mb``) and kept in the work directory, keyed
by their size in the file name; a later run reuses them. Each run adds its
receipts to them, always into existing quants, so their quant count stays.
Timings are never asserted by tests (DESIGN §9); this command reports them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import resource
import sqlite3
import statistics
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from sqlalchemy import select

from warehouse_tui.config import APP
from warehouse_tui.db.engine import BUSY_TIMEOUT_MS, Database, redact, to_url
from warehouse_tui.db.models import Bin, Item, Lot, Operator
from warehouse_tui.errors import InvalidInput
from warehouse_tui.services.demo import OPERATOR_BADGE
from warehouse_tui.services.ledger import Actor, post

# Bump when build_large changes what it makes: older cached datasets are then rebuilt.
DATASET_VERSION = 1
BASE_QUANTS = 10_000
BENCH_TERMINAL = "BENCH"
BENCH_REF = "BENCH-RECEIPT"

# DESIGN §9, as (limit, unit); `measured` is filled in where this bench measures the figure.
BUDGETS: dict[str, tuple[float, str]] = {
    "scan_to_screen_p95_ms": (15, "ms"),
    "scan_to_screen_p99_ms": (30, "ms"),
    "serial_receipts_10k_s": (30, "s"),
    "sync_push_movements_per_s": (20_000, "movements/s (at least)"),
    "empty_sync_ms": (50, "ms"),
    "pull_100k_items_s": (10, "s"),
    "cold_start_s": (1.0, "s"),
    "import_items_rows_per_s": (50_000, "rows/s (at least)"),
    "import_bins_rows_per_s": (50_000, "rows/s (at least)"),
    "import_stock_rows_per_s": (50_000, "rows/s (at least)"),
    "import_orders_rows_per_s": (50_000, "rows/s (at least)"),
    "resident_memory_mb": (150, "MB"),
}
BUDGETS["floor_view_refresh_ms"] = (50, "ms")


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def percentiles(values_s: list[float]) -> dict[str, float]:
    """p50/p95/p99 (and max) in milliseconds of timings given in seconds."""
    ms = [v * 1000 for v in values_s]
    if len(ms) == 1:
        ms = ms * 2
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49], 3), "p95_ms": round(cuts[94], 3), "p99_ms": round(cuts[98], 3),
            "max_ms": round(max(ms), 3)}


# --------------------------------------------------------------------------- datasets


@dataclass
class Dataset:
    path: Path
    quants: int
    items: int
    bins: int
    build_s: float | None  # None: reused from an earlier run

    def describe(self) -> dict:
        return {"file": str(self.path), "quants": self.quants, "items": self.items, "bins": self.bins,
                "built_s": None if self.build_s is None else round(self.build_s, 1), "reused": self.build_s is None}


def default_workdir() -> Path:
    return Path(platformdirs.user_cache_dir(APP)) / "bench"


def scaled(quants: int, items: int, bins: int, at: int) -> tuple[int, int]:
    """Items and bins for a dataset of `at` quants, in the proportion of the large one."""
    factor = at / quants
    return max(10, round(items * factor)), max(20, round(bins * factor))


def ensure_dataset(workdir: Path, quants: int, items: int, bins: int) -> Dataset:
    """The dataset of this size in `workdir`, built (in a child process) unless already there."""
    from warehouse_tui.db.migrate import head_revision

    # The schema revision is in the name: a dataset cached under an older schema is never reused.
    path = workdir / f"large-v{DATASET_VERSION}-r{head_revision()}-q{quants}-i{items}-b{bins}.sqlite"
    if path.exists():
        _log(f"reusing {path}")
        return Dataset(path, quants, items, bins, None)
    workdir.mkdir(parents=True, exist_ok=True)
    _log(f"building {path} ({quants:,} quants, {items:,} items, {bins:,} bins)")
    code = ("import sys; from warehouse_tui.services.demo import build_large; "
            "build_large(sys.argv[1], items=int(sys.argv[2]), bins=int(sys.argv[3]), quants=int(sys.argv[4]))")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(path), str(items), str(bins), str(quants)], check=True,
                   stdout=subprocess.DEVNULL)
    return Dataset(path, quants, items, bins, time.perf_counter() - started)


def copy_database(source: str, workdir: Path) -> Dataset:
    """A copy of a user's SQLite database to measure on: the bench writes receipts and must not touch theirs."""
    src = to_url(source)
    if src.get_backend_name() != "sqlite" or not src.database or not Path(src.database).exists():
        raise InvalidInput(f"bench --db takes an existing SQLite file, not {source}")
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / f"copy-of-{Path(src.database).name}"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    source_con, copy_con = sqlite3.connect(src.database), sqlite3.connect(target)
    try:
        source_con.backup(copy_con)
        quants, items, bins = (copy_con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("quants", "items", "bins"))
    finally:
        source_con.close()
        copy_con.close()
    return Dataset(target, quants, items, bins, time.perf_counter() - started)


# --------------------------------------------------------------------------- the ledger receipt


@dataclass(frozen=True)
class Target:
    """An existing quant to receive one unit into, with the names its outbox payload carries."""

    key: str
    item_id: int
    bin_id: int
    lot_id: int | None
    owner_id: int
    sku: str
    owner: str
    bin: str
    lot: str | None
    expiry: str | None


def pick_targets(path: Path, count: int, rng: random.Random) -> list[Target]:
    """`count` distinct quants at random over the whole dataset (not serial items, not blocked bins)."""
    con = sqlite3.connect(path)
    try:
        top = con.execute("SELECT max(id) FROM quants").fetchone()[0] or 0
        chosen: dict[int, Target] = {}
        tried: set[int] = set()
        while len(chosen) < count and len(tried) < top:
            ids = [i for i in rng.sample(range(1, top + 1), min(top, 2 * (count - len(chosen)) + 16)) if i not in tried]
            tried.update(ids)
            marks = ",".join("?" * len(ids))
            for row in con.execute(
                "SELECT q.id, q.key, q.item_id, q.bin_id, q.lot_id, q.owner_id, i.sku, o.code, b.code, l.code, l.expiry "
                "FROM quants q JOIN items i ON i.id = q.item_id JOIN owners o ON o.id = q.owner_id "
                "JOIN bins b ON b.id = q.bin_id LEFT JOIN lots l ON l.id = q.lot_id "
                f"WHERE q.id IN ({marks}) AND i.tracking != 'serial' AND b.blocked = 0 "
                "AND q.container_id IS NULL AND q.status = 'available'", ids):
                if len(chosen) < count:
                    chosen[row[0]] = Target(*row[1:])
    finally:
        con.close()
    if len(chosen) < count:
        raise InvalidInput(f"{path} has only {len(chosen)} quants a receipt can go into, {count} needed")
    targets = list(chosen.values())
    rng.shuffle(targets)
    return targets


class LedgerReceipt:
    """One unit received into a quant through ledger.post, in one durable Database.transaction()."""

    def __init__(self, path: Path) -> None:
        self.db = Database(path)
        with self.db.reading() as s:
            operator = s.scalars(select(Operator).where(Operator.badge == OPERATOR_BADGE)).one_or_none()
            if operator is not None:
                s.expunge(operator)  # keeps its loaded attributes past the read's rollback
        self.actor = Actor(operator, BENCH_TERMINAL)

    def __call__(self, t: Target) -> None:
        with self.db.transaction() as s:
            item = s.get(Item, t.item_id)
            bin_ = s.get(Bin, t.bin_id)
            lot = s.get(Lot, t.lot_id) if t.lot_id else None
            post(s, self.actor, kind="receipt", item=item, qty=1, lot=lot, to_bin=bin_, doc_ref=BENCH_REF)

    def close(self) -> None:
        self.db.dispose()


class BareReceipt:
    """The same writes as LedgerReceipt through the sqlite3 driver: the baseline."""

    def __init__(self, path: Path) -> None:
        self.con = sqlite3.connect(path, isolation_level=None)
        for pragma in (f"busy_timeout = {BUSY_TIMEOUT_MS}", "journal_mode = WAL", "synchronous = FULL", "foreign_keys = ON"):
            self.con.execute(f"PRAGMA {pragma}")
        row = self.con.execute("SELECT id, badge FROM operators WHERE badge = ?", (OPERATOR_BADGE,)).fetchone()
        self.operator_id, self.badge = row if row else (None, None)

    def __call__(self, t: Target) -> None:
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            found = con.execute("SELECT id FROM quants WHERE key = ?", (t.key,)).fetchone()
            if found:
                con.execute("UPDATE quants SET qty = qty + 1 WHERE id = ?", (found[0],))
            else:
                con.execute(
                    "INSERT INTO quants (key, item_id, bin_id, lot_id, container_id, owner_id, status, qty, reserved) "
                    "VALUES (?, ?, ?, ?, NULL, ?, 'available', 1, 0)", (t.key, t.item_id, t.bin_id, t.lot_id, t.owner_id))
            movement_id = str(uuid.uuid4())
            now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
            at = now.strftime("%Y-%m-%d %H:%M:%S.%f")
            con.execute(
                "INSERT INTO movements (uuid, kind, item_id, qty, lot_id, serial, from_bin_id, to_bin_id, from_container_id, "
                "to_container_id, owner_id, from_status, to_status, operator_id, terminal, at, doc_ref, conflict) "
                "VALUES (?, 'receipt', ?, 1, ?, NULL, NULL, ?, NULL, NULL, ?, 'available', 'available', ?, ?, ?, ?, 0)",
                (movement_id, t.item_id, t.lot_id, t.bin_id, t.owner_id, self.operator_id, BENCH_TERMINAL, at, BENCH_REF))
            payload = {
                "id": movement_id, "kind": "receipt", "sku": t.sku, "owner": t.owner, "qty": 1, "lot": t.lot,
                "expiry": t.expiry, "serial": None, "from_bin": None, "to_bin": t.bin, "from_container": None,
                "to_container": None, "from_status": "available", "to_status": "available", "operator": self.badge,
                "terminal": BENCH_TERMINAL, "at": now.isoformat(), "ref": BENCH_REF,
            }
            con.execute("INSERT INTO outbox (uuid, kind, payload, terminal, created_at) VALUES (?, 'movement', ?, ?, ?)",
                        (movement_id, json.dumps(payload), BENCH_TERMINAL, at))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.con.close()


def _timed(work: Callable[[Target], None], target: Target) -> float:
    started = time.perf_counter()
    work(target)
    return time.perf_counter() - started


def measure_ledger_receipt(dataset: Dataset, samples: int, rng: random.Random) -> dict:
    """Ledger vs bare receipt percentiles on one dataset, samples interleaved."""
    warmup = min(20, max(3, samples // 10))
    targets = pick_targets(dataset.path, 2 * (samples + warmup), rng)
    ledger, bare = LedgerReceipt(dataset.path), BareReceipt(dataset.path)
    times: dict[str, list[float]] = {"ledger": [], "bare": []}
    try:
        for n in range(samples + warmup):
            a, b = targets[2 * n], targets[2 * n + 1]
            t_ledger, t_bare = _timed(ledger, a), _timed(bare, b)
            if n >= warmup:
                times["ledger"].append(t_ledger)
                times["bare"].append(t_bare)
    finally:
        ledger.close()
        bare.close()
    mine, base = percentiles(times["ledger"]), percentiles(times["bare"])
    figure = {"quants": dataset.quants, "samples": samples, **mine}
    figure.update({f"bare_{k}": v for k, v in base.items()})
    for p in ("p50", "p95", "p99"):
        figure[f"ratio_{p}"] = round(mine[f"{p}_ms"] / base[f"{p}_ms"], 2) if base[f"{p}_ms"] else None
    return figure


# --------------------------------------------------------------------------- CSV import


def write_import_files(directory: Path, stock_rows: int) -> dict[str, tuple[Path, int]]:
    """Generated CSV files for the import figures: kind -> (file, rows). Items and bins in the proportion of issue 13.

    Stock rows go into places of their own (a place repeats only every 2 x bins rows), a tenth of them serial
    items (one unit each), two tenths lot-tracked with an expiry; orders have 4 lines each.
    """
    directory.mkdir(parents=True, exist_ok=True)
    n_items, n_bins = max(10, stock_rows // 5), max(20, stock_rows // 2)

    def tracking(i: int) -> str:
        return "serial" if i % 10 == 0 else "lot" if i % 10 in (1, 2) else "none"

    def gtin(n: int) -> str:
        from warehouse_tui.scan.gtin import gs1_check_digit

        body = f"950110{n:07d}"
        return body + str(gs1_check_digit(body))

    files = {}
    path = directory / "items.csv"
    with path.open("w", encoding="utf-8") as f:
        f.write("sku,description,gtin,uom,tracking,expiry,owner\n")
        for i in range(n_items):
            f.write(f"SKU{i:07d},Item number {i},{gtin(i)},EA,{tracking(i)},{'yes' if tracking(i) == 'lot' else 'no'},\n")
    files["items"] = (path, n_items)
    path = directory / "bins.csv"
    with path.open("w", encoding="utf-8") as f:
        f.write("code,barcode,zone,kind,pick_seq\n")
        for b in range(n_bins):
            f.write(f"B{b:07d},,Z{b // 5000},storage,{b}\n")
    files["bins"] = (path, n_bins)
    path = directory / "stock.csv"
    with path.open("w", encoding="utf-8") as f:
        f.write("bin,sku,qty,lot,expiry,serial\n")
        for k in range(stock_rows):
            i, b = (k * 7919) % n_items, k % n_bins
            if tracking(i) == "serial":
                f.write(f"B{b:07d},SKU{i:07d},1,,,SN{k:09d}\n")
            elif tracking(i) == "lot":
                f.write(f"B{b:07d},SKU{i:07d},{1 + k % 50},L{k % 7},2027-0{1 + k % 7}-15,\n")
            else:
                f.write(f"B{b:07d},SKU{i:07d},{1 + k % 90},,,\n")
    files["stock"] = (path, stock_rows)
    path = directory / "orders.csv"
    with path.open("w", encoding="utf-8") as f:
        f.write("ref,channel,ship_to,priority,sku,qty\n")
        for k in range(stock_rows):
            f.write(f"SO{k // 4:08d},web,Customer {k // 4},{k // 4 % 5},SKU{(k * 31) % n_items:07d},{1 + k % 9}\n")
    files["orders"] = (path, stock_rows)
    return files


def _bare_connection(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None)
    for pragma in (f"busy_timeout = {BUSY_TIMEOUT_MS}", "journal_mode = WAL", "synchronous = FULL", "foreign_keys = ON",
                   "cache_size = -65536"):
        con.execute(f"PRAGMA {pragma}")
    return con


def bare_import(kind: str, csv_path: Path, db_path: Path) -> float:
    """The baseline: the same rows read from the CSV and written by raw SQL in one transaction, nothing checked; seconds."""
    import csv

    started = time.perf_counter()
    con = _bare_connection(db_path)
    try:
        with csv_path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))[1:]
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        at = now.strftime("%Y-%m-%d %H:%M:%S.%f")
        con.execute("BEGIN IMMEDIATE")
        if kind == "items":
            owner = con.execute("SELECT id FROM owners WHERE code = 'MAIN'").fetchone()
            owner_id = owner[0] if owner else con.execute("INSERT INTO owners (code, name) VALUES ('MAIN', 'MAIN')").lastrowid
            top = con.execute("SELECT coalesce(max(id), 0) FROM items").fetchone()[0]
            con.executemany("INSERT INTO items (owner_id, sku, description, uom, tracking, expiry_required) VALUES (?, ?, ?, ?, ?, ?)",
                            [(owner_id, r[0], r[1], r[3], r[4], r[5] == "yes") for r in rows])
            con.executemany("INSERT INTO item_codes (item_id, code, kind) VALUES (?, ?, 'gtin')",
                            [(top + n, "0" + r[2], ) for n, r in enumerate(rows, start=1)])
        elif kind == "bins":
            con.executemany("INSERT INTO bins (code, barcode, zone, kind, pick_seq, blocked) VALUES (?, ?, ?, ?, ?, 0)",
                            [(r[0], r[0], r[2], r[3], int(r[4])) for r in rows])
        elif kind == "orders":
            refs = list(dict.fromkeys(r[0] for r in rows))
            top = con.execute("SELECT coalesce(max(id), 0) FROM outbound_orders").fetchone()[0]
            con.executemany("INSERT INTO outbound_orders (ref, channel, ship_to, priority, status, created_at) VALUES (?, 'web', ?, 0, 'new', ?)",
                            [(ref, ref, at) for ref in refs])
            ids = {ref: top + n for n, ref in enumerate(refs, start=1)}
            items = dict(con.execute("SELECT sku, id FROM items"))
            con.executemany("INSERT INTO outbound_lines (uuid, order_id, item_id, qty, qty_allocated, qty_picked, qty_packed, qty_shipped) "
                            "VALUES (?, ?, ?, ?, 0, 0, 0, 0)", [(str(uuid.uuid4()), ids[r[0]], items[r[4]], int(r[5])) for r in rows])
        else:
            _bare_stock(con, rows, now, at)
        con.execute("COMMIT")
    finally:
        con.close()
    return time.perf_counter() - started


def _bare_stock(con: sqlite3.Connection, rows: list[list[str]], now: dt.datetime, at: str) -> None:
    """Opening stock by raw SQL: lots, movements, outbox entries, quants (summed per place), serial units."""
    items = {sku: (item_id, owner_id) for sku, item_id, owner_id in con.execute("SELECT sku, id, owner_id FROM items")}
    bins = dict(con.execute("SELECT code, id FROM bins"))
    lots = {(r[1], r[3]): r[4] for r in rows if r[3]}
    con.executemany("INSERT INTO lots (item_id, code, expiry) VALUES (?, ?, ?)", [(items[sku][0], code, expiry) for (sku, code), expiry in lots.items()])
    lot_ids = {(item_id, code): lot_id for lot_id, item_id, code in con.execute("SELECT id, item_id, code FROM lots")}
    movements, outbox, units, quants = [], [], [], {}
    for bin_code, sku, qty, lot, expiry, serial in rows:
        item_id, owner_id = items[sku]
        bin_id, lot_id, q, mid = bins[bin_code], lot_ids.get((item_id, lot)) if lot else None, int(qty or 1), str(uuid.uuid4())
        movements.append((mid, item_id, q, lot_id, serial or None, bin_id, owner_id, BENCH_TERMINAL, at))
        outbox.append((mid, json.dumps({
            "id": mid, "kind": "adjust", "sku": sku, "owner": "MAIN", "qty": q, "lot": lot or None, "expiry": expiry or None,
            "serial": serial or None, "from_bin": None, "to_bin": bin_code, "from_container": None, "to_container": None,
            "from_status": "available", "to_status": "available", "operator": None, "terminal": BENCH_TERMINAL, "at": now.isoformat(),
            "ref": "OPENING", "consume_reserved": 0}), BENCH_TERMINAL, at))
        key = f"{item_id}:{bin_id}:{lot_id or ''}::{owner_id}:available"
        quants[key] = (key, item_id, bin_id, lot_id, owner_id, quants[key][5] + q if key in quants else q)
        if serial:
            units.append((item_id, serial, lot_id, bin_id, owner_id))
    con.executemany("INSERT INTO movements (uuid, kind, item_id, qty, lot_id, serial, from_bin_id, to_bin_id, from_container_id, "
                    "to_container_id, owner_id, from_status, to_status, operator_id, terminal, at, doc_ref, conflict) "
                    "VALUES (?, 'adjust', ?, ?, ?, ?, NULL, ?, NULL, NULL, ?, 'available', 'available', NULL, ?, ?, 'OPENING', 0)", movements)
    con.executemany("INSERT INTO outbox (uuid, kind, payload, terminal, created_at) VALUES (?, 'movement', ?, ?, ?)", outbox)
    con.executemany("INSERT INTO quants (key, item_id, bin_id, lot_id, container_id, owner_id, status, qty, reserved) "
                    "VALUES (?, ?, ?, ?, NULL, ?, 'available', ?, 0)", quants.values())
    con.executemany("INSERT INTO serial_units (item_id, serial, lot_id, bin_id, container_id, owner_id, status) "
                    "VALUES (?, ?, ?, ?, NULL, ?, 'in_stock')", units)


def import_child(kind: str, csv_path: str, db_path: str) -> None:
    """In a child process: one import through services.importing, its figures as a JSON line on stdout."""
    from warehouse_tui.services.importing import import_file

    db = Database(db_path)
    try:
        steps: dict[str, float] = {}

        def on_progress(step: str, done: int, total: int) -> None:
            steps.setdefault(f"{step}_started_at", time.time())
            steps[f"{step}_ended_at"] = time.time()

        started = time.time()
        result = import_file(db, kind, csv_path, Actor(None, BENCH_TERMINAL), on_progress=on_progress)
        ended = time.time()
    finally:
        db.dispose()
    print(json.dumps({"rows": result.rows, "checking_s": result.checking_s, "writing_s": result.writing_s,
                      "started_at": started, "ended_at": ended, "write_started_at": ended - result.writing_s,
                      "peak_rss_mb": _own_peak_rss_mb()}))


def _own_peak_rss_mb() -> float:
    """This process's own peak RSS. (ru_maxrss of a process its parent started with vfork also counts the parent's
    peak at that moment: Linux keeps the larger of the two across exec; VmHWM is the process's own.)"""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _run_import(kind: str, csv_path: Path, db_path: Path) -> dict:
    code = "import sys; from warehouse_tui.bench import import_child; import_child(*sys.argv[1:])"
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, kind, str(csv_path), str(db_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"bench import {kind} failed: {err.strip()[-2000:]}")
    figure = json.loads(out.strip().splitlines()[-1])
    figure["process_wall_s"] = round(wall, 3)
    return figure


def scan_loop(db_path: str, stop_file: str) -> None:
    """In a child process: a terminal scanning — durable one-row write transactions back to back until `stop_file`
    exists; prints each one's (start, seconds) as JSON. BEGIN IMMEDIATE waits for the lock as a scan does."""
    con = sqlite3.connect(db_path, isolation_level=None)
    for pragma in ("busy_timeout = 600000", "journal_mode = WAL", "synchronous = FULL"):
        con.execute(f"PRAGMA {pragma}")
    scans = []
    try:
        while not os.path.exists(stop_file):
            started, t0 = time.time(), time.perf_counter()
            con.execute("BEGIN IMMEDIATE")
            con.execute("INSERT INTO audit_events (at, kind, terminal, detail) VALUES (?, 'bench_scan', ?, '')",
                        (dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f"), BENCH_TERMINAL))
            con.execute("COMMIT")
            scans.append((started, time.perf_counter() - t0))
            time.sleep(0.01)
    finally:
        con.close()
    print(json.dumps(scans))


def measure_scans_during_import(csv_path: Path, db_path: Path, kind: str = "stock") -> dict:
    """An import with a scanning terminal beside it: how long its scans waited, while checking and while writing."""
    stop = db_path.with_suffix(".stop")
    stop.unlink(missing_ok=True)
    code = "import sys; from warehouse_tui.bench import scan_loop; scan_loop(*sys.argv[1:])"
    scanner = subprocess.Popen([sys.executable, "-c", code, str(db_path), str(stop)], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)  # the scanner is up and scanning
        figure = _run_import(kind, csv_path, db_path)
    finally:
        stop.touch()
        out, _ = scanner.communicate(timeout=120)
        stop.unlink(missing_ok=True)
    scans = json.loads(out)
    checking = [s for start, s in scans if figure["started_at"] <= start and start + s <= figure["write_started_at"]]
    longest = max((s for _, s in scans), default=0.0)
    return {
        "kind": kind, "rows": figure["rows"], "scans": len(scans), "checking_s": round(figure["checking_s"], 3),
        "writing_s": round(figure["writing_s"], 3),
        "scans_while_checking": len(checking),
        "longest_scan_while_checking_ms": round(max(checking, default=0.0) * 1000, 1),
        "longest_scan_ms": round(longest * 1000, 1),
        "longest_scan_within_write_phase": longest <= figure["writing_s"] + 0.5,
        "scan_p50_ms": round(statistics.median([s for _, s in scans]) * 1000, 2) if scans else None,
    }


def measure_import(workdir: Path, stock_rows: int) -> dict:
    """Rows per second of `import items|bins|stock|orders` into a fresh database, each beside the same rows written by raw SQL.

    Each import runs in a child process (its peak RSS is its own); the bare baseline writes the same rows into a
    copy of the database as it stood before that import, in the same run. Then a stock import runs again with a
    scanning terminal beside it (measure_scans_during_import).
    """
    directory = workdir / "import"
    if directory.exists():
        shutil.rmtree(directory)
    files = write_import_files(directory, stock_rows)
    db_path = directory / "site.sqlite"
    Database(db_path).dispose()  # a fresh database at the schema's head
    out: dict = {}
    scan_path = directory / "scans.sqlite"
    for kind in ("items", "bins", "stock", "orders"):
        csv_path, rows = files[kind]
        bare_path = directory / f"bare-{kind}.sqlite"
        _fold_wal(db_path)
        shutil.copyfile(db_path, bare_path)
        if kind == "stock":
            shutil.copyfile(db_path, scan_path)  # the site before its opening stock, for the run with a scanner
        _log(f"import {kind}: {rows:,} rows, and the same rows by raw SQL")
        bare_s = bare_import(kind, csv_path, bare_path)
        figure = _run_import(kind, csv_path, db_path)
        seconds = figure["checking_s"] + figure["writing_s"]
        out[kind] = {"rows": figure["rows"], "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds),
                     "checking_s": round(figure["checking_s"], 3), "writing_s": round(figure["writing_s"], 3),
                     "process_wall_s": figure["process_wall_s"], "peak_rss_mb": figure["peak_rss_mb"],
                     "bare_seconds": round(bare_s, 3), "bare_rows_per_s": round(rows / bare_s), "ratio_to_bare": round(seconds / bare_s, 2)}
        for suffix in ("", "-wal", "-shm"):
            Path(f"{bare_path}{suffix}").unlink(missing_ok=True)
    # The stock file again, into the site as it was before its opening stock, with a terminal scanning beside it.
    _log(f"import stock again with a scanning terminal beside it: {files['stock'][1]:,} rows")
    out["scans_during_stock_import"] = measure_scans_during_import(files["stock"][0], scan_path)
    return out


def _fold_wal(path: Path) -> None:
    """Fold the WAL into the file, so that a plain copy carries everything."""
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()


# --------------------------------------------------------------------------- the command


def measure_app(datasets: dict[str, Dataset], workdir: Path, samples: int, serials: int) -> dict:
    """The full-app figures (warehouse_tui.bench_app), each in a fresh process on a copy of a dataset."""
    from warehouse_tui.bench_app import run_child

    out: dict = {"scan_to_screen": {}}
    keys = sorted(datasets, key=int)
    for key in keys:
        copy = workdir / f"app-{key}.sqlite"
        _log(f"full app on {int(key):,} quants: {samples} receipt scans")
        shutil.copyfile(datasets[key].path, copy)
        try:
            out["scan_to_screen"][key] = run_child("scans", str(copy), "--samples", str(samples))
            if key == keys[-1]:
                _log("cold start to the login screen")
                out["cold_start"] = run_child("coldstart", str(copy))
                _log(f"serial driver over a pseudo-terminal to committed receipt: {samples} scans")
                out["serial_driver_to_commit"] = run_child("serial-driver", str(copy), "--samples", str(samples))
                if serials:
                    _log(f"{serials:,} serial receipts through the full app")
                    out["serial_receipts"] = run_child("serials", str(copy), "--count", str(serials))
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{copy}{suffix}").unlink(missing_ok=True)
    first, last = out["scan_to_screen"][keys[0]], out["scan_to_screen"][keys[-1]]
    out["scan_to_screen_growth_p95"] = round(last["p95_ms"] / first["p95_ms"], 2)
    return out


def _budgets(largest: dict | None, result: dict | None = None) -> dict:
    """The DESIGN §9 budgets, with the measurement beside each one this bench makes."""
    budgets = {name: {"limit": limit, "unit": unit, "measured": None} for name, (limit, unit) in BUDGETS.items()}
    result = result or {}
    scans = result.get("scan_to_screen", {})
    if scans:
        big = scans[max(scans, key=int)]
        for p in ("p95", "p99"):
            budgets[f"scan_to_screen_{p}_ms"]["measured"] = big[f"{p}_ms"]
        rss = [fig.get("peak_rss_mb") for fig in (*scans.values(), result.get("cold_start", {}), result.get("serial_receipts", {})) if fig]
        budgets["resident_memory_mb"]["measured"] = max(r for r in rss if r is not None)
    if "serial_receipts" in result:
        # Fewer than 10,000 receipts (--serials): extrapolated linearly, and said so.
        got = result["serial_receipts"]
        budgets["serial_receipts_10k_s"]["measured"] = round(got["seconds"] * 10_000 / got["count"], 2)
        if got["count"] != 10_000:
            budgets["serial_receipts_10k_s"]["note"] = f"extrapolated from {got['count']} receipts"
    sync = result.get("sync")
    if sync:
        budgets["sync_push_movements_per_s"]["measured"] = sync["sync_push"]["movements_per_s"]
        budgets["empty_sync_ms"]["measured"] = sync["empty_sync"]["p95_ms"]
        budgets["pull_100k_items_s"]["measured"] = sync["pull_items"]["seconds"]
        if sync["pull_items"].get("items", 100_000) != 100_000:
            budgets["pull_100k_items_s"]["note"] = f"{sync['pull_items'].get('items')} items pulled"
    if "floor_view" in result:
        budgets["floor_view_refresh_ms"]["measured"] = result["floor_view"]["p95_ms"]
        budgets["floor_view_refresh_ms"]["note"] = "p95 of one refresh (services/floor_metrics.snapshot), off the scan path"
    if "cold_start" in result:
        budgets["cold_start_s"]["measured"] = result["cold_start"]["process_wall_s"]
    for kind, figure in result.get("import", {}).items():
        if f"import_{kind}_rows_per_s" in budgets:
            budgets[f"import_{kind}_rows_per_s"]["measured"] = figure["rows_per_s"]
            budgets[f"import_{kind}_rows_per_s"]["note"] = f"{figure['rows']:,} rows; the write lock held {figure['writing_s']} s"
    for figure in budgets.values():
        if figure["measured"] is not None and "within" not in figure:
            limit = figure["limit"]
            figure["within"] = figure["measured"] >= limit if "at least" in figure["unit"] else figure["measured"] <= limit
    if largest:
        # The ledger transaction is one part of scan -> durable commit -> screen; shown against that budget.
        for p, limit in (("p95", 15), ("p99", 30)):
            budgets[f"ledger_receipt_{p}_ms"] = {
                "limit": limit, "unit": "ms", "measured": largest[f"{p}_ms"], "within": largest[f"{p}_ms"] <= limit,
                "note": f"the ledger transaction alone, part of scan_to_screen_{p}_ms",
            }
    return budgets


def _floor_view(large: Dataset, workdir: Path, samples: int, rng: random.Random) -> dict:
    from warehouse_tui.bench_floor import measure_floor_view

    _log(f"floor view refresh on {large.quants:,} quants: {min(samples, 50)} refreshes, and the bare statements")
    return measure_floor_view(large.path, workdir, min(samples, 50), rng)


def run_bench(args: argparse.Namespace) -> int:
    """Measure, print the JSON object to stdout, return the exit status."""
    samples = max(2, int(args.samples))
    quants, items, bins = int(args.quants), int(args.items), int(args.bins)
    workdir = Path(args.workdir).expanduser() if args.workdir else default_workdir()
    rng = random.Random(1)
    started = time.perf_counter()

    if getattr(args, "db", None):
        large = copy_database(args.db, workdir)
    else:
        large = ensure_dataset(workdir, quants, items, bins)
    datasets = {str(large.quants): large}
    if large.quants != BASE_QUANTS:
        base_items, base_bins = scaled(large.quants, large.items, large.bins, BASE_QUANTS)
        datasets[str(BASE_QUANTS)] = ensure_dataset(workdir, BASE_QUANTS, base_items, base_bins)

    if getattr(args, "only", None) == "floor":
        result = {"floor_view": _floor_view(large, workdir, samples, rng)}
        result["budgets"] = {k: v for k, v in _budgets(None, result).items() if k == "floor_view_refresh_ms"}
        result["datasets"] = {str(large.quants): large.describe()}
        result["elapsed_s"] = round(time.perf_counter() - started, 1)
        print(json.dumps(result, indent=2))
        return 0
    result: dict = {"ledger_receipt": {}}
    for key in sorted(datasets, key=int):
        _log(f"ledger receipt on {int(key):,} quants: {samples} samples each, ledger and bare")
        result["ledger_receipt"][key] = measure_ledger_receipt(datasets[key], samples, rng)
    result.update(measure_app(datasets, workdir, samples, int(getattr(args, "serials", 10_000))))
    pg = getattr(args, "pg", None)
    if pg and pg != "none":
        from warehouse_tui.sync.bench import measure_sync

        _log(f"sync figures against {redact(pg)}")
        result["sync"] = measure_sync(pg, workdir / "sync", movements=int(args.sync_movements), items=int(args.sync_items))
    result["floor_view"] = _floor_view(large, workdir, samples, rng)
    import_rows = getattr(args, "import_rows", None)
    import_rows = quants // 10 if import_rows is None else int(import_rows)
    if import_rows:
        result["import"] = measure_import(workdir, import_rows)
    small, big = result["ledger_receipt"][str(BASE_QUANTS)], result["ledger_receipt"][str(large.quants)]
    result["growth_p95"] = round(big["p95_ms"] / small["p95_ms"], 2)
    result["bare_growth_p95"] = round(big["bare_p95_ms"] / small["bare_p95_ms"], 2)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result["budgets"] = _budgets(big, result)
    result["datasets"] = {key: ds.describe() for key, ds in sorted(datasets.items(), key=lambda kv: int(kv[0]))}
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
                         "platform": platform.platform()}
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, indent=2))
    return 0
