"""Shipment confirmations are handed to the OMS once site-wide: a "sent" mark made on a terminal goes up and comes down
to the other terminals, one made upstream comes down to every terminal, and one confirmation marked sent on two
terminals offline is still one confirmation, sent once, upstream."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from warehouse_tui.db.models import Carton, Container
from warehouse_tui.services import confirmations
from warehouse_tui.sync import sync_once
from warehouse_tui.sync.pull import pull
from tests.test_sync_cartons import pack_order, pick_order, site  # noqa: F401  (site is a fixture)

pytestmark = pytest.mark.postgres

T1_SENT = dt.datetime(2026, 12, 1, 9, 0)
T2_SENT = dt.datetime(2026, 12, 1, 9, 5)


def code_of(db, sscc: str) -> str:
    with db.reading() as s:
        return s.scalar(select(Container.code).join(Carton, Carton.container_id == Container.id).where(Carton.sscc == sscc))


def unsent(db) -> set[str]:
    with db.reading() as s:
        return {c.confirmation_id for c in confirmations.pending(s, unsent=True)}


def shipped(db) -> list[str]:
    with db.reading() as s:
        return [c.confirmation_id for c in confirmations.pending(s)]


def sent_at(db, code: str) -> dt.datetime | None:
    with db.reading() as s:
        return s.scalar(select(Carton.confirmation_sent_at).join(Container, Container.id == Carton.container_id)
                        .where(Container.code == code))


def mark(db, code: str, at: dt.datetime) -> int:
    with db.transaction() as s:
        return confirmations.mark_sent(s, [code], at=at)


def test_a_confirmation_marked_sent_on_two_offline_terminals_is_one_sent_confirmation_everywhere(site):  # noqa: F811
    upstream, open_terminal, orders = site
    t1, t2 = open_terminal("T1"), open_terminal("T2")
    sync_once(t1, upstream, "T1")
    sync_once(t2, upstream, "T2")
    # given an order shipped on T1 and known to every database of the site, unsent
    pick_order(t1, orders[0], "U1001", "T1", "TOTE-A")
    code = code_of(t1, pack_order(t1, orders[0], "U1001", "T1"))
    sync_once(t1, upstream, "T1")
    sync_once(t2, upstream, "T2")
    for db in (upstream, t1, t2):
        assert code in unsent(db)

    # when both terminals, offline, hand it over and mark it sent
    assert mark(t1, code, T1_SENT) == 1
    assert mark(t2, code, T2_SENT) == 1
    assert mark(t2, code, T2_SENT) == 0  # marked already: a second run sends nothing
    assert code in unsent(upstream)  # nothing has gone up yet

    # then T1's mark goes up, T2's arrives second and changes nothing, and every database has the first one
    assert sync_once(t1, upstream, "T1").push.conflict == 0
    assert sent_at(upstream, code) == T1_SENT
    assert sync_once(t2, upstream, "T2").push.conflict == 0
    sync_once(t1, upstream, "T1")
    for db in (upstream, t1, t2):
        assert code not in unsent(db)
        assert sent_at(db, code) == T1_SENT
    assert shipped(upstream).count(code) == 1  # one confirmation, by its id


def test_a_mark_made_on_a_terminal_reaches_the_other_terminal_through_the_upstream(site):  # noqa: F811
    upstream, open_terminal, orders = site
    t1, t2 = open_terminal("T1"), open_terminal("T2")
    sync_once(t1, upstream, "T1")
    pick_order(t1, orders[0], "U1001", "T1", "TOTE-A")
    code = code_of(t1, pack_order(t1, orders[0], "U1001", "T1"))
    sync_once(t1, upstream, "T1")
    sync_once(t2, upstream, "T2")
    assert code in unsent(t2)

    # when T1 hands it over (export confirmations --unsent --mark-sent on T1) and syncs
    mark(t1, code, T1_SENT)
    sync_once(t1, upstream, "T1")

    # then the upstream has it sent, and T2 after its next pull too: T2 would not send it again
    assert code not in unsent(upstream)
    assert code in unsent(t2)  # not pulled yet
    sync_once(t2, upstream, "T2")
    assert code not in unsent(t2)
    assert sent_at(t2, code) == T1_SENT


def test_a_mark_made_upstream_reaches_every_terminal_and_an_unpushed_local_mark_is_kept(site):  # noqa: F811
    upstream, open_terminal, orders = site
    t1, t2 = open_terminal("T1"), open_terminal("T2")
    sync_once(t1, upstream, "T1")
    sync_once(t2, upstream, "T2")
    pick_order(t1, orders[0], "U1001", "T1", "TOTE-A")
    first = code_of(t1, pack_order(t1, orders[0], "U1001", "T1"))
    pick_order(t2, orders[1], "U1001", "T2", "TOTE-B")
    second = code_of(t2, pack_order(t2, orders[1], "U1001", "T2"))
    sync_once(t1, upstream, "T1")
    sync_once(t2, upstream, "T2")
    sync_once(t1, upstream, "T1")
    before = unsent(upstream)  # the demo's own shipped order is unsent too
    assert {first, second} <= before
    assert unsent(t1) == unsent(t2) == before

    # when the cron job upstream hands the first over, and T2 marks the second while offline
    mark(upstream, first, T1_SENT)
    mark(t2, second, T2_SENT)

    # then a pull brings the upstream's mark down, and T2's own mark survives its pull until it has gone up
    sync_once(t1, upstream, "T1")
    assert unsent(t1) == before - {first}
    assert sent_at(t1, first) == T1_SENT
    pull(t2, upstream, "T2")  # a pull alone: T2's mark has not gone up yet
    assert unsent(t2) == before - {first, second}
    assert sent_at(t2, second) == T2_SENT
    assert second in unsent(upstream)
    sync_once(t2, upstream, "T2")
    assert unsent(t2) == unsent(upstream) == before - {first, second}
    sync_once(t1, upstream, "T1")
    assert unsent(t1) == before - {first, second}
    assert sent_at(t1, second) == sent_at(upstream, second) == T2_SENT
