"""CSV import at database speed (issue 13) without blocking terminals (issue 10), on real SQLite files and PostgreSQL.

The file is checked in a read transaction and written in one short write
transaction; what another terminal changes in between is noticed; opening
stock is booked exactly as ledger.post books it, row by row; bad rows late in
large files still import nothing; invisible characters in codes are named;
a new PIN lifts a lockout; a terminal shows a progress bar, pipes do not.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import (
    AuditEvent,
    Bin,
    ChangeFeed,
    Item,
    Lot,
    Movement,
    Operator,
    OutboundOrder,
    OutboxEntry,
    Quant,
    SerialUnit,
)
from warehouse_tui.errors import WarehouseError
from warehouse_tui.services import auth
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.check import run_checks
from warehouse_tui.services.importing import OPENING_DOC_REF, ImportFailed, ImportProgress, import_bytes
from warehouse_tui.services.ledger import Actor, MovementKind, post
from warehouse_tui.services.receiving import expiry_lot_code

ACTOR = Actor(None, "T1")


def load(db: Database, kind: str, content: str, on_progress=None):
    return import_bytes(db, kind, content.encode("utf-8"), ACTOR, source="test.csv", on_progress=on_progress)


def refusal(db: Database, kind: str, content: str, on_progress=None) -> ImportFailed:
    with pytest.raises(ImportFailed) as caught:
        load(db, kind, content, on_progress)
    return caught.value


def count(db: Database, model, *where) -> int:
    with db.reading() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def seed(db: Database) -> None:
    """Bins (one blocked), items of each tracking, a lot known without expiry and one with, stock in A2."""
    with db.transaction() as s:
        for n in range(1, 41):
            md.add_bin(s, f"B{n:02d}", zone="B", pick_seq=n)
        md.add_bin(s, "A2", zone="A")
        md.add_bin(s, "Q1", zone="Q", blocked=True)
        md.add_item(s, "PLAIN", gtins=["09501101530003"])
        md.add_item(s, "LOTTED", tracking="lot")
        md.add_item(s, "DATED", tracking="lot", expiry_required=True)
        md.add_item(s, "BEST", expiry_required=True)
        md.add_item(s, "SERIAL", tracking="serial")
        md.add_item(s, "ACME-1", owner_code="ACME")
        lotted, dated = md.item_by_sku(s, "LOTTED"), md.item_by_sku(s, "DATED")
        md.lot(s, lotted, "OLD")  # known, no expiry yet
        md.lot(s, dated, "D1", dt.date(2031, 1, 31))
        actor = Actor(None, "SEED")
        a2 = md.bin_by_code(s, "A2")
        post(s, actor, kind="receipt", item=md.item_by_sku(s, "PLAIN"), qty=5, to_bin=a2)
        post(s, actor, kind="receipt", item=md.item_by_sku(s, "SERIAL"), qty=1, to_bin=a2, serial="S-IN")


@pytest.fixture
def site(db) -> Database:
    seed(db)
    return db


def stock_file(rows: list[tuple]) -> str:
    return "bin,sku,qty,lot,expiry,serial\n" + "".join(",".join("" if v is None else str(v) for v in row) + "\n" for row in rows)


def plain_rows(n: int) -> list[tuple]:
    """n rows of PLAIN spread over the B bins (places repeat: the ledger adds them up)."""
    return [(f"B{1 + k % 40:02d}", "PLAIN", 1 + k % 7, None, None, None) for k in range(n)]


# --------------------------------------------------------------------------- the write lock


def try_write(path: Path) -> str:
    """What another terminal gets when it asks for the write lock right now, waiting for nothing: 'committed' or the error."""
    con = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        con.execute("PRAGMA busy_timeout = 0")
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO audit_events (at, kind, terminal, detail) VALUES ('2026-01-01 00:00:00', 'scan', 'T2', 'meanwhile')")
        con.execute("COMMIT")
        return "committed"
    except sqlite3.OperationalError as exc:
        return str(exc)
    finally:
        con.close()


def test_another_terminal_writes_while_a_large_file_is_checked_and_waits_only_while_it_is_written(tmp_path):
    # given a warehouse and a stock file of 25,000 rows (three chunks to check)
    db = Database(tmp_path / "w.sqlite")
    try:
        seed(db)
        probes: dict[str, list[str]] = {"checking": [], "writing": []}

        def another_terminal(step: str, done: int, total: int) -> None:
            probes[step].append(try_write(tmp_path / "w.sqlite"))

        # when another terminal asks for the write lock, without waiting, at every progress point
        result = load(db, "stock", stock_file(plain_rows(25_000)), on_progress=another_terminal)
    finally:
        db.dispose()
    # then while the file was checked it got the lock and committed each time; while it was written it did not
    assert result.rows == 25_000
    assert len(probes["checking"]) >= 3 and set(probes["checking"]) == {"committed"}
    assert probes["writing"] and all("locked" in outcome for outcome in probes["writing"])
    assert result.writing_s > 0 and result.checking_s > 0


def test_a_scan_committed_in_another_thread_during_the_check_is_not_held_up(site, tmp_path):
    # given a check that pauses at its first progress point until another thread has committed a scan
    scanned = threading.Event()
    outcome: list[str] = []

    def scanner() -> None:
        outcome.append(try_write(Path(site.engine.url.database)))
        scanned.set()

    def on_progress(step: str, done: int, total: int) -> None:
        if step == "checking" and not scanned.is_set():
            threading.Thread(target=scanner).start()
            assert scanned.wait(10), "the scan did not finish"

    # when the file is imported
    load(site, "stock", stock_file(plain_rows(12_000)), on_progress=on_progress)
    # then the scan got the write lock at once and committed
    assert outcome == ["committed"]
    assert count(site, AuditEvent, AuditEvent.detail == "meanwhile") == 1


# --------------------------------------------------------------------------- all or nothing


@pytest.mark.parametrize(("bad", "message"), [
    ("B01,PLAIN,1.5,,,", "qty must be a positive whole number, not '1.5'"),
    ("Z-99,PLAIN,1,,,", "bin Z-99 is not known"),
    ("B01,SERIAL,,,,S-IN", "serial S-IN of SERIAL is already in stock in A2"),
    ("A2,PLAIN,3,,,", "A2 already holds 5 of PLAIN"),
])
def test_a_bad_row_at_the_end_of_a_large_file_imports_nothing(site, bad, message):
    # given 15,000 good rows and a bad one after them (line 15,002)
    content = stock_file(plain_rows(15_000)) + bad + "\n"
    movements, outbox, quants, lots = count(site, Movement), count(site, OutboxEntry), count(site, Quant), count(site, Lot)
    # when it is imported
    err = refusal(site, "stock", content)
    # then that row is named and nothing of the file is there
    assert err.total == 1 and err.errors[0].line == 15_002 and err.errors[0].message.startswith(message)
    assert (count(site, Movement), count(site, OutboxEntry), count(site, Quant), count(site, Lot)) == (movements, outbox, quants, lots)


def test_a_file_refused_by_the_ledger_while_writing_leaves_nothing(site):
    # given rows that pass every check, but whose place would pass the ledger's ceiling after 10 of them (line 12)
    content = stock_file([("B01", "PLAIN", 1_000_000_000, None, None, None)] * 11 + [("B02", "PLAIN", 1, None, None, None)])
    # when imported
    err = refusal(site, "stock", content)
    # then the ledger's refusal names the row and nothing stays
    assert [str(e) for e in err.errors] == ["line 12: PLAIN in B01 would exceed 10,000,000,000 units"]
    assert count(site, Movement, Movement.doc_ref == OPENING_DOC_REF) == 0 and count(site, Quant) == 2


# --------------------------------------------------------------------------- changed between the check and the write


def meanwhile(target: Path | str, step: str, action):
    """An on_progress hook that, once the rows are checked, lets another terminal (its own Database on `target`) do `action`."""
    done = []

    def hook(at: str, n: int, total: int) -> None:
        if at == step and n == total and not done:
            other = Database(target)
            try:
                with other.transaction() as s:
                    action(s)
            finally:
                other.dispose()
            done.append(True)

    return hook


def receive(sku: str, bin_code: str, qty: int = 1, serial: str | None = None, lot: str | None = None):
    def action(s):
        item = md.item_by_sku(s, sku)
        post(s, Actor(None, "T2"), kind="receipt", item=item, qty=qty, serial=serial, to_bin=md.bin_by_code(s, bin_code),
             lot=md.lot(s, item, lot) if lot else None)
    return action


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def warehouse(request, tmp_path):
    """A seeded warehouse and what opens it again as another terminal: a SQLite file or a PostgreSQL database."""
    if request.param == "sqlite":
        target = tmp_path / "w.sqlite"
    else:
        target = request.getfixturevalue("pg_url")
    db = Database(target)
    seed(db)
    yield db, target
    db.dispose()


def test_stock_received_into_a_place_of_the_file_while_it_was_checked_refuses_the_file(warehouse):
    db, target = warehouse
    content = stock_file(plain_rows(50) + [("B05", "LOTTED", 4, "L9", None, None)])
    # when another terminal receives into B07 (line 8's place) and lot L9 into B05 after the check, before the write
    hook_b07 = meanwhile(target, "checking", receive("PLAIN", "B07"))
    hook_lot = meanwhile(target, "checking", receive("LOTTED", "B05", lot="L9"))
    err = refusal(db, "stock", content, on_progress=lambda *a: (hook_b07(*a), hook_lot(*a)))
    # then the file is refused, naming the rows whose place got stock, and nothing of it is booked
    assert [e.line for e in err.errors] == [8, 48, 52]  # B07 is on lines 8 and 48, lot L9 in B05 on line 52
    assert "got stock of PLAIN from another terminal while the file was being checked — import the file again" in str(err)
    assert "B05 got stock of LOTTED lot L9" in str(err)
    assert count(db, Movement, Movement.doc_ref == OPENING_DOC_REF) == 0


def test_a_serial_of_the_file_received_meanwhile_refuses_it_and_stock_elsewhere_does_not(warehouse):
    db, target = warehouse
    content = stock_file([("B01", "SERIAL", None, None, None, "S-1"), ("B02", "SERIAL", None, None, None, "S-2")])
    # when another terminal receives S-2 into A2 meanwhile
    err = refusal(db, "stock", content, on_progress=meanwhile(target, "checking", receive("SERIAL", "A2", serial="S-2")))
    # then the file is refused on that serial's row
    assert [e.line for e in err.errors] == [3] and "serial S-2 of SERIAL" in str(err)
    assert count(db, SerialUnit) == 2  # S-IN and S-2, none of the file's
    # and when stock goes elsewhere meanwhile (a place the file does not fill), the file goes in
    result = load(db, "stock", stock_file([("B01", "SERIAL", None, None, None, "S-1")]),
                  on_progress=meanwhile(target, "checking", receive("PLAIN", "A2", qty=2)))
    assert result.rows == 1
    with db.reading() as s:
        assert run_checks(s).ok


def test_an_item_made_by_another_import_meanwhile_refuses_the_items_file(warehouse):
    db, target = warehouse

    def make_new(s):
        md.add_item(s, "NEW-1", gtins=["96385074"])

    # when the SKU the file creates is created by another terminal between the check and the write
    err = refusal(db, "items", "sku,description,gtin\nNEW-1,Mine,\nNEW-2,Also mine,96385074\n",
                  on_progress=meanwhile(target, "checking", make_new))
    # then the file is refused as changed meanwhile, naming what changed, and nothing of it is there
    assert "SKU NEW-1" in str(err) and "GTIN 00000096385074" in str(err)
    assert "changed in the database while the file was being checked" in str(err) and "import the file again" in str(err)
    assert count(db, Item, Item.sku == "NEW-2") == 0


def test_an_order_released_meanwhile_is_not_replaced(warehouse):
    db, target = warehouse
    load(db, "orders", "ref,sku,qty\nSO1,PLAIN,1\n")

    def release(s):
        s.scalars(select(OutboundOrder).where(OutboundOrder.ref == "SO1")).one().status = "released"

    err = refusal(db, "orders", "ref,sku,qty\nSO1,PLAIN,5\nSO2,PLAIN,1\n", on_progress=meanwhile(target, "checking", release))
    assert "order SO1 changed in the database while the file was being checked" in str(err)
    assert count(db, OutboundOrder) == 1


def test_a_bin_code_taken_meanwhile_refuses_the_bins_file(warehouse):
    db, target = warehouse
    err = refusal(db, "bins", "code,barcode\nC1,XC1\nC2,\n", on_progress=meanwhile(target, "checking", lambda s: md.add_bin(s, "XC1")))
    assert "bin XC1 changed" in str(err)
    assert count(db, Bin, Bin.code.in_(["C1", "C2"])) == 0


# --------------------------------------------------------------------------- booked as ledger.post books it


def post_one_by_one(db: Database, rows: list[tuple], actor: Actor) -> None:
    """The reference: each row through masterdata.lot and ledger.post, as the importer did before it went set-based."""
    with db.transaction() as s:
        for bin_code, sku, qty, lot_code, expiry, serial in rows:
            item = md.item_by_sku(s, sku)
            expiry = dt.date.fromisoformat(expiry) if expiry else None
            if item.expiry_required and not lot_code:
                lot_code = expiry_lot_code(expiry)
            lot = md.lot(s, item, lot_code, expiry) if lot_code else None
            post(s, actor, kind=MovementKind.ADJUST, item=item, qty=qty or 1, lot=lot, serial=serial, to_bin=md.bin_by_code(s, bin_code),
                 doc_ref=OPENING_DOC_REF)


def books(db: Database) -> dict:
    """Everything the ledger keeps, by natural keys: movements and outbox in order, quants, serial units, lots."""
    with db.reading() as s:
        tb = aliased(Bin)
        movements = [tuple(r) for r in s.execute(
            select(Movement.kind, Item.sku, Movement.qty, Lot.code, Movement.serial, Movement.from_bin_id, tb.code, Movement.from_container_id,
                   Movement.to_container_id, Movement.owner_id, Movement.from_status, Movement.to_status, Movement.operator_id,
                   Movement.terminal, Movement.doc_ref, Movement.conflict, Movement.origin, Movement.upstream_seq)
            .join(Item, Item.id == Movement.item_id).outerjoin(Lot, Lot.id == Movement.lot_id).outerjoin(tb, tb.id == Movement.to_bin_id)
            .where(Movement.doc_ref == OPENING_DOC_REF).order_by(Movement.seq))]
        uuids = {u: (seq, at) for u, seq, at in s.execute(select(Movement.uuid, Movement.seq, Movement.at).where(Movement.doc_ref == OPENING_DOC_REF))}
        outbox = []
        for uuid, kind, terminal, created, payload, pushed in s.execute(
                select(OutboxEntry.uuid, OutboxEntry.kind, OutboxEntry.terminal, OutboxEntry.created_at, OutboxEntry.payload,
                       OutboxEntry.pushed_at).where(OutboxEntry.uuid.in_(list(uuids))).order_by(OutboxEntry.position)):
            seq, at = uuids[uuid]
            assert payload["id"] == uuid and created == at and payload["at"] == at.isoformat()  # one uuid and one time each
            outbox.append((seq, kind, terminal, pushed, {k: v for k, v in payload.items() if k not in ("id", "at")}))
        assert [seq for seq, *_ in outbox] == sorted(uuids[u][0] for u in uuids)  # one entry per movement, in booking order
        quants = sorted(tuple(map(str, r)) for r in s.execute(
            select(Item.sku, Bin.code, Lot.code, Quant.container_id, Quant.owner_id, Quant.status, Quant.qty, Quant.reserved)
            .join(Item, Item.id == Quant.item_id).join(Bin, Bin.id == Quant.bin_id).outerjoin(Lot, Lot.id == Quant.lot_id)))
        units = sorted(tuple(map(str, r)) for r in s.execute(
            select(Item.sku, SerialUnit.serial, SerialUnit.status, Bin.code, Lot.code, SerialUnit.owner_id, SerialUnit.container_id)
            .join(Item, Item.id == SerialUnit.item_id).outerjoin(Bin, Bin.id == SerialUnit.bin_id).outerjoin(Lot, Lot.id == SerialUnit.lot_id)))
        lots = sorted(tuple(map(str, r)) for r in s.execute(select(Item.sku, Lot.code, Lot.expiry).join(Item, Item.id == Lot.item_id)))
        report = run_checks(s)
        assert report.ok, report.render()
    return {"movements": movements, "outbox": [o[1:] for o in outbox], "quants": quants, "units": units, "lots": lots}


def opening_rows():
    """Valid opening stock: places may repeat, lots may be new, known without expiry, or dated; serials are unique."""
    bins = st.sampled_from(["B01", "B02", "B03", "Q1"])
    plain = st.tuples(bins, st.just("PLAIN"), st.integers(1, 50), st.none(), st.none(), st.none())
    lotted = st.tuples(bins, st.just("LOTTED"), st.integers(1, 9), st.sampled_from(["OLD", "L1", "L2"]),
                       st.sampled_from([None, None, "2030-05-31"]), st.none())
    dated = st.tuples(bins, st.just("DATED"), st.integers(1, 9), st.sampled_from(["D1", "D2"]), st.none(), st.none())
    best = st.tuples(bins, st.just("BEST"), st.integers(1, 9), st.none(), st.sampled_from(["2029-12-31", "2030-01-31"]), st.none())
    acme = st.tuples(bins, st.just("ACME-1"), st.integers(1, 9), st.none(), st.none(), st.none())
    serial = st.tuples(bins, st.just("SERIAL"), st.sampled_from([None, 1]), st.none(), st.none(), st.integers(1, 30).map(lambda n: f"SN{n}"))
    return st.lists(st.one_of(plain, lotted, dated, best, acme, serial), min_size=1, max_size=30).map(consistent)


def consistent(rows: list[tuple]) -> list[tuple]:
    """Drop what the file's rules refuse (a serial twice, a lot given a second expiry); DATED rows get their lot's expiry."""
    out, serials = [], set()
    expiries: dict[tuple[str, str], str | None] = {("LOTTED", "OLD"): None, ("DATED", "D1"): "2031-01-31"}  # as seeded
    for bin_code, sku, qty, lot, expiry, serial in rows:
        if sku == "DATED":
            expiry = {"D1": "2031-01-31", "D2": "2032-02-29"}[lot]
        if serial is not None and serial in serials:
            continue
        if lot is not None:
            known = expiries.get((sku, lot), expiry)
            if known is not None and expiry is not None and known != expiry:
                continue
            expiries[(sku, lot)] = known if known is not None else expiry
        if serial is not None:
            serials.add(serial)
        out.append((bin_code, sku, qty, lot, expiry, serial))
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=opening_rows())
def test_set_based_stock_import_books_exactly_what_ledger_post_books_row_by_row(tmp_path_factory, rows):
    # given two copies of the same warehouse
    work = tmp_path_factory.mktemp("pair")
    template = Database(work / "template.sqlite")
    seed(template)
    template.dispose()
    shutil.copyfile(work / "template.sqlite", work / "one.sqlite")
    shutil.copyfile(work / "template.sqlite", work / "bulk.sqlite")
    one, bulk = Database(work / "one.sqlite"), Database(work / "bulk.sqlite")
    try:
        # when the rows are posted one by one through ledger.post on one, and imported as a file on the other
        post_one_by_one(one, rows, ACTOR)
        load(bulk, "stock", stock_file(rows))
        # then movements, outbox entries, quants, serial units and lots are the same, and check holds on both
        assert books(bulk) == books(one)
    finally:
        one.dispose()
        bulk.dispose()


@pytest.mark.postgres
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=opening_rows())
def test_stock_import_on_postgresql_books_what_ledger_post_books_on_sqlite(tmp_path_factory, pg_server, rows):
    import uuid

    from sqlalchemy import create_engine, text

    # given the same warehouse in a SQLite file (posted row by row) and a fresh PostgreSQL database (imported, COPY)
    work = tmp_path_factory.mktemp("pg-pair")
    one = Database(work / "one.sqlite")
    name = f"wt_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    bulk = Database(pg_server.rsplit("/", 1)[0] + f"/{name}")
    try:
        seed(one)
        seed(bulk)
        post_one_by_one(one, rows, ACTOR)
        load(bulk, "stock", stock_file(rows))
        mine, theirs = books(bulk), books(one)
        # ids are each database's own (owner ids agree: both seeded alike)
        assert mine == theirs
    finally:
        one.dispose()
        bulk.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_opening_stock_imported_on_a_terminal_pushes_upstream_like_posted_stock(pg_url, tmp_path):
    from warehouse_tui.sync import init_upstream, open_upstream, sync_once
    from warehouse_tui.sync.push import pending_count

    # given an upstream with master data and a terminal that synced it
    init_upstream(pg_url)
    upstream = Database(pg_url)
    seed(upstream)
    terminal = Database(tmp_path / "T1.sqlite")
    link = open_upstream(pg_url)
    try:
        sync_once(terminal, link, "T1")
        rows = [("B01", "PLAIN", 4, None, None, None), ("B02", "LOTTED", 2, "L5", "2030-05-31", None), ("B01", "PLAIN", 3, None, None, None),
                ("B03", "SERIAL", None, None, None, "SN-9"), ("Q1", "BEST", 6, None, "2029-12-31", None)]
        # when opening stock is imported on the terminal and the terminal syncs
        load(terminal, "stock", stock_file(rows))
        result = sync_once(terminal, link, "T1")
        # then every movement was applied upstream (no conflict), and both hold the same stock
        assert (result.push.applied, result.push.conflict) == (5, 0)
        with terminal.reading() as s:
            assert pending_count(s) == 0
        for db in (terminal, upstream):
            with db.reading() as s:
                assert run_checks(s).ok
        assert books_stock(terminal) == books_stock(upstream)
    finally:
        link.dispose()
        terminal.dispose()
        upstream.dispose()


def books_stock(db: Database) -> list[tuple]:
    from warehouse_tui.services.exporting import rows

    with db.reading() as s:
        return sorted(rows(s, "stock"), key=repr)


@pytest.mark.postgres
def test_on_an_upstream_the_import_feeds_the_change_feed_instead_of_an_outbox(pg_url):
    from warehouse_tui.sync import init_upstream

    # given an upstream
    init_upstream(pg_url)
    db = Database(pg_url)
    try:
        seed(db)
        before = count(db, ChangeFeed)
        # when items, bins, orders and opening stock are imported into it
        load(db, "items", "sku,description\nNEW-1,new\nPLAIN,renamed\n")
        load(db, "bins", "code\nC1\n")
        load(db, "orders", "ref,sku,qty\nSO1,PLAIN,1\n")
        load(db, "stock", stock_file([("B01", "PLAIN", 4, None, None, None), ("B02", "NEW-1", 1, None, None, None)]))
        # then each change is announced on the feed; the movements are the upstream's own (no outbox)
        with db.reading() as s:
            feed = s.execute(select(ChangeFeed.kind, ChangeFeed.ref_id).where(ChangeFeed.seq > before)).all()
            kinds = [k for k, _ in feed]
            assert kinds.count("item") == 2 and kinds.count("bin") == 1 and kinds.count("outbound") == 1 and kinds.count("movement") == 2
            seqs = set(s.scalars(select(Movement.seq).where(Movement.doc_ref == OPENING_DOC_REF)))
            assert {i for k, i in feed if k == "movement"} == seqs
            assert set(s.scalars(select(Movement.origin).where(Movement.doc_ref == OPENING_DOC_REF))) == {"upstream"}
            assert s.scalar(select(func.count()).select_from(OutboxEntry)) == 0
    finally:
        db.dispose()


# --------------------------------------------------------------------------- codes one cannot see


@pytest.mark.parametrize(("char", "named"), [
    ("\u200b", "U+200B ZERO WIDTH SPACE"),
    ("\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("\ufeff", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
    ("\u2028", "U+2028 LINE SEPARATOR"),
    ("\u2029", "U+2029 PARAGRAPH SEPARATOR"),
    ("\xa0", "U+00A0 NO-BREAK SPACE"),
    ("\ue000", "U+E000 (a private-use character)"),
    ("\u0378", "U+0378 (an unassigned code point)"),
])
def test_codes_holding_invisible_characters_are_refused_naming_the_character(site, char, named):
    err = refusal(site, "stock", f"bin,sku,qty,lot\nB01,PLAIN,1,\nB02,PL{char}AIN,1,\nB03,LOTTED,1,L{char}\nB04{char},PLAIN,1,\n")

    assert [str(e) for e in err.errors] == [
        f"line 3: sku contains {named}, which cannot be seen or typed — retype the sku",
        f"line 4: lot contains {named}, which cannot be seen or typed — retype the lot",
        f"line 5: bin contains {named}, which cannot be seen or typed — retype the bin",
    ]


def test_invisible_characters_in_badges_refs_and_serials_are_refused_and_ascii_spaces_trimmed(site):
    users = refusal(site, "users", "badge,pin\nU\u200b1,1234\n")
    orders = refusal(site, "orders", "ref,sku,qty\nSO\u20601,PLAIN,1\n")
    serials = refusal(site, "stock", "bin,sku,serial\nB01,SERIAL,SN\u00ad1\n")

    assert "line 2: badge contains U+200B ZERO WIDTH SPACE" in str(users)
    assert "line 2: ref contains U+2060 WORD JOINER" in str(orders)
    assert "line 2: serial contains U+00AD SOFT HYPHEN" in str(serials)
    # ASCII spaces around a code are trimmed as before; letters beyond ASCII are codes like any other
    load(site, "bins", 'code,barcode\n" C-Ü1 ",\n')
    with site.reading() as s:
        assert md.bin_by_code(s, "C-Ü1").barcode == "C-Ü1"


# --------------------------------------------------------------------------- users


def test_importing_a_new_pin_for_a_locked_badge_lifts_the_lock_and_audits_it(site):
    # given a badge locked by five wrong PINs
    load(site, "users", "badge,name,pin\nU7,Ann,1234\n")
    for _ in range(auth.MAX_FAILED_LOGINS):
        with pytest.raises(WarehouseError):
            auth.attempt_login(site, "U7", "0000", "T1")
    with site.reading() as s:
        assert s.scalars(select(Operator).where(Operator.badge == "U7")).one().locked
    # when the badge is imported again without a PIN, it stays locked; with a new PIN, it is unlocked
    load(site, "users", "badge,name,pin\nU7,Ann B,\n")
    with site.reading() as s:
        assert s.scalars(select(Operator).where(Operator.badge == "U7")).one().locked
    load(site, "users", "badge,pin\nU7,5678\n")
    # then the lock and the failure count are gone, the unlock is audited, and the new PIN logs in
    with site.reading() as s:
        ann = s.scalars(select(Operator).where(Operator.badge == "U7")).one()
        assert (ann.locked, ann.failed_logins) == (False, 0)
        unlocked = s.scalars(select(AuditEvent).where(AuditEvent.kind == "badge_unlocked")).one()
        assert (unlocked.terminal, unlocked.detail) == ("T1", "unlocked U7 — a new PIN was imported")
        imported = s.scalars(select(AuditEvent.detail).where(AuditEvent.kind == "user_imported").order_by(AuditEvent.id)).all()
        assert imported[-1] == "U7 updated by import: PIN reset, lock cleared"
    assert auth.attempt_login(site, "U7", "5678", "T1").badge == "U7"


# --------------------------------------------------------------------------- the progress bar


def run_cli(args: list[str], stderr_tty: bool) -> tuple[int, str, str]:
    """The CLI in a subprocess, its stderr a real pseudo-terminal or a pipe; returns (status, stdout, stderr)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "WAREHOUSE_TERMINAL": "T-CLI"}
    command = [sys.executable, "-m", "warehouse_tui.cli", *args]
    if not stderr_tty:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
        return done.returncode, done.stdout, done.stderr
    master, slave = os.openpty()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    out, _ = proc.communicate(timeout=300)
    reader.join(10)
    os.close(master)
    return proc.returncode, out.decode(), b"".join(chunks).decode()


@pytest.fixture(scope="module")
def big_bins_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bins") / "bins12k.csv"
    path.write_text("code,zone,pick_seq\n" + "".join(f"P{n:05d},P,{n}\n" for n in range(12_000)), encoding="utf-8")
    return path


def test_a_terminal_sees_a_progress_bar_for_a_large_file(tmp_path, big_bins_file):
    status, out, err = run_cli(["import", "bins", str(big_bins_file), "--db", str(tmp_path / "cli.sqlite")], stderr_tty=True)

    assert status == 0, err
    assert out == "Imported 12000 bins (12000 new, 0 updated)\n"  # the result alone on stdout
    assert "bins12k.csv: checking [" in err and "bins12k.csv: writing  [" in err
    assert "12,000/12,000 rows" in err and "#" * 30 in err
    assert "the write lock was held" in err


def test_a_pipe_gets_no_progress_bar_and_a_small_file_none_either(tmp_path, big_bins_file):
    status, out, err = run_cli(["import", "bins", str(big_bins_file), "--db", str(tmp_path / "cli.sqlite")], stderr_tty=False)
    assert status == 0 and out == "Imported 12000 bins (12000 new, 0 updated)\n" and err == ""

    small = tmp_path / "small.csv"
    small.write_text("code\nS1\nS2\n", encoding="utf-8")
    status, out, err = run_cli(["import", "bins", str(small), "--db", str(tmp_path / "cli.sqlite")], stderr_tty=True)
    assert status == 0 and "[" not in err and "rows" not in err


def test_exports_print_nothing_of_a_progress_bar(tmp_path, big_bins_file):
    run_cli(["import", "bins", str(big_bins_file), "--db", str(tmp_path / "cli.sqlite")], stderr_tty=True)
    status, out, err = run_cli(["export", "stock", "--format", "json", "--db", str(tmp_path / "cli.sqlite")], stderr_tty=True)
    assert status == 0 and json.loads(out) == [] and "rows" not in err


def test_a_bar_left_unfinished_by_a_refused_file_ends_its_line_and_a_small_file_draws_none():
    shown = io.StringIO()
    bar = ImportProgress(shown, "big.csv")
    bar("checking", 500, 9_000)  # under PROGRESS_MIN_ROWS: nothing
    assert shown.getvalue() == ""
    bar("writing", 20_000, 60_000)
    bar.close()  # the write was refused half-way: what the command prints next starts a line
    bar.close()
    assert shown.getvalue() == "\rbig.csv: writing  [##########....................] 20,000/60,000 rows\n"
