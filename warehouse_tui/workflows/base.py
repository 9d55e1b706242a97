"""Workflows as state machines: states are prompts, transitions are accepted scans.

A workflow knows nothing of Textual, nor of SQL: it holds prompts, state and
what to show, and calls services for every rule and every read or write. The
screen shows `prompt`, `lines` and the last `Outcome`, and hands every scan or
typed line to `submit`. Replay scripts, tests and the TUI all drive the same
machines.

Each workflow names its states in an enum and its transitions in a table
(`machine.Machine`); `go` moves between states and refuses a move the table
does not declare. Every submission is resolved against what the current
prompt expects (DESIGN §4 rule 2), then dispatched to the handler named after
the state, `on_<state>`.

A refusal (a `WarehouseError` anywhere) leaves the workflow exactly as it was
before the scan, and the database unchanged. The few refusals that do move on
(a wrong PIN starts the login again, an over-receipt asks for a supervisor, a
document held on another terminal asks whether to take it over) are handlers
that return a refused `Outcome` after a declared transition.

A state where a scan may record something (`scan_writes`) resolves and handles
the scan in one unit of work (`services.unit_of_work`): one write transaction,
committed — durable — before `submit` returns the outcome, rolled back whole
when the scan is refused; a scan that fails for any other reason leaves the
workflow as it was before the scan.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import enum
import logging
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from drivers.base import RawScan
from warehouse_tui.errors import WarehouseError
from warehouse_tui.scan.resolver import Scan, ScanKind, parse_qty, resolve, visible
from warehouse_tui.services.catalog import SqlCatalog
from warehouse_tui.services.terminal import Terminal
from warehouse_tui.services.unit_of_work import DATABASE_BUSY, Rollback, UnitOfWork, database_busy
from warehouse_tui.workflows.machine import Machine, UndeclaredTransition

__all__ = ["DATABASE_BUSY", "NAVIGATION", "Outcome", "Prompt", "Terminal", "Workflow", "client_lines", "database_busy", "fit", "is_enter_alone",
           "kinds"]

log = logging.getLogger(__name__)

# Commands the app routes itself (navigation); everything else goes to the workflow.
NAVIGATION = {"HOME", "LOGOUT", "RECEIVE", "PUTAWAY", "PICK", "PACK", "COUNT", "MOVE", "INQUIRY", "SUPERVISOR", "SYNC",
              "RETURN", "REPLEN"}
NAVIGATION |= {"FLOOR"}


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


def kinds(*names: ScanKind) -> frozenset[ScanKind]:
    return frozenset(names)


def quantity_found(scan: Scan | None) -> int:
    """What an operator found at a short: Enter alone or 0 is none, else a positive whole number (refused otherwise)."""
    if scan is None:
        return 0
    if scan.kind == ScanKind.QTY:
        return scan.qty
    return 0 if scan.value == "0" else parse_qty(scan.value)


LINE_WIDTH = 38  # a context line fits a 40-column handheld


def _cells(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def fit(text: str, width: int = LINE_WIDTH) -> str:
    """Text as the floor shows it (`visible`), cut with … to at most `width` cells."""
    text = visible(text)
    if sum(_cells(ch) for ch in text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        used += _cells(ch)
        if used > width - 1:
            break
        out.append(ch)
    return "".join(out) + "…"


def client_lines(client: str) -> list[str]:
    """The line naming the client whose goods are in hand, or none when no client is named.

    A line of its own, so it never crowds the quantity or the item: the client's code
    (master data: any text) made visible and cut with … to fit a 40-column handheld.
    """
    return [fit("Client " + client)] if client else []


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
    """Base of every workflow. Subclasses set `title`, `initial`, `machine`, `write_states` and write `on_<state>` handlers."""

    terminal: Terminal
    state: Any = ""
    outcome: Outcome | None = None
    title: str = field(default="", init=False)
    uow: UnitOfWork = field(init=False, repr=False, compare=False)

    initial: ClassVar[Any] = ""
    machine: ClassVar[Machine | None] = None
    # States where a scan may record something: each such scan is one unit of work.
    write_states: ClassVar[frozenset] = frozenset()

    def __post_init__(self) -> None:
        self.uow = UnitOfWork(self.terminal.db)
        if not self.state:
            self.state = self.initial

    # ------------------------------------------------------------------ states
    def go(self, state: enum.Enum) -> None:
        """Move to `state`; a move the transition table does not declare is a bug."""
        if self.machine is not None and state != self.state and not self.machine.allows(self.state, state):
            raise UndeclaredTransition(f"{type(self).__name__}: {self.state} -> {state} is not in the transition table")
        self.state = state

    # ------------------------------------------------------------------ what the screen shows
    @property
    def prompt(self) -> Prompt:
        raise NotImplementedError

    def lines(self) -> list[str]:
        """Context under the prompt: document, item, quantities so far."""
        return []

    def client_in_hand(self, ask: Callable[[Any], str]) -> list[str]:
        """The client line (`client_lines`) of the goods in hand, as the service `ask(session)` names their client.

        Asked afresh each time the screen is drawn (a read of two small indexed queries), so the
        workflow holds no copy that a sync or a refused scan could leave stale.
        """
        with self.reading() as session:
            return client_lines(ask(session))

    # ------------------------------------------------------------------ input
    def scan_writes(self) -> bool:
        """Whether a scan at the current state may record something (then it runs in one write transaction)."""
        return self.state in self.write_states

    def submit(self, raw: RawScan) -> Outcome:
        """Handle one scan or typed line; the outcome is also kept as `self.outcome`.

        A scan that cannot get the database's write lock within its budget (SQLite's
        busy_timeout: another writer holds it) is refused as "Database busy": nothing
        of it was recorded and the workflow is put back as it was before the scan.
        """
        writes = self.scan_writes()
        before = self._save()
        try:
            outcome = self._handle_writing(raw, before) if writes else self._handle(raw, before)
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

    def _handle_writing(self, raw: RawScan, before: dict) -> Outcome:
        """`_handle` inside the scan's unit of work, committed (durable) when the scan is taken, rolled back when refused."""
        outcome = Outcome(False, "")
        with self.uow.scan():
            outcome = self._handle(raw, before)
            if not outcome.ok:
                raise Rollback  # nothing a refused scan did is kept
        return outcome

    def _handle(self, raw: RawScan, before: dict) -> Outcome:
        prompt = self.prompt
        try:
            if prompt.accepts_empty and is_enter_alone(raw):
                return getattr(self, f"on_{self.state}")(None)
            scan = self.resolve(raw, prompt.expects)
            if scan.kind == ScanKind.COMMAND:
                return self.command(scan.command)
            return getattr(self, f"on_{self.state}")(scan)
        except WarehouseError as exc:
            self._restore(before)  # refused: the workflow is as it was before the scan
            return Outcome(False, str(exc))

    def _save(self) -> dict:
        """What `_restore` needs to put the workflow back as it was before a scan.

        The scan works on copies of the mutable parts (one level deep) and the
        originals are kept: a handler that fills in the line in hand
        (`self.goods.qty = …`) before it is refused leaves the original untouched.
        """
        saved = dict(vars(self))
        for name, value in saved.items():
            if name not in _SHARED:
                setattr(self, name, _copied(value))
        return saved

    def _restore(self, saved: dict) -> None:
        vars(self).update(saved)

    def resolve(self, raw: RawScan, expects: Iterable[ScanKind]) -> Scan:
        with self.reading() as session:
            return resolve(raw, frozenset(expects), SqlCatalog(session), label_ais=self.label_ais())

    def label_ais(self) -> frozenset[str]:
        """GS1 AIs another barcode of the same label already gave for the unit in hand (the resolver counts
        them towards GS1's mandatory associations, as the General Specifications apply them to the whole
        label): {"00"} where the workflow has taken the pallet's SSCC or LPN for the current line."""
        return frozenset()

    @contextlib.contextmanager
    def reading(self) -> Iterator[Any]:
        """The scan's transaction when it has one, else a read of its own."""
        with self.uow.reading() as session:
            yield session

    @contextlib.contextmanager
    def writing(self) -> Iterator[Any]:
        """The scan's transaction when it has one (committed when the scan is done), else a transaction of its own."""
        with self.uow.writing() as session:
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
        self.go(self.initial)
        return Outcome(True, "Cancelled")


_SHARED = frozenset({"terminal", "uow"})  # the terminal and its unit of work are never copied


def _copied(value: object) -> object:
    if isinstance(value, (list, dict, set)):
        return copy.copy(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return copy.copy(value)
    return value
