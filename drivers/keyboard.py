"""Keyboard wedge (`keyboard`): a scanner that types. Tells a scan burst from a person by timing.

The TUI owns the keyboard, so this driver does not read a device: the app hands
it each key with its time (`key`), and it reports whether the line that Enter
closed arrived as a burst (a scan) or was typed. Ctrl+] (what a terminal sends
for GS) and a configured printable substitute both become GS.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.base import GS, DeviceState, RawScan, Scanner

CTRL_RIGHT_BRACKET = "\x1d"  # terminals deliver Ctrl+] as 0x1D, which is GS itself


@dataclass
class WedgeTiming:
    # A scanner types a character every 1-10 ms; people rarely type faster than 40 ms apart.
    max_gap_s: float = 0.035
    min_length: int = 4


class KeyboardWedge(Scanner):
    def __init__(self, url: str = "keyboard", *, gs_substitute: str | None = None, timing: WedgeTiming | None = None) -> None:
        super().__init__(url)
        self.gs_substitute = gs_substitute or None
        self.timing = timing or WedgeTiming()
        self._chars: list[str] = []
        self._times: list[float] = []

    def _start(self) -> None:
        self._set_state(DeviceState.CONNECTED, "keyboard wedge")

    def close(self) -> None:
        self._set_state(DeviceState.DISCONNECTED, "closed")

    def map_char(self, char: str) -> str:
        if char == CTRL_RIGHT_BRACKET or (self.gs_substitute and char == self.gs_substitute):
            return GS
        return char

    def key(self, char: str, at: float) -> None:
        """One printable key (or Ctrl+]) at monotonic time `at`."""
        self._chars.append(self.map_char(char))
        self._times.append(at)

    def backspace(self) -> None:
        if self._chars:
            self._chars.pop()
            self._times.pop()

    def reset(self) -> None:
        self._chars.clear()
        self._times.clear()

    def is_burst(self, times: list[float] | None = None) -> bool:
        times = self._times if times is None else times
        if len(times) < self.timing.min_length:
            return False
        gaps = [b - a for a, b in zip(times, times[1:])]
        return max(gaps) <= self.timing.max_gap_s

    def enter(self, at: float) -> RawScan | None:
        """Enter closes the line: a burst becomes a scan (delivered and returned); typing returns None."""
        text = "".join(self._chars)
        burst = self.is_burst()
        self.reset()
        if not burst or not text:
            return None
        scan = RawScan(text=text, symbology=None, at=at, source=self.url)
        self._deliver(scan)
        return scan
