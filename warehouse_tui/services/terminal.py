"""One terminal's session on the floor: its database, settings, name and the operator logged in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from warehouse_tui.config import Settings
from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import Operator
from warehouse_tui.services.auth import is_supervisor
from warehouse_tui.services.ledger import Actor


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

    @property
    def is_supervisor(self) -> bool:
        """Whether the operator logged in holds a supervisor badge."""
        return is_supervisor(self.operator)

    def claim_upstream(self, kind: str, key: str, *, take_over: bool = False) -> None:
        """Online, a document another terminal took upstream is refused before any work starts."""
        if self.upstream_claim is not None and self.operator is not None:
            self.upstream_claim(kind, key, self.operator.badge, take_over=take_over)
