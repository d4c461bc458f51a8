"""Offline payments, refunds and payment at handover through the API.

Cash and transfers are recorded by the group's coordinator or treasurer; an order
is completed only when paid. Every refused request is checked to have changed
nothing: orders, their events, payments, refunds, journal entries, postings and
accounts are compared before and after.
"""

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core import ledger
from core.extensions import db
from inventory.models import Stock
from marketplace import services as market_services
from marketplace.models import Order, OrderEvent, OrderStatus
from marketplace.services import expiry
from payments.models import Payment, Refund
from tests.books import ledger_problems
from tests.factories import assert_error
from tests.market import API, body_of, get_order, moved, placed

WIB = market_services.WIB


# --- helpers ----------------------------------------------------------------------------


def _headers(who, key=None) -> dict:
    headers = dict(who.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


def pay(client, order_id, who, body, key=None):
    return client.post(f"{API}/orders/{order_id}/payments", json=body, headers=_headers(who, key))


def paid(client, order_id, who, body, key=None) -> dict:
    response = pay(client, order_id, who, body, key)
    assert response.status_code == 201, response.json
    return response.json


def refund(client, order_id, who, body, key=None):
    return client.post(f"{API}/orders/{order_id}/refunds", json=body, headers=_headers(who, key))


def refunded(client, order_id, who, body, key=None) -> dict:
    response = refund(client, order_id, who, body, key)
    assert response.status_code == 201, response.json
    return response.json


def complete(client, order_id, who, key=None, **body):
    return client.post(f"{API}/orders/{order_id}/complete", json=body or None, headers=_headers(who, key))


def new_order(client, market, payment="cash", quantity="2") -> dict:
    """An order of the farmer group: cabai rawit grade A at Rp45.000/kg (2 kg: Rp90.000)."""
    checkout = placed(client, market.buyer, body_of((market.cabai_a, quantity), payment=payment))
    return checkout["orders"][0]


def ready_order(client, market, payment="cash") -> dict:
    order = new_order(client, market, payment)
    moved(client, order["id"], "confirm", market.lead)
    return moved(client, order["id"], "ready", market.lead)


def state(app) -> dict:
    """Every row a payment, refund or completion may touch."""
    with app.app_context():
        found = {}
        for model in (Order, OrderEvent, Payment, Refund, ledger.JournalEntry, ledger.Posting, ledger.Account, Stock):
            table = model.__table__
            found[table.name] = [
                dict(r._mapping) for r in db.session.execute(select(table).order_by(*table.primary_key.columns))
            ]
        return found


def payment_count(app) -> int:
    with app.app_context():
        return db.session.query(Payment).count()


# --- offline payments ----------------------------------------------------------------------


def test_partial_then_full_cash_payment_moves_unpaid_partial_paid(app, client, market):
    order = new_order(client, market)
    assert order["total"] == 90000
    assert (order["payment_status"], order["paid"], order["owed"], order["payments"]) == ("unpaid", 0, 90000, [])

    first = paid(client, order["id"], market.lead, {"method": "cash", "amount": 40000})

    assert first["method"] == "cash" and first["amount"] == 40000 and first["order_id"] == order["id"]
    assert (first["order"]["payment_status"], first["order"]["paid"], first["order"]["owed"]) == (
        "partial",
        40000,
        50000,
    )
    second = paid(client, order["id"], market.treasurer, {"method": "cash", "amount": "Rp50.000"})

    assert second["amount"] == 50000 and second["id"] != first["id"]
    seen = get_order(client, order["id"], market.lead).json
    assert (seen["payment_status"], seen["paid"], seen["owed"], seen["refunded"]) == ("paid", 90000, 0, 0)
    assert [(p["id"], p["method"], p["amount"]) for p in seen["payments"]] == [
        (first["id"], "cash", 40000),
        (second["id"], "cash", 50000),
    ]
    assert seen["status"] == "placed"  # payment runs beside the lifecycle
    by_buyer = get_order(client, order["id"], market.buyer).json
    assert (by_buyer["payment_status"], by_buyer["paid"], len(by_buyer["payments"])) == ("paid", 90000, 2)
    assert ledger_problems(app) == []


def test_transfer_keeps_its_reference_and_when_it_was_received(app, client, market):
    order = new_order(client, market, payment="transfer")
    assert order["payment_instructions"]["amount"] == 90000
    when = (datetime.now(WIB) - timedelta(days=2)).replace(microsecond=0)

    day = (datetime.now(WIB) - timedelta(days=1)).date()

    payment = paid(
        client,
        order["id"],
        market.treasurer,
        {"method": "transfer", "amount": 89000, "reference": "  BRI 0012345  ", "received_at": when.isoformat()},
    )
    by_day = paid(
        client, order["id"], market.lead, {"method": "transfer", "amount": 1000, "received_at": day.isoformat()}
    )

    assert payment["method"] == "transfer" and payment["reference"] == "BRI 0012345"
    assert datetime.fromisoformat(payment["received_at"]) == when
    # a date alone is taken as midday in Jakarta
    assert datetime.fromisoformat(by_day["received_at"]) == datetime(day.year, day.month, day.day, 12, tzinfo=WIB)
    seen = get_order(client, order["id"], market.lead).json
    assert seen["payment_status"] == "paid" and seen["payment_instructions"] is None
    assert [(p["method"], p["reference"]) for p in seen["payments"]] == [
        ("transfer", "BRI 0012345"),
        ("transfer", None),
    ]
    assert datetime.fromisoformat(seen["payments"][0]["received_at"]) == when
    with app.app_context():
        assert ledger.balance(market.tani.id, ledger.BANK) == 90000
        assert ledger.balance(market.tani.id, ledger.CASH) == 0


def test_paying_more_than_is_owed_is_409_and_changes_nothing(app, client, market):
    for already in (0, 20000, 45000):
        order = new_order(client, market, quantity="1")  # Rp45.000
        if already:
            paid(client, order["id"], market.lead, {"method": "cash", "amount": already})
        before = state(app)

        response = pay(client, order["id"], market.lead, {"method": "cash", "amount": 45000 - already + 1})

        assert_error(response, 409, "amount")
        assert state(app) == before
        seen = get_order(client, order["id"], market.lead).json
        assert (seen["paid"], seen["owed"]) == (already, 45000 - already)


def test_a_cancelled_or_expired_order_takes_no_payment(app, client, market):
    cancelled = new_order(client, market)
    moved(client, cancelled["id"], "cancel", market.buyer)
    expired = new_order(client, market, payment="card")
    with app.app_context():
        assert market_services.expire_orders(datetime.now(UTC) + timedelta(days=1)) == 1
        db.session.commit()
    before = state(app)

    for order, status in ((cancelled, "cancelled"), (expired, "expired")):
        response = pay(client, order["id"], market.lead, {"method": "cash", "amount": 1000})
        assert assert_error(response, 409, "status")["errors"]["status"] == [status]
    assert state(app) == before


def refused_each(app, client, market, bodies, code, field, order=None, path="payments", who=None):
    """POST each body to one order: each is answered `code` naming `field`, and nothing changes."""
    order = order or new_order(client, market)
    before = state(app)
    for body in bodies:
        response = client.post(f"{API}/orders/{order['id']}/{path}", json=body, headers=_headers(who or market.lead))
        try:
            assert_error(response, code, field)
        except AssertionError as exc:
            raise AssertionError(f"{body!r}: {exc}") from None
    assert state(app) == before


def test_card_or_unknown_method_is_422_and_changes_nothing(app, client, market):
    methods = ["card", "cheque", "CASH", "", None, 1, ["cash"], {"cash": True}]
    refused_each(
        app, client, market, [{"method": m, "amount": 1000} for m in methods] + [{"amount": 1000}], 422, "method"
    )


BAD_AMOUNTS = [
    10.5,
    10.0,
    "12,50",
    "12.50",
    -1000,
    "-1000",
    0,
    "0",
    10**16,
    str(10**16),
    "9" * 5000,
    True,
    False,
    None,
    "",
    "sepuluh ribu",
    "10k",
    "1e4",
    "١٢٣٤",
    "１２３４",
    "12 500",
    ["1000"],
    {"value": 1000},
]


def test_bad_amount_is_422_and_changes_nothing(app, client, market):
    refused_each(
        app,
        client,
        market,
        [{"method": "cash", "amount": a} for a in BAD_AMOUNTS] + [{"method": "cash"}],
        422,
        "amount",
    )


def _moments():
    now = datetime.now(UTC)
    return [
        (now + timedelta(days=1)).isoformat(),
        (now + timedelta(hours=1)).isoformat(),
        (now - timedelta(days=400)).isoformat(),
        "9999-12-31T23:59:59-12:00",
        "0001-01-01T00:00:00+14:00",
        "yesterday",
        "2026-02-30",
        "28/11/2026",
        "2026-11-28T25:00",
        1764300000,
        True,
        ["2026-11-28"],
    ]


def test_received_at_in_the_future_or_unreadable_is_422_and_changes_nothing(app, client, market):
    refused_each(
        app,
        client,
        market,
        [{"method": "transfer", "amount": 1000, "received_at": moment} for moment in _moments()],
        422,
        "received_at",
    )


def test_bad_reference_or_an_unknown_field_is_422(app, client, market):
    order = new_order(client, market)
    refused_each(
        app,
        client,
        market,
        [{"method": "cash", "amount": 1000, "reference": value} for value in ("x" * 101, 12, "a\x00b", ["BRI"])],
        422,
        "reference",
        order,
    )
    refused_each(app, client, market, [{"method": "cash", "amount": 1000, "tip": 500}], 422, "tip", order)


def test_a_body_that_is_not_an_object_or_a_bad_key_is_refused_and_changes_nothing(app, client, market):
    order = new_order(client, market)
    before = state(app)

    for body in ([{"method": "cash", "amount": 1000}], "1000", 1000):
        response = pay(client, order["id"], market.lead, body)
        assert response.status_code in (400, 422), (body, response.json)
        assert_error(response, response.status_code)
    for key in ("x" * 101, "a\x7fb", "   "):
        response = pay(client, order["id"], market.lead, {"method": "cash", "amount": 1000}, key=key)
        assert response.status_code in (400, 422), (key, response.json)
        assert_error(response, response.status_code)
    assert state(app) == before


def test_a_payment_or_refund_whose_body_is_not_json_is_415_an_empty_one_400_and_changes_nothing(app, client, market):
    order = new_order(client, market)
    before = state(app)
    for path in ("payments", "refunds"):
        form = client.post(
            f"{API}/orders/{order['id']}/{path}",
            data="method=cash&amount=1000",
            content_type="application/x-www-form-urlencoded",
            headers=_headers(market.lead),
        )
        assert_error(form, 415)
        assert_error(client.post(f"{API}/orders/{order['id']}/{path}", headers=_headers(market.lead)), 415)
        empty = client.post(
            f"{API}/orders/{order['id']}/{path}",
            data=b"",
            content_type="application/json",
            headers=_headers(market.lead),
        )
        assert_error(empty, 400)
    assert state(app) == before


# --- Idempotency-Key ---------------------------------------------------------------------------


def test_a_retry_with_the_same_key_and_body_returns_the_first_payment(app, client, market):
    order = new_order(client, market)
    body = {"method": "cash", "amount": 30000, "reference": "kuitansi 7"}

    first = pay(client, order["id"], market.lead, body, key="bayar-1")
    again = pay(
        client, order["id"], market.lead, {"reference": "kuitansi 7", "amount": 30000, "method": "cash"}, key="bayar-1"
    )

    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json["id"] == first.json["id"]
    assert payment_count(app) == 1
    assert get_order(client, order["id"], market.lead).json["paid"] == 30000


def test_a_full_payment_retried_after_it_went_through_is_replayed_not_refused(app, client, market):
    order = new_order(client, market)

    first = paid(client, order["id"], market.lead, {"method": "cash", "amount": 90000}, key="lunas")
    again = pay(client, order["id"], market.lead, {"method": "cash", "amount": 90000}, key="lunas")

    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json["id"] == first["id"]
    assert payment_count(app) == 1


def test_the_same_key_with_another_body_is_422_and_changes_nothing(app, client, market):
    order = new_order(client, market)
    paid(client, order["id"], market.lead, {"method": "cash", "amount": 30000}, key="bayar-1")
    before = state(app)

    response = pay(client, order["id"], market.lead, {"method": "cash", "amount": 30001}, key="bayar-1")

    assert_error(response, 422, "Idempotency-Key")
    assert state(app) == before


def test_a_key_belongs_to_its_order(app, client, market):
    one, two = new_order(client, market, quantity="1"), new_order(client, market, quantity="1")
    body = {"method": "cash", "amount": 5000}

    first = paid(client, one["id"], market.lead, body, key="bayar-1")
    second = pay(client, two["id"], market.lead, body, key="bayar-1")

    assert second.status_code == 201 and "Idempotent-Replayed" not in second.headers
    assert second.json["id"] != first["id"] and payment_count(app) == 2


# --- who may record payments ----------------------------------------------------------------------


def test_only_the_groups_coordinator_or_treasurer_records_payments(app, client, market):
    order = new_order(client, market)
    before = state(app)

    for who, code in (("buyer", 403), ("plain", 404), ("jahit_lead", 404), ("admin", 403), ("other_buyer", 404)):
        response = pay(client, order["id"], getattr(market, who), {"method": "cash", "amount": 1000})
        assert response.status_code == code, (who, response.json)
        assert_error(response, code)
    anonymous = client.post(f"{API}/orders/{order['id']}/payments", json={"method": "cash", "amount": 1000})
    assert_error(anonymous, 401)
    assert state(app) == before


def test_payments_refunds_and_handover_for_unknown_orders_are_404(app, client, market):
    bodies = {
        "payments": {"method": "cash", "amount": 1000},
        "refunds": {"amount": 1000, "reason": "x"},
        "complete": {"payment": {"amount": 1000}},
    }
    for order_id, path in itertools.product(("999999", "0", str(2**63), "-1", "abc"), bodies):
        response = client.post(f"{API}/orders/{order_id}/{path}", json=bodies[path], headers=market.lead.headers)
        assert response.status_code == 404, (order_id, path, response.json)
        assert_error(response, 404)


# --- completing requires payment ----------------------------------------------------------------


def test_complete_is_409_while_unpaid_or_partly_paid(app, client, market):
    order = ready_order(client, market)
    before = state(app)

    body = assert_error(complete(client, order["id"], market.lead), 409, "payment_status")
    assert body["errors"]["payment_status"] == ["unpaid"]
    assert state(app) == before

    paid(client, order["id"], market.lead, {"method": "cash", "amount": 89999})
    before = state(app)
    body = assert_error(complete(client, order["id"], market.lead), 409, "payment_status")
    assert body["errors"]["payment_status"] == ["partial"]
    assert state(app) == before

    paid(client, order["id"], market.lead, {"method": "transfer", "amount": 1})
    done = complete(client, order["id"], market.lead)
    assert done.status_code == 200 and done.json["status"] == "completed"


def test_handover_records_the_cash_and_completes_in_one_step(app, client, market):
    order = ready_order(client, market)

    response = complete(client, order["id"], market.lead, payment={"amount": 90000})

    assert response.status_code == 200, response.json
    done = response.json
    assert (done["status"], done["payment_status"], done["paid"], done["owed"]) == ("completed", "paid", 90000, 0)
    assert [(p["method"], p["amount"]) for p in done["payments"]] == [("cash", 90000)]
    assert done["events"][-1]["to"] == "completed"
    with app.app_context():
        assert ledger.balance(market.tani.id, ledger.CASH) == 90000
    assert ledger_problems(app) == []


def test_handover_pays_the_rest_after_a_part_paid_by_transfer(app, client, market):
    order = ready_order(client, market, payment="transfer")
    paid(client, order["id"], market.lead, {"method": "transfer", "amount": 60000})

    done = complete(client, order["id"], market.lead, payment={"amount": 30000, "reference": "sisa"})

    assert done.status_code == 200, done.json
    assert [(p["method"], p["amount"]) for p in done.json["payments"]] == [("transfer", 60000), ("cash", 30000)]
    assert done.json["status"] == "completed"


def test_handover_with_the_wrong_amount_changes_nothing(app, client, market):
    order = ready_order(client, market)
    before = state(app)

    for amount, code, field in (
        (90001, 409, "amount"),
        (89999, 409, "payment_status"),
        (0, 422, "amount"),
        ("banyak", 422, "amount"),
        (10.5, 422, "amount"),
        (None, 422, "amount"),
    ):
        response = complete(client, order["id"], market.lead, payment={"amount": amount})
        assert response.status_code == code, (amount, response.json)
        assert_error(response, code, field)

    assert state(app) == before
    seen = get_order(client, order["id"], market.lead).json
    assert (seen["status"], seen["paid"], seen["payments"]) == ("ready", 0, [])


def test_handover_before_the_order_is_ready_records_no_payment(app, client, market):
    order = new_order(client, market)
    moved(client, order["id"], "confirm", market.lead)
    before = state(app)

    assert_error(complete(client, order["id"], market.lead, payment={"amount": 90000}), 409, "status")
    assert state(app) == before


def test_a_retried_handover_with_the_same_key_returns_the_completed_order(app, client, market):
    order = ready_order(client, market)

    first = complete(client, order["id"], market.lead, key="serah-1", payment={"amount": 90000})
    again = complete(client, order["id"], market.lead, key="serah-1", payment={"amount": 90000})

    assert first.status_code == 200, first.json
    assert again.status_code == 200, again.json
    assert again.json["status"] == "completed" and again.json["id"] == order["id"]
    assert [p["id"] for p in again.json["payments"]] == [p["id"] for p in first.json["payments"]]
    assert payment_count(app) == 1
    with app.app_context():
        assert db.session.query(OrderEvent).filter(OrderEvent.to_status == OrderStatus.completed).count() == 1
    assert ledger_problems(app) == []


def test_only_the_coordinator_completes_at_handover(app, client, market):
    order = ready_order(client, market)
    before = state(app)

    for who, code in (("buyer", 403), ("treasurer", 403), ("jahit_lead", 404)):
        assert_error(complete(client, order["id"], getattr(market, who), payment={"amount": 90000}), code)
    assert state(app) == before


# --- refunds --------------------------------------------------------------------------------------


def test_partial_then_full_refund_moves_partially_refunded_then_refunded(app, client, market):
    order = new_order(client, market)
    paid(client, order["id"], market.lead, {"method": "cash", "amount": 90000})

    first = refunded(client, order["id"], market.lead, {"amount": 20000, "reason": "Cabai layu sebagian"})

    assert (first["method"], first["amount"], first["reason"]) == ("cash", 20000, "Cabai layu sebagian")
    assert (first["order"]["payment_status"], first["order"]["refunded"]) == ("partially_refunded", 20000)
    second = refunded(
        client, order["id"], market.treasurer, {"amount": 70000, "reason": "Pesanan dibatalkan", "method": "transfer"}
    )
    assert second["method"] == "transfer"
    seen = get_order(client, order["id"], market.buyer).json
    assert (seen["payment_status"], seen["paid"], seen["refunded"]) == ("refunded", 90000, 90000)
    assert [(r["method"], r["amount"], r["reason"]) for r in seen["refunds"]] == [
        ("cash", 20000, "Cabai layu sebagian"),
        ("transfer", 70000, "Pesanan dibatalkan"),
    ]
    with app.app_context():
        assert ledger.balance(market.tani.id, ledger.REFUNDS) == 90000
        assert ledger.balance(market.tani.id, ledger.CASH) == 90000 - 20000
        assert ledger.balance(market.tani.id, ledger.BANK) == -70000
    assert ledger_problems(app) == []


def test_refunding_more_than_paid_less_refunded_is_409_and_changes_nothing(app, client, market):
    for payment, already, amount in ((0, 0, 1), (40000, 0, 40001), (40000, 15000, 25001), (40000, 40000, 1)):
        order = new_order(client, market, quantity="1")
        if payment:
            paid(client, order["id"], market.lead, {"method": "cash", "amount": payment})
        if already:
            refunded(client, order["id"], market.lead, {"amount": already, "reason": "sebagian"})
        before = state(app)

        response = refund(client, order["id"], market.lead, {"amount": amount, "reason": "terlalu banyak"})

        assert response.status_code == 409, (payment, already, amount, response.json)
        assert_error(response, 409, "amount")
        assert state(app) == before


def test_a_refund_needs_a_reason_and_a_whole_amount(app, client, market):
    order = new_order(client, market)
    paid(client, order["id"], market.lead, {"method": "cash", "amount": 40000})
    reasons = [{"amount": 1000}] + [{"amount": 1000, "reason": r} for r in (None, "", "   ", "x" * 501, 12, "a\x00b")]
    refused_each(app, client, market, reasons, 422, "reason", order, path="refunds")
    amounts = [{"amount": a, "reason": "x"} for a in (0, -5, 10.5, "12,50", True, 10**16, "١٠٠٠", None)]
    refused_each(app, client, market, amounts, 422, "amount", order, path="refunds")


def test_a_card_refund_of_an_order_paid_in_cash_is_409(app, client, market):
    order = new_order(client, market)
    paid(client, order["id"], market.lead, {"method": "cash", "amount": 40000})
    before = state(app)

    assert_error(
        refund(client, order["id"], market.lead, {"amount": 1000, "reason": "x", "method": "card"}), 409, "amount"
    )
    assert_error(
        refund(client, order["id"], market.lead, {"amount": 1000, "reason": "x", "method": "ewallet"}), 422, "method"
    )
    assert state(app) == before


def test_only_the_groups_coordinator_or_treasurer_refunds(app, client, market):
    order = new_order(client, market)
    paid(client, order["id"], market.lead, {"method": "cash", "amount": 40000})
    before = state(app)

    for who, code in (("buyer", 403), ("plain", 404), ("jahit_lead", 404), ("admin", 403)):
        response = refund(client, order["id"], getattr(market, who), {"amount": 1000, "reason": "x"})
        assert response.status_code == code, (who, response.json)
        assert_error(response, code)
    assert state(app) == before


def test_a_retried_refund_with_the_same_key_gives_money_back_once(app, client, market):
    order = new_order(client, market)
    paid(client, order["id"], market.lead, {"method": "cash", "amount": 40000})
    body = {"amount": 40000, "reason": "Stok habis"}

    first = refund(client, order["id"], market.lead, body, key="kembali-1")
    again = refund(client, order["id"], market.lead, body, key="kembali-1")

    assert first.status_code == 201 and again.status_code == 201, again.json
    assert again.headers["Idempotent-Replayed"] == "true" and again.json["id"] == first.json["id"]
    assert_error(
        refund(client, order["id"], market.lead, {**body, "amount": 1}, key="kembali-1"), 422, "Idempotency-Key"
    )
    with app.app_context():
        assert db.session.query(Refund).count() == 1
    assert get_order(client, order["id"], market.lead).json["refunded"] == 40000


def test_a_fully_refunded_order_cannot_be_completed_a_partly_refunded_one_can(app, client, market):
    order = ready_order(client, market)
    paid(client, order["id"], market.lead, {"method": "cash", "amount": 90000})
    refunded(client, order["id"], market.lead, {"amount": 90000, "reason": "Pembeli tidak jadi"})
    before = state(app)

    body = assert_error(complete(client, order["id"], market.lead), 409, "payment_status")

    assert body["errors"]["payment_status"] == ["refunded"]
    assert state(app) == before

    order = ready_order(client, market)
    paid(client, order["id"], market.lead, {"method": "cash", "amount": 90000})
    refunded(client, order["id"], market.lead, {"amount": 10000, "reason": "Potongan harga"})

    done = complete(client, order["id"], market.lead)

    assert done.status_code == 200, done.json
    assert (done.json["status"], done.json["payment_status"]) == ("completed", "partially_refunded")


# --- expiry of card orders --------------------------------------------------------------------------


def test_a_paid_card_order_does_not_expire_and_an_unpaid_one_does(app, client, market):
    paid_order = new_order(client, market, payment="card", quantity="1")
    part_paid = new_order(client, market, payment="card", quantity="1")
    unpaid = new_order(client, market, payment="card", quantity="1")
    paid(client, paid_order["id"], market.lead, {"method": "cash", "amount": 45000})
    paid(client, part_paid["id"], market.lead, {"method": "cash", "amount": 44999})
    later = datetime.now(UTC) + timedelta(days=1)

    with app.app_context():
        assert market_services.expire_orders(later) == 2
        db.session.commit()
        assert market_services.expire_orders(later) == 0

    statuses = {
        o["id"]: get_order(client, o["id"], market.lead).json["status"] for o in (paid_order, part_paid, unpaid)
    }
    assert statuses == {paid_order["id"]: "placed", part_paid["id"]: "expired", unpaid["id"]: "expired"}
    assert ledger_problems(app) == []


def test_the_expire_command_leaves_a_paid_card_order_alone(app, client, market, monkeypatch):
    paid_order = new_order(client, market, payment="card", quantity="1")
    unpaid = new_order(client, market, payment="card", quantity="1")
    paid(client, paid_order["id"], market.lead, {"method": "transfer", "amount": 45000})
    later = datetime.now(UTC) + timedelta(days=1)
    monkeypatch.setattr(expiry, "utcnow", lambda: later)

    result = app.test_cli_runner().invoke(args=["orders", "expire"])

    assert result.exit_code == 0, result.output
    assert "1 order(s) expired" in result.output
    assert get_order(client, paid_order["id"], market.lead).json["status"] == "placed"
    assert get_order(client, unpaid["id"], market.lead).json["status"] == "expired"


def test_todays_date_alone_is_accepted_at_any_hour(app, client, market):
    order = new_order(client, market, payment="transfer")
    today = datetime.now(WIB).date()

    payment = paid(
        client, order["id"], market.treasurer, {"method": "transfer", "amount": 1000, "received_at": today.isoformat()}
    )

    received = datetime.fromisoformat(payment["received_at"])
    assert received.astimezone(WIB).date() == today and received <= datetime.now(WIB)


# --- transfer slips through the API ------------------------------------------------------------


@pytest.fixture
def media(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_DIR", str(tmp_path))
    return tmp_path


def photo(fmt="PNG", size=(60, 40)) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 220, 240)).save(buffer, fmt)
    return buffer.getvalue()


def pay_with_slip(client, order_id, who, slip: bytes | None, key=None, filename="slip.png", **fields):
    import io

    form = {"method": "transfer", "amount": "40000", "reference": "BRI 0042", **fields}
    if slip is not None:
        form["slip"] = (io.BytesIO(slip), filename, "image/png")
    return client.post(
        f"{API}/orders/{order_id}/payments", headers=_headers(who, key), content_type="multipart/form-data", data=form
    )


def slip_files(media) -> list:
    folder = media / "payments"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_transfer_with_its_slip_photo_is_recorded_and_the_slip_read_back_by_the_groups_officers(
    app, client, market, media
):
    order = new_order(client, market, payment="transfer")

    response = pay_with_slip(client, order["id"], market.treasurer, photo("JPEG", (2400, 1600)))

    assert response.status_code == 201, response.json
    body = response.json
    assert (body["method"], body["amount"], body["reference"], body["slip"]) == ("transfer", 40000, "BRI 0042", True)
    assert body["order"]["paid"] == 40000 and body["order"]["payments"][0]["slip"] is True
    [stored] = slip_files(media)
    data = stored.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"  # re-encoded, whatever came in
    url = f"{API}/orders/{order['id']}/payments/{body['id']}/slip"
    for who in (market.lead, market.treasurer):
        served = client.get(url, headers=who.headers)
        assert served.status_code == 200 and served.mimetype == "image/webp" and served.data == data
        assert "no-store" in served.headers["Cache-Control"]
    assert_error(client.get(url, headers=market.buyer.headers), 403)
    assert_error(client.get(url, headers=market.jahit_lead.headers), 404)
    assert_error(client.get(url, headers=market.plain.headers), 404)
    assert get_order(client, order["id"], market.buyer).json["payments"][0]["slip"] is None  # not the buyer's
    assert ledger_problems(app) == []


def test_a_multipart_payment_without_a_slip_is_recorded_like_json(app, client, market, media):
    order = new_order(client, market)
    response = pay_with_slip(client, order["id"], market.lead, None, method="cash", reference="")
    assert response.status_code == 201, response.json
    assert (response.json["method"], response.json["slip"], response.json["reference"]) == ("cash", False, None)
    assert slip_files(media) == []
    url = f"{API}/orders/{order['id']}/payments/{response.json['id']}/slip"
    assert_error(client.get(url, headers=market.lead.headers), 404)


@pytest.mark.parametrize(
    "slip, field", [(b"%PDF-1.4 not a photo", "slip"), (photo("GIF"), "slip"), (b"", "slip"), (photo()[:60], "slip")]
)
def test_a_slip_that_is_not_a_photo_is_422_and_changes_nothing(app, client, market, media, slip, field):
    order = new_order(client, market, payment="transfer")
    before = state(app)
    assert_error(pay_with_slip(client, order["id"], market.lead, slip), 422, field)
    assert state(app) == before and slip_files(media) == []


def test_a_slip_over_the_request_limit_is_413_and_changes_nothing(app, client, market, media):
    order = new_order(client, market, payment="transfer")
    before = state(app)
    too_big = photo() + b"\x00" * app.config["MAX_CONTENT_LENGTH"]
    assert_error(pay_with_slip(client, order["id"], market.lead, too_big), 413)
    assert state(app) == before and slip_files(media) == []


def test_bad_multipart_fields_are_422_and_a_refused_payment_keeps_no_slip(app, client, market, media):
    order = new_order(client, market, payment="transfer")
    before = state(app)
    assert_error(pay_with_slip(client, order["id"], market.lead, photo(), note="x"), 422, "note")
    assert_error(pay_with_slip(client, order["id"], market.lead, photo(), amount="abc"), 422, "amount")
    assert_error(pay_with_slip(client, order["id"], market.lead, photo(), method="card"), 422, "method")
    assert_error(pay_with_slip(client, order["id"], market.lead, photo(), amount="999999"), 409, "amount")
    assert state(app) == before and slip_files(media) == []


def test_a_multipart_payment_with_an_unknown_file_is_422_and_changes_nothing(app, client, market, media):
    import io

    order = new_order(client, market, payment="transfer")
    before = state(app)
    response = client.post(
        f"{API}/orders/{order['id']}/payments",
        headers={**_headers(market.lead), "Accept-Language": "id"},
        content_type="multipart/form-data",
        data={"method": "transfer", "amount": "40000", "receipt": (io.BytesIO(photo()), "r.png")},
    )
    assert assert_error(response, 422, "receipt")["errors"] == {"receipt": ["Kolom ini tidak dikenal."]}
    assert state(app) == before and slip_files(media) == []


def test_a_slip_for_another_groups_order_or_from_a_buyer_is_refused(app, client, market, media):
    order = new_order(client, market, payment="transfer")
    before = state(app)
    assert_error(pay_with_slip(client, order["id"], market.jahit_lead, photo()), 404)
    assert_error(pay_with_slip(client, order["id"], market.buyer, photo()), 403)
    assert_error(pay_with_slip(client, order["id"], market.plain, photo()), 404)
    assert state(app) == before and slip_files(media) == []


def test_a_retried_upload_with_the_same_key_records_once_and_another_photo_is_422(app, client, market, media):
    order = new_order(client, market, payment="transfer")
    first = pay_with_slip(client, order["id"], market.lead, photo(), key="slip-1")
    again = pay_with_slip(client, order["id"], market.lead, photo(), key="slip-1")
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json["id"] == first.json["id"]
    assert payment_count(app) == 1 and len(slip_files(media)) == 1
    other = pay_with_slip(client, order["id"], market.lead, photo(size=(61, 40)), key="slip-1")
    assert_error(other, 422, "Idempotency-Key")
    assert payment_count(app) == 1 and len(slip_files(media)) == 1


def test_completing_is_still_documented_with_the_orders(app, client):
    operation = client.get(f"{API}/openapi.json").json["paths"][f"{API}/orders/{{order_id}}/complete"]["post"]
    assert operation["tags"] == ["marketplace_api"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/CompleteIn"}


def test_the_openapi_document_describes_the_slip_upload(app, client):
    spec = client.get(f"{API}/openapi.json").json
    operation = spec["paths"][f"{API}/orders/{{order_id}}/payments"]["post"]
    content = operation["requestBody"]["content"]
    assert "application/json" in content
    form = content["multipart/form-data"]["schema"]
    assert form["properties"]["slip"]["format"] == "binary" and {"method", "amount"} <= set(form["required"])
    assert "413" in operation["responses"]
    slip = spec["paths"][f"{API}/orders/{{order_id}}/payments/{{payment_id}}/slip"]["get"]
    assert "image/webp" in slip["responses"]["200"]["content"]


def test_a_slip_written_for_a_payment_whose_commit_fails_is_removed(app, db, tmp_path, monkeypatch):
    from payments import slips

    kept, lost = tmp_path / "kept.webp", tmp_path / "lost.webp"
    kept.write_bytes(b"slip")
    lost.write_bytes(b"slip")
    with app.app_context():
        slips.commit_with_slip(kept)
        slips.commit_with_slip(None)

        def refused():
            raise RuntimeError("the database went away")

        monkeypatch.setattr(db.session, "commit", refused)
        with pytest.raises(RuntimeError):
            slips.commit_with_slip(lost)
    assert kept.exists() and not lost.exists()
