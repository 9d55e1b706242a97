"""The empty sync (a terminal syncing every few seconds with nothing new): one upstream query, no lock, nothing missed."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from warehouse_tui.db.models import Bin
from warehouse_tui.services import masterdata as md
from test_sync_core import Site, book

pytestmark = pytest.mark.postgres


@pytest.fixture
def site(pg_url, tmp_path):
    s = Site(pg_url, tmp_path)
    yield s
    s.close()


class Statements:
    """Every statement sent to the upstream (with whether it ran outside a transaction) and to the terminal's database."""

    def __init__(self, site: Site, terminal: str) -> None:
        site.sync(terminal)  # opens the sync's upstream link
        self.engines = {"upstream": site._link.engine, "local": site.terminal(terminal).engine}
        self.sent: dict[str, list[tuple[str, bool]]] = {"upstream": [], "local": []}
        self.hooks = {}

    def __enter__(self) -> dict[str, list[tuple[str, bool]]]:
        for name, engine in self.engines.items():
            def seen(conn, _cursor, statement, *_args, name=name) -> None:
                self.sent[name].append((statement, bool(getattr(conn.connection.dbapi_connection, "autocommit", False))))
            self.hooks[name] = seen
            event.listen(engine, "before_cursor_execute", seen)
        return self.sent

    def __exit__(self, *exc) -> None:
        for name, engine in self.engines.items():
            event.remove(engine, "before_cursor_execute", self.hooks[name])


def test_an_empty_sync_asks_the_upstream_one_query_outside_a_transaction_and_takes_no_lock(site):
    with Statements(site, "T1") as sent:
        result = site.sync("T1")
    assert result.push.pushed == 0 and result.pull.rows == 0 and result.pending == 0
    # one query, in autocommit: no BEGIN and ROLLBACK round trips around it, no advisory lock
    assert [("change_feed" in statement, autocommit) for statement, autocommit in sent["upstream"]] == [(True, True)]
    assert not any("advisory" in statement for statement, _ in sent["upstream"])
    # and one read transaction on the terminal's own database (the full sync takes four to find the same)
    assert sum(statement.startswith("BEGIN") for statement, _ in sent["local"]) == 1


def test_a_change_made_upstream_after_an_empty_sync_is_pulled_by_the_next(site):
    t1 = site.terminal("T1")
    site.sync("T1")
    assert site.sync("T1").pull.rows == 0
    with site.upstream.transaction() as s:
        md.add_bin(s, "NEW-AFTER-EMPTY")
    result = site.sync("T1")
    assert result.pull.rows == 1
    with t1.reading() as s:
        assert s.scalar(select(Bin.code).where(Bin.code == "NEW-AFTER-EMPTY")) == "NEW-AFTER-EMPTY"


def test_a_movement_booked_after_an_empty_sync_is_pushed_by_the_next(site):
    t1 = site.terminal("T1")
    site.sync("T1")
    assert site.sync("T1").push.pushed == 0
    book(t1, "T1", "receipt", "PLAIN", 3, to_bin="R1")
    result = site.sync("T1")
    assert result.push.applied == 1 and result.pending == 0
