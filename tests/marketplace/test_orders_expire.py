"""Unpaid card orders expire after their payment window: by `flask orders expire`, and where their stock is needed.

A checkout (or a late card payment standing an order again) that finds a variant
short first expires the overdue orders holding it, in its own transaction, and
tries again. Nothing else expires them: no GET writes anything.
"""

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from accounts.models import User
from core.extensions import db
from core.types import utcnow
from marketplace import services as market
from marketplace.models import Order, OrderEvent, OrderStatus
from marketplace.services import checkout, expiry, orders
from tests.books import stock_problems
from tests.factories import bearer, login, make_token, make_user
from tests.marketplace.test_checkout_sql import Statements
from tests.stock_helpers import acting, contribute, counters, make_product, make_stock_group

API = "/api/v1"


class Clock:
    """What marketplace.services takes for now."""

    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    for module in (checkout, expiry, orders):  # the modules of marketplace.services that read the clock
        monkeypatch.setattr(module, "utcnow", clock)
    return clock


@pytest.fixture
def shop(app, db):
    setup = make_stock_group(app)
    [variant] = make_product(app, setup.user, setup.group, unit="pcs")
    contribute(app, setup, variant, "10")
    setup.variant = variant
    setup.buyer = make_user(app, name="Bu Ratna")
    setup.other_buyer = make_user(app, name="Pak Joko")
    setup.other_headers = bearer(make_token(app, setup.other_buyer))
    return setup


def place(app, shop, payment_method="card", quantity="2", variant=None) -> int:
    lines = [{"variant_id": variant or shop.variant, "quantity": quantity}]
    with acting(app, shop.buyer):
        checkout, _ = market.place_checkout(
            db.session.get(User, shop.buyer.id), lines, {"method": "pickup"}, payment_method
        )
        db.session.commit()
        return checkout.orders[0].id


def buy(client, shop, quantity, variant=None, payment_method="cash"):
    """The other buyer's checkout through the API."""
    body = {
        "lines": [{"variant_id": variant or shop.variant, "quantity": quantity}],
        "fulfilment": {"method": "pickup"},
        "payment_method": payment_method,
    }
    return client.post(f"{API}/checkouts", json=body, headers=shop.other_headers)


def status_of(app, order_id) -> OrderStatus:
    with app.app_context():
        return db.session.get(Order, order_id).status


def reserved(app, variant_id) -> Decimal:
    with app.app_context():
        return counters(variant_id)[1]


def events_of(app, order_id) -> list[tuple]:
    with app.app_context():
        return [
            (e.from_status, e.to_status, e.actor_id, e.note)
            for e in db.session.scalars(
                select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)
            )
        ]


def expire_command(app):
    result = app.test_cli_runner().invoke(args=["orders", "expire"])
    assert result.exit_code == 0, result.output
    return result.output


# --- flask orders expire ------------------------------------------------------------------------


def test_card_order_expires_after_its_window_and_its_stock_is_released(app, shop, clock, monkeypatch):
    monkeypatch.setitem(app.config, "CARD_PAYMENT_WINDOW_MINUTES", 15)
    order_id = place(app, shop)
    with app.app_context():
        assert db.session.get(Order, order_id).expires_at == clock.now + timedelta(minutes=15)
    assert reserved(app, shop.variant) == Decimal(2)

    clock.advance(minutes=14, seconds=59)
    assert expire_command(app) == "0 order(s) expired.\n"
    assert status_of(app, order_id) == OrderStatus.placed

    clock.advance(seconds=2)
    assert expire_command(app) == "1 order(s) expired.\n"

    assert status_of(app, order_id) == OrderStatus.expired
    assert reserved(app, shop.variant) == Decimal(0)
    assert [event[:3] for event in events_of(app, order_id)] == [
        (None, OrderStatus.placed, shop.buyer.id),
        (OrderStatus.placed, OrderStatus.expired, None),
    ]
    assert stock_problems(app) == []
    assert expire_command(app) == "0 order(s) expired.\n"  # once is enough


def test_a_confirmed_but_unpaid_card_order_expires_too(app, shop, clock):
    order_id = place(app, shop)
    with acting(app, shop.user) as lead:
        market.confirm(lead, db.session.get(Order, order_id))
        db.session.commit()
    clock.advance(minutes=31)

    assert expire_command(app) == "1 order(s) expired.\n"

    assert status_of(app, order_id) == OrderStatus.expired
    assert reserved(app, shop.variant) == Decimal(0)


@pytest.mark.parametrize("payment_method", ["cash", "transfer"])
def test_cash_and_transfer_orders_never_expire(app, shop, clock, payment_method):
    order_id = place(app, shop, payment_method)
    with app.app_context():
        assert db.session.get(Order, order_id).expires_at is None
    clock.advance(days=60)

    assert expire_command(app) == "0 order(s) expired.\n"

    assert status_of(app, order_id) == OrderStatus.placed
    assert reserved(app, shop.variant) == Decimal(2)


def test_only_orders_past_their_window_expire(app, shop, clock):
    first = place(app, shop, quantity="1")
    clock.advance(minutes=20)
    second = place(app, shop, quantity="3")
    clock.advance(minutes=11)  # the first is 31 minutes old, the second 11

    assert expire_command(app) == "1 order(s) expired.\n"

    assert status_of(app, first) == OrderStatus.expired
    assert status_of(app, second) == OrderStatus.placed
    assert reserved(app, shop.variant) == Decimal(3)
    assert stock_problems(app) == []


def test_packed_and_finished_orders_do_not_expire(app, shop, clock):
    ready, cancelled = place(app, shop), place(app, shop)
    with acting(app, shop.user) as lead:
        order = db.session.get(Order, ready)
        market.confirm(lead, order)
        market.mark_ready(lead, order)
        market.cancel(lead, db.session.get(Order, cancelled))
        db.session.commit()
    clock.advance(hours=2)

    assert expire_command(app) == "0 order(s) expired.\n"
    assert (status_of(app, ready), status_of(app, cancelled)) == (OrderStatus.ready, OrderStatus.cancelled)


# --- where the stock is needed ------------------------------------------------------------------


def test_an_overdue_card_order_holding_the_last_stock_does_not_block_a_new_checkout(app, client, shop, clock):
    overdue = place(app, shop, quantity="10")  # every unit
    clock.advance(minutes=31)

    response = buy(client, shop, "10")

    assert response.status_code == 201, response.json
    assert status_of(app, overdue) == OrderStatus.expired
    assert events_of(app, overdue)[-1] == (OrderStatus.placed, OrderStatus.expired, None, "payment window passed")
    assert reserved(app, shop.variant) == Decimal(10)  # all of it, for the new order
    [new_order] = response.json["orders"]
    assert (new_order["status"], new_order["lines"][0]["quantity"]) == ("placed", "10")
    assert stock_problems(app) == []


def test_a_short_checkout_expires_only_what_it_needs_to_and_only_when_short(app, client, shop, clock):
    [other_variant] = make_product(app, shop.user, shop.group, unit="pcs", name="Tas anyaman")
    contribute(app, shop, other_variant, "5")
    holding_this = place(app, shop, quantity="6")
    holding_other = place(app, shop, quantity="5", variant=other_variant)
    clock.advance(minutes=31)

    assert buy(client, shop, "4").status_code == 201  # 4 of the 4 left: nothing short, nothing expired
    assert status_of(app, holding_this) == OrderStatus.placed

    assert buy(client, shop, "1").status_code == 201  # short: the overdue order holding it gives way

    assert status_of(app, holding_this) == OrderStatus.expired
    assert status_of(app, holding_other) == OrderStatus.placed  # overdue too, but it holds another variant
    assert (reserved(app, shop.variant), reserved(app, other_variant)) == (Decimal(5), Decimal(5))
    assert stock_problems(app) == []


def test_a_card_order_within_its_window_still_holds_its_stock(app, client, shop, clock):
    order_id = place(app, shop, quantity="10")
    clock.advance(minutes=29)

    response = buy(client, shop, "1")

    assert response.status_code == 409
    assert response.json["errors"]["lines"] == [{"variant_id": shop.variant, "requested": "1", "available": "0"}]
    assert status_of(app, order_id) == OrderStatus.placed
    assert reserved(app, shop.variant) == Decimal(10)


def test_a_checkout_still_short_after_expiring_changes_nothing(app, client, shop, clock):
    overdue = place(app, shop, quantity="4")
    held = place(app, shop, quantity="5", payment_method="cash")
    clock.advance(minutes=31)

    response = buy(client, shop, "6")

    assert response.status_code == 409
    # What it could have had: the overdue order's 4 and the 1 no one held.
    assert response.json["errors"]["lines"] == [{"variant_id": shop.variant, "requested": "6", "available": "5"}]
    assert (status_of(app, overdue), status_of(app, held)) == (OrderStatus.placed, OrderStatus.placed)
    assert reserved(app, shop.variant) == Decimal(9)
    assert stock_problems(app) == []


def test_the_checkout_page_takes_the_stock_of_an_overdue_order_too(app, client, shop, clock):
    overdue = place(app, shop, quantity="10")
    clock.advance(minutes=31)
    login(client, shop.other_buyer)
    client.post(
        "/cart/add", data={"variant_id": shop.variant, "quantity": "3"}, headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert client.get("/cart").status_code == 200

    response = client.post(
        "/checkout", data={"fulfilment_method": "pickup", "payment_method": "cash", "idempotency_key": "page-1"}
    )

    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert status_of(app, overdue) == OrderStatus.expired
    assert reserved(app, shop.variant) == Decimal(3)


def test_a_late_card_payment_stands_its_order_again_by_expiring_an_overdue_one(app, shop, clock):
    paid_late = place(app, shop, quantity="10")
    clock.advance(minutes=31)
    assert expire_command(app) == "1 order(s) expired.\n"
    overdue = place(app, shop, quantity="10")  # took every unit back, and its own window passed too
    clock.advance(minutes=31)

    with acting(app):
        order = db.session.get(Order, paid_late)
        assert market.reinstate_expired(order, "card payment arrived after expiry")
        db.session.commit()

    assert (status_of(app, paid_late), status_of(app, overdue)) == (OrderStatus.placed, OrderStatus.expired)
    assert reserved(app, shop.variant) == Decimal(10)
    assert stock_problems(app) == []


# --- no GET writes --------------------------------------------------------------------------------


def test_no_get_writes_and_an_overdue_order_stays_until_its_stock_is_needed(app, make_client, shop, clock):
    order_id = place(app, shop, quantity="10")
    with acting(app):
        checkout_id = db.session.get(Order, order_id).checkout_id
    clock.advance(minutes=31)
    buyer, coordinator = make_client(), make_client()
    login(buyer, shop.buyer)
    login(coordinator, shop.user)
    headers = bearer(make_token(app, shop.buyer))
    gets = [
        (buyer, f"{API}/products", {}),
        (buyer, f"{API}/products?in_stock=true", {}),
        (buyer, f"{API}/orders", headers),
        (buyer, f"{API}/orders/{order_id}", headers),
        (buyer, f"{API}/checkouts/{checkout_id}", headers),
        (buyer, "/catalog", {}),
        (buyer, "/orders", {}),
        (buyer, f"/orders/{order_id}", {}),
        (buyer, "/cart", {}),
        (coordinator, f"/groups/{shop.group.id}/orders", {}),
        (coordinator, f"{API}/orders/{order_id}", {}),
    ]

    with Statements(app) as statements:
        for who, path, extra in gets:
            assert who.get(path, headers=extra).status_code == 200, path

    assert statements.seen and statements.writes == []
    assert status_of(app, order_id) == OrderStatus.placed
    assert reserved(app, shop.variant) == Decimal(10)


# --- PostgreSQL: a sale waits for no one while it expires -------------------------------------------


class HeldRowLock:
    """Another connection holding a row lock, let go of after `seconds` at the latest."""

    def __init__(self, app, sql: str, params: dict, seconds: float = 5):
        with app.app_context():
            self.connection = db.engine.connect()
        self.connection.execute(text(sql), params)
        self.timer = threading.Timer(seconds, self.connection.rollback)

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.cancel()
        self.connection.rollback()
        self.connection.close()


@pytest.fixture
def postgresql(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("row locks: PostgreSQL")


@pytest.mark.parametrize("locked", ["the order", "a stock row it holds"])
def test_an_overdue_order_another_transaction_holds_is_left_to_it(app, client, shop, clock, postgresql, locked):
    [other_variant] = make_product(app, shop.user, shop.group, unit="pcs", name="Tas anyaman")
    contribute(app, shop, other_variant, "5")
    with acting(app, shop.buyer):
        checkout, _ = market.place_checkout(
            db.session.get(User, shop.buyer.id),
            [{"variant_id": shop.variant, "quantity": "10"}, {"variant_id": other_variant, "quantity": "1"}],
            {"method": "pickup"},
            "card",
        )
        db.session.commit()
        overdue = checkout.orders[0].id
    clock.advance(minutes=31)
    sql, params = (
        ("SELECT id FROM orders WHERE id = :id FOR UPDATE", {"id": overdue})
        if locked == "the order"
        else ("SELECT variant_id FROM stock WHERE variant_id = :id FOR UPDATE", {"id": other_variant})
    )

    with HeldRowLock(app, sql, params):
        started = time.monotonic()
        response = buy(client, shop, "1")
        waited = time.monotonic() - started

    assert response.status_code == 409 and waited < 3
    assert status_of(app, overdue) == OrderStatus.placed
    assert buy(client, shop, "1").status_code == 201  # once the other transaction is done
    assert status_of(app, overdue) == OrderStatus.expired
    assert stock_problems(app) == []
