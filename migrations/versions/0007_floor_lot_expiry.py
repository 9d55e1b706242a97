"""floor view: lots by expiry

The floor view's stock health shows the lots in stock expiring within
`floor_expiry_days`, soonest first, and how many there are (up to 100). Without
an index on the lots' expiry every refresh read all lots (40,000 in the
benchmark warehouse) and checked the stock of each one due; with it both walk
the index from the soonest and stop early (see the README's floor view figures).
Lots are written once per new lot at receipt, never on a pick: the scan path
pays nothing measurable for it.

Revision ID: 0007_floor_lot_expiry
Revises: 0006_floor
Create Date: 2026-12-03 20:00:00
"""

from __future__ import annotations

from alembic import op

revision = '0007_floor_lot_expiry'
down_revision = '0006_floor'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_lots_expiry', 'lots', ['expiry'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_lots_expiry', table_name='lots')
