"""Synced terminals: the same badge on a second terminal takes a pick list over only when it asks to (issue 10).

Online, the upstream refuses the second terminal's claim naming the first one
(before any work, as for another operator); an explicit take-over moves the
claim upstream, and once the first terminal syncs its next pick on the list is
refused, naming the terminal that took it. The claim semantics between
different operators are unchanged (tests/test_sync_documents.py).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from test_sync_core import check_ok
from test_sync_documents import begin, operator, wh  # noqa: F401  (wh is a fixture)

from warehouse_tui.db.models import PickList
from warehouse_tui.errors import NotAllowed
from warehouse_tui.services import picking
from warehouse_tui.services.claims import HeldOnAnotherTerminal
from warehouse_tui.sync.claims import TAKEN
from warehouse_tui.sync.worker import SyncWorker

pytestmark = pytest.mark.postgres


def next_task_on(db, terminal: str, ref: str):
    with db.reading() as s:
        return picking.next_task(s, operator(s, "U1", terminal), ref)


def pick_on(db, terminal: str, task):
    with db.transaction() as s:
        return picking.confirm_pick(s, operator(s, "U1", terminal), task.id, bin_code=task.bin_code, item_id=task.item_id,
                                    qty=task.remaining, lot_code=task.lot_code)


def claimed(db, ref: str) -> str | None:
    with db.reading() as s:
        return s.scalars(select(PickList.claimed_terminal).where(PickList.ref == ref)).one()


def test_the_upstream_refuses_the_same_badge_on_another_terminal_until_it_takes_over(wh):
    t1, t2 = wh.terminal("T1"), wh.terminal("T2")
    wh.sync("T1"), wh.sync("T2")
    ref = wh.lists[0]
    w1, w2 = SyncWorker(t1, wh.url, "T1"), SyncWorker(t2, wh.url, "T2")
    try:
        w1.run_once(), w2.run_once()
        # given U1 picking the list on T1, online
        assert w1.claim("pick_list", ref, "U1") == TAKEN
        view = begin(t1, "U1", "T1", ref)
        wh.sync("T1")
        # when U1 scans it on T2 too: refused upstream before any work, naming T1
        with pytest.raises(HeldOnAnotherTerminal, match="on terminal T1"):
            w2.claim("pick_list", ref, "U1")
        assert claimed(wh.upstream, ref) == "T1"
        # and when U1 takes it over on T2, explicitly
        wh.sync("T2")
        with t2.transaction() as s:
            picking.claim(s, operator(s, "U1", "T2"), ref, take_over=True)
            assert w2.claim("pick_list", ref, "U1", take_over=True) == TAKEN
        assert claimed(wh.upstream, ref) == "T2"
        assert wh.sync("T2").push.conflict == 0
        # then T1, once synced, is refused on its next pick, naming T2
        wh.sync("T1")
        assert claimed(t1, ref) == "T2"
        task = next_task_on(t2, "T2", view.ref)
        with pytest.raises(NotAllowed, match="taken over by terminal T2"):
            pick_on(t1, "T1", task)
        # while T2 picks on, and everything still adds up everywhere
        pick_on(t2, "T2", task)
        wh.sync("T2"), wh.sync("T1")
        for db in (wh.upstream, t1, t2):
            assert check_ok(db)
    finally:
        w1.stop(), w2.stop()
