"""Orders remember the status the cart last reported (``orders.cart_status``).

Revision ID: 0003
Revises: 0002

A re-sent order takes the cart's status only when the cart's status changed since the last
import of it; otherwise a newer local change (``orders set-status``) stands. Existing orders
are filled in from what is known: the label before the first local change, else the stored
status. Orders whose local change an earlier re-import put back to the cart's old label (the
defect this revision fixes) get the local label back, so status and history agree again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HAS_HISTORY = "EXISTS (SELECT 1 FROM order_status_history h WHERE h.order_id = orders.id)"


def _history(column: str, direction: str) -> str:
    return (f"(SELECT h.{column} FROM order_status_history h WHERE h.order_id = orders.id "
            f"ORDER BY h.id {direction} LIMIT 1)")


def upgrade() -> None:
    op.add_column("orders", sa.Column(
        "cart_status", sa.Text(), nullable=True,
        comment="the status the cart last reported (a re-sent order's status wins over a local change "
                "only when this changed)"))
    op.execute("UPDATE orders SET cart_status = status")
    op.execute(f"UPDATE orders SET cart_status = {_history('previous_label', 'ASC')} WHERE {_HAS_HISTORY}")
    op.execute(f"UPDATE orders SET status = {_history('label', 'DESC')} WHERE {_HAS_HISTORY} AND status = cart_status")


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("cart_status")
