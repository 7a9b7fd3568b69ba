"""Run history: who runs a job (pid, host), its heartbeat, the error's hint, and 'abandoned'.

Revision ID: 0004
Revises: 0003

A run killed with SIGKILL never records its end; with the pid, host and heartbeat a later look
can tell it is gone and store it as ``abandoned`` (see :mod:`seconnect.runs`). Existing rows
keep their values; old ``running`` rows have no heartbeat and are judged by their start time.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # SQLite cannot alter a CHECK constraint in place: batch mode rebuilds the table.
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("hint", sa.Text(), nullable=True))
        batch.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("host", sa.Text(), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True,
                                   comment="last sign of life of a running job"))
        batch.drop_constraint(op.f("ck_runs_status"), type_="check")
        batch.create_check_constraint(op.f("ck_runs_status"), "status IN ('running', 'ok', 'failed', 'abandoned')")
    op.create_index(op.f("ix_runs_status"), "runs", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_runs_status"), table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_constraint(op.f("ck_runs_status"), type_="check")
    op.execute("UPDATE runs SET status = 'failed' WHERE status = 'abandoned'")
    with op.batch_alter_table("runs") as batch:
        batch.create_check_constraint(op.f("ck_runs_status"), "status IN ('running', 'ok', 'failed')")
        for column in ("heartbeat_at", "host", "pid", "hint"):
            batch.drop_column(column)
