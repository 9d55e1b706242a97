"""The sync's ledger: pushed movements booked upstream and pulled ones booked here, set-based.

The booking is `services.batch_ledger.BatchLedger` (ledger.post's rules for a
batch), shared with the CSV import of opening stock; the sync imports it from here.
"""

from __future__ import annotations

from warehouse_tui.services.batch_ledger import (
    BOOKED,
    CONFLICT,
    MOVEMENT_COLUMNS,
    REFUSED,
    BatchLedger,
    Booked,
    parse_time,
)

__all__ = ["BOOKED", "CONFLICT", "MOVEMENT_COLUMNS", "REFUSED", "BatchLedger", "Booked", "parse_time"]
