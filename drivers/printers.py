"""Label printers: raw TCP (`socket://printer:9100`), serial (`serial:///dev/ttyUSB0?baud=9600`), files (`file:///dir`).

Each `send` is one whole job. Network and serial printers share the links of
the scanners (drivers/stream.py); a failed job raises PrinterUnavailable (an
OSError) with a message an operator can act on and leaves `state`/`detail`
saying why, so the caller can offer to print again.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from pathlib import Path

from drivers.base import DeviceState, Printer
from drivers.serial_scanner import serial_link_from_url
from drivers.stream import describe_error, parse_number, refuse_unknown_options, split_url
from drivers.tcp import TcpLink, parse_host_port

RAW_PORT = 9100


class PrinterUnavailable(OSError):
    """The job did not reach the printer; the message says what to check."""


class SocketPrinter(Printer):
    """A network printer's raw port: one connection per job, half-closed when the job is sent.

    Options: `timeout` (s to connect and to send, default 10) and `linger` (s to wait
    for the printer to close its side after the job, default 2).
    """

    def __init__(self, url: str) -> None:
        super().__init__(url)
        scheme, target, options = split_url(url)
        if scheme != "socket":
            raise ValueError(f"Not a network printer URL: {url!r}")
        self.host, self.port = parse_host_port(url, target, default_port=RAW_PORT)
        self.timeout = parse_number(options.pop("timeout", "10"), "timeout", 1, 300)
        self.linger = parse_number(options.pop("linger", "2"), "linger", 0, 60)
        refuse_unknown_options(url, options)
        self._lock = threading.Lock()

    def send(self, data: bytes) -> None:
        link = TcpLink(self.host, self.port, connect_timeout=self.timeout, write_timeout=self.timeout)
        with self._lock:
            try:
                link.open()
                link.write(data)
                link.finish()
                self._await_close(link)
            except OSError as exc:
                self.state, self.detail = DeviceState.DISCONNECTED, describe_error(exc)
                raise PrinterUnavailable(
                    f"Printer {link.description} cannot be reached ({self.detail}) — check it is on and online, then print again"
                ) from exc
            finally:
                link.close()
            self.state, self.detail = DeviceState.CONNECTED, link.description

    def _await_close(self, link: TcpLink) -> None:
        # Closing while the printer's answer sits unread would reset the connection and may
        # drop the job's last bytes; wait briefly for the printer to close its side.
        deadline = time.monotonic() + self.linger
        while (left := deadline - time.monotonic()) > 0:
            try:
                link.read(min(left, 0.2))  # a status answer, if any, is not ours to read: drop it
            except ConnectionResetError:
                return  # closed by the printer: the job is in


class SerialPrinter(Printer):
    """A printer on a serial port; the port stays open between jobs and is reopened once if a job fails."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        scheme, target, options = split_url(url)
        if scheme not in ("serial", "hwgrep"):
            raise ValueError(f"Not a serial printer URL: {url!r}")
        options.setdefault("exclusive", "no")
        self.link = serial_link_from_url(url, options, target, scheme)
        refuse_unknown_options(url, options)
        self._open = False
        self._lock = threading.Lock()

    def send(self, data: bytes) -> None:
        with self._lock:
            try:
                try:
                    self._write(data)
                except OSError:
                    self._drop()  # unplugged and back since the last job: one fresh attempt
                    self._write(data)
            except OSError as exc:
                self._drop()
                self.state, self.detail = DeviceState.DISCONNECTED, describe_error(exc)
                raise PrinterUnavailable(
                    f"Printer {self.link.description} cannot be reached ({self.detail}) — check its cable, then print again"
                ) from exc
            self.state, self.detail = DeviceState.CONNECTED, self.link.description

    def _write(self, data: bytes) -> None:
        if not self._open:
            self.link.open()
            self._open = True
        self.link.write(data)

    def _drop(self) -> None:
        self.link.close()
        self._open = False

    def close(self) -> None:
        with self._lock:
            self._drop()
            self.state = DeviceState.DISCONNECTED


class FilePrinter(Printer):
    """Writes each job to its own file in a directory (`file:///var/labels?ext=zpl`): for tests, or a spooler.

    Files appear whole (written under a temporary name, then renamed), named
    `label-<time>-<n>.<ext>` so they sort in the order printed; `last_path` is the newest.
    """

    _counter = itertools.count(1)

    def __init__(self, url: str) -> None:
        super().__init__(url)
        scheme, target, options = split_url(url)
        if scheme != "file":
            raise ValueError(f"Not a file printer URL: {url!r}")
        if not target.startswith("/") or target == "/":
            raise ValueError(f"A file printer needs a directory: file:///path/to/dir, not {url!r}")
        self.directory = Path(target)
        self.ext = options.pop("ext", "zpl").lstrip(".")
        if not self.ext.isalnum():
            raise ValueError(f"ext={self.ext!r} in {url!r}: use letters and digits, e.g. zpl")
        refuse_unknown_options(url, options)
        self.last_path: Path | None = None

    def send(self, data: bytes) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self.directory / f"label-{stamp}-{next(self._counter):06d}-{os.getpid()}.{self.ext}"
        partial = path.with_name(f".{path.name}.part")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with open(partial, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, path)
        except OSError as exc:
            self.state, self.detail = DeviceState.ERROR, describe_error(exc)
            raise PrinterUnavailable(f"Cannot write the label to {self.directory} ({self.detail}) — check the folder") from exc
        self.last_path = path
        self.state, self.detail = DeviceState.CONNECTED, str(self.directory)
