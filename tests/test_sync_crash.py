"""A sync killed with SIGKILL at any point loses nothing and duplicates nothing: the next sync completes it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from warehouse_tui.db.models import AppliedEntry, Movement
from warehouse_tui.sync.push import CRASH_ENV, pending_count
from test_sync_core import Site, book, check_ok, stock

pytestmark = pytest.mark.postgres

SYNC = """
import sys
from warehouse_tui.db.engine import Database
from warehouse_tui.sync import open_upstream, sync_once
local, upstream = Database(sys.argv[1]), open_upstream(sys.argv[2])
print(sync_once(local, upstream, sys.argv[3], batch_size=int(sys.argv[4])).render())
"""


def run_sync(path, url: str, terminal: str, *, batch: int, crash: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != CRASH_ENV}
    if crash:
        env[CRASH_ENV] = crash
    return subprocess.run([sys.executable, "-c", SYNC, str(path), url, terminal, str(batch)], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def site(pg_url, tmp_path):
    s = Site(pg_url, tmp_path)
    yield s
    s.close()


@pytest.mark.parametrize("crash", [
    "before_upstream_commit:2",  # the upstream rolls the batch back
    "after_upstream_commit:2",   # applied upstream, not acknowledged here: the next push is told duplicate
    "after_local_ack:1",
    "before_pull_cursor:1",      # pulled changes applied, cursor not moved: they are applied again, harmlessly
])
def test_a_sync_killed_at_any_point_is_completed_exactly_once_by_the_next(site, crash):
    # given 25 movements waiting on T1, pushed 10 per batch, and a T2 that received stock first
    t1 = site.terminal("T1")
    t2 = site.terminal("T2")
    site.sync("T2")
    book(t2, "T2", "receipt", "PLAIN", 50, to_bin="R2")
    site.sync("T2")
    site.sync("T1")
    uuids = [book(t1, "T1", "receipt", "PLAIN", n, to_bin="R1") for n in range(1, 13)]
    uuids += [book(t1, "T1", "move", "PLAIN", 1, from_bin="R1", to_bin="A1") for _ in range(8)]
    uuids += [book(t1, "T1", "receipt", "SERIAL", to_bin="R1", serial=f"SN-{n}") for n in range(5)]
    # when the sync dies at the point, then runs again
    killed = run_sync(t1.engine.url.database, site.url, "T1", batch=10, crash=crash)
    assert killed.returncode == -9, killed.stderr
    again = run_sync(t1.engine.url.database, site.url, "T1", batch=10)
    assert again.returncode == 0, again.stderr
    # then every entry was applied upstream exactly once, and acknowledged here
    with site.upstream.reading() as s:
        assert s.scalar(select(func.count()).select_from(AppliedEntry)) == 25 + 1
        assert sorted(s.scalars(select(Movement.uuid).where(Movement.terminal == "T1"))) == sorted(uuids)
        assert s.scalar(select(func.count()).select_from(Movement)) == 26
    with t1.reading() as s:
        assert pending_count(s) == 0
        assert s.scalar(select(func.count()).select_from(Movement)) == 26
    site.sync("T2")
    assert stock(t1) == stock(t2) == stock(site.upstream)
    assert ("PLAIN", "A1", None, None, None, "MAIN", "available", 8) in stock(site.upstream)
    for db in site.every_database().values():
        assert check_ok(db)
