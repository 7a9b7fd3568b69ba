"""`seconnect serve`: schedules (with the lease an instance holds while running one) and the
webhook deliveries kept to absorb duplicates.

Revision ID: 0007
Revises: 0006

New tables only: an existing store keeps everything and starts with no schedules.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", _ID, nullable=False),
        sa.Column("cart_id", _ID, nullable=False),
        sa.Column("job", sa.Text(), nullable=False, comment="a `seconnect run` job name, e.g. import-orders"),
        sa.Column("every_s", sa.Integer(), nullable=True, comment="run every this many seconds (start to start)"),
        sa.Column("at_time", sa.Text(), nullable=True,
                  comment="or daily at HH:MM, the service's local time; neither: on webhooks only"),
        sa.Column("paused", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("next_due", _TIME, nullable=True,
                  comment="when the schedule next runs; NULL: only when a webhook wants it"),
        sa.Column("wanted_at", _TIME, nullable=True,
                  comment="a webhook asked for a run at this time (cleared by the run after it)"),
        sa.Column("last_run_id", _ID, nullable=True),
        sa.Column("lease_owner", sa.Text(), nullable=True, comment="the serve instance running it now"),
        sa.Column("lease_until", _TIME, nullable=True,
                  comment="its claim lapses then unless renewed (a killed instance)"),
        sa.Column("claimed_at", _TIME, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.CheckConstraint("every_s IS NULL OR at_time IS NULL", name=op.f("ck_schedules_one_timing")),
        sa.ForeignKeyConstraint(["cart_id"], ["carts.id"], name=op.f("fk_schedules_cart_id_carts"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["last_run_id"], ["runs.id"], name=op.f("fk_schedules_last_run_id_runs"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
    )
    op.create_index(op.f("ix_schedules_next_due"), "schedules", ["next_due"], unique=False)
    op.create_index(op.f("ix_schedules_cart_id_job"), "schedules", ["cart_id", "job"], unique=False)
    op.create_table(
        "webhook_events",
        sa.Column("id", _ID, nullable=False),
        sa.Column("cart_id", _ID, nullable=False),
        sa.Column("dedupe_key", sa.Text(), nullable=True, comment="the plugin's id for the event; NULL: not deduplicated"),
        sa.Column("job", sa.Text(), nullable=True),
        sa.Column("received_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["cart_id"], ["carts.id"], name=op.f("fk_webhook_events_cart_id_carts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint("cart_id", "dedupe_key", name=op.f("uq_webhook_events_cart_id_dedupe_key")),
    )
    op.create_index(op.f("ix_webhook_events_received_at"), "webhook_events", ["received_at"], unique=False)


def downgrade() -> None:
    op.drop_table("webhook_events")
    op.drop_table("schedules")
