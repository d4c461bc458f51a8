"""pool shares and statement shu

A settlement's pool shares are Earning rows without an order; a settlement says
how its pool was shared (`shared_by`) and is append-only; a statement shows the
SHU parts credited in its period.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 03:15:03.262133

"""

import sqlalchemy as sa
from alembic import op

from core.appendonly import append_only_statements, drop_append_only_statements

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _run(statements):
    for statement in statements:
        op.execute(statement)


def upgrade():
    dialect = op.get_bind().dialect.name
    # SQLite rebuilds a table to change a column: its append-only triggers go with the old table.
    _run(drop_append_only_statements("earnings", dialect))
    with op.batch_alter_table("earnings", schema=None) as batch_op:
        batch_op.alter_column("order_id", existing_type=sa.BIGINT(), nullable=True)
    _run(append_only_statements("earnings", dialect))

    with op.batch_alter_table("settlements", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "shared_by",
                sa.Enum(
                    "contribution",
                    "equal",
                    "work",
                    name="shared_by",
                    native_enum=False,
                    create_constraint=True,
                    length=16,
                ),
                nullable=True,
            )
        )
    _run(append_only_statements("settlements", dialect))

    _run(drop_append_only_statements("statements", dialect))
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shu", sa.BigInteger(), server_default="0", nullable=False))
    _run(append_only_statements("statements", dialect))


def downgrade():
    dialect = op.get_bind().dialect.name
    _run(drop_append_only_statements("statements", dialect))
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.drop_column("shu")
    _run(append_only_statements("statements", dialect))

    _run(drop_append_only_statements("settlements", dialect))
    with op.batch_alter_table("settlements", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_settlements_shared_by"), type_="check")
        batch_op.drop_column("shared_by")

    _run(drop_append_only_statements("earnings", dialect))
    with op.batch_alter_table("earnings", schema=None) as batch_op:
        batch_op.alter_column("order_id", existing_type=sa.BIGINT(), nullable=False)
    _run(append_only_statements("earnings", dialect))
