"""The marketplace pages through the test client: catalog, storefront, cart, checkout, orders, queue, packing."""

import re
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from flask_babel import force_locale, ngettext
from markupsafe import escape
from sqlalchemy import select, update

from accounts.models import User
from core.extensions import db
from core.types import utcnow
from groups.models import Group
from inventory import services as inv
from inventory.models import Product, Stock, Variant
from marketplace import catalog
from marketplace import services as market
from marketplace.models import Checkout, Order, OrderEvent, OrderStatus
from tests.factories import PASSWORD, login, make_group, make_member, make_user
from tests.pages import html, styles, t
from tests.stock_helpers import acting, contribute

# --- helpers --------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_catalog():
    """The catalog keeps pages for a few seconds; every test starts with none kept."""
    catalog.clear_cache()
    yield
    catalog.clear_cache()


def page_login(client, user, next_path: str | None = None):
    data = {"login": user.email, "password": PASSWORD}
    if next_path:
        data["next"] = next_path
    response = client.post("/login", data=data)
    assert response.status_code == 302, html(response)
    return response


def product(app, coordinator, group, name, variants, unit="kg", kind="produce", stock=None, member=None) -> list[int]:
    """A product with variants [(label, price)]; `stock` puts that much of each variant on hand."""
    with acting(app, coordinator) as signed_in:
        created = inv.create_product(
            signed_in,
            db.session.get(Group, group.id),
            name=name,
            kind=kind,
            unit=unit,
            variants=[{"label": label, "unit_price": price} for label, price in variants],
        )
        ids = [v.id for v in created.variants]
        db.session.commit()
    if stock is not None:
        setup = SimpleNamespace(user=coordinator, group=group, members=[member])
        for variant_id in ids:
            contribute(app, setup, variant_id, stock, member=member)
    return ids


def seller(app, name, village="Gembongan", phone="0812-3300-0201", **extra):
    """A coordinator with a phone, their group with a pickup point, and one contributing member."""
    from core.phone import normalize_phone

    coordinator = make_user(app, name=f"Ketua {name}", phone=normalize_phone(phone) if phone else None)
    group = make_group(
        app,
        coordinator,
        name=name,
        kind="farmer",
        village=village,
        district="Ponggok",
        pickup_point=f"Gudang {name}",
        pickup_hours="Setiap hari 06.00–10.00",
        **extra,
    )
    member = make_member(app, group, name="Pak Darmaji")
    return SimpleNamespace(user=coordinator, group=group, member=member)


@pytest.fixture
def market_setup(app, db):
    """Two groups in two villages; chilli (kg, two grades) and star fruit (kg); a buyer."""
    cabai = seller(app, "Kelompok Tani Cabai Makmur", village="Gembongan", phone="0812-3300-0201")
    belimbing = seller(app, "Kelompok Tani Belimbing Sari", village="Karangbendo", phone="0812-3300-0301")
    chilli = product(
        app,
        cabai.user,
        cabai.group,
        "Cabé rawit merah",
        [("Grade A", 45000), ("Grade B", 38000)],
        stock="10",
        member=cabai.member,
    )
    star = product(
        app,
        belimbing.user,
        belimbing.group,
        "Belimbing manis",
        [("Grade A", 18000)],
        stock="20",
        member=belimbing.member,
    )
    buyer = make_user(app, name="Bu Ratna", phone="+6281330001111")
    return SimpleNamespace(cabai=cabai, belimbing=belimbing, chilli=chilli, star=star, buyer=buyer)


def add(client, variant_id, quantity="1", next_path="/catalog"):
    return client.post("/cart/add", data={"variant_id": str(variant_id), "quantity": quantity, "next": next_path})


def checkout_form(client) -> dict:
    """The checkout form's fields as the page renders them (key, default date, default choices)."""
    page = client.get("/checkout")
    assert page.status_code == 200, html(page)
    body = html(page)
    key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', body) or re.search(
        r'value="([^"]+)"[^>]*name="idempotency_key"', body
    )
    day = re.search(r'name="date"[^>]*value="([^"]*)"', body) or re.search(r'value="([^"]*)"[^>]*name="date"', body)
    assert key and day, body
    return {
        "idempotency_key": key.group(1),
        "date": day.group(1),
        "fulfilment_method": "pickup",
        "payment_method": "cash",
        "address": "",
        "note": "",
    }


def reserved(app, variant_id) -> Decimal:
    with app.app_context():
        return db.session.get(Stock, variant_id).reserved


def count(app, model) -> int:
    with app.app_context():
        return db.session.query(model).count()


def place(app, buyer, lines, day=None, method="pickup", payment="cash", address=None) -> list[int]:
    """Place a checkout through the service as `buyer`; returns the order ids."""
    with acting(app, buyer):
        body = {
            "lines": [{"variant_id": v, "quantity": q} for v, q in lines],
            "fulfilment": {"method": method, "date": (day or market.today_wib()).isoformat(), "address": address},
            "payment_method": payment,
        }
        placed, _ = market.place_checkout(db.session.get(User, buyer.id), **body)
        db.session.commit()
        return [o.id for o in placed.orders]


def status_of(app, order_id) -> OrderStatus:
    with app.app_context():
        return db.session.get(Order, order_id).status


def products_found(app, n) -> str:
    """ "25 produk": the catalog's count line in Indonesian."""
    with app.test_request_context("/"), force_locale("id"):
        return str(escape(ngettext("%(num)d product", "%(num)d products", n)))


def product_names(body: str) -> list[str]:
    return re.findall(r'<h2><a href="/products/\d+">([^<]+)</a></h2>', body)


# --- the catalog ------------------------------------------------------------------


def test_catalog_lists_products_with_group_price_available_and_an_add_form(app, client, market_setup):
    with acting(app, market_setup.cabai.user) as coordinator:
        hidden = inv.create_product(
            coordinator,
            db.session.get(Group, market_setup.cabai.group.id),
            name="Terong ungu",
            kind="produce",
            unit="kg",
            unit_price=9000,
        )
        inv.update_product(coordinator, hidden, status="hidden")
        db.session.commit()
    page = client.get("/catalog")
    assert page.status_code == 200
    body = html(page)
    assert sorted(product_names(body)) == ["Belimbing manis", str(escape("Cabé rawit merah"))]
    assert "Terong ungu" not in body
    assert "Rp45.000" in body and "Rp38.000" in body and "Rp18.000" in body
    assert "Kelompok Tani Cabai Makmur" in body and "Gembongan" in body
    assert t(app, "%(quantity)s %(unit)s available", quantity="10", unit="kg") in body
    forms = re.findall(r'<form method="post" action="/cart/add".*?</form>', body, re.DOTALL)
    assert len(forms) == 3
    assert all('inputmode="decimal"' in form and 'name="quantity"' in form for form in forms)
    # Linked from the header and the home page.
    home = html(client.get("/"))
    assert home.count('href="/catalog"') >= 2


def test_catalog_search_ignores_case_and_accents(app, client, market_setup):
    for query in ("CABE", "cabé", "Rawit  Merah", "cabe rawit"):
        body = html(client.get("/catalog", query_string={"q": query}))
        assert product_names(body) == [str(escape("Cabé rawit merah"))], query
    body = html(client.get("/catalog", query_string={"q": "durian"}))
    assert product_names(body) == []
    assert t(app, "No products found. Try another word or fewer filters.") in body


def test_catalog_filters_by_kind_village_and_stock(app, client, market_setup):
    setup = market_setup
    product(
        app,
        setup.belimbing.user,
        setup.belimbing.group,
        "Keripik belimbing",
        [("standard", 15000)],
        unit="pcs",
        kind="processed",
    )  # nothing on hand
    body = html(client.get("/catalog", query_string={"kind": "processed"}))
    assert product_names(body) == ["Keripik belimbing"]
    body = html(client.get("/catalog", query_string={"village": "Karangbendo"}))
    assert sorted(product_names(body)) == ["Belimbing manis", "Keripik belimbing"]
    assert t(app, "sold out") in body
    body = html(client.get("/catalog", query_string={"village": "Karangbendo", "in_stock": "1"}))
    assert product_names(body) == ["Belimbing manis"]
    # The filters stay chosen on the page; unknown values are ignored, not an error.
    assert re.search(r"<option selected>Karangbendo</option>", body)
    assert 'name="in_stock" value="1" checked' in body
    assert client.get("/catalog", query_string={"kind": "spaceship", "sort": "random"}).status_code == 200


def test_catalog_sorts_by_price_and_newest(app, client, market_setup):
    cabai = str(escape("Cabé rawit merah"))
    assert product_names(html(client.get("/catalog", query_string={"sort": "price_asc"}))) == ["Belimbing manis", cabai]
    assert product_names(html(client.get("/catalog", query_string={"sort": "price_desc"}))) == [
        cabai,
        "Belimbing manis",
    ]
    # Newest first by default: star fruit was listed after chilli.
    assert product_names(html(client.get("/catalog"))) == ["Belimbing manis", cabai]


def test_catalog_pages_through_many_products(app, client, db):
    shop = seller(app, "KUB Jahit Sumberejo", village="Sumberejo")
    for i in range(25):
        product(app, shop.user, shop.group, f"Seragam {i:02d}", [("M", 90000)], unit="pcs", kind="garment")
    first = html(client.get("/catalog", query_string={"sort": "name"}))
    assert len(product_names(first)) == 20
    assert 'href="/catalog?page=2&amp;sort=name"' in first
    second = html(client.get("/catalog", query_string={"sort": "name", "page": "2"}))
    assert product_names(second) == [f"Seragam {i:02d}" for i in range(20, 25)]
    assert products_found(app, 25) in first


def test_catalog_with_20_products_is_under_60_kb(app, client, db):
    """The first load on a slow phone: HTML with its inline CSS, 20 products with 3 variants each."""
    shop = seller(app, "Kelompok Usaha Bersama Jahit dan Bordir Sumberejo Sejahtera", village="Sumberejo")
    for i in range(22):
        product(
            app,
            shop.user,
            shop.group,
            f"Seragam sekolah dasar lengan pendek model {i:02d}",
            [("S", 85000), ("M", 90000), ("L", 95000)],
            unit="pcs",
            kind="garment",
            stock="12",
            member=shop.member,
        )
    client.post("/cart/add", data={"variant_id": "1", "quantity": "1", "next": "/catalog"})
    response = client.get("/catalog")
    assert response.status_code == 200
    assert len(product_names(html(response))) == 20
    assert "<script" not in html(response)
    assert len(response.data) < 60_000, len(response.data)


# --- product page and storefront --------------------------------------------------------


def test_storefront_shows_pickup_point_hours_and_only_its_products(app, client, market_setup):
    group = market_setup.belimbing.group
    page = client.get(f"/groups/{group.id}/shop")
    assert page.status_code == 200
    body = html(page)
    assert "Gudang Kelompok Tani Belimbing Sari" in body and "Setiap hari 06.00–10.00" in body
    assert product_names(body) == ["Belimbing manis"]
    assert client.get("/groups/999999/shop").status_code == 404
    # The group's profile leads to it.
    assert f'href="/groups/{group.id}/shop"' in html(client.get(f"/groups/{group.id}"))


def test_product_page_shows_variants_and_hides_unlisted_products(app, client, market_setup):
    with app.app_context():
        product_id = db.session.scalar(select(Product.id).where(Product.name == "Belimbing manis"))
    body = html(client.get(f"/products/{product_id}"))
    assert "Belimbing manis" in body and "Rp18.000" in body and "Gudang Kelompok Tani Belimbing Sari" in body
    with acting(app, market_setup.belimbing.user) as coordinator:
        inv.update_product(coordinator, db.session.get(Product, product_id), status="hidden")
        db.session.commit()
    assert client.get(f"/products/{product_id}").status_code == 404
    page_login(client, market_setup.belimbing.user)
    body = html(client.get(f"/products/{product_id}"))  # its coordinator still sees it, without an add button
    assert "Belimbing manis" in body and 'name="quantity"' not in body


# --- the cart ------------------------------------------------------------------------


def test_anonymous_buyer_adds_updates_and_removes_cart_lines(app, client, market_setup):
    a = market_setup.chilli[0]
    response = add(client, a, "2,5", next_path="/catalog?q=cabe")
    assert response.status_code == 302  # back to the same product on the same catalog page
    with app.app_context():
        product_id = db.session.get(Variant, a).product_id
    assert response.headers["Location"] == f"/catalog?q=cabe#p{product_id}"
    add(client, a, "0.5")
    add(client, market_setup.star[0], "3")
    body = html(client.get("/cart"))
    assert 'value="3"' in body  # 2.5 + 0.5 of grade A
    assert "Rp135.000" in body  # 3 kg x Rp45.000
    assert "Rp54.000" in body  # star fruit
    assert "Rp189.000" in body  # total
    assert body.index("Kelompok Tani Belimbing Sari") < body.index("Kelompok Tani Cabai Makmur")
    assert t(app, "Subtotal") in body
    assert re.search(r'<a href="/cart">[^<]*\(2\)</a>', body)

    client.post("/cart/update", data={"variant_id": str(a), "quantity": "1,25"})
    body = html(client.get("/cart"))
    assert 'value="1,25"' in body and "Rp56.250" in body  # as typed: a decimal comma

    client.post("/cart/remove", data={"variant_id": str(market_setup.star[0])})
    body = html(client.get("/cart"))
    assert "Belimbing manis" not in body and "Rp56.250" in body
    client.post("/cart/update", data={"variant_id": str(a), "quantity": "0"})
    assert t(app, "Your cart is empty.") in html(client.get("/cart"))
    assert count(app, Checkout) == 0 and reserved(app, a) == 0


def test_cart_refuses_bad_quantities_and_unlisted_products(app, client, market_setup):
    setup = market_setup
    shirts = product(
        app,
        setup.cabai.user,
        setup.cabai.group,
        "Kaos kelompok",
        [("M", 50000)],
        unit="pcs",
        kind="garment",
        stock="5",
        member=setup.cabai.member,
    )
    response = add(client, shirts[0], "1.5")
    assert response.status_code == 302 and "#" not in response.headers["Location"]
    body = html(client.get("/catalog"))
    assert t(app, "%(unit)s takes whole numbers only.", unit="pcs") in body
    add(client, setup.chilli[0], "abc")
    add(client, setup.chilli[0], "-1")
    add(client, 999999, "1")
    assert t(app, "Your cart is empty.") in html(client.get("/cart"))

    add(client, setup.chilli[0], "1")
    with acting(app, setup.cabai.user) as coordinator:
        inv.update_product(
            coordinator, db.session.get(Product, db.session.get(Variant, setup.chilli[0]).product_id), status="archived"
        )
        db.session.commit()
    body = html(client.get("/cart"))  # no longer for sale: taken out, and said so
    assert t(app, "Your cart is empty.") in body
    assert str(escape("Cabé rawit merah")) in body


# --- checkout --------------------------------------------------------------------------


def test_checkout_requires_login_and_keeps_the_cart(app, client, market_setup):
    add(client, market_setup.chilli[0], "2")
    response = client.get("/checkout")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert parse_qs(urlsplit(response.headers["Location"]).query)["next"] == ["/checkout"]
    login = page_login(client, market_setup.buyer, next_path="/checkout")
    assert login.headers["Location"].endswith("/checkout")
    body = html(client.get("/checkout"))
    assert str(escape("Cabé rawit merah")) in body and "Rp90.000" in body
    assert 'name="idempotency_key"' in body


def test_checkout_makes_one_order_per_group_and_clears_the_cart(app, client, market_setup):
    setup = market_setup
    page_login(client, setup.buyer)
    add(client, setup.chilli[0], "2")
    add(client, setup.chilli[1], "1,5")
    add(client, setup.star[0], "3")
    form = checkout_form(client)
    response = client.post("/checkout", data=form)
    assert response.status_code == 302, html(response)
    with app.app_context():
        placed = db.session.scalar(select(Checkout))
        orders = list(placed.orders)
        assert [o.group_id for o in orders] == sorted([setup.cabai.group.id, setup.belimbing.group.id])
        assert placed.total == 90000 + 57000 + 54000
        assert all(o.status == OrderStatus.placed and o.fulfilment_method == "pickup" for o in orders)
        assert {o.fulfilment_date.isoformat() for o in orders} == {form["date"]}
        checkout_id = placed.id
    assert response.headers["Location"].endswith(f"/checkouts/{checkout_id}")
    assert reserved(app, setup.chilli[1]) == Decimal("1.5")
    body = html(client.get(f"/checkouts/{checkout_id}"))
    assert "Kelompok Tani Cabai Makmur" in body and "Kelompok Tani Belimbing Sari" in body
    assert "Gudang Kelompok Tani Belimbing Sari" in body
    assert t(app, "Your cart is empty.") in html(client.get("/cart"))


def test_resubmitting_the_same_form_lands_on_the_same_confirmation(app, client, market_setup):
    setup = market_setup
    page_login(client, setup.buyer)
    add(client, setup.chilli[0], "2")
    form = checkout_form(client)
    first = client.post("/checkout", data=form)
    assert first.status_code == 302
    # The same form again: after the first answer emptied the cart, and with a cart that differs.
    again = client.post("/checkout", data=form)
    assert again.headers["Location"] == first.headers["Location"]
    add(client, setup.star[0], "1")
    once_more = client.post("/checkout", data={**form, "note": "tolong cepat"})
    assert once_more.headers["Location"] == first.headers["Location"]
    assert count(app, Checkout) == 1 and count(app, Order) == 1
    assert reserved(app, setup.chilli[0]) == Decimal(2) and reserved(app, setup.star[0]) == 0
    # A new form (a new key) orders what is in the cart now.
    second = client.post("/checkout", data=checkout_form(client))
    assert second.status_code == 302 and second.headers["Location"] != first.headers["Location"]
    assert count(app, Checkout) == 2


def test_a_short_line_shows_requested_and_available_and_holds_nothing(app, client, market_setup):
    setup = market_setup
    page_login(client, setup.buyer)
    add(client, setup.chilli[0], "12")
    add(client, setup.chilli[1], "2")
    add(client, setup.star[0], "25")
    body = html(client.get("/cart"))
    assert t(app, "Only %(quantity)s %(unit)s available", quantity="10", unit="kg") in body
    form = {**checkout_form(client), "fulfilment_method": "delivery", "address": "Jl. Merdeka 5, Blitar"}
    response = client.post("/checkout", data=form)
    assert response.status_code == 409
    body = html(response)
    for requested in ("12", "25"):
        available = "10" if requested == "12" else "20"
        assert (
            t(
                app,
                "You asked for %(requested)s %(unit)s; only %(available)s %(unit)s available.",
                requested=requested,
                available=available,
                unit="kg",
            )
            in body
        )
    assert body.count('class="field-error"') == 2  # grade B is not short
    assert "Jl. Merdeka 5, Blitar" in body and form["idempotency_key"] in body  # the form is kept
    assert count(app, Checkout) == 0 and count(app, Order) == 0
    assert all(reserved(app, v) == 0 for v in (*setup.chilli, *setup.star))
    assert "Belimbing manis" in html(client.get("/cart"))  # the cart too


def test_delivery_without_an_address_is_refused_beside_the_field(app, client, market_setup):
    page_login(client, market_setup.buyer)
    add(client, market_setup.star[0], "1")
    form = {**checkout_form(client), "fulfilment_method": "delivery"}
    response = client.post("/checkout", data=form)
    assert response.status_code == 422
    assert t(app, "Give the delivery address.") in html(response)
    past = {**form, "address": "Jl. Kenanga 1", "date": (market.today_wib() - timedelta(days=1)).isoformat()}
    response = client.post("/checkout", data=past)
    assert response.status_code == 422
    assert count(app, Checkout) == 0 and reserved(app, market_setup.star[0]) == 0


def test_confirmation_links_to_the_coordinator_on_whatsapp(app, client, market_setup):
    page_login(client, market_setup.buyer)
    add(client, market_setup.star[0], "2")
    response = client.post("/checkout", data=checkout_form(client))
    body = html(client.get(response.headers["Location"]))
    with app.app_context():
        order_id = db.session.scalar(select(Order.id))
    links = re.findall(r'href="(https://wa\.me/[^"]+)"', body)
    assert len(links) == 1
    link = links[0].replace("&amp;", "&")
    parts = urlsplit(link)
    assert parts.path == "/6281233000301"
    text = unquote(parse_qs(parts.query)["text"][0])
    assert text.startswith(f"Halo, saya memesan pesanan #{order_id} di Kelompok Tani Belimbing Sari")
    assert "Rp36.000" in text and "Bu Ratna" in text
    assert " " not in parts.query  # encoded


def test_confirmation_without_a_coordinator_phone_has_no_link(app, client, db):
    quiet = seller(app, "KUB Tanpa Telepon", phone=None)
    variant = product(
        app, quiet.user, quiet.group, "Tempe", [("standard", 5000)], unit="pcs", stock="5", member=quiet.member
    )
    buyer = make_user(app)
    page_login(client, buyer)
    add(client, variant[0], "1")
    body = html(client.get(client.post("/checkout", data=checkout_form(client)).headers["Location"]))
    assert "wa.me" not in body
    assert t(app, "This group has no WhatsApp number yet; it will contact you.") in body


# --- orders: who sees them, who moves them -------------------------------------------------


def test_orders_are_seen_only_by_the_buyer_and_the_groups_coordinator_and_treasurer(app, make_client, market_setup):
    setup = market_setup
    (order_id,) = place(app, setup.buyer, [(setup.star[0], "2")])
    with app.app_context():
        checkout_id = db.session.get(Order, order_id).checkout_id
    treasurer = make_user(app, name="Bu Sulastri")
    make_member(app, setup.belimbing.group, name="Bu Sulastri", role="treasurer", user=treasurer)
    plain = make_user(app, name="Anggota biasa")
    make_member(app, setup.belimbing.group, name="Anggota biasa", user=plain)
    stranger = make_user(app, name="Orang lain")

    for user, expected in (
        (setup.buyer, 200),
        (setup.belimbing.user, 200),
        (treasurer, 200),
        (plain, 404),
        (stranger, 404),
        (setup.cabai.user, 404),
    ):
        client = make_client()
        page_login(client, user)
        assert client.get(f"/orders/{order_id}").status_code == expected, user.name
        mine = html(client.get("/orders"))
        assert (f'href="/orders/{order_id}"' in mine) == (user is setup.buyer)
        assert client.get(f"/checkouts/{checkout_id}").status_code == (200 if user is setup.buyer else 404)
    assert make_client().get(f"/orders/{order_id}").status_code == 302  # to the login page


def test_coordinator_confirms_packs_and_completes_an_order(app, make_client, market_setup):
    setup = market_setup
    (order_id,) = place(app, setup.buyer, [(setup.star[0], "2")])
    client = make_client()
    page_login(client, setup.belimbing.user)
    body = html(client.get(f"/orders/{order_id}"))
    assert f'action="/orders/{order_id}/confirm"' in body and f'action="/orders/{order_id}/cancel"' in body
    assert f'action="/orders/{order_id}/ready"' not in body
    assert "Bu Ratna" in body and 'href="tel:+6281330001111"' in body
    for action, status in (("confirm", OrderStatus.confirmed), ("ready", OrderStatus.ready)):
        response = client.post(f"/orders/{order_id}/{action}")
        assert response.status_code == 302
        assert status_of(app, order_id) == status
    # Unpaid, it is completed at handover: the cash the page shows as owed is recorded with the same button.
    body = html(client.get(f"/orders/{order_id}"))
    assert f'action="/orders/{order_id}/complete"' not in body
    handover = re.search(rf'<form method="post" action="/orders/{order_id}/handover">(.*?)</form>', body, re.S)
    assert handover, body
    fields = dict(re.findall(r'name="(amount|idempotency_key)"[^>]*value="([^"]*)"', handover.group(1)))
    assert fields["amount"] == "36000" and fields["idempotency_key"]
    response = client.post(f"/orders/{order_id}/handover", data=fields)
    assert response.status_code == 302
    assert status_of(app, order_id) == OrderStatus.completed
    body = html(client.get(f"/orders/{order_id}"))
    for step in ("confirm", "ready", "complete", "cancel", "handover", "payment"):
        assert f'action="/orders/{order_id}/{step}"' not in body  # nothing left to do
    for status in ("placed", "confirmed", "ready", "completed"):
        assert t(app, status) in body
    assert "WIB" in body
    # A second tap on a step already done says so, and changes nothing.
    response = client.post(f"/orders/{order_id}/confirm", follow_redirects=True)
    assert response.status_code == 200
    with app.app_context():
        assert db.session.query(OrderEvent).filter_by(order_id=order_id).count() == 4


def test_buyer_and_treasurer_cannot_use_coordinator_actions(app, make_client, market_setup):
    setup = market_setup
    (order_id,) = place(app, setup.buyer, [(setup.star[0], "2")])
    treasurer = make_user(app, name="Bu Sulastri")
    make_member(app, setup.belimbing.group, name="Bu Sulastri", role="treasurer", user=treasurer)
    buyer = make_client()
    page_login(buyer, setup.buyer)
    body = html(buyer.get(f"/orders/{order_id}"))
    assert f'action="/orders/{order_id}/confirm"' not in body
    assert f'action="/orders/{order_id}/cancel"' in body  # their own order, still placed
    for action in ("confirm", "ready", "complete"):
        assert buyer.post(f"/orders/{order_id}/{action}").status_code == 403
    keeper = make_client()
    page_login(keeper, treasurer)
    assert keeper.post(f"/orders/{order_id}/confirm").status_code == 403
    assert keeper.post(f"/orders/{order_id}/cancel").status_code == 403
    other = make_client()
    page_login(other, setup.cabai.user)
    assert other.post(f"/orders/{order_id}/confirm").status_code == 404
    assert other.post(f"/orders/{order_id}/launch").status_code == 404
    assert status_of(app, order_id) == OrderStatus.placed
    with app.app_context():
        assert db.session.query(OrderEvent).filter_by(order_id=order_id).count() == 1
    assert reserved(app, setup.star[0]) == Decimal(2)


def test_buyer_cancels_their_placed_order_and_the_stock_is_released(app, client, market_setup):
    setup = market_setup
    (order_id,) = place(app, setup.buyer, [(setup.star[0], "2")])
    page_login(client, setup.buyer)
    response = client.post(f"/orders/{order_id}/cancel", data={"reason": "salah pesan"})
    assert response.status_code == 302
    assert status_of(app, order_id) == OrderStatus.cancelled
    assert reserved(app, setup.star[0]) == 0
    body = html(client.get(f"/orders/{order_id}"))
    assert "salah pesan" in body and f'action="/orders/{order_id}/cancel"' not in body


# --- the coordinator's queue and packing list ---------------------------------------------


def test_queue_shows_open_orders_and_filters_by_status_and_day(app, client, market_setup):
    setup = market_setup
    today = market.today_wib()
    tomorrow = today + timedelta(days=1)
    (first,) = place(app, setup.buyer, [(setup.star[0], "1")], day=today)
    (second,) = place(app, setup.buyer, [(setup.star[0], "2")], day=tomorrow)
    (third,) = place(app, setup.buyer, [(setup.star[0], "3")], day=today)
    with acting(app, setup.belimbing.user) as lead:
        market.cancel(lead, db.session.get(Order, third))
        market.confirm(lead, db.session.get(Order, second))
        db.session.commit()

    def shown(**query):
        response = client.get(f"/groups/{setup.belimbing.group.id}/orders", query_string=query)
        assert response.status_code == 200
        return [int(n) for n in re.findall(r'<a class="rowlink" href="/orders/(\d+)"><strong>', html(response))]

    page_login(client, setup.belimbing.user)
    assert shown() == [first, second]  # open ones, by day
    assert shown(status="cancelled") == [third]
    assert shown(status="all") == [first, third, second]
    assert shown(date=tomorrow.isoformat()) == [second]
    assert shown(status="placed", date=today.isoformat()) == [first]
    assert shown(date="28-11-2026") == [first, second]  # unreadable: said so, and not applied
    body = html(client.get(f"/groups/{setup.belimbing.group.id}/orders"))
    assert f'action="/orders/{first}/confirm"' in body and f'action="/orders/{second}/ready"' in body
    assert "Bu Ratna" in body
    # From the dashboard and the profile.
    assert f'href="/groups/{setup.belimbing.group.id}/orders"' in html(
        client.get(f"/groups/{setup.belimbing.group.id}/dashboard")
    )
    assert f'href="/groups/{setup.belimbing.group.id}/orders"' in html(
        client.get(f"/groups/{setup.belimbing.group.id}")
    )


def test_queue_and_packing_list_are_for_the_groups_coordinator_and_treasurer(app, make_client, market_setup):
    setup = market_setup
    group_id = setup.belimbing.group.id
    plain = make_user(app)
    make_member(app, setup.belimbing.group, name="Anggota", user=plain)
    for user, expected in ((setup.buyer, 403), (plain, 403), (setup.cabai.user, 403), (setup.belimbing.user, 200)):
        client = make_client()
        page_login(client, user)
        assert client.get(f"/groups/{group_id}/orders").status_code == expected
        assert client.get(f"/groups/{group_id}/packing").status_code == expected
    assert make_client().get(f"/groups/{group_id}/orders").status_code == 302
    client = make_client()
    page_login(client, setup.buyer)
    assert f"/groups/{group_id}/orders" not in html(client.get(f"/groups/{group_id}"))


def test_packing_list_for_a_day_lists_confirmed_orders_and_totals(app, client, market_setup):
    setup = market_setup
    other_buyer = make_user(app, name="Warung Bu Sri")
    today = market.today_wib()
    tomorrow = today + timedelta(days=1)
    (a,) = place(app, setup.buyer, [(setup.chilli[0], "2"), (setup.chilli[1], "1")], day=tomorrow)
    (b,) = place(
        app, other_buyer, [(setup.chilli[0], "1.5")], day=tomorrow, method="delivery", address="Jl. Anggrek 3, Ponggok"
    )
    (c,) = place(app, other_buyer, [(setup.chilli[0], "4")], day=tomorrow)  # still placed: not packed yet
    (d,) = place(app, setup.buyer, [(setup.chilli[0], "1")], day=today)
    with acting(app, setup.cabai.user) as lead:
        for order_id in (a, b, d):
            market.confirm(lead, db.session.get(Order, order_id))
        db.session.commit()
    page_login(client, setup.cabai.user)
    response = client.get(f"/groups/{setup.cabai.group.id}/packing", query_string={"date": tomorrow.isoformat()})
    assert response.status_code == 200
    body = html(response)
    assert f"#{a}</a> · Bu Ratna" in body and f"#{b}</a> · Warung Bu Sri" in body
    assert f">#{c}<" not in body and f">#{d}<" not in body
    assert "Jl. Anggrek 3, Ponggok" in body
    totals = body[body.index(t(app, "Totals to pack")) : body.index(f">#{a}<")]
    assert re.search(r"Grade A</td><td>3.5 kg", totals) and re.search(r"Grade B</td><td>1 kg", totals)
    assert "@media print" in styles(client, response)
    today_body = html(client.get(f"/groups/{setup.cabai.group.id}/packing"))
    assert f"#{d}</a> · Bu Ratna" in today_body and f">#{a}<" not in today_body


def test_an_expired_card_order_shows_it_expired_automatically(app, client, market_setup):
    setup = market_setup
    (order_id,) = place(app, setup.buyer, [(setup.star[0], "2")], payment="card")
    with app.app_context():
        db.session.execute(update(Order).where(Order.id == order_id).values(expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    page_login(client, setup.buyer)
    client.get(f"/orders/{order_id}")
    assert status_of(app, order_id) == OrderStatus.placed  # opening a page changes nothing
    assert app.test_cli_runner().invoke(args=["orders", "expire"]).exit_code == 0
    body = html(client.get(f"/orders/{order_id}"))
    assert status_of(app, order_id) == OrderStatus.expired
    assert t(app, "expired") in body and t(app, "automatically") in body
    assert reserved(app, setup.star[0]) == 0


def test_pages_answer_in_english_too(app, client, market_setup):
    client.get("/lang/en")
    add(client, market_setup.star[0], "1")
    body = html(client.get("/cart"))
    assert '<html lang="en">' in body and "Subtotal" in body and "Continue to order" in body


def test_logging_out_forgets_the_cart_on_a_shared_phone(app, client):
    buyer = make_user(app, email="pembeli.hp@blitar.test")
    with client.session_transaction() as session:
        session["cart"] = {"1": "2"}
        session["lang"] = "en"
    login(client, buyer)
    assert client.post("/api/v1/auth/logout").status_code == 204
    with client.session_transaction() as session:
        assert "cart" not in session
        assert session.get("lang") == "en"
