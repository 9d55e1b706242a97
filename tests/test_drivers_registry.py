"""Drivers are found by URL scheme through the entry-point group `warehouse_tui.drivers` (CONVENTIONS: Harlequin)."""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

import pytest

from drivers import registry
from drivers.base import DeviceState, Printer, RawScan, Scanner
from drivers.evdev_scanner import EvdevScanner
from drivers.keyboard import KeyboardWedge
from drivers.printers import FilePrinter, SerialPrinter, SocketPrinter
from drivers.registry import GROUP, printer_for, scanner_for
from drivers.serial_scanner import SerialScanner
from drivers.sim import SimScanner
from drivers.tcp import TcpScanner


class DockDoorScanner(Scanner):
    """A site's own hardware, registered from outside this project."""

    def _start(self) -> None:
        self._set_state(DeviceState.CONNECTED, "dock door")
        self._deliver(RawScan(text="]C1" + self.url.split("://", 1)[1], source=self.url))

    def close(self) -> None:
        self._set_state(DeviceState.DISCONNECTED, "closed")


class NotADriver:
    def __init__(self, url: str) -> None:
        self.url = url


def _with_extra(monkeypatch, **extra: str) -> None:
    """The installed entry points plus real EntryPoint objects for this module's classes."""
    installed = list(entry_points(group=GROUP))
    added = [EntryPoint(name=name, value=f"{__name__}:{target}", group=GROUP) for name, target in extra.items()]
    monkeypatch.setattr(registry, "entry_points", lambda group: [*installed, *added] if group == GROUP else [])


@pytest.mark.parametrize(("url", "cls"), [
    ("sim://", SimScanner),
    ("keyboard", KeyboardWedge),
    ("serial:///dev/ttyACM0?baud=9600&suffix=CR", SerialScanner),
    ("SERIAL:///dev/ttyUSB0", SerialScanner),
    ("hwgrep://0c2e:0b61", SerialScanner),
    ("socket://192.168.1.50:4001", TcpScanner),
    ("evdev:///dev/input/by-id/usb-Honeywell-event-kbd?layout=de", EvdevScanner),
])
def test_installed_scanner_drivers_are_found_by_scheme(url, cls):
    scanner = scanner_for(url)

    assert type(scanner) is cls
    assert scanner.url == url
    assert scanner.state is DeviceState.DISCONNECTED  # nothing opened yet


@pytest.mark.parametrize(("url", "cls"), [
    ("socket://zebra-dock-1:9100", SocketPrinter),
    ("serial:///dev/ttyUSB0?baud=9600", SerialPrinter),
    ("hwgrep://0a5f:", SerialPrinter),
    ("file:///var/spool/labels", FilePrinter),
])
def test_installed_printer_drivers_are_found_by_scheme(url, cls):
    assert type(printer_for(url)) is cls


def test_socket_names_a_scanner_or_a_printer_by_what_is_asked_for():
    assert isinstance(scanner_for("socket://dock:9100"), TcpScanner)
    assert isinstance(printer_for("socket://dock:9100"), SocketPrinter)
    assert "socket" in registry.scanner_schemes() and "socket" in registry.printer_schemes()


def test_an_unknown_scheme_names_the_known_ones_and_no_printer_entries():
    with pytest.raises(ValueError) as refused:
        scanner_for("usb-hid://1")

    message = str(refused.value)
    assert "No scanner driver for 'usb-hid'" in message
    for scheme in ("evdev", "hwgrep", "keyboard", "serial", "sim", "socket"):
        assert scheme in message
    assert "printer." not in message
    with pytest.raises(ValueError, match="No printer driver for 'keyboard'"):
        printer_for("keyboard")


def test_a_site_registers_its_own_scanner_without_forking(monkeypatch):
    _with_extra(monkeypatch, dockdoor="DockDoorScanner")
    seen: list[RawScan] = []

    scanner = scanner_for("dockdoor://01095011015300031")
    scanner.open(seen.append)

    assert isinstance(scanner, DockDoorScanner)
    assert scanner.state is DeviceState.CONNECTED
    assert [(s.symbology, s.text) for s in seen] == [("C1", "01095011015300031")]
    assert "dockdoor" in registry.scanner_schemes()


def test_an_entry_point_that_is_not_a_scanner_is_refused(monkeypatch):
    _with_extra(monkeypatch, bogus="NotADriver", **{"printer.bogus": "DockDoorScanner"})

    with pytest.raises(ValueError, match="is not a Scanner"):
        scanner_for("bogus://x")
    with pytest.raises(ValueError, match="is not a Printer"):
        printer_for("bogus://x")


def test_options_reach_the_driver():
    wedge = scanner_for("keyboard", gs_substitute="|")

    assert isinstance(wedge, KeyboardWedge) and wedge.gs_substitute == "|"


def test_a_refused_frame_without_a_reject_callback_reaches_the_state_callback():
    from drivers.base import RejectedScan

    states: list[tuple[DeviceState, str]] = []
    scanner = SimScanner("sim://")
    scanner.open(lambda scan: None, lambda state, detail: states.append((state, detail)))

    scanner._reject(RejectedScan("Scan is too long — scan again"))

    assert states[-1] == (DeviceState.CONNECTED, "scan refused: Scan is too long — scan again")
    assert issubclass(SocketPrinter, Printer)
