"""The widgets every floor screen shares: status line, prompt, context lines, feedback, key bar.

What they show is text from operators, scanners and master data. It reaches the
screen as a `Content` built from the plain text, never parsed as markup (a lot
`[/]` or a user `Eve [/]` is shown as written, `[@click=app.quit]` is no
action), with every character that would not show as itself written out
(`scan.resolver.visible`) and words too long for any line cut with an ellipsis.
A failure to draw one of them is logged and flashed as an internal error; it
never stops the app.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from rich.cells import cell_len, set_cell_size
from rich.highlighter import Highlighter
from rich.text import Text
from textual.content import Content
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import Input, Static

from warehouse_tui.scan.resolver import visible

log = logging.getLogger(__name__)

# A word longer than this many cells is cut: it fits one 80-column line, two at 40 columns.
LONGEST_WORD = 60
# A line longer than this is cut: a pasted novel must not push the prompt off the screen.
LONGEST_LINE = 240

# Command -> key. F-keys because letters and digits are data (lots, SKUs, quantities).
COMMAND_KEYS: dict[str, str] = {
    "HOME": "f1",
    "DONE": "f2",
    "NEXT": "f4",
    "SHORT": "f5",
    "SKIP": "f6",
    "CLOSE": "f7",
    "BLIND": "f8",
    "YES": "f9",
    "NO": "f10",
    "SYNC": "f11",
    "LOGOUT": "f12",
    "CANCEL": "escape",
    # Returns (issue 14): F-keys are all taken, letters and digits are data.
    "RETURN": "ctrl+r",
    "GOOD": "ctrl+g",
    "DAMAGED": "ctrl+d",
    "SCRAP": "ctrl+x",
    # Replenishment and a full tote (issue 16).
    "REPLEN": "ctrl+e",
    "FULL": "ctrl+t",
}
COMMAND_KEYS["FLOOR"] = "ctrl+f"
KEY_LABELS = {"escape": "Esc", "ctrl+r": "^R", "ctrl+g": "^G", "ctrl+d": "^D", "ctrl+x": "^X", "ctrl+e": "^E", "ctrl+t": "^T"}
KEY_LABELS["ctrl+f"] = "^F"


def key_label(command: str) -> str:
    key = COMMAND_KEYS[command]
    return KEY_LABELS.get(key, key.upper())


def floor_line(text: str) -> str:
    """One line of text as the floor shows it: made visible, over-long words and lines cut with an ellipsis.

    A newline inside the text is shown as `<0A>`: a value can never add a line of its own.
    """
    line = visible(text)
    if len(line) * 2 <= LONGEST_WORD:  # no word can be too long, whatever its characters' widths
        return line
    words = line.split(" ")
    for n, word in enumerate(words):
        if cell_len(word) > LONGEST_WORD:
            words[n] = set_cell_size(word, LONGEST_WORD - 1) + "…"
    line = " ".join(words)
    if cell_len(line) > LONGEST_LINE:
        line = set_cell_size(line, LONGEST_LINE - 1) + "…"
    return line


class FloorText(Static):
    """Plain text on the floor screen: markup off, content built as `Content`, drawing failures contained."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(markup=False, id=id, classes=classes)

    def content_for(self, lines: Sequence[str]) -> Content:
        return Content("\n".join(floor_line(line) for line in lines))

    # A Visual that fails to measure or draw would otherwise reach Textual's handler of
    # unhandled errors, which stops the app: the floor shows an internal error instead.
    def render_lines(self, crop: Region) -> list[Strip]:
        try:
            return super().render_lines(crop)
        except Exception:
            self._failed("drawing")
            return [Strip.blank(crop.width)] * crop.height

    def get_content_height(self, container, viewport, width: int) -> int:
        try:
            return super().get_content_height(container, viewport, width)
        except Exception:
            self._failed("measuring")
            return 1

    def get_content_width(self, container, viewport) -> int:
        try:
            return super().get_content_width(container, viewport)
        except Exception:
            self._failed("measuring")
            return container.width

    def _failed(self, doing: str) -> None:
        log.exception("%s %s failed: shown blank", doing, type(self).__name__)
        # Not drawn again (blank is safe); the screen says so on its feedback line, after this frame.
        self.update(Content(""), layout=False)
        report = getattr(self.screen, "show_internal_error", None)
        if report is not None:
            self.call_later(report)


class FixedText(FloorText):
    """A line of text in a box whose size never depends on its text (its height is set in the stylesheet).

    New text only repaints the widget: laying out the whole screen again for it
    would cost a few milliseconds per scan and change nothing.
    """

    def show_lines(self, lines: Sequence[str]) -> None:
        self.update(self.content_for(lines), layout=not self.is_mounted)


class SizedText(FloorText):
    """Text whose height (or scrollbar) follows the number of lines it has: a new layout only when that can change."""

    _lines: list[str] | None = None

    def show_lines(self, lines: Sequence[str]) -> None:
        shown = [floor_line(line) for line in lines]
        old, self._lines = self._lines, shown
        self.update(Content("\n".join(shown)), layout=old is None or not self._same_height(old, shown))

    def _same_height(self, old: list[str], new: list[str]) -> bool:
        # Same number of lines, none wrapped: the content's height cannot have changed.
        width = self.content_region.width if self.is_mounted else 0
        if width <= 0 or len(old) != len(new):
            return False
        return all(cell_len(line) <= width for lines in (old, new) for line in lines)


class StatusLine(FixedText):
    """Operator, terminal, scanner state, online/offline, last sync time, unsynced count: always visible."""

    def show(self, *, operator: str, terminal: str, scanner: str, online: str, unsynced: int, narrow: bool = False,
             synced_at: str | None = None) -> None:
        """`synced_at`: the local time (HH:MM) of the last full sync, on a terminal that syncs and has synced."""
        if narrow:
            # 40 columns: every field still there, abbreviated.
            state = {"connected": "ok", "disconnected": "OFF", "connecting": "..", "error": "ERR"}.get(scanner, scanner[:4])
            when = f" {synced_at}" if synced_at else ""
            self.show_lines([f"{operator} {terminal[:8]} scan:{state} {online}{when} {unsynced}↑"])
        else:
            when = f" (synced {synced_at})" if synced_at else ""
            self.show_lines([f"{operator} · {terminal} · scanner {scanner} · {online}{when} · {unsynced} unsynced"])


class PromptBar(FixedText):
    """The current prompt: the biggest thing on screen."""


class ContextLines(SizedText):
    """What the workflow knows so far: document, item, lot, quantities."""


class Feedback(SizedText):
    """The last scan's result; stays until the next scan."""

    def show(self, ok: bool | None, message: str) -> None:
        if ok is None or not message:
            self.remove_class("-ok", "-error")
            self.show_lines([""])
            return
        # Only a change of colour restyles; a new message alone is just new text.
        self.set_class(ok, "-ok")
        self.set_class(not ok, "-error")
        self.show_lines([("✔ " if ok else "✘ ") + message])


class KeyBar(FixedText):
    """The keys of the commands possible now."""

    def show(self, commands: list[str]) -> None:
        self.commands = [c for c in commands if c in COMMAND_KEYS]
        self._lay_out()

    def on_resize(self) -> None:
        if getattr(self, "commands", None) is not None:
            self._lay_out()

    def _lay_out(self) -> None:
        # Break lines between "key label" pairs, never inside one ("F12" / "Logout").
        width = max(self.content_region.width, 20) if self.is_mounted and self.content_region.width else 78
        lines, line = [], ""
        for pair in (f"{key_label(c)} {c.title()}" for c in self.commands):
            candidate = f"{line}  {pair}" if line else pair
            if line and len(candidate) > width:
                lines.append(line)
                candidate = pair
            line = candidate
        lines.append(line)
        self.show_lines(lines)


class TypedAsShown(Highlighter):
    """The entry line as drawn: a character that would not show as itself (GS, ESC, U+202E …) is one visible cell.

    One cell for one character, so the cursor stays where the operator typed: C0
    controls as their control pictures (GS as ␝), anything else as �. The value
    itself is untouched (a wedge scan keeps its GS).
    """

    def __call__(self, text: str | Text) -> Text:
        text = Text(text) if isinstance(text, str) else text
        if text.plain.isprintable():
            return text
        shown = "".join(ch if ch.isprintable() else _picture(ch) for ch in text.plain)
        return Text(shown, style=text.style, no_wrap=text.no_wrap, overflow=text.overflow, end=text.end)

    def highlight(self, text: Text) -> None:
        """Nothing is coloured: `__call__` only replaces what cannot be shown."""


def _picture(ch: str) -> str:
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)  # Unicode's Control Pictures: ␀ … ␟
    return "␡" if code == 0x7F else "�"


class EntryField(Input):
    """Where typed values and keyboard-wedge scans arrive; Enter submits.

    A wedge scanner cannot type GS: terminals deliver Ctrl+] (0x1D) for it,
    which Input would drop, so it is inserted here as the GS character.
    """

    def __init__(self, *, id: str | None = None, placeholder: str = "") -> None:
        super().__init__(id=id, placeholder=placeholder, highlighter=TypedAsShown())

    def on_mount(self) -> None:
        self.key_times: list[float] = []

    def take_key_times(self) -> list[float]:
        """The times of the keys of the line just submitted (for telling a scan burst from typing)."""
        times, self.key_times = self.key_times, []
        return times

    async def _on_key(self, event) -> None:
        if event.is_printable or event.key == "ctrl+right_square_bracket":
            self.key_times.append(time.monotonic())
        if event.key == "ctrl+right_square_bracket" or event.character == "\x1d":
            event.stop()
            event.prevent_default()
            self.insert_text_at_cursor("\x1d")
            return
        await super()._on_key(event)
