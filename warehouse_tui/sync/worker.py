"""The app's background sync: a thread that pushes and pulls while operators scan, and says how it went.

Scans never wait on the network: the worker does its network work outside any
local write transaction and writes locally in short transactions (see push.py
and pull.py), so a scan waits at most for one of those. It syncs every
`interval` seconds, at once when asked (`sync_now`, e.g. the @SYNC command or
right after a scan), and backs off while the upstream is unreachable. Each round
ends with a `SyncStatus` handed to `on_status` (from the worker thread: the app
passes it on with call_from_thread).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from warehouse_tui.db.models import utcnow
from warehouse_tui.errors import WarehouseError

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 60.0
# An online claim runs while the operator waits at the screen: on a link that went bad since the
# last round it gives up after a few seconds and the claim goes provisional (sent with the next push).
CLAIM_CONNECT_TIMEOUT_S = 2
CLAIM_SILENCE_S = 2.0


@dataclass(frozen=True)
class SyncStatus:
    online: bool | None  # None: not tried yet
    pending: int  # outbox entries not yet pushed: the status line's "unsynced" count
    last_sync_at: object | None = None  # datetime (UTC) of the last full sync
    message: str = ""  # what the last round did, or why it failed (never a password)


class SyncWorker:
    """Syncs `local` (the app's Database) with the upstream URL in a daemon thread."""

    def __init__(self, local, upstream_url: str, terminal: str, *, interval: float = 5.0,
                 on_status: Callable[[SyncStatus], None] | None = None, company_prefixes: tuple[str, ...] = ()) -> None:
        self.local = local
        self.company_prefixes = company_prefixes  # the GS1 prefixes this terminal packs with: SSCC leases (sync/sscc_leases.py)
        self.upstream_url = upstream_url
        self.terminal = terminal
        self.interval = interval
        self.on_status = on_status
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._upstream = None
        self.status = SyncStatus(None, self.pending())

    def pending(self) -> int:
        from warehouse_tui.sync.outbox import pending_count

        with self.local.reading() as session:
            return pending_count(session)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"sync-{self.terminal}", daemon=True)
        self._thread.start()

    def sync_now(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._upstream is not None:
            self._upstream.dispose()
            self._upstream = None

    def claim(self, kind: str, key: str, badge: str, *, take_over: bool = False) -> str:
        """Claim a pick list or count task on the upstream first, when online (claims.claim_upstream).

        Returns "taken" or "provisional" (offline, or the upstream does not know it yet:
        the local claim goes up with the next push). Raises NotAllowed when another
        operator holds it upstream, HeldOnAnotherTerminal when the same badge holds it on
        another terminal (unless `take_over`). Called from the workflow's thread; it talks
        to the network only when the last round found the upstream reachable.
        """
        from warehouse_tui.sync import UpstreamUnavailable, open_upstream
        from warehouse_tui.sync.claims import PROVISIONAL, claim_upstream

        if not self.status.online:
            return PROVISIONAL
        try:
            upstream = open_upstream(self.upstream_url, connect_timeout_s=CLAIM_CONNECT_TIMEOUT_S, silence_s=CLAIM_SILENCE_S)
        except UpstreamUnavailable:
            return PROVISIONAL
        try:
            return claim_upstream(upstream, kind, key, badge, self.terminal, take_over=take_over)
        except UpstreamUnavailable:
            return PROVISIONAL
        finally:
            upstream.dispose()

    def run_once(self) -> SyncStatus:
        """One round (what the thread does each time): sync, or record why not."""
        from warehouse_tui.sync import UpstreamUnavailable, open_upstream, sync_once

        try:
            if self._upstream is None:
                self._upstream = open_upstream(self.upstream_url)
            result = sync_once(self.local, self._upstream, self.terminal,
                               **({"company_prefixes": self.company_prefixes} if self.company_prefixes else {}))
            status = SyncStatus(True, result.pending, utcnow(), result.render())
        except UpstreamUnavailable as exc:
            if self._upstream is not None:
                self._upstream.dispose()
                self._upstream = None
            status = SyncStatus(False, self.pending(), self.status.last_sync_at, str(exc))
        except WarehouseError as exc:  # a change that cannot be applied here, a bad configuration: say so, keep trying
            log.error("sync failed: %s", exc)
            status = SyncStatus(False, self.pending(), self.status.last_sync_at, str(exc))
        self.status = status
        if self.on_status is not None:
            self.on_status(status)
        return status

    def _run(self) -> None:
        backoff = self.interval
        while not self._stop.is_set():
            try:
                status = self.run_once()
            except Exception:  # a bug must not kill the thread silently: log it and try again later
                log.exception("sync round failed")
                status = SyncStatus(False, self.status.pending, self.status.last_sync_at, "sync failed — see the log")
                self.status = status
            backoff = self.interval if status.online else min(MAX_BACKOFF_S, backoff * 2)
            self._wake.wait(backoff)
            self._wake.clear()
