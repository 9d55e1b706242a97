"""Label printers: raw TCP (`socket://printer:9100`), serial (`serial:///dev/ttyUSB0?baud=9600`), files (`file:///dir`).

Each `send` is one whole job. Network and serial printers share the links of
the scanners (drivers/stream.py); a failed job raises PrinterUnavailable (an
OSError) with a message an operator can act on and leaves `state`/`detail`
saying why, so the caller can offer to print again.

ZPL the app did not write (a carrier's shipping label) goes through
`send_carrier_label`, which strips the commands that change the printer's
setup (print mode, media, darkness, saved configuration …) and refuses jobs it
cannot read safely: a carrier's peel-off or cutter setting must not outlive its
label on a shared printer.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from drivers.base import DeviceState, Printer
from drivers.serial_scanner import serial_link_from_url
from drivers.stream import describe_error, parse_number, refuse_unknown_options, split_url
from drivers.tcp import TcpLink, parse_host_port

RAW_PORT = 9100


class PrinterUnavailable(OSError):
    """The job did not reach the printer; the message says what to check."""


class SocketPrinter(Printer):
    """A network printer's raw port: one connection per job, half-closed when the job is sent.

    Options: `timeout` (s to connect and to send, default 10) and `linger` (s to wait
    for the printer to close its side after the job, default 2).
    """

    def __init__(self, url: str) -> None:
        super().__init__(url)
        scheme, target, options = split_url(url)
        if scheme != "socket":
            raise ValueError(f"Not a network printer URL: {url!r}")
        self.host, self.port = parse_host_port(url, target, default_port=RAW_PORT)
        self.timeout = parse_number(options.pop("timeout", "10"), "timeout", 1, 300)
        self.linger = parse_number(options.pop("linger", "2"), "linger", 0, 60)
        refuse_unknown_options(url, options)
        self._lock = threading.Lock()

    def send(self, data: bytes) -> None:
        link = TcpLink(self.host, self.port, connect_timeout=self.timeout, write_timeout=self.timeout)
        with self._lock:
            try:
                link.open()
                link.write(data)
                link.finish()
                self._await_close(link)
            except OSError as exc:
                self.state, self.detail = DeviceState.DISCONNECTED, describe_error(exc)
                raise PrinterUnavailable(
                    f"Printer {link.description} cannot be reached ({self.detail}) — check it is on and online, then print again"
                ) from exc
            finally:
                link.close()
            self.state, self.detail = DeviceState.CONNECTED, link.description

    def _await_close(self, link: TcpLink) -> None:
        # Closing while the printer's answer sits unread would reset the connection and may
        # drop the job's last bytes; wait briefly for the printer to close its side.
        deadline = time.monotonic() + self.linger
        while (left := deadline - time.monotonic()) > 0:
            try:
                link.read(min(left, 0.2))  # a status answer, if any, is not ours to read: drop it
            except ConnectionResetError:
                return  # closed by the printer: the job is in


class SerialPrinter(Printer):
    """A printer on a serial port; the port stays open between jobs and is reopened once if a job fails."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        scheme, target, options = split_url(url)
        if scheme not in ("serial", "hwgrep"):
            raise ValueError(f"Not a serial printer URL: {url!r}")
        options.setdefault("exclusive", "no")
        self.link = serial_link_from_url(url, options, target, scheme)
        refuse_unknown_options(url, options)
        self._open = False
        self._lock = threading.Lock()

    def send(self, data: bytes) -> None:
        with self._lock:
            try:
                try:
                    self._write(data)
                except OSError:
                    self._drop()  # unplugged and back since the last job: one fresh attempt
                    self._write(data)
            except OSError as exc:
                self._drop()
                self.state, self.detail = DeviceState.DISCONNECTED, describe_error(exc)
                raise PrinterUnavailable(
                    f"Printer {self.link.description} cannot be reached ({self.detail}) — check its cable, then print again"
                ) from exc
            self.state, self.detail = DeviceState.CONNECTED, self.link.description

    def _write(self, data: bytes) -> None:
        if not self._open:
            self.link.open()
            self._open = True
        self.link.write(data)

    def _drop(self) -> None:
        self.link.close()
        self._open = False

    def close(self) -> None:
        with self._lock:
            self._drop()
            self.state = DeviceState.DISCONNECTED


class FilePrinter(Printer):
    """Writes each job to its own file in a directory (`file:///var/labels?ext=zpl`): for tests, or a spooler.

    Files appear whole (written under a temporary name, then renamed), named
    `label-<time>-<n>.<ext>` so they sort in the order printed; `last_path` is the newest.
    """

    _counter = itertools.count(1)

    def __init__(self, url: str) -> None:
        super().__init__(url)
        scheme, target, options = split_url(url)
        if scheme != "file":
            raise ValueError(f"Not a file printer URL: {url!r}")
        if not target.startswith("/") or target == "/":
            raise ValueError(f"A file printer needs a directory: file:///path/to/dir, not {url!r}")
        self.directory = Path(target)
        self.ext = options.pop("ext", "zpl").lstrip(".")
        if not self.ext.isalnum():
            raise ValueError(f"ext={self.ext!r} in {url!r}: use letters and digits, e.g. zpl")
        refuse_unknown_options(url, options)
        self.last_path: Path | None = None

    def send(self, data: bytes) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self.directory / f"label-{stamp}-{next(self._counter):06d}-{os.getpid()}.{self.ext}"
        partial = path.with_name(f".{path.name}.part")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with open(partial, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, path)
        except OSError as exc:
            self.state, self.detail = DeviceState.ERROR, describe_error(exc)
            raise PrinterUnavailable(f"Cannot write the label to {self.directory} ({self.detail}) — check the folder") from exc
        self.last_path = path
        self.state, self.detail = DeviceState.CONNECTED, str(self.directory)


# --------------------------------------------------------------------------- ZPL the app did not write

class CarrierLabelRefused(ValueError):
    """A carrier's ZPL that cannot be sent without risking the printer's setup; nothing was sent."""


# What a job may change on a Zebra printer, sorted by the ZPL II Programming Guide (Volume Two,
# "XML-Super Host Status"): Table 19 "Saved Settings" are the printer's setup, kept in its
# configuration (for good once ^JUS saves them); Table 20 "Format Settings" are what one label
# format uses (^LL, ^LH, ^LS, ^LR, ^MD, ^PR, ^CF, ^BY). A carrier label needs the second
# kind to print right and keeps it; it never needs the first, so those are stripped, with the
# commands that save, restore or reset the configuration, calibrate, or change how the printer
# behaves beyond the label (error reprints, alerts, network, clock). Stripping, not refusing:
# the label still prints (a packer must ship the carton) on the printer as the site set it up.
PRINTER_SETUP_COMMANDS: dict[bytes, str] = {
    **dict.fromkeys([b"^JU"], "saves, restores or resets the configuration (^JUS, ^JUF, ^JUR, ^JUN, ^JUA)"),
    **dict.fromkeys([b"~JR", b"~RO"], "resets the printer or its counters"),
    **dict.fromkeys([b"^MM"], "print mode: tear-off, peel-off, rewind, applicator or cutter"),
    **dict.fromkeys([b"^MN", b"^MT", b"^MF", b"^ML", b"^LT", b"^PW", b"^JM", b"^SS", b"^SR"],
                    "media tracking, type, feed, length, top position, print width, density or sensor settings"),
    # In both tables, but its unit and dpi conversion carry into every later label until changed;
    # carriers lay their labels out in the dots of the resolution they were asked for.
    **dict.fromkeys([b"^MU"], "units of measure and dpi conversion"),
    **dict.fromkeys([b"~SD", b"~TA", b"~JS", b"^JW", b"^JZ", b"^JT", b"^MW"],
                    "darkness, tear-off position, backfeed, ribbon tension, reprint after error, head test"),
    **dict.fromkeys([b"~JC", b"~JL", b"~JG", b"^JS", b"^SI"], "calibrates the media sensors"),
    **dict.fromkeys([b"^KN", b"^KL", b"^KP", b"^KD", b"^KV", b"^MP", b"^SZ", b"^CM", b"^RS", b"^ZZ"],
                    "printer name, language, password, front panel, ZPL mode, memory map, RFID or sleep"),
    **dict.fromkeys([b"^SC", b"^JJ", b"^NI", b"^NS", b"^NC", b"~NC", b"^NT", b"~NT", b"~NR", b"^NB", b"^NN",
                     b"^NP", b"^NW", b"^WA", b"^WE", b"^WL", b"^WP", b"^WR", b"~WR", b"^WS", b"^WX", b"^KC"],
                    "serial, applicator, network or wireless settings"),
    **dict.fromkeys([b"^ST", b"^SL", b"^SO", b"^SX", b"^SQ", b"^MA", b"^MI", b"^JH", b"~JD", b"~JE", b"~JB",
                     b"~JF", b"^JI", b"~JI"],
                    "clock, alerts, maintenance, diagnostics, memory or ZBI programs"),
}
# ^CC/~CC, ^CT/~CT and ^CD/~CD change the characters commands start with (Table 19 too): what
# follows would no longer be read as we read it, here or in every later job. Refused.
_PREFIX_CHANGES = {b"^CC", b"~CC", b"^CT", b"~CT", b"^CD", b"~CD"}
# Set-Get-Do ("! U1 setvar …") and its JSON form can change any setting; they are not ZPL.
_SET_GET_DO = re.compile(rb"(?:^|[\r\n])[ \t]*(?:![ \t]*U1?[ \t]|\{)")


@dataclass(frozen=True)
class CarrierJob:
    """A carrier's ZPL made safe to send: `data` for the printer, `stripped` the setup commands taken out."""

    data: bytes
    stripped: tuple[str, ...]


def carrier_job(zpl: bytes) -> CarrierJob:
    """The job with every printer-setup command (PRINTER_SETUP_COMMANDS) removed, parameters and all.

    Raises CarrierLabelRefused for a job that changes ZPL's command characters, holds
    anything outside its formats that is not a ~ command (Set-Get-Do, JSON, another
    printer language), or has no label (^XA … ^XZ) left to print.
    """
    kept, stripped = bytearray(), []
    in_format = False
    labels = 0
    position = _next_prefix(zpl, 0)
    if zpl[:position].strip():
        raise CarrierLabelRefused("The carrier label starts with something that is not ZPL — not sent")
    while position < len(zpl):
        name = zpl[position:position + 3].upper()
        end = _command_end(zpl, position, name)
        command = zpl[position:end]
        if name in _PREFIX_CHANGES:
            raise CarrierLabelRefused(f"The carrier label changes ZPL's command characters ({name.decode()}) — not sent")
        if not in_format and _SET_GET_DO.search(command):
            raise CarrierLabelRefused("The carrier label holds printer settings (Set-Get-Do) — not sent")
        if name == b"^XA":
            in_format = True
        elif name == b"^XZ":
            in_format = False
            labels += 1
            if command[3:].strip():
                raise CarrierLabelRefused("The carrier label has something that is not ZPL between labels — not sent")
        if name in PRINTER_SETUP_COMMANDS:
            stripped.append(command.decode("latin-1").strip())
        else:
            kept += command
        position = end
    if not labels:
        raise CarrierLabelRefused("The carrier file holds no label (^XA … ^XZ) — not sent")
    return CarrierJob(bytes(kept), tuple(stripped))


def send_carrier_label(printer: Printer, zpl: bytes) -> CarrierJob:
    """Send ZPL the app did not write (a carrier's shipping label) without its printer-setup commands.

    Returns what was sent and stripped. Raises CarrierLabelRefused (nothing sent) as
    `carrier_job` does, and OSError when the printer cannot be reached, as `send` does.
    """
    job = carrier_job(zpl)
    printer.send(job.data)
    return job


def _next_prefix(zpl: bytes, start: int) -> int:
    found = [i for i in (zpl.find(b"^", start), zpl.find(b"~", start)) if i >= 0]
    return min(found, default=len(zpl))


def _command_end(zpl: bytes, start: int, name: bytes) -> int:
    """Where the command at `start` ends: at the next ^ or ~, after skipping binary data whose
    length the command gives (^GF B/C graphic fields, ~DY binary objects), which may hold any byte.
    """
    data_from = start + 3
    if name in (b"^GF", b"~DY"):
        # ^GFa,b,c,d,data: a = B or C is b bytes of binary. ~DYd:f,b,x,t,w,data: b = B, C or P is t bytes.
        fields, commas = [], 4 if name == b"^GF" else 5
        cursor = data_from
        for _ in range(commas):
            comma = zpl.find(b",", cursor)
            if comma < 0:
                break
            fields.append(zpl[cursor:comma])
            cursor = comma + 1
        else:
            kind, size = (fields[0], fields[1]) if name == b"^GF" else (fields[1], fields[3])
            if kind.strip().upper() in (b"B", b"C", b"P") and size.strip().isdigit():
                data_from = cursor + int(size)
    return _next_prefix(zpl, data_from)
