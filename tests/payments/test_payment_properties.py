"""Property tests for money: exact spreading, the processor's minor units, and any run of payments and refunds.

A state machine drives the real payment services against the real database and
keeps its own model of what each order must hold.
"""

from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from accounts.models import User
from core import ledger
from core.errors import Conflict, ValidationFailed
from core.extensions import db
from core.money import MAX_AMOUNT, MoneyError, from_minor_units, to_minor_units
from groups.models import Group
from inventory import services as inv
from marketplace import services as market
from marketplace.models import Order
from payments import inputs
from payments.models import Payment, Refund
from payments.services import common, recorded, refunds
from tests.factories import make_user
from tests.stock_helpers import acting, contribute, make_stock_group

# --- spreading an amount over lines -----------------------------------------------------------

weights = st.lists(st.integers(0, 10**6), min_size=1, max_size=12).filter(any)


@given(total=st.integers(0, MAX_AMOUNT), weights=weights)
@settings(max_examples=300)
def test_spread_sums_exactly_and_each_part_is_within_one_of_its_share(total, weights):
    parts = common.spread(total, weights)

    assert len(parts) == len(weights) and sum(parts) == total
    assert all(isinstance(part, int) and part >= 0 for part in parts)
    whole = sum(weights)
    exact = [Fraction(total * w, whole) for w in weights]
    assert all(abs(part - share) < 1 for part, share in zip(parts, exact))
    assert all(part == 0 for part, w in zip(parts, weights) if w == 0)


@given(total=st.integers(0, 10**9), weights=weights)
@settings(max_examples=300)
def test_spread_gives_leftover_units_to_the_largest_remainders_ties_to_the_earlier(total, weights):
    parts = common.spread(total, weights)

    whole = sum(weights)
    exact = [Fraction(total * w, whole) for w in weights]
    remainder = [share - int(share) for share in exact]
    rounded_up = [part > int(share) for part, share in zip(parts, exact)]
    assert all(part in (int(share), int(share) + 1) for part, share in zip(parts, exact))
    for up in (i for i, r in enumerate(rounded_up) if r):
        for down in (i for i, r in enumerate(rounded_up) if not r):
            # whoever was passed over had a smaller remainder, or an equal one and came later
            assert remainder[down] < remainder[up] or (remainder[down] == remainder[up] and down > up)


def test_spread_examples():
    assert common.spread(100, [1, 1, 1]) == [34, 33, 33]
    assert common.spread(2, [1, 1, 1]) == [1, 1, 0]
    assert common.spread(10, [1, 2]) == [3, 7]
    assert common.spread(0, [0, 0]) == [0, 0]
    with pytest.raises(ValueError):
        common.spread(10, [0, 0])
    with pytest.raises(ValueError):
        common.spread(10, [])


# --- the processor's minor units --------------------------------------------------------------


@given(st.integers(0, MAX_AMOUNT))
def test_minor_units_round_trip(amount):
    minor = to_minor_units(amount)
    assert minor == amount * 100 and isinstance(minor, int)
    assert from_minor_units(minor) == amount
    assert from_minor_units(to_minor_units(amount, "idr"), "idr") == amount


@given(st.integers(0, 100 * MAX_AMOUNT).filter(lambda n: n % 100))
def test_from_minor_units_refuses_a_fraction_of_a_rupiah(minor):
    with pytest.raises(MoneyError):
        from_minor_units(minor)


@pytest.mark.parametrize("value", [-1, -100, 12.5, 1250000.0, True, False, "1250000", None])
def test_minor_units_refuse_what_is_not_a_whole_non_negative_integer(value):
    with pytest.raises(MoneyError):
        to_minor_units(value)
    with pytest.raises(MoneyError):
        from_minor_units(value)


# --- any run of payments and refunds ------------------------------------------------------------


def _shop(app):
    """A group selling tomatoes at Rp4.001/kg with plenty in stock, and a buyer."""
    setup = make_stock_group(app, members=1)
    with acting(app, setup.user) as coordinator:
        product = inv.create_product(
            coordinator, db.session.get(Group, setup.group.id), name="Tomat", kind="produce", unit="kg", unit_price=4001
        )
        setup.variant = product.variants[0].id
        db.session.commit()
    contribute(app, setup, setup.variant, "100000")
    setup.buyer = make_user(app, name="Bu Endang")
    return setup


class PaymentMachine(RuleBasedStateMachine):
    """One new order per example; the coordinator records payments and refunds, some refused."""

    flask_app = None  # set by the test
    shop = None

    def __init__(self):
        super().__init__()
        self.order_id = None
        self.total = self.paid = self.refunded = 0
        self.keys: dict[tuple[str, str], dict] = {}  # (kind, key) -> the body first sent with it

    @initialize(milli=st.integers(1, 50_000))
    def place_order(self, milli):
        app, shop = self.flask_app, self.shop
        with acting(app, shop.buyer):
            checkout, _ = market.place_checkout(
                db.session.get(User, shop.buyer.id),
                [{"variant_id": shop.variant, "quantity": f"{milli // 1000}.{milli % 1000:03d}"}],
                {"method": "pickup"},
                "transfer",
            )
            db.session.commit()
            self.order_id, self.total = checkout.orders[0].id, checkout.orders[0].total

    def amount(self, data, limit: int) -> int:
        """Mostly within `limit`, sometimes all of it, sometimes just above it."""
        kind = data.draw(st.sampled_from(["within", "within", "within", "all", "over"]), label="amount kind")
        if kind == "all" or (kind == "within" and limit <= 1):
            return max(limit, 1)
        if kind == "within":
            return data.draw(st.integers(1, limit - 1), label="amount")
        return limit + data.draw(st.integers(1, 100_000), label="over by")

    def send(self, read, call, body: dict, key: str | None):
        """Read `body` as the API does and call the service as the coordinator; returns what the model expects
        next to have happened."""
        with acting(self.flask_app, self.shop.user) as lead:
            order = db.session.get(Order, self.order_id)
            try:
                record, created = call(lead, order, read(dict(body)), common.retry_of(key, body))
            except (Conflict, ValidationFailed) as exc:
                db.session.rollback()
                return exc
            db.session.commit()
            return record.amount, created

    def first_seen(self, kind, body, key):
        """For a reused key: 'replay' when the body is the same, 'refused' when it is not; None for a new key.

        Payments and refunds keep their keys apart: a payment's key is new to refunds.
        """
        if key is None or (kind, key) not in self.keys:
            return None
        return "replay" if self.keys[kind, key] == body else "refused"

    @rule(
        data=st.data(),
        method=st.sampled_from(["cash", "transfer"]),
        key=st.none() | st.sampled_from(["k1", "k2", "k3"]),
    )
    def pay(self, data, method, key):
        owed = self.total - self.paid
        body = {"method": method, "amount": self.amount(data, owed)}
        if data.draw(st.booleans(), label="with reference"):
            body["reference"] = "BRI 123"
        seen = self.first_seen("payment", body, key)

        outcome = self.send(inputs.offline_payment, recorded.record_payment, body, key)

        if seen == "replay":
            assert outcome == (body["amount"], False)
        elif seen == "refused":
            assert isinstance(outcome, ValidationFailed) and "Idempotency-Key" in outcome.errors
        elif body["amount"] > owed:
            assert isinstance(outcome, Conflict) and "amount" in outcome.errors
        else:
            assert outcome == (body["amount"], True)
            self.paid += body["amount"]
            if key is not None:
                self.keys["payment", key] = body

    @rule(
        data=st.data(),
        method=st.sampled_from([None, "cash", "transfer"]),
        key=st.none() | st.sampled_from(["k1", "k2", "k3"]),
    )
    def refund(self, data, method, key):
        left = self.paid - self.refunded
        body = {"amount": self.amount(data, left), "reason": "Barang rusak"}
        if method is not None:
            body["method"] = method
        seen = self.first_seen("refund", body, key)

        outcome = self.send(inputs.requested_refund, refunds.refund_order, body, key)

        if seen == "replay":
            assert outcome == (body["amount"], False)
        elif seen == "refused":
            assert isinstance(outcome, ValidationFailed) and "Idempotency-Key" in outcome.errors
        elif body["amount"] > left:
            assert isinstance(outcome, Conflict) and "amount" in outcome.errors
        else:
            assert outcome == (body["amount"], True)
            self.refunded += body["amount"]
            if key is not None:
                self.keys["refund", key] = body

    @rule(amount=st.sampled_from([0, -1, 10.5, "12,50", True, 10**16, "١٢٣"]))
    def bad_amount_changes_nothing(self, amount):
        outcome = self.send(inputs.offline_payment, recorded.record_payment, {"method": "cash", "amount": amount}, None)
        assert isinstance(outcome, ValidationFailed) and "amount" in outcome.errors

    @invariant()
    def books_agree(self):
        if self.order_id is None:
            return
        with self.flask_app.app_context():
            order = db.session.get(Order, self.order_id)
            assert 0 <= order.refunded <= order.paid <= order.total
            assert (order.total, order.paid, order.refunded) == (self.total, self.paid, self.refunded)
            rows_paid = sum(p.amount for p in db.session.query(Payment).filter_by(order_id=order.id))
            rows_refunded = sum(r.amount for r in db.session.query(Refund).filter_by(order_id=order.id))
            assert (rows_paid, rows_refunded) == (self.paid, self.refunded)
            expected = (
                "refunded"
                if self.refunded and self.refunded >= self.paid
                else "partially_refunded"
                if self.refunded
                else "unpaid"
                if not self.paid
                else "paid"
                if self.paid == self.total
                else "partial"
            )
            assert market.payment_status(order) == expected
            assert ledger.check_all() == []


def test_any_run_of_payments_and_refunds_keeps_the_books(app, db):
    class Machine(PaymentMachine):
        flask_app = app
        shop = _shop(app)

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=30,
            stateful_step_count=8,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
