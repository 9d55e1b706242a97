"""Find a driver by URL scheme through the entry-point group `warehouse_tui.drivers`."""

from __future__ import annotations

from importlib.metadata import entry_points

from drivers.base import Scanner

GROUP = "warehouse_tui.drivers"


def scheme_of(url: str) -> str:
    return url.split("://", 1)[0] if "://" in url else url


def scanner_for(url: str, **options) -> Scanner:
    """A Scanner for `url`; raises ValueError naming the known schemes when none matches."""
    scheme = scheme_of(url)
    found = {ep.name: ep for ep in entry_points(group=GROUP)}
    if scheme not in found:
        known = ", ".join(sorted(found)) or "none installed"
        raise ValueError(f"No scanner driver for {scheme!r} (known: {known})")
    cls = found[scheme].load()
    return cls(url, **options) if options else cls(url)
