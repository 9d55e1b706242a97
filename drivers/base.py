"""The driver boundary: scanners yield raw scans, printers take bytes.

Drivers know nothing of the database or the UI. A driver runs its own I/O
(often a thread) and reports through the callbacks given to `open`: scans,
state changes and refused frames. Callbacks may be called from any thread (a
device driver calls them from its reader thread, one scan at a time, in the
order read), so the receiver must hand them to its own loop and return soon.
"""

from __future__ import annotations

import enum
import logging
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

GS = "\x1d"
MAX_SCAN_LENGTH = 4096
# An AIM symbology identifier (ISO/IEC 15424): "]" + code letter + modifier character.
_AIM_PREFIX = re.compile(r"\][A-Za-z][0-9A-Za-z]")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RawScan:
    """What a scanner read: the text (GS for FNC1), the AIM symbology identifier if sent, when.

    `symbology` is kept without its leading "]" ("C1", "d2", "E0"). When the driver
    gives none but the text starts with an identifier, it is split off the text.
    """

    text: str
    symbology: str | None = None
    at: float = field(default_factory=time.monotonic)
    source: str = ""

    def __post_init__(self) -> None:
        if self.symbology is not None:
            object.__setattr__(self, "symbology", self.symbology.removeprefix("]") or None)
        elif isinstance(self.text, str) and _AIM_PREFIX.match(self.text):
            object.__setattr__(self, "symbology", self.text[1:3])
            object.__setattr__(self, "text", self.text[3:])


@dataclass(frozen=True)
class RejectedScan:
    """A frame the driver refused (not valid text, a control character, too long), never delivered as a scan.

    `reason` is operator-readable and says what to do next; `data` holds at most
    the first 64 bytes of the frame, for the log.
    """

    reason: str
    data: bytes = b""
    at: float = field(default_factory=time.monotonic)
    source: str = ""


class DeviceState(str, enum.Enum):
    CONNECTING = "connecting"      # first attempt under way
    CONNECTED = "connected"        # scans can arrive
    DISCONNECTED = "disconnected"  # absent or lost; the driver keeps retrying by itself
    ERROR = "error"                # present but unusable (permission, missing library); detail says why


ScanCallback = Callable[[RawScan], None]
StateCallback = Callable[[DeviceState, str], None]
RejectCallback = Callable[[RejectedScan], None]


class Scanner(ABC):
    """A barcode scanner selected by URL (`sim://`, `keyboard`, `serial://…`, `socket://…`, `evdev://…`).

    Each instance is one device with its own I/O: two scanners on one terminal
    are two instances. The constructor parses the URL and raises ValueError
    (naming the problem) for a bad one; it touches no device.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.state = DeviceState.DISCONNECTED
        self._on_scan: ScanCallback | None = None
        self._on_state: StateCallback | None = None
        self._on_reject: RejectCallback | None = None

    def open(self, on_scan: ScanCallback, on_state: StateCallback | None = None,
             on_reject: RejectCallback | None = None) -> None:
        """Start delivering scans to `on_scan`, state changes to `on_state`, refused frames to `on_reject`.

        Must not block: a device that is absent now is retried in the background
        and reported as DISCONNECTED meanwhile. Raises ValueError for a bad URL.
        Without `on_reject`, a refused frame is logged and reported to `on_state`
        as the unchanged state with the detail "scan refused: <reason>".
        """
        self._on_scan = on_scan
        self._on_state = on_state
        self._on_reject = on_reject
        self._start()

    @abstractmethod
    def _start(self) -> None: ...

    @abstractmethod
    def close(self) -> None:
        """Stop delivering scans and release the device; safe to call twice."""

    def _set_state(self, state: DeviceState, detail: str = "") -> None:
        self.state = state
        if self._on_state is not None:
            self._on_state(state, detail)

    def _deliver(self, scan: RawScan) -> None:
        if self._on_scan is not None:
            self._on_scan(scan)

    def _reject(self, rejected: RejectedScan) -> None:
        log.warning("%s: refused a frame: %s (%r)", self.url, rejected.reason, rejected.data)
        if self._on_reject is not None:
            self._on_reject(rejected)
        elif self._on_state is not None:
            self._on_state(self.state, f"scan refused: {rejected.reason}")


class Printer(ABC):
    """A label printer selected by URL (`socket://host:9100`, `serial://…`, `file:///dir`).

    `state` tells the last outcome: CONNECTED after a job went through,
    DISCONNECTED or ERROR (with `detail`) after one failed. The constructor
    raises ValueError for a bad URL and touches no device.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.state = DeviceState.DISCONNECTED
        self.detail = ""

    @abstractmethod
    def send(self, data: bytes) -> None:
        """Send one job (ZPL or raw bytes) whole. Raises OSError when the printer cannot be reached."""

    def send_zpl(self, zpl: str) -> None:
        """Send one ZPL job; UTF-8, which ZPL reads with `^CI28`. Raises OSError like `send`."""
        self.send(zpl.encode("utf-8"))

    def close(self) -> None:
        """Release the connection; safe to call twice."""
