"""run ledger: outcome, heartbeat, host and pid of crawl runs; the work ledger

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 01:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    # a database made by create_all before migrations existed may have all of it already
    inspector = sa.inspect(op.get_bind())
    existing = {column["name"] for column in inspector.get_columns("crawl_runs")}
    columns = [
        # the job: spider and arguments; a run resuming a crashed one names the job's first run
        sa.Column("job_key", sa.String(64), nullable=True),
        sa.Column("resumes", Id, nullable=True),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("heartbeat_at", Timestamp, nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
    ]
    with op.batch_alter_table("crawl_runs") as batch:
        for column in columns:
            if column.name not in existing:
                batch.add_column(column)
    op.create_index(
        "ix_crawl_runs_job", "crawl_runs", ["job_key", "started_at"], if_not_exists=True
    )
    op.create_index("ix_crawl_runs_status", "crawl_runs", ["status"], if_not_exists=True)
    if "work_units" in inspector.get_table_names():
        return
    op.create_table(
        "work_units",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        # the first run of the job: every run resuming it adds to the same ledger
        sa.Column("job_id", Id, nullable=False),
        sa.Column("unit", sa.String(255), nullable=False),
        sa.Column("run_id", Id, nullable=True),
        sa.Column("outcome", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("done_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_work_units"),
        sa.UniqueConstraint("job_id", "unit", name="uq_work_units_job_id_unit"),
    )


def downgrade() -> None:
    op.drop_table("work_units")
    op.drop_index("ix_crawl_runs_status", table_name="crawl_runs")
    op.drop_index("ix_crawl_runs_job", table_name="crawl_runs")
    with op.batch_alter_table("crawl_runs") as batch:
        for name in ("reason", "exit_code", "heartbeat_at", "pid", "host", "resumes", "job_key"):
            batch.drop_column(name)
