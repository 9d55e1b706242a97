"""Importing users: badges, names, roles and PINs (hashed between the transactions)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import Operator, Role
from warehouse_tui.errors import InvalidInput, WarehouseError
from warehouse_tui.services.auth import audit, check_pin_format, clear_lock, hash_pin
from warehouse_tui.services.batch_ledger import chunks, where_in
from warehouse_tui.services.importing.csv_file import Row
from warehouse_tui.services.importing.importer import Importer
from warehouse_tui.services.importing.results import ImportResult, Problems, Progress, changed_meanwhile, plural
from warehouse_tui.services.importing.values import ROLES, read_choice, read_code, read_key, read_text
from warehouse_tui.services.ledger import Actor


@dataclass
class _UserRow:
    line: int
    badge: str
    name: str | None
    role: str | None
    pin: str
    pin_hash: str | None = None


class UsersImport(Importer):
    kind = "users"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen: dict[str, int] = {}  # badge -> line of the row that named it
        self.known: dict[str, bool] = {}  # badge -> whether the database had it (what the write reads again)
        self.users: list[_UserRow] = []

    def _read_badges(self, session: Session, badges: set[str]) -> set[str]:
        return {b for chunk in chunks(badges) for b in session.scalars(select(Operator.badge).where(where_in(Operator.badge, chunk, self.postgres)))}

    def check(self, session: Session, rows: list[Row], problems: Problems) -> None:
        badges = {b for row in rows if (b := read_key(row.values, "badge"))} - self.known.keys()
        there = self._read_badges(session, badges)
        self.known.update((badge, badge in there) for badge in badges)
        found_errors = []
        for row in rows:
            v = row.values
            try:
                badge = read_code(v, "badge", required=True)
                if badge in self.seen:
                    raise InvalidInput(f"badge {badge} is already on line {self.seen[badge]}")
                name = read_text(v, "name", 200) if "name" in v else None
                role = read_choice(v, "role", ROLES, Role.OPERATOR.value) if "role" in v else None
                pin = (v.get("pin") or "").strip()
                if pin:
                    check_pin_format(pin)
                self.seen[badge] = row.line
                if not pin and not self.known[badge]:
                    raise InvalidInput(f"badge {badge} is new and needs a PIN (4 to 12 digits)")
            except WarehouseError as exc:
                found_errors.append((row.line, str(exc)))
                continue
            self.users.append(_UserRow(row.line, badge, name, role, pin))
        problems.add_sorted(found_errors)

    def prepare(self) -> None:
        """Hash the PINs (scrypt, ~50 ms each) in threads, before the write lock is taken."""
        with_pin = [user for user in self.users if user.pin]
        with ThreadPoolExecutor(max_workers=max(1, min(8, os.cpu_count() or 1))) as pool:
            for user, pin_hash in zip(with_pin, pool.map(hash_pin, [user.pin for user in with_pin])):
                user.pin_hash = pin_hash
                user.pin = ""

    def write(self, session: Session, progress: Progress) -> None:
        operators = {op.badge: op for chunk in chunks(self.known)
                     for op in session.scalars(select(Operator).where(where_in(Operator.badge, chunk, self.postgres)))}
        changed = [f"badge {badge}" for badge, there in self.known.items() if (badge in operators) != there]
        if changed:
            raise changed_meanwhile(self.source, changed)
        for user in self.users:
            op = operators.get(user.badge)
            if op is None:
                op = Operator(badge=user.badge, name=user.name or "", role=user.role or Role.OPERATOR.value, pin_hash=user.pin_hash)
                session.add(op)
                session.flush()
                self.created += 1
                detail = f"{user.badge} created by import as {op.role}"
            else:
                changes = []
                if user.name is not None and user.name != op.name:
                    op.name = user.name
                    changes.append("name")
                if user.role is not None and user.role != op.role:
                    changes.append(f"role {op.role} -> {user.role}")
                    op.role = user.role
                if user.pin_hash is not None:
                    op.pin_hash = user.pin_hash
                    changes.append("PIN reset")
                    if _clear_lock_on_new_pin(session, self.actor, op):
                        changes.append("lock cleared")
                self.updated += 1
                detail = f"{user.badge} updated by import: {', '.join(changes) or 'no change'}"
            audit(session, "user_imported", operator=self.actor.operator, badge=user.badge, terminal=self.actor.terminal, detail=detail)
            self.rows += 1
        progress("writing", self.rows, self.rows)

    def result(self) -> ImportResult:
        return ImportResult(self.kind, self.rows, self.created, self.updated,
                            f"Imported {self.rows} user{plural(self.rows)} ({self.created} new, {self.updated} updated)")


def _clear_lock_on_new_pin(session: Session, actor: Actor, operator: Operator) -> bool:
    """A badge given a new PIN starts afresh: a lock its wrong PINs put on it is lifted (auth.clear_lock,
    audited). True when it was locked. The failures counted against the old PIN are dropped even on a
    badge not yet locked. No supervisor check: whoever may import users may set their PINs.
    """
    if not operator.locked:
        operator.failed_logins = 0
        return False
    clear_lock(session, operator, by=actor, reason="a new PIN was imported")
    return True
