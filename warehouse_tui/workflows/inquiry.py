"""Inquiry (@INQUIRY): scan anything -> what it is and where its stock is.

An item shows its stock by bin and lot; a bin its contents; an LPN/tote its
contents and where it stands; a PO/order its lines; a lot or serial number its
stock and recent history. The prompt stays: scan the next thing.

Transitions:
  scan --anything--> scan
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from drivers.base import RawScan
from warehouse_tui.errors import NotFound
from warehouse_tui.scan.resolver import Scan, ScanKind
from warehouse_tui.services import inquiry
from warehouse_tui.workflows.base import Outcome, Prompt, Workflow, kinds
from warehouse_tui.workflows.machine import Machine


class State(enum.StrEnum):
    SCAN = "scan"


MACHINE = Machine(State, [
    ("scan", "anything", "scan"),
])

ANYTHING = kinds(ScanKind.ITEM, ScanKind.BIN, ScanKind.CONTAINER, ScanKind.DOCUMENT)


@dataclass
class Inquiry(Workflow):
    initial = State.SCAN
    machine = MACHINE
    answer: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.title = "Inquiry"

    @property
    def prompt(self) -> Prompt:
        return Prompt("Scan anything", ANYTHING)

    def lines(self) -> list[str]:
        return self.answer[1:]  # the first line is the headline, shown as the feedback

    def resolve(self, raw: RawScan, expects) -> Scan:
        try:
            return super().resolve(raw, expects)
        except NotFound:
            # Not an item, bin, container or document: maybe a lot or a serial number.
            code = raw.text.strip(" ")  # as the resolver read it: spaces around a code are no part of it
            with self.reading() as session:
                self._pending_answer = inquiry.lookup_text(session, code)
            return Scan(kind=ScanKind.TEXT, text=code, value=code)

    def on_scan(self, scan: Scan) -> Outcome:
        with self.reading() as session:
            match scan.kind:
                case ScanKind.ITEM:
                    self.answer = inquiry.item_stock(session, scan.item_id)
                    if scan.lot:
                        try:
                            self.answer += inquiry.lot_history(session, scan.lot)[:6]
                        except NotFound:  # a label's lot not received yet: the item's stock still answers
                            pass
                case ScanKind.BIN:
                    self.answer = inquiry.bin_contents(session, scan.bin_id)
                case ScanKind.CONTAINER if scan.container_id is None:
                    # An unknown code resolves as a new container here; it may be a lot or a serial number.
                    self.answer = inquiry.lookup_text(session, scan.text)
                case ScanKind.CONTAINER:
                    self.answer = inquiry.container_contents(session, scan.container_id)
                case ScanKind.DOCUMENT:
                    self.answer = inquiry.document_status(session, scan.document)
                case _:
                    self.answer = self._pending_answer
        return Outcome(True, self.answer[0] if self.answer else "")
