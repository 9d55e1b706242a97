"""The app's background sync worker: offline and back, never holding a scan, status for the status line."""

from __future__ import annotations

import threading

import pytest

from test_sync_core import CLOSED_PORT_URL, Site, book, stock
from warehouse_tui.sync.worker import SyncWorker

pytestmark = pytest.mark.postgres


@pytest.fixture
def site(pg_url, tmp_path):
    s = Site(pg_url, tmp_path)
    yield s
    s.close()


def test_worker_reports_offline_with_the_unsynced_count_then_catches_up(site):
    t1 = site.terminal("T1")
    site.sync("T1")
    book(t1, "T1", "receipt", "PLAIN", 3, to_bin="R1")
    book(t1, "T1", "receipt", "PLAIN", 2, to_bin="R2")
    offline = SyncWorker(t1, CLOSED_PORT_URL, "T1")
    status = offline.run_once()
    assert status.online is False and status.pending == 2
    assert "unreachable" in status.message and "s3cretPW" not in status.message
    online = SyncWorker(t1, site.url, "T1")
    status = online.run_once()
    online.stop()
    assert status.online is True and status.pending == 0 and status.last_sync_at is not None
    assert stock(t1) == stock(site.upstream)


def test_worker_thread_syncs_when_asked_while_scans_go_on(site):
    t1 = site.terminal("T1")
    site.sync("T1")
    seen = []
    synced = threading.Event()

    def on_status(status):
        seen.append(status)
        if status.online:
            synced.set()

    worker = SyncWorker(t1, site.url, "T1", interval=3600, on_status=on_status)
    worker.start()
    try:
        for n in range(5):  # scans keep being booked locally while the worker runs
            book(t1, "T1", "receipt", "PLAIN", n + 1, to_bin="R1")
        worker.sync_now()
        assert synced.wait(60)
    finally:
        worker.stop()
    assert all(status.online for status in seen)
    # whatever the rounds caught, one more round brings everything up: nothing lost, nothing twice
    worker2 = SyncWorker(t1, site.url, "T1")
    worker2.run_once()
    worker2.stop()
    assert stock(site.upstream) == stock(t1) == [("PLAIN", "R1", None, None, None, "MAIN", "available", 15)]
