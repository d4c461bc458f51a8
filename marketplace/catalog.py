"""The public catalog as plain data, shared by the catalog API and the catalog pages.

Pages are kept for a few seconds (CATALOG_CACHE_SECONDS, default 5; 0 turns it
off), keyed by the catalog's version and the normalized query, in each process and,
with Redis, once for all of them (marketplace.catalog_cache). Every write that
changes what is listed moves the version on in its own transaction, so such a
change shows on the next request anywhere; a quantity that stays above zero does
not, so a buyer may see availability up to that many seconds old (checkout never
uses the cache and always reserves against the live stock counters). Every page of
one search shares one total, counted once a version, and each page reads its own rows
from the catalog's listing in the listing's index order (marketplace.listing), so
a page costs what the page holds, not what the catalog holds; the village list is
kept the same way.

What the catalog lists is decided by the listing, which the database keeps: active
products with an active variant of verified groups. A search is read by
marketplace.search (other spellings, mistakes, relevance). Checkout reads the group's
verification live.
"""

from collections import namedtuple

from flask import current_app, has_request_context, request, url_for
from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, func, select, type_coerce

from core.errors import field_error
from core.extensions import db
from core.quantity import Quantity
from core.text import fold
from core.validation import has_control_chars
from groups.models import Group
from inventory import services as stock
from inventory.models import Product, ProductKind, ProductStatus, Stock, Variant
from marketplace import bookmarks, search, suggestions
from marketplace import catalog_cache as kept
from marketplace.catalog_cache import REFRESH_AHEAD, CachedPage, in_background
from marketplace.catalog_version import catalog_version, latest_version
from marketplace.listing import CatalogCount, CatalogListing

CATALOG_SORTS = ("newest", "price_asc", "price_desc", "name", "relevance")
SORTS = CATALOG_SORTS
CACHE_MAX_PAGES = 512
CACHE_MAX_LISTS = 64  # lists pages are built from (the villages), kept as pages are
CACHE_MAX_TOTALS = 1024  # searches and listings whose total is kept by the catalog's version
RENDERINGS_PER_PAGE = 4  # kept renderings of one page (languages, spellings of the query)


def product_card(product: Product, group) -> dict:
    """What a buyer sees of a product: its group, photo, and active variants with what is available."""
    return _card(
        product,
        group,
        [
            {
                "id": v.id,
                "product_id": v.product_id,
                "label": v.label,
                "unit_price": v.unit_price,
                "active": True,
                "available": v.stock.available,
            }
            for v in product.variants
            if v.active
        ],
    )


def _card(product, group, variants: list[dict]) -> dict:
    """The card from anything with the product's and the group's attributes (ORM objects, or rows)."""
    photo = product.photo
    return {
        "id": product.id,
        "name": product.name,
        "kind": ProductKind(product.kind).value,
        "unit": product.unit,
        "description": product.description,
        "status": ProductStatus(product.status).value,
        "group_id": product.group_id,
        "group": {
            "id": group.id,
            "name": group.name,
            "village": group.village,
            "district": group.district,
            "verified": bool(group.verified),
        },
        "photo_url": url_for("inventory.product_photo", name=f"{photo}.webp") if photo else None,
        "thumb_url": url_for("inventory.product_photo", name=f"{photo}-thumb.webp") if photo else None,
        "variants": variants,
        "min_price": min((v["unit_price"] for v in variants), default=None),
        "created_at": product.created_at,
        "updated_at": product.updated_at,
    }


def catalog_page(
    q=None, kind=None, group_id=None, village=None, in_stock=False, sort="newest", page=1, per_page=20
) -> dict:
    """One page of the public catalog: {items: [product_card...], page, per_page, total}.

    Bad filters are refused (422) before the cache is looked at. The page may come
    from the cache (see the module docstring): treat it as read-only.
    """
    found = _cached_page(q, kind, group_id, village, in_stock, sort, page, per_page)
    return {**found.page, "items": list(found.page["items"])}


def catalog_filters(q=None, kind=None, group_id=None, village=None, in_stock=False, sort="name") -> dict:
    """The catalog's filters checked and put in one form (a 422 names a bad one), so equal searches compare equal.

    `q` becomes its folded words (no case, no accents, single spaces), `village` is
    compared without case.
    """
    for field, value in (("q", q), ("village", village)):
        if value is not None and (not isinstance(value, str) or has_control_chars(value)):
            raise field_error(field, _("Not a valid text."))
    if sort not in CATALOG_SORTS:
        raise field_error("sort", _("Sort by newest, price_asc, price_desc, name or relevance."))
    return {
        "q": fold(q) or None,
        "kind": stock.read_kind(kind).value if kind else None,
        "group_id": stock.check_id(group_id, "group_id") if group_id is not None else None,
        "village": village.strip().lower() if village and village.strip() else None,
        "in_stock": bool(in_stock),
        "sort": sort,
    }


def catalog_query(q=None, kind=None, group_id=None, village=None, in_stock: bool = False, sort: str = "name"):
    """The ids of the products the catalog lists for these filters, in the catalog's order, from its listing.

    Listed are active products with an active variant, of verified groups (marketplace.listing).
    `q` finds products whose name holds every word of it, whatever the case and accents, or
    another spelling of it, or a word near a mistyped one (marketplace.search). `in_stock`
    keeps products with an active variant that has something available. `sort`: `name`,
    `newest`, `price_asc` / `price_desc` by the lowest active variant price, or `relevance`
    (the closest matches first, then by name); ties go by id.
    """
    args = catalog_filters(q, kind, group_id, village, in_stock, sort)
    terms = search.search_terms(args["q"], _of_version()) if args["q"] else []
    listing = CatalogListing
    query = select(listing.product_id).where(*_listing_filters(args), *search.search_conditions(terms))
    if args["sort"] == "relevance":
        return query.order_by(search.relevance(terms), listing.search_text, listing.product_id)
    return query.order_by(*(column.desc() if down else column for column, down in ORDERS[args["sort"]]))


# Each sort but relevance: its (column, descending) pairs, the listing's index order (marketplace.listing).
ORDERS = {
    "newest": ((CatalogListing.created_at, True), (CatalogListing.product_id, True)),
    "price_asc": ((CatalogListing.min_price, False), (CatalogListing.product_id, False)),
    "price_desc": ((CatalogListing.min_price, True), (CatalogListing.product_id, False)),
    "name": ((CatalogListing.search_text, False), (CatalogListing.product_id, False)),
}


def _listing_filters(args: dict) -> list:
    listing, conditions = CatalogListing, []
    if args["kind"]:
        conditions.append(listing.kind == ProductKind(args["kind"]))
    if args["in_stock"]:
        conditions.append(listing.in_stock.is_(True))
    if args["group_id"] is not None:
        conditions.append(listing.group_id == args["group_id"])
    if args["village"]:
        conditions.append(listing.village == args["village"])
    return conditions


class CacheFreshness:
    """Whether what a request made from kept pages and lists is still what they would give it.

    It is while the catalog's version is the one they were kept under, until the first of
    them is due to be built again (REFRESH_AHEAD of its time), and until the cache is
    cleared; so a whole response kept with it (the catalog page for visitors without a
    session, the catalog API's answer to a query string) is never older than the pages it
    shows, and the first request after is given them through the cache again.
    """

    __slots__ = ("until", "generation", "version")

    def __init__(self):
        self.until, self.generation, self.version = float("inf"), _generation, catalog_version()

    def add(self, found: "CachedPage | None", seconds: float) -> None:
        """Count in a kept page or list; None, or `seconds` 0, when nothing is kept."""
        due = found.built + seconds * REFRESH_AHEAD if found is not None and seconds > 0 else float("-inf")
        self.until = min(self.until, due)

    def __bool__(self) -> bool:
        return self.generation == _generation and kept.clock() < self.until and latest_version() == self.version


def cached_rendering(
    render,
    *depends,
    q=None,
    kind=None,
    group_id=None,
    village=None,
    in_stock=False,
    sort="newest",
    page=1,
    per_page=20,
    current: CacheFreshness | None = None,
):
    """`render(page, *depends)` for one catalog page, kept with the page: for renderings the same for every viewer.

    `depends` (hashable) is everything else the rendering depends on, such as the
    language; each combination is kept, up to RENDERINGS_PER_PAGE, beyond which it
    is rendered afresh. The catalog API keeps its JSON this way, so a kept page
    costs no serialization; the catalog page keeps its listing's HTML. `current`,
    when given, learns until when the page stays as it is.
    """
    found = _cached_page(q, kind, group_id, village, in_stock, sort, page, per_page)
    if current is not None:
        current.add(found, current_app.config.get("CATALOG_CACHE_SECONDS", 5))
    key = (render, *depends)
    made = found.renderings.get(key)
    if made is None:
        made = render(found.page, *depends)
        if len(found.renderings) < RENDERINGS_PER_PAGE:
            found.renderings[key] = made
    return made


def catalog_villages(current: CacheFreshness | None = None) -> tuple[str, ...]:
    """The villages of verified groups that list something, for the catalog's village filter; kept as pages are.

    `current`, when given, learns until when the list stays as it is.
    """
    global _villages_of_version
    seconds = current_app.config.get("CATALOG_CACHE_SECONDS", 5)
    if seconds <= 0:  # the cache off: kept only while the catalog's version stays, which is never wrong
        if current is not None:
            current.add(None, seconds)
        version = _of_version()
        kept_version, kept_villages = _villages_of_version
        if kept_version != version:
            kept_villages = _villages()
            _villages_of_version = (version, kept_villages)
        return kept_villages
    found = _lists.get_or_build(("villages", catalog_version()), seconds, _villages, ahead=in_background)
    if current is not None:
        current.add(found, seconds)
    return found.page


def _villages() -> tuple[str, ...]:
    # EXISTS per group, not a join over every product (bench/catalog.py).
    lists = select(Product.id).where(Product.group_id == Group.id, Product.status == ProductStatus.active).exists()
    query = select(Group.village).where(Group.verified.is_(True), lists).distinct().order_by(Group.village)
    return tuple(db.session.scalars(query))


def clear_cache() -> None:
    """Forget every kept page, order and village list (tests, or after bulk changes), and what was made of them."""
    global _generation, _villages_of_version
    _cache.clear()
    _lists.clear()
    _totals.clear()
    search.forget_terms()
    bookmarks.forget()
    suggestions.forget()
    _villages_of_version = (None, ())
    _generation += 1


def _cached_page(q, kind, group_id, village, in_stock, sort, page, per_page) -> CachedPage:
    filters = catalog_filters(q=q, kind=kind, group_id=group_id, village=village, in_stock=in_stock, sort=sort)
    seconds = current_app.config.get("CATALOG_CACHE_SECONDS", 5)
    if seconds <= 0:
        return CachedPage(kept.clock(), _build(filters, page, per_page))
    script_root = request.script_root if has_request_context() else ""  # photo URLs depend on it
    version = catalog_version()
    key = (version, script_root, *filters.values(), page, per_page)
    shared = kept.shared_pages()

    def build_here() -> CachedPage:
        started = kept.clock()  # a page's age counts from before its query ran
        return CachedPage(started, _build(filters, page, per_page))

    def build() -> CachedPage:
        return shared.get_or_build(key, seconds, build_here) if shared else build_here()

    return _cache.get_or_build(key, seconds, build, ahead=in_background)


def _of_version(*rest) -> tuple:
    """What is kept under the catalog's version is kept by this: the database, the version, and `rest`."""
    return (current_app.config["SQLALCHEMY_DATABASE_URI"], catalog_version(), *rest)


def _kept_total(filters: dict, query) -> int:
    """_total, kept by the catalog's version: what a listing holds changes only with a new version (a product shown
    or hidden, stock going to or from none, a price, a name), so every page of a search, asked by anyone until
    the catalog changes, shares one count, never wrong (a common word's matches grow with the catalog)."""
    key = _of_version(*filters.values())
    [total] = _totals.get([key])
    if total is None:
        total = _total(filters, query)
        _totals.put({key: total})
    return total


def _total(filters: dict, query) -> int:
    """How many products these filters list: the API's `total`, exact.

    Without a search it is summed from the listing's counts (a few rows a group,
    marketplace.listing), so it costs nothing like the catalog's size; a search counts its
    matches (`query`, its ids) through the search index.
    """
    if not filters["q"]:
        counted = select(func.coalesce(func.sum(CatalogCount.listings), 0))
        for column in ("kind", "in_stock", "group_id", "village"):
            value = filters[column]
            if value is None or value is False:
                continue
            counted = counted.where(
                getattr(CatalogCount, column) == (ProductKind(value) if column == "kind" else value)
            )
        return int(_read().execute(counted).scalar())
    return _read().execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar()


def _read():
    """The session's connection, for the catalog's plain reads: Core statements need none of the ORM's path
    (bench/catalog.py). What the session holds unwritten is written first, as the ORM would."""
    session = db.session()
    session.flush()
    return session.connection()


_PRODUCT_COLUMNS = (
    Product.id,
    Product.name,
    Product.kind,
    Product.unit,
    Product.description,
    Product.status,
    Product.group_id,
    Product.photo,
    Product.created_at,
    Product.updated_at,
)
_GROUP_COLUMNS = (Group.id, Group.name, Group.village, Group.district, Group.verified)
# What is available, subtracted in SQL: one quantity a row to read rather than two.
_AVAILABLE = type_coerce(Stock.on_hand - Stock.reserved, Quantity).label("available")
_VARIANT_COLUMNS = (Variant.id, Variant.product_id, Variant.label, Variant.unit_price, _AVAILABLE)


def _build(filters: dict, page: int, per_page: int) -> dict:
    """One page as plain data: the page's ids in the listing's order (its index and LIMIT/OFFSET), their
    rows, their active variants with stock, the listing's `total` and, for a search that found nothing, the
    nearest names.

    The total is counted (and kept, _kept_total) only when the page cannot tell it: a page that is not full,
    or is full with nothing after it, ends the listing, so its total is what came before and what it holds
    (most searches are one page). Plain rows rather than ORM objects and
    relationship loads: building a page is what a cache miss costs, and the ORM's share of it was larger than
    the SQL's (bench/catalog.py).
    """
    # The page's ids first, from the listing's index alone, then their rows: a page deep in a long listing
    # skips index entries, not joined rows (bench/catalog.py, cold listings at 100,000 products).
    query = catalog_query(**filters)
    offset = (page - 1) * per_page
    start, skip = [], offset
    if not filters["q"]:  # a listing: a page deep in it starts at its nearest bookmark (marketplace.bookmarks)
        order = ORDERS[filters["sort"]]
        start, skip = bookmarks.seek(_read, _listing_filters(filters), order, offset, _of_version(*filters.values()))
    ids = _read().execute(query.where(*start).limit(per_page + 1).offset(skip)).scalars().all()
    ends_here = len(ids) <= per_page and bool(ids or not offset)
    ids = ids[:per_page]
    total = offset + len(ids) if ends_here else _kept_total(filters, query)
    # One query for the page's products, their groups and their active variants with stock (a row each).
    products, variants = {}, {}
    if ids:
        for row in _read().execute(_PAGE_ROWS, {"ids": ids}).all():
            if row[0] not in products:
                products[row[0]] = row
                variants[row[0]] = []
            variant_id, product_id, label, unit_price, available = row[_VARIANTS_AT:]
            if variant_id is not None:
                variants[product_id].append(
                    {
                        "id": variant_id,
                        "product_id": product_id,
                        "label": label,
                        "unit_price": unit_price,
                        "active": True,
                        "available": available,
                    }
                )
    items = [
        _card(_ProductRow._make(row[1:_GROUP_AT]), _GroupRow._make(row[_GROUP_AT:_VARIANTS_AT]), variants[product_id])
        for product_id in ids
        if (row := products.get(product_id)) is not None
    ]
    built = {"items": items, "page": page, "per_page": per_page, "total": total}
    if not total and filters["q"]:
        built["suggestions"] = suggestions.nearest_names(filters["q"], _of_version())  # found nothing: the nearest
    return built


_PAGE_ROWS = (
    select(CatalogListing.product_id, *_PRODUCT_COLUMNS, *_GROUP_COLUMNS, *_VARIANT_COLUMNS)
    .join(Product, Product.id == CatalogListing.product_id)
    .join(Group, Group.id == CatalogListing.group_id)
    .outerjoin(Variant, and_(Variant.product_id == CatalogListing.product_id, Variant.active.is_(True)))
    .outerjoin(Stock, Stock.variant_id == Variant.id)
    .where(CatalogListing.product_id.in_(bindparam("ids", expanding=True)))
    .order_by(Variant.id)
)
_GROUP_AT = 1 + len(_PRODUCT_COLUMNS)  # where a page row's group starts, and then its variant
_VARIANTS_AT = _GROUP_AT + len(_GROUP_COLUMNS)
_ProductRow = namedtuple("_ProductRow", [column.key for column in _PRODUCT_COLUMNS])  # what _card reads of a row
_GroupRow = namedtuple("_GroupRow", [column.key for column in _GROUP_COLUMNS])


_villages_of_version: tuple = (None, ())  # with the cache off: ((database, version), villages)
_generation = 0  # how many times the cache was cleared: what a CacheFreshness was made under
_cache = kept.PageCache(CACHE_MAX_PAGES)
_lists = kept.PageCache(CACHE_MAX_LISTS)  # what pages are built from: the villages
_totals = kept.LruCache(CACHE_MAX_TOTALS)  # totals by (database, version, filters)
