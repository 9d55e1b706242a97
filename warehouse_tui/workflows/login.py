"""Login and the home menu.

Login: scan badge (or type it) -> type PIN + Enter -> home menu. A wrong PIN
counts toward the lockout of the badge (5 failures lock it until a supervisor
unlocks it); logins and failures go to the audit log (services.auth).

Home: the menu of workflows, each a command barcode (@RECEIVE …), a digit or an
F-key away.

Transitions:
  badge --badge--> pin
  pin --right PIN (then the home menu)--> badge
  pin --wrong PIN (refused)--> badge
  * --@CANCEL--> badge
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from warehouse_tui.errors import WarehouseError
from warehouse_tui.scan.resolver import Scan, ScanKind
from warehouse_tui.services.auth import attempt_login
from warehouse_tui.workflows.base import Outcome, Prompt, Workflow, kinds
from warehouse_tui.workflows.machine import Machine


class LoginState(enum.StrEnum):
    BADGE = "badge"
    PIN = "pin"


LOGIN = Machine(LoginState, [
    ("badge", "badge", "pin"),
    ("pin", "right PIN (then the home menu)", "badge"),
    ("pin", "wrong PIN (refused)", "badge"),
    ("*", "@CANCEL", "badge"),
])


class HomeState(enum.StrEnum):
    MENU = "menu"

MENU = (
    ("1", "RECEIVE", "Receive"),
    ("2", "PUTAWAY", "Putaway"),
    ("3", "PICK", "Pick"),
    ("4", "PACK", "Pack"),
    ("5", "COUNT", "Count"),
    ("6", "MOVE", "Move"),
    ("7", "INQUIRY", "Inquiry"),
    ("8", "SUPERVISOR", "Supervisor"),
    ("9", "RETURN", "Returns"),
    ("0", "REPLEN", "Replenish"),
)


@dataclass
class Login(Workflow):
    initial = LoginState.BADGE
    machine = LOGIN
    badge: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.title = "Login"

    @property
    def prompt(self) -> Prompt:
        if self.state == LoginState.PIN:
            return Prompt("Type PIN + Enter", kinds(ScanKind.PIN), secret=True)
        return Prompt("Scan your badge", kinds(ScanKind.BADGE))

    def lines(self) -> list[str]:
        return [f"Badge {self.badge}"] if self.state == LoginState.PIN else []

    def on_badge(self, scan: Scan) -> Outcome:
        self.badge = scan.badge
        self.go(LoginState.PIN)
        return Outcome(True, "")

    def on_pin(self, scan: Scan) -> Outcome:
        # Right or wrong, the PIN is used up: the next login starts at the badge (a wrong one counts toward the lock).
        badge, self.badge = self.badge, ""
        self.go(LoginState.BADGE)
        try:
            operator = attempt_login(self.terminal.db, badge, scan.value, self.terminal.name)
        except WarehouseError as exc:
            return Outcome(False, str(exc))
        self.terminal.operator = operator
        return Outcome(True, f"Welcome, {operator.name or operator.badge}", navigate="HOME")

    def command(self, name: str) -> Outcome:
        # Nothing but the badge and PIN before login: no workflow may start.
        if name == "CANCEL":
            return self.cancel()
        return Outcome(False, "Log in first — scan your badge")


@dataclass
class Home(Workflow):
    initial = HomeState.MENU

    def __post_init__(self) -> None:
        super().__post_init__()
        self.title = "Home"

    @property
    def prompt(self) -> Prompt:
        return Prompt("Choose a task", kinds(ScanKind.TEXT))

    def lines(self) -> list[str]:
        # Two tasks a line: ten of them fit a 16-line handheld (one a line, the tenth fell off the screen).
        cells = [f"{key} {label:<10}" for key, _command, label in self.menu()]
        return ["  ".join(cells[n:n + 2]).rstrip() for n in range(0, len(cells), 2)]

    def menu(self) -> list[tuple[str, str, str]]:
        from warehouse_tui.workflows.registry import WORKFLOWS

        return [entry for entry in MENU if entry[1] in WORKFLOWS]

    def on_menu(self, scan: Scan) -> Outcome:
        for key, command, _ in self.menu():
            if scan.value.strip() == key:
                return Outcome(True, "", navigate=command)
        return Outcome(False, "Type a menu number or scan a task barcode")
