"""USB keyboard-emulating scanners read straight from Linux input (`evdev:///dev/input/by-id/…-event-kbd?layout=us`).

The device is grabbed exclusively, so its keystrokes no longer reach the
console or the terminal: scans arrive here whatever has the focus, with no
timing guesswork. Key codes become characters through the keyboard layout the
scanner is set to emulate (`layout=us`, the default, or `de`); Enter ends a
scan. GS (FNC1) arrives as Ctrl+] or as Alt + keypad 0 2 9, as scanners send
it. An unplugged scanner is reopened by itself (by-id paths survive replugs).

Needs python-evdev (`pip install 'warehouse-tui[evdev]'`), imported only when
the device is opened; without it the scanner reports ERROR with that advice.
Options: `layout`, `grab` (yes/no, default yes).
"""

from __future__ import annotations

import logging
import select
import threading

from drivers.base import GS, MAX_SCAN_LENGTH, DeviceState, RawScan, RejectedScan, Scanner
from drivers.framing import text_problem
from drivers.stream import Backoff, describe_error, refuse_unknown_options, split_url

log = logging.getLogger(__name__)

# Linux input-event-codes.h
EV_KEY = 1
KEY_ENTER, KEY_KPENTER = 28, 96
KEY_LEFTSHIFT, KEY_RIGHTSHIFT = 42, 54
KEY_LEFTCTRL, KEY_RIGHTCTRL = 29, 97
KEY_LEFTALT, KEY_RIGHTALT = 56, 100  # right Alt is AltGr on European layouts
KEY_CAPSLOCK = 58
KEY_BACKSPACE = 14
KEY_102ND = 86  # the extra key left of Z on ISO keyboards
# Keypad digits, used for Alt + code entry.
KEYPAD_DIGITS = {82: "0", 79: "1", 80: "2", 81: "3", 75: "4", 76: "5", 77: "6", 71: "7", 72: "8", 73: "9"}
_KEYPAD = {**KEYPAD_DIGITS, 55: "*", 74: "-", 78: "+", 83: ".", 98: "/"}
# Keys that make no character and need no handling (function keys, locks, Meta, Esc).
_SILENT = {1, 15, 69, 70, 125, 126, *range(59, 69), 87, 88}

_ROW_DIGITS = range(2, 12)          # 1 2 3 4 5 6 7 8 9 0
_ROW_Q = range(16, 26)
_ROW_A = range(30, 39)
_ROW_Z = range(44, 51)

# code -> (plain, shifted, AltGr); "" where the level makes nothing.
Layout = dict[int, tuple[str, str, str]]


def _letters(codes: range, letters: str, altgr: dict[str, str] | None = None) -> Layout:
    altgr = altgr or {}
    return {code: (ch, ch.upper(), altgr.get(ch, "")) for code, ch in zip(codes, letters)}


def _pairs(mapping: dict[int, str]) -> Layout:
    # "ab" or "abc": plain, shifted, AltGr
    return {code: (chars[0], chars[1], chars[2] if len(chars) > 2 else "") for code, chars in mapping.items()}


_US: Layout = {
    **_pairs(dict(zip(_ROW_DIGITS, ["1!", "2@", "3#", "4$", "5%", "6^", "7&", "8*", "9(", "0)"]))),
    **_pairs({12: "-_", 13: "=+", 26: "[{", 27: "]}", 39: ";:", 40: "'\"", 41: "`~", 43: "\\|",
              51: ",<", 52: ".>", 53: "/?", 57: "  ", KEY_102ND: "<>"}),
    **_letters(_ROW_Q, "qwertyuiop"),
    **_letters(_ROW_A, "asdfghjkl"),
    **_letters(_ROW_Z, "zxcvbnm"),
}

_DE: Layout = {
    **_pairs(dict(zip(_ROW_DIGITS, ["1!", "2\"²", "3§³", "4$", "5%", "6&", "7/{", "8([", "9)]", "0=}"]))),
    **_pairs({12: "ß?\\", 27: "+*~", 43: "#'", 51: ",;", 52: ".:", 53: "-_", 57: "  ",
              KEY_102ND: "<>|", 26: "üÜ", 39: "öÖ", 40: "äÄ"}),
    **_letters(_ROW_Q, "qwertzuiop", {"q": "@", "e": "€"}),
    **_letters(_ROW_A, "asdfghjkl"),
    **_letters(_ROW_Z, "yxcvbnm", {"m": "µ"}),
}

LAYOUTS: dict[str, Layout] = {"us": _US, "de": _DE}


class KeyTranslator:
    """Key events -> scan text, for one layout. Pure: fed (code, value) pairs, no device needed.

    `key` returns the finished line when Enter is pressed, else None. A key this
    layout does not know, or a line over 4096 characters, makes the line refused:
    `key` then returns it with `problem` set.
    """

    def __init__(self, layout: str = "us") -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"Unknown keyboard layout {layout!r} (known: {', '.join(sorted(LAYOUTS))})")
        self.layout = LAYOUTS[layout]
        self._held: set[int] = set()
        self._caps = False
        self._alt_code = ""      # keypad digits typed while Alt is held
        self._chars: list[str] = []
        self.problem: str | None = None

    def key(self, code: int, value: int) -> str | None:
        """One EV_KEY event: value 1 pressed, 0 released, 2 auto-repeat."""
        if value == 0:
            self._held.discard(code)
            if code in (KEY_LEFTALT, KEY_RIGHTALT) and self._alt_code:
                self._add(chr(int(self._alt_code) % 256))
                self._alt_code = ""
            return None
        if code in (KEY_LEFTSHIFT, KEY_RIGHTSHIFT, KEY_LEFTCTRL, KEY_RIGHTCTRL, KEY_LEFTALT, KEY_RIGHTALT):
            self._held.add(code)
            return None
        if code == KEY_CAPSLOCK:
            if value == 1:
                self._caps = not self._caps
            return None
        if code in (KEY_ENTER, KEY_KPENTER):
            return self._finish()
        if code == KEY_BACKSPACE:
            if self._chars:
                self._chars.pop()
            return None
        if code in _SILENT:
            return None
        if KEY_LEFTALT in self._held and code in KEYPAD_DIGITS:
            self._alt_code += KEYPAD_DIGITS[code]
            return None
        self._add(self._char_for(code))
        return None

    def reset(self) -> None:
        self._held.clear()
        self._alt_code = ""
        self._chars.clear()
        self.problem = None

    def _char_for(self, code: int) -> str | None:
        if code in _KEYPAD:
            return _KEYPAD[code]
        levels = self.layout.get(code)
        if levels is None:
            return None
        plain, shifted, altgr = levels
        shift = bool(self._held & {KEY_LEFTSHIFT, KEY_RIGHTSHIFT})
        if KEY_RIGHTALT in self._held:
            char = altgr
        elif plain.isalpha():  # Caps Lock inverts Shift for letters only
            char = shifted if shift != self._caps else plain
        else:
            char = shifted if shift else plain
        if not char:
            return None
        if self._held & {KEY_LEFTCTRL, KEY_RIGHTCTRL}:
            return _control(char)
        return char

    def _add(self, char: str | None) -> None:
        if self.problem is not None:
            return
        if char is None:
            self.problem = "Scanner sent a key this keyboard layout does not know — check the scanner's layout setting"
        elif len(self._chars) >= MAX_SCAN_LENGTH:
            self.problem = f"Scan is too long (over {MAX_SCAN_LENGTH} characters) — scan again"
            self._chars.clear()
        else:
            self._chars.append(char)

    def _finish(self) -> str | None:
        text = "".join(self._chars)
        self._chars.clear()
        self._alt_code = ""
        if self.problem is None and not text:
            return None
        return text


def _control(char: str) -> str | None:
    """Ctrl + a key: Ctrl+] is GS; other control characters are not scan text (refused later)."""
    upper = char.upper()
    if len(upper) == 1 and "@" <= upper <= "_":
        return chr(ord(upper) & 0x1F)
    return None


class EvdevScanner(Scanner):
    """A USB HID scanner read from its /dev/input event device by its own thread, with reconnection."""

    poll_s = 0.1

    def __init__(self, url: str) -> None:
        super().__init__(url)
        scheme, target, options = split_url(url)
        if scheme != "evdev":
            raise ValueError(f"Not an evdev scanner URL: {url!r}")
        if not target.startswith("/"):
            raise ValueError(f"No device in {url!r}: e.g. evdev:///dev/input/by-id/usb-…-event-kbd")
        self.path = target
        self.layout = options.pop("layout", "us").lower()
        grab = options.pop("grab", "yes").lower()
        if grab not in ("yes", "no", "1", "0", "true", "false"):
            raise ValueError(f"grab={grab!r} in {url!r}: use yes or no")
        self.grab = grab in ("yes", "1", "true")
        refuse_unknown_options(url, options)
        KeyTranslator(self.layout)  # a bad layout is a bad URL: refuse it now
        self.backoff = Backoff()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            if not self._stop.is_set():
                return  # already running
            self._thread.join(timeout=2.0)  # closed a moment ago: let the old reader finish first
        self._stop.clear()
        self._set_state(DeviceState.CONNECTING, self.path)
        self._thread = threading.Thread(target=self._run, name=f"scanner {self.url}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the reader (waits up to 2 s), release the grab; no scan is delivered once close has begun."""
        self._on_scan = None
        self._on_reject = None
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
        if thread is not None and not thread.is_alive():
            self._thread = None
        if self.state is not DeviceState.DISCONNECTED:
            self._set_state(DeviceState.DISCONNECTED, "closed")

    def _run(self) -> None:
        try:
            import evdev  # the optional extra: only needed once such a scanner is opened
        except ImportError:
            self._set_state(DeviceState.ERROR, "python-evdev is not installed: pip install 'warehouse-tui[evdev]'")
            return
        last: tuple[DeviceState, str] | None = None
        while not self._stop.is_set():
            try:
                device = evdev.InputDevice(self.path)
            except OSError as exc:
                report = (DeviceState.DISCONNECTED, f"{self.path}: {describe_error(exc)}")
                if report != last:
                    self._set_state(*report)
                    last = report
                self._stop.wait(self.backoff.next_delay())
                continue
            last = None
            self.backoff.reset()
            try:
                if self.grab:
                    device.grab()
                self._set_state(DeviceState.CONNECTED, f"{self.path} ({device.name})")
                self._read(device)
            except OSError as exc:
                if not self._stop.is_set():
                    self._set_state(DeviceState.DISCONNECTED, f"{self.path}: lost ({describe_error(exc)})")
                    self._stop.wait(self.backoff.next_delay())
            except Exception as exc:  # never let a driver bug end the thread silently
                log.exception("%s: reading failed", self.url)
                self._set_state(DeviceState.ERROR, f"{self.path}: {describe_error(exc)}")
                self._stop.wait(self.backoff.next_delay())
            finally:
                try:
                    device.close()  # also releases the grab
                except OSError:
                    pass

    def _read(self, device) -> None:
        translator = KeyTranslator(self.layout)
        while not self._stop.is_set():
            ready, _, _ = select.select([device.fd], [], [], self.poll_s)
            if not ready:
                continue
            for event in device.read():
                if event.type != EV_KEY:
                    continue
                line = translator.key(event.code, event.value)
                if line is None:
                    continue
                self._line(line, translator.problem)
                translator.problem = None

    def _line(self, text: str, problem: str | None) -> None:
        problem = problem or text_problem(text)
        try:
            if problem:
                self._reject(RejectedScan(problem, text[:64].encode("utf-8", "replace"), source=self.url))
            else:
                self._deliver(RawScan(text=text, source=self.url))
        except Exception:
            log.exception("%s: the scan callback failed", self.url)


__all__ = ["GS", "EvdevScanner", "KeyTranslator", "LAYOUTS"]
