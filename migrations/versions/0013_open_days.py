"""a group's opening days

`groups.open_days`: seven flags, Monday to Sunday ("1111110": Monday to
Saturday, what every group gets), at least one day open. Checkout defaults the
pickup day to the next open day and refuses a closed one.

On SQLite the column is added with its CHECK in one ALTER TABLE, so the table
(referenced by members, products, orders...) is not rebuilt.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 12:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

CHECK = "length(open_days) = 7 AND replace(replace(open_days, '0', ''), '1', '') = '' AND open_days <> '0000000'"


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE groups ADD COLUMN open_days VARCHAR(7) DEFAULT '1111110' NOT NULL "
            f"CONSTRAINT ck_groups_open_days CHECK ({CHECK})"
        )
        return
    op.add_column("groups", sa.Column("open_days", sa.String(length=7), server_default="1111110", nullable=False))
    op.create_check_constraint(op.f("ck_groups_open_days"), "groups", CHECK)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE groups DROP COLUMN open_days")
        return
    op.drop_constraint(op.f("ck_groups_open_days"), "groups", type_="check")
    op.drop_column("groups", "open_days")
