"""Workflows as state machines: states are prompts, transitions are accepted scans.

A workflow knows nothing of Textual. The screen shows `prompt`, `lines` and the
last `Outcome`, and hands every scan or typed line to `submit`. Replay scripts,
tests and the TUI all drive the same machines.

Every submission is resolved against what the current prompt expects (DESIGN §4
rule 2), then dispatched to the handler named after the state, `on_<state>`.
A `WarehouseError` anywhere becomes a refusal: the state does not move and the
database is unchanged (each handler writes in one transaction at most).

A state where a scan may record something (`scan_writes`) resolves and handles
the scan in one write transaction (`reading()` and `writing()` hand it out),
committed — durable — before `submit` returns the outcome; a refused scan rolls
it back whole, and a scan that fails for any other reason leaves the workflow
as it was before the scan.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from drivers.base import RawScan
from warehouse_tui.config import Settings
from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import Operator
from warehouse_tui.errors import WarehouseError
from warehouse_tui.scan.resolver import Scan, ScanKind, resolve
from warehouse_tui.services.catalog import SqlCatalog
from warehouse_tui.services.ledger import Actor

log = logging.getLogger(__name__)

# Commands the app routes itself (navigation); everything else goes to the workflow.
NAVIGATION = {"HOME", "LOGOUT", "RECEIVE", "PUTAWAY", "PICK", "PACK", "COUNT", "MOVE", "INQUIRY", "SUPERVISOR", "SYNC",
              "REPLEN"}


@dataclass(frozen=True)
class Prompt:
    """What the operator is asked now; the biggest thing on screen."""

    text: str
    expects: frozenset[ScanKind]
    # Commands accepted here besides @CANCEL/@HOME/@LOGOUT, shown with their keys.
    commands: tuple[str, ...] = ()
    secret: bool = False  # PIN entry: the screen masks what is typed
    accepts_empty: bool = False  # Enter alone means something here (e.g. "all"); see `is_enter_alone`


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str
    # The app acts on these: e.g. login done, go home, log out.
    navigate: str | None = None


@dataclass
class Terminal:
    """One terminal's session: its database, settings, name and the operator logged in."""

    db: Database
    settings: Settings
    name: str
    operator: Operator | None = None
    scanner_state: str = "none"
    # Set when the terminal syncs: claims a pick list or count task on the upstream
    # first (sync.worker.SyncWorker.claim); raises NotAllowed when another holds it.
    upstream_claim: Callable[..., str] | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.operator, self.name)

    def claim_upstream(self, kind: str, key: str, *, take_over: bool = False) -> None:
        """Online, a document another terminal took upstream is refused before any work starts."""
        if self.upstream_claim is not None and self.operator is not None:
            self.upstream_claim(kind, key, self.operator.badge, take_over=take_over)


def kinds(*names: ScanKind) -> frozenset[ScanKind]:
    return frozenset(names)


def is_enter_alone(raw: RawScan) -> bool:
    """Whether an empty submission is the Enter key pressed on an empty entry line.

    A scanner's symbol with no data — only an AIM identifier (`]C1`, `]E0`), or an
    empty frame from a device — is not: it is refused as an empty scan. At "Qty
    found" or a putaway's qty, Enter alone books "none found" or "all", so a
    misread label must never pass for it. Scanners name themselves in `source`
    (their URL, `sim://` …; a keyboard-wedge burst is "wedge").
    """
    return raw.text == "" and raw.symbology is None and "://" not in raw.source and raw.source != "wedge"


@dataclass
class Workflow:
    """Base of every workflow. Subclasses set `title`, `initial` and write `on_<state>` handlers."""

    terminal: Terminal
    state: str = ""
    outcome: Outcome | None = None
    title: str = field(default="", init=False)
    # The write transaction of the scan being handled, in states where `scan_writes()`.
    session: Session | None = field(default=None, init=False, repr=False, compare=False)

    initial = ""

    def __post_init__(self) -> None:
        if not self.state:
            self.state = self.initial

    # ------------------------------------------------------------------ what the screen shows
    @property
    def prompt(self) -> Prompt:
        raise NotImplementedError

    def lines(self) -> list[str]:
        """Context under the prompt: document, item, quantities so far."""
        return []

    # ------------------------------------------------------------------ input
    def scan_writes(self) -> bool:
        """Whether a scan at the current state may record something (then it runs in one write transaction)."""
        return False

    def submit(self, raw: RawScan) -> Outcome:
        """Handle one scan or typed line; the outcome is also kept as `self.outcome`.

        A scan that cannot get the database's write lock within its budget (SQLite's
        busy_timeout: another writer holds it) is refused as "Database busy": nothing
        of it was recorded and the workflow is put back as it was before the scan.
        """
        writes = self.scan_writes()
        before = self._save()
        try:
            outcome = self._handle_writing(raw) if writes else self._handle(raw)
        except Exception as exc:
            if database_busy(exc):
                self._restore(before)
                outcome = Outcome(False, DATABASE_BUSY)
            else:
                if writes:  # not recorded (a bug, a failed commit): the scan did not happen
                    self._restore(before)
                raise
        except BaseException:
            if writes:
                self._restore(before)
            raise
        self.outcome = outcome
        return outcome

    def _handle_writing(self, raw: RawScan) -> Outcome:
        """`_handle` inside one write transaction, committed (durable) when the scan is taken, rolled back when refused."""
        try:
            with self.terminal.db.transaction() as session:
                # The session holds what it loads only weakly: the item the resolver found would be
                # read again by the service. Held here for the scan (SQLAlchemy's strong-reference recipe).
                loaded: list = []
                event.listen(session, "loaded_as_persistent", lambda _session, instance: loaded.append(instance))
                self.session = session
                outcome = self._handle(raw)
                if not outcome.ok:
                    raise _Refused(outcome)  # nothing a refused scan did is kept
        except _Refused as refused:
            outcome = refused.outcome
        finally:
            self.session = None
        return outcome

    def _handle(self, raw: RawScan) -> Outcome:
        prompt = self.prompt
        try:
            if prompt.accepts_empty and is_enter_alone(raw):
                return getattr(self, f"on_{self.state}")(None)
            scan = self.resolve(raw, prompt.expects)
            if scan.kind == ScanKind.COMMAND:
                return self.command(scan.command)
            return getattr(self, f"on_{self.state}")(scan)
        except WarehouseError as exc:
            return Outcome(False, str(exc))

    def _save(self) -> dict:
        """What `_restore` needs to put the workflow back as it was before a scan.

        Mutable parts are copied one level deep: a handler that fills in the line in
        hand (`self.goods.qty = …`) before its transaction fails is undone too.
        """
        return {name: value if name in _SHARED else _copied(value) for name, value in vars(self).items()}

    def _restore(self, saved: dict) -> None:
        vars(self).update(saved)

    def resolve(self, raw: RawScan, expects: Iterable[ScanKind]) -> Scan:
        with self.reading() as session:
            return resolve(raw, frozenset(expects), SqlCatalog(session))

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        """The scan's transaction when it has one, else a read of its own."""
        if self.session is not None:
            yield self.session
        else:
            with self.terminal.db.reading() as session:
                yield session

    @contextlib.contextmanager
    def writing(self) -> Iterator[Session]:
        """The scan's transaction when it has one (committed when the scan is done), else a transaction of its own."""
        if self.session is not None:
            yield self.session
        else:
            with self.terminal.db.transaction() as session:
                yield session

    def command(self, name: str) -> Outcome:
        if name in NAVIGATION:
            return Outcome(True, "", navigate=name)
        if name == "CANCEL":
            return self.cancel()
        handler = getattr(self, f"cmd_{name.lower()}", None)
        if handler is None or name not in self.prompt.commands:
            return Outcome(False, f"@{name} is not possible here")
        return handler()

    def cancel(self) -> Outcome:
        """Abandon the current step: back to the first prompt of the current line."""
        self.state = self.initial
        return Outcome(True, "Cancelled")


DATABASE_BUSY = "Database busy — scan again"
_SHARED = frozenset({"terminal", "session"})  # the terminal and the scan's transaction are never copied
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


def database_busy(exc: BaseException) -> bool:
    """Whether the error is SQLite's "database is locked": the write lock was not free within busy_timeout.

    Looks along the chain of causes: a service may have wrapped it.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OperationalError):
            code = getattr(seen.orig, "sqlite_errorcode", None)
            if code is not None and code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED):
                return True
            if "database is locked" in str(seen.orig):
                return True
        seen = seen.__cause__ or seen.__context__
    return False


def _copied(value: object) -> object:
    if isinstance(value, (list, dict, set)):
        return copy.copy(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return copy.copy(value)
    return value


class _Refused(Exception):
    """Unwinds a scan's transaction when the scan was refused."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome
