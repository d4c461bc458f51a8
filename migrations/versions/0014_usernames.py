"""a login name for each of a household's members who share a phone

`users.username`: optional, lower-cased, unique (a unique index, so that on SQLite the users table,
referenced by most others, is not rebuilt). A phone number still names at most one account; the second
person on a shared phone logs in with her login name.
`invitations.username`: the login name a coordinator gave with the code (the person may choose another).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 13:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("users", sa.Column("username", sa.String(length=30), nullable=True))
    op.create_index(op.f("ix_users_username"), "users", ["username"], unique=True)
    op.add_column("invitations", sa.Column("username", sa.String(length=30), nullable=True))


def downgrade():
    with op.batch_alter_table("invitations") as batch_op:
        batch_op.drop_column("username")
    op.drop_index(op.f("ix_users_username"), table_name="users")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("username")
