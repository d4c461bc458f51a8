"""statement sale lines read from the earnings

A frozen statement keeps the count of its sale lines (`sale_lines`) and reads
the lines from the member's sale earnings of the period, which cannot change;
statements frozen before keep their lines in `detail` (`sale_lines` is NULL).
An index on earnings (group_id, kind) finds a group's refunds and pool shares
without reading its sales. Every earning is stamped with the moment of its
journal entry (they were made a moment apart), so a period's sales are found in
the earnings alone.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 06:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

from core.appendonly import append_only_statements, drop_append_only_statements

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN (no table rebuild on SQLite), so the append-only triggers stay as they are.
    op.add_column("statements", sa.Column("sale_lines", sa.Integer(), nullable=True))
    op.create_index("ix_earnings_group_kind", "earnings", ["group_id", "kind"], unique=False)
    dialect = op.get_bind().dialect.name
    for statement in drop_append_only_statements("earnings", dialect):
        op.execute(statement)
    op.execute(
        "UPDATE earnings SET created_at = (SELECT j.created_at FROM journal_entries j "
        "WHERE j.id = earnings.entry_id) WHERE created_at <> (SELECT j.created_at FROM journal_entries j "
        "WHERE j.id = earnings.entry_id)"
    )
    for statement in append_only_statements("earnings", dialect):
        op.execute(statement)


def downgrade():
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM statements WHERE sale_lines IS NOT NULL LIMIT 1")).first():
        raise RuntimeError(
            "statements frozen with their sale lines read from the earnings cannot be kept by "
            "the earlier version, which expects the lines in their detail"
        )
    op.drop_index("ix_earnings_group_kind", table_name="earnings")
    dialect = bind.dialect.name
    if dialect == "sqlite":
        # SQLite 3.35+ drops a column in place; the statements' triggers do not name it.
        op.execute("ALTER TABLE statements DROP COLUMN sale_lines")
    else:
        op.drop_column("statements", "sale_lines")
