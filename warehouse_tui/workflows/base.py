"""Workflows as state machines: states are prompts, transitions are accepted scans.

A workflow knows nothing of Textual. The screen shows `prompt`, `lines` and the
last `Outcome`, and hands every scan or typed line to `submit`. Replay scripts,
tests and the TUI all drive the same machines.

Every submission is resolved against what the current prompt expects (DESIGN §4
rule 2), then dispatched to the handler named after the state, `on_<state>`.
A `WarehouseError` anywhere becomes a refusal: the state does not move and the
database is unchanged (each handler writes in one transaction at most).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

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
NAVIGATION = {"HOME", "LOGOUT", "RECEIVE", "PUTAWAY", "PICK", "PACK", "COUNT", "MOVE", "INQUIRY", "SUPERVISOR", "SYNC"}


@dataclass(frozen=True)
class Prompt:
    """What the operator is asked now; the biggest thing on screen."""

    text: str
    expects: frozenset[ScanKind]
    # Commands accepted here besides @CANCEL/@HOME/@LOGOUT, shown with their keys.
    commands: tuple[str, ...] = ()
    secret: bool = False  # PIN entry: the screen masks what is typed
    accepts_empty: bool = False  # Enter alone means something here (e.g. "all")


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
    upstream_claim: Callable[[str, str, str], str] | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.operator, self.name)

    def claim_upstream(self, kind: str, key: str) -> None:
        """Online, a document another terminal took upstream is refused before any work starts."""
        if self.upstream_claim is not None and self.operator is not None:
            self.upstream_claim(kind, key, self.operator.badge)


def kinds(*names: ScanKind) -> frozenset[ScanKind]:
    return frozenset(names)


@dataclass
class Workflow:
    """Base of every workflow. Subclasses set `title`, `initial` and write `on_<state>` handlers."""

    terminal: Terminal
    state: str = ""
    outcome: Outcome | None = None
    title: str = field(default="", init=False)

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
    def submit(self, raw: RawScan) -> Outcome:
        prompt = self.prompt
        try:
            if raw.text == "" and prompt.accepts_empty:
                outcome = getattr(self, f"on_{self.state}")(None)
                self.outcome = outcome
                return outcome
            scan = self.resolve(raw, prompt.expects)
            if scan.kind == ScanKind.COMMAND:
                outcome = self.command(scan.command)
            else:
                outcome = getattr(self, f"on_{self.state}")(scan)
        except WarehouseError as exc:
            outcome = Outcome(False, str(exc))
        self.outcome = outcome
        return outcome

    def resolve(self, raw: RawScan, expects: Iterable[ScanKind]) -> Scan:
        with self.terminal.db.reading() as session:
            return resolve(raw, frozenset(expects), SqlCatalog(session))

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
