"""Pushes from several terminals at once: plain stock batches share the push lock, everything else applies alone.

Each test holds one push batch's upstream transaction open (applied, not committed) and
runs another terminal's batch beside it, then checks who waited (polled in
pg_stat_activity, never timed) and that every movement is upstream exactly once.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import func, select, text

from warehouse_tui.db.models import AppliedEntry, Bin, Movement, Owner, Quant
from warehouse_tui.sync.apply import apply_batch
from warehouse_tui.sync.push import _apply_upstream
from test_sync_core import Site

pytestmark = pytest.mark.postgres


@pytest.fixture
def site(pg_url, tmp_path):
    s = Site(pg_url, tmp_path)
    yield s
    s.close()


def receipt(owner: str, sku: str, to_bin: str, qty: int = 1, *, serial: str | None = None, terminal: str = "T") -> dict:
    """An outbox entry of a receipt, as a terminal's outbox sends it."""
    mid = str(uuid.uuid4())
    payload = {"id": mid, "kind": "receipt", "sku": sku, "owner": owner, "qty": qty, "lot": None, "expiry": None, "serial": serial,
               "from_bin": None, "to_bin": to_bin, "from_container": None, "to_container": None, "from_status": "available",
               "to_status": "available", "operator": None, "terminal": terminal, "at": "2026-01-01T00:00:00", "ref": "TEST",
               "consume_reserved": 0}
    return {"uuid": mid, "kind": "movement", "payload": payload}


def owner_code(site: Site) -> str:
    with site.upstream.reading() as s:
        return s.scalar(select(Owner.code))


class Beside:
    """Another terminal's batch applied (and committed) on its own thread through push's own path."""

    def __init__(self, site: Site, terminal: str, entries: list[dict]) -> None:
        self.outcomes = None
        self.error: BaseException | None = None
        self.done = threading.Event()

        def run() -> None:
            try:
                self.outcomes = _apply_upstream(site.upstream, terminal, entries)
            except BaseException as exc:  # reported by the test
                self.error = exc
            finally:
                self.done.set()

        self.thread = threading.Thread(target=run)
        self.thread.start()

    def waits_on(self, site: Site, event: str) -> bool:
        """Poll until this batch waits on a lock of that kind ("advisory", "transactionid") or has finished."""
        with site.upstream.engine.connect() as watcher:
            for _ in range(3000):
                waiting = watcher.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND wait_event = :event"), {"event": event}).scalar()
                watcher.rollback()
                if waiting or self.done.is_set():
                    return bool(waiting) and not self.done.is_set()
                threading.Event().wait(0.01)
        return False

    def join(self) -> list:
        self.thread.join(60)
        assert self.done.is_set()
        if self.error is not None:
            raise self.error
        return self.outcomes


def upstream_counts(site: Site, uuids: list[str]) -> tuple[int, int]:
    with site.upstream.reading() as s:
        movements = s.scalar(select(func.count()).select_from(Movement).where(Movement.uuid.in_(uuids)))
        applied = s.scalar(select(func.count()).select_from(AppliedEntry).where(AppliedEntry.uuid.in_(uuids)))
    return movements, applied


def qty_in(site: Site, bin_code: str) -> int:
    with site.upstream.reading() as s:
        return int(s.scalar(select(func.coalesce(func.sum(Quant.qty), 0)).join(Bin, Bin.id == Quant.bin_id).where(Bin.code == bin_code)))


def quants_in(site: Site, bin_code: str) -> int:
    with site.upstream.reading() as s:
        return s.scalar(select(func.count()).select_from(Quant).join(Bin, Bin.id == Quant.bin_id).where(Bin.code == bin_code))


def test_plain_stock_batches_of_two_terminals_apply_side_by_side(site):
    owner = owner_code(site)
    first, second = [receipt(owner, "PLAIN", "A1", 2)], [receipt(owner, "PLAIN", "A2", 3)]
    with site.upstream.sessions() as held:
        held.begin()
        apply_batch(held, "T1", first)  # T1's batch applied, its transaction still open (shared push lock held)
        # when T2 pushes plain stock elsewhere meanwhile
        beside = Beside(site, "T2", second)
        # then it neither waits for the push lock nor for T1: it commits while T1's transaction is open
        assert not beside.waits_on(site, "advisory")
        assert [o.outcome for o in beside.join()] == ["applied"]
        held.commit()
    assert upstream_counts(site, [e["uuid"] for e in first + second]) == (2, 2)
    assert (qty_in(site, "A1"), qty_in(site, "A2")) == (2, 3)


def test_a_serial_batch_waits_for_the_plain_batch_in_progress(site):
    owner = owner_code(site)
    plain, serial = [receipt(owner, "PLAIN", "A1", 2)], [receipt(owner, "SERIAL", "A2", serial="SN-CONC-1")]
    with site.upstream.sessions() as held:
        held.begin()
        apply_batch(held, "T1", plain)
        # a batch with a serial is checked against serial units it reads unlocked: it takes the push lock alone
        beside = Beside(site, "T2", serial)
        assert beside.waits_on(site, "advisory")
        held.commit()
    assert [o.outcome for o in beside.join()] == ["applied"]
    assert upstream_counts(site, [e["uuid"] for e in plain + serial]) == (2, 2)


def test_two_plain_batches_creating_the_same_quant_both_apply_once(site):
    owner = owner_code(site)
    first, second = [receipt(owner, "PLAIN", "A1", 2)], [receipt(owner, "PLAIN", "A1", 5)]
    with site.upstream.sessions() as held:
        held.begin()
        apply_batch(held, "T1", first)  # inserts the quant PLAIN @ A1, not committed yet
        # when T2 books onto the same new quant, it waits on T1's row, not on the push lock
        beside = Beside(site, "T2", second)
        assert beside.waits_on(site, "transactionid")
        held.commit()
    # then T2's first attempt fails on the quant T1 created, and is applied again under the exclusive lock: once
    assert [o.outcome for o in beside.join()] == ["applied"]
    assert upstream_counts(site, [e["uuid"] for e in first + second]) == (2, 2)
    assert qty_in(site, "A1") == 7
    assert quants_in(site, "A1") == 1


def test_a_batch_pushed_again_while_its_first_push_is_still_open_is_a_duplicate(site):
    owner = owner_code(site)
    batch = [receipt(owner, "PLAIN", "A2", 4)]
    with site.upstream.sessions() as held:
        held.begin()
        apply_batch(held, "T1", batch)  # the first push, its connection not yet committed (a slow link)
        again = Beside(site, "T1", batch)  # the terminal gave up on it and pushes the same entries again
        assert again.waits_on(site, "transactionid")
        held.commit()
    assert [o.outcome for o in again.join()] == ["duplicate"]
    assert upstream_counts(site, [batch[0]["uuid"]]) == (1, 1)
    assert qty_in(site, "A2") == 4
