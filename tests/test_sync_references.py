"""The upstream's movements keep their references whole with the set-based checks `upstream init` installs."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from warehouse_tui.sync import init_upstream, references

pytestmark = pytest.mark.postgres

COLUMNS = "uuid, kind, item_id, qty, to_bin_id, owner_id, from_status, to_status, terminal, at, conflict, origin"


@pytest.fixture
def upstream(pg_url):
    """An upstream with one owner, two items and three bins; a raw psycopg connection to it."""
    init_upstream(pg_url)
    conn = psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://"))
    conn.execute("INSERT INTO owners (id, code, name) VALUES (1, 'MAIN', 'MAIN')")
    for n in (1, 2):
        conn.execute("INSERT INTO items (id, owner_id, sku, description, uom, tracking, expiry_required, zone) "
                     "VALUES (%s, 1, %s, 'x', 'EA', 'none', false, 'A')", (n, f"SKU{n}"))
    for n in (1, 2, 3):
        conn.execute("INSERT INTO bins (id, code, barcode, zone, kind, pick_seq, blocked) VALUES (%s, %s, %s, 'A', 'storage', %s, false)",
                     (n, f"B{n}", f"B{n}", n))
    conn.commit()
    yield conn
    conn.close()


def receipt(uuid: str, item: int = 1, bin_id: int = 1) -> tuple:
    return (uuid, "receipt", item, 1, bin_id, 1, "available", "available", "T1", "2026-01-01", False, "upstream")


def copy(conn, rows: list[tuple]) -> None:
    with conn.cursor().copy(f"COPY movements ({COLUMNS}) FROM STDIN") as c:
        for row in rows:
            c.write_row(row)


def movements(conn) -> int:
    return conn.execute("SELECT count(*) FROM movements").fetchone()[0]


def test_upstream_init_swaps_the_row_checks_for_the_set_based_ones_once(upstream, pg_url):
    foreign_keys = upstream.execute("SELECT count(*) FROM pg_constraint WHERE conrelid = 'movements'::regclass AND contype = 'f'")
    assert foreign_keys.fetchone()[0] == 0
    triggers = {r[0] for r in upstream.execute("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'wt_movement_refs%'")}
    assert {"wt_movement_refs_insert", "wt_movement_refs_update", "wt_movement_refs_bins_delete", "wt_movement_refs_items_update"} <= triggers
    upstream.commit()
    from warehouse_tui.db.engine import Database

    db = Database(pg_url, migrate=False)
    try:
        with db.transaction() as session:
            assert references.install(session.connection()) is False  # already there: nothing done
    finally:
        db.dispose()


def test_a_batch_naming_a_bin_that_does_not_exist_is_refused_whole(upstream):
    rows = [receipt(f"00000000-0000-0000-0000-{n:012d}") for n in range(50)] + [receipt("bad-bin", bin_id=99)]
    with pytest.raises(errors.ForeignKeyViolation, match="movement bad-bin names to_bin_id 99 \\(no such row in bins\\)"):
        copy(upstream, rows)
    upstream.rollback()
    assert movements(upstream) == 0


@pytest.mark.parametrize("column, value, table", [("item_id", 7, "items"), ("owner_id", 5, "owners"), ("lot_id", 3, "lots"),
                                                   ("from_container_id", 4, "containers"), ("operator_id", 9, "operators")])
def test_every_reference_is_checked_on_insert_and_update(upstream, column, value, table):
    copy(upstream, [receipt("good")])
    upstream.commit()
    with pytest.raises(errors.ForeignKeyViolation, match=f"names {column} {value} \\(no such row in {table}\\)"):
        upstream.execute(f"UPDATE movements SET {column} = %s WHERE uuid = 'good'", (value,))
    upstream.rollback()
    row = dict(zip(COLUMNS.split(", "), receipt("other"))) | {column: value}
    with pytest.raises(errors.ForeignKeyViolation, match=f"movement other names {column} {value}"):
        upstream.execute(f"INSERT INTO movements ({', '.join(row)}) VALUES ({', '.join(['%s'] * len(row))})", list(row.values()))
    upstream.rollback()
    assert movements(upstream) == 1


def test_a_bin_or_item_a_movement_names_cannot_be_deleted_or_renumbered(upstream):
    copy(upstream, [receipt("m1", item=1, bin_id=1)])
    upstream.commit()
    with pytest.raises(errors.ForeignKeyViolation, match="movement m1 still names bins 1"):
        upstream.execute("DELETE FROM bins WHERE id IN (1, 3)")
    upstream.rollback()
    with pytest.raises(errors.ForeignKeyViolation, match="movement m1 still names items 1"):
        upstream.execute("UPDATE items SET id = 10 WHERE id = 1")
    upstream.rollback()
    upstream.execute("DELETE FROM bins WHERE id = 3")  # named by nothing
    upstream.execute("UPDATE bins SET blocked = true WHERE id = 1")  # not its key
    upstream.execute("DELETE FROM items WHERE id = 2")
    upstream.commit()
    assert upstream.execute("SELECT id FROM bins ORDER BY id").fetchall() == [(1,), (2,)]


def test_a_delete_racing_a_push_waits_for_it_and_then_fails(upstream, pg_url):
    copy(upstream, [receipt("racing", bin_id=2)])  # not committed: bin 2 is locked FOR KEY SHARE
    other = psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://"))
    try:
        other.execute("SET lock_timeout = '200ms'")
        with pytest.raises(errors.LockNotAvailable):
            other.execute("DELETE FROM bins WHERE id = 2")  # waits on the push rather than slipping past its check
        other.rollback()
        upstream.commit()
        with pytest.raises(errors.ForeignKeyViolation, match="movement racing still names bins 2"):
            other.execute("DELETE FROM bins WHERE id = 2")
        other.rollback()
    finally:
        other.close()
    assert movements(upstream) == 1
