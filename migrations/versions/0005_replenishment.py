"""replenishment: pick-face settings, replenishment tasks, pick tasks waiting for a face

`pick_faces` holds the one SKU a pick bin holds and the min/max it is kept
between; `replen_tasks` are the moves from storage that fill a face (one per
source bin and lot, claimed like pick lists, found across databases by uuid);
`pick_tasks.waiting` holds a wave's pick task until its face is filled;
`full_totes` keeps the totes an order filled during a pick (@FULL).

Revision ID: 0005_replen
Revises: 0004_carriers
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005_replen'
down_revision = '0004_carriers'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('pick_faces',
    sa.Column('id', BigId, nullable=False),
    sa.Column('bin_id', BigId, nullable=False),
    sa.Column('item_id', BigId, nullable=False),
    sa.Column('min_qty', sa.BigInteger(), nullable=False),
    sa.Column('max_qty', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('min_qty > 0 AND max_qty > min_qty', name=op.f('ck_pick_faces_min_below_max')),
    sa.ForeignKeyConstraint(['bin_id'], ['bins.id'], name=op.f('fk_pick_faces_bin_id_bins')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_pick_faces_item_id_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pick_faces')),
    sa.UniqueConstraint('bin_id', name=op.f('uq_pick_faces_bin_id'))
    )
    op.create_index(op.f('ix_pick_faces_item_id'), 'pick_faces', ['item_id'], unique=False)
    op.create_table('replen_tasks',
    sa.Column('id', BigId, nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('item_id', BigId, nullable=False),
    sa.Column('lot_id', BigId, nullable=True),
    sa.Column('from_bin_id', BigId, nullable=False),
    sa.Column('to_bin_id', BigId, nullable=False),
    sa.Column('qty', sa.BigInteger(), nullable=False),
    sa.Column('qty_moved', sa.BigInteger(), nullable=False),
    sa.Column('blocking', sa.Boolean(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('claimed_by', BigId, nullable=True),
    sa.Column('claimed_terminal', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('qty > 0', name=op.f('ck_replen_tasks_qty_positive')),
    sa.ForeignKeyConstraint(['claimed_by'], ['operators.id'], name=op.f('fk_replen_tasks_claimed_by_operators')),
    sa.ForeignKeyConstraint(['from_bin_id'], ['bins.id'], name=op.f('fk_replen_tasks_from_bin_id_bins')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_replen_tasks_item_id_items')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_replen_tasks_lot_id_lots')),
    sa.ForeignKeyConstraint(['to_bin_id'], ['bins.id'], name=op.f('fk_replen_tasks_to_bin_id_bins')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_replen_tasks')),
    sa.UniqueConstraint('uuid', name=op.f('uq_replen_tasks_uuid'))
    )
    op.create_index('ix_replen_tasks_face', 'replen_tasks', ['to_bin_id', 'status'], unique=False)
    op.create_table('full_totes',
    sa.Column('id', BigId, nullable=False),
    sa.Column('pick_list_order_id', BigId, nullable=False),
    sa.Column('tote_id', BigId, nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['pick_list_order_id'], ['pick_list_orders.id'], name=op.f('fk_full_totes_pick_list_order_id_pick_list_orders')),
    sa.ForeignKeyConstraint(['tote_id'], ['containers.id'], name=op.f('fk_full_totes_tote_id_containers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_full_totes')),
    sa.UniqueConstraint('pick_list_order_id', 'tote_id', name=op.f('uq_full_totes_pick_list_order_id_tote_id'))
    )
    op.create_index(op.f('ix_full_totes_pick_list_order_id'), 'full_totes', ['pick_list_order_id'], unique=False)
    op.create_index(op.f('ix_full_totes_tote_id'), 'full_totes', ['tote_id'], unique=False)
    with op.batch_alter_table('pick_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waiting', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('pick_tasks', schema=None) as batch_op:
        batch_op.drop_column('waiting')
    op.drop_index(op.f('ix_full_totes_tote_id'), table_name='full_totes')
    op.drop_index(op.f('ix_full_totes_pick_list_order_id'), table_name='full_totes')
    op.drop_table('full_totes')
    op.drop_index('ix_replen_tasks_face', table_name='replen_tasks')
    op.drop_table('replen_tasks')
    op.drop_index(op.f('ix_pick_faces_item_id'), table_name='pick_faces')
    op.drop_table('pick_faces')
