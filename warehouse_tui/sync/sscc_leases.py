"""SSCC leases: the upstream hands each terminal its own block of SSCC numbers, so terminals packing offline never share one.

An SSCC must be unique world-wide for years, and two terminals with the same
GS1 company prefix can both close cartons while the Wi-Fi is down. So a
terminal never counts SSCCs itself: at each sync it makes sure it holds at least
half a block of unused numbers per company prefix, leasing a new block from the
upstream when it does not. The upstream's `sscc_counters` row moves past every
block it leases (and past every SSCC it issues itself, online), so no number is
ever handed out twice.

Exactly once, whatever breaks when: the lease commits upstream first and is
recorded locally after. A crash between the two loses that block — numbers are
skipped, never reused — and the next sync leases another.

A terminal with no numbers left refuses to close a carton and says to sync
(services.packing.allocate_sscc); with the default block of 10,000 that is
thousands of cartons packed offline.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select

from warehouse_tui.db.models import SsccCounter, SsccRange, utcnow
from warehouse_tui.errors import WarehouseError
from warehouse_tui.scan.gtin import make_sscc
from warehouse_tui.sync.push import crash_point

LEASE_BLOCK = 10_000  # SSCCs per lease; a terminal leases again below half a block


def capacity(company_prefix: str) -> int:
    """How many SSCCs a company prefix has (extension digit × serial reference)."""
    return 10 * 10 ** (16 - len(company_prefix))


def block_size(company_prefix: str) -> int:
    """A lease: LEASE_BLOCK, smaller for long prefixes so a few terminals do not use up the whole prefix."""
    return max(10, min(LEASE_BLOCK, capacity(company_prefix) // 1000))


def _valid(company_prefix: str | None) -> bool:
    """A prefix make_sscc accepts; a misconfigured one must not stop the sync (closing a carton says what is wrong)."""
    try:
        make_sscc(0, company_prefix or "", 0)
    except WarehouseError:
        return False
    return True


def available(session, company_prefix: str) -> int:
    """Unused leased numbers of a prefix in this (terminal) database."""
    left = session.scalar(select(func.coalesce(func.sum(SsccRange.last_serial - SsccRange.next_serial + 1), 0))
                          .where(SsccRange.company_prefix == company_prefix, SsccRange.next_serial <= SsccRange.last_serial))
    return int(left or 0)


def lease(upstream_session, company_prefix: str, terminal: str) -> tuple[int, int] | None:
    """Lease the next block of a prefix to a terminal in the caller's upstream transaction; None when the prefix is used up."""
    make_sscc(0, company_prefix, 0)  # a malformed prefix is refused before anything moves
    counter = upstream_session.get(SsccCounter, company_prefix, with_for_update=True)
    if counter is None:
        counter = SsccCounter(company_prefix=company_prefix, last_serial=0)
        upstream_session.add(counter)
    first = counter.last_serial + 1
    last = min(first + block_size(company_prefix) - 1, capacity(company_prefix) - 1)
    if first > last:
        return None
    counter.last_serial = last
    upstream_session.add(SsccRange(company_prefix=company_prefix, terminal=terminal[:64], first_serial=first,
                                   last_serial=last, next_serial=first, leased_at=utcnow()))
    upstream_session.flush()
    return first, last


def short_prefixes(session, prefixes: Iterable[str]) -> list[str]:
    """The company prefixes this (terminal) database packs with that run below half a block of unused numbers."""
    known = set(session.scalars(select(SsccRange.company_prefix).distinct()))
    wanted = {p for p in {*prefixes, *known} if _valid(p)}
    return [p for p in sorted(wanted) if available(session, p) < block_size(p) // 2]


def refill(local, upstream, terminal: str, prefixes: Iterable[str]) -> int:
    """Lease blocks for every prefix this terminal uses that runs below half a block; returns the numbers leased."""
    with local.reading() as session:
        short = short_prefixes(session, prefixes)
    leased = 0
    for prefix in short:
        with upstream.transaction() as session:
            block = lease(session, prefix, terminal)
        if block is None:
            continue
        crash_point("after_sscc_lease")
        with local.transaction() as session:
            session.add(SsccRange(company_prefix=prefix, terminal=terminal[:64], first_serial=block[0],
                                  last_serial=block[1], next_serial=block[0], leased_at=utcnow()))
        leased += block[1] - block[0] + 1
    return leased
