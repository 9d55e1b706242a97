"""A workflow's transition table: the states it may go between, checked on every move and written in its docstring.

Each workflow declares its states as an enum and its transitions as rows
`(source, trigger, targets)`: `source` is a state (or "*" for any), `trigger`
says in warehouse words what the operator scans or what happened, `targets`
the states it may lead to (" | " between them). `Workflow.go` refuses a move the
table does not declare; the module docstring's "Transitions:" block is the
table as `Machine.doc()` writes it (tests/test_workflow_tables.py checks both).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

ANY = "*"


class UndeclaredTransition(AssertionError):
    """The code moved between two states its table does not connect: a bug, never an operator's mistake."""


@dataclass(frozen=True)
class Transition:
    source: str
    trigger: str
    targets: tuple[str, ...]


class Machine:
    """The transition table of one workflow."""

    def __init__(self, states: type[enum.Enum], rows: Iterable[tuple[str, str, str]], *, title: str = "Transitions") -> None:
        self.states, self.title = states, title
        self.transitions: tuple[Transition, ...] = tuple(
            Transition(source, trigger, tuple(t.strip() for t in targets.split("|"))) for source, trigger, targets in rows
        )
        names = {s.value for s in states}
        for t in self.transitions:
            unknown = ({t.source} - {ANY} - names) | (set(t.targets) - names)
            if unknown:
                raise ValueError(f"{states.__name__}: unknown state(s) {sorted(unknown)} in {t}")
        self._allowed = {(t.source, target) for t in self.transitions for target in t.targets}

    def allows(self, source: str, target: str) -> bool:
        return (str(source), str(target)) in self._allowed or (ANY, str(target)) in self._allowed

    def doc(self) -> str:
        """The "Transitions:" block of the module docstring."""
        lines = [f"  {t.source} --{t.trigger}--> {' | '.join(t.targets)}" for t in self.transitions]
        return f"{self.title}:\n" + "\n".join(lines) + "\n"

    def targets(self) -> set[str]:
        return {target for t in self.transitions for target in t.targets}
