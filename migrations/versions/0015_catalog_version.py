"""the catalog's version: one row that writes changing what the catalog lists move on

Kept catalog pages are keyed by it, so no process shows a page made before such a write.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 15:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "catalog_versions",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_catalog_versions_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_versions")),
    )
    op.execute("INSERT INTO catalog_versions (id, version) VALUES (1, 0)")


def downgrade():
    op.drop_table("catalog_versions")
