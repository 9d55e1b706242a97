"""returns: customer returns (RMA) against shipped orders, bin kinds returns/quarantine, movement kinds return/scrap

`returns` (one per RMA or unplanned return), `return_lines` (what it announces per
order line, and how much came back) and `return_receipts` (each graded receipt:
good, damaged or scrap, with its reason). The CHECK constraints on bins.kind and
movements.kind allow the new values (SQLite copies those tables in batch mode).

Revision ID: 0003_returns
Revises: 0002
Create Date: 2026-12-03 17:02:39.971560
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003_returns'
down_revision = '0002'
branch_labels = None
depends_on = None


_BIN_KINDS = ('receiving', 'storage', 'pick', 'pack', 'shipping', 'staging')
_MOVEMENT_KINDS = ('receipt', 'putaway', 'move', 'pick', 'pack', 'ship', 'adjust', 'count')


def _allowed(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _kinds(table: str, values: tuple[str, ...]) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(f'ck_{table}_kind_valid'), type_='check')
        batch_op.create_check_constraint(op.f(f'ck_{table}_kind_valid'), f"kind IN ({_allowed(values)})")


def upgrade() -> None:
    _kinds('bins', _BIN_KINDS + ('returns', 'quarantine'))
    _kinds('movements', _MOVEMENT_KINDS + ('return', 'scrap'))
    op.create_table('returns',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['outbound_orders.id'], name=op.f('fk_returns_order_id_outbound_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_returns')),
    sa.UniqueConstraint('ref', name=op.f('uq_returns_ref'))
    )
    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_returns_order_id'), ['order_id'], unique=False)

    op.create_table('return_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('return_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('serial', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=64), nullable=True),
    sa.Column('qty_expected', sa.BigInteger(), nullable=False),
    sa.Column('qty_received', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('qty_expected >= 0', name=op.f('ck_return_lines_expected_not_negative')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_return_lines_item_id_items')),
    sa.ForeignKeyConstraint(['order_line_id'], ['outbound_lines.id'], name=op.f('fk_return_lines_order_line_id_outbound_lines')),
    sa.ForeignKeyConstraint(['return_id'], ['returns.id'], name=op.f('fk_return_lines_return_id_returns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_lines')),
    sa.UniqueConstraint('uuid', name=op.f('uq_return_lines_uuid'))
    )
    with op.batch_alter_table('return_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_return_lines_order_line_id'), ['order_line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_return_lines_return_id'), ['return_id'], unique=False)

    op.create_table('return_receipts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('serial', sa.String(length=64), nullable=True),
    sa.Column('qty', sa.BigInteger(), nullable=False),
    sa.Column('grade', sa.String(length=8), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=True),
    sa.Column('bin_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('operator_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('terminal', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("grade IN ('good', 'damaged', 'scrap')", name=op.f('ck_return_receipts_grade_valid')),
    sa.CheckConstraint('qty > 0', name=op.f('ck_return_receipts_qty_positive')),
    sa.ForeignKeyConstraint(['bin_id'], ['bins.id'], name=op.f('fk_return_receipts_bin_id_bins')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_return_receipts_item_id_items')),
    sa.ForeignKeyConstraint(['line_id'], ['return_lines.id'], name=op.f('fk_return_receipts_line_id_return_lines')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_return_receipts_lot_id_lots')),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_return_receipts_operator_id_operators')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_receipts')),
    sa.UniqueConstraint('uuid', name=op.f('uq_return_receipts_uuid'))
    )
    with op.batch_alter_table('return_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_return_receipts_line_id'), ['line_id'], unique=False)
        batch_op.create_index('ix_return_receipts_serial', ['item_id', 'serial'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('return_receipts', schema=None) as batch_op:
        batch_op.drop_index('ix_return_receipts_serial')
        batch_op.drop_index(batch_op.f('ix_return_receipts_line_id'))

    op.drop_table('return_receipts')
    with op.batch_alter_table('return_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_return_lines_return_id'))
        batch_op.drop_index(batch_op.f('ix_return_lines_order_line_id'))

    op.drop_table('return_lines')
    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_returns_order_id'))

    op.drop_table('returns')
    # Stock and movements of the new kinds cannot be expressed in the old schema: refuse rather than lose them.
    conn = op.get_bind()
    if conn.execute(sa.text("SELECT 1 FROM bins WHERE kind IN ('returns', 'quarantine') LIMIT 1")).first() or \
            conn.execute(sa.text("SELECT 1 FROM movements WHERE kind IN ('return', 'scrap') LIMIT 1")).first():
        raise RuntimeError("returns or quarantine bins, or return/scrap movements exist: cannot downgrade below 0003_returns")
    _kinds('movements', _MOVEMENT_KINDS)
    _kinds('bins', _BIN_KINDS)
