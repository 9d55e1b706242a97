"""Replay scripts (DESIGN §7): drive the real app headless, one event per line.

    # comment
    scan U1001                 a scan through the simulated scanner (\\x1d = GS)
    type 1234                  typed text into the entry field
    key enter                  a key by Textual name
    expect Scan item           a regex that must match the screen text now
    snapshot receive-done      save the screen as SVG under --screens

Exit codes: 0 every expect held, 1 an expect failed (the screen text is
printed), 2 the script is bad (nothing is run).
"""

from __future__ import annotations

import asyncio
import re
import sys
from dataclasses import dataclass
from pathlib import Path

VERBS = ("scan", "type", "key", "expect", "snapshot")
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|\\|t)")


class ScriptError(Exception):
    """The script itself is wrong (exit 2)."""


@dataclass(frozen=True)
class Step:
    line: int
    verb: str
    arg: str
    pattern: re.Pattern | None = None


def decode(text: str) -> str:
    """`\\x1d` -> GS, `\\t` -> tab, `\\\\` -> backslash; anything else stays as written."""
    def sub(m: re.Match) -> str:
        code = m.group(1)
        if code == "\\":
            return "\\"
        if code == "t":
            return "\t"
        return chr(int(code[1:], 16))

    return _ESCAPE.sub(sub, text)


def parse_script(text: str) -> list[Step]:
    steps = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r\n")
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        verb, _, arg = stripped.partition(" ")
        arg = arg.strip()
        if verb not in VERBS:
            raise ScriptError(f"line {n}: unknown event {verb!r} (one of {', '.join(VERBS)})")
        if verb in ("scan", "key", "expect", "snapshot") and not arg:
            raise ScriptError(f"line {n}: {verb} needs an argument")
        pattern = None
        if verb == "expect":
            try:
                pattern = re.compile(arg)
            except re.error as exc:
                raise ScriptError(f"line {n}: bad regex {arg!r}: {exc}") from exc
        if verb == "snapshot" and not re.fullmatch(r"[A-Za-z0-9_.-]+", arg):
            raise ScriptError(f"line {n}: snapshot name must be letters, digits, . _ -")
        if verb in ("scan", "type"):
            arg = decode(arg)
        steps.append(Step(n, verb, arg, pattern))
    return steps


def parse_size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)x(\d+)", text)
    if not m or int(m.group(1)) < 20 or int(m.group(2)) < 8:
        raise ScriptError(f"--size must be WIDTHxHEIGHT (at least 20x8), not {text!r}")
    return int(m.group(1)), int(m.group(2))


def screen_text(app) -> str:
    """The screen as the operator sees it, as plain text."""
    return "\n".join(strip.text.rstrip() for strip in app.screen._compositor.render_strips())


@dataclass
class ReplayResult:
    ok: bool
    failed_line: int | None = None
    message: str = ""
    screen: str = ""


async def apply_step(app, pilot, step: Step, screens: Path | None = None) -> ReplayResult | None:
    """Perform one event on a running app; returns a failed ReplayResult when an expect does not hold."""
    if step.verb == "scan":
        app.scanner.feed(step.arg)
    elif step.verb == "type":
        app.floor.query_one("#entry").insert_text_at_cursor(step.arg)
    elif step.verb == "key":
        await pilot.press(step.arg)
    elif step.verb == "expect":
        text = screen_text(app)
        if not step.pattern.search(text):
            return ReplayResult(False, step.line, f"line {step.line}: expected /{step.arg}/ not on screen", text)
        return None
    elif step.verb == "snapshot":
        target = screens or Path("screens")
        target.mkdir(parents=True, exist_ok=True)
        app.save_screenshot(filename=f"{step.arg}.svg", path=str(target))
        return None
    await pilot.pause()
    # What a step started in the background to show (the floor view measures a page in a worker thread)
    # is on screen before the next step: a script reads the screen as it settles, not mid-measure.
    measuring = [worker for worker in app.workers if worker.group == "floor-view"]
    if measuring:
        await app.workers.wait_for_complete(measuring)
        await pilot.pause()
    return None


async def run_steps(app, steps: list[Step], size: tuple[int, int], screens: Path | None, trace=None) -> ReplayResult:
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for step in steps:
            failed = await apply_step(app, pilot, step, screens)
            if failed is not None:
                return failed
            if trace is not None:
                print(f"line {step.line}: {step.verb} ok", file=trace, flush=True)
        return ReplayResult(True)


def replay(script: Path, *, db, settings, size: tuple[int, int] = (80, 24), screens: Path | None = None, out=sys.stdout,
           trace: bool = False) -> int:
    from drivers.sim import SimScanner
    from warehouse_tui.app import WarehouseApp

    try:
        steps = parse_script(script.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read {script}: {exc}", file=out)
        return 2
    except ScriptError as exc:
        print(f"error: {script}: {exc}", file=out)
        return 2
    app = WarehouseApp(db, settings, scanner=SimScanner("sim://"))
    result = asyncio.run(run_steps(app, steps, size, screens, trace=out if trace else None))
    if result.ok:
        print(f"{script}: {len(steps)} events, every expect held", file=out)
        return 0
    print(f"{script}: {result.message}\n----- screen -----\n{result.screen}\n------------------", file=out)
    return 1
