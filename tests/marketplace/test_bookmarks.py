"""A page deep in a listing, started at a bookmark (marketplace.bookmarks), is the page OFFSET gives: on random
catalogs with ties in every sort key, for every filter, sort, page size, bookmark step and page, before and after
the catalog changes."""

import random

import pytest

from marketplace import bookmarks, catalog
from tests.marketplace.test_search_index import KINDS, VILLAGES, WORDS, change_catalog, write_catalog


def random_catalog(rng: random.Random):
    """Three groups and 40 products whose prices, times and names often tie, every variant with its stock."""
    group_specs = [(rng.random() < 0.8, rng.choice(VILLAGES)) for _ in range(3)]
    product_specs = [
        {
            "group": rng.randrange(3),
            "name": " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 2))).title(),
            "kind": rng.choice(KINDS),
            "hidden": rng.random() < 0.1,
            "minutes": rng.randrange(4),
            "variants": [
                (rng.choice([1000, 2500, 4000]), rng.random() < 0.9, rng.choice([0, 1, 3]), 0)
                for _ in range(rng.randint(1, 3))
            ],
        }
        for _ in range(40)
    ]
    return group_specs, product_specs


def pages(args: dict, per_page: int) -> list[list[int]]:
    """Every page of a listing as the catalog builds it, and the one after the last."""
    shown, page = [], 1
    while True:
        built = catalog._build(args, page, per_page)
        shown.append([item["id"] for item in built["items"]])
        if not built["items"]:
            return shown
        page += 1


def assert_bookmarks_agree(monkeypatch) -> None:
    for sort in catalog.ORDERS:
        for kind in (None, "produce"):
            for in_stock in (False, True):
                args = catalog.catalog_filters(kind=kind, in_stock=in_stock, sort=sort)
                for per_page in (1, 4):
                    monkeypatch.setattr(bookmarks, "FROM", 10**9)  # every page by OFFSET alone
                    by_offset = pages(args, per_page)
                    for step in (1, 3):
                        monkeypatch.setattr(bookmarks, "FROM", 0)
                        monkeypatch.setattr(bookmarks, "STEP", step)
                        bookmarks.forget()
                        assert pages(args, per_page) == by_offset, (args, per_page, step)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_page_from_a_bookmark_is_the_page_offset_gives(app, db, monkeypatch, seed):
    rng = random.Random(seed)
    with app.test_request_context("/", method="POST"):  # a writing request: SQLite begins IMMEDIATE
        write_catalog(*random_catalog(rng))
        db.session.commit()
        assert_bookmarks_agree(monkeypatch)
        kinds = ["price", "deactivate", "sell_out", "restock", "hide"]
        change_catalog([(rng.choice(kinds), rng.randrange(60)) for _ in range(6)])
        db.session.commit()  # the catalog's version moves on: bookmarks kept before are not used
        assert_bookmarks_agree(monkeypatch)


def test_bookmarks_kept_under_a_version_are_not_used_after_a_change(app, db, monkeypatch):
    monkeypatch.setattr(bookmarks, "FROM", 0)
    monkeypatch.setattr(bookmarks, "STEP", 2)
    with app.test_request_context("/", method="POST"):
        write_catalog(*random_catalog(random.Random(7)))
        db.session.commit()
        args = catalog.catalog_filters(sort="price_asc")
        before = pages(args, 3)
        change_catalog([("price", n) for n in range(0, 60, 3)])  # many prices: the order changes
        db.session.commit()
        after = pages(args, 3)
        monkeypatch.setattr(bookmarks, "FROM", 10**9)
        assert after == pages(args, 3) and after != before


def test_a_shallow_page_reads_no_bookmarks(app, db, monkeypatch):
    read = []
    monkeypatch.setattr(bookmarks, "_bookmarks", lambda *args: read.append(args) or ())
    with app.test_request_context("/"):
        shallow = bookmarks.FROM - 1
        assert bookmarks.seek(lambda: None, [], catalog.ORDERS["name"], shallow, ("key",)) == ([], shallow)
        assert bookmarks.seek(lambda: None, [], catalog.ORDERS["name"], 5000, None) == ([], 5000)
    assert not read
