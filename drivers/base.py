"""The driver boundary: scanners yield raw scans, printers take bytes.

Drivers know nothing of the database or the UI. A driver runs its own I/O
(often a thread) and reports through two callbacks given to `open`; callbacks
may be called from any thread, so the receiver must hand them to its own loop.
"""

from __future__ import annotations

import enum
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

GS = "\x1d"
MAX_SCAN_LENGTH = 4096
# An AIM symbology identifier (ISO/IEC 15424): "]" + code letter + modifier character.
_AIM_PREFIX = re.compile(r"\][A-Za-z][0-9A-Za-z]")


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


class DeviceState(str, enum.Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    ERROR = "error"


ScanCallback = Callable[[RawScan], None]
StateCallback = Callable[[DeviceState, str], None]


class Scanner(ABC):
    """A barcode scanner selected by URL (`sim://`, `keyboard`, `serial://…`, `socket://…`)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.state = DeviceState.DISCONNECTED
        self._on_scan: ScanCallback | None = None
        self._on_state: StateCallback | None = None

    def open(self, on_scan: ScanCallback, on_state: StateCallback | None = None) -> None:
        """Start delivering scans to `on_scan` and state changes to `on_state`.

        Must not block: a device that is absent now is retried in the background
        and reported as DISCONNECTED meanwhile. Raises ValueError for a bad URL.
        """
        self._on_scan = on_scan
        self._on_state = on_state
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


class Printer(ABC):
    """A label printer selected by URL (`socket://host:9100`, `serial://…`, `file:///dir`)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.state = DeviceState.DISCONNECTED

    @abstractmethod
    def send(self, data: bytes) -> None:
        """Send one job (ZPL or raw bytes). Raises OSError when the printer cannot be reached."""

    def close(self) -> None:
        """Release the connection; safe to call twice."""
