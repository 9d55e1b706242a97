"""Workflows are explicit state machines: the documented table is the one the code runs, and a refusal changes nothing.

- Each workflow module's docstring carries its "Transitions:" block exactly as
  its table writes it, and every state the code moves to is a target the table
  declares; a move the table does not declare is refused as a bug.
- No module in workflows/ imports SQLAlchemy or the database layer.
- For each workflow, a scan refused by a business rule (most of them inside the
  scan's unit of work) leaves the workflow's state and context exactly as they
  were and the database unchanged.
"""

from __future__ import annotations

import ast
import copy
import importlib
import pathlib

import pytest
from sqlalchemy import text

from drivers.base import RawScan
from warehouse_tui.config import Settings
from warehouse_tui.db.models import Base
from warehouse_tui.services import waves
from warehouse_tui.services.ledger import Actor
from warehouse_tui.workflows import registry
from warehouse_tui.workflows.base import Terminal, Workflow
from warehouse_tui.workflows.login import Login
from warehouse_tui.workflows.machine import UndeclaredTransition

WORKFLOWS = pathlib.Path(__file__).parent.parent / "warehouse_tui" / "workflows"
MACHINES = [cls for cls in [*registry.WORKFLOWS.values(), Login] if cls.machine is not None]

# Demo warehouse codes (warehouse_tui/services/demo.py).
TAPE = "09501101010031"          # TAPE-48, untracked; 271 in A-01-01-2
STOVE = "05901234021357"         # NO-STOVE, serial; on ASN-2001
PAPER_CASE = "19501101010205"    # PAPER-A4 case; 2 loose in RCV-01
DRILL = "9501101012363"          # DRILL-18V: serial-tracked, in A-02-06-1
BATT = "9501101011410"           # BATT-AA-4: 78 in pick face A-01-08-1; 6 on ORD-10001
USBC = "9501101011571"           # USBC-1M: 1 on ORD-10001


# --------------------------------------------------------------------------- the tables


@pytest.mark.parametrize("cls", MACHINES, ids=lambda cls: cls.__name__)
def test_the_docstring_shows_the_transition_table_the_code_runs(cls):
    module = importlib.import_module(cls.__module__)
    assert cls.machine.doc() in module.__doc__


@pytest.mark.parametrize("cls", MACHINES, ids=lambda cls: cls.__name__)
def test_every_state_the_code_moves_to_is_declared(cls):
    """Every `self.go(State.X)` in the module names a target of the table (dynamic moves are checked by `go` itself)."""
    tree = ast.parse(pathlib.Path(importlib.import_module(cls.__module__).__file__).read_text())
    states = cls.machine.states
    moves = [node.args[0] for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "go" and node.args]
    named = {arg.attr for move in moves for arg in ast.walk(move)
             if isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name) and arg.value.id == states.__name__}
    declared = cls.machine.targets()
    for name in named:
        assert states[name].value in declared, f"{cls.__name__} moves to {name}, which its table never reaches"


def test_a_move_the_table_does_not_declare_is_a_bug(demo_db):
    from warehouse_tui.workflows.putaway import Move, MoveState

    move = Move(Terminal(demo_db, Settings(db="", terminal="T1", idle_logout_seconds=0), "T1"))
    assert move.state == MoveState.FROM
    with pytest.raises(UndeclaredTransition):
        move.go(MoveState.TO)  # from-bin straight to to-bin: no item scanned
    assert move.state == MoveState.FROM


def test_workflows_hold_no_sql():
    for path in WORKFLOWS.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith(("sqlalchemy", "warehouse_tui.db")), f"{path.name} imports {name}"


# --------------------------------------------------------------------------- refusals change nothing


def scan(text_: str) -> RawScan:
    return RawScan(text=text_, source="test")


def snapshot(wf: Workflow) -> dict:
    return copy.deepcopy({k: v for k, v in vars(wf).items() if k not in ("outcome", "uow", "terminal")})


def rows(db) -> tuple:
    names = [t.name for t in Base.metadata.sorted_tables]
    counts = ", ".join(f'(SELECT count(*) FROM "{name}")' for name in names)
    with db.reading() as s:
        return tuple(s.execute(text(f"SELECT {counts}")).one()) + (s.execute(text("SELECT sum(qty) FROM quants")).scalar(),)


def release(db, *orders: str) -> None:
    with db.transaction() as s:
        waves.release(s, Actor(None, "CLI"), list(orders), batch_size=4)


def terminal_for(db, badge: str, pin: str) -> Terminal:
    terminal = Terminal(db, Settings(db="", terminal="T1", idle_logout_seconds=0), "T1")
    login = Login(terminal)
    login.submit(scan(badge))
    assert login.submit(scan(pin)).ok
    return terminal


# workflow, setup, the scans that reach the prompt, the refused scan, the state it is refused at
REFUSALS = {
    "receive-duplicate-serial": ("RECEIVE", None, ("ASN-2001", STOVE, "SN-T1", STOVE), "SN-T1", "serial"),
    "putaway-more-than-lies-there": ("PUTAWAY", None, (PAPER_CASE,), "99", "qty"),
    "move-more-than-in-the-bin": ("MOVE", None, ("A-01-01-2", TAPE, "9999"), "A-01-01-1", "to"),
    "pick-more-than-the-task": ("PICK", ("ORD-10001",), ("ORD-10001", "TOTE-0005", "A-01-08-1", BATT), "7", "qty"),
    "pack-one-too-many": ("PACK", ("ORD-10001",), ("TOTE-0005", USBC), USBC, "item"),
    "count-serial-twice": ("COUNT", None, ("A-02-06-1", DRILL, "SN-C1"), "SN-C1", "serial"),
    "supervisor-unlock-a-badge-not-locked": ("SUPERVISOR", None, ("u",), "U1001", "unlock"),
    "inquiry-unknown-code": ("INQUIRY", None, (), "NO-SUCH-CODE-7", "scan"),
}
PICKED = ("ORD-10001", "TOTE-0005", "A-01-08-1", BATT, "6", "A-01-09-1", USBC, "1", "@DONE")


@pytest.mark.parametrize("case", REFUSALS, ids=str)
def test_a_refused_scan_leaves_the_workflow_and_the_database_as_they_were(demo_db, case):
    command, orders, route, refused, state = REFUSALS[case]
    badge, pin = ("S9001", "9999") if command == "SUPERVISOR" else ("U1001", "1234")
    terminal = terminal_for(demo_db, badge, pin)
    if orders:
        release(demo_db, *orders)
    if command == "PACK":
        picker = registry.WORKFLOWS["PICK"](terminal)
        for step in PICKED:
            assert picker.submit(scan(step)).ok, step
    wf = registry.WORKFLOWS[command](terminal)
    for step in route:
        assert wf.submit(scan(step)).ok, (step, wf.outcome)
    assert wf.state == state
    before, stored = snapshot(wf), rows(demo_db)
    outcome = wf.submit(scan(refused))
    assert not outcome.ok and outcome.message, outcome
    assert snapshot(wf) == before
    assert rows(demo_db) == stored
