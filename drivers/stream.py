"""The connection code every byte-stream device shares: links (serial, TCP), the reader thread, reconnection.

A `ByteLink` is one way to reach a device (a serial port, a TCP endpoint). A
`StreamScanner` runs one reader thread per scanner instance: it opens the link,
reads with a finite timeout, cuts frames (drivers/framing.py) and delivers
them; when the link fails it reports DISCONNECTED and reopens it with a short
backoff (never more than `Backoff.cap_s` between attempts), so a replugged
device is back within about a second (DESIGN §10: within 2 s).
Printers use the same links to write (drivers/printers.py).
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qsl, unquote

from drivers.base import DeviceState, RawScan, RejectedScan, Scanner
from drivers.framing import DEFAULT_GAP_S, Framer, Suffix, decode_frame

log = logging.getLogger(__name__)

# How long a read waits before the reader looks at its stop flag again.
POLL_S = 0.1


class ByteLink(Protocol):
    """One way to reach a byte-stream device. Not thread-safe except `interrupt`."""

    description: str

    def open(self) -> None:
        """Connect. Raises OSError (pyserial's SerialException is one) when the device is absent or refuses."""

    def read(self, timeout: float) -> bytes:
        """What has arrived, waiting at most `timeout` s; b"" if nothing. Raises OSError when the link is lost."""

    def write(self, data: bytes) -> None:
        """Send all of `data`. Raises OSError when the link is lost."""

    def close(self) -> None:
        """Disconnect; safe to call twice and on a link that never opened."""

    def interrupt(self) -> None:
        """Make a read in progress return early (called from another thread); may do nothing."""


@dataclass
class Backoff:
    """Delays between reconnection attempts: quick at first, then every `cap_s` until the device is back."""

    first_s: float = 0.05
    factor: float = 2.0
    cap_s: float = 1.0

    def __post_init__(self) -> None:
        self._next = self.first_s

    def next_delay(self) -> float:
        delay = self._next
        self._next = min(self.cap_s, self._next * self.factor)
        return delay

    def reset(self) -> None:
        self._next = self.first_s


@dataclass(frozen=True)
class FramingOptions:
    suffix: Suffix = Suffix.AUTO
    gap_s: float = DEFAULT_GAP_S
    encoding: str = "utf-8"


def split_url(url: str) -> tuple[str, str, dict[str, str]]:
    """`scheme://target?k=v&…` -> (scheme, target, options); the target is unquoted, not parsed further."""
    if "://" not in url:
        raise ValueError(f"Not a device URL: {url!r} (expected scheme://…)")
    scheme, rest = url.split("://", 1)
    target, _, query = rest.partition("?")
    try:
        options = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    except ValueError:
        raise ValueError(f"Bad options in {url!r}: expected ?name=value&…") from None
    return scheme.lower(), unquote(target), {k.lower(): v for k, v in options.items()}


def parse_framing(query: dict[str, str]) -> FramingOptions:
    """`suffix`, `gap` (ms, with suffix NONE) and `encoding` from a URL query; pops what it uses."""
    suffix = Suffix.parse(query.pop("suffix", "auto"))
    gap_ms = parse_number(query.pop("gap", str(int(DEFAULT_GAP_S * 1000))), "gap", 1, 10_000)
    encoding = query.pop("encoding", "utf-8")
    try:
        "".encode(encoding)
    except LookupError:
        raise ValueError(f"Unknown encoding {encoding!r}") from None
    return FramingOptions(suffix, gap_ms / 1000, encoding)


def parse_number(text: str, name: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name}={text!r} is not a whole number") from None
    if not low <= value <= high:
        raise ValueError(f"{name}={value} is out of range ({low}..{high})")
    return value


def refuse_unknown_options(url: str, query: dict[str, str]) -> None:
    if query:
        raise ValueError(f"Unknown option(s) in {url!r}: {', '.join(sorted(query))}")


def describe_error(exc: BaseException) -> str:
    """A short, readable reason for a failed open or read."""
    number = getattr(exc, "errno", None)
    if number == errno.EACCES:
        return "permission denied (is the user in the dialout/input group?)"
    if number == errno.ENOENT:
        return "not plugged in"
    if number in (errno.EBUSY, errno.EAGAIN):
        return "in use by another program"
    if number == errno.ECONNREFUSED:
        return "connection refused"
    text = str(exc) or type(exc).__name__
    # A USB serial device pulled out: Linux reports EIO, or "ready" with nothing to read (pyserial).
    if number == errno.EIO or "returned no data" in text or "Input/output error" in text:
        return "unplugged"
    return text[:120]


class StreamScanner(Scanner):
    """A scanner behind a ByteLink, read by its own thread; subclasses build the link from the URL."""

    poll_s = POLL_S

    def __init__(self, url: str, link: ByteLink, framing: FramingOptions, *, backoff: Backoff | None = None) -> None:
        super().__init__(url)
        self.link = link
        self.framing = framing
        self.backoff = backoff or Backoff()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._state_lock = threading.Lock()
        self._last_report: tuple[DeviceState, str] | None = None

    # ------------------------------------------------------------------ Scanner
    def _start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            if not self._stop.is_set():
                return  # already running
            self._thread.join(timeout=2.0)  # closed a moment ago: let the old reader finish first
        self._stop.clear()
        self._report(DeviceState.CONNECTING, self.link.description)
        self._thread = threading.Thread(target=self._run, name=f"scanner {self.url}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the reader thread (waits up to 2 s for it) and release the device; safe to call twice.

        No scan is delivered once close has begun, so a receiver that is shutting
        down (and may not be able to take one) is never called again.
        """
        self._on_scan = None
        self._on_reject = None
        self._stop.set()
        self.link.interrupt()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
        if thread is not None and not thread.is_alive():
            self._thread = None
        self._report(DeviceState.DISCONNECTED, "closed")

    # ------------------------------------------------------------------ the reader thread
    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if not self._connect():
                    self._stop.wait(self.backoff.next_delay())
                    continue
                self.backoff.reset()
                self._read_until_lost()
                if not self._stop.is_set():
                    self._stop.wait(self.backoff.next_delay())
        finally:
            self.link.close()

    def _connect(self) -> bool:
        try:
            self.link.open()
        except OSError as exc:
            self.link.close()
            state = DeviceState.ERROR if getattr(exc, "errno", None) == errno.EACCES else DeviceState.DISCONNECTED
            self._report(state, f"{self.link.description}: {describe_error(exc)}")
            return False
        except Exception as exc:  # a driver bug must not end the thread: report it and keep trying
            log.exception("%s: opening failed", self.url)
            self.link.close()
            self._report(DeviceState.ERROR, f"{self.link.description}: {describe_error(exc)}")
            return False
        if self._stop.is_set():
            return False
        self._report(DeviceState.CONNECTED, self.link.description)
        return True

    def _read_until_lost(self) -> None:
        framer = Framer(self.framing.suffix, gap_s=self.framing.gap_s)
        timeout = framer.timeout_hint(self.poll_s)
        try:
            while not self._stop.is_set():
                data = self.link.read(timeout)
                now = time.monotonic()
                frames = framer.feed(data, now) if data else framer.idle(now)
                for frame in frames:
                    self._dispatch(frame)
        except OSError as exc:
            if not self._stop.is_set():
                self._report(DeviceState.DISCONNECTED, f"{self.link.description}: lost ({describe_error(exc)})")
        except Exception as exc:
            log.exception("%s: reading failed", self.url)
            self._report(DeviceState.ERROR, f"{self.link.description}: {describe_error(exc)}")
        finally:
            self.link.close()

    def _dispatch(self, frame) -> None:
        text, problem = decode_frame(frame, self.framing.encoding)
        try:
            if text is None:
                self._reject(RejectedScan(problem or "refused", frame.data[:64], frame.at, self.url))
            else:
                self._deliver(RawScan(text=text, at=frame.at, source=self.url))
        except Exception:  # the receiver's bug must not stop the scanner
            log.exception("%s: the scan callback failed", self.url)

    def _report(self, state: DeviceState, detail: str) -> None:
        with self._state_lock:
            if self._last_report == (state, detail):
                return
            self._last_report = (state, detail)
        try:
            self._set_state(state, detail)
        except Exception:
            log.exception("%s: the state callback failed", self.url)
