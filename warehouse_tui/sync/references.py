"""Upstream (PostgreSQL): a movement's references checked once per statement, not once per row.

PostgreSQL checks a foreign key with one query per inserted row; for a pushed batch
of movements (eight references each) that was two thirds of the insert (measured:
COPY of 5,000 movements 103 ms with the row checks, 36 ms without). `install`, run
by `upstream init` (idempotent), replaces the movements' row-by-row foreign keys
with the same rules checked set-based, so nothing the foreign keys refused gets in:

- inserting or updating movements: after each statement, the rows it referenced
  are locked FOR KEY SHARE (as the row checks lock them: a concurrent delete of a
  bin waits for the push and then fails) and every new row's references must
  exist, or the statement fails with foreign_key_violation (SQLSTATE 23503,
  IntegrityError as before), naming the movement and the missing reference;
- deleting a referenced row (a bin, item, lot, container, owner, operator) that a
  movement names, or changing its id, fails the same way, as the foreign key's
  NO ACTION did.

The movements' foreign keys in the models and migrations stay as they are (a
terminal's SQLite keeps them); only the upstream's are swapped, and `install`
puts them back first if a migration recreated them.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from warehouse_tui.db.models import Movement

PREFIX = "wt_movement_refs"


def _references() -> list[tuple[str, str, str]]:
    """(movement column, referenced table, referenced column) for each of the movements' foreign keys, in column order."""
    found = [(fk.parent.name, fk.column.table.name, fk.column.name) for fk in Movement.__table__.foreign_keys]
    return sorted(found)


def _check_function() -> str:
    """One pass over the statement's rows gathers each column's distinct ids; each referenced table's are then locked
    FOR KEY SHARE (ascending, so two writers never deadlock) and must all be found. Only the first query reads the
    statement's rows (planned afresh each time); the lookups have cached plans, so a one-row insert pays little.
    Only when an id is missing does a last query name the first culprit."""
    refs = _references()
    tables = sorted({t for _, t, _ in refs})
    columns = [c for c, _, _ in refs]
    declared = "\n".join(f"  a_{c} bigint[];" for c in columns) + "\n" + "\n".join(f"  ids_{t} bigint[];" for t in tables)
    gather = ", ".join(f"array_agg(DISTINCT {c}) FILTER (WHERE {c} IS NOT NULL)" for c in columns)
    lookups = []
    for table in tables:
        key = next(k for _, t, k in refs if t == table)
        mine = [c for c, t, _ in refs if t == table]
        if len(mine) == 1:
            merged = f"  ids_{table} := a_{mine[0]};"
        else:  # both sides only when both are there (a move): a receipt's or a pick's one side needs no query
            first, second = mine
            merged = (f"  IF a_{first} IS NULL THEN ids_{table} := a_{second}; ELSIF a_{second} IS NULL THEN ids_{table} := a_{first};\n"
                      f"  ELSE ids_{table} := ARRAY(SELECT DISTINCT unnest(a_{first} || a_{second})); END IF;")
        lookups.append(f"""{merged}
  IF cardinality(ids_{table}) > 0 THEN
    PERFORM 1 FROM {table} WHERE {key} = ANY(ids_{table}) ORDER BY {key} FOR KEY SHARE;
    GET DIAGNOSTICS found = ROW_COUNT;
    whole := whole AND found = cardinality(ids_{table});
  END IF;""")
    missing = " OR ".join(f"(m.{c} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {t} WHERE {t}.{k} = m.{c}))" for c, t, k in refs)
    which = " ".join(f"WHEN m.{c} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {t} WHERE {t}.{k} = m.{c}) "
                     f"THEN '{c} ' || m.{c} || ' (no such row in {t})'" for c, t, k in refs)
    return f"""
CREATE OR REPLACE FUNCTION {PREFIX}_exist() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
{declared}
  found bigint;
  whole boolean := true;
  bad text;
BEGIN
  SELECT {gather} INTO {", ".join(f"a_{c}" for c in columns)} FROM new_movements;
{chr(10).join(lookups)}
  IF whole THEN
    RETURN NULL;
  END IF;
  SELECT 'movement ' || m.uuid || ' names ' || CASE {which} END INTO bad
    FROM new_movements m WHERE {missing} LIMIT 1;
  RAISE foreign_key_violation USING MESSAGE = coalesce(bad, 'a movement names a row that is gone') || ' — nothing was written',
    TABLE = 'movements';
END $$"""


def _guard_functions(table: str) -> list[str]:
    """Deleting rows of `table` that a movement names, or changing their id, fails as the foreign key's NO ACTION did.

    Deletes are checked once per statement, one index seek per movement column and deleted row; an id change
    (never done by the app) row by row, its WHEN clause costing the other updates nothing.
    """
    refs = [(c, k) for c, t, k in _references() if t == table]
    key = refs[0][1]
    named = " UNION ALL ".join(f"SELECT m.uuid, o.{key} FROM old_rows o JOIN movements m ON m.{c} = o.{k}" for c, k in refs)
    raised = f"RAISE foreign_key_violation USING MESSAGE = bad || ' — nothing was changed', TABLE = '{table}';"
    deleted = f"""
CREATE OR REPLACE FUNCTION {PREFIX}_{table}_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  bad text;
BEGIN
  SELECT 'movement ' || r.uuid || ' still names {table} ' || r.{key} INTO bad FROM ({named}) AS r(uuid, {key}) LIMIT 1;
  IF bad IS NOT NULL THEN
    {raised}
  END IF;
  RETURN NULL;
END $$"""
    exists = " OR ".join(f"m.{c} = OLD.{k}" for c, k in refs)
    renumbered = f"""
CREATE OR REPLACE FUNCTION {PREFIX}_{table}_renumbered() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  bad text;
BEGIN
  SELECT 'movement ' || m.uuid || ' still names {table} ' || OLD.{key} INTO bad FROM movements m WHERE {exists} LIMIT 1;
  IF bad IS NOT NULL THEN
    {raised}
  END IF;
  RETURN NULL;
END $$"""
    return [deleted, renumbered]


def install(conn: Connection) -> bool:
    """Swap the upstream movements' row-by-row foreign keys for the set-based checks (PostgreSQL only; idempotent).

    The check functions are replaced every time (a newer version's take effect); returns whether a trigger
    or a foreign key changed. Runs in the caller's transaction: the checks are in place before the keys go.
    """
    if conn.dialect.name != "postgresql":
        return False
    foreign_keys = conn.execute(text(
        "SELECT conname FROM pg_constraint WHERE conrelid = 'movements'::regclass AND contype = 'f' ORDER BY conname")).scalars().all()
    present = set(conn.execute(text(
        "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE :p"), {"p": f"{PREFIX}%"}).scalars().all())
    triggers = {f"{PREFIX}_{event}": f"AFTER {event.upper()} ON movements REFERENCING NEW TABLE AS new_movements "
                                     f"FOR EACH STATEMENT EXECUTE FUNCTION {PREFIX}_exist()" for event in ("insert", "update")}
    conn.execute(text(_check_function()))
    for table in sorted({t for _, t, _ in _references()}):
        key = next(k for _, t, k in _references() if t == table)
        for function in _guard_functions(table):
            conn.execute(text(function))
        triggers[f"{PREFIX}_{table}_delete"] = (f"AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows "
                                                f"FOR EACH STATEMENT EXECUTE FUNCTION {PREFIX}_{table}_deleted()")
        triggers[f"{PREFIX}_{table}_update"] = (f"AFTER UPDATE OF {key} ON {table} FOR EACH ROW "
                                                f"WHEN (OLD.{key} IS DISTINCT FROM NEW.{key}) EXECUTE FUNCTION {PREFIX}_{table}_renumbered()")
    for name, definition in triggers.items():
        if name not in present:
            conn.execute(text(f"CREATE TRIGGER {name} {definition}"))
    for name in foreign_keys:
        conn.execute(text(f'ALTER TABLE movements DROP CONSTRAINT "{name}"'))
    return bool(foreign_keys) or not present >= set(triggers)
