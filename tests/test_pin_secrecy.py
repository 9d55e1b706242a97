"""What is typed at a PIN prompt is never logged or shown, not even when something crashes.

The real app runs headless on a copy of the demo warehouse. A crash at a PIN
prompt is forced with a workflow whose PIN handler raises an error that quotes
the PIN (as a careless bug would); the app's log (caplog: every record with its
traceback) and the screen must not hold the PIN. An error nothing handles ends
the app with a traceback on stderr: it must not list the frames' local
variables, where the PIN was (`text = '4321'`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import pytest

from warehouse_tui.replay import screen_text
from warehouse_tui.scan.resolver import Scan
from warehouse_tui.workflows import registry
from warehouse_tui.workflows.base import Outcome
from warehouse_tui.workflows.login import Login
from warehouse_tui.workflows.receive import Receive

PIN = "4321"


@dataclass
class LoginWithBrokenPinCheck(Login):
    def on_pin(self, scan: Scan) -> Outcome:
        raise RuntimeError(f"could not check PIN {scan.value} for badge {self.badge}")


@dataclass
class ReceiveWithBrokenApproval(Receive):
    def on_supervisor_pin(self, scan: Scan) -> Outcome:
        raise RuntimeError(f"could not check supervisor PIN {scan.value}")


async def type_enter(app, pilot, text: str) -> None:
    app.floor.query_one("#entry").insert_text_at_cursor(text)
    await pilot.press("enter")
    await pilot.pause()


def run(app, story) -> None:
    async def main() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await story(pilot)

    asyncio.run(main())


@pytest.mark.parametrize("how", ["typed", "scanned"])
def test_a_crash_at_the_login_pin_prompt_logs_and_shows_neither_the_pin_nor_the_errors_message(make_app, caplog, how):
    app = make_app()
    screens: list[str] = []

    async def story(pilot) -> None:
        app.floor.set_workflow(LoginWithBrokenPinCheck(app.terminal))
        app.scanner.feed("U1001")
        await pilot.pause()
        assert app.floor.workflow.prompt.secret
        with caplog.at_level(logging.DEBUG):
            if how == "typed":
                await type_enter(app, pilot, PIN)
            else:
                app.scanner.feed(PIN)
                await pilot.pause()
        screens.append(screen_text(app))
        assert app.is_running

    run(app, story)
    assert "Internal error" in screens[0] and PIN not in screens[0]
    assert PIN not in caplog.text
    crashes = [r for r in caplog.records if "crashed the workflow" in r.getMessage()]
    assert crashes, caplog.text
    assert "LoginWithBrokenPinCheck" in caplog.text and "RuntimeError" in caplog.text  # still says where and what


def test_a_crash_at_the_supervisor_pin_prompt_of_an_over_receipt_logs_no_pin(make_app, monkeypatch, caplog):
    monkeypatch.setitem(registry.WORKFLOWS, "RECEIVE", ReceiveWithBrokenApproval)
    app = make_app()
    screens: list[str] = []

    async def story(pilot) -> None:
        async def scan(text: str) -> None:
            app.scanner.feed(text)
            await pilot.pause()

        await scan("U1001")
        await scan("1234")
        await scan("@RECEIVE")
        await scan("PO-1002")
        await scan("(01)09501101016415(17)351231(10)OO-NEW(30)61")
        await scan("S9001")
        assert app.floor.workflow.state == "supervisor_pin" and app.floor.workflow.prompt.secret
        with caplog.at_level(logging.DEBUG):
            await type_enter(app, pilot, "9999")
        screens.append(screen_text(app))
        assert app.is_running

    run(app, story)
    assert "Internal error" in screens[0] and "9999" not in screens[0]
    assert "9999" not in caplog.text
    assert "crashed the workflow" in caplog.text and "ReceiveWithBrokenApproval" in caplog.text


def test_a_crash_elsewhere_still_logs_the_scan_that_caused_it(make_app, caplog):
    # Outside PIN prompts the scan is what a supervisor needs to reproduce the bug.
    app = make_app()

    @dataclass
    class BrokenBadgeCheck(Login):
        def on_badge(self, scan: Scan) -> Outcome:
            raise RuntimeError("badge check failed")

    async def story(pilot) -> None:
        app.floor.set_workflow(BrokenBadgeCheck(app.terminal))
        with caplog.at_level(logging.ERROR):
            app.scanner.feed("U1001")
            await pilot.pause()

    run(app, story)
    assert "scan 'U1001' crashed the workflow" in caplog.text


def test_an_unknown_command_typed_at_the_pin_prompt_is_not_echoed(make_app):
    app = make_app()
    screens: list[str] = []

    async def story(pilot) -> None:
        app.scanner.feed("U1001")
        await pilot.pause()
        await type_enter(app, pilot, "@Secret77")
        screens.append(screen_text(app))

    run(app, story)
    assert "Unknown command" in screens[0] and "Secret77" not in screens[0]


def test_an_unhandled_error_ends_the_app_with_a_traceback_that_lists_no_local_variables(make_app, caplog, capsys):
    app = make_app()

    def check_pin(text: str) -> None:
        raise RuntimeError("the PIN service is gone")

    async def story(pilot) -> None:
        app.scanner.feed("U1001")
        await pilot.pause()
        # An error raised where the PIN is a local variable, handled by nothing of ours.
        app.call_later(check_pin, PIN)
        await pilot.pause()
        await pilot.pause()

    with caplog.at_level(logging.CRITICAL), pytest.raises(RuntimeError, match="the PIN service is gone"):
        run(app, story)
    stderr = capsys.readouterr().err
    assert "RuntimeError" in stderr and "the PIN service is gone" in stderr  # the traceback is still there
    assert PIN not in stderr and "text =" not in stderr
    assert "the app stopped on an unhandled error" in caplog.text and PIN not in caplog.text
