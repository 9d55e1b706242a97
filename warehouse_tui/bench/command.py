"""`warehouse-tui bench`: run the figures and print them as one JSON object (see the package docstring)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import sqlite3
import shutil
import time
from pathlib import Path

from warehouse_tui.bench.csv_import import measure_import
from warehouse_tui.bench.datasets import BASE_QUANTS, Dataset, copy_database, default_workdir, ensure_dataset, scaled
from warehouse_tui.bench.ledger_receipt import measure_ledger_receipt
from warehouse_tui.bench.report import budget_report, log
from warehouse_tui.db.engine import redact


def measure_app(datasets: dict[str, Dataset], workdir: Path, samples: int, serials: int) -> dict:
    """The full-app figures (warehouse_tui.bench.full_app), each in a fresh process on a copy of a dataset."""
    from warehouse_tui.bench.full_app import run_child, run_coldstart

    out: dict = {"scan_to_screen": {}}
    keys = sorted(datasets, key=int)
    for key in keys:
        copy = workdir / f"app-{key}.sqlite"
        log(f"full app on {int(key):,} quants: {samples} receipt scans")
        shutil.copyfile(datasets[key].path, copy)
        try:
            out["scan_to_screen"][key] = run_child("scans", str(copy), "--samples", str(samples))
            if key == keys[-1]:
                log("cold start to the login screen")
                out["cold_start"] = run_coldstart(str(copy))
                log(f"serial driver over a pseudo-terminal to committed receipt: {samples} scans")
                out["serial_driver_to_commit"] = run_child("serial-driver", str(copy), "--samples", str(samples))
                log(f"the same, paced: the app settles (paints, idles) between scans, untimed: {samples} scans")
                out["serial_driver_paced"] = run_child("serial-driver", str(copy), "--samples", str(samples), "--paced")
                if serials:
                    log(f"{serials:,} serial receipts through the full app")
                    out["serial_receipts"] = run_child("serials", str(copy), "--count", str(serials))
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{copy}{suffix}").unlink(missing_ok=True)
    first, last = out["scan_to_screen"][keys[0]], out["scan_to_screen"][keys[-1]]
    out["scan_to_screen_growth_p95"] = round(last["p95_ms"] / first["p95_ms"], 2)
    return out


def _floor_view(large: Dataset, workdir: Path, samples: int, rng: random.Random) -> dict:
    from warehouse_tui.bench.floor_view import measure_floor_view

    log(f"floor view refresh on {large.quants:,} quants: {min(samples, 50)} refreshes, and the bare statements")
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
        result["budgets"] = {k: v for k, v in budget_report(None, result).items() if k == "floor_view_refresh_ms"}
        result["datasets"] = {str(large.quants): large.describe()}
        result["elapsed_s"] = round(time.perf_counter() - started, 1)
        print(json.dumps(result, indent=2))
        return 0
    result: dict = {"ledger_receipt": {}}
    for key in sorted(datasets, key=int):
        log(f"ledger receipt on {int(key):,} quants: {samples} samples each, ledger and bare")
        result["ledger_receipt"][key] = measure_ledger_receipt(datasets[key], samples, rng)
    result.update(measure_app(datasets, workdir, samples, int(getattr(args, "serials", 10_000))))
    pg = getattr(args, "pg", None)
    if pg and pg != "none":
        from warehouse_tui.bench.sync_figures import measure_sync

        log(f"sync figures against {redact(pg)}")
        result["sync"] = measure_sync(pg, workdir / "sync", movements=int(args.sync_movements), items=int(args.sync_items),
                                      terminals=int(getattr(args, "sync_terminals", 50)))
    result["floor_view"] = _floor_view(large, workdir, samples, rng)
    import_rows = getattr(args, "import_rows", None)
    import_rows = quants // 10 if import_rows is None else int(import_rows)
    if import_rows:
        result["import"] = measure_import(workdir, import_rows)
    small, big = result["ledger_receipt"][str(BASE_QUANTS)], result["ledger_receipt"][str(large.quants)]
    result["growth_p95"] = round(big["p95_ms"] / small["p95_ms"], 2)
    result["bare_growth_p95"] = round(big["bare_p95_ms"] / small["bare_p95_ms"], 2)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result["budgets"] = budget_report(big, result)
    result["datasets"] = {key: ds.describe() for key, ds in sorted(datasets.items(), key=lambda kv: int(kv[0]))}
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
                         "platform": platform.platform()}
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, indent=2))
    return 0
