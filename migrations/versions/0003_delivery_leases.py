"""delivery leases, chore claims, one sending budget

deliveries.claimed_by, deliveries.once_key, deliveries.retaken; the send_budget table.

`claimed_by` names the worker holding a row's lease, so a restarted worker can take its own dead
leases back at once instead of waiting for them to expire. `once_key` (unique) is how a chore
that sends (the weekly summary) claims one unit of work: the first worker to insert the key sends
it, every other worker's insert is skipped. `retaken` marks a row sent again after its holder
died mid-send (it may have been sent twice): /stats and the metrics count them. `send_budget`
holds the one sending schedule every worker reserves its send slots from (jobs/budget.py).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "send_budget",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("next_free", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_send_budget")),
    )
    op.execute("INSERT INTO send_budget (id, next_free) VALUES (1, CURRENT_TIMESTAMP)")
    op.create_table(
        "send_workers",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_send_workers")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("once_key", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("retaken", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index("ix_deliveries_once_key", ["once_key"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_once_key")
        batch_op.drop_column("retaken")
        batch_op.drop_column("once_key")
        batch_op.drop_column("claimed_by")
    op.drop_table("send_workers")
    op.drop_table("send_budget")
