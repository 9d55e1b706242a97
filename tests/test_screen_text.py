"""Text on the floor screen is text: scans, typed values and master data are shown as written, never as markup.

Every test runs the real app headless on a copy of the demo warehouse, with
scans through the simulated scanner, and reads the screen as the operator sees
it (warehouse_tui.replay.screen_text). Master data with markup, control and
bidi characters is written straight into the database first, as an import or a
sync from a careless upstream would leave it.
"""

from __future__ import annotations

import asyncio
import logging
import unicodedata

import pytest
from textual.content import Content
from textual.visual import Visual

from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import Operator
from warehouse_tui.replay import screen_text
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.auth import hash_pin
from warehouse_tui.widgets.prompt_panel import Feedback, PromptBar
from warehouse_tui.workflows import registry
from warehouse_tui.workflows.inquiry import Inquiry

SIZES = pytest.mark.parametrize("size", [(80, 24), (40, 16)], ids=["80x24", "40x16"])
STOVE = "05901234021357"  # NO-STOVE, serial-tracked, on ASN-2001
MARKUP = ["[/]", "LOT[/b]", "[bold red]x[/]", "[@click=app.quit]Q[/]", "[link=x.io]x[/link]"]


class Floor:
    """The operator's side of the app: scans through the simulated scanner, the screen as text."""

    def __init__(self, app, pilot) -> None:
        self.app, self.pilot = app, pilot

    async def scan(self, text: str) -> str:
        self.app.scanner.feed(text)
        await self.pilot.pause()
        return self.text

    async def login(self, badge: str = "U1001", pin: str = "1234") -> str:
        await self.scan(badge)
        return await self.scan(pin)

    @property
    def text(self) -> str:
        return screen_text(self.app)

    @property
    def flat(self) -> str:
        """The screen without line breaks and padding: a message wrapped over two lines reads whole."""
        return "".join(line.strip() for line in self.text.splitlines())


def drive(app, story, size=(80, 24)) -> None:
    async def run() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await story(Floor(app, pilot))
        assert app.return_code in (None, 0)

    asyncio.run(run())


def add_master_data(path, add) -> None:
    db = Database(path)
    try:
        with db.transaction() as session:
            add(session)
    finally:
        db.dispose()


def only_printable(screen: str) -> bool:
    """No character on screen that a terminal would act on or hide (ESC, NUL, bidi overrides, zero-width …)."""
    return all(ch.isprintable() for line in screen.splitlines() for ch in line)


# --------------------------------------------------------------------------- scanned and typed text


@SIZES
def test_markup_scanned_at_the_badge_prompt_is_refused_and_shown_as_written(make_app, size):
    app = make_app()

    async def story(floor: Floor) -> None:
        for text in MARKUP:
            await floor.scan(text)
            assert app.is_running
            outcome = app.floor.workflow.outcome
            assert not outcome.ok and text in outcome.message
            assert text in floor.flat  # the brackets are on screen, not eaten as tags
            assert app.floor.workflow.state == "badge"

    drive(app, story, size)


def test_markup_typed_as_a_lot_is_kept_and_shown_as_written(make_app):
    app = make_app()

    async def story(floor: Floor) -> None:
        await floor.login()
        await floor.scan("@RECEIVE")
        await floor.scan("PO-1002")
        assert "Scan lot of PASSATA-700" in await floor.scan("9501101017467")
        screen = await floor.scan("[bold red]x[/]")
        assert "PASSATA-700 lot [bold red]x[/]" in screen
        assert app.floor.workflow.pending.lot == "[bold red]x[/]"

    drive(app, story)


def test_control_bidi_and_zero_width_characters_typed_in_the_entry_line_are_drawn_visibly(make_app):
    app = make_app()

    async def story(floor: Floor) -> None:
        app.floor.query_one("#entry").insert_text_at_cursor("A\x1b[31mB\u202eC\u200bD\x1dE")
        await floor.pilot.pause()
        screen = floor.text
        assert "A␛[31mB�C�D␝E" in screen and only_printable(screen)
        assert app.floor.query_one("#entry").value == "A\x1b[31mB\u202eC\u200bD\x1dE"  # the value is what was typed

    drive(app, story)


# --------------------------------------------------------------------------- master data


@SIZES
def test_a_user_named_with_markup_logs_in_and_is_welcomed_by_that_name(make_app, demo_path, size):
    add_master_data(demo_path, lambda s: s.add(Operator(badge="E1001", name="Eve [/]", role="operator",
                                                        pin_hash=hash_pin("4321"))))
    app = make_app()

    async def story(floor: Floor) -> None:
        await floor.login("E1001", "4321")
        assert app.is_running and app.terminal.operator.badge == "E1001"
        assert "Welcome, Eve [/]" in floor.flat and "Choose a task" in floor.text

    drive(app, story, size)


@SIZES
def test_an_item_description_with_markup_is_shown_as_written_in_inquiry(make_app, demo_path, size):
    add_master_data(demo_path, lambda s: md.add_item(s, "CABLE-2M", description="Cable [2m] [/]", aliases=["C2M"]))
    app = make_app()

    async def story(floor: Floor) -> None:
        await floor.login()
        await floor.scan("@INQUIRY")
        await floor.scan("C2M")
        assert app.is_running
        assert "Item CABLE-2M Cable [2m] [/]" in floor.flat

    drive(app, story, size)


def test_a_serial_with_markup_is_received_and_then_shown_wherever_it_appears(make_app):
    app = make_app()

    async def story(floor: Floor) -> None:
        await floor.login()
        await floor.scan("@RECEIVE")
        await floor.scan("ASN-2001")
        assert "Scan serial of NO-STOVE" in await floor.scan(STOVE)
        await floor.scan("SN[/]")
        assert app.floor.workflow.outcome.ok
        assert "Received 1 × NO-STOVE SN SN[/]" in floor.flat
        # Committed: every screen that shows it again still works.
        await floor.scan("@INQUIRY")
        await floor.scan("SN[/]")
        assert app.is_running and app.floor.workflow.outcome.ok
        assert "SN[/]" in floor.flat
        await floor.scan(STOVE)
        assert app.is_running and "NO-STOVE" in floor.flat

    drive(app, story)


def test_control_bidi_and_zero_width_characters_in_master_data_are_shown_escaped(make_app, demo_path):
    add_master_data(demo_path, lambda s: md.add_item(s, "EVIL-1", description="Red\x1b[31m\u202eevil\u200bX\x00",
                                                     aliases=["EV1"]))
    app = make_app()

    async def story(floor: Floor) -> None:
        await floor.login()
        await floor.scan("@INQUIRY")
        screen = await floor.scan("EV1")
        assert "Red<1B>[31m<202E>evil<200B>X<00>" in floor.flat
        assert only_printable(screen)

    drive(app, story)


@SIZES
def test_a_5000_character_name_is_cut_with_an_ellipsis_and_the_prompt_stays(make_app, demo_path, size):
    add_master_data(demo_path, lambda s: s.add(Operator(badge="L1001", name="D" * 5000, role="operator",
                                                        pin_hash=hash_pin("4321"))))
    app = make_app()

    async def story(floor: Floor) -> None:
        screen = await floor.login("L1001", "4321")
        assert "Welcome," in floor.flat and "DDD…" in floor.flat and "D" * 60 not in floor.flat
        lines = screen.split("\n")
        assert len(lines) == size[1]
        assert "L1001" in lines[0]  # the status line is still on top
        assert "Choose a task" in screen  # the prompt is still there
        assert "F12 Logout" in floor.flat  # and the key bar at the bottom

    drive(app, story, size)


# --------------------------------------------------------------------------- no action hides in a message


def test_click_markup_in_an_error_flash_is_no_action(make_app):
    app = make_app()

    async def story(floor: Floor) -> None:
        await floor.scan("[@click=app.quit]Q[/]")
        feedback = app.floor.query_one(Feedback)
        content = feedback.visual
        assert isinstance(content, Content) and "[@click=app.quit]Q[/]" in content.plain
        assert not content.spans  # no style, no link, no action anywhere in it
        # A click anywhere on the red line (the browser under `serve` turns clicks into these) quits nothing.
        for x in range(0, feedback.size.width, 3):
            await floor.pilot.click(Feedback, offset=(x, 0))
        await floor.pilot.pause()
        assert app.is_running and app.floor.is_current

    drive(app, story)


# --------------------------------------------------------------------------- drawing fails safe


class BrokenInquiry(Inquiry):
    """An inquiry whose context lines cannot be built (a bug in a workflow)."""

    def lines(self) -> list[str]:
        if self.answer:
            raise RuntimeError("lines are broken")
        return []


def test_a_workflow_whose_screen_cannot_be_built_flashes_an_internal_error_and_keeps_running(make_app, monkeypatch, caplog):
    monkeypatch.setitem(registry.WORKFLOWS, "INQUIRY", BrokenInquiry)
    app = make_app()

    async def story(floor: Floor) -> None:
        await floor.login()
        await floor.scan("@INQUIRY")
        with caplog.at_level(logging.ERROR):
            screen = await floor.scan("A-01-01-2")
        assert app.is_running
        assert "Internal error" in screen and "tell a supervisor" in floor.flat
        assert "Scan anything" in screen
        # And it recovers: the next screen that can be shown is shown.
        assert "Choose a task" in await floor.scan("@HOME")

    drive(app, story)
    failures = [r for r in caplog.records if "showing BrokenInquiry" in r.getMessage()]
    assert failures and failures[0].exc_info and "lines are broken" in str(failures[0].exc_info[1])


class Unpaintable(Visual):
    """A visual that fails when the screen is drawn (a bug in rendering, not in the workflow)."""

    def render_strips(self, width, height, style, options):
        raise ValueError("cannot paint")

    def get_optimal_width(self, rules, container_width: int) -> int:
        return 10

    def get_height(self, rules, width: int) -> int:
        return 1


def test_a_widget_that_fails_to_draw_is_blank_and_flashes_an_internal_error(make_app, caplog):
    app = make_app()

    async def story(floor: Floor) -> None:
        prompt = app.floor.query_one(PromptBar)
        with caplog.at_level(logging.ERROR):
            prompt.update(Unpaintable())
            await floor.pilot.pause()
            await floor.pilot.pause()
        assert app.is_running
        assert "Internal error" in floor.text
        # The next state of the workflow is drawn again as usual.
        assert "Type PIN" in await floor.scan("U1001")

    drive(app, story)
    assert any("cannot paint" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


def test_the_screen_never_holds_a_character_a_terminal_would_act_on(make_app, demo_path):
    add_master_data(demo_path, lambda s: md.add_item(s, "ANSI-1", description="\x1b]0;pwned\x07\x1b[2J\u2028\u2029\ue000\U000e0041",
                                                     aliases=["AN1"]))
    app = make_app()

    async def story(floor: Floor) -> None:
        await floor.login()
        await floor.scan("@INQUIRY")
        screen = await floor.scan("AN1")
        assert only_printable(screen), [ch for ch in screen if not ch.isprintable() and ch != "\n"]
        assert "<1B>]0;pwned<07><1B>[2J<2028><2029><E000><E0041>" in floor.flat
        assert all(unicodedata.category(ch)[0] != "C" for ch in floor.flat)

    drive(app, story)
