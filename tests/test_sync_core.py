"""Sync between terminals (their own SQLite files) and a PostgreSQL upstream: push, pull, conflicts, offline."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import AppliedEntry, Movement, OutboxEntry, WarehouseException
from warehouse_tui.services import auth
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.check import run_checks
from warehouse_tui.services.exporting import rows
from warehouse_tui.services.ledger import Actor, post
from warehouse_tui.sync import UpstreamUnavailable, init_upstream, open_upstream, sync_command, sync_once
from warehouse_tui.sync.push import pending_count

pytestmark = pytest.mark.postgres

CLOSED_PORT_URL = "postgresql+psycopg://clerk:s3cretPW@127.0.0.1:1/warehouse"


class Site:
    """A PostgreSQL upstream with master data, and terminals that each have their own SQLite file."""

    def __init__(self, url: str, tmp_path: Path) -> None:
        init_upstream(url)
        self.url = url
        self.tmp_path = tmp_path
        self.upstream = Database(url)
        self.terminals: dict[str, Database] = {}
        self._link: Database | None = None
        with self.upstream.transaction() as s:
            md.add_bin(s, "R1", kind="receiving", zone="DOCK")
            md.add_bin(s, "R2", kind="receiving", zone="DOCK")
            md.add_bin(s, "A1", zone="A", kind="pick", pick_seq=1)
            md.add_bin(s, "A2", zone="A", pick_seq=2)
            md.add_item(s, "PLAIN", gtins=["09501101530003"])
            md.add_item(s, "LOTTED", tracking="lot", expiry_required=True)
            md.add_item(s, "SERIAL", tracking="serial")

    def terminal(self, name: str) -> Database:
        if name not in self.terminals:
            self.terminals[name] = Database(self.tmp_path / f"{name}.sqlite")
        return self.terminals[name]

    def sync(self, name: str):
        if self._link is None:
            self._link = open_upstream(self.url)
        return sync_once(self.terminal(name), self._link, name)

    def offline_sync(self, name: str) -> None:
        with pytest.raises(UpstreamUnavailable):
            sync_once(self.terminal(name), open_upstream(CLOSED_PORT_URL), name)

    def close(self) -> None:
        for db in [self.upstream, self._link, *self.terminals.values()]:
            if db is not None:
                db.dispose()

    def every_database(self) -> dict[str, Database]:
        return {"upstream": self.upstream, **self.terminals}


@pytest.fixture
def site(pg_url, tmp_path):
    s = Site(pg_url, tmp_path)
    yield s
    s.close()


def stock(db: Database) -> list[tuple]:
    with db.reading() as s:
        return sorted(rows(s, "stock"), key=repr)


def serials(db: Database) -> list[tuple]:
    with db.reading() as s:
        return sorted(rows(s, "serials"), key=repr)


def check_ok(db: Database) -> bool:
    with db.reading() as s:
        report = run_checks(s)
    assert report.ok, report.render()
    return True


def book(db: Database, terminal: str, kind: str, sku: str, qty: int = 1, *, from_bin=None, to_bin=None, serial=None, lot=None, expiry=None):
    with db.transaction() as s:
        item = md.item_by_sku(s, sku)
        lot_row = md.lot(s, item, lot, expiry) if lot else None
        return post(s, Actor(None, terminal), kind=kind, item=item, qty=qty, serial=serial, lot=lot_row,
                    from_bin=md.bin_by_code(s, from_bin) if from_bin else None, to_bin=md.bin_by_code(s, to_bin) if to_bin else None).uuid


def exceptions(db: Database, kind: str = "sync_conflict") -> list[WarehouseException]:
    with db.reading() as s:
        return s.scalars(select(WarehouseException).where(WarehouseException.kind == kind).order_by(WarehouseException.id)).all()


def test_stock_received_on_one_terminal_and_moved_on_another_is_the_same_everywhere(site):
    # given two terminals with the upstream's master data
    t1, t2 = site.terminal("T1"), site.terminal("T2")
    site.sync("T1"), site.sync("T2")
    # when T1 receives, T2 moves part of it, and both sync
    book(t1, "T1", "receipt", "PLAIN", 10, to_bin="R1")
    book(t1, "T1", "receipt", "LOTTED", 3, to_bin="R1", lot="L7", expiry=dt.date(2030, 1, 31))
    site.sync("T1"), site.sync("T2")
    book(t2, "T2", "putaway", "PLAIN", 4, from_bin="R1", to_bin="A1")
    site.sync("T2"), site.sync("T1")
    # then every database holds the same stock, and the upstream's is the sum of its movements
    expected = [("LOTTED", "R1", "L7", "2030-01-31", None, "MAIN", "available", 3),
                ("PLAIN", "A1", None, None, None, "MAIN", "available", 4),
                ("PLAIN", "R1", None, None, None, "MAIN", "available", 6)]
    for name, db in site.every_database().items():
        assert stock(db) == sorted(expected, key=repr), name
        assert check_ok(db)
    with site.upstream.reading() as s:
        assert s.scalar(select(func.count()).select_from(Movement)) == 3
        assert s.scalar(select(func.count()).select_from(OutboxEntry)) == 0  # the upstream pushes nowhere
    with t1.reading() as s:
        assert pending_count(s) == 0
        pulled = s.scalars(select(Movement).where(Movement.origin == "pulled")).all()
        assert [m.terminal for m in pulled] == ["T2"]


def test_partly_offline_terminals_converge_on_the_upstream_stock_whatever_the_sync_order(site):
    t1, t2, t3 = site.terminal("T1"), site.terminal("T2"), site.terminal("T3")
    for name in ("T1", "T2", "T3"):
        site.sync(name)
    book(t1, "T1", "receipt", "PLAIN", 20, to_bin="R1")
    site.sync("T1")
    site.sync("T2")
    # T2 works offline for a while: its sync fails and nothing is lost
    book(t2, "T2", "move", "PLAIN", 5, from_bin="R1", to_bin="A1")
    book(t2, "T2", "move", "PLAIN", 2, from_bin="A1", to_bin="A2")
    site.offline_sync("T2")
    with t2.reading() as s:
        assert pending_count(s) == 2
    # meanwhile T1 and T3 go on
    book(t1, "T1", "receipt", "PLAIN", 1, to_bin="R2")
    site.sync("T3")
    site.sync("T1")
    book(t3, "T3", "move", "PLAIN", 3, from_bin="R1", to_bin="A2")
    site.sync("T3")
    site.sync("T2")  # back online
    for name in ("T1", "T3", "T2"):
        site.sync(name)
    expected = stock(site.upstream)
    assert expected == sorted([
        ("PLAIN", "A1", None, None, None, "MAIN", "available", 3),
        ("PLAIN", "A2", None, None, None, "MAIN", "available", 5),
        ("PLAIN", "R1", None, None, None, "MAIN", "available", 12),
        ("PLAIN", "R2", None, None, None, "MAIN", "available", 1),
    ], key=repr)
    for name, db in site.every_database().items():
        assert stock(db) == expected, name
        assert check_ok(db)
    assert exceptions(site.upstream) == []


def test_the_same_last_unit_taken_on_two_offline_terminals_is_one_conflict_seen_on_both(site):
    t1, t2 = site.terminal("T1"), site.terminal("T2")
    book(site.upstream, "UP", "receipt", "PLAIN", 1, to_bin="A1")
    site.sync("T1"), site.sync("T2")
    # both take the last unit while offline
    first = book(t1, "T1", "move", "PLAIN", 1, from_bin="A1", to_bin="A2")
    second = book(t2, "T2", "move", "PLAIN", 1, from_bin="A1", to_bin="R1")
    r1 = site.sync("T1")
    r2 = site.sync("T2")
    assert (r1.push.applied, r1.push.conflict) == (1, 0)
    assert (r2.push.applied, r2.push.conflict) == (0, 1)
    site.sync("T1")
    # then nothing was dropped: both moves are booked, A1 is -1 and flagged, on every database
    expected = sorted([("PLAIN", "A1", None, None, None, "MAIN", "available", -1),
                       ("PLAIN", "A2", None, None, None, "MAIN", "available", 1),
                       ("PLAIN", "R1", None, None, None, "MAIN", "available", 1)], key=repr)
    for name, db in site.every_database().items():
        assert stock(db) == expected, name
        assert check_ok(db)
        conflicts = exceptions(db)
        assert len(conflicts) == 1, name
        assert conflicts[0].status == "open" and "T2" in conflicts[0].detail and "Only 0 of PLAIN in A1" in conflicts[0].detail
        assert conflicts[0].data["entry"]["id"] == second
    with site.upstream.reading() as s:
        outcomes = dict(s.execute(select(AppliedEntry.uuid, AppliedEntry.outcome)).all())
        assert outcomes[first] == "applied" and outcomes[second] == "conflict"
    with t2.reading() as s:
        entry = s.scalars(select(OutboxEntry).where(OutboxEntry.uuid == second)).one()
        assert entry.outcome == "conflict" and "Only 0 of PLAIN in A1" in entry.outcome_detail
        assert s.scalars(select(Movement.conflict).where(Movement.uuid == second)).one() is True


def test_the_same_serial_received_on_two_terminals_is_one_conflict(site):
    t1, t2 = site.terminal("T1"), site.terminal("T2")
    site.sync("T1"), site.sync("T2")
    book(t1, "T1", "receipt", "SERIAL", to_bin="R1", serial="SN-1")
    book(t2, "T2", "receipt", "SERIAL", to_bin="R2", serial="SN-1")
    site.sync("T1"), site.sync("T2"), site.sync("T1")
    expected_stock = stock(site.upstream)
    assert expected_stock == sorted([("SERIAL", "R1", None, None, None, "MAIN", "available", 1),
                                     ("SERIAL", "R2", None, None, None, "MAIN", "available", 1)], key=repr)
    # the serial stands where its last booked movement put it, the same on every database
    assert serials(site.upstream) == [("SERIAL", "SN-1", None, "R2", None, "in_stock")]
    for name, db in site.every_database().items():
        assert stock(db) == expected_stock, name
        assert serials(db) == serials(site.upstream), name
        assert check_ok(db)
        (conflict,) = exceptions(db)
        assert "Serial SN-1 of SERIAL is already in R1" in conflict.detail


def test_a_conflict_never_blocks_the_entries_after_it(site):
    t1 = site.terminal("T1")
    site.sync("T1")
    book(t1, "T1", "receipt", "PLAIN", 2, to_bin="R1")
    site.sync("T1")
    # the upstream loses the stock behind T1's back (a count posted there), then T1 moves it and receives more
    with site.upstream.transaction() as s:
        post(s, Actor(None, "UP"), kind="adjust", item=md.item_by_sku(s, "PLAIN"), qty=2, from_bin=md.bin_by_code(s, "R1"))
    book(t1, "T1", "move", "PLAIN", 2, from_bin="R1", to_bin="A1")
    book(t1, "T1", "receipt", "PLAIN", 5, to_bin="R2")
    result = site.sync("T1")
    assert (result.push.applied, result.push.conflict) == (1, 1)
    assert stock(t1) == stock(site.upstream)
    assert ("PLAIN", "R2", None, None, None, "MAIN", "available", 5) in stock(site.upstream)
    assert check_ok(site.upstream) and check_ok(t1)


def test_an_entry_pushed_again_is_a_duplicate_and_applied_once(site):
    t1 = site.terminal("T1")
    site.sync("T1")
    moved = book(t1, "T1", "receipt", "PLAIN", 4, to_bin="R1")
    site.sync("T1")
    # as if the acknowledgement had been lost: the entry is pending again
    with t1.transaction() as s:
        s.execute(update(OutboxEntry).values(pushed_at=None, outcome=None))
    result = site.sync("T1")
    assert (result.push.applied, result.push.duplicate) == (0, 1)
    with t1.reading() as s:
        entry = s.scalars(select(OutboxEntry).where(OutboxEntry.uuid == moved)).one()
        assert entry.outcome == "duplicate" and entry.outcome_detail == "first pushed: applied"
    with site.upstream.reading() as s:
        assert s.scalar(select(func.count()).select_from(Movement)) == 1
    assert stock(site.upstream) == stock(t1) == [("PLAIN", "R1", None, None, None, "MAIN", "available", 4)]


def test_a_movement_naming_an_item_the_upstream_does_not_know_is_kept_as_a_conflict(site):
    t1 = site.terminal("T1")
    site.sync("T1")
    with t1.transaction() as s:
        md.add_item(s, "LOCAL-ONLY")
    uuid = book(t1, "T1", "receipt", "LOCAL-ONLY", 2, to_bin="R1")
    result = site.sync("T1")
    assert result.push.conflict == 1
    (conflict,) = exceptions(site.upstream)
    assert "not booked" in conflict.detail and "item LOCAL-ONLY of owner MAIN is not known upstream" in conflict.detail
    assert conflict.data["entry"]["id"] == uuid and conflict.data["booked"] is False
    assert check_ok(site.upstream)


def test_a_movement_booked_directly_on_the_upstream_reaches_every_terminal(site):
    t1 = site.terminal("T1")
    site.sync("T1")
    book(site.upstream, "ONLINE", "receipt", "SERIAL", to_bin="A1", serial="SN-9")
    site.sync("T1")
    assert serials(t1) == [("SERIAL", "SN-9", None, "A1", None, "in_stock")]
    with t1.reading() as s:
        (m,) = s.scalars(select(Movement)).all()
        assert (m.origin, m.terminal, m.conflict) == ("pulled", "ONLINE", False)
        # the serial can be moved on here as normal
    book(t1, "T1", "move", "SERIAL", from_bin="A1", to_bin="A2", serial="SN-9")
    site.sync("T1")
    assert serials(site.upstream) == [("SERIAL", "SN-9", None, "A2", None, "in_stock")]
    assert check_ok(t1) and check_ok(site.upstream)


def test_operators_pin_hashes_and_lock_state_come_down(site):
    with site.upstream.transaction() as s:
        s.add(auth.Operator(badge="U1", name="Ann", role="operator", pin_hash=auth.hash_pin("1234")))
    t1 = site.terminal("T1")
    site.sync("T1")
    assert auth.attempt_login(t1, "U1", "1234", "T1").name == "Ann"
    with site.upstream.transaction() as s:
        op = auth.find_operator(s, "U1")
        op.locked = True
        op.pin_hash = auth.hash_pin("9876")
    site.sync("T1")
    with pytest.raises(auth.NotAllowed, match="locked"):
        auth.attempt_login(t1, "U1", "9876", "T1")


def test_item_codes_changed_upstream_are_replaced_on_the_terminal(site):
    t1 = site.terminal("T1")
    site.sync("T1")
    with site.upstream.transaction() as s:
        item = md.item_by_sku(s, "PLAIN")
        item.codes.clear()
        s.flush()
        s.add(md.ItemCode(item_id=item.id, code="ALIAS-1", kind="alias"))
        item.description = "Plain widget"
    site.sync("T1")
    with t1.reading() as s:
        assert md.item_by_code(s, "ALIAS-1").sku == "PLAIN"
        assert md.item_by_code(s, "09501101530003") is None
        assert md.item_by_sku(s, "PLAIN").description == "Plain widget"


def test_a_full_sync_with_nothing_new_changes_nothing(site):
    site.sync("T1")
    result = site.sync("T1")
    assert result.push.pushed == 0 and result.pull.changes == 0 and result.pending == 0


def test_sync_against_an_unreachable_upstream_fails_clearly_without_the_password(site, capsys):
    t1 = site.terminal("T1")
    site.sync("T1")
    book(t1, "T1", "receipt", "PLAIN", 1, to_bin="R1")
    code = sync_command(t1, CLOSED_PORT_URL, "T1", out=io.StringIO())
    err = capsys.readouterr().err
    assert code == 1
    assert "unreachable" in err and "127.0.0.1:1" in err and "sync again" in err
    assert "s3cretPW" not in err
    with t1.reading() as s:
        assert pending_count(s) == 1


def test_upstream_init_is_idempotent(pg_url):
    first = init_upstream(pg_url)
    second = init_upstream(pg_url)
    assert "made an upstream" in first
    assert "already at head" in second and "already an upstream" in second


def test_upstream_init_publishes_what_the_database_already_holds(pg_url, tmp_path):
    # given a database filled before it became an upstream (no feed yet)
    from warehouse_tui.db.migrate import upgrade
    from warehouse_tui.db.engine import make_engine

    engine = make_engine(pg_url)
    upgrade(engine)
    before = Database(engine, migrate=False)
    with before.transaction() as s:
        md.add_bin(s, "B1")
        md.add_item(s, "OLD")
        post(s, Actor(None, "X"), kind="receipt", item=md.item_by_sku(s, "OLD"), qty=7, to_bin=md.bin_by_code(s, "B1"))
    before.dispose()
    # owner, bin, item and movement
    assert "4 existing rows published" in init_upstream(pg_url)
    t1 = Database(tmp_path / "t1.sqlite")
    up = open_upstream(pg_url)
    sync_once(t1, up, "T1")
    assert stock(t1) == [("OLD", "B1", None, None, None, "MAIN", "available", 7)]
    up.dispose(), t1.dispose()


def test_a_database_not_made_upstream_is_refused(pg_url):
    Database(pg_url).dispose()  # migrated, but never `upstream init`
    with pytest.raises(UpstreamUnavailable, match="not an upstream yet"):
        open_upstream(pg_url)



def test_syncing_the_upstream_with_itself_is_refused(site):
    from warehouse_tui.errors import ConfigError

    with pytest.raises(ConfigError, match="is the upstream itself"):
        sync_once(site.upstream, open_upstream(site.url), "T1")
