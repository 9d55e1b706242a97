"""`warehouse-tui check`: verify the ledger invariants of DESIGN §3 on any database.

On SQLite it first runs SQLite's own structural check (`PRAGMA quick_check`): a
file with garbage written into it, or cut short, is broken whatever the ledger
rows that can still be read say. quick_check verifies every page, record and
constraint but not that each index holds exactly its table's rows: the full
`integrity_check` took too long on the benchmark warehouse to keep the whole
`check` within 30 s (figures in the README). An invariant whose rows cannot be
read at all is reported as broken, with SQLite's reason, never as a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, literal, select, text, union_all
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from warehouse_tui.db.models import Bin, Container, Item, Lot, Movement, OutboxEntry, Quant, SerialUnit, Tracking

SHOW = 20  # problems listed per invariant; the count is always complete


@dataclass
class Finding:
    invariant: str
    ok: bool
    checked: int
    problems: list[str] = field(default_factory=list)
    total_problems: int = 0


@dataclass
class CheckReport:
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)

    def render(self) -> str:
        lines = []
        for f in self.findings:
            mark = "OK    " if f.ok else "BROKEN"
            lines.append(f"{mark} {f.invariant} ({f.checked:,} checked)")
            for p in f.problems:
                lines.append(f"         - {p}")
            if f.total_problems > len(f.problems):
                lines.append(f"         … and {f.total_problems - len(f.problems):,} more")
        lines.append("All invariants hold." if self.ok else "Ledger invariants are BROKEN: see above.")
        return "\n".join(lines)


def _names(session: Session, item_id, bin_id, lot_id, container_id) -> str:
    item = session.get(Item, item_id)
    bin_ = session.get(Bin, bin_id) if bin_id else None
    lot = session.get(Lot, lot_id) if lot_id else None
    cont = session.get(Container, container_id) if container_id else None
    text = f"{item.sku if item else item_id} in {bin_.code if bin_ else bin_id}"
    if lot:
        text += f" lot {lot.code}"
    if cont:
        text += f" container {cont.code}"
    return text


def _finding(invariant: str, checked: int, problems: list[str]) -> Finding:
    return Finding(invariant, not problems, checked, problems[:SHOW], len(problems))


def check_quants_equal_movements(session: Session) -> Finding:
    """Every quant equals the sum of its movements, and every non-zero sum has its quant."""
    into = select(
        Movement.item_id.label("item_id"), Movement.to_bin_id.label("bin_id"), Movement.lot_id.label("lot_id"),
        Movement.to_container_id.label("container_id"), Movement.owner_id.label("owner_id"),
        Movement.to_status.label("status"), Movement.qty.label("qty"),
    ).where(Movement.to_bin_id.is_not(None))
    out = select(
        Movement.item_id, Movement.from_bin_id, Movement.lot_id, Movement.from_container_id, Movement.owner_id,
        Movement.from_status, -Movement.qty,
    ).where(Movement.from_bin_id.is_not(None))
    flows = union_all(into, out).subquery()
    sums = (
        select(flows.c.item_id, flows.c.bin_id, flows.c.lot_id, flows.c.container_id, flows.c.owner_id, flows.c.status,
               func.sum(flows.c.qty).label("total"))
        .group_by(flows.c.item_id, flows.c.bin_id, flows.c.lot_id, flows.c.container_id, flows.c.owner_id, flows.c.status)
    )
    ledger = {tuple(r[:6]): int(r[6]) for r in session.execute(sums)}
    problems = []
    seen = set()
    checked = 0
    for q in session.execute(select(Quant.item_id, Quant.bin_id, Quant.lot_id, Quant.container_id, Quant.owner_id, Quant.status, Quant.qty)):
        checked += 1
        k = tuple(q[:6])
        seen.add(k)
        expected = ledger.get(k, 0)
        if int(q.qty) != expected:
            problems.append(f"{_names(session, *k[:4])}: quant says {q.qty}, movements sum to {expected}")
    for k, total in ledger.items():
        if k not in seen and total != 0:
            problems.append(f"{_names(session, *k[:4])}: movements sum to {total} but there is no quant")
    return _finding("every quant equals the sum of its movements", checked, problems)


def check_no_negative_stock(session: Session) -> Finding:
    """No negative quant, nor one reserved beyond its stock, unless a sync conflict made it (flagged, not broken)."""
    rows = session.execute(select(Quant.item_id, Quant.bin_id, Quant.lot_id, Quant.container_id, Quant.qty, Quant.reserved).where(
        (Quant.qty < 0) | (Quant.reserved > func.abs(Quant.qty)) | (Quant.reserved < 0)))
    problems = []
    conflict_items = set(session.scalars(select(Movement.item_id).where(Movement.conflict.is_(True)).distinct()))
    for r in rows:
        if r.item_id in conflict_items and r.reserved >= 0:
            continue
        problems.append(f"{_names(session, r.item_id, r.bin_id, r.lot_id, r.container_id)}: qty {r.qty}, reserved {r.reserved}")
    checked = session.scalar(select(func.count()).select_from(Quant)) or 0
    return _finding("no negative stock; reserved within stock", checked, problems)


def check_serials(session: Session) -> Finding:
    """A serial is in at most one place, its ledger nets to 0 or 1, and quants of serial items match their units."""
    problems = []
    # Net movements per serial: in stock <=> net 1.
    net = (
        select(Movement.item_id, Movement.serial,
               func.sum(case((Movement.to_bin_id.is_not(None), 1), else_=0) - case((Movement.from_bin_id.is_not(None), 1), else_=0)).label("net"))
        .where(Movement.serial.is_not(None))
        .group_by(Movement.item_id, Movement.serial)
    )
    net_by = {(r.item_id, r.serial): int(r.net) for r in session.execute(net)}
    units = {(u.item_id, u.serial): u for u in session.scalars(select(SerialUnit))}
    # A sync conflict may count a serial in two places (both terminals received it): flagged, not broken.
    flagged = set(session.execute(select(Movement.item_id, Movement.serial).where(Movement.conflict.is_(True), Movement.serial.is_not(None))).all())
    flagged_items = {item_id for item_id, _ in flagged}
    for k, n in net_by.items():
        if k in flagged:
            continue
        unit = units.get(k)
        in_stock = unit is not None and unit.status == "in_stock"
        if n not in (0, 1):
            problems.append(f"serial {k[1]}: movements put it in {n} places")
        elif (n == 1) != in_stock:
            problems.append(f"serial {k[1]}: ledger says {'in stock' if n == 1 else 'gone'}, unit says {unit.status if unit else 'missing'}")
    for k, u in units.items():
        if u.status == "in_stock" and k not in net_by:
            problems.append(f"serial {k[1]}: in stock with no movement")
        if u.status == "in_stock" and u.bin_id is None:
            problems.append(f"serial {k[1]}: in stock but in no bin")
    # Quants of serial items hold exactly the units located there.
    counts = {}
    for u in units.values():
        if u.status == "in_stock":
            loc = (u.item_id, u.bin_id, u.lot_id, u.container_id, u.owner_id)
            counts[loc] = counts.get(loc, 0) + 1
    serial_items = set(session.scalars(select(Item.id).where(Item.tracking == Tracking.SERIAL.value)))
    quant_locs = {}
    for q in session.execute(select(Quant.item_id, Quant.bin_id, Quant.lot_id, Quant.container_id, Quant.owner_id, Quant.qty).where(Quant.item_id.in_(serial_items) if serial_items else literal(False))):
        loc = tuple(q[:5])
        quant_locs[loc] = quant_locs.get(loc, 0) + int(q.qty)
    for loc in set(counts) | set(quant_locs):
        if counts.get(loc, 0) != quant_locs.get(loc, 0) and loc[0] not in flagged_items:
            problems.append(f"{_names(session, *loc[:4])}: quant says {quant_locs.get(loc, 0)}, {counts.get(loc, 0)} serial units there")
    return _finding("each serial in at most one place, matching its quants", len(units), problems)


def check_containers(session: Session) -> Finding:
    """Stock in a container stands in the bin the container stands in."""
    rows = session.execute(
        select(Quant.item_id, Quant.bin_id, Quant.lot_id, Quant.container_id, Container.bin_id.label("cbin"))
        .join(Container, Container.id == Quant.container_id)
        .where((Container.bin_id.is_(None)) | (Container.bin_id != Quant.bin_id))
    )
    # A sync conflict may leave stock behind where a container stood before its last movement: flagged, not broken.
    flagged = set(session.scalars(select(Movement.from_container_id).where(Movement.conflict.is_(True))))
    flagged |= set(session.scalars(select(Movement.to_container_id).where(Movement.conflict.is_(True))))
    problems = [f"{_names(session, r.item_id, r.bin_id, r.lot_id, r.container_id)}: container stands elsewhere" for r in rows
                if r.container_id not in flagged]
    checked = session.scalar(select(func.count()).select_from(Quant).where(Quant.container_id.is_not(None))) or 0
    return _finding("stock in a container stands where the container stands", checked, problems)


def check_outbox(session: Session) -> Finding:
    """Every movement made here has its outbox entry (written in the same transaction).

    Movements pulled from the upstream, or booked on the upstream itself, have none: they are not this database's to push.
    """
    missing = session.execute(
        select(Movement.uuid, Movement.kind, Movement.item_id, func.coalesce(Movement.to_bin_id, Movement.from_bin_id), Movement.lot_id,
               func.coalesce(Movement.to_container_id, Movement.from_container_id))
        .outerjoin(OutboxEntry, and_(OutboxEntry.uuid == Movement.uuid)).where(OutboxEntry.position.is_(None), Movement.origin == "local")
    ).all()
    checked = session.scalar(select(func.count()).select_from(Movement)) or 0
    # Name the item and bin too: a uuid alone tells a supervisor nothing.
    problems = [f"movement {m.uuid} ({m.kind}, {_names(session, *m[2:])}) has no outbox entry" for m in missing]
    return _finding("every movement is queued for sync", checked, problems)


# SQLite stops listing after this many problems; the finding then says "at least".
INTEGRITY_LIMIT = 100
INTEGRITY_PRAGMA = "quick_check"


def check_sqlite_integrity(session: Session) -> Finding:
    """SQLite's own check of the file: every page, record and constraint readable and well-formed."""
    invariant = f"the SQLite file is sound (PRAGMA {INTEGRITY_PRAGMA})"
    try:
        lines = [row[0] for row in session.execute(text(f"PRAGMA {INTEGRITY_PRAGMA}({INTEGRITY_LIMIT})"))]
    except DBAPIError as exc:
        return _finding(invariant, 0, [f"SQLite cannot read the file: {exc.orig}"])
    pages = session.execute(text("PRAGMA page_count")).scalar() or 0
    problems = [] if lines == ["ok"] else lines
    if len(problems) >= INTEGRITY_LIMIT:
        problems.append(f"(SQLite stopped listing after {INTEGRITY_LIMIT} problems)")
    return _finding(invariant, pages, problems)  # "checked": pages


def _guarded(invariant: str, check: Callable[[Session], Finding], session: Session) -> Finding:
    """An invariant whose rows cannot be read (a damaged file) is broken, with SQLite's reason."""
    try:
        return check(session)
    except DBAPIError as exc:
        session.rollback()
        return _finding(invariant, 0, [f"could not be read: {exc.orig}"])


LEDGER_CHECKS: tuple[tuple[str, Callable[[Session], Finding]], ...] = (
    ("every quant equals the sum of its movements", check_quants_equal_movements),
    ("no negative stock; reserved within stock", check_no_negative_stock),
    ("each serial in at most one place, matching its quants", check_serials),
    ("stock in a container stands where the container stands", check_containers),
    ("every movement is queued for sync", check_outbox),
)


def run_checks(session: Session) -> CheckReport:
    findings = []
    if session.get_bind().dialect.name == "sqlite":
        findings.append(check_sqlite_integrity(session))
    findings += [_guarded(invariant, check, session) for invariant, check in LEDGER_CHECKS]
    return CheckReport(findings)
