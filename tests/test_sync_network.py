"""Sync over a bad network: a TCP proxy on loopback between the terminal and PostgreSQL stalls, resets and cuts
connections mid-batch. Nothing is lost or duplicated, a stall ends the sync instead of hanging it, a terminal that
vanishes mid-push does not hold the others up, and the app keeps scanning and says offline meanwhile.

`FlakyLink` is a real TCP proxy (asyncio, in a thread) that the test tells what to do: pass bytes through, stall
(hold every byte both ways, sockets open: a hung middlebox), reset (RST every connection), cut one connection
once n more bytes went up or right after a given request reached the server, refuse new connections
(a firewall's REJECT), heal. Terminals reach the upstream by a URL naming the proxy's port.

The sync's guards against a silent upstream are the real ones (sync/__init__.py) with shorter limits, so a
stall costs the test seconds rather than the production half minute.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

import warehouse_tui.sync as sync
from drivers.sim import SimScanner
from fixture_dates import FAR_YYMMDD
from test_sync_core import check_ok, stock
from warehouse_tui.app import WarehouseApp
from warehouse_tui.config import Settings
from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import AppliedEntry, InboundLine, InboundOrder, Item, Movement, OutboxEntry
from warehouse_tui.replay import screen_text
from warehouse_tui.services import masterdata as md
from warehouse_tui.services import receiving
from warehouse_tui.demo import build_demo
from warehouse_tui.services.ledger import Actor
from warehouse_tui.sync import UpstreamUnavailable, init_upstream, open_upstream, sync_once

pytestmark = pytest.mark.postgres

PASSATA = "09501101017467"
# psycopg commits with a simple query: the whole protocol message, so a cut can land right after it.
COMMIT = b"Q" + (4 + len(b"COMMIT\x00")).to_bytes(4, "big") + b"COMMIT\x00"
ADVISORY_LOCK = b"pg_advisory_xact_lock"  # the first statement of every push batch takes the push lock (sync/apply.py)
HANG_GUARD_S = 60  # a sync still running after this long is hung: the test fails instead of hanging too


# --------------------------------------------------------------------------- the flaky link

_SSL_REQUEST, _GSSENC_REQUEST = 80877103, 80877104


def _rst(writer: asyncio.StreamWriter) -> None:
    """Close abruptly: with SO_LINGER 0 the kernel sends RST instead of FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


class _Framer:
    """Splits the terminal->server stream into PostgreSQL protocol messages, so the link can act right after one."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.started = False  # past the startup packet, the one message without a type byte

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """(offset in `data` just after the message, the message) for each message that ends within `data`."""
        held = len(self.buf)
        self.buf += data
        ends, pos = [], 0
        while True:
            if not self.started:
                if len(self.buf) - pos < 8:
                    break
                size = int.from_bytes(self.buf[pos:pos + 4], "big")
                code = int.from_bytes(self.buf[pos + 4:pos + 8], "big")
            else:
                if len(self.buf) - pos < 5:
                    break
                size, code = 1 + int.from_bytes(self.buf[pos + 1:pos + 5], "big"), None
            if len(self.buf) - pos < size:
                break
            if not self.started and code not in (_SSL_REQUEST, _GSSENC_REQUEST):
                self.started = True
            ends.append((pos + size - held, bytes(self.buf[pos:pos + size])))
            pos += size
        del self.buf[:pos]
        return ends


class _Connection:
    def __init__(self, client: asyncio.StreamWriter, server: asyncio.StreamWriter) -> None:
        self.client, self.server = client, server
        self.framer = _Framer()
        self.dead = False

    def cut(self) -> None:
        """The line dies here: the terminal gets an RST; the server a FIN after the bytes that made it through."""
        if not self.dead:
            self.dead = True
            _rst(self.client)
            self.server.close()

    def reset(self) -> None:
        if not self.dead:
            self.dead = True
            _rst(self.client)
            _rst(self.server)


class FlakyLink:
    """A TCP proxy on 127.0.0.1 (ephemeral port) to a PostgreSQL server, misbehaving when told.

    Control methods are called from the test's thread and return once the proxy's loop has taken them in.
    """

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="flaky-link", daemon=True)
        self._thread.start()
        self._connections: set[_Connection] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._refusing = False
        self._trigger: dict | None = None
        self.fired = threading.Event()  # the armed trigger went off
        self.sent_up = 0  # bytes forwarded terminal -> server, all connections
        self.cuts = self.resets = self.stalls = self.refused = 0
        self._server = self._run(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]

    def url_for(self, pg_url: str) -> str:
        """`pg_url` through this link (plain TCP, so the link sees the protocol messages)."""
        url = make_url(pg_url).set(host="127.0.0.1", port=self.port).update_query_dict({"sslmode": "disable"})
        return url.render_as_string(hide_password=False)

    # ------------------------------------------------------------------ control (the test's thread)
    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def _do(self, fn) -> None:
        async def call():
            fn()

        self._run(call())

    def stall(self) -> None:
        """From now on no byte moves either way; every socket stays open."""
        def go() -> None:
            self._flowing.clear()
            self.stalls += 1

        self._do(go)

    def reset(self) -> None:
        """Every open connection is dropped with an RST both ways."""
        self._do(self._reset_all)

    def refuse(self) -> None:
        """New connections are reset as they arrive; open ones go on."""
        def go() -> None:
            self._refusing = True

        self._do(go)

    def arm(self, then: str, *, after_bytes: int | None = None, message: bytes | None = None, nth: int = 1) -> None:
        """Once `after_bytes` more bytes went up, or right after the `nth` request holding `message` did:
        "cut" that connection there, "reset" all of them, or "stall" everything (bytes after it are held)."""
        assert then in ("cut", "reset", "stall") and (after_bytes is None) != (message is None)
        self.fired.clear()

        def go() -> None:
            at = None if after_bytes is None else self.sent_up + after_bytes
            self._trigger = {"then": then, "at": at, "message": message, "nth": nth}

        self._do(go)

    def cut_after(self, n_bytes: int) -> None:
        self.arm("cut", after_bytes=n_bytes)

    def heal(self) -> None:
        """Pass-through again: held bytes flow, new connections are let in, nothing is armed."""
        def go() -> None:
            self._trigger = None
            self._refusing = False
            self._flowing.set()

        self._do(go)

    def close(self) -> None:
        async def shut() -> None:
            self._server.close()
            self._reset_all()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self._run(shut())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    # ------------------------------------------------------------------ the proxy (its loop's thread)
    def _reset_all(self) -> None:
        for conn in list(self._connections):
            conn.reset()
        self.resets += 1

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._refusing:
            self.refused += 1
            _rst(writer)
            return
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            _rst(writer)
            return
        conn = _Connection(writer, server_writer)
        self._connections.add(conn)
        try:
            await asyncio.gather(self._pump(conn, reader, server_writer, up=True),
                                 self._pump(conn, server_reader, writer, up=False))
        finally:
            self._connections.discard(conn)
            conn.reset()

    def _split(self, conn: _Connection, data: bytes) -> tuple[int, str | None]:
        """How many bytes of this chunk go up before the armed trigger goes off, and what it does then."""
        ends = conn.framer.feed(data)
        t = self._trigger
        if t is None:
            return len(data), None
        if t["at"] is not None:
            room = t["at"] - self.sent_up
            return (room, t["then"]) if room <= len(data) else (len(data), None)
        for end, message in ends:
            if t["nth"] and t["message"] in message:
                t["nth"] -= 1
            # The request is whole at its Sync (extended protocol) or as one simple Query.
            if t["nth"] == 0 and message[:1] in (b"S", b"Q"):
                return end, t["then"]
        return len(data), None

    async def _pump(self, conn: _Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, up: bool) -> None:
        try:
            while True:
                data = await reader.read(65536)
                await self._flowing.wait()
                if conn.dead:
                    return
                if not data:  # that side closed: pass the FIN on
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                n, then = self._split(conn, data) if up else (len(data), None)
                writer.write(data[:n])
                await writer.drain()
                if up:
                    self.sent_up += n
                if then is not None:
                    self._trigger = None
                    self.fired.set()
                    if then == "cut":
                        self.cuts += 1
                        conn.cut()
                        return
                    if then == "reset":
                        self._reset_all()
                        return
                    self._flowing.clear()
                    self.stalls += 1
                    await self._flowing.wait()
                    if conn.dead:
                        return
                    writer.write(data[n:])
                    await writer.drain()
                    if up:
                        self.sent_up += len(data) - n
        except (OSError, asyncio.IncompleteReadError):
            conn.reset()


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def link(pg_url):
    proxy = FlakyLink(make_url(pg_url).port or 5432)
    yield proxy
    proxy.close()


@pytest.fixture
def quick_guards(monkeypatch):
    """The real guards against a silent upstream, with limits short enough for a test (read when an upstream opens)."""
    monkeypatch.setattr(sync, "UPSTREAM_SILENCE_S", 2.0)
    # (long enough that a healthy pull of the demo, read in one transaction, outlasts it on a loaded machine)
    monkeypatch.setattr(sync, "UPSTREAM_IDLE_IN_TRANSACTION_S", 5)
    monkeypatch.setattr(sync, "CONNECT_TIMEOUT_S", 2)  # libpq's least


@pytest.fixture
def demo_upstream(pg_url) -> str:
    build_demo(pg_url)
    init_upstream(pg_url)
    return pg_url


def pulled_terminal(tmp_path, name: str, upstream_url: str) -> Database:
    """A terminal's own SQLite file that has pulled the upstream once (straight, not through the link)."""
    terminal = Database(tmp_path / f"{name}.sqlite")
    upstream = open_upstream(upstream_url)
    try:
        sync_once(terminal, upstream, name)
    finally:
        upstream.dispose()
    return terminal


def receive_on_po_1001(terminal: Database, name: str, sku: str, count: int) -> None:
    """`count` receipts of one unit each on PO-1001, each its own transaction as at the dock."""
    with terminal.reading() as s:
        item_id = md.item_by_sku(s, sku).id
    for _ in range(count):
        with terminal.transaction() as s:
            receiving.receive_item(s, Actor(None, name), receipt_ref="PO-1001", item_id=item_id, qty=1)


def start_sync(terminal: Database, upstream: Database, name: str, **kwargs) -> tuple[threading.Thread, list]:
    """sync_once in a thread of its own; the list receives its result or the exception it raised."""
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(sync_once(terminal, upstream, name, **kwargs))
        except Exception as exc:  # handed back to the test to assert on
            outcome.append(exc)

    thread = threading.Thread(target=run, name=f"sync-{name}", daemon=True)
    thread.start()
    return thread, outcome


def sync_in_thread(terminal: Database, upstream: Database, name: str, **kwargs):
    """sync_once, which must end within HANG_GUARD_S: its result, or the exception it raised."""
    thread, outcome = start_sync(terminal, upstream, name, **kwargs)
    thread.join(HANG_GUARD_S)
    assert not thread.is_alive(), f"sync_once still hangs after {HANG_GUARD_S} s"
    return outcome[0]


def sync_until_done(terminal: Database, upstream_url: str, name: str, **kwargs) -> None:
    """A healthy network: the next sync completes (a second one only if work came in meanwhile)."""
    upstream = open_upstream(upstream_url)
    try:
        for _ in range(2):
            result = sync_in_thread(terminal, upstream, name, **kwargs)
            assert not isinstance(result, Exception), result
            if result.pending == 0:
                return
        pytest.fail(f"{name} still has {result.pending} entries waiting on a healthy network")
    finally:
        upstream.dispose()


def outbox(terminal: Database) -> dict[str, str | None]:
    with terminal.reading() as s:
        return dict(s.execute(select(OutboxEntry.uuid, OutboxEntry.outcome)).all())


def assert_exactly_once_upstream(terminal: Database, upstream: Database, name: str) -> None:
    """Every outbox entry of the terminal applied upstream once, its movements booked there once each."""
    with terminal.reading() as s:
        entries = set(s.scalars(select(OutboxEntry.uuid)))
        mine = set(s.scalars(select(Movement.uuid).where(Movement.origin == "local")))
        assert s.scalar(select(func.count()).select_from(OutboxEntry).where(OutboxEntry.pushed_at.is_(None))) == 0
    with upstream.reading() as s:
        applied = s.scalars(select(AppliedEntry.uuid).where(AppliedEntry.terminal == name)).all()
        booked = s.scalars(select(Movement.uuid).where(Movement.terminal == name)).all()
    assert sorted(applied) == sorted(entries)
    assert sorted(booked) == sorted(mine)


def received_upstream_and_here(terminal: Database, upstream: Database, ref: str) -> tuple[dict, dict]:
    """Received quantity per SKU on a receipt's lines, upstream and on the terminal."""
    def read(db: Database) -> dict:
        with db.reading() as s:
            return dict(s.execute(select(Item.sku, func.sum(InboundLine.qty_received)).join(InboundOrder).join(Item)
                                  .where(InboundOrder.ref == ref).group_by(Item.sku)).all())

    return read(upstream), read(terminal)


# --------------------------------------------------------------------------- the tests


def test_cuts_resets_and_stalls_mid_batch_lose_nothing_and_duplicate_nothing(demo_upstream, link, quick_guards, tmp_path):
    # given a terminal that has pulled the demo warehouse and received 160 units on PO-1001, one scan each
    t1 = pulled_terminal(tmp_path, "T1", demo_upstream)
    receive_on_po_1001(t1, "T1", "MARKER-BLK", 130)
    receive_on_po_1001(t1, "T1", "STAPLER", 24)
    receive_on_po_1001(t1, "T1", "PAPER-A4", 6)
    upstream = Database(demo_upstream, migrate=False)
    before_up, _ = received_upstream_and_here(t1, upstream, "PO-1001")
    waiting = len([o for o in outbox(t1).values() if o is None])
    assert waiting >= 160
    via_link = link.url_for(demo_upstream)

    # when it pushes in small batches while the link fails in the middle of them, one way after another
    faults = [
        ("the answer to the 2nd COMMIT is lost", lambda: link.arm("cut", message=COMMIT, nth=2)),
        ("cut mid-message", lambda: link.cut_after(2_500)),
        ("cut right after an advisory lock", lambda: link.arm("cut", message=ADVISORY_LOCK, nth=3)),
        ("every connection reset", lambda: link.arm("reset", after_bytes=9_000)),
        ("stalled mid-batch", lambda: link.arm("stall", after_bytes=4_000)),
        ("cut mid-message again", lambda: link.cut_after(15_000)),
        ("the answer to the 1st COMMIT is lost", lambda: link.arm("cut", message=COMMIT)),
    ]
    pending_after = []
    for what, fault in faults:
        upstream_link = open_upstream(via_link)
        fault()
        result = sync_in_thread(t1, upstream_link, "T1", batch_size=7)
        upstream_link.dispose()
        assert link.fired.is_set(), f"{what}: the fault never happened — the sync had too little left to send"
        assert isinstance(result, UpstreamUnavailable), f"{what}: {result!r}"
        assert "sqlalche.me" not in str(result), f"{what}: the message names the dropped connection, not SQLAlchemy's cleanup"
        link.heal()
        pending_after.append(len([o for o in outbox(t1).values() if o is None]))
    # and the network is down for a while: existing connections dropped, new ones refused
    link.refuse()
    link.reset()
    with pytest.raises(UpstreamUnavailable):
        open_upstream(via_link)
    link.heal()
    # then the next syncs on a healthy link bring everything up
    sync_until_done(t1, via_link, "T1", batch_size=7)

    assert waiting > pending_after[0] and pending_after[-1] > 0  # the faults fell mid-way, with work on both sides
    outcomes = outbox(t1)
    assert set(outcomes.values()) == {"applied", "duplicate"}  # a lost COMMIT answer came back as duplicate
    assert_exactly_once_upstream(t1, upstream, "T1")
    after_up, here = received_upstream_and_here(t1, upstream, "PO-1001")
    assert after_up == here
    assert {sku: after_up[sku] - before_up[sku] for sku in after_up} == {"MARKER-BLK": 130, "STAPLER": 24, "PAPER-A4": 6, "TAPE-48": 0}
    assert stock(t1) == stock(upstream)
    assert check_ok(t1) and check_ok(upstream)
    upstream.dispose()
    t1.dispose()


@pytest.mark.parametrize("stall_at", ["before the sync", "right after taking the push lock", "mid-pull"])
def test_a_stalled_link_ends_the_sync_as_unavailable_instead_of_hanging(demo_upstream, link, quick_guards, tmp_path, stall_at):
    # given a terminal with receipts to push, its upstream opened through the link
    t1 = pulled_terminal(tmp_path, "T1", demo_upstream)
    receive_on_po_1001(t1, "T1", "MARKER-BLK", 20)
    if stall_at == "mid-pull":
        t2 = pulled_terminal(tmp_path, "T2", demo_upstream)  # T2's receipts give T1 something to pull
        receive_on_po_1001(t2, "T2", "STAPLER", 10)
        sync_until_done(t2, demo_upstream, "T2")
        sync_until_done(t1, link.url_for(demo_upstream), "T1")
        receive_on_po_1001(t2, "T2", "STAPLER", 10)
        sync_until_done(t2, demo_upstream, "T2")
    upstream_link = open_upstream(link.url_for(demo_upstream))
    # when the link stalls: every byte held both ways, every socket left open
    if stall_at == "before the sync":
        link.stall()
    elif stall_at == "right after taking the push lock":
        link.arm("stall", message=ADVISORY_LOCK)
    else:
        link.arm("stall", message=b"change_feed")  # the pull's first read of the feed
    result = sync_in_thread(t1, upstream_link, "T1")
    upstream_link.dispose()
    # then the sync ends as unavailable (no hang), and after the link heals the next sync completes, exactly once
    assert link.fired.is_set() or stall_at == "before the sync"
    assert isinstance(result, UpstreamUnavailable), repr(result)
    assert "nothing is lost" in str(result)
    link.heal()
    sync_until_done(t1, link.url_for(demo_upstream), "T1")
    upstream = Database(demo_upstream, migrate=False)
    assert_exactly_once_upstream(t1, upstream, "T1")
    assert stock(t1) == stock(upstream)
    assert check_ok(t1) and check_ok(upstream)
    upstream.dispose()
    t1.dispose()


def test_a_terminal_that_vanishes_mid_push_does_not_hold_up_the_others_push(demo_upstream, link, quick_guards, monkeypatch, tmp_path):
    # given two terminals with receipts; T1 reaches the upstream through the link, T2 straight
    t1 = pulled_terminal(tmp_path, "T1", demo_upstream)
    t2 = pulled_terminal(tmp_path, "T2", demo_upstream)
    receive_on_po_1001(t1, "T1", "MARKER-BLK", 10)
    receive_on_po_1001(t2, "T2", "STAPLER", 10)
    t1_link = open_upstream(link.url_for(demo_upstream))
    monkeypatch.setattr(sync, "UPSTREAM_SILENCE_S", 30.0)  # T2 waits as long as production would
    t2_upstream = open_upstream(demo_upstream)
    # when T1's link goes dead right after its push took the push lock (the server never hears of it again)
    link.arm("stall", message=ADVISORY_LOCK)
    t1_sync, t1_outcome = start_sync(t1, t1_link, "T1")
    assert link.fired.wait(HANG_GUARD_S)
    # then T2's push still goes through: the server ended T1's abandoned transaction and its lock with it
    result = sync_in_thread(t2, t2_upstream, "T2")
    assert not isinstance(result, Exception), result
    assert result.push.applied > 0 and result.pending == 0
    t1_sync.join(HANG_GUARD_S)
    assert not t1_sync.is_alive() and isinstance(t1_outcome[0], UpstreamUnavailable), t1_outcome
    t1_link.dispose()
    t2_upstream.dispose()
    # and once the link heals T1 catches up: both terminals' receipts upstream once
    link.heal()
    sync_until_done(t1, link.url_for(demo_upstream), "T1")
    sync_until_done(t2, demo_upstream, "T2")
    upstream = Database(demo_upstream, migrate=False)
    assert_exactly_once_upstream(t1, upstream, "T1")
    assert_exactly_once_upstream(t2, upstream, "T2")
    assert stock(t1) == stock(t2) == stock(upstream)
    assert check_ok(upstream)
    upstream.dispose()


@pytest.mark.parametrize("trouble", ["stall", "down"])
def test_the_app_keeps_receiving_while_the_link_is_bad_and_catches_up_when_it_heals(demo_upstream, link, quick_guards, tmp_path, trouble):
    # given the real app on a terminal that has pulled the demo warehouse, syncing through the link
    terminal = pulled_terminal(tmp_path, "T1", demo_upstream)
    upstream = Database(demo_upstream, migrate=False)
    before = sum(row[-1] for row in stock(upstream))
    settings = Settings(db=str(tmp_path / "T1.sqlite"), terminal="T1", upstream=link.url_for(demo_upstream), idle_logout_seconds=0)
    app = WarehouseApp(terminal, settings, scanner=SimScanner("sim://"), terminal_name="T1", cursor_blink=False)
    lots = ["LT-NET-1", "LT-NET-2", "LT-NET-3"]

    def local_receipts() -> int:
        with terminal.reading() as s:
            return s.scalar(select(func.count()).select_from(Movement).where(Movement.doc_ref == "PO-1002"))

    async def until(pilot, condition) -> bool:
        deadline = time.monotonic() + HANG_GUARD_S
        while time.monotonic() < deadline:
            if condition():
                return True
            await pilot.pause(0.1)
        return condition()

    async def shift() -> None:
        async with app.run_test(size=(100, 24)) as pilot:
            app.scanner.feed("U1001")
            app.submit_typed("1234")
            assert await until(pilot, lambda: app.online == "online"), "the first sync never came through"
            # when the link goes bad and the worker tries to sync
            if trouble == "stall":
                link.stall()
            else:
                link.refuse()
                link.reset()
            app.scanner.feed("@SYNC")
            # then receipts still commit at once, one scan each
            app.scanner.feed("@RECEIVE")
            app.scanner.feed("PO-1002")
            for n, lot in enumerate(lots, start=1):
                app.scanner.feed(f"]C101{PASSATA}17{FAR_YYMMDD}10{lot}\x1d305")
                await pilot.pause()
                assert "Received 5" in screen_text(app)
                assert local_receipts() == n
            # and the status line says offline, with the receipts waiting
            assert await until(pilot, lambda: app.online == "offline"), "still shown online on a dead link"
            await pilot.pause()
            assert "offline" in screen_text(app) and app.unsynced >= len(lots)
            # when the link heals and the operator asks for a sync
            link.heal()
            app.scanner.feed("@SYNC")
            assert await until(pilot, lambda: app.online == "online" and app.unsynced == 0), screen_text(app)
            await pilot.pause()
            assert "online" in screen_text(app) and " 0 unsynced" in screen_text(app)

    asyncio.run(shift())
    # then the upstream holds each receipt once
    with upstream.reading() as s:
        booked = s.scalars(select(Movement.uuid).where(Movement.doc_ref == "PO-1002", Movement.terminal == "T1")).all()
    assert len(booked) == len(lots)
    assert_exactly_once_upstream(terminal, upstream, "T1")
    assert sum(row[-1] for row in stock(upstream)) == before + 5 * len(lots)
    sync_until_done(terminal, demo_upstream, "T1")
    assert stock(terminal) == stock(upstream)
    assert check_ok(terminal) and check_ok(upstream)
    upstream.dispose()
    terminal.dispose()


def test_an_online_claim_on_a_link_gone_bad_goes_provisional_instead_of_freezing_the_screen(demo_upstream, link, tmp_path,
                                                                                              monkeypatch):
    # given a released pick list and a terminal whose worker last found the upstream online through the link
    from warehouse_tui.services import auth, waves
    from warehouse_tui.sync.claims import PROVISIONAL, TAKEN
    from warehouse_tui.sync.worker import SyncWorker

    upstream = Database(demo_upstream, migrate=False)
    with upstream.transaction() as s:
        released = waves.release(s, Actor(auth.find_operator(s, "S9001"), "OFFICE"), ["ORD-10001"], batch_size=1)
    ref = released.pick_lists[0].ref
    t1 = pulled_terminal(tmp_path, "T1", demo_upstream)
    worker = SyncWorker(t1, link.url_for(demo_upstream), "T1")
    assert worker.run_once().online
    # when the link stalls and the operator takes the list: the claim's own limits, not the sync's (made
    # ten minutes here, so a claim living by them would hang this test)
    monkeypatch.setattr(sync, "UPSTREAM_SILENCE_S", 600.0)
    monkeypatch.setattr(sync, "CONNECT_TIMEOUT_S", 600)
    link.stall()
    outcome: list = []
    claim = threading.Thread(target=lambda: outcome.append(worker.claim("pick_list", ref, "U1001")), daemon=True)
    claim.start()
    claim.join(60)
    # then the claim comes back provisional (the screen goes on) rather than hanging on the network
    assert not claim.is_alive(), "the claim hung on a stalled link"
    assert outcome == [PROVISIONAL]
    # and once the link heals the same claim is taken upstream
    link.heal()
    assert worker.claim("pick_list", ref, "U1001") == TAKEN
    worker.stop()
    t1.dispose()
    upstream.dispose()
