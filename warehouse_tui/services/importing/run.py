"""Running one import: parse, check chunk by chunk in a read transaction, then write in one write transaction."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from itertools import islice
from pathlib import Path

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from warehouse_tui.db.engine import Database
from warehouse_tui.errors import InvalidInput
from warehouse_tui.services.importing.bins import BinsImport
from warehouse_tui.services.importing.csv_file import decode, parse
from warehouse_tui.services.importing.documents import InboundImport, OrdersImport
from warehouse_tui.services.importing.importer import Importer
from warehouse_tui.services.importing.items import ItemsImport
from warehouse_tui.services.importing.pickfaces import PickFacesImport
from warehouse_tui.services.importing.results import (
    CHECK_CHUNK,
    PAGE_CACHE_KIB,
    ImportFailed,
    ImportResult,
    Problems,
    Progress,
    RowError,
)
from warehouse_tui.services.importing.returns import ReturnsImport
from warehouse_tui.services.importing.stock import StockImport
from warehouse_tui.services.importing.users import UsersImport
from warehouse_tui.services.ledger import Actor

IMPORTERS: dict[str, type[Importer]] = {
    cls.kind: cls for cls in (ItemsImport, BinsImport, UsersImport, InboundImport, OrdersImport, StockImport, ReturnsImport,
                              PickFacesImport)}


def import_file(db: Database, kind: str, path: str | Path, actor: Actor, *, on_progress: Progress | None = None,
                any_carriers: Iterable[str] = ()) -> ImportResult:
    """Import one CSV file of `kind`, whole or not at all; raises ImportFailed (nothing imported) on any bad row.

    `any_carriers`: the site's own couriers an order's carrier may name beside the carriers of services/carriers.py.
    """
    path = Path(path)
    # (no local name for the bytes: import_bytes lets a large file's text go once it is checked)
    return import_bytes(db, kind, _read(path), actor, source=path.name, on_progress=on_progress, any_carriers=any_carriers)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ImportFailed(str(path), [RowError(None, f"cannot read the file: {exc.strerror or exc}")]) from None


def import_bytes(db: Database, kind: str, data: bytes, actor: Actor, *, source: str = "<input>",
                 on_progress: Progress | None = None, any_carriers: Iterable[str] = ()) -> ImportResult:
    """Import CSV content given as bytes; the same rules as `import_file`."""
    if kind not in IMPORTERS:
        raise InvalidInput(f"cannot import {kind!r}: the kinds are {', '.join(IMPORTERS)}")
    progress = on_progress or _no_progress
    problems = Problems()
    parsed = parse(decode(data, source), kind, source, problems)
    importer = IMPORTERS[kind](actor, source, parsed.columns, upstream=db.is_upstream)
    if any_carriers:
        importer.any_carriers = tuple(any_carriers)
    started = time.perf_counter()
    with db.reading() as session, _page_cache(session):
        importer.begin(session)
        while rows := list(islice(parsed.rows, CHECK_CHUNK)):
            importer.check(session, rows, problems)
            progress("checking", parsed.data_rows, max(parsed.estimate, parsed.data_rows))
    del data, rows
    parsed.rows = iter(())  # the file's text is not needed any more: a large one gives its memory back to the write
    progress("checking", parsed.data_rows, parsed.data_rows)
    if problems:
        raise ImportFailed(source, problems.shown, problems.total)
    if parsed.data_rows == 0:
        return ImportResult(kind, 0, message=f"Nothing imported: {source} has a header but no rows")
    importer.prepare()
    checked = time.perf_counter()
    try:
        with db.transaction() as session, _page_cache(session):
            importer.write(session, progress)
    except OperationalError as exc:
        if "locked" not in str(exc.orig) and "busy" not in str(exc.orig):
            raise
        raise ImportFailed(source, [RowError(None, "the database stayed busy with another terminal's write — nothing imported; "
                                                   "import the file again")]) from None
    except IntegrityError as exc:
        # A key another terminal took between the check and the write (the check's second look came first).
        reason = str(exc.orig).splitlines()[0]
        raise ImportFailed(source, [RowError(None, f"the database refused the file ({reason}): another terminal changed the same "
                                                   "data while it was being checked — import the file again")]) from None
    written = time.perf_counter()
    return replace(importer.result(), checking_s=checked - started, writing_s=written - checked)


def _no_progress(step: str, done: int, total: int) -> None:
    pass


@contextlib.contextmanager
def _page_cache(session: Session) -> Iterator[None]:
    """On SQLite, a page cache of PAGE_CACHE_KIB for the import's connection, given back afterwards.

    A large file's lookups and index inserts touch pages all over the tables; in the 2 MB a connection
    starts with, the inserts read the same pages from the file again and again.
    """
    if session.bind.dialect.name != "sqlite":
        yield
        return
    raw = session.connection().connection.dbapi_connection  # works whatever state the session ends in
    was = raw.execute("PRAGMA cache_size").fetchone()[0]
    raw.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size = {int(was)}")
