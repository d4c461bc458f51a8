"""Unpaid card orders expire after their payment window: `flask orders expire`, and the sweep in requests."""
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from accounts.models import User
from core.extensions import db
from core.types import utcnow
from inventory import services as inv
from marketplace import services as market
from marketplace.models import Order, OrderEvent, OrderStatus
from tests.factories import make_user
from tests.stock_helpers import acting, contribute, counters, make_product, make_stock_group


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
    monkeypatch.setattr(market, "utcnow", clock)
    return clock


@pytest.fixture(autouse=True)
def no_recent_sweep():
    market._last_sweep.clear()
    yield
    market._last_sweep.clear()


@pytest.fixture
def shop(app, db):
    setup = make_stock_group(app)
    [variant] = make_product(app, setup.user, setup.group, unit="pcs")
    contribute(app, setup, variant, "10")
    setup.variant = variant
    setup.buyer = make_user(app, name="Bu Ratna")
    return setup


def place(app, shop, payment_method="card", quantity="2") -> int:
    with acting(app, shop.buyer):
        checkout, _ = market.place_checkout(db.session.get(User, shop.buyer.id),
                                            [{"variant_id": shop.variant, "quantity": quantity}], {"method": "pickup"},
                                            payment_method)
        db.session.commit()
        return checkout.orders[0].id


def status_of(app, order_id) -> OrderStatus:
    with app.app_context():
        return db.session.get(Order, order_id).status


def reserved(app, shop) -> Decimal:
    with app.app_context():
        return counters(shop.variant)[1]


def expire_command(app):
    result = app.test_cli_runner().invoke(args=["orders", "expire"])
    assert result.exit_code == 0, result.output
    return result.output


def test_card_order_expires_after_its_window_and_its_stock_is_released(app, shop, clock, monkeypatch):
    monkeypatch.setitem(app.config, "CARD_PAYMENT_WINDOW_MINUTES", 15)
    order_id = place(app, shop)
    with app.app_context():
        assert db.session.get(Order, order_id).expires_at == clock.now + timedelta(minutes=15)
    assert reserved(app, shop) == Decimal(2)

    clock.advance(minutes=14, seconds=59)
    assert expire_command(app) == "0 order(s) expired.\n"
    assert status_of(app, order_id) == OrderStatus.placed

    clock.advance(seconds=2)
    assert expire_command(app) == "1 order(s) expired.\n"

    assert status_of(app, order_id) == OrderStatus.expired
    assert reserved(app, shop) == Decimal(0)
    with app.app_context():
        events = db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order_id)
                                    .order_by(OrderEvent.id)).all()
        assert [(e.from_status, e.to_status, e.actor_id) for e in events] == [
            (None, OrderStatus.placed, shop.buyer.id), (OrderStatus.placed, OrderStatus.expired, None)]
        assert inv.stock_check() == []
    assert expire_command(app) == "0 order(s) expired.\n"  # once is enough


def test_a_confirmed_but_unpaid_card_order_expires_too(app, shop, clock):
    order_id = place(app, shop)
    with acting(app, shop.user):
        market.confirm(db.session.get(Order, order_id))
        db.session.commit()
    clock.advance(minutes=31)

    assert expire_command(app) == "1 order(s) expired.\n"

    assert status_of(app, order_id) == OrderStatus.expired
    assert reserved(app, shop) == Decimal(0)


@pytest.mark.parametrize("payment_method", ["cash", "transfer"])
def test_cash_and_transfer_orders_never_expire(app, shop, clock, payment_method):
    order_id = place(app, shop, payment_method)
    with app.app_context():
        assert db.session.get(Order, order_id).expires_at is None
    clock.advance(days=60)

    assert expire_command(app) == "0 order(s) expired.\n"

    assert status_of(app, order_id) == OrderStatus.placed
    assert reserved(app, shop) == Decimal(2)


def test_only_orders_past_their_window_expire(app, shop, clock):
    first = place(app, shop, quantity="1")
    clock.advance(minutes=20)
    second = place(app, shop, quantity="3")
    clock.advance(minutes=11)  # the first is 31 minutes old, the second 11

    assert expire_command(app) == "1 order(s) expired.\n"

    assert status_of(app, first) == OrderStatus.expired
    assert status_of(app, second) == OrderStatus.placed
    assert reserved(app, shop) == Decimal(3)
    with app.app_context():
        assert inv.stock_check() == []


def test_packed_and_finished_orders_do_not_expire(app, shop, clock):
    ready, cancelled = place(app, shop), place(app, shop)
    with acting(app, shop.user):
        order = db.session.get(Order, ready)
        market.confirm(order)
        market.mark_ready(order)
        market.cancel(db.session.get(Order, cancelled))
        db.session.commit()
    clock.advance(hours=2)

    assert expire_command(app) == "0 order(s) expired.\n"
    assert (status_of(app, ready), status_of(app, cancelled)) == (OrderStatus.ready, OrderStatus.cancelled)


def test_the_opportunistic_sweep_runs_at_most_once_a_minute(app, shop, clock):
    first = place(app, shop, quantity="1")
    clock.advance(minutes=31)
    with app.app_context():
        assert market.expire_opportunistically() == 1
    assert status_of(app, first) == OrderStatus.expired  # committed by the sweep

    second = place(app, shop, quantity="1")
    clock.advance(minutes=31)
    with app.app_context():
        market._last_sweep["at"] = clock.now - timedelta(seconds=59)
        assert market.expire_opportunistically() == 0
    assert status_of(app, second) == OrderStatus.placed

    clock.advance(seconds=1)
    with app.app_context():
        assert market.expire_opportunistically() == 1
    assert status_of(app, second) == OrderStatus.expired


@pytest.mark.parametrize("path, swept", [
    ("/api/v1/products", True), ("/api/v1/products?in_stock=true", True), ("/api/v1/orders", True),
    ("/api/v1/checkouts/999", True), ("/api/v1/groups", False), ("/", False),
])
def test_requests_for_orders_checkouts_and_products_sweep(app, client, shop, clock, monkeypatch, caplog, path,
                                                          swept):
    monkeypatch.setitem(app.config, "EXPIRE_IN_REQUESTS", True)
    order_id = place(app, shop)
    clock.advance(minutes=31)

    client.get(path)

    assert status_of(app, order_id) == (OrderStatus.expired if swept else OrderStatus.placed)
    assert reserved(app, shop) == (Decimal(0) if swept else Decimal(2))
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_a_sweep_that_finds_nothing_ends_its_transaction_quietly(app, client, shop, clock, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "EXPIRE_IN_REQUESTS", True)
    order_id = place(app, shop)  # not due yet

    response = client.get("/api/v1/products")

    assert response.status_code == 200 and response.json["total"] == 1
    assert market._last_sweep["at"] == clock.now  # it ran
    assert status_of(app, order_id) == OrderStatus.placed
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_the_sweep_in_requests_is_off_in_tests_unless_asked_for(app, client, shop, clock):
    assert app.testing and not app.config.get("EXPIRE_IN_REQUESTS")
    order_id = place(app, shop)
    clock.advance(minutes=31)

    assert client.get("/api/v1/products").status_code == 200

    assert status_of(app, order_id) == OrderStatus.placed


def test_a_failing_sweep_does_not_fail_the_request(app, client, shop, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "EXPIRE_IN_REQUESTS", True)

    def broken(now=None, limit=500):
        db.session.execute(select(Order.id))  # begins the transaction the hook must end
        raise RuntimeError("database went away")

    monkeypatch.setattr(market, "expire_orders", broken)

    response = client.get("/api/v1/products")

    assert response.status_code == 200
    assert response.json["total"] == 1
    assert "expiring unpaid card orders failed" in caplog.text
