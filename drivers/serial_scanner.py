"""Serial scanners (`serial:///dev/ttyACM0?baud=9600&suffix=CR`, `hwgrep://VID:PID`) through pyserial.

URL options (all optional): `baud` (9600), `bytesize` (8; or 7), `parity`
(N, E, O, M, S), `stopbits` (1 or 2), `flow` (none, rtscts, xonxoff),
`exclusive` (yes: no second program may open the port), plus the framing
options `suffix` (AUTO, CR, LF, CRLF, NONE), `gap` (ms of silence that ends a
frame with suffix NONE; 50) and `encoding` (utf-8). Unknown options are an
error that names them.

`hwgrep://0c2e:0b61` follows a device by what it is rather than where it is:
at every (re)connection the first port whose name, description or hardware id
matches the pattern (a regular expression, as pyserial's hwgrep) is opened, so
a scanner that comes back as /dev/ttyACM1 is found again.

The module is not called `serial.py` so that `import serial` always means pyserial.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass

import serial
import serial.tools.list_ports

from drivers.stream import (
    POLL_S,
    FramingOptions,
    StreamScanner,
    parse_framing,
    parse_number,
    refuse_unknown_options,
    split_url,
)

PortFinder = Callable[[str], "str | None"]

_PARITIES = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD,
             "M": serial.PARITY_MARK, "S": serial.PARITY_SPACE}
_YES = {"1", "yes", "true", "on"}
_NO = {"0", "no", "false", "off"}


def find_port(pattern: str) -> str | None:
    """The first serial port (by device name) whose name, description or hardware id matches `pattern`."""
    matches = sorted(info.device for info in serial.tools.list_ports.grep(pattern))
    return matches[0] if matches else None


@dataclass(frozen=True)
class SerialSettings:
    baud: int = 9600
    bytesize: int = 8
    parity: str = serial.PARITY_NONE
    stopbits: int = 1
    flow: str = "none"
    exclusive: bool = True


def parse_serial_settings(url: str, options: dict[str, str]) -> SerialSettings:
    """The line settings from URL options; pops what it uses, ValueError on a bad value."""
    baud = parse_number(options.pop("baud", "9600"), "baud", 50, 4_000_000)
    bytesize = parse_number(options.pop("bytesize", "8"), "bytesize", 5, 8)
    parity_text = options.pop("parity", "N").upper()[:1]
    if parity_text not in _PARITIES:
        raise ValueError(f"parity={parity_text!r} in {url!r}: use N, E, O, M or S")
    stopbits = parse_number(options.pop("stopbits", "1"), "stopbits", 1, 2)
    flow = options.pop("flow", "none").lower()
    if flow not in ("none", "rtscts", "xonxoff"):
        raise ValueError(f"flow={flow!r} in {url!r}: use none, rtscts or xonxoff")
    exclusive_text = options.pop("exclusive", "yes").lower()
    if exclusive_text not in _YES | _NO:
        raise ValueError(f"exclusive={exclusive_text!r} in {url!r}: use yes or no")
    return SerialSettings(baud, bytesize, _PARITIES[parity_text], stopbits, flow, exclusive_text in _YES)


class SerialLink:
    """A serial port, by device path or by hwgrep pattern (looked up again at every open)."""

    def __init__(self, device: str | None = None, *, pattern: str | None = None,
                 settings: SerialSettings | None = None, finder: PortFinder = find_port,
                 write_timeout: float = 10.0) -> None:
        if (device is None) == (pattern is None):
            raise ValueError("A serial link needs a device path or a hwgrep pattern")
        self.device = device
        self.pattern = pattern
        self.settings = settings or SerialSettings()
        self.finder = finder
        self.write_timeout = write_timeout
        self._port: serial.Serial | None = None
        self._opened_device: str | None = None

    @property
    def description(self) -> str:
        if self.pattern is None:
            return str(self.device)
        return f"hwgrep {self.pattern}" + (f" ({self._opened_device})" if self._opened_device else "")

    def open(self) -> None:
        device = self.device
        if device is None:
            device = self.finder(self.pattern or "")
            if device is None:
                raise FileNotFoundError(errno.ENOENT, f"no serial port matches {self.pattern!r}")
        s = self.settings
        port = serial.Serial()
        port.port = device
        port.baudrate = s.baud
        port.bytesize = s.bytesize
        port.parity = s.parity
        port.stopbits = s.stopbits
        port.rtscts = s.flow == "rtscts"
        port.xonxoff = s.flow == "xonxoff"
        port.timeout = POLL_S
        port.write_timeout = self.write_timeout
        if s.exclusive:
            port.exclusive = True
        port.open()  # raises SerialException (an OSError) when absent, busy or not permitted
        self._port = port
        self._opened_device = device

    def read(self, timeout: float) -> bytes:
        port = self._port
        if port is None:
            raise serial.SerialException("port is not open")
        if port.timeout != timeout:
            port.timeout = timeout
        data = port.read(1)
        if data:
            waiting = port.in_waiting
            if waiting:
                data += port.read(waiting)
        return data

    def write(self, data: bytes) -> None:
        port = self._port
        if port is None:
            raise serial.SerialException("port is not open")
        port.write(data)
        port.flush()

    def close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except OSError:
                pass

    def interrupt(self) -> None:
        port = self._port
        if port is not None:
            try:
                port.cancel_read()
            except (OSError, AttributeError):  # closed meanwhile, or a platform without cancel_read
                pass


def serial_link_from_url(url: str, options: dict[str, str], target: str, scheme: str, *,
                         finder: PortFinder = find_port) -> SerialLink:
    """The link for a `serial://` or `hwgrep://` URL already split by `split_url`; pops the line options."""
    if not target:
        raise ValueError(f"No port in {url!r}: e.g. serial:///dev/ttyACM0 or hwgrep://VID:PID")
    settings = parse_serial_settings(url, options)
    if scheme == "hwgrep":
        return SerialLink(pattern=target, settings=settings, finder=finder)
    return SerialLink(target, settings=settings)


class SerialScanner(StreamScanner):
    """A scanner on a serial port (USB CDC-ACM or RS-232), read by its own thread with reconnection."""

    def __init__(self, url: str, *, port_finder: PortFinder | None = None) -> None:
        scheme, target, options = split_url(url)
        if scheme not in ("serial", "hwgrep"):
            raise ValueError(f"Not a serial scanner URL: {url!r}")
        link = serial_link_from_url(url, options, target, scheme, finder=port_finder or find_port)
        framing: FramingOptions = parse_framing(options)
        refuse_unknown_options(url, options)
        super().__init__(url, link, framing)


__all__ = ["SerialLink", "SerialScanner", "SerialSettings", "find_port"]
