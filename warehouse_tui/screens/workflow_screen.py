"""The workflow screen: renders whatever workflow is active and hands it every scan and typed line (styles in floor.tcss)."""

from __future__ import annotations

import logging

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen

from warehouse_tui.widgets.prompt_panel import (
    COMMAND_KEYS,
    ContextLines,
    EntryField,
    Feedback,
    FixedText,
    KeyBar,
    PromptBar,
    StatusLine,
)
from warehouse_tui.workflows.base import Workflow

log = logging.getLogger(__name__)

ALWAYS = ("CANCEL", "HOME", "LOGOUT")
SCREEN_FAILED = "Internal error — the screen could not show this; tell a supervisor"


class FloorScreen(Screen):
    CSS_PATH = "floor.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (60, "-wide")]
    BINDINGS = [Binding(key, f"command('{cmd}')", show=False, priority=True) for cmd, key in COMMAND_KEYS.items()]

    def __init__(self, workflow: Workflow) -> None:
        super().__init__()
        self.workflow = workflow
        self._shown: dict[str, object] = {}

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield FixedText(id="title")
        yield PromptBar(id="prompt")
        yield ContextLines(id="lines")
        yield Feedback(id="feedback")
        yield EntryField(id="entry", placeholder="scan or type, then Enter")
        yield KeyBar(id="keys")

    def on_mount(self) -> None:
        entry = self.query_one(EntryField)
        entry.cursor_blink = self.app.cursor_blink
        self.render_workflow()
        entry.focus()

    def action_command(self, command: str) -> None:
        self.app.run_command(command)

    def on_input_submitted(self, event: EntryField.Submitted) -> None:
        event.stop()
        text = event.value
        event.input.value = ""
        key_times = event.input.take_key_times()
        if text == "" and not self.workflow.prompt.accepts_empty:
            return
        self.app.submit_typed(text, key_times)

    def set_workflow(self, workflow: Workflow) -> None:
        self.workflow = workflow
        self.render_workflow()

    def render_workflow(self) -> None:
        """Show the workflow's state; widgets whose text did not change are left alone (no relayout).

        A failure (a workflow that cannot say its prompt or lines, a widget that cannot
        take them) is logged and flashed as an internal error: the app keeps running.
        """
        try:
            self._render_workflow()
        except Exception:
            log.exception("showing %s (state %r) failed", type(self.workflow).__name__, getattr(self.workflow, "state", None))
            self.show_internal_error()

    def _render_workflow(self) -> None:
        wf = self.workflow
        prompt = wf.prompt
        outcome = wf.outcome
        always = ALWAYS if self.app.terminal.operator is not None else ("CANCEL",)
        self._show("#title", (wf.title,))
        self._show("#prompt", (prompt.text,))
        self._show("#lines", tuple(wf.lines()))
        self._show("#feedback", (outcome.ok if outcome else None, outcome.message if outcome else ""))
        self._show("#keys", (*prompt.commands, *always))
        entry = self.query_one(EntryField)
        if entry.password != prompt.secret:
            entry.password = prompt.secret
        self.app.refresh_status()

    def show_internal_error(self) -> None:
        """The red line and the bell of an internal error; what else is on screen stays as it was."""
        self._shown.pop("#feedback", None)  # whatever the workflow says next is shown again
        self.query_one(Feedback).show(False, SCREEN_FAILED)
        self.app.bell()

    def _show(self, selector: str, content: tuple) -> None:
        if self._shown.get(selector) == content:
            return
        self._shown[selector] = content
        widget = self.query_one(selector)
        if isinstance(widget, Feedback):
            widget.show(*content)
        elif isinstance(widget, KeyBar):
            widget.show(list(content))
        else:
            widget.show_lines(content)
