"""Many buyers at once through a real HTTP server: stock never oversells and nobody gets a 5xx.

The app is served by a threaded werkzeug server on loopback, so each checkout is a
real request on its own thread, session and database connection, as under
gunicorn. Clients connect first, then a barrier releases every request together.
PostgreSQL takes 100 buyers (row locks); SQLite a smaller crowd, queued by
BEGIN IMMEDIATE and the busy timeout.
"""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from core.extensions import db
from inventory import services as inv
from inventory.models import Movement, MovementKind, Stock
from marketplace.models import Checkout, Order
from tests.factories import bearer, make_token, make_user
from tests.live_server import post_at_once
from tests.stock_helpers import contribute, make_product, make_stock_group

CHECKOUTS = "/api/v1/checkouts"


def _dialect(app) -> str:
    with app.app_context():
        return db.engine.dialect.name


def _shop(app, units: int, buyers: int):
    """One variant with exactly `units` pieces (from two members' lots) and `buyers` buyers with tokens."""
    setup = make_stock_group(app)
    [variant] = make_product(app, setup.user, setup.group, "pcs", labels=("M",), kind="garment", name="Daster batik")
    contribute(app, setup, variant, str(units - units // 2), member=setup.members[0])
    contribute(app, setup, variant, str(units // 2), member=setup.members[1])
    tokens = [make_token(app, make_user(app, name=f"Pembeli {i}")) for i in range(buyers)]
    return SimpleNamespace(variant=variant, tokens=tokens)


def _fire(server, requests: list[tuple[str, dict, str]]) -> list[tuple]:
    """POST every (token, body, key) to /checkouts at once; (status, json, Idempotent-Replayed) per request."""
    return post_at_once(server, [(CHECKOUTS, bearer(token), body, key) for token, body, key in requests])


def _body(variant: int, quantity="1") -> dict:
    return {
        "lines": [{"variant_id": variant, "quantity": quantity}],
        "fulfilment": {"method": "pickup"},
        "payment_method": "cash",
    }


def _books(app, variant):
    with app.app_context():
        stock = db.session.get(Stock, variant)
        reservations = db.session.scalar(
            select(func.count(Movement.id)).where(
                Movement.variant_id == variant, Movement.kind == MovementKind.reservation
            )
        )
        return SimpleNamespace(
            on_hand=stock.on_hand,
            reserved=stock.reserved,
            reservations=reservations,
            checkouts=db.session.scalar(select(func.count(Checkout.id))),
            orders=db.session.scalar(select(func.count(Order.id))),
            buyers=db.session.scalar(select(func.count(func.distinct(Order.buyer_id)))),
            problems=inv.stock_check(),
        )


def _crowd_buys_one_each(app, server, buyers: int, units: int):
    shop = _shop(app, units, buyers)

    results = _fire(server, [(token, _body(shop.variant), f"race-{i}") for i, token in enumerate(shop.tokens)])

    statuses = [status for status, _, _ in results]
    assert statuses.count(201) == units, statuses
    assert statuses.count(409) == buyers - units, statuses
    for status, body, _ in results:
        if status == 409:
            assert body["errors"]["lines"] == [{"variant_id": shop.variant, "requested": "1", "available": "0"}]
        else:
            assert body["total"] == 10000 and body["orders"][0]["lines"][0]["quantity"] == "1"
    books = _books(app, shop.variant)
    assert (books.on_hand, books.reserved) == (Decimal(units), Decimal(units))
    assert (books.reservations, books.checkouts, books.orders, books.buyers) == (units, units, units, units)
    assert books.problems == []


def test_100_buyers_for_10_units_exactly_10_succeed(app, server):
    if _dialect(app) != "postgresql":
        pytest.skip(
            "100 concurrent checkouts need PostgreSQL (row locks, many connections); "
            "set TEST_DATABASE_URL=postgresql+psycopg://... to run it"
        )
    _crowd_buys_one_each(app, server, buyers=100, units=10)


def test_30_buyers_for_5_units_exactly_5_succeed(app, server):
    _crowd_buys_one_each(app, server, buyers=30, units=5)


def test_a_burst_of_retries_with_one_key_makes_one_checkout(app, server):
    """A double tap on a slow connection, many times over: one checkout, stock reserved once."""
    shop = _shop(app, units=5, buyers=1)
    taps = 20 if _dialect(app) == "postgresql" else 8

    results = _fire(server, [(shop.tokens[0], _body(shop.variant, "2"), "tap")] * taps)

    assert [status for status, _, _ in results] == [201] * taps, results
    assert len({body["id"] for _, body, _ in results}) == 1
    assert [replayed for _, _, replayed in results].count(None) == 1  # the first; the rest are replays
    books = _books(app, shop.variant)
    assert (books.reserved, books.reservations, books.checkouts, books.orders) == (Decimal(2), 1, 1, 1)
    assert books.problems == []
