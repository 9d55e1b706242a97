"""Sync with the upstream (DESIGN §8): outbox push, incremental pull, conflicts, background worker.

Each terminal has a name and its own local database; the upstream is any
database of the same schema (PostgreSQL in production) reached by a SQLAlchemy
URL, made an upstream once with `warehouse-tui upstream init URL`.

- Down: master data and documents (owners, items and their codes, bins,
  operators with PIN hashes and lock state, inbound and outbound orders, pick
  lists, count tasks, exceptions) and every movement booked upstream, through
  the upstream's change feed (feed.py) and this terminal's cursor (pull.py).
- Up: every movement leaves through the outbox written in its own transaction
  (push.py); the upstream applies each exactly once and answers applied,
  duplicate or conflict (apply.py, which also says how stock looks after a
  conflict).
- Documents both ways (documents.py): read upstream (snapshots.py) and applied
  on a terminal (pull_documents.py) on the way down; a terminal's changes to
  orders, pick lists, count tasks, exceptions and badges go up as field
  operations with the outbox (capture.py) and are applied upstream
  (apply_documents.py); claims taken online are taken on the upstream first
  (claims.py).
- One sync = push, then pull: afterwards the terminal shows exactly the
  upstream's stock. The app runs it in a background thread (worker.py) that
  never holds a scan up on the network.
- Movements are booked in batches by booking.py (ledger.post's rules, set-based).

Credentials: the upstream URL comes from --upstream, WAREHOUSE_UPSTREAM or the
0600 config file; only its redacted form (engine.redact) is ever printed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from warehouse_tui.config import Settings
from warehouse_tui.db.engine import Database, make_engine, on_open, redact, to_url
from warehouse_tui.db.models import OutboxEntry
from warehouse_tui.errors import ConfigError, WarehouseError
from warehouse_tui.sync import feed
from warehouse_tui.sync.outbox import pending_count

if TYPE_CHECKING:
    from warehouse_tui.sync.pull import PullResult
    from warehouse_tui.sync.push import PushResult

# The app imports this package for `install` (and its status line for sync/outbox.py): push, pull,
# capture and SSCC leases (the booking, snapshots and document appliers with them) load with the
# first sync, in the sync worker's thread, not while the login screen is being drawn.
BATCH_SIZE = 5000  # entries per push batch, one upstream transaction each (DESIGN §9's push rate wants big batches)

CONNECT_TIMEOUT_S = 5
# A network that goes bad mid-sync ends the sync as UpstreamUnavailable, never hangs it
# (DESIGN §8). Three guards, none of which cuts long healthy work:
# - TCP keepalives and TCP_USER_TIMEOUT (this side's kernel): a link that loses packets is
#   declared dead once probes or sent data go unacknowledged this long. The server's kernel
#   acknowledges while a long statement runs, so a 5,000-entry push batch or a 100k-item
#   pull is never cut by them.
KEEPALIVE_IDLE_S = 10
KEEPALIVE_INTERVAL_S = 5
KEEPALIVE_COUNT = 3
TCP_USER_TIMEOUT_MS = 30_000
# - Silence: while a sync waits on the upstream, it gives the connection up after this long
#   without a byte either way. For a hung server or middlebox the kernels still acknowledge,
#   so only this notices. The longest silence of healthy work is one statement, or a push
#   waiting for PUSH_LOCK behind other terminals' batches (each applies in well under a
#   second at DESIGN §9's rate); a pull streams its rows. It is longer than the idle limit
#   below, so a push queued behind a vanished terminal outlasts that terminal's session.
UPSTREAM_SILENCE_S = 30.0
# - On the upstream: a terminal that vanished inside a transaction (Wi-Fi gone: no FIN ever
#   arrives) would hold PUSH_LOCK, and with it every other terminal's push, until the server's
#   own keepalive noticed (two hours by default). The server ends a sync session left idle
#   inside a transaction this long; a healthy sync is idle there only between its statements.
UPSTREAM_IDLE_IN_TRANSACTION_S = 20
DEFAULT_COMPANY_PREFIX = Settings.gs1_company_prefix  # what a terminal without a config file packs with


def install(database: Database | None = None) -> None:
    """Give every Database opened from now on, and `database` if already open, the sync hooks of its role.

    On an upstream every writer feeds the change feed terminals pull from; on a terminal that
    has synced, every document change is queued in the outbox (feed.watch). The CLI and the app
    call this; the database layer knows nothing of sync.
    """
    on_open(feed.watch)
    if database is not None:
        feed.watch(database)


def _push():
    from warehouse_tui.sync import push

    return push


def _pull():
    from warehouse_tui.sync import pull

    return pull


class UpstreamUnavailable(WarehouseError):
    """The upstream cannot be reached or used right now; nothing was lost, sync again later."""


@dataclass
class SyncResult:
    push: PushResult = field(default_factory=lambda: _push().PushResult())
    pull: PullResult = field(default_factory=lambda: _pull().PullResult())
    pending: int = 0
    seconds: float = 0.0
    sscc_leased: int = 0

    def render(self) -> str:
        p, q = self.push, self.pull
        changes = ", ".join(f"{n} {kind}" for kind, n in sorted(q.applied.items()) if n) or "nothing new"
        text = (f"pushed {p.pushed} ({p.applied} applied, {p.duplicate} duplicate, {p.conflict} conflict); "
                f"pulled {changes}; {self.pending} waiting; {self.seconds * 1000:.0f} ms")
        return text


def _reason(exc: BaseException, url) -> str:
    """The driver's first line, with the password taken out should it appear."""
    # Cleaning up after a dropped connection can fail in turn (SQLAlchemy's "Can't reconnect until
    # invalid transaction is rolled back"): name the drop, the error that started it.
    cause = exc
    while cause is not None and not isinstance(cause, (DBAPIError, OSError)):
        cause = cause.__context__
    exc = cause or exc
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    password = getattr(url, "password", None)
    if password:
        first = first.replace(str(password), "***")
    return first[:200]


def _postgres_connect_args(parsed, connect_timeout_s: int | None = None) -> dict:
    """libpq settings of an upstream connection (see the constants above); what the URL sets itself wins."""
    wanted = {"connect_timeout": connect_timeout_s or CONNECT_TIMEOUT_S, "keepalives": 1, "keepalives_idle": KEEPALIVE_IDLE_S,
              "keepalives_interval": KEEPALIVE_INTERVAL_S, "keepalives_count": KEEPALIVE_COUNT,
              "tcp_user_timeout": TCP_USER_TIMEOUT_MS}
    return {key: value for key, value in wanted.items() if key not in parsed.query}


def _guard_sync_connections(engine, silence_s: float | None = None) -> None:
    """Sync connections give up a silent upstream (UPSTREAM_SILENCE_S unless told); the server ends them when
    left idle inside a transaction (UPSTREAM_IDLE_IN_TRANSACTION_S). Both read when the upstream is opened."""
    from sqlalchemy import event

    connection_class = _silence_limited_connection()
    silence = silence_s or UPSTREAM_SILENCE_S
    idle_ms = int(UPSTREAM_IDLE_IN_TRANSACTION_S * 1000)

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect, _record, cargs, cparams):
        conn = connection_class.connect(*cargs, **cparams)
        conn.silence_limit_s = silence
        return conn

    @event.listens_for(engine, "connect")
    def _limit_idle_transactions(dbapi_connection, _record) -> None:
        # A SET rather than libpq's `options`: connection poolers in front of PostgreSQL refuse that one.
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET idle_in_transaction_session_timeout = {idle_ms}")
        dbapi_connection.commit()


_silence_limited: type | None = None


def _silence_limited_connection() -> type:
    """psycopg's Connection, each of whose waits on the server ends once the socket was silent too long."""
    global _silence_limited
    if _silence_limited is None:
        import psycopg

        class SilenceLimitedConnection(psycopg.Connection):
            silence_limit_s: float | None = None

            def wait(self, gen, *args, **kwargs):
                if self.silence_limit_s is not None:
                    gen = _until_silent(self, gen, self.silence_limit_s)
                return super().wait(gen, *args, **kwargs)

        _silence_limited = SilenceLimitedConnection
    return _silence_limited


def _until_silent(conn, gen, limit: float):
    """Drive one of psycopg's I/O generators; close `conn` once its socket had nothing to do for `limit` seconds.

    psycopg's wait loop resumes the generator with "nothing ready" (0) every 0.1 s (so Ctrl-C
    is noticed); a run of those is the silence. Closing the libpq connection makes it broken,
    so SQLAlchemy discards it instead of pooling it.
    """
    import psycopg

    quiet_since = time.monotonic()
    try:
        state = next(gen)
        while True:
            ready = yield state
            if ready:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= limit:
                gen.close()
                conn.pgconn.finish()
                raise psycopg.OperationalError(f"nothing from the server for {limit:g} s — connection given up")
            state = gen.send(ready)
    except StopIteration as done:
        return done.value


def open_upstream(url: str, *, connect_timeout_s: int | None = None, silence_s: float | None = None) -> Database:
    """The upstream as a Database, checked reachable, at this version's schema and made an upstream.

    `connect_timeout_s` and `silence_s` shorten CONNECT_TIMEOUT_S and UPSTREAM_SILENCE_S for
    work an operator waits on (an online claim), which would rather go provisional than hang.
    """
    if not url:
        raise ConfigError("No upstream configured — set --upstream, WAREHOUSE_UPSTREAM or `upstream` in the config file")
    parsed = to_url(url)
    postgres = parsed.get_backend_name() == "postgresql"
    kwargs = {"connect_args": _postgres_connect_args(parsed, connect_timeout_s)} if postgres else {}
    try:
        engine = make_engine(url, **kwargs)
        if postgres:
            _guard_sync_connections(engine, silence_s)
        db = Database(engine, migrate=False)
        feed.watch(db)
        from warehouse_tui.db.migrate import current_revision, head_revision

        current, head = current_revision(engine), head_revision()
    except (DBAPIError, SQLAlchemyError, OSError) as exc:
        raise UpstreamUnavailable(f"Upstream {redact(parsed)} is unreachable ({_reason(exc, parsed)}) — "
                                  "work goes on offline; sync again when the network is back") from None
    if current != head:
        db.dispose()
        raise UpstreamUnavailable(f"Upstream {redact(parsed)} is at schema {current or '(empty)'}, this terminal needs {head} — "
                                  f"run `warehouse-tui upstream init` on it")
    if not getattr(db, "_feed_watched", False):
        db.dispose()
        raise UpstreamUnavailable(f"{redact(parsed)} is not an upstream yet — run `warehouse-tui upstream init` on it")
    return db


def init_upstream(url: str) -> str:
    """Create or upgrade the upstream's schema (idempotent) and make it an upstream; returns what was done."""
    from warehouse_tui.db.migrate import current_revision, upgrade

    parsed = to_url(url)
    # TCP guards only: upgrading or publishing a large upstream may keep one statement busy for long.
    kwargs = {"connect_args": _postgres_connect_args(parsed)} if parsed.get_backend_name() == "postgresql" else {}
    try:
        engine = make_engine(url, **kwargs)
        before = current_revision(engine)
        upgrade(engine)
        db = Database(engine, migrate=False)
        with db.transaction() as session:
            newly = feed.mark_upstream(session)
            published = feed.publish_all(session.connection()) if newly else 0
        after = current_revision(engine)
        db.dispose()
    except (DBAPIError, SQLAlchemyError, OSError) as exc:
        raise UpstreamUnavailable(f"Upstream {redact(parsed)} is unreachable ({_reason(exc, parsed)}) — nothing changed") from None
    schema = f"schema {before} already at head" if before == after else f"schema {before or '(empty)'} -> {after}"
    role = f"made an upstream, {published:,} existing rows published to its feed" if newly else "already an upstream"
    return f"Upstream {redact(parsed)}: {schema}; {role}."


def sync_once(local: Database, upstream: Database, terminal: str, *, batch_size: int = BATCH_SIZE,
              company_prefixes: Iterable[str] = (DEFAULT_COMPANY_PREFIX,),
              on_progress: Callable[[int, int], None] | None = None) -> SyncResult:
    """Push, pull, then top up this terminal's SSCC leases for the company prefixes it packs with (sync/sscc_leases.py).

    Raises UpstreamUnavailable when the upstream goes away half-way.
    """
    started = time.perf_counter()
    result = SyncResult()
    if getattr(local, "is_upstream", False):
        raise ConfigError(f"{local.url} is the upstream itself — a terminal syncs its own database with it (check --db)")
    if not getattr(local, "_documents_captured", False):
        with local.transaction() as session:
            feed.mark_terminal(session)
        from warehouse_tui.sync import capture

        capture.capture(local)
    from warehouse_tui.sync import sscc_leases

    try:
        if on_progress is None and (cursor := _idle(local, upstream, terminal, company_prefixes)) is not None:
            result.pull.cursor = cursor  # nothing to push, pull or lease: the probes were the whole sync
            result.seconds = time.perf_counter() - started
            return result
        result.push = _push().push(local, upstream, terminal, batch_size)
        result.pull = _pull().pull(local, upstream, terminal, on_progress=on_progress)
        result.sscc_leased = sscc_leases.refill(local, upstream, terminal, company_prefixes)
    except (DBAPIError, SQLAlchemyError, OSError) as exc:
        raise UpstreamUnavailable(f"Upstream {upstream.url} went away during sync ({_reason(exc, upstream.engine.url)}) — "
                                  "nothing is lost; sync again when the network is back") from None
    with local.reading() as session:
        result.pending = pending_count(session)
    result.seconds = time.perf_counter() - started
    return result


def _idle(local: Database, upstream: Database, terminal: str, company_prefixes: Iterable[str]) -> int | None:
    """The pull cursor when a sync has nothing to do, else None: the empty sync of a terminal syncing every few seconds.

    One local read (no outbox entry pending, no SSCC prefix short: push and leases would not touch
    the upstream) and one indexed query upstream (nothing in the feed after the cursor: the pull's
    first page would be empty), instead of the four local transactions and the repeatable-read
    upstream transaction the full sync takes to find the same. No upstream lock either way.
    """
    from warehouse_tui.sync import pull, sscc_leases

    with local.reading() as session:
        if session.scalar(_ANY_PENDING) is not None or sscc_leases.short_prefixes(session, company_prefixes):
            return None
        cursor = pull.cursor(session, terminal)
    return cursor if pull.up_to_date(upstream, cursor) else None


_ANY_PENDING = select(OutboxEntry.position).where(OutboxEntry.pushed_at.is_(None)).limit(1)


class PullProgress:
    """A progress bar for large pulls (a terminal's first sync, one back after days offline), drawn in place on `stream`.

    Shown only when more than a page of changes waits: an ordinary sync prints its one line.
    """

    WIDTH = 30

    def __init__(self, stream, terminal: str) -> None:
        self.stream = stream
        self.terminal = terminal
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        from warehouse_tui.sync import pull

        if not self.shown and total <= pull.PAGE:
            return
        self.shown = True
        filled = self.WIDTH * done // total if total else self.WIDTH
        bar = "#" * filled + "." * (self.WIDTH - filled)
        end = "\n" if done >= total else ""
        print(f"\r{self.terminal}: pulling [{bar}] {done:,}/{total:,} changes", end=end, file=self.stream, flush=True)


def sync_command(local: Database, upstream_url: str, terminal: str, *, watch: bool = False, interval: float = 5.0, out=None,
                 company_prefixes: Iterable[str] = (DEFAULT_COMPANY_PREFIX,), progress=None) -> int:
    """`warehouse-tui sync [--watch]`: 0 when synced, 1 with a clear message when the upstream is unavailable."""
    import sys

    out = out or sys.stdout
    err = sys.stderr
    if progress is None and err.isatty():
        progress = err  # a bar only where someone watches it; logs and pipes get the summary line
    upstream = None
    while True:
        try:
            if upstream is None:
                upstream = open_upstream(upstream_url)
            bar = PullProgress(progress, terminal) if progress is not None else None
            result = sync_once(local, upstream, terminal, company_prefixes=company_prefixes, on_progress=bar)
            print(f"{terminal}: {result.render()}", file=out, flush=True)
        except UpstreamUnavailable as exc:
            if not watch:
                print(f"error: {exc}", file=err)
                return 1
            print(f"{terminal}: offline: {exc}", file=err, flush=True)
            if upstream is not None:
                upstream.dispose()
                upstream = None
        if not watch:
            upstream.dispose()
            return 0
        time.sleep(interval)
