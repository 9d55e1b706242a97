"""TCP scanners (`socket://host:port`) against a real local server: framing, refusals, the server going away and back."""

from __future__ import annotations

import socket

import pytest
from driver_harness import LineServer, Recorder, wait_until

from drivers.base import GS, DeviceState
from drivers.registry import scanner_for
from drivers.tcp import TcpScanner


@pytest.fixture
def server():
    srv = LineServer()
    yield srv
    srv.stop()


@pytest.fixture
def open_scanner():
    opened: list[TcpScanner] = []

    def factory(url: str) -> tuple[TcpScanner, Recorder]:
        recorder = Recorder()
        scanner = TcpScanner(url)
        scanner.open(*recorder.callbacks)
        opened.append(scanner)
        return scanner, recorder

    yield factory
    for scanner in opened:
        scanner.close()


def connected(server: LineServer, open_scanner, options: str = "") -> Recorder:
    _, recorder = open_scanner(server.url + options)
    recorder.wait_state(DeviceState.CONNECTED)
    server.wait_client()
    return recorder


def test_scans_arrive_framed_with_symbology_and_gs(server, open_scanner):
    recorder = connected(server, open_scanner, "?suffix=CRLF")

    server.send(b"]C1010950110153000317261231101234AB\x1d21SN1\r\nA-01-01\r")
    server.send(b"\n")

    recorder.wait_scans(2)
    assert [(s.symbology, s.text) for s in recorder.scans] == [
        ("C1", "010950110153000317261231101234AB" + GS + "21SN1"), (None, "A-01-01")]


def test_no_suffix_mode_works_over_tcp_too(server, open_scanner):
    recorder = connected(server, open_scanner, "?suffix=NONE&gap=30")

    server.send(b"TOTE-0001")
    recorder.wait_scans(1)
    server.send(b"TOTE-0002")

    assert recorder.wait_scans(2) == ["TOTE-0001", "TOTE-0002"]


def test_garbage_and_over_long_frames_are_refused_and_reading_goes_on(server, open_scanner):
    recorder = connected(server, open_scanner)

    server.send(b"\xff\xfe\xfd\r" + b"Y" * 200_000 + b"\rSTILL-HERE\r")

    assert recorder.wait_scans(1) == ["STILL-HERE"]
    assert ["not text" in r.reason or "too long" in r.reason for r in recorder.rejected] == [True, True]


def test_server_going_away_and_coming_back_reconnects_without_losing_scans(server, open_scanner):
    recorder = connected(server, open_scanner)
    server.send(b"BEFORE\r")
    recorder.wait_scans(1)

    server.stop()
    recorder.wait_state(DeviceState.DISCONNECTED)
    wait_until(lambda: "connection refused" in recorder.states[-1][1], what="the refused reconnection attempts")
    server.start()  # the same port again
    recorder.wait_state(DeviceState.CONNECTED, times=2)
    server.wait_client(2)
    expected = [f"AFTER-{i:04d}" for i in range(1000)]
    server.send("".join(f"{t}\r" for t in expected).encode())

    assert recorder.wait_scans(1001) == ["BEFORE", *expected]


def test_a_server_not_yet_listening_is_waited_for(open_scanner):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # a free port, nobody listening
    _, recorder = open_scanner(f"socket://127.0.0.1:{port}")
    wait_until(lambda: recorder.count(DeviceState.DISCONNECTED) >= 1, what="disconnected")

    late = LineServer(port)
    try:
        recorder.wait_state(DeviceState.CONNECTED)
        late.wait_client()
        late.send(b"FINALLY\r")
        assert recorder.wait_scans(1) == ["FINALLY"]
    finally:
        late.stop()


def test_two_tcp_scanners_are_independent(open_scanner):
    first, second = LineServer(), LineServer()
    try:
        one = connected(first, open_scanner)
        two = connected(second, open_scanner)

        first.send(b"ONE\r")
        second.send(b"TWO\r")

        assert one.wait_scans(1) == ["ONE"]
        assert two.wait_scans(1) == ["TWO"]
        assert one.threads != two.threads
    finally:
        first.stop()
        second.stop()


def test_the_registry_gives_a_tcp_scanner_for_socket_urls(server):
    scanner = scanner_for(server.url + "?suffix=CR")

    assert isinstance(scanner, TcpScanner)
    assert scanner.link.port == server.port


@pytest.mark.parametrize(("url", "problem"), [
    ("socket://scanner-base", "No port"),
    ("socket://:4001", "No host"),
    ("socket://base:4001?suffix=EOT", "suffix"),
    ("socket://base:4001?logging=debug", "logging"),
    ("socket://base:99999", "host:port"),
])
def test_a_bad_tcp_url_is_refused_naming_the_problem(url, problem):
    with pytest.raises(ValueError, match=problem):
        TcpScanner(url)
