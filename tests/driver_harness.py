"""Real devices for driver tests: pseudo-terminals that can be unplugged and replugged, local TCP servers.

No mocks: the drivers under test open real file descriptors and sockets.
Waiting is always polling with a generous deadline, never a fixed sleep.
"""

from __future__ import annotations

import fcntl
import os
import pty
import socket
import struct
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path

from drivers.base import DeviceState, RawScan, RejectedScan

DEADLINE_S = 15.0


def wait_until(predicate: Callable[[], object], timeout: float = DEADLINE_S, what: str = "condition") -> None:
    """Poll `predicate` until it is true; fail with `what` after `timeout` s (generous: machines are loaded)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.005)


class Recorder:
    """The callbacks a scanner is opened with; keeps everything it is told, thread-safely."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.scans: list[RawScan] = []
        self.states: list[tuple[DeviceState, str]] = []
        self.rejected: list[RejectedScan] = []
        self.threads: set[str] = set()

    def on_scan(self, scan: RawScan) -> None:
        with self._lock:
            self.scans.append(scan)
            self.threads.add(threading.current_thread().name)

    def on_state(self, state: DeviceState, detail: str) -> None:
        with self._lock:
            self.states.append((state, detail))

    def on_reject(self, rejected: RejectedScan) -> None:
        with self._lock:
            self.rejected.append(rejected)

    @property
    def callbacks(self):
        return self.on_scan, self.on_state, self.on_reject

    def texts(self) -> list[str]:
        with self._lock:
            return [scan.text for scan in self.scans]

    def count(self, state: DeviceState) -> int:
        with self._lock:
            return sum(1 for seen, _ in self.states if seen is state)

    def last_state(self) -> DeviceState | None:
        with self._lock:
            return self.states[-1][0] if self.states else None

    def wait_scans(self, n: int, timeout: float = DEADLINE_S) -> list[str]:
        wait_until(lambda: len(self.scans) >= n, timeout, f"{n} scans (have {len(self.scans)})")
        return self.texts()

    def wait_state(self, state: DeviceState, times: int = 1, timeout: float = DEADLINE_S) -> None:
        wait_until(lambda: self.count(state) >= times, timeout, f"state {state.value} x{times} (saw {self.states})")


class PtyDevice:
    """A serial device made of a pseudo-terminal pair, reached through a symlink the test controls.

    The driver opens `path` (the symlink), the test writes to the master side as
    the scanner would. `unplug` closes the pair and removes the link; `replug`
    makes a new pair (a new /dev/pts name, like a replugged USB device) and
    points the link at it.
    """

    def __init__(self, directory: Path, name: str = "scanner") -> None:
        self.path = directory / name
        self.master: int | None = None
        self.slave: int | None = None
        self.replug()

    @property
    def slave_name(self) -> str:
        assert self.slave is not None
        return os.ttyname(self.slave)

    def replug(self) -> None:
        self.master, self.slave = pty.openpty()
        temporary = self.path.with_name(self.path.name + ".new")
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(self.slave_name)
        os.replace(temporary, self.path)

    def unplug(self) -> None:
        self.path.unlink(missing_ok=True)
        for fd in (self.master, self.slave):
            if fd is not None:
                os.close(fd)
        self.master = self.slave = None

    def write(self, data: bytes) -> None:
        assert self.master is not None
        view = memoryview(data)
        while view:
            written = os.write(self.master, view[:4096])
            view = view[written:]

    def unread(self) -> int:
        """Bytes written but not yet read by the driver (the slave's input queue)."""
        assert self.slave is not None
        return struct.unpack("I", fcntl.ioctl(self.slave, termios.TIOCINQ, b"\0\0\0\0"))[0]

    def wait_drained(self) -> None:
        """Until the driver has read everything written so far (so the next write is a separate read)."""
        wait_until(lambda: self.unread() == 0, what="the driver to read the pty")

    def read_output(self, n: int, timeout: float = DEADLINE_S) -> bytes:
        """What the driver wrote to the device (printers): exactly `n` bytes."""
        assert self.master is not None
        received = bytearray()
        deadline = time.monotonic() + timeout
        os.set_blocking(self.master, False)
        try:
            while len(received) < n:
                try:
                    received += os.read(self.master, n - len(received))
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise AssertionError(f"got {len(received)} of {n} bytes") from None
                    time.sleep(0.005)
        finally:
            os.set_blocking(self.master, True)
        return bytes(received)

    def close(self) -> None:
        self.unplug()


class LineServer:
    """A local TCP server that a scanner connects to (one client at a time); it can go away and come back."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self._listener: socket.socket | None = None
        self._client: socket.socket | None = None
        self._lock = threading.Lock()
        self.accepted = 0
        self.received = bytearray()
        self.start()

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(4)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True, name="test server").start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self._client = client
                self.accepted += 1
            self._drain(client)

    def _drain(self, client: socket.socket) -> None:
        # Read whatever the peer sends until it closes (printers send jobs this way).
        try:
            while chunk := client.recv(65536):
                with self._lock:
                    self.received += chunk
        except OSError:
            pass
        finally:
            with self._lock:
                if self._client is client:
                    self._client = None
            client.close()

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def wait_client(self, count: int = 1) -> None:
        wait_until(lambda: self.accepted >= count and self._client is not None, what=f"client connection #{count}")

    def send(self, data: bytes) -> None:
        with self._lock:
            client = self._client
        assert client is not None, "no client connected"
        client.sendall(data)

    def stop(self) -> None:
        """The server goes away: listener and connection closed."""
        with self._lock:
            listener, self._listener = self._listener, None
            client, self._client = self._client, None
        for sock in (client, listener):
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
