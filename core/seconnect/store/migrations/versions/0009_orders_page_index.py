"""orders: index (cart_id, number_sort, number) in place of (cart_id, number_sort).

Revision ID: 0009
Revises: 0008

The orders listing pages one cart's orders by number_sort then number; with number in the
index a deep page (100k orders) is walked in the index instead of sorting the cart's orders.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_orders_cart_id_number_sort_number", "orders", ["cart_id", "number_sort", "number"])
    op.drop_index("ix_orders_cart_id_number_sort", table_name="orders")


def downgrade() -> None:
    op.create_index("ix_orders_cart_id_number_sort", "orders", ["cart_id", "number_sort"])
    op.drop_index("ix_orders_cart_id_number_sort_number", table_name="orders")
