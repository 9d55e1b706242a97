"""The workflows this build offers, by the command that starts them."""

from __future__ import annotations

from warehouse_tui.workflows.base import Workflow
from warehouse_tui.workflows.count import Count
from warehouse_tui.workflows.floor_view import FloorView
from warehouse_tui.workflows.inquiry import Inquiry
from warehouse_tui.workflows.pack import Pack
from warehouse_tui.workflows.pick import Pick
from warehouse_tui.workflows.putaway import Move, Putaway
from warehouse_tui.workflows.receive import Receive
from warehouse_tui.workflows.replenish import Replenish
from warehouse_tui.workflows.returns import Return
from warehouse_tui.workflows.supervisor import Supervisor

WORKFLOWS: dict[str, type[Workflow]] = {
    "RECEIVE": Receive,
    "PUTAWAY": Putaway,
    "PICK": Pick,
    "PACK": Pack,
    "MOVE": Move,
    "INQUIRY": Inquiry,
    "COUNT": Count,
    "SUPERVISOR": Supervisor,
    "RETURN": Return,
    "REPLEN": Replenish,
}
WORKFLOWS["FLOOR"] = FloorView
