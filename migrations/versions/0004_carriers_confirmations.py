"""carriers, tracking numbers and shipment confirmations

Orders carry the carrier and service the OMS chose and the time they shipped;
a carton carries its carrier label's tracking number (unique: one number is on
one carton) and when its shipment confirmation was handed to the OMS.

Revision ID: 0004_carriers
Revises: 0003_returns
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004_carriers'
down_revision = '0003_returns'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbound_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('carrier', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('service', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('shipped_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('cartons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tracking', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('confirmation_sent_at', sa.DateTime(), nullable=True))
    # An index, not a constraint: on SQLite a constraint means copying the table, and carton_lines points at it.
    op.create_index(op.f('ix_cartons_tracking'), 'cartons', ['tracking'], unique=True)


def downgrade() -> None:
    op.drop_index(op.f('ix_cartons_tracking'), table_name='cartons')
    with op.batch_alter_table('cartons', schema=None) as batch_op:
        batch_op.drop_column('confirmation_sent_at')
        batch_op.drop_column('tracking')
    with op.batch_alter_table('outbound_orders', schema=None) as batch_op:
        batch_op.drop_column('shipped_at')
        batch_op.drop_column('service')
        batch_op.drop_column('carrier')
