"""TCP scanners (`socket://host:port?suffix=CR`): a network scanner base or serial-to-Ethernet converter.

The same URL form as pyserial's `socket://` handler, read with a plain socket
so that a read returns whatever has arrived instead of waiting for a count.
We connect as the client; when the other end goes away the scanner reports
DISCONNECTED and reconnects by itself. Options: `suffix`, `gap`, `encoding`
(see drivers/framing.py) and `connect_timeout` (s, default 3).
"""

from __future__ import annotations

import errno
import socket
from urllib.parse import urlsplit

from drivers.stream import StreamScanner, parse_framing, parse_number, refuse_unknown_options, split_url


def parse_host_port(url: str, target: str, default_port: int | None = None) -> tuple[str, int]:
    """("host", port) from the `host:port` part of a URL ("[::1]:9100" for IPv6)."""
    try:
        parts = urlsplit(f"//{target}")
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ValueError(f"Bad host:port in {url!r}") from None
    if not host:
        raise ValueError(f"No host in {url!r}: e.g. socket://192.168.1.50:4001")
    if port is None:
        if default_port is None:
            raise ValueError(f"No port in {url!r}: e.g. socket://{host}:4001")
        port = default_port
    return host, port


class TcpLink:
    """A TCP connection as a byte link; reopened (a new connection) by each `open`."""

    def __init__(self, host: str, port: int, *, connect_timeout: float = 3.0, write_timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self.write_timeout = write_timeout
        self._sock: socket.socket | None = None
        self._timeout: float | None = None

    @property
    def description(self) -> str:
        return f"{self.host}:{self.port}"

    def open(self) -> None:
        sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        # A peer that vanished without closing (cable pulled, Wi-Fi gone) is found by keepalive probes.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self._timeout = None

    def read(self, timeout: float) -> bytes:
        sock = self._require()
        if self._timeout != timeout:
            sock.settimeout(timeout)
            self._timeout = timeout
        try:
            data = sock.recv(65536)
        except TimeoutError:
            return b""
        if not data:
            raise ConnectionResetError(errno.ECONNRESET, "closed by the other end")
        return data

    def write(self, data: bytes) -> None:
        sock = self._require()
        sock.settimeout(self.write_timeout)
        self._timeout = self.write_timeout
        sock.sendall(data)

    def finish(self) -> None:
        """Tell the other end this job is complete (half-close), as raw port 9100 printers expect."""
        sock = self._require()
        sock.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def interrupt(self) -> None:
        sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _require(self) -> socket.socket:
        if self._sock is None:
            raise ConnectionError(errno.ENOTCONN, "not connected")
        return self._sock


class TcpScanner(StreamScanner):
    """A scanner reached over TCP, read by its own thread with reconnection."""

    def __init__(self, url: str) -> None:
        scheme, target, options = split_url(url)
        if scheme != "socket":
            raise ValueError(f"Not a TCP scanner URL: {url!r}")
        host, port = parse_host_port(url, target)
        framing = parse_framing(options)
        connect_timeout = parse_number(options.pop("connect_timeout", "3"), "connect_timeout", 1, 60)
        refuse_unknown_options(url, options)
        super().__init__(url, TcpLink(host, port, connect_timeout=connect_timeout), framing)
