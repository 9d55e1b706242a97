"""A claim — a pick list being picked, a bin being counted — belongs to a badge *on a terminal*.

The same badge logged in on a second terminal is not handed the work silently
(it would book picks into totes the first terminal assigned): claiming it there
is refused with `HeldOnAnotherTerminal`, naming the terminal that holds it, and
only an explicit take-over moves the claim (audited). The terminal that held it
is then refused at its next scan on that work, told which terminal took it.

A claim with no terminal recorded (made before terminals were recorded, or by a
tool) belongs to the badge anywhere. Another operator's claim is a different
rule (picking.py, counting.py): only a supervisor takes that back.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from warehouse_tui.errors import NotAllowed
from warehouse_tui.services.auth import audit
from warehouse_tui.services.ledger import Actor


class HeldOnAnotherTerminal(NotAllowed):
    """The operator's own claim is held on another terminal; taking it over here must be asked for."""

    def __init__(self, what: str, key: str, terminal: str) -> None:
        super().__init__(f"{what} is open under your badge on terminal {terminal}")
        self.what = what
        self.key = key  # what to claim again with take_over: the pick list's ref, the counted bin's code
        self.terminal = terminal


def held_elsewhere(claimed_terminal: str | None, actor: Actor) -> bool:
    return bool(claimed_terminal) and claimed_terminal != actor.terminal


def take_over_or_refuse(session: Session, actor: Actor, *, what: str, key: str, claimed_terminal: str | None,
                        take_over: bool, audit_kind: str) -> None:
    """Before the operator's own claim moves to this terminal: refuse unless `take_over`, then audit the move."""
    if not held_elsewhere(claimed_terminal, actor):
        return
    if not take_over:
        raise HeldOnAnotherTerminal(what, key, claimed_terminal)
    audit(session, audit_kind, operator=actor.operator, terminal=actor.terminal,
          detail=f"{what} taken over from terminal {claimed_terminal}")


def refuse_if_taken_over(what: str, claimed_terminal: str | None, actor: Actor) -> None:
    """Work on a claim that another terminal took over is refused, naming that terminal."""
    if held_elsewhere(claimed_terminal, actor):
        raise NotAllowed(f"{what} was taken over by terminal {claimed_terminal} — carry on there, or scan it here "
                         "to take it back")
