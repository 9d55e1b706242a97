"""Demo and benchmark warehouses: `warehouse-tui demo` and `warehouse-tui demo --large`.

The demo warehouse (`build_demo`) is a small site to try every workflow on:

- Dock: receiving bins RCV-01 and RCV-02, a staging lane STAGE-01; packing
  station PACK-01; shipping door SHIP-01.
- Three racked zones, bins named zone-aisle-bay-level (A-01-02-1 is zone A,
  aisle 01, bay 02, level 1). Level 1 is the pick face (kind pick), the levels
  above are reserve storage. A is the fast-moving zone (office, tools and
  electronics), B the general zone, C the food and outdoor zone. pick_seq runs
  in walking order: zone A, B, C; aisles in a serpentine (odd aisles up the
  bays, even aisles back down); levels bottom up. Bin B-02-07-3 is blocked
  (damaged beam) and empty.
- Two owners: MAIN (the warehouse's own stock) and NORDIC (Nordic Outdoor Co.,
  a 3PL client). About fifty items of every kind: untracked, lot-tracked with
  expiry (food, cosmetics), lot-tracked without expiry (paint batches),
  expiry-dated without lots (lots named by the date), serial-tracked
  (drills, scanners, laptops, stoves); some sold by the case (uom CS) with a
  GTIN-14. Every GTIN has a valid GS1 check digit; some items carry a second
  GTIN (a US supplier's UPC-A) or a supplier code as alias.
- Opening stock in pick faces and reserve posted through the ledger (doc
  OPENING), including lots near expiry and the older lot of oat milk
  (OAT-MILK-1L), expired 20 days before the build date, still on the shelf. Serial items have units in
  stock. Empty totes TOTE-0001..TOTE-0020.
- Three open inbound documents: PO-1001 (office supplies, partly received:
  an SSCC pallet and loose cartons wait in RCV-01 for putaway), PO-1002 (food,
  lines with lot and expiry) and ASN-2001 (the 3PL client's goods, with lots,
  expiry dates and serial-tracked stoves).
- Ten outbound orders ORD-10001..ORD-10010 from the webshop, a marketplace,
  B2B customers, a retail store and the 3PL client's webshop, with
  priorities 1 (normal) to 9 (same day); all of them can be picked from stock.
- Pick faces with min/max for six zone A and B items (FACE_SKUS), and
  ORD-10011, which wants 5 more of one of them than its face holds: its wave
  raises a replenishment from reserve first and the pick waits for it.

Logins (also in the README):

    badge U1001, PIN 1234  operator   (Maria Lopez)
    badge S9001, PIN 9999  supervisor (Sam Keller)

The large warehouse (`build_large`) is the benchmark size of DESIGN §9
(100,000 items, 50,000 bins, 1,000,000 quants by default), loaded in bulk
with the driver's executemany and INSERT ... SELECT; every quant has its
opening movement (kind adjust, doc BENCH-OPENING) and outbox entry, so
`warehouse-tui check` holds on it.

Both are deterministic (seeded random); dates are relative to the build day.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sqlite3
import sys
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from warehouse_tui import clock
from warehouse_tui.db.engine import Database, make_engine, redact, sqlite_path, to_url
from warehouse_tui.db.models import (
    Bin,
    BinKind,
    ContainerKind,
    InboundLine,
    InboundOrder,
    Item,
    ItemCode,
    Lot,
    Movement,
    Operator,
    OutboundLine,
    OutboundOrder,
    PickFace,
    Quant,
    Role,
    SerialUnit,
    Tracking,
    quant_key,
    utcnow,
)
from warehouse_tui.errors import ConfigError, InvalidInput, NotAllowed
from warehouse_tui.scan.gtin import gs1_check_digit, make_sscc
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.auth import hash_pin
from warehouse_tui.services.check import run_checks
from warehouse_tui.services.ledger import Actor, post

SEED = 20261127
OPERATOR_BADGE, OPERATOR_PIN = "U1001", "1234"
SUPERVISOR_BADGE, SUPERVISOR_PIN = "S9001", "9999"
LOGINS = (
    (OPERATOR_BADGE, OPERATOR_PIN, Role.OPERATOR.value, "Maria Lopez"),
    (SUPERVISOR_BADGE, SUPERVISOR_PIN, Role.SUPERVISOR.value, "Sam Keller"),
)
CLIENT_OWNER = "NORDIC"
BLOCKED_BIN = "B-02-07-3"
OPENING_REF = "OPENING"
BENCH_OPENING_REF = "BENCH-OPENING"
SETUP_TERMINAL = "DEMO-SETUP"

# Tables whose rows mean "this database already holds a warehouse".
_CONTENT_TABLES = ("owners", "items", "bins", "operators", "movements")


# --------------------------------------------------------------------------- shared


def gtin13(payload12: str) -> str:
    """A GTIN-13 (EAN-13) from its first 12 digits."""
    return payload12 + str(gs1_check_digit(payload12))


def gtin14(payload13: str) -> str:
    """A GTIN-14 from its first 13 digits (indicator digit first)."""
    return payload13 + str(gs1_check_digit(payload13))


def _sqlite_file_holds_data(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return False
    try:
        con = sqlite3.connect(path)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            return any(con.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone() for t in _CONTENT_TABLES if t in tables)
        finally:
            con.close()
    except sqlite3.DatabaseError:
        return True  # not a database we can read: never overwrite it silently


def _server_holds_data(db: str | Path) -> bool:
    engine = make_engine(db)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            return any(conn.execute(text(f'SELECT 1 FROM "{t}" LIMIT 1')).first() for t in _CONTENT_TABLES if t in tables)
    except SQLAlchemyError as exc:
        raise ConfigError(f"Cannot open {redact(engine.url)}: {type(exc).__name__}") from exc
    finally:
        engine.dispose()


def holds_warehouse(db: str | Path) -> bool:
    """Whether the database (file or server) already holds warehouse data."""
    path = sqlite_path(to_url(db))
    return _sqlite_file_holds_data(path) if path is not None else _server_holds_data(db)


def remove_sqlite_file(path: Path, *, main: bool = True) -> None:
    """Delete a SQLite database with its WAL, shared-memory and rollback-journal files (`main=False`: only those)."""
    for suffix in ("", "-wal", "-shm", "-journal") if main else ("-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _make_room(db: str | Path, force: bool) -> URL:
    """Refuse to overwrite a database that holds a warehouse, unless forced (SQLite files only).

    Nothing is deleted here: a forced build is made beside the old file and takes
    its place only when complete (`_put_in_place`).
    """
    url = to_url(db)
    path = sqlite_path(url)
    if path is not None:
        if _sqlite_file_holds_data(path) and not force:
            raise NotAllowed(f"{path} already holds a warehouse — add --force to replace it")
        return url
    if _server_holds_data(db):
        if force:
            raise NotAllowed(f"{redact(url)} already holds a warehouse and --force only replaces SQLite files — "
                             "drop and recreate that database yourself")
        raise NotAllowed(f"{redact(url)} already holds a warehouse — use an empty database")
    return url


def _building(path: Path) -> Path:
    """Where a new warehouse for `path` is built: beside it (same filesystem, so the final rename is atomic)."""
    return Path(f"{path}.building")


def _put_in_place(building: Path, path: Path) -> None:
    """Replace the database at `path` by the finished one at `building`, whole, with its -wal/-shm.

    The new file is made durable first. The old database's WAL is folded into it
    (a crash before the rename leaves it whole) and removed with its -shm before the
    rename: a WAL left beside the new file would be replayed into it. The rename is
    the one moment the name changes hands.
    """
    _fold_wal(building)
    remove_sqlite_file(building, main=False)
    _fsync(building)
    if path.exists():
        _fold_wal(path)
    remove_sqlite_file(path, main=False)
    os.replace(building, path)
    _fsync(path.parent)


def _fold_wal(path: Path) -> None:
    """Checkpoint a WAL database's log into its main file, best effort (a file that is no database has none)."""
    try:
        con = sqlite3.connect(path, isolation_level=None)
        try:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            con.close()
    except sqlite3.DatabaseError:
        pass


def _add_operators(session) -> dict[str, Operator]:
    ops = {}
    for badge, pin, role, name in LOGINS:
        op = Operator(badge=badge, name=name, role=role, pin_hash=hash_pin(pin))
        session.add(op)
        ops[badge] = op
    session.flush()
    return ops


def _logins_text() -> str:
    return "\n".join(f"  badge {badge}  PIN {pin}  {role} ({name})" for badge, pin, role, name in LOGINS)


# --------------------------------------------------------------------------- the demo warehouse


@dataclass(frozen=True)
class DemoItem:
    sku: str
    description: str
    zone: str
    tracking: str = Tracking.NONE.value
    expiry: bool = False
    uom: str = "EA"
    owner: str = md.DEFAULT_OWNER
    alias: str | None = None
    upc: str | None = None  # a second GTIN: the 11 digits of a UPC-A before its check digit
    stock: bool = True


N, L, S = Tracking.NONE.value, Tracking.LOT.value, Tracking.SERIAL.value

DEMO_ITEMS: tuple[DemoItem, ...] = (
    # Zone A: office supplies, tools, electronics (MAIN)
    DemoItem("TAPE-48", "Packing tape clear 48 mm x 66 m", "A", alias="SUP-ACM-4866"),
    DemoItem("PAPER-A4", "Copy paper A4 80 g, box of 5 reams", "A", uom="CS"),
    DemoItem("MARKER-BLK", "Permanent marker black", "A", alias="SUP-ACM-1101"),
    DemoItem("STAPLER", "Desk stapler 25 sheets", "A"),
    DemoItem("SCISSORS-21", "Office scissors 21 cm", "A"),
    DemoItem("NOTEBOOK-A5", "Notebook A5 ruled 96 pages", "A"),
    DemoItem("CABLE-TIE-200", "Cable ties 200 mm, bag of 100", "A", alias="SUP-FAS-0200"),
    DemoItem("BATT-AA-4", "Batteries AA alkaline, pack of 4", "A", upc="07638900411"),
    DemoItem("USBC-1M", "USB-C cable 1 m", "A"),
    DemoItem("HDMI-2M", "HDMI cable 2 m", "A"),
    DemoItem("LED-E27-9W", "LED bulb E27 9 W warm white", "A", upc="04603204811"),
    DemoItem("SCREWDRIVER-6", "Screwdriver set, 6 pieces", "A"),
    DemoItem("HEXKEY-MET", "Hex key set metric 1.5-10 mm", "A"),
    DemoItem("TAPE-MEAS-5", "Measuring tape 5 m", "A"),
    DemoItem("DRILL-18V", "Cordless drill 18 V", "A", tracking=S, alias="SUP-PWR-18V"),
    DemoItem("SCANNER-2D", "Handheld 2D barcode scanner", "A", tracking=S),
    DemoItem("LAPTOP-14", "Laptop 14 inch, 16 GB", "A", tracking=S),
    DemoItem("LABELPRN-4", "Label printer 4 inch thermal", "A", tracking=S),
    DemoItem("TABLET-10", "Tablet 10 inch, 64 GB", "A", tracking=S),
    # Zone B: general merchandise (MAIN)
    DemoItem("STRETCH-500", "Stretch film 500 mm, case of 6 rolls", "B", uom="CS"),
    DemoItem("GLOVES-L", "Work gloves size L", "B"),
    DemoItem("GLASSES-CLR", "Safety glasses clear", "B"),
    DemoItem("DUCT-SILVER", "Duct tape silver 50 m", "B"),
    DemoItem("EXT-CORD-5", "Extension cord 5 m, 3 sockets", "B"),
    DemoItem("WALLPLUG-6", "Wall plugs 6 mm, box of 100", "B", alias="SUP-FAS-0600"),
    DemoItem("SCREW-4X40", "Wood screws 4 x 40 mm, box of 200", "B"),
    DemoItem("SWITCH-WHT", "Light switch white", "B"),
    DemoItem("BOTTLE-750", "Water bottle 750 ml", "B"),
    DemoItem("MUG-300", "Coffee mug 300 ml", "B"),
    DemoItem("BOTTLE-750-CS", "Water bottle 750 ml, case of 24", "B", uom="CS"),
    DemoItem("PAINT-WHT-2L5", "Wall paint white 2.5 l", "B", tracking=L),
    DemoItem("GROUT-GREY-5", "Tile grout grey 5 kg", "B", tracking=L),
    DemoItem("SANITISER-500", "Hand sanitiser 500 ml", "B", expiry=True),
    DemoItem("SUNSCREEN-50", "Sunscreen SPF 50, 200 ml", "B", tracking=L, expiry=True),
    # Zone C: food (MAIN)
    DemoItem("OLIVE-OIL-1L", "Olive oil extra virgin 1 l", "C", tracking=L, expiry=True, alias="SUP-MED-OO1"),
    DemoItem("ESPRESSO-1K", "Espresso beans 1 kg", "C", tracking=L, expiry=True),
    DemoItem("TEA-GREEN-20", "Green tea, 20 bags", "C", tracking=L, expiry=True),
    DemoItem("PASTA-PENNE", "Pasta penne 500 g", "C", tracking=L, expiry=True),
    DemoItem("PASTA-PENNE-CS", "Pasta penne 500 g, case of 12", "C", tracking=L, expiry=True, uom="CS"),
    DemoItem("PASSATA-700", "Tomato passata 700 g", "C", tracking=L, expiry=True),
    DemoItem("PROTEIN-BAR", "Protein bar chocolate 60 g", "C", tracking=L, expiry=True),
    DemoItem("OAT-MILK-1L", "Oat milk 1 l", "C", tracking=L, expiry=True),
    DemoItem("VITC-1000", "Vitamin C 1000 mg, 60 tablets", "C", tracking=L, expiry=True),
    DemoItem("SOAP-BAR", "Soap bar 100 g", "C", expiry=True),
    # The 3PL client's goods (NORDIC), zone C
    DemoItem("NO-BOOT-42", "Hiking boots, size 42", "C", owner=CLIENT_OWNER),
    DemoItem("NO-BOOT-44", "Hiking boots, size 44", "C", owner=CLIENT_OWNER),
    DemoItem("NO-POLES", "Trekking poles, pair", "C", owner=CLIENT_OWNER, alias="NOC-11873"),
    DemoItem("NO-TENT-2P", "Tent, 2 person", "C", owner=CLIENT_OWNER),
    DemoItem("NO-BAG-5", "Sleeping bag, -5 °C", "C", owner=CLIENT_OWNER),
    DemoItem("NO-LAMP-300", "Headlamp 300 lm", "C", owner=CLIENT_OWNER),
    DemoItem("NO-JACKET-M", "Rain jacket, size M", "C", owner=CLIENT_OWNER),
    DemoItem("NO-STOVE", "Camping stove, gas", "C", tracking=S, owner=CLIENT_OWNER, stock=False),
    DemoItem("NO-FILTER", "Water filter, hollow fibre", "C", tracking=S, owner=CLIENT_OWNER),
    DemoItem("NO-MEAL-CHILI", "Freeze-dried meal, chili con carne", "C", tracking=L, expiry=True, owner=CLIENT_OWNER),
    DemoItem("NO-GEL-CITRUS", "Energy gel citrus, 40 g", "C", tracking=L, expiry=True, owner=CLIENT_OWNER),
)

# GS1 company prefixes: the warehouse's own brand and the 3PL client's supplier.
_PREFIX = {md.DEFAULT_OWNER: "9501101", CLIENT_OWNER: "5901234"}
# Zone layout: (aisles, bays per aisle, levels).
_ZONES = {"A": (3, 10, 3), "B": (3, 10, 4), "C": (3, 10, 4)}
_SERIAL_PREFIX = {"DRILL-18V": "DR18", "SCANNER-2D": "SC2D", "LAPTOP-14": "LT14", "LABELPRN-4": "LP4T",
                  "TABLET-10": "TB10", "NO-STOVE": "NSTV", "NO-FILTER": "NFLT"}


def _demo_gtin(item: DemoItem, ref: int) -> str:
    payload = _PREFIX[item.owner] + f"{ref:05d}"
    if item.uom == "CS":  # a case: GTIN-14 with packaging indicator 1
        return gtin14("1" + payload)
    return gtin13(payload)


def _demo_bins(session) -> dict[str, Bin]:
    bins: dict[str, Bin] = {}
    for code, kind, zone in (("RCV-01", BinKind.RECEIVING, "DOCK"), ("RCV-02", BinKind.RECEIVING, "DOCK"),
                             ("STAGE-01", BinKind.STAGING, "DOCK")):
        bins[code] = md.add_bin(session, code, zone=zone, kind=kind.value)
    seq = 0
    for zone, (aisles, bays, levels) in _ZONES.items():
        for aisle in range(1, aisles + 1):
            # Serpentine: odd aisles walk up the bays, even aisles back down.
            bay_order = range(1, bays + 1) if aisle % 2 else range(bays, 0, -1)
            for bay in bay_order:
                for level in range(1, levels + 1):
                    seq += 10
                    code = f"{zone}-{aisle:02d}-{bay:02d}-{level}"
                    kind = BinKind.PICK if level == 1 else BinKind.STORAGE
                    bins[code] = md.add_bin(session, code, zone=zone, kind=kind.value, pick_seq=seq,
                                            blocked=code == BLOCKED_BIN)
    bins["PACK-01"] = md.add_bin(session, "PACK-01", zone="PACK", kind=BinKind.PACK.value, pick_seq=seq + 10)
    bins["SHIP-01"] = md.add_bin(session, "SHIP-01", zone="SHIP", kind=BinKind.SHIPPING.value, pick_seq=seq + 20)
    return bins


def _lot_code(item: DemoItem, expiry: dt.date | None, n: int, rng: random.Random) -> str:
    """A supplier-style lot code: OA8045A for a dated lot, PA40715 for a batch without expiry.

    A dated lot's code is the same whatever day the demo is built (a number made from the SKU,
    not from the expiry), so documentation and tests can name it; its expiry is relative to the day.
    """
    if item.tracking != L:
        return expiry.isoformat()  # expiry-dated items without lots: one lot per date, as receiving names them
    stem = "".join(ch for ch in item.sku if ch.isalpha())[:2]
    if expiry is None:
        return f"{stem}{rng.randint(10_000, 99_999)}"
    return f"{stem}{zlib.crc32(item.sku.encode()) % 9000 + 1000}{'ABCDEFG'[n]}"


def build_demo(db: str | Path, force: bool = False, *, today: dt.date | None = None) -> str:
    """Build the demo warehouse of the module docstring; returns a printable summary.

    Refuses (NotAllowed) to overwrite a database that already holds a warehouse;
    with `force` a SQLite file is replaced — by a new file built beside it and
    renamed into place once complete, so a failed build leaves the old one as it
    was (a server database is never replaced).
    """
    today = today or clock.today()
    started = time.perf_counter()
    url = _make_room(db, force)
    path = sqlite_path(url)
    target = db if path is None else _building(path)
    if path is not None:
        remove_sqlite_file(target)  # a build that died earlier
    rng = random.Random(SEED)
    try:
        database = Database(target)
        try:
            with database.transaction() as s:
                summary = _fill_demo(s, rng, today)
            with database.reading() as s:
                report = run_checks(s)
                counts = {name: s.scalar(select(func.count()).select_from(model)) for name, model in (
                    ("bins", Bin), ("items", Item), ("codes", ItemCode), ("lots", Lot), ("quants", Quant),
                    ("movements", Movement), ("serials", SerialUnit), ("inbound", InboundOrder),
                    ("inbound_lines", InboundLine), ("outbound", OutboundOrder), ("outbound_lines", OutboundLine))}
                units = s.scalar(select(func.coalesce(func.sum(Quant.qty), 0)))
        finally:
            database.dispose()
        if path is not None:
            _put_in_place(target, path)
    except BaseException:
        if path is not None:
            remove_sqlite_file(target)
        raise
    where = sqlite_path(url) or redact(url)
    tracking = summary["tracking"]
    return "\n".join([
        f"Demo warehouse built in {where} ({time.perf_counter() - started:.1f} s)",
        f"  owners     2 ({md.DEFAULT_OWNER}, {CLIENT_OWNER} — a 3PL client)",
        f"  bins       {counts['bins']} (receiving RCV-01, RCV-02; zones A, B, C; PACK-01, SHIP-01; "
        f"{BLOCKED_BIN} blocked)",
        f"  items      {counts['items']} ({tracking[N]} untracked, {tracking[L]} lot-tracked, {tracking[S]} serial-tracked) "
        f"with {counts['codes']} GTINs and aliases",
        f"  lots       {counts['lots']} (lot {summary['expired_lot']} of OAT-MILK-1L expired {summary['expired']:%Y-%m-%d})",
        f"  serials    {counts['serials']} in stock",
        f"  stock      {units:,} units in {counts['quants']} quants ({counts['movements']} movements)",
        f"  inbound    {counts['inbound']} open ({', '.join(summary['inbound'])}; {counts['inbound_lines']} lines)",
        f"  outbound   {counts['outbound']} orders ({counts['outbound_lines']} lines)",
        f"  check      {'all invariants hold' if report.ok else 'BROKEN — run warehouse-tui check'}",
        "Logins:",
        _logins_text(),
    ])


def _fill_demo(s, rng: random.Random, today: dt.date) -> dict:
    main = md.owner(s, md.DEFAULT_OWNER)
    main.name = "Main warehouse"
    client = md.owner(s, CLIENT_OWNER)
    client.name = "Nordic Outdoor Co. (3PL client)"
    ops = _add_operators(s)
    actor = Actor(ops[SUPERVISOR_BADGE], SETUP_TERMINAL)
    bins = _demo_bins(s)

    items: dict[str, Item] = {}
    refs = {md.DEFAULT_OWNER: 1000, CLIENT_OWNER: 2000}
    tracking = {N: 0, L: 0, S: 0}
    for spec in DEMO_ITEMS:
        refs[spec.owner] += rng.randint(1, 37)
        gtins = [_demo_gtin(spec, refs[spec.owner])]
        if spec.upc:
            gtins.append(spec.upc + str(gs1_check_digit(spec.upc)))
        items[spec.sku] = md.add_item(
            s, spec.sku, description=spec.description, gtins=gtins, aliases=[spec.alias] if spec.alias else [],
            uom=spec.uom, tracking=spec.tracking, expiry_required=spec.expiry, owner_code=spec.owner, zone=spec.zone)
        tracking[spec.tracking] += 1

    # Pick faces (level 1) and reserve bins (upper levels) per zone, in walking order.
    def free(zone: str, pick: bool) -> Iterator[Bin]:
        for b in sorted(bins.values(), key=lambda b: b.pick_seq):
            if b.zone == zone and (b.kind == BinKind.PICK.value) == pick and not b.blocked:
                yield b
    faces = {z: free(z, True) for z in _ZONES}
    reserves = {z: free(z, False) for z in _ZONES}

    expired = today - dt.timedelta(days=20)
    expired_lot = ""
    for spec in DEMO_ITEMS:
        if not spec.stock:
            continue
        item = items[spec.sku]
        face = next(faces[spec.zone])
        reserve = next(reserves[spec.zone]) if rng.random() < 0.6 or spec.uom == "CS" else None
        opening = dict(kind="adjust", item=item, doc_ref=OPENING_REF)
        if spec.tracking == S:
            for n in range(rng.randint(3, 6)):
                serial = f"{_SERIAL_PREFIX[spec.sku]}{rng.randint(10_000_000, 99_999_999)}"
                post(s, actor, qty=1, serial=serial, to_bin=face, **opening)
            continue
        if spec.tracking == L or spec.expiry:
            # An older lot in the pick face (first-expiry-first-out), a newer one in reserve.
            if spec.expiry:
                old_expiry = expired if spec.sku == "OAT-MILK-1L" else today + dt.timedelta(days=rng.randint(30, 120))
                new_expiry = old_expiry + dt.timedelta(days=rng.randint(90, 360))
            else:
                old_expiry = new_expiry = None
            old = md.lot(s, item, _lot_code(spec, old_expiry, 0, rng), old_expiry)
            post(s, actor, qty=rng.randint(12, 60), lot=old, to_bin=face, **opening)
            new = md.lot(s, item, _lot_code(spec, new_expiry, 1, rng), new_expiry)
            if spec.sku == "OAT-MILK-1L":
                expired_lot = old.code
            if spec.expiry and rng.random() < 0.5:
                post(s, actor, qty=rng.randint(6, 24), lot=new, to_bin=face, **opening)
            if reserve is not None:
                post(s, actor, qty=rng.randint(48, 240), lot=new, to_bin=reserve, **opening)
            continue
        post(s, actor, qty=rng.randint(10, 80) if spec.uom == "EA" else rng.randint(4, 16), to_bin=face, **opening)
        if reserve is not None:
            post(s, actor, qty=rng.randint(50, 300) if spec.uom == "EA" else rng.randint(20, 60), to_bin=reserve, **opening)

    for n in range(1, 21):
        md.container(s, f"TOTE-{n:04d}", ContainerKind.TOTE.value)

    inbound = _demo_inbound(s, rng, actor, items, bins, today)
    _demo_outbound(s, rng, items)
    _demo_pick_faces(s, items)
    return {"tracking": tracking, "expired": expired, "expired_lot": expired_lot, "inbound": inbound}


def _demo_inbound(s, rng: random.Random, actor: Actor, items: dict[str, Item], bins: dict[str, Bin], today: dt.date) -> list[str]:
    now = utcnow()
    po1 = InboundOrder(ref="PO-1001", kind="po", supplier="Acme Office Supplies", status="receiving",
                       created_at=now - dt.timedelta(days=3))
    po2 = InboundOrder(ref="PO-1002", kind="po", supplier="Mediterraneo Foods S.r.l.", status="open",
                       created_at=now - dt.timedelta(days=2))
    asn = InboundOrder(ref="ASN-2001", kind="asn", supplier="Nordic Outdoor Co.", status="open",
                       created_at=now - dt.timedelta(days=1))
    s.add_all([po1, po2, asn])
    s.flush()

    def line(order: InboundOrder, sku: str, qty: int, lot: str | None = None, expiry: dt.date | None = None) -> InboundLine:
        ln = InboundLine(order_id=order.id, item_id=items[sku].id, qty_expected=qty, qty_received=0, lot=lot, expiry=expiry)
        s.add(ln)
        return ln

    # PO-1001 is being received: a supplier's SSCC pallet of tape and two loose boxes of paper wait in RCV-01.
    tape, paper = line(po1, "TAPE-48", 144), line(po1, "PAPER-A4", 40)
    line(po1, "MARKER-BLK", 200)
    line(po1, "STAPLER", 24)
    s.flush()
    pallet = md.container(s, make_sscc(3, _PREFIX[CLIENT_OWNER], 77801), ContainerKind.SSCC.value)
    post(s, actor, kind="receipt", item=items["TAPE-48"], qty=72, to_bin=bins["RCV-01"], to_container=pallet, doc_ref=po1.ref)
    tape.qty_received = 72
    post(s, actor, kind="receipt", item=items["PAPER-A4"], qty=2, to_bin=bins["RCV-01"], doc_ref=po1.ref)
    paper.qty_received = 2

    # PO-1002: food with the supplier's lots and expiry dates announced on most lines.
    line(po2, "OLIVE-OIL-1L", 60, "OO2611A", today + dt.timedelta(days=540))
    line(po2, "ESPRESSO-1K", 40, "ES2609B", today + dt.timedelta(days=300))
    line(po2, "PASTA-PENNE-CS", 30, "PP2705C", today + dt.timedelta(days=420))
    line(po2, "PASSATA-700", 96)  # lot and expiry read at receipt
    # ASN-2001: the 3PL client's goods, serial-tracked stoves and dated food.
    line(asn, "NO-BOOT-42", 24)
    line(asn, "NO-BOOT-44", 24)
    line(asn, "NO-STOVE", 10)
    line(asn, "NO-MEAL-CHILI", 48, "FD2702", today + dt.timedelta(days=700))
    line(asn, "NO-GEL-CITRUS", 120, "GC2612", today + dt.timedelta(days=365))
    s.flush()
    return [po1.ref, po2.ref, asn.ref]


_CUSTOMERS = (
    "Jana Novak, Hauptstrasse 12, 10115 Berlin, DE",
    "Ole Hansen, Storgata 5, 0155 Oslo, NO",
    "Buildright Ltd, Unit 4 Riverside Park, Leeds LS11 5DR, GB",
    "Store 031, Marktplatz 3, 80331 Munich, DE",
    "Camille Martin, 18 rue de la Paix, 75002 Paris, FR",
    "Officeline BV, Keizersgracht 221, 1016 DV Amsterdam, NL",
    "Lucia Rossi, Via Roma 44, 20121 Milan, IT",
    "Erik Lind, Drottninggatan 80, 111 36 Stockholm, SE",
    "Peak Adventures AS, Kongens gate 9, 7011 Trondheim, NO",
    "Tomas Horak, Na Prikope 15, 110 00 Prague, CZ",
)
# (channel, priority, skus) per order; NORDIC items go out on the client's own channel only.
_ORDERS = (
    ("webshop", 1, ("BATT-AA-4", "USBC-1M")),
    ("webshop", 5, ("DRILL-18V", "SCREW-4X40", "WALLPLUG-6")),
    ("b2b", 1, ("GLOVES-L", "GLASSES-CLR", "DUCT-SILVER", "STRETCH-500")),
    ("retail-store", 3, ("OLIVE-OIL-1L", "ESPRESSO-1K", "PASTA-PENNE", "TEA-GREEN-20")),
    ("marketplace", 9, ("LED-E27-9W",)),
    ("b2b", 3, ("PAPER-A4", "NOTEBOOK-A5", "MARKER-BLK", "STAPLER")),
    ("webshop", 1, ("SUNSCREEN-50", "BOTTLE-750")),
    ("marketplace", 5, ("SCANNER-2D", "LABELPRN-4")),
    ("nordic-webshop", 9, ("NO-BOOT-42", "NO-LAMP-300", "NO-MEAL-CHILI")),
    ("nordic-webshop", 1, ("NO-TENT-2P", "NO-BAG-5", "NO-FILTER", "NO-GEL-CITRUS")),
)


def _demo_outbound(s, rng: random.Random, items: dict[str, Item]) -> None:
    now = utcnow()
    for n, ((channel, priority, skus), ship_to) in enumerate(zip(_ORDERS, _CUSTOMERS), start=1):
        order = OutboundOrder(ref=f"ORD-{10000 + n}", channel=channel, ship_to=ship_to, priority=priority,
                              status="new", created_at=now - dt.timedelta(hours=len(_ORDERS) - n))
        s.add(order)
        s.flush()
        for sku in skus:
            item = items[sku]
            # Never more than the pick face alone holds, so every demo order can be picked.
            on_hand = s.scalar(select(func.min(Quant.qty)).where(Quant.item_id == item.id))
            qty = 1 if item.tracking == S else max(1, min(on_hand or 1, rng.choice((1, 1, 2, 3, 6, 12))))
            s.add(OutboundLine(order_id=order.id, item_id=item.id, qty=qty))
    s.flush()


# Pick faces kept between min and max by replenishment: items no other demo order asks for.
FACE_SKUS = ("HDMI-2M", "SCISSORS-21", "CABLE-TIE-200", "HEXKEY-MET", "EXT-CORD-5", "MUG-300")
REPLEN_ORDER = "ORD-10011"


def _demo_pick_faces(s, items: dict[str, Item]) -> None:
    """Faces with min/max for FACE_SKUS (max: 20 more than the face holds), and REPLEN_ORDER wanting 5 more of the
    first one with reserve stock than its face holds: its wave replenishes the face before the pick."""
    wanting = None
    for sku in FACE_SKUS:
        item = items[sku]
        face = s.execute(select(Quant.bin_id, Quant.qty).join(Bin, Bin.id == Quant.bin_id)
                         .where(Quant.item_id == item.id, Bin.kind == BinKind.PICK.value)).first()
        if face is None:
            continue
        max_qty = face.qty + 20
        s.add(PickFace(bin_id=face.bin_id, item_id=item.id, min_qty=max(1, max_qty // 4), max_qty=max_qty))
        reserve = s.scalar(select(func.coalesce(func.sum(Quant.qty), 0)).join(Bin, Bin.id == Quant.bin_id)
                           .where(Quant.item_id == item.id, Bin.kind == BinKind.STORAGE.value))
        if wanting is None and reserve >= 5:
            wanting = (item, face.qty + 5)
    if wanting is not None:
        order = OutboundOrder(ref=REPLEN_ORDER, channel="webshop", ship_to=_CUSTOMERS[0], priority=1, status="new",
                              created_at=utcnow())
        s.add(order)
        s.flush()
        s.add(OutboundLine(order_id=order.id, item_id=wanting[0].id, qty=wanting[1]))
    s.flush()


# --------------------------------------------------------------------------- the large (benchmark) warehouse

LARGE_LEVELS, LARGE_BAYS, LARGE_AISLES = 5, 40, 25
_LARGE_SPECIAL_BINS = (("RCV-01", BinKind.RECEIVING, "DOCK"), ("RCV-02", BinKind.RECEIVING, "DOCK"),
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
    for code, kind, zone in _LARGE_SPECIAL_BINS:
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


def _progress(message: str, started: float) -> None:
    print(f"[demo --large] {time.perf_counter() - started:7.1f} s  {message}", file=sys.stderr, flush=True)


def _sqlite_datetime(value: dt.datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime type stores."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


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
    today = today or clock.today()
    storage_bins = bins - len(_LARGE_SPECIAL_BINS)
    if items < 1 or storage_bins < 1 or quants < 1:
        raise InvalidInput(f"The large warehouse needs at least 1 item, {len(_LARGE_SPECIAL_BINS) + 1} bins and 1 quant")
    per_item = -(-quants // items)
    if per_item > storage_bins:
        raise InvalidInput(f"{quants:,} quants do not fit {items:,} items in {storage_bins:,} storage bins "
                           f"(at most {items * storage_bins:,})")
    url = to_url(db)
    path = sqlite_path(url)
    if path is None:
        raise InvalidInput("The large warehouse is built as a SQLite file — give --db a file path")
    _make_room(db, force)
    building = _building(path)
    remove_sqlite_file(building)
    try:
        schema = Database(building)  # the migrations make the schema and its indexes
        schema.dispose()
        con = sqlite3.connect(building, isolation_level=None)
        try:
            stats = _load_large(con, items, storage_bins, quants, today, started)
        finally:
            con.close()
        # Built with sync off: made durable before it takes the final name.
        _put_in_place(building, path)
    except BaseException:
        remove_sqlite_file(building)
        raise
    elapsed = time.perf_counter() - started
    _progress(f"done: {path}", started)
    return "\n".join([
        f"Large warehouse built in {path} in {elapsed:.1f} s",
        f"  items      {items:,} ({stats['lot_items']:,} lot-tracked, {stats['serial_items']:,} serial-tracked)",
        f"  bins       {bins:,}",
        f"  lots       {stats['lots']:,}",
        f"  quants     {quants:,} ({stats['units']:,} units), each with its movement and outbox entry",
        f"  serials    {stats['serials']:,}",
        "Logins:",
        _logins_text(),
    ])


def _load_large(con: sqlite3.Connection, n_items: int, n_storage: int, n_quants: int, today: dt.date, started: float) -> dict:
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
    bin_rows = list(_large_bins(n_storage + len(_LARGE_SPECIAL_BINS)))
    con.executemany("INSERT INTO bins (id, code, barcode, zone, kind, pick_seq, blocked) VALUES (?, ?, ?, ?, ?, ?, ?)", bin_rows)
    zones = sorted({r[3] for r in bin_rows[len(_LARGE_SPECIAL_BINS):]})
    storage_ids = [r[0] for r in bin_rows[len(_LARGE_SPECIAL_BINS):]]
    del bin_rows
    _progress(f"bins {n_storage + len(_LARGE_SPECIAL_BINS):,}", started)

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
    _progress(f"items {n_items:,}, lots {len(lot_rows):,}", started)

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
            _progress(f"quants {quant_id:,}", started)
    _insert_quants(con, batch)
    con.execute("COMMIT")
    _progress(f"quants {quant_id:,} ({units:,} units)", started)

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
    _progress(f"movements {n_quants:,}", started)
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
    _progress(f"outbox {n_quants:,}, serial units {serials:,}", started)

    for name, sql in indexes:
        con.execute(sql)
    _progress(f"indexes rebuilt ({len(indexes)})", started)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA locking_mode = NORMAL")
    con.execute("SELECT count(*) FROM owners").fetchone()  # the next access drops the exclusive lock
    return {"lots": len(lot_rows), "lot_items": len(item_lots), "serial_items": serial_items,
            "units": units, "serials": serials}


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _insert_quants(con: sqlite3.Connection, rows: Sequence[tuple]) -> None:
    con.executemany(
        "INSERT INTO quants (id, key, item_id, bin_id, lot_id, container_id, owner_id, status, qty, reserved) "
        "VALUES (?, ?, ?, ?, ?, NULL, ?, 'available', ?, 0)", rows)


