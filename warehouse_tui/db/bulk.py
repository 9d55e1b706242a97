"""Set-based SQL for batches of thousands of rows: IN lists and key tables as one parameter, COPY and numbered inserts.

Used by the batch ledger (services/batch_ledger.py) and the CSV import
(services/importing.py); nothing here knows a business rule.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Iterable, Sequence

from sqlalchemy import ARRAY, JSON, Connection, and_, any_, bindparam, func, insert, select, text
from sqlalchemy.sql.expression import ColumnElement, FromClause

CHUNK = 2000


def chunks(values: Iterable) -> list[list]:
    """Values in lists of CHUNK: one statement each."""
    values = list(values)
    return [values[i:i + CHUNK] for i in range(0, len(values), CHUNK)]


def where_in(column, values: Iterable, postgres: bool) -> ColumnElement[bool]:
    """column IN values, as one parameter: `= ANY(array)` on PostgreSQL, a JSON array read by json_each on SQLite.

    (SQLAlchemy compiles a list of thousands of bound values afresh for each chunk, which cost more than
    the lookup itself; one parameter keeps the statement cached.)
    """
    values = list(values)
    if postgres:
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    each = func.json_each(json.dumps(values)).table_valued("value")
    return column.in_(select(each.c.value))


def key_table(columns: Sequence, keys: Iterable[tuple], postgres: bool) -> tuple[FromClause, ColumnElement[bool]]:
    """Keys of several columns (item id + lot code, item id + serial …) as a table to join on, with the join condition.

    One statement per chunk that seeks the columns' index once per key: `unnest` of one array per column on
    PostgreSQL, a JSON array of arrays read by json_each on SQLite. Keys hold no None (it never equals).
    """
    keys = list(keys)
    if postgres:
        arrays = [bindparam(None, [k[n] for k in keys], type_=ARRAY(c.type)) for n, c in enumerate(columns)]
        table = func.unnest(*arrays).table_valued(*(f"k{n}" for n in range(len(columns)))).render_derived(name="keys")
        return table, and_(*(c == table.c[f"k{n}"] for n, c in enumerate(columns)))
    each = func.json_each(json.dumps([list(k) for k in keys])).table_valued("value")
    return each, and_(*(c == func.json_extract(each.c.value, f"$[{n}]") for n, c in enumerate(columns)))


def insert_many(conn: Connection, table, rows: list[dict]) -> None:
    """Insert many rows (dicts with the same keys) at the speed the database takes them.

    PostgreSQL: COPY, an order of magnitude above executemany (JSON values sent as their text). SQLite:
    straight into the driver's executemany, each value converted once by its column type's own bind
    processor — what SQLAlchemy's executemany does, without its per-row parameter machinery, which costs
    several times the insert. (sync.feed.insert_rows is the same COPY with SQLAlchemy's executemany
    elsewhere.)
    """
    if not rows:
        return
    columns = list(rows[0])
    getter = operator.itemgetter(*columns) if len(columns) > 1 else (lambda row: (row[columns[0]],))
    names = ", ".join(f'"{c}"' for c in columns)
    dialect = conn.dialect
    if dialect.name == "postgresql":
        as_json = [n for n, c in enumerate(columns) if isinstance(table.c[c].type, JSON)]
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    values = getter(row)
                    if as_json:
                        values = list(values)
                        for n in as_json:
                            values[n] = None if values[n] is None else json.dumps(values[n])
                    copy.write_row(values)
        finally:
            cursor.close()
        return
    if dialect.name != "sqlite":
        conn.execute(insert(table), rows)
        return
    values = [getter(row) for row in rows]
    processors = [(n, p) for n, c in enumerate(columns) if (p := table.c[c].type.dialect_impl(dialect).bind_processor(dialect))]
    if processors:
        # Converted a column at a time: a column holding one value throughout (a batch's timestamp, a flag) is
        # converted once, the others in one comprehension each.
        by_column = list(zip(*values))
        for n, process in processors:
            column = by_column[n]
            first = column[0]
            same = len(set(map(id, column))) == 1  # the very same object throughout
            by_column[n] = [process(first)] * len(column) if same else [process(v) for v in column]
        values = list(zip(*by_column))
    conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" * len(columns))})', values)


def taken_ids(conn: Connection, table, n: int) -> list[int]:
    """PostgreSQL: n values of the sequence behind `table`'s primary key, taken now, in order (rows written with them
    need nothing read back). The sequence is looked up once: looked up for every value, it made taking them five
    times dearer."""
    column = table.primary_key.columns[0].name
    return sorted(conn.execute(text(
        f"WITH key_seq AS MATERIALIZED (SELECT CAST(pg_get_serial_sequence('{table.name}', '{column}') AS regclass) AS id) "
        "SELECT nextval(key_seq.id) FROM key_seq, generate_series(1, :n)"), {"n": n}).scalars().all())


def insert_numbered(conn: Connection, table, rows: list[dict]) -> list[int]:
    """insert_many, returning the new rows' primary keys in row order, without reading them back.

    PostgreSQL: taken from the key's sequence first and written with the rows. SQLite: in a write transaction
    (one writer) one statement gives its rows the rowids after the largest, in order — checked, not assumed.
    """
    if not rows:
        return []
    column = table.primary_key.columns[0]
    if conn.dialect.name == "postgresql":
        ids = taken_ids(conn, table, len(rows))
        insert_many(conn, table, [{column.name: key, **row} for key, row in zip(ids, rows)])
        return ids
    largest = select(func.coalesce(func.max(column), 0))
    before = conn.execute(largest).scalar()
    insert_many(conn, table, rows)
    after = conn.execute(largest).scalar()
    if after != before + len(rows):
        raise RuntimeError(f"{len(rows)} rows into {table.name} did not take the keys after {before} (the largest is {after})")
    return list(range(before + 1, after + 1))
