"""the catalog's listing: a row per listed product kept by triggers, its counts, its words and its search index

The catalog filters, sorts, counts and searches these rows through their indexes, so a page
costs what it shows, not what the catalog holds (marketplace.listing). PostgreSQL searches with
pg_trgm (GIN), SQLite with an FTS5 trigram table. The triggers also move the catalog's version
(0015) on with every write that changes what the catalog shows.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 16:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# As they are at this revision; a change to them comes with a migration that makes them again.
from marketplace.listing import drop_listing_statements, listing_statements, rebuild_statements

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

SEARCH_TEXT = sa.String(length=240).with_variant(sa.String(length=240, collation="C"), "postgresql")


def _kind():
    return sa.Enum(
        "produce",
        "garment",
        "processed",
        name="product_kind",
        native_enum=False,
        create_constraint=True,
        length=16,
    )


def upgrade():
    bind = op.get_bind()
    dialect = bind.dialect.name
    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "catalog_counts",
        sa.Column("group_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("village", sa.String(length=120), nullable=False),
        sa.Column("kind", _kind(), nullable=False),
        sa.Column("in_stock", sa.Boolean(), nullable=False),
        sa.Column("listings", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("group_id", "village", "kind", "in_stock", name=op.f("pk_catalog_counts")),
    )
    op.create_table(
        "catalog_words",
        sa.Column("word", SEARCH_TEXT, nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("listings", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("word", name=op.f("pk_catalog_words")),
    )
    op.create_index(op.f("ix_catalog_words_length"), "catalog_words", ["length"], unique=False)
    op.create_table(
        "catalog_listings",
        sa.Column("product_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("village", sa.String(length=120), nullable=False),
        sa.Column("kind", _kind(), nullable=False),
        sa.Column("search_text", SEARCH_TEXT, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("min_price", sa.BigInteger(), nullable=False),
        sa.Column("in_stock", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], name=op.f("fk_catalog_listings_group_id_groups")),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_catalog_listings_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_catalog_listings")),
    )
    for name, columns in (
        ("ix_catalog_listings_group_id", ["group_id"]),
        ("ix_catalog_listings_village", ["village"]),
        ("ix_catalog_listings_newest", ["created_at", "product_id"]),
        ("ix_catalog_listings_price", ["min_price", "product_id"]),
        ("ix_catalog_listings_price_desc", [sa.column("min_price").desc(), "product_id"]),
        ("ix_catalog_listings_name", ["search_text", "product_id"]),
        ("ix_catalog_listings_kind_newest", ["kind", "in_stock", "created_at", "product_id"]),
        ("ix_catalog_listings_kind_price", ["kind", "in_stock", "min_price", "product_id"]),
        ("ix_catalog_listings_kind_price_desc", ["kind", "in_stock", sa.column("min_price").desc(), "product_id"]),
        ("ix_catalog_listings_kind_name", ["kind", "in_stock", "search_text", "product_id"]),
    ):
        op.create_index(name, "catalog_listings", columns, unique=False)
    if dialect == "postgresql":
        op.create_index(
            "ix_catalog_listings_search_trgm",
            "catalog_listings",
            ["search_text"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
            postgresql_with={"fastupdate": "off"},
        )
    for statement in listing_statements(dialect) + rebuild_statements():
        bind.exec_driver_sql(statement)


def downgrade():
    bind = op.get_bind()
    for statement in drop_listing_statements(bind.dialect.name):
        bind.exec_driver_sql(statement)
    op.drop_table("catalog_listings")
    op.drop_index(op.f("ix_catalog_words_length"), table_name="catalog_words")
    op.drop_table("catalog_words")
    op.drop_table("catalog_counts")
