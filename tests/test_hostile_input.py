"""Hostile input at every prompt of every workflow: the floor never crashes, a refusal changes nothing, text is text.

A fixed corpus — markup (`[/]`, `[@click=app.quit]Q[/]` …), control and ANSI
escape characters, NUL, bidi overrides and zero-width characters, look-alike
spaces, private-use and unassigned code points, lone surrogates, 4,000- and
5,000-character strings, scans that are only an AIM symbology identifier — is
scanned at each prompt through the simulated scanner, into the real app running
headless at 40x16 on a copy of the demo warehouse. After every scan:

- the app still runs, and no internal error was needed to keep it running;
- a refused scan left the workflow (every field of it) and the database (the
  row count of every table, the stock on hand, the failed PINs) as they were —
  except at PIN prompts, where a wrong PIN counts toward the lockout and starts
  the badge over, as it must;
- the screen holds no character a terminal would act on or hide, the feedback
  line is the outcome's message character for character with no style, link or
  action in it, a message that quotes the input shows it as written, the
  prompt is still on screen, and what was typed at a PIN prompt is nowhere;
- an accepted scan (a markup lot or serial is a legal value; a new tote code
  creates the tote) is shown as written too; the test then walks back to the
  prompt and goes on.

A bounded hypothesis run then throws generated text at a few prompts the same
way (the app runs on the test's loop; hypothesis drives it from a worker
thread).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from drivers.base import RawScan
from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import Base, Operator, Quant, WarehouseException
from warehouse_tui.replay import screen_text
from warehouse_tui.services import supervisor, waves
from warehouse_tui.services.auth import find_operator
from warehouse_tui.services.ledger import Actor
from warehouse_tui.widgets.prompt_panel import Feedback, floor_line

SIZE = (40, 16)
CLI = Actor(None, "CLI")

CORPUS: dict[str, str] = {
    "markup-close": "[/]",
    "markup-lot": "LOT[/b]",
    "markup-style": "[bold red]x[/]",
    "markup-click": "[@click=app.quit]Q[/]",
    "markup-link": "[link=https://x.io]x[/link]",
    "markup-unclosed": "[b",
    "markup-escaped": "\\[b]x[/b]",
    "markup-variable": "$x[/]",
    "at-markup": "@[/]",
    "nul": "A\x00B",
    "ansi-colour": "\x1b[31mRED\x1b[0m",
    "ansi-title": "\x1b]0;pwned\x07",
    "cr-lf": "A\r\nB",
    "tab": "A\tB",
    "del-c1": "A\x7f\x85B",
    "gs-only": "\x1d",
    "rtl-override": "\u202eLOT1",
    "zero-width": "LOT\u200b1",
    "byte-order-mark": "\ufeffLOT1",
    "nbsp": "LOT\u00a01",
    "line-separator": "LOT\u20281",
    "private-use": "LOT\ue000",
    "unassigned": "LOT\u0378",
    "lone-surrogate": "LOT\ud800",
    "wide": "界" * 30,
    "spaces": "   ",
    "4k-markup": "[/]" * 1300,
    "4k-words": "[b] " * 1000,
    "5k": "A" * 5000,
    "5k-markup": "[/]" * 1700,
    "aim-only-c1": "]C1",
    "aim-only-e0": "]E0",
    "aim-only-d2": "]d2",
}

PASSATA = "9501101017467"        # PASSATA-700: lot and expiry, on PO-1002
STOVE = "05901234021357"         # NO-STOVE: serial-tracked, on ASN-2001
PAPER_CASE = "19501101010205"    # PAPER-A4 case: 2 loose in RCV-01
TAPE = "09501101010031"          # TAPE-48: 13 in A-01-01-1, 271 in A-01-01-2
BATT = "9501101011410"           # BATT-AA-4: 78 in pick face A-01-08-1; 6 on ORD-10001
USBC = "9501101011571"           # USBC-1M: 1 on ORD-10001
BOTTLE = "09501101014886"        # BOTTLE-750: 12 on ORD-10007, in B-01-09-1
SUNSCREEN = "09501101016163"     # SUNSCREEN-50: lot-tracked, two lots in B-02-06-1 and reserve
DRILL = "9501101012363"          # DRILL-18V: serial-tracked, in A-02-06-1
SCANNER_2D = "9501101012509"     # SCANNER-2D: serial-tracked, 1 on ORD-10008 from A-02-05-1
LABELPRN = "9501101012851"       # LABELPRN-4: serial-tracked, 1 on ORD-10008 from A-02-03-1
OVER_RECEIPT = "(01)09501101016415(17)351231(10)OO-NEW(30)61"  # 61 of OLIVE-OIL-1L where PO-1002 expects 60

OPERATOR = ("U1001", "1234")
SUPERVISOR = ("S9001", "9999")


# --------------------------------------------------------------------------- the prompts and how to reach them


def wave(*orders: str, batch: int = 4) -> Callable[[Database], None]:
    def setup(db: Database) -> None:
        with db.transaction() as s:
            waves.release(s, CLI, list(orders), batch_size=batch)
    return setup


def blind_count(*bins: str) -> Callable[[Database], None]:
    def setup(db: Database) -> None:
        with db.transaction() as s:
            supervisor.create_counts(s, Actor(find_operator(s, "S9001"), "T1"), bins=list(bins), blind=True)
    return setup


def exceptions(n: int) -> Callable[[Database], None]:
    """Open exceptions for the supervisor queue, their refs and details hostile master data themselves."""
    def setup(db: Database) -> None:
        with db.transaction() as s:
            s.add_all(WarehouseException(kind="short_pick", ref=f"[/]{i}", detail=f"[@click=app.quit]Q[/] \x1b[31m{i}")
                      for i in range(n))
    return setup


@dataclass(frozen=True)
class PromptUnderTest:
    workflow: str               # the workflow class name at the prompt
    state: str                  # its state there
    login: tuple[str, str] | None
    route: tuple[str, ...] = ()  # scans (or keys: "key:enter", "key:f7") after the login
    setup: Callable[[Database], None] | None = None
    # Where a refusal may leave the workflow by design: a wrong PIN starts the badge over.
    refused_to: str | None = None
    # The prompt can be used up: every accepted scan takes away what brings one back to it.
    consumable: bool = False


RECEIVE_PO = ("@RECEIVE", "PO-1002")
PICKED_1 = ("@PICK", "ORD-10001", "TOTE-0005", "A-01-08-1", BATT, "6", "A-01-09-1", USBC, "1", "@DONE")
PICKED_8 = ("@PICK", "@NEXT", "TOTE-0006", "A-02-05-1", SCANNER_2D, "SC2D61967469", "A-02-03-1", LABELPRN,
            "LP4T30326312", "@DONE")

PROMPTS: dict[str, PromptUnderTest] = {
    "login-badge": PromptUnderTest("Login", "badge", None),
    "login-pin": PromptUnderTest("Login", "pin", None, ("U1001",), refused_to="badge"),
    "home": PromptUnderTest("Home", "menu", OPERATOR),
    "receive-document": PromptUnderTest("Receive", "document", OPERATOR, ("@RECEIVE",)),
    "receive-item": PromptUnderTest("Receive", "item", OPERATOR, RECEIVE_PO),
    "receive-lot": PromptUnderTest("Receive", "lot", OPERATOR, (*RECEIVE_PO, PASSATA)),
    "receive-expiry": PromptUnderTest("Receive", "expiry", OPERATOR, (*RECEIVE_PO, PASSATA, "LT-0042")),
    "receive-qty": PromptUnderTest("Receive", "qty", OPERATOR, (*RECEIVE_PO, PASSATA, "LT-0042", "351231")),
    "receive-serial": PromptUnderTest("Receive", "serial", OPERATOR, ("@RECEIVE", "ASN-2001", STOVE)),
    "receive-supervisor-badge": PromptUnderTest("Receive", "supervisor_badge", OPERATOR, (*RECEIVE_PO, OVER_RECEIPT)),
    "receive-supervisor-pin": PromptUnderTest("Receive", "supervisor_pin", OPERATOR, (*RECEIVE_PO, OVER_RECEIPT, "S9001"),
                                              refused_to="supervisor_badge"),
    "putaway-source": PromptUnderTest("Putaway", "source", OPERATOR, ("@PUTAWAY",)),
    "putaway-lot": PromptUnderTest("Putaway", "lot", OPERATOR, (*RECEIVE_PO, PASSATA, "LT-A", "351231", "1",
                                                                PASSATA, "LT-B", "351231", "1", "@PUTAWAY", PASSATA)),
    "putaway-serial": PromptUnderTest("Putaway", "serial", OPERATOR, ("@RECEIVE", "ASN-2001", STOVE, "ST-0001",
                                                                      "@PUTAWAY", STOVE)),
    "putaway-qty": PromptUnderTest("Putaway", "qty", OPERATOR, ("@PUTAWAY", PAPER_CASE)),
    "putaway-to-bin": PromptUnderTest("Putaway", "to_bin", OPERATOR, ("@PUTAWAY", PAPER_CASE, "key:enter")),
    "move-from": PromptUnderTest("Move", "from", OPERATOR, ("@MOVE",)),
    "move-item": PromptUnderTest("Move", "item", OPERATOR, ("@MOVE", "A-01-01-2")),
    "move-lot": PromptUnderTest("Move", "lot", OPERATOR, ("@MOVE", "B-02-06-1", SUNSCREEN)),
    "move-serial": PromptUnderTest("Move", "serial", OPERATOR, ("@MOVE", "A-02-06-1", DRILL)),
    "move-qty": PromptUnderTest("Move", "qty", OPERATOR, ("@MOVE", "A-01-01-2", TAPE)),
    "move-to": PromptUnderTest("Move", "to", OPERATOR, ("@MOVE", "A-01-01-2", TAPE, "10")),
    "pick-list": PromptUnderTest("Pick", "list", OPERATOR, ("@PICK",), wave("ORD-10001")),
    "pick-tote": PromptUnderTest("Pick", "tote", OPERATOR, ("@PICK", "@NEXT"),
                                 wave(*(f"ORD-100{n:02d}" for n in range(1, 11)), batch=10), consumable=True),
    "pick-bin": PromptUnderTest("Pick", "bin", OPERATOR, ("@PICK", "ORD-10001", "TOTE-0005"), wave("ORD-10001")),
    "pick-item": PromptUnderTest("Pick", "item", OPERATOR, ("@PICK", "ORD-10001", "TOTE-0005", "A-01-08-1"),
                                 wave("ORD-10001")),
    "pick-lot": PromptUnderTest("Pick", "lot", OPERATOR, ("@PICK", "ORD-10007", "TOTE-0007", "B-01-09-1", BOTTLE, "12",
                                                          "B-02-06-1", SUNSCREEN), wave("ORD-10007")),
    "pick-serial": PromptUnderTest("Pick", "serial", OPERATOR, ("@PICK", "@NEXT", "TOTE-0006", "A-02-05-1", SCANNER_2D),
                                   wave("ORD-10008")),
    "pick-qty": PromptUnderTest("Pick", "qty", OPERATOR, ("@PICK", "ORD-10001", "TOTE-0005", "A-01-08-1", BATT),
                                wave("ORD-10001")),
    "pick-short-qty": PromptUnderTest("Pick", "short_qty", OPERATOR, ("@PICK", "ORD-10001", "TOTE-0005", "@SHORT"),
                                      wave("ORD-10001")),
    "pick-zero-check": PromptUnderTest("Pick", "zero", OPERATOR, ("@MOVE", "A-01-08-1", BATT, "72", "A-01-08-2",
                                                                  "@PICK", "ORD-10001", "TOTE-0005", "A-01-08-1", BATT, "6"),
                                       wave("ORD-10001")),
    "pick-all-picked": PromptUnderTest("Pick", "done", OPERATOR, PICKED_1[:-1], wave("ORD-10001")),
    "pack-document": PromptUnderTest("Pack", "document", OPERATOR, (*PICKED_1, "@PACK"), wave("ORD-10001")),
    "pack-item": PromptUnderTest("Pack", "item", OPERATOR, (*PICKED_1, "@PACK", "TOTE-0005"), wave("ORD-10001")),
    "pack-serial": PromptUnderTest("Pack", "serial", OPERATOR, (*PICKED_8, "@PACK", "TOTE-0006", SCANNER_2D),
                                   wave("ORD-10008")),
    "pack-weight": PromptUnderTest("Pack", "weight", OPERATOR, (*PICKED_1, "@PACK", "TOTE-0005", "6", BATT, USBC, "key:f7"),
                                   wave("ORD-10001")),
    "pack-ready": PromptUnderTest("Pack", "ready", OPERATOR, (*PICKED_1, "@PACK", "TOTE-0005", "6", BATT, USBC, "key:f7",
                                                              "2.5"), wave("ORD-10001")),
    "count-start": PromptUnderTest("Count", "start", OPERATOR, ("@COUNT",), blind_count("A-01-01-1")),
    "count-item": PromptUnderTest("Count", "item", OPERATOR, ("@COUNT", "@NEXT"), blind_count("A-01-01-1")),
    "count-lot": PromptUnderTest("Count", "lot", OPERATOR, ("@COUNT", "B-02-06-1", SUNSCREEN)),
    "count-expiry": PromptUnderTest("Count", "expiry", OPERATOR, ("@COUNT", "B-02-06-1", SUNSCREEN, "NEW-LOT-1")),
    "count-serial": PromptUnderTest("Count", "serial", OPERATOR, ("@COUNT", "A-02-06-1", DRILL)),
    "count-qty": PromptUnderTest("Count", "qty", OPERATOR, ("@COUNT", "@NEXT", TAPE), blind_count("A-01-01-1")),
    "inquiry": PromptUnderTest("Inquiry", "scan", OPERATOR, ("@INQUIRY",)),
    "supervisor-queue": PromptUnderTest("Supervisor", "queue", SUPERVISOR, ("@SUPERVISOR",), exceptions(3)),
    "supervisor-queue-empty": PromptUnderTest("Supervisor", "queue", SUPERVISOR, ("@SUPERVISOR",)),
    "supervisor-reason": PromptUnderTest("Supervisor", "reason", SUPERVISOR, ("@SUPERVISOR", "@NO"),
                                         exceptions(len(CORPUS) + 1)),
    "supervisor-create-counts": PromptUnderTest("Supervisor", "targets", SUPERVISOR, ("@SUPERVISOR", "c")),
    "supervisor-unlock": PromptUnderTest("Supervisor", "unlock", SUPERVISOR, ("@SUPERVISOR", "u")),
    "supervisor-history": PromptUnderTest("Supervisor", "history", SUPERVISOR, ("@SUPERVISOR", "h")),
}


# --------------------------------------------------------------------------- what is observed after each scan


def tables_and_stock(db: Database, *, with_auth: bool) -> tuple:
    """Every table's row count, the stock on hand and (unless at a PIN prompt) the PIN failures and locks."""
    skipped = set() if with_auth else {"audit_events", "outbox", "operators"}
    names = [t.name for t in Base.metadata.sorted_tables if t.name not in skipped]
    counts = ", ".join(f'(SELECT count(*) FROM "{name}")' for name in names)
    with db.reading() as s:
        rows = tuple(s.execute(text(f"SELECT {counts}")).one())
        stock = s.scalar(select(func.coalesce(func.sum(Quant.qty), 0)))
        auth = s.execute(select(func.sum(Operator.failed_logins), func.count().filter(Operator.locked))).one() if with_auth else ()
    return (*zip(names, rows), stock, tuple(auth))


def workflow_state(workflow) -> tuple:
    """The workflow as a value: its class and every field but the last outcome (and the shared terminal)."""
    return type(workflow), {k: v for k, v in vars(workflow).items() if k not in ("outcome", "session", "terminal")}


def squeezed(text_: str) -> str:
    """Text without its whitespace: a message wrapped over two lines of a 40-column screen reads whole."""
    return re.sub(r"\s+", "", text_)


@dataclass
class Visit:
    """One prompt, fed scan after scan."""

    app: object
    pilot: object
    spec: PromptUnderTest

    async def do(self, step: str) -> None:
        if step.startswith("key:"):
            await self.pilot.press(step[4:])
        else:
            self.app.scanner.feed(step)
        await self.pilot.pause(0)  # the scan is handled at once; this lets the screen catch up (no wait for idle)

    async def arrive(self) -> bool:
        """Walk to the prompt from wherever the app is; True when there."""
        app, spec = self.app, self.spec
        if self.here():
            return True
        if spec.login is not None and app.terminal.operator is not None:
            await self.do("@HOME")
        elif app.terminal.operator is not None:
            await self.do("@LOGOUT")
        else:
            await self.do("@CANCEL")
        if spec.login is not None and app.terminal.operator is None:
            await self.do(spec.login[0])
            await self.do(spec.login[1])
        for step in spec.route:
            await self.do(step)
        return self.here()

    def here(self) -> bool:
        wf = self.app.floor.workflow
        return type(wf).__name__ == self.spec.workflow and wf.state == self.spec.state

    async def feed(self, hostile: str) -> dict:
        app = self.app
        wf = app.floor.workflow
        db = app.terminal.db
        secret = wf.prompt.secret
        before = dict(workflow=workflow_state(wf), db=tables_and_stock(db, with_auth=not secret),
                      screen=squeezed(screen_text(app)))
        app.scanner.feed(hostile)
        await self.pilot.pause(0)
        return dict(before=before, secret=secret, workflow=app.floor.workflow, screen=screen_text(app),
                    after_state=workflow_state(app.floor.workflow), db=tables_and_stock(db, with_auth=not secret))


def check(name: str, hostile: str, seen: dict, app, spec: PromptUnderTest) -> bool:
    """The invariants after one hostile scan; returns whether it was refused."""
    where = f"{name!r} at {spec.workflow}.{spec.state}"
    assert app.is_running and app.return_code is None, where
    screen, wf = seen["screen"], seen["workflow"]
    assert "Internal error" not in screen, f"{where}: an internal error was needed\n{screen}"
    # Nothing a terminal would act on or hide.
    bad = [ch for line in screen.split("\n") for ch in line if not ch.isprintable()]
    assert not bad, f"{where}: {bad!r} on screen"
    outcome = wf.outcome
    feedback = app.floor.query_one(Feedback).visual
    if outcome is not None and outcome.message:
        # The red or green line is the message, character for character, with no style, link or action in it.
        assert feedback.plain == ("✔ " if outcome.ok else "✘ ") + floor_line(outcome.message), where
        assert not feedback.spans, where
    flat = squeezed(screen)
    # The prompt is still there (a 5,000-character line pushed nothing off the screen).
    assert squeezed(floor_line(wf.prompt.text))[:16] in flat, f"{where}: prompt gone\n{screen}"
    shown = RawScan(hostile).text.strip(" ")  # the data: an AIM identifier only says what kind of barcode it was
    if seen["secret"]:
        if len(shown) >= 3 and squeezed(shown) not in seen["before"]["screen"]:
            assert squeezed(shown) not in flat, f"{where}: what was typed at a PIN prompt is on screen"
    elif outcome is not None and shown and shown.isprintable() and len(shown) <= 20 and shown in outcome.message:
        # The message quotes the input: the screen shows it as written, brackets and all.
        assert squeezed(shown) in flat, f"{where}: quoted input not shown as written\n{screen}"
    refused = outcome is None or not outcome.ok
    if refused:
        moved = seen["after_state"] != seen["before"]["workflow"]
        if moved and spec.refused_to is not None:
            assert wf.state == spec.refused_to, where
        else:
            assert not moved, f"{where}: a refusal changed the workflow"
        assert seen["db"] == seen["before"]["db"], f"{where}: a refusal changed the database"
    return refused


# --------------------------------------------------------------------------- the fixed corpus at every prompt


@pytest.mark.parametrize("prompt", PROMPTS)
def test_hostile_scans_at_every_prompt_change_nothing_and_are_shown_as_written(make_app, demo_path, prompt):
    spec = PROMPTS[prompt]
    if spec.setup is not None:
        db = Database(demo_path)
        spec.setup(db)
        db.dispose()
    app = make_app()
    tried: list[str] = []

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            visit = Visit(app, pilot, spec)
            assert await visit.arrive(), f"route to {prompt} ends elsewhere:\n{screen_text(app)}"
            for name, hostile in CORPUS.items():
                if not await visit.arrive():
                    assert spec.consumable, f"no way back to {prompt} after {tried[-1]!r}:\n{screen_text(app)}"
                    break
                seen = await visit.feed(hostile)
                check(name, hostile, seen, app, spec)
                tried.append(name)

    asyncio.run(main())
    assert len(tried) == len(CORPUS) or (spec.consumable and len(tried) >= 8), tried


# --------------------------------------------------------------------------- generated text at a few prompts

_MARKUP_PIECES = ["[", "]", "[/]", "[b]", "[/b]", "[@click=app.quit]", "[link=x]", "[/link]", "\\", "$", "@", "]C1",
                  "]E0", "]d2", "界", "e\u0301", "01", "(01)", "10", "A-01-01-2", "PO-1002", " "]
_INVISIBLE_PIECES = ["\x1d", "\x00", "\x1b[", "\x1b]", "\x07", "\r", "\n", "\t", "\x7f", "\x85", "\u202e", "\u200b",
                     "\u00a0", "\u2028", "\ue000", "\u0378", "\ufeff", "\ud800"]
# Printable text: it gets past the resolver's character rule to the lookups, the workflows and the screen.
_PRINTABLE = st.lists(st.one_of(st.sampled_from(_MARKUP_PIECES),
                                st.text(st.characters(categories=("L", "M", "N", "P", "S")), max_size=6)),
                      min_size=1, max_size=12).map("".join)
# Anything at all, invisible and control characters included.
_ANYTHING = st.lists(st.one_of(st.sampled_from(_MARKUP_PIECES + _INVISIBLE_PIECES), st.text(max_size=6),
                               st.characters(codec=None)), max_size=12).map("".join)
_LONG = st.builds(lambda piece, n: piece * n, st.sampled_from(_MARKUP_PIECES + _INVISIBLE_PIECES),
                  st.integers(min_value=1, max_value=5000))
# A plain number is a legal quantity at some of these prompts: not hostile.
HOSTILE_TEXT = st.one_of(_PRINTABLE, _ANYTHING, _LONG).filter(lambda t: not t.strip(" ").isdigit())

GENERATED_AT = ["login-badge", "receive-item", "pick-short-qty", "supervisor-create-counts"]


@pytest.mark.parametrize("prompt", GENERATED_AT)
def test_generated_hostile_scans_change_nothing_and_are_shown_as_written(make_app, demo_path, prompt):
    spec = PROMPTS[prompt]
    if spec.setup is not None:
        db = Database(demo_path)
        spec.setup(db)
        db.dispose()
    app = make_app()

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            loop = asyncio.get_running_loop()
            visit = Visit(app, pilot, spec)
            assert await visit.arrive()

            async def one(hostile: str) -> None:
                assert await visit.arrive(), f"no way back to {prompt}"
                seen = await visit.feed(hostile)
                check("generated", hostile, seen, app, spec)

            @settings(max_examples=100, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
            @given(hostile=HOSTILE_TEXT)
            def prop(hostile: str) -> None:
                asyncio.run_coroutine_threadsafe(one(hostile), loop).result(timeout=60)

            await asyncio.to_thread(prop)

    asyncio.run(main())


def test_the_corpus_covers_what_the_issue_names():
    joined = "".join(CORPUS.values())
    for needed in ("[/]", "LOT[/b]", "[bold red]x[/]", "[@click=app.quit]Q[/]", "[link=", "\x00", "\x1b[", "\u202e",
                   "\u200b", "]C1", "]E0"):
        assert needed in joined, needed
    assert any(len(v) >= 5000 for v in CORPUS.values())
