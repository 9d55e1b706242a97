"""What an import reports: its limits, the result, the refusal with its row errors, the progress bar."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from warehouse_tui.errors import InvalidInput

# Bad rows listed in a report; the count of the rest is always given.
MAX_REPORTED = 50
OPENING_DOC_REF = "OPENING"
# Rows checked per round of set-based lookups, and opening-stock movements booked per BatchLedger.book:
# large enough that statements are few, small enough that a million-row file stays in memory budget.
CHECK_CHUNK = 10_000
WRITE_CHUNK = 20_000
# The page cache an import's connection gets on SQLite (see run._page_cache).
PAGE_CACHE_KIB = 64 * 1024
# Files with fewer rows finish before a progress bar would tell anyone anything.
PROGRESS_MIN_ROWS = 10_000

# on_progress(step, done, total): step is "checking" or "writing"; total is estimated while checking.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class RowError:
    """One problem in a file: the line it is on (None for the whole file) and what is wrong."""

    line: int | None
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line is not None else self.message


class ImportFailed(InvalidInput):
    """A file that was not imported at all; `errors` lists the problems (up to MAX_REPORTED), `total` counts them all."""

    def __init__(self, source: str, errors: list[RowError], total: int | None = None) -> None:
        self.source = source
        self.errors = list(errors)
        self.total = total if total is not None else len(self.errors)
        super().__init__(self.report())

    def report(self) -> str:
        count = f"{self.total} error{'s' if self.total != 1 else ''}"
        lines = [f"{self.source}: nothing imported — {count}:"]
        lines += [f"  {error}" for error in self.errors]
        if self.total > len(self.errors):
            lines.append(f"  … and {self.total - len(self.errors)} more")
        return "\n".join(lines)


@dataclass(frozen=True)
class ImportResult:
    """What a successful import did; str() is the sentence for the operator."""

    kind: str
    rows: int
    created: int = 0
    updated: int = 0
    message: str = ""
    checking_s: float = 0.0  # reading and checking the file (a read transaction: no write lock)
    writing_s: float = 0.0  # the write transaction: how long the write lock was held

    def __str__(self) -> str:
        return self.message


class Problems:
    def __init__(self) -> None:
        self.shown: list[RowError] = []
        self.total = 0

    def add(self, line: int | None, message: str) -> None:
        self.total += 1
        if len(self.shown) < MAX_REPORTED:
            self.shown.append(RowError(line, message))

    def add_sorted(self, found: list[tuple[int, str]]) -> None:
        """A chunk's row errors (at most one per row), in file order."""
        for line, message in sorted(found):
            self.add(line, message)

    def __bool__(self) -> bool:
        return self.total > 0


def changed_meanwhile(source: str, what: list[str]) -> ImportFailed:
    """The refusal when another terminal changed what the check relied on."""
    named = ", ".join(what[:5]) + (f" and {len(what) - 5} more" if len(what) > 5 else "")
    return ImportFailed(source, [RowError(None, f"{named} changed in the database while the file was being checked "
                                                "(another terminal or import) — import the file again")])


class ImportProgress:
    """A progress bar for files of PROGRESS_MIN_ROWS rows and more, drawn in place on `stream`.

    The command line hands one to the import only when stderr is a terminal: logs, pipes and the
    CSV/JSON a command prints never see it.
    """

    WIDTH = 30

    def __init__(self, stream: TextIO, source: str) -> None:
        self.stream = stream
        self.source = source
        self.open = False  # a bar is drawn and its line not ended

    def __call__(self, step: str, done: int, total: int) -> None:
        total = max(total, done)
        if total < PROGRESS_MIN_ROWS:
            return
        filled = self.WIDTH * done // total if total else self.WIDTH
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.open = done < total
        print(f"\r{self.source}: {step:<8} [{bar}] {done:,}/{total:,} rows", end="" if self.open else "\n", file=self.stream, flush=True)

    def close(self) -> None:
        """End a bar's line the import left unfinished (it was refused), so what is printed next starts a line."""
        if self.open:
            print(file=self.stream, flush=True)
            self.open = False


def plural(n: int) -> str:
    return "" if n == 1 else "s"
