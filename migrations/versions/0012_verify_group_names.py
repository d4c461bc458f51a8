"""groups: one name per district as names read, and why a verification was withdrawn

Each group keeps its name and district as they read to the eye (`name_key`,
`district_key`: core.text.name_key), under a unique index, so no group can take a
look-alike of another's name in its district. The keys of existing groups are
filled here. Where existing groups already read alike in one district, the first
(lowest id) keeps its key and each later one gets its key set apart with its id
(a space and `#id`, which no folded name holds), so the upgrade never fails; such a
group is refused every change of name or district until it is renamed apart, and
each is printed. `verification_withdrawn_at` and `_reason` say when and why a
verified group was made to wait for the district admin again (the CHECK on the
reason is added on PostgreSQL; SQLite adds none to an existing table without
rebuilding it, and only the application writes it).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 09:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

from core.text import name_key  # as it is at this revision; a change to it comes with a migration filling keys again

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMNs and a CREATE INDEX: no table rebuild on SQLite.
    op.add_column("groups", sa.Column("verification_withdrawn_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "groups",
        sa.Column(
            "verification_withdrawn_reason",
            sa.Enum(
                "bank_account",
                "admin",
                name="verification_withdrawal",
                native_enum=False,
                create_constraint=False,  # the CHECK below
                length=16,
            ),
            nullable=True,
        ),
    )
    if op.get_bind().dialect.name == "postgresql":  # SQLite adds no CHECK to an existing table without rebuilding it
        op.create_check_constraint(
            op.f("ck_groups_verification_withdrawal"),
            "groups",
            "verification_withdrawn_reason IN ('bank_account', 'admin')",
        )
    op.add_column("groups", sa.Column("name_key", sa.String(length=240), server_default="", nullable=False))
    op.add_column("groups", sa.Column("district_key", sa.String(length=240), server_default="", nullable=False))
    bind = op.get_bind()
    groups = sa.table(
        "groups",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("district", sa.String),
        sa.column("name_key", sa.String),
        sa.column("district_key", sa.String),
    )
    taken = {}
    for group_id, name, district in bind.execute(
        sa.select(groups.c.id, groups.c.name, groups.c.district).order_by(groups.c.id)
    ).all():
        keys = (name_key(district), name_key(name))
        if keys in taken:
            print(f"group {group_id} {name!r} reads like group {taken[keys]} in {district!r}: rename it apart")
            keys = (keys[0], f"{keys[1][:230]} #{group_id}")
        else:
            taken[keys] = group_id
        bind.execute(groups.update().where(groups.c.id == group_id).values(district_key=keys[0], name_key=keys[1]))
    op.create_index("uq_groups_district_name_key", "groups", ["district_key", "name_key"], unique=True)


def downgrade():
    op.drop_index("uq_groups_district_name_key", table_name="groups")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("ck_groups_verification_withdrawal"), "groups", type_="check")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite 3.35+ drops a column in place.
        for column in ("district_key", "name_key", "verification_withdrawn_reason", "verification_withdrawn_at"):
            op.execute(f"ALTER TABLE groups DROP COLUMN {column}")
    else:
        for column in ("district_key", "name_key", "verification_withdrawn_reason", "verification_withdrawn_at"):
            op.drop_column("groups", column)
