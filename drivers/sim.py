"""The simulated scanner (`sim://`): tests, replay and the demo feed it scans by hand."""

from __future__ import annotations

from drivers.base import GS, DeviceState, RawScan, Scanner


class SimScanner(Scanner):
    """Delivers each `feed` at once, through the same callbacks as a real device."""

    def _start(self) -> None:
        self._set_state(DeviceState.CONNECTED, "simulated")

    def close(self) -> None:
        if self.state != DeviceState.DISCONNECTED:
            self._set_state(DeviceState.DISCONNECTED, "closed")

    def feed(self, text: str, symbology: str | None = None) -> None:
        """Deliver a scan; `\\x1d` in text is GS. An AIM identifier may lead the text (`]C1…`)."""
        self._deliver(RawScan(text=text, symbology=symbology, source=self.url))

    def unplug(self) -> None:
        self._set_state(DeviceState.DISCONNECTED, "unplugged")

    def replug(self) -> None:
        self._set_state(DeviceState.CONNECTED, "simulated")


__all__ = ["GS", "SimScanner"]
