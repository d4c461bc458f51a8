"""Checkout keeps every amount under its ceiling before it writes: a line, an order and the checkout come to at
most MAX_AMOUNT (a price under MAX_UNIT_PRICE times a quantity under MAX_QUANTITY can still go above), and a
variant priced above MAX_UNIT_PRICE (a row from before prices were capped) is not for sale. Each is a 422 in the
one error shape that changes nothing, never a 500."""

from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from core.extensions import db
from core.money import MAX_AMOUNT, MAX_UNIT_PRICE
from core.quantity import MAX_QUANTITY
from inventory.models import Variant
from marketplace.services import MAX_LINES
from tests.factories import assert_error, login
from tests.market import API, body_of, contribute, create_product, moved, placed, post_checkout, state
from tests.marketplace.test_marketplace_pages import add, checkout_form
from tests.pages import html, t

BIGINT_MAX = 2**63 - 1
CEILING_TEXT = "Rp1.000.000.000.000"


def priced(app, variant_id: int, price: int) -> None:
    """Give a variant a price straight in the database, as a row kept from before prices were capped."""
    with app.app_context():
        db.session.execute(update(Variant).where(Variant.id == variant_id).values(unit_price=price))
        db.session.commit()


@pytest.fixture
def plenty(app, client, market):
    """Three variants of one group in kg: A and B with MAX_QUANTITY in stock, C with 1000 kg (Siti's)."""
    m = market
    product = create_product(
        client,
        m.tani,
        m.lead.headers,
        name="Beras",
        kind="produce",
        unit="kg",
        variants=[{"label": label, "unit_price": 1000} for label in ("A", "B", "C")],
    )
    variants = [v["id"] for v in product["variants"]]
    for variant_id, quantity in zip(variants, (str(MAX_QUANTITY), str(MAX_QUANTITY), "1000"), strict=True):
        contribute(client, m.tani, m.lead.headers, variant_id, m.siti, quantity)
    return SimpleNamespace(market=m, variants=variants)


def test_a_line_at_the_ceiling_is_placed(app, client, plenty):
    m, [a, *_rest] = plenty.market, plenty.variants
    priced(app, a, 10_000)
    checkout = placed(client, m.buyer, body_of((a, str(MAX_QUANTITY))))
    assert checkout["total"] == checkout["orders"][0]["total"] == MAX_AMOUNT


def test_a_line_above_the_ceiling_is_422_and_changes_nothing(app, client, plenty):
    # A price at its own ceiling times ten thousand: Rp10.000.000.000.000, above MAX_AMOUNT.
    m, [a, b, _c] = plenty.market, plenty.variants
    response = client.patch(f"{API}/variants/{a}", headers=m.lead.headers, json={"unit_price": MAX_UNIT_PRICE})
    assert response.status_code == 200, response.json
    before = state(app)
    response = post_checkout(
        client, {**m.buyer.headers, "Accept-Language": "en"}, body_of((b, "1"), (a, "10000")), key="k-1"
    )
    body = assert_error(response, 422, "lines.1.quantity")
    assert body["errors"]["lines.1.quantity"] == [
        f"This line comes to more than {CEILING_TEXT}, the most one order may be."
    ]
    assert state(app) == before


def test_lines_each_under_the_ceiling_that_come_to_more_together_are_422_and_change_nothing(app, client, plenty):
    m, [a, b, _c] = plenty.market, plenty.variants
    priced(app, a, 10_000)
    priced(app, b, 10_000)
    before = state(app)
    # Rp1.000.000.000.000 and Rp10.000: one order, one checkout, above the ceiling.
    response = post_checkout(
        client, {**m.buyer.headers, "Accept-Language": "en"}, body_of((a, str(MAX_QUANTITY)), (b, "1"))
    )
    body = assert_error(response, 422, "lines")
    assert body["message"] == f"This checkout comes to more than {CEILING_TEXT}, the most one checkout may be."
    assert state(app) == before


def test_a_variant_on_several_lines_is_counted_once_against_the_quantity_ceiling(app, client, plenty):
    m, [a, *_rest] = plenty.market, plenty.variants
    priced(app, a, 1)
    before = state(app)
    half = str(MAX_QUANTITY // 2)
    response = post_checkout(client, m.buyer, body_of((a, half), (a, half), (a, "1")))
    assert_error(response, 422, "lines.0.quantity")
    assert state(app) == before


@pytest.mark.parametrize("price", [10**15, MAX_UNIT_PRICE + 1, BIGINT_MAX])
def test_a_variant_priced_above_the_unit_ceiling_before_it_was_capped_is_not_for_sale(app, client, plenty, price):
    # The first reproduction: Rp10^15 a unit times 10.000 answered 500 (bigint out of range on the checkout's insert).
    m, [a, b, _c] = plenty.market, plenty.variants
    priced(app, a, price)
    before = state(app)
    response = post_checkout(client, m.buyer, body_of((b, "1"), (a, "10000")))
    assert set(assert_error(response, 422, "lines.1.variant_id")["errors"]) == {"lines.1.variant_id"}
    assert state(app) == before


def test_the_checkout_page_shows_a_line_above_the_ceiling_and_places_nothing(app, client, plenty):
    m, [a, *_rest] = plenty.market, plenty.variants
    priced(app, a, MAX_UNIT_PRICE)
    login(client, m.buyer.user)
    add(client, a, "1001")
    before = state(app)
    response = client.post("/checkout", data=checkout_form(client))
    assert response.status_code == 422
    shown = t(app, "This line comes to more than %(amount)s, the most one order may be.", amount=CEILING_TEXT)
    assert shown in html(response)
    assert state(app) == before


# --- the property: price x quantity x lines to the limits, never a 500 ----------------------------------------

prices = st.one_of(
    st.integers(0, MAX_UNIT_PRICE),
    st.sampled_from([MAX_UNIT_PRICE, MAX_UNIT_PRICE + 1, 10**13, 10**15, BIGINT_MAX]),
    st.integers(MAX_UNIT_PRICE + 1, BIGINT_MAX),
)
quantities = st.one_of(
    st.integers(1, int(MAX_QUANTITY)).map(str),
    st.decimals(min_value="0.001", max_value=MAX_QUANTITY, places=3).map(str),
    st.sampled_from(["1", "0.001", "10000", str(MAX_QUANTITY), str(MAX_QUANTITY + 1), "999999999999"]),
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    price_list=st.lists(st.tuples(prices, st.booleans()), min_size=3, max_size=3),
    lines=st.lists(st.tuples(st.integers(0, 2), quantities), min_size=1, max_size=MAX_LINES),
)
@example(price_list=[(10**4, False), (0, False), (1, False)], lines=[(0, str(MAX_QUANTITY))])  # at the ceiling
@example(price_list=[(10**4, False), (1, False), (1, False)], lines=[(0, str(MAX_QUANTITY)), (1, "1")])
@example(price_list=[(10**15, True), (1, False), (1, False)], lines=[(0, "10000")])  # the first reproduction
@example(price_list=[(1, False)] * 3, lines=[(2, "1000.001")])  # short of stock: 409
@example(price_list=[(BIGINT_MAX, True)] * 3, lines=[(i % 3, str(MAX_QUANTITY)) for i in range(MAX_LINES)])
def test_no_price_quantity_or_number_of_lines_makes_checkout_answer_500(app, client, plenty, price_list, lines):
    m, variants = plenty.market, plenty.variants
    for variant_id, (price, kept_from_before) in zip(variants, price_list, strict=True):
        if kept_from_before:
            priced(app, variant_id, price)
        else:  # through the API, where a price above its ceiling is refused
            response = client.patch(f"{API}/variants/{variant_id}", headers=m.lead.headers, json={"unit_price": price})
            assert response.status_code == (200 if price <= MAX_UNIT_PRICE else 422), response.json
    response = post_checkout(client, m.buyer, body_of(*((variants[i], q) for i, q in lines)))
    assert response.status_code in (201, 409, 422), response.get_data(as_text=True)[:500]
    if response.status_code == 201:
        assert response.json["total"] <= MAX_AMOUNT
        for order in response.json["orders"]:
            assert order["total"] <= MAX_AMOUNT
            moved(client, order["id"], "cancel", m.buyer)  # the stock back for the next example
    else:
        assert_error(response, response.status_code)
