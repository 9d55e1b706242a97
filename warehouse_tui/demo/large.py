"""The large (benchmark) warehouse (`warehouse-tui demo --large`): checks, building beside, progress on stderr."""

from __future__ import annotations

import datetime as dt
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path

from warehouse_tui import clock
from warehouse_tui.db.engine import Database, sqlite_path, to_url
from warehouse_tui.demo.bulk_load import LARGE_SPECIAL_BINS, load_large
from warehouse_tui.demo.catalogue import logins_text
from warehouse_tui.demo.files import building_path, make_room, put_in_place, remove_sqlite_file
from warehouse_tui.errors import InvalidInput


def _stderr_progress(started: float) -> Callable[[str], None]:
    """Progress lines on stderr, each with the seconds since `started`."""
    def report(message: str) -> None:
        print(f"[demo --large] {time.perf_counter() - started:7.1f} s  {message}", file=sys.stderr, flush=True)
    return report


def build_large(db: str | Path, items: int = 100_000, bins: int = 50_000, quants: int = 1_000_000,
                force: bool = False, *, today: dt.date | None = None) -> str:
    """Build the benchmark warehouse of DESIGN §9 into a SQLite file; returns a printable summary.

    Items are 75 % untracked, 20 % lot-tracked with expiry (two lots each), 5 %
    serial-tracked (one unit per quant); one item in ten belongs to the 3PL
    client. Each item has about quants/items quants in distinct random bins.
    Built into `<file>.building` with journal and sync off, then switched back
    to WAL and renamed into place, so a half-built file is never taken for a
    finished one. Progress goes to stderr.
    """
    started = time.perf_counter()
    progress = _stderr_progress(started)
    today = today or clock.today()
    storage_bins = bins - len(LARGE_SPECIAL_BINS)
    if items < 1 or storage_bins < 1 or quants < 1:
        raise InvalidInput(f"The large warehouse needs at least 1 item, {len(LARGE_SPECIAL_BINS) + 1} bins and 1 quant")
    per_item = -(-quants // items)
    if per_item > storage_bins:
        raise InvalidInput(f"{quants:,} quants do not fit {items:,} items in {storage_bins:,} storage bins "
                           f"(at most {items * storage_bins:,})")
    url = to_url(db)
    path = sqlite_path(url)
    if path is None:
        raise InvalidInput("The large warehouse is built as a SQLite file — give --db a file path")
    make_room(db, force)
    building = building_path(path)
    remove_sqlite_file(building)
    try:
        schema = Database(building)  # the migrations make the schema and its indexes
        schema.dispose()
        con = sqlite3.connect(building, isolation_level=None)
        try:
            stats = load_large(con, items, storage_bins, quants, today, progress)
        finally:
            con.close()
        # Built with sync off: made durable before it takes the final name.
        put_in_place(building, path)
    except BaseException:
        remove_sqlite_file(building)
        raise
    elapsed = time.perf_counter() - started
    progress(f"done: {path}")
    return "\n".join([
        f"Large warehouse built in {path} in {elapsed:.1f} s",
        f"  items      {items:,} ({stats['lot_items']:,} lot-tracked, {stats['serial_items']:,} serial-tracked)",
        f"  bins       {bins:,}",
        f"  lots       {stats['lots']:,}",
        f"  quants     {quants:,} ({stats['units']:,} units), each with its movement and outbox entry",
        f"  serials    {stats['serials']:,}",
        "Logins:",
        logins_text(),
    ])

