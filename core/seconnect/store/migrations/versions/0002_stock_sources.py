"""Stock sources: which cart's quantity each product's local figure was last taken from.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

A new table only (nothing existing changes): a store upgraded from 0001 has no sources, so its
products keep counting every imported sale, as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('stock_sources',
    sa.Column('product_id', _ID, nullable=False),
    sa.Column('cart_id', _ID, nullable=False),
    sa.Column('order_mark', sa.Text(), nullable=True,
              comment="the cart's newest order when the quantity was read; '' none, NULL unknown"),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cart_id'], ['carts.id'], name=op.f('fk_stock_sources_cart_id_carts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_stock_sources_product_id_products'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('product_id', name=op.f('pk_stock_sources')),
    comment="the cart whose quantity a product's local figure was last taken from",
    )


def downgrade() -> None:
    op.drop_table('stock_sources')
