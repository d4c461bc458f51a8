"""savings idempotency key

A savings deposit or withdrawal takes an Idempotency-Key like payouts: the key
and the request's fingerprint are kept on the row, the key unique per group.
Plain ADD COLUMN and a unique index (no table rebuild on SQLite), so the
append-only triggers stay as they are.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 06:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

from core.appendonly import append_only_statements, drop_append_only_statements

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("member_savings", sa.Column("idempotency_key", sa.String(length=100), nullable=True))
    op.add_column("member_savings", sa.Column("request_hash", sa.String(length=64), nullable=True))
    op.create_index("uq_member_savings_group_key", "member_savings", ["group_id", "idempotency_key"], unique=True)


def downgrade():
    dialect = op.get_bind().dialect.name
    op.drop_index("uq_member_savings_group_key", table_name="member_savings")
    # SQLite rebuilds the table to drop a column: its append-only triggers go with the old table.
    for statement in drop_append_only_statements("member_savings", dialect):
        op.execute(statement)
    with op.batch_alter_table("member_savings", schema=None) as batch_op:
        batch_op.drop_column("request_hash")
        batch_op.drop_column("idempotency_key")
    for statement in append_only_statements("member_savings", dialect):
        op.execute(statement)
