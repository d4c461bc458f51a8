"""Bookmarks into the catalog's long listings, so that a page deep in one starts where it starts.

A page is read in the listing's index order with LIMIT and OFFSET, and OFFSET steps over every entry
before the page: page 700 of one kind in stock, at 100,000 products, stepped over 14,000 index entries
(bench/README.md). For a listing without a search, the sort key of every STEP-th entry is read in one
pass over its index and kept by the catalog's version (every change to what is listed moves it on, so
a bookmark is never out of date) and the listing's filters and order. A page at least FROM entries deep
then starts after the nearest bookmark before it and steps over fewer than STEP entries. Reading the
bookmarks is one pass over the listing's index (20-40 ms for a kind in stock at 100,000 products), paid
by the first deep page after a change to the catalog, in each process: what ten deep pages cost by OFFSET.

The page is the one OFFSET gives: tests/marketplace/test_bookmarks.py compares them on random catalogs.
"""

from sqlalchemy import and_, func, or_, select, tuple_

from marketplace.catalog_cache import LruCache

STEP = 500  # entries from one bookmark to the next
FROM = 1000  # a page less deep steps over what is before it: cheaper than reading the bookmarks
KEPT = 64  # listings (filters and order) whose bookmarks are kept


def seek(read, conditions: list, order: tuple, offset: int, key) -> tuple[list, int]:
    """Where a page `offset` entries into a listing starts: conditions that start the listing after the
    nearest bookmark, and how many entries to step over after it (none and `offset` without one).

    `conditions` select the listing's entries, `order` is its (column, descending) pairs, `key` is what its
    bookmarks are kept by (the database, the catalog's version, the filters, the order), None when they are
    not kept; `read()` gives the connection to read them on.
    """
    if key is None or offset < FROM:
        return [], offset
    [marks] = _kept.get([key])
    if marks is None:
        marks = _bookmarks(read(), conditions, order)
        _kept.put({key: marks})
    passed = min(offset // STEP, len(marks))
    if not passed:
        return [], offset
    return [_after(order, marks[passed - 1])], offset - passed * STEP


def forget() -> None:
    """Forget every kept bookmark (with the catalog's other kept pieces)."""
    _kept.clear()


def _bookmarks(connection, conditions: list, order: tuple) -> tuple[tuple, ...]:
    """The sort key of the STEP-th entry, the 2 × STEP-th and so on, in one pass over the listing's index."""
    ordering = [column.desc() if descending else column for column, descending in order]
    numbered = (
        select(*(column for column, _ in order), func.row_number().over(order_by=ordering).label("n"))
        .where(*conditions)
        .subquery()
    )
    marks = (
        select(*(numbered.c[column.key] for column, _ in order)).where(numbered.c.n % STEP == 0).order_by(numbered.c.n)
    )
    return tuple(tuple(row) for row in connection.execute(marks))


def _after(order: tuple, mark: tuple):
    """The entries after `mark` in this order: a range the index seeks to.

    Both columns one way: a row comparison. The price from highest (with ids from lowest): the price's range,
    then past the mark's id among the entries of the mark's price.
    """
    (first, first_down), (second, second_down) = order
    at_first, at_second = mark
    if first_down == second_down:
        row, value = tuple_(first, second), tuple_(at_first, at_second)
        return row < value if first_down else row > value
    beyond = first < at_first if first_down else first > at_first
    within = first <= at_first if first_down else first >= at_first
    return and_(within, or_(beyond, second < at_second if second_down else second > at_second))


_kept = LruCache(KEPT)
