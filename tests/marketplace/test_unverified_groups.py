"""A group takes no money until the district admin verifies it: its goods are not in the catalog, its
storefront or checkout (API and pages), while it builds its catalog and its coordinator sees it; a verified
group whose bank account changes stops selling until verified again, and its open orders go on."""

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from accounts.models import User
from core.extensions import db
from inventory.models import Lot, Movement, Stock, Variant
from marketplace import catalog, catalog_cache
from marketplace.models import Checkout, Order, OrderEvent, OrderLine
from tests.factories import PASSWORD, assert_error, bearer, make_group, make_member, make_token, make_user
from tests.pages import html, t

API = "/api/v1"
BANK = {"bank_name": "BRI", "bank_account_number": "0123-01-000456-50-1", "bank_account_holder": "KUB Jahit Sumberejo"}


def actor(app, **user_kwargs):
    user = make_user(app, **user_kwargs)
    return SimpleNamespace(user=user, headers=bearer(make_token(app, user)), id=user.id)


def listed(app, client, group, lead, name, price, quantity) -> int:
    """A product of `group` with `quantity` in stock, through the coordinator's API; its variant id."""
    product = client.post(
        f"{API}/groups/{group.id}/products",
        json={"name": name, "kind": "garment", "unit": "pcs", "unit_price": price},
        headers=lead.headers,
    )
    assert product.status_code == 201, product.json
    variant_id = product.json["variants"][0]["id"]
    member = make_member(app, group, name=f"Penjahit {name}")
    given = client.post(
        f"{API}/groups/{group.id}/contributions",
        json={"variant_id": variant_id, "member_id": member.id, "quantity": quantity},
        headers=lead.headers,
    )
    assert given.status_code == 201, given.json
    return variant_id


@pytest.fixture(autouse=True)
def fresh_cache():
    catalog.clear_cache()
    yield
    catalog.clear_cache()


@pytest.fixture
def market(app, db, client):
    """The real KUB Jahit Sumberejo (verified) and an impostor of the same name in `Sumberej0` of another
    district (not verified): both list school uniforms with stock."""
    real_lead, impostor_lead = actor(app, name="Bu Ratna"), actor(app, name="Penipu")
    real = make_group(app, real_lead.user, name="KUB Jahit Sumberejo", village="Sumberejo", **BANK)
    impostor = make_group(
        app,
        impostor_lead.user,
        name="KUB Jahit Sumberejo",
        village="Sumberej0",
        district="Kanigoro",
        verified=False,
        bank_name="BCA",
        bank_account_number="666",
        bank_account_holder="Penipu",
    )
    return SimpleNamespace(
        real=real,
        real_lead=real_lead,
        real_variant=listed(app, client, real, real_lead, "Seragam sekolah SD", 85000, "10"),
        impostor=impostor,
        impostor_lead=impostor_lead,
        impostor_variant=listed(app, client, impostor, impostor_lead, "Seragam sekolah SD murah", 60000, "10"),
        buyer=actor(app, name="Bu Endang"),
        admin=actor(app, admin=True),
    )


def catalog_names(client, **query) -> list[str]:
    response = client.get(f"{API}/products", query_string=query)
    assert response.status_code == 200, response.json
    return [item["name"] for item in response.json["items"]]


def product_id_of(app, variant_id) -> int:
    with app.app_context():
        return db.session.get(Variant, variant_id).product_id


def state(app) -> dict:
    with app.app_context():
        found = {}
        for model in (Checkout, Order, OrderLine, OrderEvent, Stock, Lot, Movement):
            table = model.__table__
            found[table.name] = [
                dict(r._mapping) for r in db.session.execute(select(table).order_by(*table.primary_key.columns))
            ]
        return found


def checkout_body(*variant_ids, payment="transfer") -> dict:
    return {
        "lines": [{"variant_id": v, "quantity": "1"} for v in variant_ids],
        "fulfilment": {"method": "pickup"},
        "payment_method": payment,
    }


def verify(client, market, group, verified=True):
    response = client.post(f"{API}/groups/{group.id}/verify", json={"verified": verified}, headers=market.admin.headers)
    assert response.status_code == 200, response.json


def page_login(app, client, who):
    with app.app_context():
        email = db.session.get(User, who.id).email
    assert client.post("/login", data={"login": email, "password": PASSWORD}).status_code == 302


# --- the catalog, API and pages --------------------------------------------------------------


def test_the_catalog_api_offers_only_verified_groups_goods_with_the_mark(app, client, market):
    response = client.get(f"{API}/products", query_string={"q": "seragam"})

    [item] = response.json["items"]
    assert item["name"] == "Seragam sekolah SD" and item["group"]["verified"] is True
    assert response.json["total"] == 1
    assert catalog_names(client, group_id=market.impostor.id) == []
    assert catalog_names(client, village="Sumberej0") == []


def test_verifying_a_group_puts_its_goods_in_the_catalog(app, client, market):
    verify(client, market, market.impostor)

    assert sorted(catalog_names(client, q="seragam")) == ["Seragam sekolah SD", "Seragam sekolah SD murah"]


def test_an_unverified_groups_product_is_unknown_to_the_public_and_shown_to_its_coordinator(app, client, market):
    product_id = product_id_of(app, market.impostor_variant)

    public = client.get(f"{API}/products/{product_id}")
    buyer = client.get(f"{API}/products/{product_id}", headers=market.buyer.headers)
    own = client.get(f"{API}/products/{product_id}", headers=market.impostor_lead.headers)
    real = client.get(f"{API}/products/{product_id_of(app, market.real_variant)}")

    assert_error(public, 404)
    assert_error(buyer, 404)
    assert own.status_code == 200 and own.json["group"]["verified"] is False
    assert real.status_code == 200 and real.json["group"]["verified"] is True


def test_the_catalog_pages_show_the_mark_and_not_the_unverified_goods(app, client, market):
    page = html(client.get("/catalog?q=seragam"))
    shop = client.get(f"/groups/{market.impostor.id}/shop")
    product = client.get(f"/products/{product_id_of(app, market.impostor_variant)}")

    assert "Seragam sekolah SD" in page and "Seragam sekolah SD murah" not in page
    assert 'class="badge verified"' in page and t(app, "Verified") in page
    assert "Sumberej0" not in html(client.get("/catalog"))  # not among the villages either
    assert shop.status_code == 200 and "Seragam sekolah SD murah" not in html(shop)
    assert 'id="unverified"' in html(shop)
    assert product.status_code == 404
    client.get("/lang/en")
    assert t(app, "Verified", "en") in html(client.get("/catalog?q=seragam"))


def test_the_coordinator_of_an_unverified_group_still_sees_and_builds_their_catalog(app, client, market):
    page_login(app, client, market.impostor_lead)

    products = client.get(f"/groups/{market.impostor.id}/products")
    product = client.get(f"/products/{product_id_of(app, market.impostor_variant)}")
    profile = client.get(f"/groups/{market.impostor.id}")

    assert products.status_code == 200 and "Seragam sekolah SD murah" in html(products)
    assert 'id="unverified"' in html(products)
    assert product.status_code == 200
    notice = "Buyers do not see this product: the group is not verified by the district admin yet."
    assert t(app, notice) in html(product)
    assert 'name="quantity"' not in html(product)  # no add button
    assert 'id="unverified"' in html(profile)


def test_a_withdrawn_group_leaves_the_kept_catalog_at_once(app, client, market, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(catalog_cache, "_clock", lambda: now[0])
    monkeypatch.setattr(catalog, "in_background", lambda work: work())
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", 5)
    assert catalog_names(client, q="seragam") == ["Seragam sekolah SD"]
    assert catalog_names(client, q="seragam") == ["Seragam sekolah SD"]  # kept

    verify(client, market, market.real, verified=False)
    now[0] += 1
    assert catalog_names(client, q="seragam") == []  # the catalog's version moved on with the verification
    refused = client.post(f"{API}/checkouts", json=checkout_body(market.real_variant), headers=market.buyer.headers)
    assert_error(refused, 422, "lines.0.variant_id")  # checkout reads the group live


# --- checkout, API and pages ----------------------------------------------------------------


def test_checkout_of_an_unverified_groups_goods_is_refused_and_writes_nothing(app, client, market):
    before = state(app)

    response = client.post(
        f"{API}/checkouts",
        json=checkout_body(market.real_variant, market.impostor_variant),
        headers={**market.buyer.headers, "Idempotency-Key": "seragam-1"},
    )

    body = assert_error(response, 422, "lines.1.variant_id")
    assert body["errors"]["lines.1.variant_id"] == [t(app, "This product is not for sale.", raw=True)]
    assert "lines.0.variant_id" not in body["errors"]
    assert state(app) == before


def test_the_cart_refuses_and_drops_an_unverified_groups_goods(app, client, market):
    page_login(app, client, market.buyer)

    refused = client.post(
        "/cart/add", data={"variant_id": market.impostor_variant, "quantity": "1"}, follow_redirects=True
    )
    assert t(app, "This product is not for sale.") in html(refused)
    client.post("/cart/add", data={"variant_id": market.real_variant, "quantity": "1"})
    verify(client, market, market.real, verified=False)
    cart = client.get("/cart")
    before = state(app)
    checkout = client.post(
        "/checkout", data={"fulfilment_method": "pickup", "payment_method": "cash", "idempotency_key": "k-1"}
    )

    assert "Seragam sekolah SD" in html(cart)  # named in the message: taken out of the cart
    assert t(app, "No longer for sale, so taken out of your cart: %(names)s", names="Seragam sekolah SD") in html(cart)
    assert checkout.status_code == 422 and state(app) == before


# --- a new bank account: verified again before new checkouts; open orders go on ---------------------


def test_a_changed_bank_account_stops_new_checkouts_and_open_orders_go_on(app, client, market):
    first = client.post(f"{API}/checkouts", json=checkout_body(market.real_variant), headers=market.buyer.headers)
    assert first.status_code == 201, first.json
    [order] = first.json["orders"]
    assert order["payment_instructions"]["account_number"] == BANK["bank_account_number"]

    changed = client.patch(
        f"{API}/groups/{market.real.id}", json={"bank_account_number": "666-666"}, headers=market.real_lead.headers
    )
    again = client.post(f"{API}/checkouts", json=checkout_body(market.real_variant), headers=market.buyer.headers)
    shown = client.get(f"{API}/orders/{order['id']}", headers=market.buyer.headers).json
    page_login(app, client, market.buyer)
    page = client.get(f"/orders/{order['id']}")
    confirmed = client.post(f"{API}/orders/{order['id']}/confirm", headers=market.real_lead.headers)

    assert changed.status_code == 200 and changed.json["verified"] is False
    assert_error(again, 422, "lines.0.variant_id")
    assert catalog_names(client, q="seragam") == []
    instructions = shown["payment_instructions"]
    assert instructions["account_verified"] is False
    assert instructions["account_number"] is None and instructions["bank_name"] is None
    assert page.status_code == 200 and 'id="account-unverified"' in html(page)
    assert "666-666" not in html(page)
    assert confirmed.status_code == 200, confirmed.json  # the order goes on

    verify(client, market, market.real)
    reshown = client.get(f"{API}/orders/{order['id']}", headers=market.buyer.headers).json["payment_instructions"]
    assert reshown["account_number"] == "666-666" and reshown["account_verified"] is True
    assert (
        client.post(
            f"{API}/checkouts", json=checkout_body(market.real_variant), headers=market.buyer.headers
        ).status_code
        == 201
    )


# --- the report, against the demo -----------------------------------------------------------------


def test_against_the_demo_the_impostor_of_the_report_gets_no_money(app, db, client):
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    assert {item["group"]["name"] for item in client.get(f"{API}/products?per_page=100").json["items"]} == {
        "KUB Jahit Sumberejo",
        "Kelompok Tani Cabai Makmur",
        "Kelompok Tani Belimbing Sari",
    }  # the demo groups are verified and sell
    impostor = actor(app)
    group = {"kind": "business", "village": "Sumberej0", "district": "Sanankulon", **BANK, "bank_name": "BCA"}

    same = client.post(f"{API}/groups", json={**group, "name": "KUB Jahit Sumberejo"}, headers=impostor.headers)
    other = client.post(f"{API}/groups", json={**group, "name": "KUB Jahit Sumber Rejo"}, headers=impostor.headers)
    assert_error(same, 422, "name")
    assert other.status_code == 201, other.json
    variant_id = listed(app, client, SimpleNamespace(id=other.json["id"]), impostor, "Seragam sekolah SD", 50000, "5")
    buyer = actor(app)
    response = client.post(f"{API}/checkouts", json=checkout_body(variant_id), headers=buyer.headers)

    assert_error(response, 422, "lines.0.variant_id")
    sellers = {item["group"]["id"] for item in client.get(f"{API}/products?q=seragam").json["items"]}
    assert sellers and other.json["id"] not in sellers
