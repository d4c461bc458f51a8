"""The catalog's listing: one row per product the catalog lists, kept by the database itself.

A product is listed while it is active, has an active variant and its group is verified.
Its row holds what the catalog filters, sorts and searches by: the folded name
(`products.search_name`), the lowest active price, whether an active variant has something
available, the group, its village (lower case), the kind and when the product was made.

Triggers on products, variants, stock and groups keep the rows in the same transaction as
every write, whether it comes through the ORM, a guarded UPDATE or a bulk INSERT; a stock
counter changes the row only when the variant's stock crosses zero. The same writes move
the catalog's version (catalog_versions) on: any change of what a catalog card shows (a name,
a price, a variant, a group's name or verification, stock crossing zero), never a quantity
that stays above zero. Rows beside the listing, kept by triggers on it:

- catalog_counts: how many rows each (group, village, kind, in stock) has, so a listing
  without a search counts its total from a few rows rather than from every product;
- catalog_words: the words (letters only, three or more) of listed names and in how many
  names each is, the vocabulary that spelling mistakes are matched against
  (marketplace.search);
- SQLite: catalog_search, an FTS5 table with the trigram tokenizer over the folded names;
  PostgreSQL: a pg_trgm GIN index on the listing's folded name.

On PostgreSQL the version, the counts and the words are written by deferred triggers when
the transaction commits: the version's one row is then locked last, after every other lock a
transaction takes, so concurrent checkouts cannot deadlock on it, and the commits that change
the catalog write the counts and words one after the other. On SQLite (one writer) they are
written at once. `rebuild()` fills the listing again from the tables, set-based; `bulk_load()`
lifts the row triggers while many products are written at once, and rebuilds at its end.
"""

from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, column, event, text
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.types import StrEnumType, UtcDateTime
from core.validation import NAME_MAX_LENGTH
from inventory.models import ProductKind

SEARCH_TEXT_LENGTH = NAME_MAX_LENGTH * 2  # as products.search_name
# Compared byte for byte on both databases: the name order and the search are the same on each.
SearchText = String(SEARCH_TEXT_LENGTH).with_variant(String(SEARCH_TEXT_LENGTH, collation="C"), "postgresql")


class CatalogListing(db.Model):
    """A product the catalog lists, with what the catalog filters, sorts and searches by (kept by triggers)."""

    __tablename__ = "catalog_listings"
    __table_args__ = (
        Index("ix_catalog_listings_newest", "created_at", "product_id"),
        Index("ix_catalog_listings_price", "min_price", "product_id"),
        Index("ix_catalog_listings_price_desc", column("min_price").desc(), "product_id"),
        Index("ix_catalog_listings_name", "search_text", "product_id"),
        Index("ix_catalog_listings_kind_newest", "kind", "in_stock", "created_at", "product_id"),
        Index("ix_catalog_listings_kind_price", "kind", "in_stock", "min_price", "product_id"),
        Index("ix_catalog_listings_kind_price_desc", "kind", "in_stock", column("min_price").desc(), "product_id"),
        Index("ix_catalog_listings_kind_name", "kind", "in_stock", "search_text", "product_id"),
        Index(
            "ix_catalog_listings_search_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
            postgresql_with={"fastupdate": "off"},  # no pending list that every search reads through
            info={"dialect": "postgresql"},  # only there (migrations/env.py compares it there only)
        ).ddl_if(dialect="postgresql"),
    )

    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    village: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), index=True)  # lower case
    kind: Mapped[ProductKind] = mapped_column(StrEnumType(ProductKind, "product_kind"))
    search_text: Mapped[str] = mapped_column(SearchText)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    min_price: Mapped[int] = mapped_column(BigInteger)
    in_stock: Mapped[bool] = mapped_column(Boolean)


class CatalogCount(db.Model):
    """How many listing rows one group has of one kind, in stock or not (kept by triggers)."""

    __tablename__ = "catalog_counts"

    group_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    village: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), primary_key=True)
    kind: Mapped[ProductKind] = mapped_column(StrEnumType(ProductKind, "product_kind"), primary_key=True)
    in_stock: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    listings: Mapped[int] = mapped_column(Integer)


class CatalogWord(db.Model):
    """A word of listed names (letters, three or more) and in how many listed names it is (kept by triggers)."""

    __tablename__ = "catalog_words"

    word: Mapped[str] = mapped_column(SearchText, primary_key=True)
    length: Mapped[int] = mapped_column(Integer, index=True)
    listings: Mapped[int] = mapped_column(Integer)


# --- the statements -------------------------------------------------------------------------------------------

_LISTED = (
    "p.status = 'active' AND g.verified AND EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id AND v.active)"
)
_COLUMNS = "product_id, group_id, village, kind, search_text, created_at, min_price, in_stock"


_MIN_PRICE = "(SELECT min(v.unit_price) FROM variants v WHERE v.product_id = catalog_listings.product_id AND v.active)"
_IN_STOCK = (
    "EXISTS (SELECT 1 FROM variants v JOIN stock s ON s.variant_id = v.id "
    "WHERE v.product_id = catalog_listings.product_id AND v.active AND s.on_hand > s.reserved)"
)
_OF_PRODUCT = "group_id, village, kind, search_text, created_at"
_PRODUCT_ROW = (
    "(SELECT p.group_id, lower(g.village), p.kind, p.search_name, p.created_at FROM products p "
    "JOIN groups g ON g.id = p.group_id WHERE p.id = catalog_listings.product_id)"
)


def refresh_sql(ids: str, parts=("price", "stock", "product")) -> list[str]:
    """The statements that make the listing rows of the products `ids` (an SQL list or query of ids) true again.

    Rows of products no longer listed go, newly listed ones come, and of the others only the
    `parts` named are compared and written where they differ (so an UPDATE touches only the
    indexes of what moved): the lowest price, the in-stock flag, what the product and group give.
    """
    statements = [
        f"DELETE FROM catalog_listings WHERE product_id IN ({ids}) AND NOT EXISTS (SELECT 1 FROM products p "
        f"JOIN groups g ON g.id = p.group_id WHERE p.id = catalog_listings.product_id AND {_LISTED})",
        f"INSERT INTO catalog_listings ({_COLUMNS}) "
        "SELECT p.id, p.group_id, lower(g.village), p.kind, p.search_name, p.created_at, "
        "(SELECT min(v.unit_price) FROM variants v WHERE v.product_id = p.id AND v.active), "
        "EXISTS (SELECT 1 FROM variants v JOIN stock s ON s.variant_id = v.id "
        "WHERE v.product_id = p.id AND v.active AND s.on_hand > s.reserved) "
        f"FROM products p JOIN groups g ON g.id = p.group_id WHERE p.id IN ({ids}) AND {_LISTED} "
        "ON CONFLICT (product_id) DO NOTHING",
    ]
    updates = {
        "price": f"UPDATE catalog_listings SET min_price = {_MIN_PRICE} WHERE product_id IN ({ids}) "
        f"AND min_price <> {_MIN_PRICE}",
        "stock": f"UPDATE catalog_listings SET in_stock = {_IN_STOCK} WHERE product_id IN ({ids}) "
        f"AND in_stock <> {_IN_STOCK}",
        "product": f"UPDATE catalog_listings SET ({_OF_PRODUCT}) = {_PRODUCT_ROW} WHERE product_id IN ({ids}) "
        f"AND ({_OF_PRODUCT}) <> {_PRODUCT_ROW}",
    }
    return statements + [updates[part] for part in parts]


_BUMP = "UPDATE catalog_versions SET version = version + 1 WHERE id = 1"
_VARIANT_SHOWN = ("label", "unit_price", "active", "product_id")
_GROUP_SHOWN = ("name", "district", "verified", "village")
_GROUP_LISTS = ("verified", "village")
_CROSSES_ZERO = "(OLD.on_hand > OLD.reserved) <> (NEW.on_hand > NEW.reserved)"
_PRODUCT_OF_STOCK = "(SELECT product_id FROM variants WHERE id = {row}.variant_id)"


def _changed(columns, same: str) -> str:
    return " OR ".join(f"OLD.{c} {same} NEW.{c}" for c in columns)


# SQLite: words of a text, as json_each reads them from the text made a JSON array (a text JSON cannot hold,
# one with control characters, gives none). PostgreSQL: the same split, on single spaces.
def _sqlite_words(value: str) -> str:
    array = f"""'["' || replace(replace(replace({value}, '\\', '\\\\'), '"', '\\"'), ' ', '","') || '"]'"""
    return (
        f"SELECT DISTINCT value AS word FROM json_each(CASE WHEN json_valid({array}) THEN {array} ELSE '[]' END) "
        "WHERE length(value) >= 3 AND value NOT GLOB '*[0-9]*'"
    )


def _postgresql_words(value: str) -> str:
    return (
        f"SELECT DISTINCT w AS word FROM unnest(string_to_array({value}, ' ')) AS w "
        f"WHERE length(w) >= 3 AND w !~ '[0-9]' AND {value} !~ '[\\x01-\\x1f]'"
    )


def _words_added(words: str) -> str:
    return (
        f"INSERT INTO catalog_words (word, length, listings) SELECT word, length(word), 1 FROM ({words}) AS found "
        "WHERE true ON CONFLICT (word) DO UPDATE SET listings = catalog_words.listings + 1"
    )


def _words_removed(words: str) -> list[str]:
    return [
        f"UPDATE catalog_words SET listings = listings - 1 WHERE word IN (SELECT word FROM ({words}) AS found)",
        f"DELETE FROM catalog_words WHERE listings <= 0 AND word IN (SELECT word FROM ({words}) AS found)",
    ]


def _counted(row: str, step: str) -> list[str]:
    key = f"group_id = {row}.group_id AND village = {row}.village AND kind = {row}.kind AND in_stock = {row}.in_stock"
    if step == "+":
        return [
            "INSERT INTO catalog_counts (group_id, village, kind, in_stock, listings) "
            f"VALUES ({row}.group_id, {row}.village, {row}.kind, {row}.in_stock, 1) "
            "ON CONFLICT (group_id, village, kind, in_stock) DO UPDATE SET listings = catalog_counts.listings + 1"
        ]
    return [
        f"UPDATE catalog_counts SET listings = listings - 1 WHERE {key}",
        f"DELETE FROM catalog_counts WHERE {key} AND listings <= 0",
    ]


def _sqlite_trigger(name: str, when: str, table: str, body: list[str], condition: str | None = None) -> str:
    condition = f" WHEN {condition}" if condition else ""
    return f"CREATE TRIGGER IF NOT EXISTS {name} {when} ON {table}{condition} BEGIN {'; '.join(body)}; END"


def _sqlite_statements() -> list[str]:
    def refresh(product: str) -> list[str]:
        return refresh_sql(product, ("price", "stock"))

    def in_stock(product: str) -> list[str]:
        return refresh_sql(product, ("stock",))[2:]  # stock never lists a product or takes it off

    stock_product = {row: _PRODUCT_OF_STOCK.format(row=row) for row in ("NEW", "OLD")}
    trigger = _sqlite_trigger
    return [
        "CREATE VIRTUAL TABLE IF NOT EXISTS catalog_search USING fts5(search_text, content='catalog_listings', "
        "content_rowid='product_id', tokenize='trigram case_sensitive 1')",
        trigger("catalog_product_changed", "AFTER UPDATE", "products", [*refresh_sql("NEW.id", ("product",)), _BUMP]),
        trigger("catalog_variant_added", "AFTER INSERT", "variants", [*refresh("NEW.product_id"), _BUMP]),
        trigger(
            "catalog_variant_changed",
            "AFTER UPDATE",
            "variants",
            [*refresh("OLD.product_id"), *refresh("NEW.product_id"), _BUMP],
            _changed(_VARIANT_SHOWN, "IS NOT"),
        ),
        trigger("catalog_variant_removed", "AFTER DELETE", "variants", [*refresh("OLD.product_id"), _BUMP]),
        trigger("catalog_stock_added", "AFTER INSERT", "stock", [*refresh(stock_product["NEW"]), _BUMP]),
        trigger(
            "catalog_stock_changed", "AFTER UPDATE", "stock", [*refresh(stock_product["NEW"]), _BUMP], _CROSSES_ZERO
        ),
        trigger("catalog_stock_removed", "AFTER DELETE", "stock", [*refresh(stock_product["OLD"]), _BUMP]),
        trigger(
            "catalog_group_changed",
            "AFTER UPDATE",
            "groups",
            [*refresh_sql("SELECT id FROM products WHERE group_id = NEW.id", ("product",)), _BUMP],
            _changed(_GROUP_SHOWN, "IS NOT"),
        ),
        trigger(
            "catalog_listing_added",
            "AFTER INSERT",
            "catalog_listings",
            [
                "INSERT INTO catalog_search (rowid, search_text) VALUES (NEW.product_id, NEW.search_text)",
                *_counted("NEW", "+"),
                _words_added(_sqlite_words("NEW.search_text")),
            ],
        ),
        trigger(
            "catalog_listing_removed",
            "AFTER DELETE",
            "catalog_listings",
            [
                "INSERT INTO catalog_search (catalog_search, rowid, search_text) "
                "VALUES ('delete', OLD.product_id, OLD.search_text)",
                *_counted("OLD", "-"),
                *_words_removed(_sqlite_words("OLD.search_text")),
            ],
        ),
        trigger(
            "catalog_listing_renamed",
            "AFTER UPDATE OF search_text",
            "catalog_listings",
            [
                "INSERT INTO catalog_search (catalog_search, rowid, search_text) "
                "VALUES ('delete', OLD.product_id, OLD.search_text)",
                "INSERT INTO catalog_search (rowid, search_text) VALUES (NEW.product_id, NEW.search_text)",
                *_words_removed(_sqlite_words("OLD.search_text")),
                _words_added(_sqlite_words("NEW.search_text")),
            ],
            "OLD.search_text <> NEW.search_text",
        ),
        trigger(
            "catalog_listing_moved",
            "AFTER UPDATE",
            "catalog_listings",
            [*_counted("OLD", "-"), *_counted("NEW", "+")],
            _changed(("group_id", "village", "kind", "in_stock"), "<>"),
        ),
    ]


# PostgreSQL: a function per trigger, a row at a time (psycopg's executemany sends a statement a row: a
# statement trigger would refresh through a join with its transition table for each), behind a WHEN on updates
# that lets every other update pass for free.
_PG_REFRESH = {
    # name: (table, event, level, body statements)
    "catalog_variant_added": ("variants", "INSERT", "FOR EACH ROW", refresh_sql("NEW.product_id", ("price", "stock"))),
    "catalog_variant_removed": (
        "variants",
        "DELETE",
        "FOR EACH ROW",
        refresh_sql("OLD.product_id", ("price", "stock")),
    ),
    "catalog_variant_changed": (
        "variants",
        "UPDATE",
        f"FOR EACH ROW WHEN ({_changed(_VARIANT_SHOWN, 'IS DISTINCT FROM')})",
        refresh_sql("OLD.product_id, NEW.product_id", ("price", "stock")),
    ),
    "catalog_stock_added": (
        "stock",
        "INSERT",
        "FOR EACH ROW",
        refresh_sql(_PRODUCT_OF_STOCK.format(row="NEW"), ("stock",))[2:],
    ),
    "catalog_stock_removed": (
        "stock",
        "DELETE",
        "FOR EACH ROW",
        refresh_sql(_PRODUCT_OF_STOCK.format(row="OLD"), ("stock",))[2:],
    ),
    "catalog_stock_changed": (
        "stock",
        "UPDATE",
        f"FOR EACH ROW WHEN ({_CROSSES_ZERO})",
        refresh_sql(_PRODUCT_OF_STOCK.format(row="NEW"), ("stock",))[2:],
    ),
    "catalog_product_changed": (
        "products",
        "UPDATE",
        "FOR EACH ROW",
        refresh_sql("NEW.id", ("product",)),
    ),
    "catalog_group_changed": (
        "groups",
        "UPDATE",
        f"FOR EACH ROW WHEN ({_changed(_GROUP_LISTS, 'IS DISTINCT FROM')})",
        refresh_sql("SELECT id FROM products WHERE group_id = NEW.id", ("product",)),
    ),
}
# Deferred to the commit: (table, event, condition).
_PG_BUMPS = {
    "catalog_product_shown": ("products", "UPDATE", None),
    "catalog_variant_added_shown": ("variants", "INSERT", None),
    "catalog_variant_removed_shown": ("variants", "DELETE", None),
    "catalog_variant_shown": ("variants", "UPDATE", _changed(_VARIANT_SHOWN, "IS DISTINCT FROM")),
    "catalog_stock_added_shown": ("stock", "INSERT", None),
    "catalog_stock_removed_shown": ("stock", "DELETE", None),
    "catalog_stock_shown": ("stock", "UPDATE", _CROSSES_ZERO),
    "catalog_group_shown": ("groups", "UPDATE", _changed(_GROUP_SHOWN, "IS DISTINCT FROM")),
}


def _plpgsql(name: str, body: list[str]) -> str:
    statements = "".join(f"{statement}; " for statement in body)
    return f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$ BEGIN {statements}RETURN NULL; END $$ LANGUAGE plpgsql"


def _postgresql_statements() -> list[str]:
    moved = _changed(("group_id", "village", "kind", "in_stock"), "IS DISTINCT FROM")
    listing_changed = (
        "CREATE OR REPLACE FUNCTION catalog_listing_changed() RETURNS trigger AS $$ BEGIN "
        "PERFORM catalog_bump(); "
        "IF TG_OP = 'INSERT' THEN "
        f"{'; '.join(_counted('NEW', '+'))}; {_words_added(_postgresql_words('NEW.search_text'))}; "
        "ELSIF TG_OP = 'DELETE' THEN "
        f"{'; '.join(_counted('OLD', '-'))}; {'; '.join(_words_removed(_postgresql_words('OLD.search_text')))}; "
        "ELSE "
        f"IF {moved} THEN {'; '.join(_counted('OLD', '-') + _counted('NEW', '+'))}; END IF; "
        "IF OLD.search_text <> NEW.search_text THEN "
        f"{'; '.join(_words_removed(_postgresql_words('OLD.search_text')))}; "
        f"{_words_added(_postgresql_words('NEW.search_text'))}; END IF; "
        "END IF; RETURN NULL; END $$ LANGUAGE plpgsql"
    )
    statements = [
        # Once a transaction: the version's row is written once however many rows change.
        "CREATE OR REPLACE FUNCTION catalog_bump() RETURNS void AS $$ BEGIN "
        "IF current_setting('catalog.bumped_in', true) IS DISTINCT FROM txid_current()::text THEN "
        f"{_BUMP}; PERFORM set_config('catalog.bumped_in', txid_current()::text, true); "
        "END IF; END $$ LANGUAGE plpgsql",
        "CREATE OR REPLACE FUNCTION catalog_shown() RETURNS trigger AS $$ BEGIN "
        "PERFORM catalog_bump(); RETURN NULL; END $$ LANGUAGE plpgsql",
        listing_changed,
    ]
    for name, (table, event_name, level, body) in _PG_REFRESH.items():
        statements += [
            _plpgsql(name, body),
            f"DROP TRIGGER IF EXISTS {name} ON {table}",
            f"CREATE TRIGGER {name} AFTER {event_name} ON {table} {level} EXECUTE FUNCTION {name}()",
        ]
    for name, (table, event_name, condition) in _PG_BUMPS.items():
        when = f" WHEN ({condition})" if condition else ""
        statements += [
            f"DROP TRIGGER IF EXISTS {name} ON {table}",
            f"CREATE CONSTRAINT TRIGGER {name} AFTER {event_name} ON {table} DEFERRABLE INITIALLY DEFERRED "
            f"FOR EACH ROW{when} EXECUTE FUNCTION catalog_shown()",
        ]
    statements += [
        "DROP TRIGGER IF EXISTS catalog_listing_changed ON catalog_listings",
        "CREATE CONSTRAINT TRIGGER catalog_listing_changed AFTER INSERT OR UPDATE OR DELETE ON catalog_listings "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION catalog_listing_changed()",
    ]
    return statements


def listing_statements(dialect: str) -> list[str]:
    """The DDL that keeps the listing on `dialect` (sqlite or postgresql): triggers, and SQLite's FTS5 table."""
    return _postgresql_statements() if dialect == "postgresql" else _sqlite_statements()


def drop_listing_statements(dialect: str) -> list[str]:
    """The DDL that removes what listing_statements made (the tables themselves are dropped apart)."""
    if dialect == "postgresql":
        triggers = [(name, table) for name, (table, *_rest) in {**_PG_REFRESH, **_PG_BUMPS}.items()]
        return [
            *(f"DROP TRIGGER IF EXISTS {name} ON {table}" for name, table in triggers),
            *(f"DROP FUNCTION IF EXISTS {name}()" for name in _PG_REFRESH),
            "DROP FUNCTION IF EXISTS catalog_listing_changed() CASCADE",
            "DROP FUNCTION IF EXISTS catalog_shown()",
            "DROP FUNCTION IF EXISTS catalog_bump()",
        ]
    names = [statement.split()[5] for statement in _sqlite_statements()[1:]]
    return [*(f"DROP TRIGGER IF EXISTS {name}" for name in names), "DROP TABLE IF EXISTS catalog_search"]


def rebuild_statements() -> list[str]:
    """Set-based: every listing row written again from the tables, rows of products no longer listed removed."""
    return refresh_sql("SELECT id FROM products")


@contextmanager
def bulk_load():
    """For writing many products at once (bench/, an import): inside the block the triggers on products, variants,
    stock and groups are lifted, and at its end the listing is rebuilt set-based, the version moved on and the
    triggers restored, all in the caller's transaction: commit after the block, never inside it. (On PostgreSQL
    this locks those tables until the commit, as any ALTER TABLE does.)
    """
    connection = db.session.connection()
    recount = []
    if connection.dialect.name == "postgresql":
        lifted = [(name, spec[0]) for name, spec in {**_PG_REFRESH, **_PG_BUMPS}.items()]
        lifted.append(("catalog_listing_changed", "catalog_listings"))
        lift = [f"ALTER TABLE {table} DISABLE TRIGGER {name}" for name, table in lifted]
        restore = [f"ALTER TABLE {table} ENABLE TRIGGER {name}" for name, table in lifted]
        recount = _POSTGRESQL_RECOUNT
    else:
        restore = [
            s for s in _sqlite_statements() if s.startswith("CREATE TRIGGER") and " ON catalog_listings" not in s
        ]
        lift = [f"DROP TRIGGER IF EXISTS {statement.split()[5]}" for statement in restore]
    for statement in lift:
        connection.exec_driver_sql(statement)
    yield
    for statement in [*rebuild_statements(), *recount, _BUMP, *restore]:
        connection.exec_driver_sql(statement)


# The counts and the words made again from the listing, set-based (bulk_load on PostgreSQL, where they are
# otherwise written a row at a time at commit).
_POSTGRESQL_RECOUNT = [
    "DELETE FROM catalog_counts",
    "INSERT INTO catalog_counts (group_id, village, kind, in_stock, listings) "
    "SELECT group_id, village, kind, in_stock, count(*) FROM catalog_listings GROUP BY group_id, village, kind, in_stock",
    "DELETE FROM catalog_words",
    "INSERT INTO catalog_words (word, length, listings) SELECT word, length(word), count(*) FROM "
    "(SELECT DISTINCT l.product_id, w AS word FROM catalog_listings l, unnest(string_to_array(l.search_text, ' ')) AS w "
    "WHERE length(w) >= 3 AND w !~ '[0-9]' AND l.search_text !~ '[\\x01-\\x1f]') AS found GROUP BY word",
]


def rebuild() -> None:
    """Fill the listing again from the tables (after writes that bypassed the triggers), in the current transaction,
    and move the catalog's version on."""
    for statement in [*rebuild_statements(), _BUMP]:
        db.session.execute(text(statement))


@event.listens_for(db.metadata, "after_create")
def _create_listing_triggers(_metadata, connection, **_kw) -> None:
    # After every table: the triggers name several. Tests build the schema with create_all, the site with migrations.
    if connection.dialect.name not in ("sqlite", "postgresql"):
        return
    for statement in listing_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)
    for statement in rebuild_statements():
        connection.exec_driver_sql(statement)


@event.listens_for(CatalogListing.__table__, "before_create")
def _create_trigram_extension(_table, connection, **_kw) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
