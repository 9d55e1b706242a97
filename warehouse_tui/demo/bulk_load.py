"""The raw sqlite3 bulk loader of the large (benchmark) warehouse: executemany and INSERT ... SELECT.

Nothing else has the file while it loads (a failed build is thrown away whole), so
it runs with journal and sync off and rebuilds the secondary indexes at the end.
Progress goes to the `progress` callable it is given; it prints nothing itself.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from collections.abc import Callable, Iterator, Sequence

from warehouse_tui.db.models import BinKind, quant_key, utcnow
from warehouse_tui.demo.catalogue import (
    BENCH_OPENING_REF,
    CLIENT_OWNER,
    LOGINS,
    SEED,
    SETUP_TERMINAL,
    L,
    N,
    S,
    gtin14,
)
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.auth import hash_pin

LARGE_LEVELS, LARGE_BAYS, LARGE_AISLES = 5, 40, 25
LARGE_SPECIAL_BINS = (("RCV-01", BinKind.RECEIVING, "DOCK"), ("RCV-02", BinKind.RECEIVING, "DOCK"),
                       ("PACK-01", BinKind.PACK, "PACK"), ("SHIP-01", BinKind.SHIPPING, "SHIP"))
_LARGE_BATCH = 100_000
_ADJECTIVES = ("Basic", "Heavy-duty", "Compact", "Premium", "Eco", "Classic", "Slim", "Outdoor", "Kids", "Pro")
_NOUNS = ("widget", "bracket", "hose", "lamp", "cable", "jar", "box", "glove", "valve", "filter", "bottle",
          "hinge", "brush", "bag", "sensor", "towel", "mug", "clamp", "tray", "cap")


def _zone_name(n: int) -> str:
    """A, B, … Z, AA, AB, … for zone number n (from 0)."""
    name = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        name = chr(65 + r) + name
    return name


def _large_bins(count: int) -> Iterator[tuple]:
    """(id, code, barcode, zone, kind, pick_seq, blocked) rows: the dock first, then racking in walking order."""
    n = 0
    for code, kind, zone in LARGE_SPECIAL_BINS:
        n += 1
        yield (n, code, code, zone, kind.value, 0, 0)
    zone_no = 0
    while True:
        zone = _zone_name(zone_no)
        for aisle in range(1, LARGE_AISLES + 1):
            bay_order = range(1, LARGE_BAYS + 1) if aisle % 2 else range(LARGE_BAYS, 0, -1)
            for bay in bay_order:
                for level in range(1, LARGE_LEVELS + 1):
                    if n >= count:
                        return
                    n += 1
                    code = f"{zone}-{aisle:02d}-{bay:02d}-{level}"
                    kind = BinKind.PICK if level == 1 else BinKind.STORAGE
                    yield (n, code, code, zone, kind.value, n * 10, 0)
        zone_no += 1



def _sqlite_datetime(value: dt.datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime type stores."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def load_large(con: sqlite3.Connection, n_items: int, n_storage: int, n_quants: int, today: dt.date,
               progress: Callable[[str], None]) -> dict:
    """Load items, bins, lots, quants, their opening movements and outbox entries into the schema at `con`."""
    rng = random.Random(SEED)
    # Bulk-load settings: nothing else has the file, and a failed build is thrown away whole.
    for pragma in ("journal_mode = OFF", "synchronous = OFF", "locking_mode = EXCLUSIVE", "foreign_keys = OFF",
                   "cache_size = -262144", "temp_store = MEMORY"):
        con.execute(f"PRAGMA {pragma}")
    # Secondary indexes are cheaper to build once at the end than to keep up row by row;
    # the SQL the migrations made them with is kept and replayed verbatim.
    indexes = con.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        "AND tbl_name IN ('quants', 'movements', 'outbox', 'item_codes', 'lots', 'serial_units')").fetchall()
    for name, _ in indexes:
        con.execute(f'DROP INDEX "{name}"')
    now = utcnow()
    at = _sqlite_datetime(now)

    con.execute("BEGIN")
    con.executemany("INSERT INTO owners (id, code, name) VALUES (?, ?, ?)",
                    [(1, md.DEFAULT_OWNER, "Main warehouse"), (2, CLIENT_OWNER, "Nordic Outdoor Co. (3PL client)")])
    con.executemany("INSERT INTO operators (badge, name, role, pin_hash, failed_logins, locked, active) VALUES (?, ?, ?, ?, 0, 0, 1)",
                    [(badge, name, role, hash_pin(pin)) for badge, pin, role, name in LOGINS])
    bin_rows = list(_large_bins(n_storage + len(LARGE_SPECIAL_BINS)))
    con.executemany("INSERT INTO bins (id, code, barcode, zone, kind, pick_seq, blocked) VALUES (?, ?, ?, ?, ?, ?, ?)", bin_rows)
    zones = sorted({r[3] for r in bin_rows[len(LARGE_SPECIAL_BINS):]})
    storage_ids = [r[0] for r in bin_rows[len(LARGE_SPECIAL_BINS):]]
    del bin_rows
    progress(f"bins {n_storage + len(LARGE_SPECIAL_BINS):,}")

    item_rows, code_rows, lot_rows = [], [], []
    item_lots: dict[int, tuple[int, int]] = {}
    serial_items = 0
    for item_id in range(1, n_items + 1):
        r = rng.random()
        tracking = S if r < 0.05 else L if r < 0.25 else N
        owner_id = 2 if rng.random() < 0.1 else 1
        description = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} {rng.randint(1, 999)}"
        item_rows.append((item_id, owner_id, f"SKU-{item_id:07d}", description, "EA", tracking, int(tracking == L),
                          rng.choice(zones)))
        code_rows.append((item_id, gtin14("0" + f"95{item_id:010d}"), "gtin"))
        if item_id % 10 == 0:
            code_rows.append((item_id, f"SUP-{item_id:07d}", "alias"))
        if tracking == L:
            first = len(lot_rows) + 1
            for n in range(2):
                expiry = today + dt.timedelta(days=rng.randint(-30, 720))
                lot_rows.append((first + n, item_id, f"L{item_id:07d}{'AB'[n]}", expiry.isoformat()))
            item_lots[item_id] = (first, first + 1)
        serial_items += tracking == S
    con.executemany("INSERT INTO items (id, owner_id, sku, description, uom, tracking, expiry_required, zone) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", item_rows)
    con.executemany("INSERT INTO item_codes (item_id, code, kind) VALUES (?, ?, ?)", code_rows)
    con.executemany("INSERT INTO lots (id, item_id, code, expiry) VALUES (?, ?, ?, ?)", lot_rows)
    is_serial = bytearray(n_items + 1)
    owner_of = bytearray(n_items + 1)
    for row in item_rows:
        is_serial[row[0]] = row[5] == S
        owner_of[row[0]] = row[1]
    del item_rows, code_rows
    con.execute("COMMIT")
    progress(f"items {n_items:,}, lots {len(lot_rows):,}")

    # Quants in the order of their unique key, so the key index only ever appends:
    # items (and bins within an item) sorted as the text "id:" sorts.
    con.execute("BEGIN")
    base, extra = divmod(n_quants, n_items)
    quant_id = 0
    units = 0
    batch: list[tuple] = []
    for item_id in sorted(range(1, n_items + 1), key=lambda i: f"{i}:"):
        count = base + (item_id <= extra)
        if not count:
            continue
        lots = item_lots.get(item_id)
        serial = is_serial[item_id]
        owner_id = owner_of[item_id]
        picked = sorted((storage_ids[i] for i in rng.sample(range(n_storage), count)), key=lambda b: f"{b}:")
        for k, bin_id in enumerate(picked):
            quant_id += 1
            lot_id = lots[k % 2] if lots else None
            qty = 1 if serial else rng.randint(1, 500)
            units += qty
            batch.append((quant_id, quant_key(item_id, bin_id, lot_id, None, owner_id, "available"),
                          item_id, bin_id, lot_id, owner_id, qty))
        if len(batch) >= _LARGE_BATCH:
            _insert_quants(con, batch)
            batch = []
            progress(f"quants {quant_id:,}")
    _insert_quants(con, batch)
    con.execute("COMMIT")
    progress(f"quants {quant_id:,} ({units:,} units)")

    # One opening movement per quant and its outbox entry, made by SQLite from the quants themselves.
    # UUIDs are version 4; their first 8 hex digits count up, so the unique uuid indexes only append.
    uuid_base = rng.randrange(0x10000000, 0xFFFFFFFF - n_quants - 1)
    uuid_sql = ("printf('%08x-%04x-4%03x-%04x-%012x', :base + q.id, (q.id * 40503 + :s1) & 65535, "
                "(q.id * 2654435761 + :s2 >> 9) & 4095, 32768 | ((q.id * 69069 + :s3) & 16383), "
                "(q.id * 25214903917 + :s4) & 281474976710655)")
    salts = {f"s{n}": rng.getrandbits(48) for n in range(1, 5)}
    serial_sql = "CASE WHEN i.tracking = 'serial' THEN printf('SN%010d', q.id) END"
    con.execute("BEGIN")
    con.execute(
        "INSERT INTO movements (uuid, kind, item_id, qty, lot_id, serial, to_bin_id, owner_id, from_status, to_status, "
        "terminal, at, doc_ref, conflict) "
        f"SELECT {uuid_sql}, 'adjust', q.item_id, q.qty, q.lot_id, {serial_sql}, q.bin_id, q.owner_id, "
        "'available', 'available', :terminal, :at, :ref, 0 "
        "FROM quants q JOIN items i ON i.id = q.item_id ORDER BY q.id",
        {"base": uuid_base, "terminal": SETUP_TERMINAL, "at": at, "ref": BENCH_OPENING_REF, **salts})
    progress(f"movements {n_quants:,}")
    con.execute(
        "INSERT INTO serial_units (item_id, serial, lot_id, bin_id, container_id, owner_id, status) "
        "SELECT q.item_id, printf('SN%010d', q.id), q.lot_id, q.bin_id, NULL, q.owner_id, 'in_stock' "
        "FROM quants q JOIN items i ON i.id = q.item_id WHERE i.tracking = 'serial' ORDER BY q.id")
    serials = con.execute("SELECT changes()").fetchone()[0]
    # The opening balance counts as already upstream: the outbox entries are marked applied.
    con.execute(
        "INSERT INTO outbox (uuid, kind, payload, terminal, created_at, pushed_at, outcome) "
        "SELECT m.uuid, 'movement', json_object("
        "'id', m.uuid, 'kind', m.kind, 'sku', i.sku, 'owner', o.code, 'qty', m.qty, 'lot', l.code, "
        "'expiry', l.expiry, 'serial', m.serial, 'from_bin', NULL, 'to_bin', b.code, 'from_container', NULL, "
        "'to_container', NULL, 'from_status', m.from_status, 'to_status', m.to_status, 'operator', NULL, "
        "'terminal', m.terminal, 'at', :at_iso, 'ref', m.doc_ref), m.terminal, m.at, m.at, 'applied' "
        "FROM movements m JOIN items i ON i.id = m.item_id JOIN owners o ON o.id = m.owner_id "
        "JOIN bins b ON b.id = m.to_bin_id LEFT JOIN lots l ON l.id = m.lot_id "
        "WHERE m.doc_ref = :ref ORDER BY m.seq",
        {"at_iso": now.isoformat(), "ref": BENCH_OPENING_REF})
    con.execute("COMMIT")
    progress(f"outbox {n_quants:,}, serial units {serials:,}")

    for name, sql in indexes:
        con.execute(sql)
    progress(f"indexes rebuilt ({len(indexes)})")
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA locking_mode = NORMAL")
    con.execute("SELECT count(*) FROM owners").fetchone()  # the next access drops the exclusive lock
    return {"lots": len(lot_rows), "lot_items": len(item_lots), "serial_items": serial_items,
            "units": units, "serials": serials}



def _insert_quants(con: sqlite3.Connection, rows: Sequence[tuple]) -> None:
    con.executemany(
        "INSERT INTO quants (id, key, item_id, bin_id, lot_id, container_id, owner_id, status, qty, reserved) "
        "VALUES (?, ?, ?, ?, ?, NULL, ?, 'available', ?, 0)", rows)

