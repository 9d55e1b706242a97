"""Migrations and engine setup: the schema history is sound on SQLite and PostgreSQL, and
the SQLite durability settings of DESIGN §3 are really in effect on every connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
import pytest_alembic.tests as alembic_tests
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, func, select, text

from warehouse_tui.db import migrate
from warehouse_tui.db.engine import BUSY_TIMEOUT_MS, Database, make_engine
from warehouse_tui.db.migrate import alembic_config as app_alembic_config
from warehouse_tui.db.migrate import current_revision, head_revision, script_location
from warehouse_tui.db.models import Movement, SerialUnit
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.check import run_checks
from warehouse_tui.services.ledger import move_container, post

# --------------------------------------------------------------------------- pytest-alembic


@pytest.fixture
def alembic_config() -> AlembicConfig:
    # The app's own config (script_location() of the checkout or the wheel), not alembic.ini.
    return app_alembic_config()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def alembic_engine(request, tmp_path) -> Iterator[Connection]:
    """The app's own engine (durable SQLite, or psycopg), on a fresh database per test.

    migrations/env.py runs on the connection the app hands it (migrate.upgrade passes a
    Connection), so pytest-alembic gets a Connection too rather than an Engine.
    """
    if request.param == "sqlite":
        engine = make_engine(tmp_path / "alembic.sqlite")
    else:
        engine = make_engine(request.getfixturevalue("pg_url"))
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def test_history_has_a_single_head(alembic_runner):
    alembic_tests.test_single_head_revision(alembic_runner)


def test_history_upgrades_from_empty_to_head(alembic_runner):
    alembic_tests.test_upgrade(alembic_runner)
    assert alembic_runner.current == head_revision()


def test_models_match_the_ddl_the_migrations_build(alembic_runner):
    alembic_tests.test_model_definitions_match_ddl(alembic_runner)


def test_every_migration_downgrades_and_upgrades_again(alembic_runner):
    alembic_tests.test_up_down_consistency(alembic_runner)


def test_app_and_alembic_config_use_the_same_scripts():
    # The alembic config the app builds must point at the shipped migrations, and they
    # must have exactly the head the runner reports.
    script = ScriptDirectory.from_config(app_alembic_config())
    assert script.dir == str(script_location())
    assert script.get_heads() == [head_revision()]


# --------------------------------------------------------------------------- opening a database


def test_new_database_file_is_migrated_to_head(tmp_path):
    path = tmp_path / "sub" / "new.sqlite"
    db = Database(path)
    try:
        assert path.exists()
        assert current_revision(db.engine) == head_revision()
        with db.reading() as s:
            assert s.scalar(select(func.count()).select_from(Movement)) == 0
    finally:
        db.dispose()


def test_reopening_a_migrated_database_does_not_run_migrations_again(tmp_path, monkeypatch, actor):
    path = tmp_path / "warehouse.sqlite"
    first = Database(path)
    with first.transaction() as s:
        rcv = md.add_bin(s, "RCV-01", kind="receiving")
        post(s, actor, kind="receipt", item=md.add_item(s, "PLAIN"), qty=3, to_bin=rcv)
    first.dispose()

    calls = []
    import alembic.command

    monkeypatch.setattr(alembic.command, "upgrade", lambda *a, **k: calls.append(a))
    second = Database(path)
    try:
        assert calls == []
        assert current_revision(second.engine) == head_revision()
        with second.reading() as s:
            assert s.scalar(select(func.count()).select_from(Movement)) == 1
    finally:
        second.dispose()


def test_opening_without_migrate_leaves_a_new_database_empty(tmp_path):
    db = Database(tmp_path / "bare.sqlite", migrate=False)
    try:
        assert current_revision(db.engine) is None
    finally:
        db.dispose()


# --------------------------------------------------------------------------- PostgreSQL


@pytest.mark.parametrize("scheme", ["postgresql", "postgresql+psycopg"])
def test_make_engine_drives_postgresql_with_psycopg(scheme):
    engine = make_engine(f"{scheme}://postgres@127.0.0.1:5432/nowhere")
    try:
        assert engine.dialect.name == "postgresql"
        assert engine.dialect.driver == "psycopg"
        assert engine.pool._pre_ping is True
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_ledger_receives_moves_and_ships_serials_on_postgresql(pg_url, actor):
    db = Database(pg_url)
    try:
        assert db.engine.dialect.driver == "psycopg"
        assert current_revision(db.engine) == head_revision()
        with db.transaction() as s:
            rcv = md.add_bin(s, "RCV-01", kind="receiving")
            a1 = md.add_bin(s, "A-01-01", zone="A")
            a2 = md.add_bin(s, "A-01-02", zone="A")
            plain = md.add_item(s, "PLAIN")
            serial = md.add_item(s, "SERIAL", tracking="serial")
            lpn = md.container(s, "LPN0001")
            post(s, actor, kind="receipt", item=plain, qty=10, to_bin=rcv, to_container=lpn, doc_ref="PO1")
            for sn in ("SN1", "SN2", "SN3"):
                post(s, actor, kind="receipt", item=serial, qty=1, serial=sn, to_bin=rcv, to_container=lpn, doc_ref="PO1")
        with db.transaction() as s:
            moved = move_container(s, actor, md.container(s, "LPN0001"), a1, kind="putaway")
            assert len(moved) == 4  # one for the plain quant, one per serial
        with db.transaction() as s:
            post(s, actor, kind="move", item=plain, qty=4, from_bin=a1, from_container=lpn, to_bin=a2)
            post(s, actor, kind="ship", item=serial, qty=1, serial="SN2", from_bin=a1, from_container=lpn)
        with db.reading() as s:
            units = {u.serial: u for u in s.scalars(select(SerialUnit))}
            assert units["SN2"].status == "shipped" and units["SN2"].bin_id is None
            assert units["SN1"].bin_id == a1.id and units["SN1"].container_id == lpn.id
            quants = dict(s.execute(text(
                "SELECT b.code || '/' || i.sku, SUM(q.qty) FROM quants q JOIN bins b ON b.id = q.bin_id"
                " JOIN items i ON i.id = q.item_id GROUP BY b.code, i.sku")).all())
            assert quants == {"A-01-01/PLAIN": 6, "A-01-02/PLAIN": 4, "A-01-01/SERIAL": 2}
            report = run_checks(s)
            assert report.ok, report.render()
    finally:
        db.dispose()


@pytest.mark.postgres
def test_check_catches_a_corrupted_quant_on_postgresql(pg_url, actor):
    db = Database(pg_url)
    try:
        with db.transaction() as s:
            post(s, actor, kind="receipt", item=md.add_item(s, "PLAIN"), qty=5, to_bin=md.add_bin(s, "RCV-01"))
        with db.transaction() as s:
            s.execute(text("UPDATE quants SET qty = 7"))
        with db.reading() as s:
            report = run_checks(s)
        assert not report.ok
        assert "PLAIN in RCV-01: quant says 7, movements sum to 5" in report.render()
    finally:
        db.dispose()


# --------------------------------------------------------------------------- SQLite durability settings


def test_sqlite_connections_are_durable(db):
    with db.transaction() as s:
        pragmas = {name: s.execute(text(f"PRAGMA {name}")).scalar() for name in
                   ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")}
    assert pragmas == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1, "busy_timeout": BUSY_TIMEOUT_MS}
    assert BUSY_TIMEOUT_MS == 5000


def test_foreign_keys_are_enforced_on_sqlite(db):
    with pytest.raises(Exception, match="FOREIGN KEY"):
        with db.transaction() as s:
            s.execute(text("INSERT INTO lots (item_id, code) VALUES (999, 'L1')"))


def _try_begin_immediate(path) -> bool:
    """Whether another connection can take the write lock right now (waiting at most 50 ms)."""
    other = sqlite3.connect(path, timeout=0.05, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    finally:
        other.close()


def test_write_transaction_holds_the_write_lock_from_its_first_statement(db):
    path = db.engine.url.database
    with db.transaction() as s:
        # Only a read so far: a deferred BEGIN would not hold the write lock yet.
        s.execute(text("SELECT count(*) FROM quants")).scalar()
        assert _try_begin_immediate(path) is False
    assert _try_begin_immediate(path) is True


def test_reading_session_does_not_block_writers(db):
    path = db.engine.url.database
    with db.reading() as s:
        s.execute(text("SELECT count(*) FROM quants")).scalar()
        assert _try_begin_immediate(path) is True


def test_head_constant_names_the_newest_migration():
    """migrate.HEAD lets an up-to-date database open without Alembic: it must follow the scripts."""
    from warehouse_tui.db import migrate

    assert migrate.HEAD == migrate.head_revision()


def test_upgrading_a_0001_database_gives_every_existing_carton_line_its_own_uuid(tmp_path):
    # given a database at 0001 holding a packed carton of two lines
    engine = make_engine(tmp_path / "old.sqlite")
    migrate.upgrade(engine, "0001")
    with engine.begin() as conn:
        for sql in (
            "INSERT INTO owners (id, code, name) VALUES (1, 'OWN', 'Owner')",
            "INSERT INTO items (id, owner_id, sku, description, uom, tracking, expiry_required) "
            "VALUES (1, 1, 'SKU', 'thing', 'EA', 'none', 0)",
            "INSERT INTO containers (id, code, kind, status) VALUES (1, 'ORD-1-1', 'carton', 'closed')",
            "INSERT INTO outbound_orders (id, ref, channel, ship_to, priority, status, created_at) "
            "VALUES (1, 'ORD-1', 'web', 'x', 0, 'packed', '2026-01-01')",
            "INSERT INTO outbound_lines (id, uuid, order_id, item_id, qty, qty_allocated, qty_picked, qty_packed, qty_shipped) "
            "VALUES (1, 'l1', 1, 1, 2, 2, 2, 2, 0)",
            "INSERT INTO cartons (id, container_id, order_id, sscc, status) VALUES (1, 1, 1, '009501100000000011', 'closed')",
            "INSERT INTO carton_lines (id, carton_id, order_line_id, item_id, qty) VALUES (1, 1, 1, 1, 1), (2, 1, 1, 1, 1)",
        ):
            conn.execute(text(sql))
    # when it is upgraded to head
    migrate.upgrade(engine)
    # then each line has a uuid of its own and nothing else changed
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, uuid, qty FROM carton_lines ORDER BY id")).all()
    engine.dispose()
    assert [(r.id, r.qty) for r in rows] == [(1, 1), (2, 1)]
    assert all(len(r.uuid) == 36 for r in rows) and rows[0].uuid != rows[1].uuid
