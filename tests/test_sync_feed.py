"""The upstream's change feed: commit order, late commits, rollbacks, what writers announce."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text

from warehouse_tui.db.models import Bin, ChangeFeed
from warehouse_tui.services import masterdata as md
from warehouse_tui.sync import feed
from test_sync_core import Site

pytestmark = pytest.mark.postgres


@pytest.fixture
def site(pg_url, tmp_path):
    s = Site(pg_url, tmp_path)
    yield s
    s.close()


def bins(db) -> set[str]:
    with db.reading() as s:
        return set(s.scalars(select(Bin.code)))


def test_a_transaction_that_commits_after_a_later_one_is_still_pulled(site):
    t1 = site.terminal("T1")
    site.sync("T1")
    # given a long transaction that wrote first and is still open
    slow = site.upstream.sessions()
    slow.begin()
    md.add_bin(slow, "LATE")
    slow.flush()
    # when a later transaction commits, and the terminal pulls in between
    with site.upstream.transaction() as s:
        md.add_bin(s, "EARLY")
    site.sync("T1")
    assert "EARLY" in bins(t1) and "LATE" not in bins(t1)
    slow.commit()
    slow.close()
    # then the late commit is pulled by the next sync: the cursor did not pass it
    site.sync("T1")
    assert {"EARLY", "LATE"} <= bins(t1)


def test_feed_numbers_follow_commit_order_even_when_work_started_earlier(site):
    slow = site.upstream.sessions()
    slow.begin()
    md.add_bin(slow, "FIRST-STARTED")
    slow.flush()
    with site.upstream.transaction() as s:
        md.add_bin(s, "FIRST-COMMITTED")
    slow.commit()
    slow.close()
    with site.upstream.reading() as s:
        ids = dict(s.execute(select(Bin.code, Bin.id)).all())
        order = [ref for kind, ref in s.execute(select(ChangeFeed.kind, ChangeFeed.ref_id).order_by(ChangeFeed.seq)) if kind == "bin"]
    assert order.index(ids["FIRST-COMMITTED"]) < order.index(ids["FIRST-STARTED"])


def test_a_commit_waiting_for_the_feed_lock_gets_a_later_number(site):
    # A writer inside its commit holds the feed lock; another commit waits and is numbered after it.
    first = site.upstream.sessions()
    first.begin()
    md.add_bin(first, "HOLDER")
    first.flush()
    conn = first.connection()
    feed.write_rows(conn, [("bin", 999_999)])  # takes the lock as a commit would, and keeps it
    done = threading.Event()

    def second() -> None:
        with site.upstream.transaction() as s:
            md.add_bin(s, "WAITER")
        done.set()

    thread = threading.Thread(target=second)
    thread.start()
    # the second commit waits on the feed's advisory lock (polled, not timed)
    with site.upstream.engine.connect() as watcher:
        for _ in range(2000):
            waiting = watcher.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                           "AND wait_event_type = 'Lock' AND wait_event = 'advisory'")).scalar()
            watcher.rollback()
            if waiting or done.is_set():
                break
            threading.Event().wait(0.01)
    assert waiting == 1 and not done.is_set()
    first.commit()
    first.close()
    thread.join(10)
    assert done.is_set()
    with site.upstream.reading() as s:
        seqs = dict(s.execute(select(ChangeFeed.ref_id, ChangeFeed.seq).where(ChangeFeed.kind == "bin")).all())
        waiter = s.scalar(select(Bin.id).where(Bin.code == "WAITER"))
    assert seqs[waiter] > seqs[999_999]


def test_a_rolled_back_transaction_leaves_nothing_in_the_feed(site):
    with site.upstream.reading() as s:
        before = feed.last_seq(s)
    with pytest.raises(RuntimeError):
        with site.upstream.transaction() as s:
            md.add_bin(s, "NEVER")
            s.flush()
            raise RuntimeError("operator cancelled")
    with site.upstream.reading() as s:
        assert feed.last_seq(s) == before


def test_a_rolled_back_savepoint_keeps_the_rest_of_the_transaction_announced(site):
    t1 = site.terminal("T1")
    site.sync("T1")
    with site.upstream.transaction() as s:
        md.add_bin(s, "KEPT")
        s.flush()
        with pytest.raises(RuntimeError):
            with s.begin_nested():
                md.add_bin(s, "UNDONE")
                s.flush()
                raise RuntimeError("retry")
    site.sync("T1")
    assert "KEPT" in bins(t1) and "UNDONE" not in bins(t1)


def test_a_terminal_database_has_no_feed(tmp_path):
    from warehouse_tui.db.engine import Database

    db = Database(tmp_path / "t.sqlite")
    with db.transaction() as s:
        md.add_bin(s, "B1")
    with db.reading() as s:
        assert s.scalars(select(ChangeFeed)).all() == []
    assert db.is_upstream is False
    db.dispose()


def test_the_database_layer_and_the_ledger_load_no_sync_code():
    import subprocess
    import sys

    # Given a fresh interpreter that opens a database and books through the ledger, as a service does
    code = ("import sys, tempfile, pathlib\n"
            "from warehouse_tui.db.engine import Database\n"
            "import warehouse_tui.services.ledger, warehouse_tui.services.batch_ledger\n"
            "db = Database(pathlib.Path(tempfile.mkdtemp()) / 'w.sqlite')\n"
            "print(sorted(m for m in sys.modules if m.startswith('warehouse_tui.sync')))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)

    # Then no sync module was imported: the sync attaches itself from above (sync.install), never from below
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
