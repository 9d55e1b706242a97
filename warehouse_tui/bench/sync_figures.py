"""Sync figures for `warehouse-tui bench` (DESIGN §9): push throughput, an empty sync, a pull of 100k items.

Each builds its own scratch PostgreSQL database on the server given by an
admin URL (dropped afterwards) and SQLite terminals in a work directory, and
returns a dict for the bench's JSON:

- `measure_push`: N receipts waiting in a terminal's outbox pushed in batches
  (read, booked upstream exactly once, acknowledged locally), in movements/s,
  beside the bare database: the same movement rows inserted into the same
  table with psycopg's executemany … ON CONFLICT (uuid) DO NOTHING, and with
  COPY (the fastest the bare table takes them: the floor of the movement rows
  alone, without the quants, the applied entries, the feed or the terminal).
- `measure_empty_sync`: a full sync (push + pull) with nothing to do, p50/p95 ms,
  beside the bare round trip of the two queries it cannot avoid.
- `measure_pull_items`: a new terminal pulling 100k items (with a GTIN each) in
  seconds, beside the bare SELECT of the same rows.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from warehouse_tui.db.engine import Database, make_engine, redact
from warehouse_tui.db.migrate import upgrade


class ScratchDatabase:
    """A fresh PostgreSQL database on the admin URL's server, dropped on exit."""

    def __init__(self, admin_url: str) -> None:
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.name = f"wt_bench_{uuid.uuid4().hex[:10]}"
        self.url = admin_url.rsplit("/", 1)[0] + f"/{self.name}"

    def __enter__(self) -> str:
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        return self.url

    def __exit__(self, *exc) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def _upstream_with(url: str, items: int, bins: int) -> None:
    """Master data written in bulk (COPY), then published by `upstream init`, as a site would seed it."""
    from warehouse_tui.sync import init_upstream

    engine = make_engine(url)
    upgrade(engine)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("INSERT INTO owners (id, code, name) VALUES (1, 'MAIN', 'MAIN')")
        with cur.copy("COPY bins (code, barcode, zone, kind, pick_seq, blocked) FROM STDIN") as copy:
            for n in range(bins):
                copy.write_row((f"B{n:06d}", f"B{n:06d}", "A", "storage", n, False))
        with cur.copy("COPY items (owner_id, sku, description, uom, tracking, expiry_required, zone) FROM STDIN") as copy:
            for n in range(items):
                copy.write_row((1, f"SKU{n:06d}", f"Item {n}", "EA", "none", False, "A"))
        cur.execute("INSERT INTO item_codes (item_id, code, kind) SELECT id, lpad(id::text, 14, '0'), 'gtin' FROM items")
        raw.commit()
    finally:
        raw.close()
        engine.dispose()
    init_upstream(url)


def _outbox_receipts(path: Path, count: int, items: int, bins: int) -> list[dict]:
    """A terminal whose outbox holds `count` receipts spread over the items and bins (written directly)."""
    import sqlite3

    db = Database(path)
    db.dispose()
    payloads = []
    now = "2026-01-01T00:00:00"
    for n in range(count):
        payloads.append({"id": str(uuid.uuid4()), "kind": "receipt", "sku": f"SKU{n % items:06d}", "owner": "MAIN", "qty": 1 + n % 5,
                         "lot": None, "expiry": None, "serial": None, "from_bin": None, "to_bin": f"B{(n * 7) % bins:06d}",
                         "from_container": None, "to_container": None, "from_status": "available", "to_status": "available",
                         "operator": None, "terminal": "BENCH", "at": now, "ref": "BENCH", "consume_reserved": 0})
    con = sqlite3.connect(path)
    con.executemany("INSERT INTO outbox (uuid, kind, payload, terminal, created_at) VALUES (?, 'movement', ?, 'BENCH', ?)",
                    [(p["id"], json.dumps(p), now) for p in payloads])
    con.commit()
    con.close()
    return payloads


def measure_push(admin_url: str, workdir: Path, movements: int = 20_000, batch_size: int = 5_000) -> dict:
    from warehouse_tui.sync import open_upstream
    from warehouse_tui.sync.push import push

    items, bins = 1_000, 1_000
    with ScratchDatabase(admin_url) as url:
        _upstream_with(url, items, bins)
        path = Path(workdir) / f"push-{uuid.uuid4().hex[:8]}.sqlite"
        payloads = _outbox_receipts(path, movements, items, bins)
        local, upstream = Database(path), open_upstream(url)
        try:
            started = time.perf_counter()
            result = push(local, upstream, "BENCH", batch_size)
            seconds = time.perf_counter() - started
            assert result.applied == movements, result
            bare = _bare_movement_inserts(upstream, payloads)
            bare_copy = _bare_movement_copy(upstream, payloads)
        finally:
            local.dispose()
            upstream.dispose()
            path.unlink(missing_ok=True)
    rate = movements / seconds
    return {"movements": movements, "batch_size": batch_size, "seconds": round(seconds, 3), "movements_per_s": round(rate),
            "bare_executemany_per_s": round(bare), "ratio_to_bare": round(rate / bare, 3),
            "bare_copy_per_s": round(bare_copy), "ratio_to_bare_copy": round(rate / bare_copy, 3), "upstream": redact(url)}


_BARE_COLUMNS = "uuid, kind, item_id, qty, to_bin_id, owner_id, from_status, to_status, terminal, at, doc_ref, conflict, origin"


def _bare_rows(cur, payloads: list[dict]) -> list[tuple]:
    """The movement rows of the payloads (new uuids), ids resolved beforehand: the bare database's share only."""
    cur.execute("SELECT code, id FROM bins")
    bins = dict(cur.fetchall())
    cur.execute("SELECT sku, id FROM items")
    items = dict(cur.fetchall())
    return [(str(uuid.uuid4()), p["kind"], items[p["sku"]], p["qty"], bins[p["to_bin"]], 1, "available", "available", p["terminal"],
             p["at"], p["ref"], False, "upstream") for p in payloads]


def _bare_movement_inserts(upstream: Database, payloads: list[dict]) -> float:
    """The same movement rows (new uuids) into the same table: psycopg executemany … ON CONFLICT DO NOTHING."""
    raw = upstream.engine.raw_connection()
    try:
        cur = raw.cursor()
        rows = _bare_rows(cur, payloads)
        started = time.perf_counter()
        cur.executemany(f"INSERT INTO movements ({_BARE_COLUMNS}) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (uuid) DO NOTHING", rows)
        raw.commit()
        seconds = time.perf_counter() - started
    finally:
        raw.close()
    return len(payloads) / seconds


def _bare_movement_copy(upstream: Database, payloads: list[dict]) -> float:
    """The same movement rows (new uuids) into the same table with one COPY and one commit."""
    raw = upstream.engine.raw_connection()
    try:
        cur = raw.cursor()
        rows = _bare_rows(cur, payloads)
        started = time.perf_counter()
        with cur.copy(f"COPY movements ({_BARE_COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
        seconds = time.perf_counter() - started
    finally:
        raw.close()
    return len(payloads) / seconds


def measure_empty_sync(admin_url: str, workdir: Path, samples: int = 50) -> dict:
    from warehouse_tui.sync import open_upstream, sync_once

    with ScratchDatabase(admin_url) as url:
        _upstream_with(url, 100, 100)
        path = Path(workdir) / f"empty-{uuid.uuid4().hex[:8]}.sqlite"
        local, upstream = Database(path), open_upstream(url)
        try:
            sync_once(local, upstream, "BENCH")
            timings = []
            for _ in range(samples):
                started = time.perf_counter()
                result = sync_once(local, upstream, "BENCH")
                timings.append(time.perf_counter() - started)
                assert result.push.pushed == 0 and result.pull.rows == 0
            bare = []
            raw = upstream.engine.raw_connection()
            try:
                cur = raw.cursor()
                for _ in range(samples):
                    started = time.perf_counter()
                    cur.execute("SELECT seq, kind, ref_id FROM change_feed WHERE seq > %s ORDER BY seq LIMIT 1", (10**12,))
                    cur.fetchall()
                    raw.commit()
                    bare.append(time.perf_counter() - started)
            finally:
                raw.close()
        finally:
            local.dispose()
            upstream.dispose()
            path.unlink(missing_ok=True)
    p50, p95 = _ms(timings, 50), _ms(timings, 95)
    return {"samples": samples, "p50_ms": p50, "p95_ms": p95, "bare_round_trip_p50_ms": _ms(bare, 50),
            "ratio_to_bare": round(p50 / max(_ms(bare, 50), 0.001), 1)}


def _ms(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))] * 1000, 3)


def measure_pull_items(admin_url: str, workdir: Path, items: int = 100_000) -> dict:
    from warehouse_tui.sync import open_upstream
    from warehouse_tui.sync.pull import pull

    with ScratchDatabase(admin_url) as url:
        _upstream_with(url, items, 1_000)
        path = Path(workdir) / f"pull-{uuid.uuid4().hex[:8]}.sqlite"
        local, upstream = Database(path), open_upstream(url)
        try:
            started = time.perf_counter()
            result = pull(local, upstream, "BENCH")
            seconds = time.perf_counter() - started
            assert result.applied["item"] == items, result
            raw = upstream.engine.raw_connection()
            try:
                cur = raw.cursor()
                started = time.perf_counter()
                cur.execute("SELECT i.sku, i.description, i.uom, i.tracking, i.expiry_required, i.zone, o.code, c.code, c.kind "
                            "FROM items i JOIN owners o ON o.id = i.owner_id LEFT JOIN item_codes c ON c.item_id = i.id")
                cur.fetchall()
                bare = time.perf_counter() - started
                raw.commit()
            finally:
                raw.close()
        finally:
            local.dispose()
            upstream.dispose()
            path.unlink(missing_ok=True)
    return {"items": items, "seconds": round(seconds, 3), "bare_select_s": round(bare, 3), "ratio_to_bare": round(seconds / bare, 1)}


def measure_sync(admin_url: str, workdir: Path, *, movements: int = 20_000, items: int = 100_000, samples: int = 50) -> dict:
    """All three sync figures; `admin_url` names a PostgreSQL server where scratch databases may be made."""
    return {
        "sync_push": measure_push(admin_url, workdir, movements),
        "empty_sync": measure_empty_sync(admin_url, workdir, samples),
        "pull_items": measure_pull_items(admin_url, workdir, items),
    }
