"""The widgets every floor screen shares: status line, prompt, context lines, feedback, key bar."""

from __future__ import annotations

import time

from rich.cells import cell_len
from textual.widgets import Input, Static

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
}
KEY_LABELS = {"escape": "Esc"}


def key_label(command: str) -> str:
    key = COMMAND_KEYS[command]
    return KEY_LABELS.get(key, key.upper())


class FixedText(Static):
    """A line of text in a box whose size never depends on its text (its height is set in the stylesheet).

    New text only repaints the widget: laying out the whole screen again for it
    would cost a few milliseconds per scan and change nothing.
    """

    def show_text(self, text: str) -> None:
        self.update(text, layout=not self.is_mounted)


class SizedText(Static):
    """Text whose height (or scrollbar) follows the number of lines it has: a new layout only when that can change."""

    _text: str | None = None

    def show_text(self, text: str) -> None:
        old, self._text = self._text, text
        self.update(text, layout=old is None or not self._same_height(old, text))

    def _same_height(self, old: str, new: str) -> bool:
        # Same number of lines, none wrapped and no markup: the content's height cannot have changed.
        width = self.content_region.width if self.is_mounted else 0
        if width <= 0 or old.count("\n") != new.count("\n") or "[" in old or "[" in new:
            return False
        return all(cell_len(line) <= width for text in (old, new) for line in text.split("\n"))


class StatusLine(FixedText):
    """Operator, terminal, scanner state, online/offline, last sync time, unsynced count: always visible."""

    def show(self, *, operator: str, terminal: str, scanner: str, online: str, unsynced: int, narrow: bool = False,
             synced_at: str | None = None) -> None:
        """`synced_at`: the local time (HH:MM) of the last full sync, on a terminal that syncs and has synced."""
        if narrow:
            # 40 columns: every field still there, abbreviated.
            state = {"connected": "ok", "disconnected": "OFF", "connecting": "..", "error": "ERR"}.get(scanner, scanner[:4])
            when = f" {synced_at}" if synced_at else ""
            self.show_text(f"{operator} {terminal[:8]} scan:{state} {online}{when} {unsynced}↑")
        else:
            when = f" (synced {synced_at})" if synced_at else ""
            self.show_text(f"{operator} · {terminal} · scanner {scanner} · {online}{when} · {unsynced} unsynced")


class PromptBar(FixedText):
    """The current prompt: the biggest thing on screen."""


class ContextLines(SizedText):
    """What the workflow knows so far: document, item, lot, quantities."""


class Feedback(SizedText):
    """The last scan's result; stays until the next scan."""

    def show(self, ok: bool | None, message: str) -> None:
        if ok is None or not message:
            self.remove_class("-ok", "-error")
            self.show_text("")
            return
        # Only a change of colour restyles; a new message alone is just new text.
        self.set_class(ok, "-ok")
        self.set_class(not ok, "-error")
        self.show_text(("✔ " if ok else "✘ ") + message)


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
        self.show_text("\n".join(lines))


class EntryField(Input):
    """Where typed values and keyboard-wedge scans arrive; Enter submits.

    A wedge scanner cannot type GS: terminals deliver Ctrl+] (0x1D) for it,
    which Input would drop, so it is inserted here as the GS character.
    """

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
