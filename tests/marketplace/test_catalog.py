"""The public catalog: search that ignores case and accents, filters, sort orders, pages, and the short cache."""

import re
import threading
import time
from html import unescape
from types import SimpleNamespace

import pytest
from flask_babel import force_locale, gettext
from markupsafe import escape

from accounts.models import User
from core.errors import ValidationFailed
from core.extensions import db
from groups.models import Group
from inventory import services as inv
from inventory.models import Product, ProductStatus
from marketplace import catalog, catalog_cache
from marketplace import catalog_api as market_api
from marketplace import services as market
from marketplace.views import catalog as market_views
from tests.factories import PASSWORD, assert_error, make_group, make_member, make_user
from tests.stock_helpers import acting

API = "/api/v1"
real_in_background = catalog_cache.in_background

# name, kind, variants (label, price, active), stock of the first variant; listed in this order (oldest first)
PRODUCTS = [
    ("Cabé rawit", "produce", [("Grade A", 45000, True), ("Grade B", 30000, True)], "2"),
    ("Cabai merah besar", "produce", [("standard", 25000, True)], "4"),
    ("Kopi bubuk robusta", "processed", [("250 g", 30000, True)], None),
    ("Tas anyaman 100% pandan", "garment", [("standard", 75000, True)], "3"),
    ("Gula aren", "processed", [("standard", 22000, True), ("sisa", 1000, False)], "5"),
]
OTHER_GROUP = {"Cabai merah besar", "Gula aren"}


@pytest.fixture(autouse=True)
def fresh_cache():
    catalog.clear_cache()
    yield
    catalog.clear_cache()


@pytest.fixture(autouse=True)
def ahead_in_this_thread(monkeypatch):
    """Pages built again ahead are built in the test's own thread, so that tests know when (one test below uses
    the real background thread)."""
    monkeypatch.setattr(catalog, "in_background", lambda work: work())


@pytest.fixture
def shop(app, db):
    """Two groups in two villages, five listed products, one hidden; ids by name."""
    lead, other_lead = make_user(app), make_user(app)
    group = make_group(app, lead, name="KUB Tani Makmur", village="Sumberejo")
    other = make_group(app, other_lead, name="Poktan Sumber Rejeki", village="Kalipucung")
    members = {group.id: make_member(app, group, name="Siti Aminah"), other.id: make_member(app, other, name="Wati")}
    ids = {}
    variants = {}
    for name, kind, specs, quantity in PRODUCTS + [("Sayur disembunyikan", "produce", [("standard", 100, True)], "1")]:
        owner, coordinator = (other, other_lead) if name in OTHER_GROUP else (group, lead)
        with acting(app, coordinator) as signed_in:
            the_group = db.session.get(Group, owner.id)
            product = inv.create_product(
                signed_in,
                the_group,
                name=name,
                kind=kind,
                unit="pcs",
                variants=[{"label": label, "unit_price": price} for label, price, _active in specs],
            )
            for variant, (_label, _price, active) in zip(product.variants, specs):
                variant.active = active
            if quantity:
                inv.receive_contribution(
                    signed_in,
                    the_group,
                    variant_id=product.variants[0].id,
                    member_id=members[owner.id].id,
                    quantity=quantity,
                )
            if name == "Sayur disembunyikan":
                product.status = ProductStatus.hidden
            db.session.commit()
            ids[name] = product.id
            variants[name] = product.variants[0].id
    return SimpleNamespace(group=group, other=other, ids=ids, variants=variants, buyer=make_user(app))


def names(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [item["name"] for item in response.json["items"]]


def page_names(app, **args) -> list[str]:
    with app.test_request_context("/catalog"):
        return [item["name"] for item in catalog.catalog_page(**args)["items"]]


# --- search ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("q", ["cabe", "CABE", "cabé", "CABÉ", "  Cabé  "])
def test_search_ignores_case_and_accents(app, client, shop, q):
    # "cabe" is another spelling of "cabai" (marketplace/spelling.txt): it finds both, its own first
    expected = ["Cabé rawit", "Cabai merah besar"]
    assert names(client.get(f"{API}/products", query_string={"q": q, "sort": "relevance"})) == expected
    assert page_names(app, q=q, sort="relevance") == expected


@pytest.mark.parametrize("q", ["rawit cabe", "CABE RAWIT", "cabé rawi", "RAWI"])
def test_search_needs_every_word(app, client, shop, q):
    assert names(client.get(f"{API}/products", query_string={"q": q})) == ["Cabé rawit"]
    assert page_names(app, q=q) == ["Cabé rawit"]


@pytest.mark.parametrize(
    "q, expected",
    [
        ("cabai", ["Cabai merah besar", "Cabé rawit"]),  # cabai and cabé are spellings of one word
        ("ca", ["Cabai merah besar", "Cabé rawit"]),
        ("robusta KOPI", ["Kopi bubuk robusta"]),
        ("kopi teh", []),
        ("100%", ["Tas anyaman 100% pandan"]),  # % and _ are plain characters, not wildcards
        ("1%0", []),
        ("_", []),
        ("disembunyikan", []),  # hidden products are not in the catalog
        ("", ["Cabai merah besar", "Cabé rawit", "Gula aren", "Kopi bubuk robusta", "Tas anyaman 100% pandan"]),
    ],
)
def test_search_by_words_of_the_name(app, client, shop, q, expected):
    assert names(client.get(f"{API}/products", query_string={"q": q})) == expected


def test_search_finds_a_product_renamed_with_accents(app, client, shop):
    with app.app_context():
        product = db.session.get(Product, shop.ids["Gula aren"])
        product.name = "GULA ÁREN Blitar"
        db.session.commit()
    assert names(client.get(f"{API}/products?q=aren blitar")) == ["GULA ÁREN Blitar"]
    assert names(client.get(f"{API}/products?q=gula")) == ["GULA ÁREN Blitar"]


# --- filters --------------------------------------------------------------------------------------


def test_filters_by_kind_group_village_and_stock(app, client, shop):
    assert names(client.get(f"{API}/products?kind=processed")) == ["Gula aren", "Kopi bubuk robusta"]
    assert names(client.get(f"{API}/products?group_id={shop.other.id}")) == ["Cabai merah besar", "Gula aren"]
    assert names(client.get(f"{API}/products?village=SUMBEREJO")) == [
        "Cabé rawit",
        "Kopi bubuk robusta",
        "Tas anyaman 100% pandan",
    ]
    assert names(client.get(f"{API}/products?in_stock=true")) == [
        "Cabai merah besar",
        "Cabé rawit",
        "Gula aren",
        "Tas anyaman 100% pandan",
    ]
    assert names(client.get(f"{API}/products?kind=produce&in_stock=true&village=kalipucung&q=CABAI")) == [
        "Cabai merah besar"
    ]
    assert page_names(app, kind="garment", in_stock=True, sort="price_asc") == ["Tas anyaman 100% pandan"]


def test_in_stock_leaves_out_what_orders_hold(app, client, shop):
    with acting(app, shop.buyer):
        market.place_checkout(
            db.session.get(User, shop.buyer.id),
            [{"variant_id": shop.variants["Cabé rawit"], "quantity": "2"}],
            {"method": "pickup"},
            "cash",
        )
        db.session.commit()

    assert "Cabé rawit" not in names(client.get(f"{API}/products?in_stock=true"))
    [rawit] = client.get(f"{API}/products?q=rawit").json["items"]
    assert rawit["variants"][0]["available"] == "0"


# --- sorting and pages ----------------------------------------------------------------------------

ALL_BY = {
    "name": ["Cabai merah besar", "Cabé rawit", "Gula aren", "Kopi bubuk robusta", "Tas anyaman 100% pandan"],
    "newest": ["Gula aren", "Tas anyaman 100% pandan", "Kopi bubuk robusta", "Cabai merah besar", "Cabé rawit"],
    # by the lowest active variant price: Gula aren's inactive Rp1.000 does not count; Cabé rawit (Rp30.000 for
    # grade B) and Kopi (Rp30.000) tie and go by id either way
    "price_asc": ["Gula aren", "Cabai merah besar", "Cabé rawit", "Kopi bubuk robusta", "Tas anyaman 100% pandan"],
    "price_desc": ["Tas anyaman 100% pandan", "Cabé rawit", "Kopi bubuk robusta", "Cabai merah besar", "Gula aren"],
}


@pytest.mark.parametrize("sort", list(ALL_BY))
def test_each_sort_order(app, client, shop, sort):
    assert names(client.get(f"{API}/products?sort={sort}")) == ALL_BY[sort]
    assert page_names(app, sort=sort) == ALL_BY[sort]


def test_api_sorts_by_name_and_pages_default_to_newest(app, client, shop):
    assert names(client.get(f"{API}/products")) == ALL_BY["name"]
    assert page_names(app) == ALL_BY["newest"]


def test_min_price_counts_only_active_variants(app, shop):
    with app.test_request_context("/catalog"):
        cards = {card["name"]: card for card in catalog.catalog_page()["items"]}
    assert cards["Gula aren"]["min_price"] == 22000
    assert [v["label"] for v in cards["Gula aren"]["variants"]] == ["standard"]
    assert cards["Cabé rawit"]["min_price"] == 30000


@pytest.mark.parametrize("sort", list(ALL_BY))
def test_pages_through_every_sort_order_without_gaps_or_repeats(app, client, shop, sort):
    seen = []
    for page in (1, 2, 3):
        response = client.get(f"{API}/products?sort={sort}&per_page=2&page={page}")
        body = response.json
        assert (body["page"], body["per_page"], body["total"]) == (page, 2, 5)
        seen += names(response)
    assert seen == ALL_BY[sort]
    assert names(client.get(f"{API}/products?sort={sort}&per_page=2&page=4")) == []


def test_api_response_keeps_its_fields(app, client, shop):
    [item] = client.get(f"{API}/products?q=rawit").json["items"]

    assert set(item) == {
        "id",
        "group_id",
        "group",
        "name",
        "kind",
        "unit",
        "description",
        "status",
        "photo_url",
        "thumb_url",
        "variants",
        "created_at",
        "updated_at",
    }
    assert item["group"] == {"id": shop.group.id, "name": "KUB Tani Makmur", "village": "Sumberejo", "verified": True}
    assert [set(v) for v in item["variants"]] == [
        {"id", "product_id", "label", "unit_price", "active", "available"}
    ] * 2
    assert item["variants"][0]["available"] == "2" and item["variants"][1]["available"] == "0"


@pytest.mark.parametrize("query", ["sort=cheapest", "sort=", "sort=PRICE_ASC"])
def test_unknown_sort_is_422(app, client, shop, query):
    assert_error(client.get(f"{API}/products?{query}"), 422, "sort")


def test_catalog_page_refuses_unknown_sort_and_bad_filters(app, shop):
    with app.test_request_context("/catalog"):
        for args, field in (
            ({"sort": "cheapest"}, "sort"),
            ({"kind": "shop"}, "kind"),
            ({"q": "a\x00"}, "q"),
            ({"group_id": 0}, "group_id"),
        ):
            with pytest.raises(ValidationFailed) as caught:
                catalog.catalog_page(**args)
            assert field in caught.value.errors


# --- the cache ------------------------------------------------------------------------------------


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(catalog_cache, "_clock", clock)
    return clock


def available_of(client, q="cabe") -> str:
    """What the catalog shows available of Cabé rawit's variant ("cabe" finds Cabai merah besar too)."""
    items = client.get(f"{API}/products", query_string={"q": q}).json["items"]
    [item] = [item for item in items if item["name"] == "Cabé rawit"]
    return item["variants"][0]["available"]


def take_rawit(app, shop, quantity):
    with acting(app, shop.buyer):
        market.place_checkout(
            db.session.get(User, shop.buyer.id),
            [{"variant_id": shop.variants["Cabé rawit"], "quantity": quantity}],
            {"method": "pickup"},
            "cash",
        )
        db.session.commit()


def test_cache_is_off_in_tests(app, client, shop):
    assert app.config["CATALOG_CACHE_SECONDS"] == 0
    assert available_of(client) == "2"
    take_rawit(app, shop, "1")
    assert available_of(client) == "1"
    assert not catalog._cache.pages


def test_a_quantity_shown_is_at_most_the_cache_s_time_old_and_a_sold_out_variant_shows_at_once(
    app, client, shop, clock, monkeypatch
):
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", 5)
    assert available_of(client) == "2"

    take_rawit(app, shop, "1")  # still in stock: the catalog's version stays
    clock.now += 3.9
    assert available_of(client) == "2"  # kept
    clock.now += 1.1
    assert available_of(client) == "1"  # never older than 5 seconds
    take_rawit(app, shop, "1")  # sold out: the version moves on
    assert available_of(client) == "0"


def test_a_page_near_its_end_is_built_again_ahead_while_others_get_the_kept_one(clock):
    cache = catalog_cache.PageCache(8)
    versions = iter(range(1, 10))
    cache.get_or_build(("k",), 5, lambda: {"version": next(versions)})

    clock.now += 3.9
    assert cache.get_or_build(("k",), 5, lambda: {"version": next(versions)}).page == {"version": 1}
    clock.now += 0.1  # 4 of 5 seconds: the next caller builds it again
    refreshing, release = threading.Event(), threading.Event()

    def slow_build():
        refreshing.set()
        release.wait(5)
        return {"version": next(versions)}

    refresher = threading.Thread(target=lambda: cache.get_or_build(("k",), 5, slow_build))
    refresher.start()
    refreshing.wait(5)
    assert cache.get_or_build(("k",), 5, lambda: {"version": -1}).page == {"version": 1}  # no wait, no second build
    release.set()
    refresher.join(5)
    assert cache.get_or_build(("k",), 5, lambda: {"version": -1}).page == {"version": 2}
    clock.now += 4.9
    assert cache.get_or_build(("k",), 5, lambda: {"version": next(versions)}).page == {"version": 3}


def test_checkout_checks_live_stock_while_the_catalog_shows_a_kept_page(app, client, shop, clock, monkeypatch):
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", 5)
    assert available_of(client) == "2"
    take_rawit(app, shop, "1")
    assert available_of(client) == "2"

    with acting(app, shop.buyer), pytest.raises(inv.InsufficientStock) as caught:
        market.place_checkout(
            db.session.get(User, shop.buyer.id),
            [{"variant_id": shop.variants["Cabé rawit"], "quantity": "2"}],
            {"method": "pickup"},
            "cash",
        )
    assert caught.value.shortfalls[0]["available"] == "1"


def test_cache_keys_on_the_normalized_query(app, client, shop, clock, monkeypatch):
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", 5)
    for q in ("cabe", "CABÉ", "  Cabé "):
        assert available_of(client, q) == "2"
    assert len(catalog._cache.pages) == 1
    client.get(f"{API}/products?q=cabe&sort=price_asc")
    client.get(f"{API}/products?q=cabe&page=2")
    client.get(f"{API}/products?q=cabe&in_stock=true")
    assert len(catalog._cache.pages) == 4


def test_cache_keeps_plain_data_and_a_bounded_number_of_pages(app, client, shop, clock, monkeypatch):
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", 5)
    monkeypatch.setattr(catalog._cache, "max_pages", 3)
    for page in range(1, 6):
        client.get(f"{API}/products?page={page}")
    assert len(catalog._cache.pages) == 3

    def plain(value):
        if isinstance(value, dict):
            return all(plain(v) for v in value.values())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return not isinstance(value, db.Model)

    assert all(plain(found.page) for found in catalog._cache.pages.values())


def test_a_rendering_is_made_once_per_kept_page_and_what_it_depends_on(app, shop, clock, monkeypatch):
    made = []

    def render(page, language="id"):
        made.append((page["total"], language))
        return f"{page['total']} products ({language})"

    with app.test_request_context("/catalog"):
        assert catalog.cached_rendering(render, sort="name") == "5 products (id)"
        monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", 5)
        assert catalog.cached_rendering(render, sort="name") == "5 products (id)"
        assert catalog.cached_rendering(render, sort="name") == "5 products (id)"
        assert made == [(5, "id"), (5, "id")]  # once with the cache off, once for the kept page
        assert catalog.cached_rendering(render, "en", sort="name") == "5 products (en)"
        assert catalog.cached_rendering(render, "en", sort="name") == "5 products (en)"
        assert made[2:] == [(5, "en")]


def test_a_page_built_again_unchanged_keeps_its_renderings(app, shop, clock, monkeypatch):
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", 5)
    made = []

    def render(page):
        made.append(page["total"])
        return page["total"]

    with app.test_request_context("/catalog"):
        catalog.cached_rendering(render, sort="name")
        clock.now += 4  # built again ahead: the same products, so nothing is rendered again
        catalog.cached_rendering(render, sort="name")
        assert made == [5]
        db.session.get(Product, shop.ids["Kopi bubuk robusta"]).status = ProductStatus.hidden
        db.session.commit()
        clock.now += 5
        assert catalog.cached_rendering(render, sort="name") == 4
        assert made == [5, 4]


def test_renderings_of_one_page_are_bounded(app, shop, clock, monkeypatch):
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", 5)
    monkeypatch.setattr(catalog, "RENDERINGS_PER_PAGE", 2)
    made = []

    def render(page, spelling):
        made.append(spelling)
        return spelling

    with app.test_request_context("/catalog"):
        for spelling in ("a", "b", "c", "a", "b", "c"):
            assert catalog.cached_rendering(render, spelling, sort="name") == spelling
    assert made == ["a", "b", "c", "c"]  # past the bound, rendered each time and not kept


def test_a_caller_replacing_items_does_not_change_the_kept_page(app, shop, clock, monkeypatch):
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", 5)
    with app.test_request_context("/catalog"):
        first = catalog.catalog_page()
        first["items"].clear()
        first["total"] = 0
        again = catalog.catalog_page()
    assert again["total"] == 5 and len(again["items"]) == 5


def test_refused_queries_are_refused_even_when_a_page_is_kept(app, client, shop, clock, monkeypatch):
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", 5)
    assert client.get(f"{API}/products?q=cabai").status_code == 200
    assert_error(client.get(f"{API}/products?q=cabai%00"), 422, "q")
    assert_error(client.get(f"{API}/products?q=cabai&sort=nope"), 422, "sort")


def test_an_api_answer_is_kept_whole_while_its_pages_are_current(app, client, shop, clock, monkeypatch):
    """Asked again by the same query string, the catalog API answers what it answered, without parsing the query
    or looking the page up again, until the page is due to be built again or the cache is cleared."""
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", 5)
    looked_up = []
    rendered = market_api.cached_rendering
    monkeypatch.setattr(market_api, "cached_rendering", lambda *a, **kw: looked_up.append(1) or rendered(*a, **kw))
    path = f"{API}/products?q=cabe"
    first = client.get(path)
    take_rawit(app, shop, "1")  # still in stock: the catalog's version stays
    clock.now += 3.9
    again = client.get(path)
    assert (again.status_code, again.mimetype, again.get_data()) == (
        first.status_code,
        first.mimetype,
        first.get_data(),
    )
    assert len(looked_up) == 1
    assert client.get(f"{API}/products?q=cabe&page=1").json == first.json and len(looked_up) == 2  # another address
    client.get(path, environ_overrides={"SCRIPT_NAME": "/pasar"})  # another root: its photo URLs are its own
    assert len(looked_up) == 3
    assert_error(client.get(f"{API}/products?q=cabe&sort=nope"), 422, "sort")  # refused, never kept
    assert client.get(path, headers={"Authorization": "Bearer pk_not-a-token"}).status_code == 401
    clock.now += 0.1  # the page is due: this request goes to the cache, which builds it again ahead
    assert client.get(path).json == first.json and len(looked_up) == 4
    assert available_of(client) == "1" and len(looked_up) == 5  # the page built again, and its answer kept
    assert available_of(client) == "1" and len(looked_up) == 5
    with app.app_context():
        db.session.get(Product, shop.ids["Cabé rawit"]).status = ProductStatus.hidden
        db.session.commit()
    assert "Cabé rawit" not in {item["name"] for item in client.get(path).json["items"]}  # the version moved on
    assert len(looked_up) == 6


def test_a_page_due_is_built_again_in_the_background_while_requests_get_the_kept_one(
    app, client, shop, clock, monkeypatch
):
    monkeypatch.setattr(catalog, "in_background", real_in_background)
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", 5)
    assert available_of(client) == "2"
    take_rawit(app, shop, "1")
    clock.now += 4  # due: the next request has it built again
    building, release = threading.Event(), threading.Event()
    build = catalog._build

    def slow_build(*args):
        building.set()
        release.wait(5)
        return build(*args)

    monkeypatch.setattr(catalog, "_build", slow_build)
    assert available_of(client) == "2"  # answered at once, from the kept page
    assert building.wait(5) and available_of(client) == "2"
    release.set()
    deadline = time.monotonic() + 5
    while catalog._cache.building and time.monotonic() < deadline:
        time.sleep(0.01)
    assert available_of(client) == "1"


def test_a_failed_build_ahead_keeps_the_kept_page_until_it_expires(clock):
    cache = catalog_cache.PageCache(8)
    cache.get_or_build(("k",), 5, lambda: {"version": 1})
    clock.now += 4

    def broken():
        raise RuntimeError("database went away")

    failures = []

    def ahead(work):
        try:
            work()
        except RuntimeError as exc:
            failures.append(exc)

    assert cache.get_or_build(("k",), 5, broken, ahead=ahead).page == {"version": 1}
    assert len(failures) == 1 and not cache.building
    clock.now += 0.9
    assert cache.get_or_build(("k",), 5, broken, ahead=ahead).page == {"version": 1}  # tried again, ahead
    assert len(failures) == 2
    clock.now += 0.1  # expired: the request builds it itself
    assert cache.get_or_build(("k",), 5, lambda: {"version": 2}, ahead=ahead).page == {"version": 2}


def test_a_missing_page_is_built_once_while_other_threads_wait_for_it(clock):
    cache = catalog_cache.PageCache(8)
    started, builds = threading.Event(), []

    def build():
        builds.append(1)
        started.set()
        time.sleep(0.2)
        return {"items": [], "total": 0}

    results = []
    first = threading.Thread(target=lambda: results.append(cache.get_or_build(("k",), 5, build)))
    first.start()
    started.wait(5)
    others = [threading.Thread(target=lambda: results.append(cache.get_or_build(("k",), 5, build))) for _ in range(3)]
    for thread in others:
        thread.start()
    for thread in [first, *others]:
        thread.join(5)

    assert len(builds) == 1
    assert len(results) == 4 and all(found is results[0] for found in results)


def test_a_failed_build_keeps_nothing_and_the_next_caller_builds_again(clock):
    cache = catalog_cache.PageCache(8)

    def broken():
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        cache.get_or_build(("k",), 5, broken)
    assert not cache.pages and not cache.building
    assert cache.get_or_build(("k",), 5, lambda: {"total": 1}).page == {"total": 1}


# --- one order for every page of a search ---------------------------------------------------------


def test_pages_of_one_search_share_one_total_counted_again_when_the_catalog_changes(
    app, client, shop, clock, monkeypatch
):
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", 5)
    orders = []
    real_total = catalog._total
    monkeypatch.setattr(catalog, "_total", lambda filters, query: orders.append(filters) or real_total(filters, query))

    def page(n):
        return client.get(f"{API}/products?sort=name&per_page=2&page={n}").json

    assert [item["name"] for item in page(1)["items"]] == ALL_BY["name"][:2]
    assert page(2)["total"] == 5 and page(3)["total"] == 5
    assert len(orders) == 1  # one search: counted once for all of its pages

    with app.app_context():
        db.session.get(Product, shop.ids["Cabé rawit"]).status = ProductStatus.hidden
        db.session.commit()
    clock.now += 1  # well within the cache's time: the catalog's version moved on
    assert page(2)["total"] == 4 and [item["name"] for item in page(1)["items"]] == ["Cabai merah besar", "Gula aren"]
    assert len(orders) == 2


def test_a_page_built_while_its_total_is_kept_leaves_out_what_is_no_longer_listed(
    app, client, shop, clock, monkeypatch
):
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", 5)
    assert names(client.get(f"{API}/products?sort=name&per_page=2&page=1")) == ALL_BY["name"][:2]
    with app.app_context():
        db.session.get(Product, shop.ids["Gula aren"]).status = ProductStatus.hidden
        db.session.commit()
    clock.now += 1
    # page 2 is built now, from the listing as it is: Gula aren is left out, not shown hidden
    assert names(client.get(f"{API}/products?sort=name&per_page=2&page=2")) == [
        "Kopi bubuk robusta",
        "Tas anyaman 100% pandan",
    ]


def test_villages_are_kept_as_pages_are_and_follow_the_catalog_s_version(app, client, shop, clock, monkeypatch):
    assert "Kalipucung" in html_of(client.get("/catalog"))
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", 5)
    with app.test_request_context("/catalog"):
        assert catalog.catalog_villages() == ("Kalipucung", "Sumberejo")
        for name in OTHER_GROUP:
            db.session.get(Product, shop.ids[name]).status = ProductStatus.hidden
        db.session.commit()
        clock.now += 1
        assert catalog.catalog_villages() == ("Sumberejo",)


# --- the catalog page: kept for everyone, each viewer's own parts put in ---------------------------


def html_of(response) -> str:
    assert response.status_code == 200
    return response.get_data(as_text=True)


def csrf_tokens(body: str) -> set[str]:
    return set(re.findall(r'name="csrf_token" value="([^"]+)"', body))


def normalized(body: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value=""', body)


@pytest.fixture
def csrf_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)


def in_cart(client) -> dict:
    with client.session_transaction() as session:
        return dict(session.get("cart", {}))


@pytest.mark.parametrize("cache", [0, 5])
def test_each_viewer_with_a_session_gets_their_own_token_and_the_add_forms_pass_csrf(
    app, make_client, shop, clock, monkeypatch, csrf_on, cache
):
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", cache)
    first, second = make_client(), make_client()
    for client in (first, second):
        client.get("/lang/id")  # a session, holding the language
    page_one, page_two = html_of(first.get("/catalog")), html_of(second.get("/catalog"))
    [token_one], [token_two] = csrf_tokens(page_one), csrf_tokens(page_two)  # one token, on every form
    assert token_one != token_two
    assert page_one.count('name="csrf_token"') == page_one.count('action="/cart/add"') == 6
    assert normalized(page_one) == normalized(page_two)
    assert market_views._SLOT not in page_one

    variant = shop.variants["Cabai merah besar"]
    stolen = second.post(
        "/cart/add", data={"csrf_token": token_one, "variant_id": variant, "quantity": "1", "next": "/catalog"}
    )
    assert stolen.status_code == 400  # another visitor's token is refused
    for client, token in ((first, token_one), (second, token_two)):
        added = client.post(
            "/cart/add", data={"csrf_token": token, "variant_id": variant, "quantity": "1", "next": "/catalog"}
        )
        assert added.status_code == 302, added.get_data(as_text=True)
        assert in_cart(client) == {str(variant): "1"}


@pytest.mark.parametrize("cache", [0, 5])
def test_a_visitor_without_a_session_gets_the_catalog_without_a_session_token_or_cookie(
    app, make_client, shop, clock, monkeypatch, csrf_on, cache
):
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", cache)
    visitor = make_client()
    for _ in range(2):
        response = visitor.get("/catalog?sort=name")
        body = html_of(response)
        assert "Set-Cookie" not in response.headers and set(response.vary) == {"Cookie", "Accept-Encoding"}
        assert 'name="csrf_token"' not in body and market_views._SLOT not in body
        assert (
            body.count('<form method="post" action="/cart/add" class="var"><input type="hidden" name="variant_id"') == 6
        )
    with visitor.session_transaction() as session:
        assert not session

    # With a session (here: a language picked), the same page carries the viewer's token.
    visitor.get("/lang/id")
    [token] = csrf_tokens(html_of(visitor.get("/catalog?sort=name")))
    assert normalized(html_of(visitor.get("/catalog?sort=name"))).count('name="csrf_token" value=""') == 6


def test_a_visitors_kept_page_is_never_older_than_the_catalog_s_version(app, make_client, shop, clock, monkeypatch):
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", 5)
    visitor, path = make_client(), "/catalog?q=rawit"

    def grade_a_sold_out() -> bool:
        response = visitor.get(path)
        assert "Set-Cookie" not in response.headers and set(response.vary) == {"Cookie", "Accept-Encoding"}
        [card] = re.findall(r'<article class="card prod".*?</article>', html_of(response), re.DOTALL)
        return card.count("habis") == 2  # Grade B has none from the start

    assert not grade_a_sold_out()
    assert not grade_a_sold_out()  # the kept page
    take_rawit(app, shop, "2")  # sold out: the catalog's version moves on
    assert grade_a_sold_out()
    clock.now += 3.9
    assert grade_a_sold_out()

    with app.app_context():
        db.session.get(Product, shop.ids["Cabé rawit"]).status = ProductStatus.hidden
        db.session.commit()
    assert "<article" not in html_of(visitor.get(path))
    assert "<article" not in html_of(visitor.get(path))  # kept as it is now


def test_an_add_without_a_token_is_taken_only_from_this_sites_page(app, make_client, shop, csrf_on):
    variant = shop.variants["Cabai merah besar"]
    form = {"variant_id": variant, "quantity": "2", "next": "/catalog?sort=name"}
    for headers in ({"Sec-Fetch-Site": "same-origin"}, {"Origin": "http://localhost"}):
        visitor = make_client()
        added = visitor.post("/cart/add", data=form, headers=headers)
        assert (
            added.status_code == 302
            and added.headers["Location"] == f"/catalog?sort=name#p{shop.ids['Cabai merah besar']}"
        )
        assert in_cart(visitor) == {str(variant): "2"}

    for headers in (
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost"},
        {"Origin": "https://evil.test"},
        {"Origin": "null"},
        {},
    ):
        for with_session in (False, True):
            visitor = make_client()
            if with_session:
                visitor.get("/lang/id")
            shown = visitor.post("/cart/add", data=form, headers=headers)
            body = html_of(shown)  # the add to confirm, on a form with a token; nothing added
            assert in_cart(visitor) == {}, headers
            [token] = csrf_tokens(body)
            assert 'name="quantity" value="2"' in body and f'name="variant_id" value="{variant}"' in body
            assert 'name="next" value="/catalog?sort=name"' in body
    confirmed = visitor.post("/cart/add", data={**form, "csrf_token": token})
    assert confirmed.status_code == 302 and in_cart(visitor) == {str(variant): "2"}
    assert (
        visitor.post(
            "/cart/add", data={**form, "csrf_token": "forged"}, headers={"Sec-Fetch-Site": "same-origin"}
        ).status_code
        == 400
    )
    assert in_cart(visitor) == {str(variant): "2"}


def test_an_add_to_confirm_of_something_not_for_sale_goes_back_with_a_message(app, client, shop, csrf_on):
    response = client.post("/cart/add", data={"variant_id": "999999", "quantity": "1", "next": "/catalog?q=x"})
    assert response.status_code == 302 and response.headers["Location"] == "/catalog?q=x"
    with app.test_request_context("/"), force_locale("id"):
        message = str(escape(gettext("This product is not for sale.")))
    assert message in html_of(client.get("/catalog?q=x"))


def test_a_kept_page_shows_each_viewer_their_header_cart_messages_and_language(
    app, make_client, shop, clock, monkeypatch
):
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", 5)
    fresh = normalized(html_of(make_client().get("/catalog?sort=name")))
    buyer, visitor, member = make_client(), make_client(), make_client()
    assert normalized(html_of(visitor.get("/catalog?sort=name"))) == fresh  # kept, and the same

    variant = shop.variants["Cabai merah besar"]
    buyer.post("/cart/add", data={"variant_id": variant, "quantity": "2", "next": "/catalog?sort=name"})
    body = html_of(buyer.get("/catalog?sort=name"))
    assert 'class="flash success"' in body and '<a href="/cart">Keranjang (1)</a>' in body
    assert body.count('class="badge"') == 1 and "2 di keranjang" in body
    again = html_of(buyer.get("/catalog?sort=name"))
    assert 'class="flash' not in again and "2 di keranjang" in again
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", 0)
    assert normalized(html_of(buyer.get("/catalog?sort=name"))) == normalized(again)  # as rendered afresh
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", 5)

    body = html_of(visitor.get("/catalog?sort=name"))
    assert normalized(body) == fresh and "di keranjang" not in body and 'class="flash' not in body

    member.post("/login", data={"login": shop.buyer.email, "password": PASSWORD})
    body = html_of(member.get("/catalog?sort=name"))
    assert "Keluar" in body and "Masuk" not in body  # logged in: log out, not log in
    assert "Keluar" not in html_of(visitor.get("/catalog?sort=name"))

    visitor.get("/lang/en")
    english = html_of(visitor.get("/catalog?sort=name"))
    assert "Only what is available now" in english and '<html lang="en">' in english
    assert '<html lang="id">' in html_of(make_client().get("/catalog?sort=name"))


def test_the_kept_page_answers_the_address_it_was_asked_by(app, make_client, shop, clock, monkeypatch, csrf_on):
    client = make_client()
    paths = ("/catalog?q=cabe", "/catalog?q=CABE", "/catalog?q=cab%C3%A9&page=1", "/catalog?q=cabe&x=%22%3E%3C")
    afresh = [normalized(html_of(client.get(path))) for path in paths]
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", 5)
    for _ in range(2):  # kept the second time round
        assert [normalized(html_of(client.get(path))) for path in paths] == afresh
    assert 'name="next" value="/catalog?q=CABE"' in afresh[1] and "/lang/en?next=/catalog?q%3DCABE" in afresh[1]
    assert 'value="/catalog?q=cabe&amp;x=' in afresh[3] and 'x="><' not in afresh[3]  # escaped where put in
    response = client.post(
        "/cart/add",
        data={"variant_id": shop.variants["Cabé rawit"], "quantity": "1", "next": "/catalog?q=CABE"},
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert response.headers["Location"] == f"/catalog?q=CABE#p{shop.ids['Cabé rawit']}"


@pytest.mark.parametrize("cache", [0, 5])
def test_each_catalog_page_links_the_language_switch_back_to_itself(app, make_client, shop, cache, monkeypatch):
    # What is around the listing is rendered once a language and kept; each page puts its own address in.
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", cache)
    visitor = make_client()
    for path in ("/catalog?q=rawit", "/catalog?q=cabai&sort=name", "/catalog", "/catalog?q=%3Cb%3E%26"):
        body = html_of(visitor.get(path))
        [link] = re.findall(r'href="(/lang/en\?next=[^"]*)"', body)
        back = visitor.get(unescape(link))  # picks English, and comes back
        assert back.headers["Location"] == path
        visitor.get("/lang/id")
    visitor.get("/lang/en")
    body = html_of(visitor.get("/catalog?q=rawit"))
    [link] = re.findall(r'href="(/lang/id\?next=[^"]*)"', body)
    assert visitor.get(unescape(link)).headers["Location"] == "/catalog?q=rawit"
    assert 'lang="en"' in body
