"""`warehouse-tui bench`: the performance figures of DESIGN §9, printed as one JSON object.

Each figure is measured beside the same work done by the bare database (raw
SQL through the driver, in the same run) and reported with the ratio. Figures
so far:

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
    "resident_memory_mb": (150, "MB"),
}


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
    if "cold_start" in result:
        budgets["cold_start_s"]["measured"] = result["cold_start"]["process_wall_s"]
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
