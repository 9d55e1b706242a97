"""`warehouse-tui scanner test URL` and `scanner ports`: see what a device really sends, before blaming the app.

The code of those two CLI commands (a check of a scanner, not a test module).
It sits above drivers/ (drivers know nothing of the database): to show what
the resolver makes of each scan it uses the scan layer and, with a database,
its catalog.
"""

from __future__ import annotations

import codecs
import os
import select
import sys
import threading
import time
from glob import glob
from typing import TYPE_CHECKING, TextIO

from drivers.base import DeviceState, RawScan, RejectedScan, Scanner
from drivers.keyboard import KeyboardWedge

if TYPE_CHECKING:
    from warehouse_tui.db.engine import Database

# AIM symbology identifiers (without "]") a technician is likely to meet.
SYMBOLOGIES = {
    "A0": "Code 39", "C0": "Code 128", "C1": "GS1-128", "E0": "EAN-13/UPC-A", "E4": "EAN-8",
    "I0": "ITF", "I1": "ITF (check digit)", "d1": "Data Matrix", "d2": "GS1 DataMatrix",
    "Q1": "QR Code", "Q3": "GS1 QR Code", "e0": "GS1 DataBar", "J1": "GS1 DotCode", "L0": "PDF417",
    "z0": "Aztec", "X0": "other",
}


class EmptyCatalog:
    """A ScanCatalog that knows nothing: without a database, shows only what the scan itself says."""

    def item_by_code(self, code: str):
        return None

    def bin_by_code(self, code: str):
        return None

    def container_by_code(self, code: str):
        return None

    def document_by_ref(self, ref: str):
        return None

    def badge_exists(self, badge: str) -> bool:
        return False

    def lot_exists(self, code: str) -> bool:
        return False


class _Report:
    """Formats what the scanner does, one block per event; safe to call from the reader thread."""

    def __init__(self, db: Database | None, out: TextIO) -> None:
        self.db = db
        self.out = out
        self._lock = threading.Lock()
        self.scans = 0

    def write(self, text: str) -> None:
        with self._lock:
            self.out.write(text + "\n")
            self.out.flush()

    def state(self, state: DeviceState, detail: str) -> None:
        self.write(f"state    {state.value}" + (f"  ({detail})" if detail else ""))

    def rejected(self, rejected: RejectedScan) -> None:
        self.write(f"refused  {rejected.reason}\n         bytes {rejected.data!r}")

    def scan(self, raw: RawScan) -> None:
        self.scans += 1
        symbology = f"]{raw.symbology} {SYMBOLOGIES.get(raw.symbology, '')}".rstrip() if raw.symbology else "none sent"
        lines = [f"scan     {raw.text!r}", f"         symbology {symbology}; {len(raw.text)} characters"]
        gs1 = _gs1_hri(raw)
        if gs1:
            lines.append(f"         gs1 {gs1}")
        lines.append(f"      -> {self._resolved(raw)}")
        self.write("\n".join(lines))

    def _resolved(self, raw: RawScan) -> str:
        from warehouse_tui.errors import WarehouseError
        from warehouse_tui.scan.resolver import resolve
        from warehouse_tui.scan.types import ScanKind

        # What it names, not what a prompt would make of an unknown code (a new tote, a lot).
        expects = frozenset({ScanKind.COMMAND, ScanKind.ITEM, ScanKind.BIN, ScanKind.DOCUMENT, ScanKind.BADGE})
        try:
            if self.db is None:
                scan = resolve(raw, expects, EmptyCatalog())
            else:
                from warehouse_tui.services.catalog import SqlCatalog

                with self.db.reading() as session:
                    scan = resolve(raw, expects, SqlCatalog(session))
        except WarehouseError as exc:
            return f"refused: {exc}"
        except Exception as exc:  # a resolver bug: show it, keep testing
            return f"resolver failed: {type(exc).__name__}: {exc}"
        shown = {name: value for name, value in vars(scan).items()
                 if value not in (None, False) and name not in ("kind", "text", "symbology")}
        return f"{scan.kind.value} " + " ".join(f"{name}={value}" for name, value in shown.items())


def _gs1_hri(raw: RawScan) -> str | None:
    from biip import BiipException
    from biip.gs1_messages import GS1Message

    from warehouse_tui.scan.gs1 import GS1_SYMBOLOGIES

    if raw.symbology not in GS1_SYMBOLOGIES and "\x1d" not in raw.text:
        return None
    try:
        return GS1Message.parse(raw.text).as_hri()
    except (BiipException, ValueError) as exc:
        return f"not valid GS1 ({exc})"


def run_scanner_test(url: str, db: Database | None, out: TextIO, *, stop: threading.Event | None = None,
                     stdin: TextIO | None = None, gs_substitute: str | None = None) -> int:
    """Open the scanner at `url` and print each scan, refused frame and state change until Ctrl+C (or `stop`).

    Returns 0 after Ctrl+C, 2 for a URL no driver takes. `keyboard` reads this
    terminal (`stdin`) key by key and tells scanner bursts from typing.
    """
    from drivers.registry import scanner_for

    report = _Report(db, out)
    stop = stop or threading.Event()
    try:
        scanner: Scanner = (KeyboardWedge(url, gs_substitute=gs_substitute) if url == "keyboard" else scanner_for(url))
    except ValueError as exc:
        print(f"error: {exc}", file=out)
        return 2
    report.write(f"Testing {url} — scan some barcodes; Ctrl+C ends")
    try:
        if isinstance(scanner, KeyboardWedge):
            _read_terminal(scanner, report, stop, stdin or sys.stdin)
        else:
            scanner.open(report.scan, report.state, report.rejected)
            while not stop.wait(0.2):
                pass
    except KeyboardInterrupt:
        pass
    finally:
        scanner.close()
    report.write(f"{report.scans} scan(s)")
    return 0


def _read_terminal(wedge: KeyboardWedge, report: _Report, stop: threading.Event, stdin: TextIO) -> None:
    """Feed the wedge this terminal's keys with their times; a line typed by hand is shown as typed."""
    import termios
    import tty

    fd = stdin.fileno()
    saved = termios.tcgetattr(fd) if os.isatty(fd) else None
    if saved is not None:
        # Key by key, no echo, Ctrl+C still interrupts; TCSANOW keeps keys already pressed.
        tty.setcbreak(fd, termios.TCSANOW)
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    typed: list[str] = []
    try:
        wedge.open(report.scan, report.state, report.rejected)  # "connected" once the terminal is ready
        while not stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                continue
            data = os.read(fd, 4096)
            if not data:
                return
            now = time.monotonic()
            for char in decoder.decode(data):
                if char in "\r\n":
                    if wedge.enter(now) is None and typed:
                        report.write(f"typed    {''.join(typed)!r} (keys too slow for a scanner: not a scan)")
                    typed.clear()
                elif char in "\x7f\b":
                    wedge.backspace()
                    if typed:
                        typed.pop()
                else:
                    wedge.key(char, now)
                    typed.append(char)
    finally:
        if saved is not None:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def list_ports(out: TextIO) -> int:
    """Print the serial ports (and keyboard-type input devices) with the URLs that would open them."""
    import serial.tools.list_ports

    ports = sorted(serial.tools.list_ports.comports(), key=lambda port: port.device)
    if not ports:
        print("No serial ports found.", file=out)
    for port in ports:
        print(f"{port.device}  {port.description}  [{port.hwid}]", file=out)
        urls = [f"serial://{port.device}?baud=9600"]
        if port.vid is not None and port.pid is not None:
            urls.append(f"hwgrep://{port.vid:04x}:{port.pid:04x}")
        print(f"    {'  or  '.join(urls)}", file=out)
    keyboards = sorted(glob("/dev/input/by-id/*-event-kbd"))
    if keyboards:
        print("Keyboard-type devices (USB scanners in keyboard mode):", file=out)
        for path in keyboards:
            print(f"    evdev://{path}", file=out)
    return 0
