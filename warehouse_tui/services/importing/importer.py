"""One kind of file: the check in the read transaction, the write in the write transaction."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from warehouse_tui.services.importing.csv_file import Row
from warehouse_tui.services.importing.results import ImportResult, Problems, Progress
from warehouse_tui.services.ledger import Actor


class Importer:
    """One kind of file.

    `check` checks a chunk of rows in the read transaction and remembers what the write needs;
    `prepare` runs between the transactions; `write` checks again what may have changed meanwhile
    (raising ImportFailed) and writes, in the write transaction; `result` sums up.
    """

    kind = ""

    def __init__(self, actor: Actor, source: str, columns: tuple[str, ...], *, upstream: bool) -> None:
        self.actor = actor
        self.source = source
        self.columns = columns
        self.upstream = upstream
        self.postgres = False
        self.rows = 0
        self.created = 0
        self.updated = 0

    def begin(self, session: Session) -> None:
        """The read transaction's first statement: on PostgreSQL, one snapshot for the whole check."""
        self.postgres = session.bind.dialect.name == "postgresql"
        if self.postgres:
            session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))

    def check(self, session: Session, rows: list[Row], problems: Problems) -> None:
        raise NotImplementedError

    def prepare(self) -> None:
        """Work done between the transactions (default: none)."""

    def write(self, session: Session, progress: Progress) -> None:
        raise NotImplementedError

    def result(self) -> ImportResult:
        raise NotImplementedError
