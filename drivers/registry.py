"""Find a driver by URL scheme through the entry-point group `warehouse_tui.drivers`.

A scanner registers under its scheme (`serial = "drivers.serial_scanner:SerialScanner"`),
a printer under `printer.` + its scheme (`"printer.socket" = "drivers.printers:SocketPrinter"`),
so `socket://` can name both a network scanner and a network printer. A site adds
its own hardware by declaring entry points in its own package: no fork needed.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

from drivers.base import Printer, Scanner

GROUP = "warehouse_tui.drivers"
PRINTER_PREFIX = "printer."


def scheme_of(url: str) -> str:
    return (url.split("://", 1)[0] if "://" in url else url).lower()


def _drivers() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def scanner_schemes() -> list[str]:
    return sorted(name for name in _drivers() if not name.startswith(PRINTER_PREFIX))


def printer_schemes() -> list[str]:
    return sorted(name.removeprefix(PRINTER_PREFIX) for name in _drivers() if name.startswith(PRINTER_PREFIX))


def _load(url: str, name: str, kind: str, known: list[str], base: type) -> type:
    found = _drivers()
    if name not in found:
        raise ValueError(f"No {kind} driver for {scheme_of(url)!r} (known: {', '.join(known) or 'none installed'})")
    cls = found[name].load()
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ValueError(f"The {kind} driver registered for {scheme_of(url)!r} ({found[name].value}) is not a {base.__name__}")
    return cls


def scanner_for(url: str, **options) -> Scanner:
    """A Scanner for `url` (not yet open); raises ValueError naming the known schemes when none matches,
    or the URL's problem when the driver refuses it."""
    cls = _load(url, scheme_of(url), "scanner", scanner_schemes(), Scanner)
    return cls(url, **options) if options else cls(url)


def printer_for(url: str) -> Printer:
    """A Printer for `url`; raises ValueError like `scanner_for`."""
    cls = _load(url, PRINTER_PREFIX + scheme_of(url), "printer", printer_schemes(), Printer)
    return cls(url)
