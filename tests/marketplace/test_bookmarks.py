"""A page deep in a listing, started at a bookmark (marketplace.bookmarks), is the page OFFSET gives: on random
catalogs with ties in every sort key, for every filter, sort, page size and page, before and after changes."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace import bookmarks, catalog
from tests.marketplace.test_search_index import (
    KINDS,
    change_catalog,
    changes,
    expected_ids,
    groups,
    product,
    scanned,
    wipe_catalog,
    write_catalog,
)

# Every variant with its stock row, as the site makes them (the listing's own tests also try variants without).
products = product.map(lambda spec: {**spec, "variants": [(p, a, o or 0, r) for p, a, o, r in spec["variants"]]})
listings = st.fixed_dictionaries(
    {
        "kind": st.sampled_from([None, *KINDS]),
        "in_stock": st.booleans(),
        "village": st.sampled_from([None, "sumberejo"]),
        "sort": st.sampled_from(sorted(catalog.ORDERS)),
    }
)


def assert_pages_agree(listing_filters, per_page: int) -> None:
    listed = scanned()
    for args in listing_filters:
        args = catalog.catalog_filters(**args)
        expected = expected_ids(listed, args)
        for page in range(1, len(expected) // per_page + 2):
            built = catalog._build(args, page, per_page, lambda count: count())
            shown = [item["id"] for item in built["items"]]
            assert shown == expected[(page - 1) * per_page : page * per_page], (args, page)
            assert built["total"] == len(expected)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    group_specs=groups,
    product_specs=st.lists(products, min_size=5, max_size=24),
    change_list=changes,
    listing_filters=st.lists(listings, min_size=1, max_size=4),
    step=st.integers(1, 4),
    per_page=st.integers(1, 5),
)
def test_a_page_from_a_bookmark_is_the_page_offset_gives(
    app, db, monkeypatch, group_specs, product_specs, change_list, listing_filters, step, per_page
):
    monkeypatch.setattr(bookmarks, "STEP", step)
    monkeypatch.setattr(bookmarks, "FROM", 0)
    catalog.clear_cache()
    with app.test_request_context("/"):
        try:
            write_catalog(group_specs, product_specs)
            db.session.commit()
            assert_pages_agree(listing_filters, per_page)
            change_catalog(change_list)  # the catalog's version moves on: the bookmarks are read again
            db.session.commit()
            assert_pages_agree(listing_filters, per_page)
        finally:
            db.session.rollback()
            wipe_catalog()


def test_a_shallow_page_reads_no_bookmarks(app, db, monkeypatch):
    read = []
    monkeypatch.setattr(bookmarks, "_bookmarks", lambda *args: read.append(args) or ())
    with app.test_request_context("/"):
        assert bookmarks.seek(lambda: None, [], catalog.ORDERS["name"], bookmarks.FROM - 1, ("key",)) == (
            [],
            bookmarks.FROM - 1,
        )
        assert bookmarks.seek(lambda: None, [], catalog.ORDERS["name"], 5000, None) == ([], 5000)
    assert not read
