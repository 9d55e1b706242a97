"""Shared fixtures: real SQLite files per test, a real PostgreSQL database per session."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from warehouse_tui import clock
from warehouse_tui.db.engine import Database
from warehouse_tui.services.ledger import Actor
from warehouse_tui.sync import install as install_sync

install_sync()  # as the CLI and the app do: databases opened by tests get the sync hooks of their role

# Modules whose tests reason about dates (expiry, FEFO, GS1 centuries, the demo's relative dates): marked
# `calendar`, and .ci/run runs them once more with WAREHOUSE_CLOCK far ahead. Snapshots and replay
# scenarios are not among them: they run at a fixed clock of their own (SCREEN_CLOCK below).
CALENDAR_MODULES = {
    "test_clock", "test_demo", "test_workflows", "test_receiving", "test_picking", "test_pick_app", "test_waves",
    "test_packing", "test_counting", "test_scan_resolution", "test_import_export", "test_sync_app",
    "test_replenishment", "test_pick_change_lot", "test_full_tote",
}


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if item.module is not None and item.module.__name__.rsplit(".", 1)[-1] in CALENDAR_MODULES:
            item.add_marker(pytest.mark.calendar)


PG_ADMIN_URL = os.environ.get("WAREHOUSE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def db(tmp_path) -> Iterator[Database]:
    database = Database(tmp_path / "warehouse.sqlite")
    yield database
    database.dispose()


@pytest.fixture
def actor() -> Actor:
    return Actor(None, "T1")


def _pg_available() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # no driver, no server, refused
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}"


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The admin URL of a reachable PostgreSQL; skipped without one, except under CI=true."""
    reason = _pg_available()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)
    return PG_ADMIN_URL


@pytest.fixture
def pg_url(pg_server) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"wt_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = pg_server.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --------------------------------------------------------------------------- the app and the demo warehouse



def build_demo_template(path: Path) -> Path:
    """The demo warehouse built at `path` for the clock's today, its WAL folded in so a plain copy carries everything."""
    from warehouse_tui.demo import build_demo

    build_demo(path)
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """The demo warehouse built once per test session for today; tests copy it (see `demo_path`)."""
    return build_demo_template(tmp_path_factory.mktemp("demo") / "demo.sqlite")


# Screens and scripted scenarios run at a fixed time: what they type (an expiry of 351231) and
# show must not turn into a refusal on the day the calendar passes it (nor under WAREHOUSE_CLOCK).
SCREEN_CLOCK = dt.datetime(2026, 11, 27, 9, 0)


@pytest.fixture(scope="session")
def screen_day_demo_template(tmp_path_factory) -> Path:
    """The demo warehouse built on SCREEN_CLOCK's day (for modules that run at `screen_clock`)."""
    clock.set_clock(SCREEN_CLOCK)
    try:
        return build_demo_template(tmp_path_factory.mktemp("demo-screen-day") / "demo.sqlite")
    finally:
        clock.reset_clock()


@pytest.fixture
def screen_clock() -> Iterator[dt.datetime]:
    """The app's clock runs from SCREEN_CLOCK for one test, whatever the real date."""
    clock.set_clock(SCREEN_CLOCK)
    yield SCREEN_CLOCK
    clock.reset_clock()


@pytest.fixture
def demo_path(demo_template, tmp_path) -> Path:
    """A private copy of the demo warehouse file for one test."""
    import shutil

    target = tmp_path / "demo.sqlite"
    shutil.copyfile(demo_template, target)
    return target


@pytest.fixture
def demo_db(demo_path) -> Iterator[Database]:
    database = Database(demo_path)
    yield database
    database.dispose()


@pytest.fixture
def make_app(demo_path):
    """Build the real app on a copy of the demo warehouse, with the simulated scanner.

    Deterministic for snapshots: fixed terminal name, cursor blink off, no idle logout.
    """
    from drivers.sim import SimScanner
    from warehouse_tui.app import WarehouseApp
    from warehouse_tui.config import Settings

    def factory(**settings_overrides):
        settings = Settings(db=str(demo_path), terminal="T1", idle_logout_seconds=0, **settings_overrides)
        return WarehouseApp(Database(demo_path), settings, scanner=SimScanner("sim://"), terminal_name="T1", cursor_blink=False)

    return factory
