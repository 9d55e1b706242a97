"""The Textual app: one terminal's floor screen, its scanner and the workflows it routes to."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
import traceback
from collections import deque

from textual.app import App

from drivers.base import GS, DeviceState, RawScan, RejectedScan, Scanner
from drivers.keyboard import KeyboardWedge
from warehouse_tui.config import Settings
from warehouse_tui.db.engine import Database
from warehouse_tui.screens.workflow_screen import FloorScreen
from warehouse_tui.services.auth import audit
from warehouse_tui.services.terminal import Terminal
from warehouse_tui.services.unit_of_work import DATABASE_BUSY, DatabaseBusy, ScanGroup, database_busy
from warehouse_tui.sync import install as install_sync
from warehouse_tui.sync import outbox
from warehouse_tui.workflows.base import Outcome, Workflow
from warehouse_tui.workflows.login import Home, Login

log = logging.getLogger(__name__)

INTERNAL_ERROR = "Internal error — scan refused, nothing recorded; tell a supervisor"
GROUP_NOT_RECORDED = "Not recorded: the last {n} scans could not be saved — scan them again"
WARM_UP_AFTER_S = 1.0
# A burst of queued scans is handled for at most about a frame before the screen gets its turn.
SCAN_BATCH_S = 0.016


def workflow_registry() -> dict[str, type[Workflow]]:
    """Command -> workflow class, for the workflows this build has."""
    from warehouse_tui.workflows import registry

    return {"HOME": Home, **registry.WORKFLOWS}


class WarehouseApp(App):
    TITLE = "warehouse-tui"
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, db: Database, settings: Settings, *, scanner: Scanner | None = None, terminal_name: str | None = None,
                 cursor_blink: bool = True) -> None:
        super().__init__()
        self.cursor_blink = cursor_blink
        install_sync(db)  # this terminal's database gets the sync hooks of its role (and any opened later)
        self.terminal = Terminal(db, settings, terminal_name or settings.resolved_terminal())
        if scanner is None:
            url = settings.scanner or "keyboard"
            if url == "keyboard":
                scanner = KeyboardWedge(url, gs_substitute=settings.gs_substitute)
            else:
                from drivers.registry import scanner_for  # entry points: read only when a device URL needs them

                scanner = scanner_for(url)
        self.scanner = scanner
        self._workflows: dict[str, type[Workflow]] | None = None
        self.unsynced = 0
        self.synced_at: str | None = None  # local HH:MM of the last full sync, for the status line
        self._counted_through = 0  # outbox position up to which `unsynced` has counted
        self.online = "local" if not settings.upstream else "offline"
        self._last_activity = time.monotonic()
        self._thread_id = threading.get_ident()
        self.floor: FloorScreen | None = None
        self.sync_worker = None
        self._status_shown: tuple | None = None
        # Scans (and refused frames) a device's reader thread delivered, oldest first, waiting for the app's loop.
        self._device_queue: deque[RawScan | RejectedScan] = deque()
        self._device_queue_due = False
        self._scan_loop: asyncio.AbstractEventLoop | None = None
        self._outbox_grew = False  # a scan since the last count may have written outbox entries
        self._floor_measuring = False  # a floor view refresh is under way in its worker thread
        self._count_due = False  # a count of the new outbox entries is scheduled (after the scan's result is shown)
        # Group commit of a burst: the scans already queued, each in its own savepoint of one transaction, committed
        # once before any of them is shown (services/unit_of_work.py); the workflow as it was before the group.
        self._group: ScanGroup | None = None
        self._group_before: tuple[Workflow, dict] | None = None
        self._burst_refusal: Outcome | None = None  # the last scan refused in a burst and not shown yet

    # ------------------------------------------------------------------ lifecycle
    def on_mount(self) -> None:
        self._thread_id = threading.get_ident()
        self._scan_loop = asyncio.get_running_loop()
        self.floor = FloorScreen(Login(self.terminal))
        self.push_screen(self.floor)
        self.scanner.open(self._scan_from_driver, self._state_from_driver, self._reject_from_driver)
        self.terminal.scanner_state = self.scanner.state.value
        self.set_interval(2.0, self._tick)
        self.set_interval(max(1, self.terminal.settings.floor_refresh_seconds), self._refresh_floor_view)
        self._count_unsynced()
        # What the login screen does not need is loaded a moment after it shows (an operator is still
        # reaching for the badge), not before it and not at the first scan.
        self.call_after_refresh(self.set_timer, WARM_UP_AFTER_S, self._load_the_rest)
        if self.terminal.settings.upstream:
            from warehouse_tui.sync.worker import SyncWorker

            # Sync runs in its own thread: a scan never waits on the network.
            self.sync_worker = SyncWorker(self.terminal.db, self.terminal.settings.upstream, self.terminal.name,
                                          on_status=lambda status: self.call_from_thread(self._show_sync, status),
                                          company_prefixes=(self.terminal.settings.gs1_company_prefix,))
            self.sync_worker.start()
            self.terminal.upstream_claim = self.sync_worker.claim

    @property
    def workflows(self) -> dict[str, type[Workflow]]:
        """Command -> workflow class; the workflow modules load on first use, not at start."""
        if self._workflows is None:
            self._workflows = workflow_registry()
        return self._workflows

    def _load_the_rest(self) -> None:
        from warehouse_tui.scan.resolver import load_gs1

        if self._workflows is None:
            self._workflows = workflow_registry()
        load_gs1()

    def on_resize(self, event) -> None:
        self.refresh_status()  # the status line abbreviates below 60 columns

    def _show_sync(self, status) -> None:
        self.online = "online" if status.online else "offline"
        self.unsynced = status.pending
        if status.last_sync_at is not None:  # UTC in the database; the floor reads its own clock
            self.synced_at = status.last_sync_at.replace(tzinfo=dt.timezone.utc).astimezone().strftime("%H:%M")
        self.refresh_status()

    def on_unmount(self) -> None:
        if self.sync_worker is not None:
            self.sync_worker.on_status = None
            self.sync_worker.stop()
        self.scanner._on_state = None  # the screen is gone: nothing left to show state on
        self.scanner.close()

    # ------------------------------------------------------------------ input from anywhere
    def _scan_from_driver(self, raw: RawScan) -> None:
        """A scan from the scanner, handled on the app's loop in the order the device read it.

        A driver calls from its reader thread and must get back to reading soon
        (drivers/base.py): the scan is queued and the reader returns. The loop
        handles the queue one scan at a time and shows the result once per
        burst, after its last scan, instead of drawing every scan of the burst.
        A scan with more already queued behind it (at a prompt that writes) is
        recorded in a group: each scan in its own savepoint of one transaction,
        committed once — durable — before the burst's result is shown, so a
        confirmed scan is on disk and a refused one changed nothing.
        """
        self._from_device(raw)

    def _reject_from_driver(self, rejected: RejectedScan) -> None:
        """A frame the driver refused (line noise, too long): an error flash and a bell, nothing recorded.

        It takes its place among the scans the device read around it.
        """
        self._from_device(rejected)

    def _from_device(self, item: RawScan | RejectedScan) -> None:
        if threading.get_ident() == self._thread_id:
            self._handle_device_queue(budget_s=None)  # what the device read earlier goes first
            self._handle_device_item(item, show=True)
            return
        self._device_queue.append(item)
        if not self._device_queue_due:
            self._device_queue_due = True
            try:
                self._scan_loop.call_soon_threadsafe(self._handle_device_queue)
            except (AttributeError, RuntimeError):  # the app is not running (yet or any more): nothing can take it
                self._device_queue.clear()
                self._device_queue_due = False
                log.warning("a scan from %s while the app is not running: dropped", item.source or "the scanner")

    def _handle_device_queue(self, budget_s: float | None | str = "frame") -> None:
        # Cleared before the queue is read: whatever is queued from now on finds no handler due and asks for one.
        self._device_queue_due = False
        if budget_s == "frame":
            budget_s = SCAN_BATCH_S
        deadline = None if budget_s is None else time.monotonic() + budget_s
        while self._device_queue:
            item = self._device_queue.popleft()
            yielding = deadline is not None and bool(self._device_queue) and time.monotonic() > deadline
            # Shown when it is the last of the burst, or when the screen's turn comes next.
            show = yielding or not self._device_queue
            try:
                self._join_group(item, last=show)
                self._handle_device_item(item, show=show)
            except Exception:  # worse than a refused scan: log it (not what was read: it may be a PIN), go on
                log.exception("a scan from %s could not be handled", item.source or "the scanner")
            if show and self._group is not None and not self._settle_group():  # (shown scans settle it themselves)
                self.floor.render_workflow()
            if yielding:
                # Let the screen paint and keys through; the rest of the burst follows at once.
                self._device_queue_due = True
                self._scan_loop.call_soon(self._handle_device_queue)
                return

    def _handle_device_item(self, item: RawScan | RejectedScan, *, show: bool) -> None:
        if isinstance(item, RawScan):
            self.handle_raw(item, show=show)
        elif self.floor is not None and self.floor.is_mounted:
            self.floor.workflow.outcome = Outcome(False, item.reason)
            if show:
                self._settle_group()  # (a failed commit's message replaces the frame's)
                if self._outbox_grew:
                    self._count_new_outbox()
                self.floor.render_workflow()
            self.bell()

    def _join_group(self, item: RawScan | RejectedScan, *, last: bool) -> None:
        """Before a queued scan: end the group where it cannot go on, open one where a burst begins.

        A group holds the scans of one workflow at prompts that write through its unit of work (a PIN
        prompt, which writes in a transaction of its own, or a navigation ends it); it opens only on
        SQLite, for a scan with more already queued behind it.
        """
        workflow = self.floor.workflow if self.floor is not None else None
        if self._group is not None and (self._group_before[0] is not workflow or not _groupable(workflow)):
            if not self._settle_group():
                self.floor.render_workflow()
        if self._group is None and not last and isinstance(item, RawScan) and _groupable(workflow) \
                and self.terminal.db.engine.dialect.name == "sqlite":
            try:
                self._group = ScanGroup(self.terminal.db).open()
            except DatabaseBusy:  # each scan meets the busy lock on its own and says so
                return
            self._group_before = (workflow, workflow._save())

    def _settle_group(self) -> bool:
        """Commit the open group (durable when it returns); False when it failed: then nothing of it was recorded,
        the workflow is as it was before the group, and its outcome says to scan them again."""
        group, self._group = self._group, None
        if group is None:
            return True
        workflow, before = self._group_before
        self._group_before = None
        try:
            group.commit()
            return True
        except Exception as exc:
            log.exception("committing a group of %d scans failed", group.scans)
            workflow._restore(before)
            workflow.outcome = Outcome(False, DATABASE_BUSY if database_busy(exc) else GROUP_NOT_RECORDED.format(n=group.scans))
            self.bell()
            return False

    @property
    def scans_waiting(self) -> int:
        """Scans (and refused frames) the scanner has read that the app has not handled yet."""
        return len(self._device_queue)

    def _state_from_driver(self, state: DeviceState, detail: str) -> None:
        def apply() -> None:
            self.terminal.scanner_state = state.value
            self.refresh_status()

        if threading.get_ident() == self._thread_id:
            apply()
        else:
            self.call_from_thread(apply)

    def submit_typed(self, text: str, key_times: list[float] | None = None) -> None:
        """A line from the entry field: typed by a person or a keyboard-wedge scanner's burst.

        In a burst the configured GS substitute becomes GS; typed by hand it stays
        what it is (a person typing "~" in a lot code means "~").
        """
        wedge = self.scanner if isinstance(self.scanner, KeyboardWedge) else None
        burst = wedge is not None and key_times is not None and wedge.is_burst(key_times)
        if burst and wedge.gs_substitute and wedge.gs_substitute in text:
            text = text.replace(wedge.gs_substitute, GS)
        self.handle_raw(RawScan(text=text, source="wedge" if burst else "keyboard"))

    def handle_raw(self, raw: RawScan, *, show: bool = True) -> Outcome:
        """Route one scan or typed line to the active workflow, then show the result.

        `show=False` (a scan inside a burst) leaves the screen and the unsynced count to
        the burst's last scan; a refusal still rings the bell. Nothing a scan does stops
        the app: a bug is logged and refused as an internal error. What was typed at a
        PIN prompt is never logged.
        """
        self._last_activity = time.monotonic()
        floor = self.floor
        assert floor is not None
        workflow = floor.workflow
        secret = _asks_for_secret(workflow)
        try:
            outcome = workflow.submit(raw)
        except Exception as exc:  # a bug, not an operator error: log it, refuse the scan, keep running
            _log_crash(workflow, raw, exc, secret=secret)
            outcome = Outcome(False, INTERNAL_ERROR)
            workflow.outcome = outcome
        if self._group is not None and (show or outcome.navigate) and not self._settle_group():
            outcome = workflow.outcome  # the group (this scan with it) was not recorded: that is what is shown
        self._outbox_grew |= outcome.ok
        if not show and not outcome.ok:
            self._burst_refusal = outcome
        try:
            if outcome.navigate:
                self._burst_refusal = None
                self.run_command(outcome.navigate, keep=outcome)
            elif show:
                refused, self._burst_refusal = self._burst_refusal, None
                if refused is not None and outcome.ok and workflow is floor.workflow:
                    # A scan refused inside the burst keeps its red line (its bell rang): the scans after it
                    # were taken, and the prompt and lines show where the workflow stands.
                    workflow.outcome = refused
                floor.render_workflow()
                self._refresh_floor_view(unmeasured_only=True)  # a floor view page shown for the first time
            if show and self._outbox_grew and not self._count_due:
                # The status line's unsynced count follows the scan's own result, not before it: the count
                # is a read of its own and the operator waits for the scan's line, not for the count.
                self._count_due = True
                self.call_later(self._count_new_outbox_due)
        except Exception:
            log.exception("after a scan at %s, updating the terminal failed", type(workflow).__name__)
            floor.show_internal_error()
        if not outcome.ok:
            self.bell()
        return outcome

    def _fatal_error(self) -> None:
        """Textual's way out after an unhandled error, minus the local variables of every frame.

        Textual prints the traceback with `show_locals=True`: a PIN just typed sits in
        the locals of the frames that handled it (`text = '4321'`). Here the traceback
        shows code and the error only, and goes to the app's log as well.
        """
        import rich
        from rich.traceback import Traceback

        log.critical("the app stopped on an unhandled error", exc_info=True)
        self.bell()
        self.panic(Traceback(show_locals=False, width=None, suppress=[rich]))

    # ------------------------------------------------------------------ navigation
    def run_command(self, command: str, keep: Outcome | None = None) -> None:
        """A command key or a navigation; like a scan, nothing it does stops the app."""
        floor = self.floor
        assert floor is not None
        try:
            self._run_command(command, keep)
        except Exception as exc:
            if database_busy(exc):
                floor.workflow.outcome = Outcome(False, DATABASE_BUSY)
                floor.render_workflow()
            else:
                log.exception("command @%s failed", command)
                floor.show_internal_error()
            self.bell()

    def _run_command(self, command: str, keep: Outcome | None) -> None:
        floor = self.floor
        assert floor is not None
        self._last_activity = time.monotonic()
        logged_in = self.terminal.operator is not None
        if command == "LOGOUT" or (command in self.workflows and not logged_in) or command == "HOME" and not logged_in:
            if command == "LOGOUT" and logged_in:
                self.logout("logout")
            else:
                floor.workflow.outcome = Outcome(False, "Log in first — scan your badge")
                floor.render_workflow()
                self.bell()
            return
        if command == "SYNC":
            if self.sync_worker is None:
                floor.workflow.outcome = Outcome(False, "No upstream configured — sync is off on this terminal")
                self.bell()
            else:
                self.sync_worker.sync_now()
                floor.workflow.outcome = Outcome(True, "Sync started")
            floor.render_workflow()
            return
        cls = self.workflows.get(command)
        if cls is None:
            if command in ("CANCEL",) or command in floor.workflow.prompt.commands:
                # A command key is the command barcode: the same path, the same feedback and counts.
                self.handle_raw(RawScan(text=f"@{command}", source="key"))
                return
            floor.workflow.outcome = Outcome(False, f"@{command} is not possible here")
            floor.render_workflow()
            self.bell()
            return
        workflow = cls(self.terminal)
        workflow.outcome = keep
        floor.set_workflow(workflow)
        self._refresh_floor_view(unmeasured_only=True)  # the floor view draws its frame, then fills it

    def logout(self, reason: str) -> None:
        op = self.terminal.operator
        if op is not None:
            with self.terminal.db.transaction() as session:
                audit(session, reason, operator=op, terminal=self.terminal.name)
        self.terminal.operator = None
        login = Login(self.terminal)
        login.outcome = Outcome(True, "Logged out" if reason == "logout" else "Logged out after idle time")
        assert self.floor is not None
        self.floor.set_workflow(login)

    # ------------------------------------------------------------------ status line
    def refresh_status(self) -> None:
        if self.floor is None or not self.floor.is_mounted:
            return
        op = self.terminal.operator
        status = (op.badge if op else "-", self.terminal.scanner_state, self.online, self.unsynced, self.size.width < 60,
                  self.synced_at)
        if status == self._status_shown:
            return
        self._status_shown = status
        self.floor.query_one("#status").show(
            operator=op.badge if op else "-",
            terminal=self.terminal.name,
            scanner=self.terminal.scanner_state,
            online=self.online,
            synced_at=self.synced_at,
            unsynced=self.unsynced,
            narrow=self.size.width < 60,
        )

    def _tick(self) -> None:
        idle = self.terminal.settings.idle_logout_seconds
        try:
            if self.terminal.operator is not None and idle > 0 and time.monotonic() - self._last_activity > idle:
                self.logout("idle_logout")
            self._count_unsynced()
        except Exception as exc:  # tried again at the next tick
            if database_busy(exc):
                log.warning("idle check: the database is busy; trying again in a moment")
            else:
                log.exception("idle check failed")

    def _refresh_floor_view(self, unmeasured_only: bool = False) -> None:
        """While the floor view is shown it measures again, in a worker thread: a scan never waits on it.

        `unmeasured_only`: only if the page on screen has not been measured yet (the view just opened, or a page
        shown for the first time).
        """
        workflow = self.floor.workflow if self.floor is not None else None
        if getattr(workflow, "updated", None) is None or workflow.state != "view" or self._floor_measuring:
            return
        if unmeasured_only and not workflow.unmeasured():
            return
        from warehouse_tui.workflows.floor_view import measure

        self._floor_measuring = True

        topics = workflow.shown_topics()

        def shown(snapshot) -> None:
            self._floor_measuring = False
            if snapshot is not None and self.floor is not None and self.floor.workflow is workflow:
                workflow.updated(snapshot, topics)
                self.floor.render_workflow()
                self._refresh_floor_view(unmeasured_only=True)  # paged on to a page not measured meanwhile

        def work() -> None:
            try:
                # The page on screen only: the other topics are measured when their page is shown.
                snapshot = measure(self.terminal, topics, workflow.snapshot)
            except Exception as exc:  # shown again at the next refresh
                if not database_busy(exc):
                    log.exception("measuring the floor view failed")
                snapshot = None
            try:
                self.call_from_thread(shown, snapshot)
            except RuntimeError:  # the app has stopped meanwhile
                pass

        self.run_worker(work, thread=True, group="floor-view", exit_on_error=False)

    def _count_unsynced(self) -> None:
        with self.terminal.db.reading() as session:
            self.unsynced = outbox.pending_count(session)
            _, top = outbox.outbox_since(session.connection(), self._counted_through)
        self._counted_through = top or self._counted_through
        self.refresh_status()

    def _count_new_outbox_due(self) -> None:
        self._count_due = False
        try:
            if self._outbox_grew:
                self._count_new_outbox()
                self.refresh_status()
        except Exception as exc:  # counted again at the next scan or tick
            if database_busy(exc):
                log.warning("unsynced count: the database is busy; counting again in a moment")
            else:
                log.exception("unsynced count failed")

    def _count_new_outbox(self) -> None:
        """After a scan: add the entries written since the last count (a primary-key range, cheap).

        A bare connection, not a Session: this runs after every recorded scan.
        """
        with self.terminal.db.engine.connect() as conn:
            new, top = outbox.outbox_since(conn.execution_options(sqlite_begin="DEFERRED"), self._counted_through)
        self._outbox_grew = False
        if new:
            self.unsynced += new
            self._counted_through = top


def _groupable(workflow: Workflow | None) -> bool:
    """Whether the workflow's next scan may join a group commit: a prompt that writes through its unit of work."""
    if workflow is None:
        return False
    try:
        return workflow.scan_writes() and not workflow.prompt.secret
    except Exception:
        return False


def _asks_for_secret(workflow: Workflow) -> bool:
    """Whether the workflow's prompt takes a secret (a PIN); a prompt that cannot be read counts as one."""
    try:
        return workflow.prompt.secret
    except Exception:
        return True


def _log_crash(workflow: Workflow, raw: RawScan, exc: Exception, *, secret: bool) -> None:
    if not secret:
        log.exception("scan %r crashed the workflow", raw.text[:80])
        return
    # Neither what was typed nor the error's message (which may quote it): where it failed and what it was.
    where = "".join(traceback.format_tb(exc.__traceback__))
    log.error("what was typed at the PIN prompt of %s (state %r) crashed the workflow; it is not logged:\n%s%s",
              type(workflow).__name__, workflow.state, where, type(exc).__qualname__)
