"""harvest from lots taken in: what of each lot a harvest counted

A harvest may be recorded from lots taken in already through the ordinary intake, and from a lot only the units
chosen; `harvest_lots.quantity` keeps what it counted (empty on rows from before: the whole lot). The table stays
append-only: a column added in place keeps its triggers.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 09:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("harvest_lots", sa.Column("quantity", sa.BigInteger(), nullable=True))


def downgrade():
    op.drop_column("harvest_lots", "quantity")
