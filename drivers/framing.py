"""Byte stream -> scan frames: split on the scanner's suffix (or a silence), refuse what is not a scan.

Pure and clock-free (the caller passes the time), so it is tested without a
device. Used by every byte-stream driver (serial, TCP).

Rules:
- The suffix is CR, LF, CRLF, AUTO (CR or LF, the default: it also handles a
  scanner that sends CRLF), or NONE: then a frame ends after `gap_s` of silence.
- CR and LF at either end of a frame are dropped and empty frames ignored,
  so a scanner configured for CRLF on a driver set to CR still works.
- A frame longer than `max_bytes` is refused once, and the rest of it up to
  the next suffix (or silence) is discarded without holding it in memory.
- A frame that does not decode in the configured encoding, or holds control
  characters other than GS (FNC1), is refused (DESIGN §4).
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass

from drivers.base import GS, MAX_SCAN_LENGTH

# The AIM identifier ("]C1") is not part of the scan's 4096 characters.
MAX_FRAME_BYTES = MAX_SCAN_LENGTH + 3
DEFAULT_GAP_S = 0.05
_SAMPLE = 64  # bytes of a refused frame kept for the log


class Suffix(enum.Enum):
    AUTO = "auto"
    CR = "cr"
    LF = "lf"
    CRLF = "crlf"
    NONE = "none"

    @classmethod
    def parse(cls, text: str) -> Suffix:
        """`CR`, `LF`, `CRLF`, `AUTO` or `NONE`, any case; ValueError naming the choices otherwise."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise ValueError(f"Unknown suffix {text!r}: use CR, LF, CRLF, AUTO or NONE") from None


_SEPARATORS = {
    Suffix.AUTO: re.compile(rb"[\r\n]"),
    Suffix.CR: re.compile(rb"\r"),
    Suffix.LF: re.compile(rb"\n"),
    Suffix.CRLF: re.compile(rb"\r\n"),
}


@dataclass(frozen=True)
class Frame:
    """One frame as it came off the wire (without its suffix); `too_long` frames hold only their start."""

    data: bytes
    at: float
    too_long: bool = False


class Framer:
    """Cuts a byte stream into frames. Feed it every chunk read and call `idle` when a read times out."""

    def __init__(self, suffix: Suffix = Suffix.AUTO, *, gap_s: float = DEFAULT_GAP_S,
                 max_bytes: int = MAX_FRAME_BYTES) -> None:
        self.suffix = suffix
        self.gap_s = gap_s
        self.max_bytes = max_bytes
        self._separator = _SEPARATORS.get(suffix)
        self._buffer = bytearray()
        self._last_byte_at: float | None = None
        self._discarding = False  # inside a frame already refused as too long

    def feed(self, data: bytes, now: float) -> list[Frame]:
        """The frames that `data` (read at `now`) completes, in order."""
        frames: list[Frame] = []
        if self._separator is None:
            frames.extend(self.idle(now))
            self._last_byte_at = now
        buffer = self._buffer
        buffer.extend(data)
        if self._separator is not None:
            start = 0
            for match in self._separator.finditer(buffer):
                self._emit(bytes(buffer[start:match.start()]), now, frames)
                start = match.end()
            if start:
                del buffer[:start]
        if len(buffer) > self.max_bytes:
            if not self._discarding:
                frames.append(Frame(bytes(buffer[:_SAMPLE]), now, too_long=True))
                self._discarding = True
            # Keep a CR that may be the first half of a CRLF suffix.
            tail = buffer[-1:] if self.suffix is Suffix.CRLF and buffer.endswith(b"\r") else b""
            buffer[:] = tail
        return frames

    def idle(self, now: float) -> list[Frame]:
        """With no suffix: the pending frame once `gap_s` has passed since its last byte."""
        if self._separator is not None or self._last_byte_at is None:
            return []
        if now - self._last_byte_at < self.gap_s:
            return []
        frames: list[Frame] = []
        self._emit(bytes(self._buffer), self._last_byte_at, frames)
        self._buffer.clear()
        self._last_byte_at = None
        return frames

    def timeout_hint(self, poll_s: float) -> float:
        """How long a read may wait without making a silence-ended frame late."""
        return min(poll_s, self.gap_s / 2) if self._separator is None else poll_s

    def reset(self) -> None:
        """Forget a partial frame (the connection was lost mid-scan)."""
        self._buffer.clear()
        self._last_byte_at = None
        self._discarding = False

    def _emit(self, data: bytes, at: float, frames: list[Frame]) -> None:
        if self._discarding:  # the tail of a frame refused as too long
            self._discarding = False
            return
        data = data.strip(b"\r\n")
        if not data:
            return
        if len(data) > self.max_bytes:
            frames.append(Frame(data[:_SAMPLE], at, too_long=True))
        else:
            frames.append(Frame(data, at))


def decode_frame(frame: Frame, encoding: str = "utf-8") -> tuple[str | None, str | None]:
    """(text, None) for a frame that is a scan, (None, reason) for one that is refused."""
    if frame.too_long:
        return None, f"Scan is too long (over {MAX_SCAN_LENGTH} characters) — scan again"
    try:
        text = frame.data.decode(encoding)
    except UnicodeDecodeError:
        return None, f"Scanner sent {len(frame.data)} bytes that are not text — scan again; check the scanner's settings"
    problem = text_problem(text)
    return (None, problem) if problem else (text, None)


def text_problem(text: str) -> str | None:
    """Why `text` cannot be a scan (a control character other than GS), or None."""
    if text.isascii() and text.replace(GS, "").isprintable():
        return None
    for ch in text:
        # Cc: control characters; Cf: invisible format characters; Cs: lone surrogates.
        if ch != GS and unicodedata.category(ch) in ("Cc", "Cf", "Cs"):
            return f"Scan holds a control character (U+{ord(ch):04X}) — scan again"
    return None
