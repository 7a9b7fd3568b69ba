"""orders.totals_note: says when an order's stored parts do not add up to its grand total.

Revision ID: 0006
Revises: 0005

Existing orders keep NULL (not checked); a re-import of an order fills it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("totals_note", sa.Text(), nullable=True,
                                   comment="NULL when the parts add up to grand_total, else what they add up to"))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("totals_note")
