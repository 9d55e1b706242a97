"""floor view indexes

The supervisor's floor view reads the movements of the shift by time and kind
(picked/received/shipped units per hour, each operator's lines and units, the
putaways and receipts for dock-to-stock) every few seconds. Without an index on
the movements' time every refresh read all of them (1M movements: about 0.5 s
of CPU per refresh, see the README's floor view figure). The index leads with
`at` so a range of the shift is read alone, and carries kind, operator and qty
so the hourly and per-operator sums are answered from the index; it does not
lead with kind, which would draw other kind-only lookups (a pick list's last
pick by document) away from their own indexes.

Revision ID: 0006_floor
Revises: 0005_replen
Create Date: 2026-12-03 17:50:00
"""

from __future__ import annotations

from alembic import op

revision = '0006_floor'
down_revision = '0005_replen'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_movements_at_kind', 'movements', ['at', 'kind', 'operator_id', 'qty'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_movements_at_kind', table_name='movements')
