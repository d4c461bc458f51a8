"""The catalog's listing, counts, words and search index agree with a plain scan of the tables, on either database.

Random catalogs are written through the ORM and by plain SQL, changed the ways the site changes them, and
every search, filter and sort order is compared with what a scan of the products in Python finds.
"""

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text, update

from core.extensions import db
from core.text import fold
from groups.models import Group
from inventory.models import Product, ProductStatus, Stock, Variant
from marketplace import catalog, search
from marketplace.catalog import CATALOG_SORTS
from marketplace.listing import CatalogCount, CatalogListing, CatalogWord, bulk_load, rebuild

WORDS = ["cabai", "cabe", "rawit", "tomat", "tomato", "tomta", "blimbing", "belimbing", "bawang", "merah"]
WORDS += ["brambang", "kaos", "kaus", "ab", "é", "100%", "x_y", "kangkung", "kangkug", "telor"]
VILLAGES = ["Sumberejo", "SUMBEREJO", "Bacem"]
KINDS = ["produce", "garment", "processed"]
START = datetime(2026, 11, 1, tzinfo=UTC)

names = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join).map(str.title)
variant = st.tuples(
    st.sampled_from([1000, 2500, 4000]), st.booleans(), st.sampled_from([None, 0, 1, 3]), st.sampled_from([0, 1])
)
product = st.fixed_dictionaries(
    {
        "group": st.integers(0, 2),
        "name": names,
        "kind": st.sampled_from(KINDS),
        "hidden": st.sampled_from([False, False, True]),
        "minutes": st.integers(0, 5),
        "variants": st.lists(variant, max_size=3),
    }
)
groups = st.lists(st.tuples(st.booleans(), st.sampled_from(VILLAGES)), min_size=3, max_size=3)
changes = st.lists(
    st.tuples(
        st.sampled_from(["price", "deactivate", "sell_out", "restock", "hide", "rename", "unverify"]),
        st.integers(0, 20),
    ),
    max_size=6,
)
queries = st.one_of(
    st.none(),
    st.lists(st.sampled_from(WORDS + ["bawang merah", "zzzz", "a", "rawi"]), min_size=1, max_size=2).map(" ".join),
)
filters = st.fixed_dictionaries(
    {
        "q": queries,
        "kind": st.sampled_from([None, *KINDS]),
        "in_stock": st.booleans(),
        "village": st.sampled_from([None, "sumberejo", "Bacem"]),
        "sort": st.sampled_from(CATALOG_SORTS),
    }
)


def write_catalog(group_specs, product_specs) -> list[int]:
    """The catalog written in one transaction (ORM rows, stock by plain INSERT); the group ids."""
    group_ids = []
    for i, (verified, village) in enumerate(group_specs):
        group = Group(
            name=f"Kelompok {'ABC'[i]}", kind="farmer", village=village, district="Ponggok", verified=verified
        )
        db.session.add(group)
        db.session.flush()
        group_ids.append(group.id)
    for spec in product_specs:
        status = ProductStatus.hidden if spec["hidden"] else ProductStatus.active
        made = Product(
            group_id=group_ids[spec["group"]],
            name=spec["name"],
            kind=spec["kind"],
            unit="kg",
            status=status,
            created_at=START + timedelta(minutes=spec["minutes"]),
        )
        db.session.add(made)
        db.session.flush()
        for j, (price, active, on_hand, reserved) in enumerate(spec["variants"]):
            row = Variant(product_id=made.id, group_id=made.group_id, label=f"V{j}", unit_price=price, active=active)
            db.session.add(row)
            db.session.flush()
            if on_hand is not None:
                db.session.execute(
                    text("INSERT INTO stock (variant_id, on_hand, reserved) VALUES (:v, :o, :r)"),
                    {"v": row.id, "o": on_hand * 1000, "r": min(reserved, on_hand) * 1000},
                )
    return group_ids


def change_catalog(change_list) -> None:
    """Writes the site makes: prices, variants switched off, stock by guarded SQL, hiding, renaming, verification."""
    variants = db.session.scalars(select(Variant).order_by(Variant.id)).all()
    products = db.session.scalars(select(Product).order_by(Product.id)).all()
    groups_ = db.session.scalars(select(Group).order_by(Group.id)).all()
    for kind, n in change_list:
        if kind in ("price", "deactivate", "sell_out", "restock") and variants:
            row = variants[n % len(variants)]
            if kind == "price":
                row.unit_price = 500 + 100 * n
            elif kind == "deactivate":
                row.active = not row.active
            else:
                on_hand = 0 if kind == "sell_out" else 7000
                db.session.execute(update(Stock).where(Stock.variant_id == row.id).values(on_hand=on_hand, reserved=0))
        elif kind in ("hide", "rename") and products:
            row = products[n % len(products)]
            if kind == "hide":
                row.status = ProductStatus.hidden if row.status == ProductStatus.active else ProductStatus.active
            else:
                row.name = f"{WORDS[n % len(WORDS)].upper()} {row.name}"
        elif kind == "unverify":
            row = groups_[n % len(groups_)]
            row.verified = not row.verified
        db.session.flush()


def scanned() -> dict[int, dict]:
    """The listing as a scan of the tables in Python finds it."""
    found = {}
    for made in db.session.scalars(select(Product)):
        group = db.session.get(Group, made.group_id)
        active = [v for v in made.variants if v.active]
        if made.status != ProductStatus.active or not group.verified or not active:
            continue
        found[made.id] = {
            "group_id": made.group_id,
            "village": group.village.lower(),
            "kind": made.kind.value,
            "search_text": fold(made.name),
            "created_at": made.created_at,
            "min_price": min(v.unit_price for v in active),
            "in_stock": any(v.stock is not None and v.stock.on_hand > v.stock.reserved for v in active),
        }
    return found


def vocabulary(listed: dict) -> dict[str, int]:
    words: dict[str, int] = {}
    for row in listed.values():
        for word in set(row["search_text"].split()):
            if len(word) >= 3 and not any("0" <= c <= "9" for c in word):
                words[word] = words.get(word, 0) + 1
    return words


def expected_ids(listed: dict, args: dict) -> list[int]:
    words = vocabulary(listed)
    terms = search.terms_of(args["q"], near=lambda word: search.near_words(word, words)) if args["q"] else []
    rows = []
    for product_id, row in listed.items():
        if args["kind"] and row["kind"] != args["kind"]:
            continue
        if args["in_stock"] and not row["in_stock"]:
            continue
        if args["village"] and row["village"] != args["village"].lower():
            continue
        ranks = [term.rank(row["search_text"]) for term in terms]
        if None in ranks:
            continue
        rows.append((product_id, row, sum(ranks)))
    by_name = lambda r: (r[1]["search_text"], r[0])  # noqa: E731
    keys = {
        "newest": lambda r: (-r[1]["created_at"].timestamp(), -r[0]),
        "price_asc": lambda r: (r[1]["min_price"], r[0]),
        "price_desc": lambda r: (-r[1]["min_price"], r[0]),
        "name": by_name,
        "relevance": lambda r: (r[2], *by_name(r)),
    }
    return [r[0] for r in sorted(rows, key=keys[args["sort"]])]


def assert_index_agrees(listing_filters) -> None:
    listed = scanned()
    kept = {
        row.product_id: {
            "group_id": row.group_id,
            "village": row.village,
            "kind": row.kind.value,
            "search_text": row.search_text,
            "created_at": row.created_at,
            "min_price": row.min_price,
            "in_stock": bool(row.in_stock),
        }
        for row in db.session.scalars(select(CatalogListing))
    }
    assert kept == listed
    counts: dict[tuple, int] = {}
    for row in listed.values():
        key = (row["group_id"], row["village"], row["kind"], row["in_stock"])
        counts[key] = counts.get(key, 0) + 1
    assert {
        (c.group_id, c.village, c.kind.value, bool(c.in_stock)): c.listings
        for c in db.session.scalars(select(CatalogCount))
    } == counts
    assert {w.word: w.listings for w in db.session.scalars(select(CatalogWord))} == vocabulary(listed)
    for args in listing_filters:
        args = catalog.catalog_filters(**args)
        found = list(db.session.scalars(catalog.catalog_query(**args)))
        assert found == expected_ids(listed, args), args
        assert catalog._total(args, catalog.catalog_query(**args)) == len(found)


def wipe_catalog() -> None:
    for model in (Stock, Variant, Product, Group):
        db.session.execute(model.__table__.delete())
    db.session.commit()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    group_specs=groups,
    product_specs=st.lists(product, max_size=8),
    change_list=changes,
    listing_filters=st.lists(filters, min_size=1, max_size=6),
    bulk=st.booleans(),
)
def test_the_index_finds_what_a_scan_finds(app, db, group_specs, product_specs, change_list, listing_filters, bulk):
    with app.test_request_context("/", method="POST"):
        try:
            if bulk:
                with bulk_load():
                    write_catalog(group_specs, product_specs)
            else:
                write_catalog(group_specs, product_specs)
            db.session.commit()
            assert_index_agrees(listing_filters)
            change_catalog(change_list)
            db.session.commit()
            assert_index_agrees(listing_filters)
            rebuild()  # set-based, over rows the triggers kept: nothing to change
            db.session.commit()
            assert_index_agrees(listing_filters[:1])
        finally:
            db.session.rollback()
            wipe_catalog()
