"""Creating count tasks: for bins, a zone or every bin holding given items; bins with an unfinished count are skipped.

The rules of counting itself are in services/counting.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import Bin, CountTask, Item, Quant
from warehouse_tui.errors import InvalidInput, NotFound
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.auth import audit
from warehouse_tui.services.counting import OPEN, UNFINISHED, current_supervisor
from warehouse_tui.services.ledger import Actor

LISTED = 10  # bins named in a summary before "… and N more"


@dataclass(frozen=True)
class CreatedCounts:
    created: tuple[tuple[int, str], ...]  # (task id, bin code) in walking order
    skipped: tuple[str, ...]  # bins that already had an unfinished count
    blind: bool

    def summary(self) -> str:
        parts = []
        if self.created:
            parts.append(f"Created {len(self.created)} {'blind ' if self.blind else ''}count task(s): {_listed(c for _, c in self.created)}")
        else:
            parts.append("No count task created")
        if self.skipped:
            parts.append(f"skipped {len(self.skipped)} bin(s) with a count already open: {_listed(self.skipped)}")
        return "; ".join(parts)


def _listed(codes: Iterable[str]) -> str:
    codes = list(codes)
    shown = ", ".join(codes[:LISTED])
    return shown + (f" … and {len(codes) - LISTED} more" if len(codes) > LISTED else "")


def create_counts(session: Session, actor: Actor, *, bins: Sequence[str] = (), zone: str | None = None,
                  items: Sequence[str] = (), blind: bool = False, reason: str | None = None) -> CreatedCounts:
    """A supervisor creates count tasks for bins, a zone and/or every bin holding the items (audited)."""
    supervisor = current_supervisor(session, actor, "create count tasks")
    result = _create(session, actor, bins=bins, zone=zone, items=items, blind=blind,
                     reason=reason or f"requested by {supervisor.badge}")
    audit(session, "count_created", operator=supervisor, terminal=actor.terminal, detail=result.summary()[:2000])
    return result


def create_from_cli(db, bins: list[str] | None, zone: str | None, blind: bool, actor: Actor) -> str:
    """`warehouse-tui count create --bins A,B | --zone Z [--blind]`: one transaction, returns the summary to print.

    The command line is trusted like `import` (it needs the database itself), so no
    supervisor badge is asked; the audit entry names it. Raises InvalidInput when
    both or neither of bins and zone are given, NotFound for an unknown bin or zone.
    """
    bins = [b.strip() for b in (bins or []) if b.strip()]
    zone = zone.strip() if zone else None
    if bins and zone:
        raise InvalidInput("Give --bins or --zone, not both")
    if not bins and not zone:
        raise InvalidInput("Name the bins (--bins A,B) or the zone (--zone Z) to count")
    with db.transaction() as session:
        result = _create(session, actor, bins=bins, zone=zone, items=(), blind=blind, reason="created from the command line")
        audit(session, "count_created", operator=actor.operator, badge=actor.badge or "cli", terminal=actor.terminal,
              detail=result.summary()[:2000])
    return result.summary()


def _create(session: Session, actor: Actor, *, bins: Sequence[str], zone: str | None, items: Sequence[str], blind: bool,
            reason: str) -> CreatedCounts:
    targets: dict[int, Bin] = {}
    for code in bins:
        found = md.bin_by_code(session, code.strip())
        targets[found.id] = found
    if zone:
        in_zone = session.scalars(select(Bin).where(Bin.zone == zone)).all()
        if not in_zone:
            raise NotFound(f"Zone {zone} has no bins — check the zone code")
        targets.update((b.id, b) for b in in_zone)
    for code in items:
        item = _item(session, code.strip())
        holding = session.scalars(
            select(Bin).join(Quant, Quant.bin_id == Bin.id).where(Quant.item_id == item.id, Quant.qty != 0).distinct()
        ).all()
        if not holding:
            raise InvalidInput(f"{item.sku} is in no bin by the books — count bins or a zone instead")
        targets.update((b.id, b) for b in holding)
    if not targets:
        raise InvalidInput("Name the bins, a zone or items to count")
    busy = set(session.scalars(select(CountTask.bin_id).where(CountTask.status.in_(UNFINISHED))))
    created, skipped = [], []
    for bin_ in sorted(targets.values(), key=lambda b: (b.pick_seq, b.code)):
        if bin_.id in busy:
            skipped.append(bin_.code)
            continue
        task = CountTask(bin_id=bin_.id, blind=blind, status=OPEN, attempt=0, reason=reason[:200], created_by=actor.operator_id)
        session.add(task)
        created.append((task, bin_.code))
    session.flush()
    return CreatedCounts(tuple((t.id, code) for t, code in created), tuple(skipped), blind)


def _item(session: Session, code: str) -> Item:
    found = md.item_by_code(session, code)
    return found if found is not None else md.item_by_sku(session, code)


# --------------------------------------------------------------------------- claiming
