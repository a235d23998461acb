"""lean outbox: partial indexes, deliveries.rule_id without a foreign key

The outbox keeps every delivery ever made, so its indexes should hold only the rows that are
looked up: open rows (pending index) and rows tied to a red-flag episode. `rule_id` becomes a
plain record: the foreign key cost a check per reminder at the morning peak and, with no index
behind it, a scan of the whole outbox whenever a rule was deleted.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("status IN ('scheduled', 'queued', 'sending')")
IN_EPISODE = sa.text("escalation_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint("fk_deliveries_rule_id_reminder_rules", type_="foreignkey")
        batch_op.drop_index("ix_deliveries_pending")
        batch_op.drop_index("ix_deliveries_escalation_id")
        batch_op.create_index(
            "ix_deliveries_pending", ["status", "due_at"], postgresql_where=OPEN, sqlite_where=OPEN
        )
        batch_op.create_index(
            "ix_deliveries_escalation_id",
            ["escalation_id"],
            postgresql_where=IN_EPISODE,
            sqlite_where=IN_EPISODE,
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_escalation_id")
        batch_op.drop_index("ix_deliveries_pending")
        batch_op.create_index("ix_deliveries_escalation_id", ["escalation_id"])
        batch_op.create_index("ix_deliveries_pending", ["status", "due_at"])
    # Rows whose rule is gone would break the restored constraint.
    op.execute(
        "UPDATE deliveries SET rule_id = NULL WHERE rule_id IS NOT NULL "
        "AND rule_id NOT IN (SELECT id FROM reminder_rules)"
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_deliveries_rule_id_reminder_rules",
            "reminder_rules",
            ["rule_id"],
            ["id"],
            ondelete="SET NULL",
        )
