"""processor refund per order

A refund made in the card gateway's dashboard is spread over the checkout's
orders, one Refund row each naming the same processor refund: the unique key is
(processor_refund_id, order_id) instead of processor_refund_id alone.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 06:05:00.000000

"""

from alembic import op

from core.appendonly import append_only_statements, drop_append_only_statements

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _run(statements):
    for statement in statements:
        op.execute(statement)


def upgrade():
    dialect = op.get_bind().dialect.name
    # SQLite rebuilds the table to change a constraint: its append-only triggers go with the old table.
    _run(drop_append_only_statements("refunds", dialect))
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_refunds_processor_refund_id"), type_="unique")
        batch_op.create_unique_constraint("uq_refunds_processor_refund_order", ["processor_refund_id", "order_id"])
    _run(append_only_statements("refunds", dialect))


def downgrade():
    dialect = op.get_bind().dialect.name
    _run(drop_append_only_statements("refunds", dialect))
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_constraint("uq_refunds_processor_refund_order", type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_refunds_processor_refund_id"), ["processor_refund_id"])
    _run(append_only_statements("refunds", dialect))
