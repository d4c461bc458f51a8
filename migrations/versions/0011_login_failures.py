"""login failures

The login throttle's counters when no Redis is configured: one row per account
(its login identifier) or address, named by a keyed hash, with its failures
and the moment of the last one. Every process on the database shares them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 09:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_failures")),
    )
    op.create_index(op.f("ix_login_failures_last_at"), "login_failures", ["last_at"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_login_failures_last_at"), table_name="login_failures")
    op.drop_table("login_failures")
