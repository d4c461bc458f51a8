"""Payments and refunds for one order arriving at the same moment: never more than owed, nobody gets a 5xx.

The app is served by a threaded werkzeug server on loopback, so each request is
real, on its own thread, session and database connection, as under gunicorn.
Clients connect first, then a barrier releases every request together. The
crowds are small (8) so SQLite, queued by BEGIN IMMEDIATE and its busy timeout,
runs them too; on PostgreSQL the order's row lock is what keeps them apart.
"""

import pytest
from sqlalchemy import func, insert, select

from core import ledger
from core.extensions import db
from core.idempotency import request_fingerprint
from marketplace.models import Order, OrderEvent, OrderStatus, PaymentMethod
from payments import inputs
from payments.models import Payment, Refund
from payments.services import common, recorded, refunds
from tests.live_server import post_at_once
from tests.market import API
from tests.payments.test_payments_api import new_order, paid, ready_order
from tests.stock_helpers import acting

CROWD = 8


def _fire(server, requests: list[tuple[str, dict, dict, str | None]]) -> list[tuple]:
    """POST every (API path, headers, body, key) at once; (status, json, Idempotent-Replayed) per request."""
    return post_at_once(server, [(f"{API}{path}", *rest) for path, *rest in requests])


def _books(app, order_id):
    with app.app_context():
        order = db.session.get(Order, order_id)
        return (
            order.paid,
            order.refunded,
            order.total,
            db.session.scalar(select(func.count(Payment.id)).where(Payment.order_id == order_id)),
            db.session.scalar(select(func.count(Refund.id)).where(Refund.order_id == order_id)),
            [str(p) for p in ledger.check_all()],
        )


def test_payments_at_once_never_take_more_than_the_total(app, server, market):
    order = new_order(client=app.test_client(), market=market)  # Rp90.000
    staff = (market.lead.headers, market.treasurer.headers)
    amounts = [40000, 35000, 30000, 25000, 20000, 15000, 10000, 5000]

    results = _fire(
        server,
        [
            (
                f"/orders/{order['id']}/payments",
                staff[i % 2],
                {"method": "cash" if i % 2 else "transfer", "amount": amount},
                None,
            )
            for i, amount in enumerate(amounts)
        ],
    )

    assert {status for status, _, _ in results} <= {201, 409}, results
    accepted = [amount for amount, (status, _, _) in zip(amounts, results) if status == 201]
    refused = [amount for amount, (status, _, _) in zip(amounts, results) if status == 409]
    paid_now, refunded_now, total, payment_rows, _, problems = _books(app, order["id"])
    assert paid_now == sum(accepted) <= total == 90000
    assert payment_rows == len(accepted) >= 2
    # each refusal came when at least what is owed now was owed, and it was more than that
    assert all(amount > total - paid_now for amount in refused), (accepted, refused)
    for status, body, _ in results:
        if status == 409:
            assert "amount" in body["errors"]
    assert problems == []


def test_equal_payments_at_once_fill_the_order_exactly(app, server, market):
    order = new_order(client=app.test_client(), market=market)  # Rp90.000

    results = _fire(
        server,
        [(f"/orders/{order['id']}/payments", market.lead.headers, {"method": "cash", "amount": 30000}, None)] * CROWD,
    )

    statuses = sorted(status for status, _, _ in results)
    assert statuses == [201] * 3 + [409] * (CROWD - 3), results
    assert len({body["id"] for status, body, _ in results if status == 201}) == 3
    assert _books(app, order["id"]) == (90000, 0, 90000, 3, 0, [])


@pytest.mark.parametrize("amount", [90000, 30000])
def test_one_payment_sent_twice_at_once_with_one_key_is_recorded_once(app, server, market, amount):
    """A double tap at the counter: both answers are the one payment, whether or not it fills the order."""
    order = new_order(client=app.test_client(), market=market)
    taps = 2

    results = _fire(
        server,
        [(f"/orders/{order['id']}/payments", market.lead.headers, {"method": "cash", "amount": amount}, "tap")] * taps,
    )

    assert [status for status, _, _ in results] == [201] * taps, results
    assert len({body["id"] for _, body, _ in results}) == 1
    assert sorted(str(replayed) for _, _, replayed in results) == ["None", "true"]
    assert _books(app, order["id"]) == (amount, 0, 90000, 1, 0, [])


def test_a_burst_of_retries_with_one_key_records_one_payment(app, server, market):
    order = new_order(client=app.test_client(), market=market)

    results = _fire(
        server,
        [
            (
                f"/orders/{order['id']}/payments",
                market.lead.headers,
                {"method": "transfer", "amount": 90000, "reference": "BRI 9"},
                "lunas",
            )
        ]
        * CROWD,
    )

    assert [status for status, _, _ in results] == [201] * CROWD, results
    assert len({body["id"] for _, body, _ in results}) == 1
    assert [replayed for _, _, replayed in results].count(None) == 1
    assert _books(app, order["id"]) == (90000, 0, 90000, 1, 0, [])


def test_a_handover_sent_twice_at_once_pays_and_completes_once(app, server, market):
    client = app.test_client()
    order = ready_order(client, market)

    results = _fire(
        server, [(f"/orders/{order['id']}/complete", market.lead.headers, {"payment": {"amount": 90000}}, "serah")] * 2
    )

    assert [status for status, _, _ in results] == [200, 200], results
    assert all(body["status"] == "completed" for _, body, _ in results)
    assert _books(app, order["id"]) == (90000, 0, 90000, 1, 0, [])
    with app.app_context():
        completions = db.session.scalar(
            select(func.count(OrderEvent.id)).where(
                OrderEvent.order_id == order["id"], OrderEvent.to_status == OrderStatus.completed
            )
        )
        assert completions == 1


def test_refunds_at_once_never_give_back_more_than_was_paid(app, server, market):
    client = app.test_client()
    order = new_order(client, market)
    paid(client, order["id"], market.lead, {"method": "cash", "amount": 90000})

    results = _fire(
        server,
        [
            (
                f"/orders/{order['id']}/refunds",
                market.lead.headers,
                {"amount": 20000, "reason": f"Retur {i}", "method": "cash"},
                f"retur-{i}",
            )
            for i in range(CROWD)
        ],
    )

    statuses = sorted(status for status, _, _ in results)
    assert statuses == [201] * 4 + [409] * (CROWD - 4), results
    assert _books(app, order["id"]) == (90000, 80000, 90000, 1, 4, [])


def test_payments_and_refunds_at_once_keep_refunded_within_paid(app, server, market):
    client = app.test_client()
    order = new_order(client, market)
    paid(client, order["id"], market.lead, {"method": "cash", "amount": 20000})
    path = f"/orders/{order['id']}"
    requests = []
    for i in range(CROWD):
        if i % 2:
            requests.append((f"{path}/refunds", market.lead.headers, {"amount": 15000, "reason": "Retur"}, f"r{i}"))
        else:
            requests.append((f"{path}/payments", market.treasurer.headers, {"method": "cash", "amount": 25000}, None))

    results = _fire(server, requests)

    assert {status for status, _, _ in results} <= {201, 409}, results
    paid_now, refunded_now, total, payment_rows, refunds, problems = _books(app, order["id"])
    assert 0 <= refunded_now <= paid_now <= total
    assert paid_now == 20000 + 25000 * sum(
        1 for (p, *_), (s, *_) in zip(requests, results) if p.endswith("payments") and s == 201
    )
    assert refunded_now == 15000 * refunds
    assert problems == []


# --- a twin that gets in between the check and the insert ------------------------------------------


def _twin_slips_in(monkeypatch, module, hook: str, model, row: dict, found: list) -> None:
    """Make `hook` of `module` (called after the order is locked and the key checked) insert `row` first, as a
    twin would."""
    original = getattr(module, hook)

    def twin(*args, **kwargs):
        found.append(db.session.execute(insert(model).values(**row).returning(model.id)).scalar_one())
        return original(*args, **kwargs)

    monkeypatch.setattr(module, hook, twin)


def test_a_payment_refused_by_the_key_index_returns_the_twin_and_leaves_the_transaction_usable(
    app, market, monkeypatch
):
    order = new_order(app.test_client(), market)
    body = {"method": "cash", "amount": 30000}
    twin: list = []
    _twin_slips_in(
        monkeypatch,
        recorded,
        "_cancel_pending_card_payments",
        Payment,
        {
            "order_id": order["id"],
            "group_id": market.tani.id,
            "method": PaymentMethod.cash,
            "amount": 30000,
            "fee": 0,
            "idempotency_key": "tap",
            "request_hash": request_fingerprint(body),
        },
        twin,
    )

    with acting(app, market.lead.user) as lead:
        payment, created = recorded.record_payment(
            lead, db.session.get(Order, order["id"]), inputs.offline_payment(body), common.retry_of("tap", body)
        )

        assert (payment.id, created) == (twin[0], False)
        assert db.session.get(Order, order["id"]).paid == 0  # ours was not recorded; the session still works
        db.session.rollback()


def test_a_refund_refused_by_the_key_index_returns_the_twin_and_leaves_the_transaction_usable(app, market, monkeypatch):
    client = app.test_client()
    order = new_order(client, market)
    paid(client, order["id"], market.lead, {"method": "cash", "amount": 30000})
    body = {"amount": 1000, "reason": "Retur"}
    twin: list = []
    _twin_slips_in(
        monkeypatch,
        refunds,
        "_card_refundable",
        Refund,
        {
            "order_id": order["id"],
            "group_id": market.tani.id,
            "method": PaymentMethod.cash,
            "amount": 1000,
            "reason": "Retur",
            "idempotency_key": "tap",
            "request_hash": request_fingerprint(body),
        },
        twin,
    )

    with acting(app, market.lead.user) as lead:
        refund, created = refunds.refund_order(
            lead, db.session.get(Order, order["id"]), inputs.requested_refund(body), common.retry_of("tap", body)
        )

        assert (refund.id, created) == (twin[0], False)
        assert db.session.get(Order, order["id"]).refunded == 0
        db.session.rollback()
