"""The `import` figures: each CSV import in a child process beside raw SQL, and scans committed beside it."""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import sqlite3
import statistics
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

from warehouse_tui.bench.ledger_receipt import BENCH_TERMINAL
from warehouse_tui.bench.report import log
from warehouse_tui.db.engine import BUSY_TIMEOUT_MS, Database
from warehouse_tui.services.ledger import Actor


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
    code = "import sys; from warehouse_tui.bench.csv_import import import_child; import_child(*sys.argv[1:])"
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
    code = "import sys; from warehouse_tui.bench.csv_import import scan_loop; scan_loop(*sys.argv[1:])"
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
        log(f"import {kind}: {rows:,} rows, and the same rows by raw SQL")
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
    log(f"import stock again with a scanning terminal beside it: {files['stock'][1]:,} rows")
    out["scans_during_stock_import"] = measure_scans_during_import(files["stock"][0], scan_path)
    return out


def _fold_wal(path: Path) -> None:
    """Fold the WAL into the file, so that a plain copy carries everything."""
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
