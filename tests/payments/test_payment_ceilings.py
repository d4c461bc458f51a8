"""Money recorded against an order stays under the ceiling: a payment, a handover or a refund above MAX_AMOUNT is a
422 naming `amount`, an order at the ceiling is paid, completed and refunded with balanced books, and an order
kept from before the ceiling was checked (above it) takes no payment and is not completed: a 409, never a 500."""

import pytest
from sqlalchemy import update

from core.extensions import db
from core.money import MAX_AMOUNT, MAX_UNIT_PRICE
from marketplace.models import Order, OrderLine, OrderStatus
from tests.books import assert_books_balance
from tests.factories import assert_error
from tests.market import body_of, contribute, create_product, get_order, moved, placed
from tests.payments.test_payments_api import complete, new_order, paid, pay, ready_order, refund, refunded, state

ABOVE = [MAX_AMOUNT + 1, str(MAX_AMOUNT + 1), "Rp1.000.000.000.001", 10**15]
AT_MOST = "At most Rp1.000.000.000.000."


def english(who) -> dict:
    return {"Authorization": who.headers["Authorization"], "Accept-Language": "en"}


def test_an_order_at_the_ceiling_is_paid_completed_and_refunded_with_balanced_books(app, client, market):
    m = market
    gold = create_product(
        client, m.tani, m.lead.headers, name="Kain emas", kind="garment", unit="pcs", unit_price=MAX_UNIT_PRICE
    )["variants"][0]["id"]
    contribute(client, m.tani, m.lead.headers, gold, m.siti, "1000")
    [order] = placed(client, m.buyer, body_of((gold, "1000")))["orders"]
    assert order["total"] == MAX_AMOUNT
    paid(client, order["id"], m.lead, {"method": "transfer", "amount": MAX_AMOUNT, "reference": "BRI 1"})
    moved(client, order["id"], "confirm", m.lead)
    moved(client, order["id"], "ready", m.lead)
    done = moved(client, order["id"], "complete", m.lead)
    assert (done["status"], done["paid"]) == ("completed", MAX_AMOUNT)
    assert_books_balance(app)
    refunded(client, order["id"], m.lead, {"amount": MAX_AMOUNT, "reason": "batal", "method": "transfer"})
    assert_books_balance(app)


@pytest.mark.parametrize("amount", ABOVE)
def test_a_payment_refund_or_handover_above_the_ceiling_is_422_and_changes_nothing(app, client, market, amount):
    order = ready_order(client, market)
    paid(client, order["id"], market.lead, {"method": "cash", "amount": 1000})
    before = state(app)
    refused = [
        pay(client, order["id"], market.lead, {"method": "cash", "amount": amount}),
        refund(client, order["id"], market.lead, {"amount": amount, "reason": "x"}),
        complete(client, order["id"], market.lead, payment={"amount": amount}),
    ]
    for response in refused:
        assert_error(response, 422, "amount")
    response = client.post(
        f"/api/v1/orders/{order['id']}/payments",
        json={"method": "cash", "amount": amount},
        headers=english(market.lead),
    )
    assert assert_error(response, 422, "amount")["errors"]["amount"] == [AT_MOST]
    assert state(app) == before


def above_the_ceiling(app, order_id: int, *, paid_in_full: bool) -> None:
    """Make an order as checkout wrote them before it checked the ceiling: Rp10^13 a unit x 200 (the second
    reproduction), and, when `paid_in_full`, as if its two payments of Rp10^15 had been taken."""
    total = 10**13 * 200
    with app.app_context():
        db.session.execute(
            update(OrderLine).where(OrderLine.order_id == order_id).values(unit_price=10**13, total=total)
        )
        values = {"total": total, "paid": total} if paid_in_full else {"total": total}
        db.session.execute(update(Order).where(Order.id == order_id).values(**values))
        db.session.commit()


def test_an_order_above_the_ceiling_is_not_completed_and_stays_as_it_was(app, client, market):
    # The second reproduction: completing it answered 500 (LedgerError) and left it at `ready` for good.
    order = ready_order(client, market)
    above_the_ceiling(app, order["id"], paid_in_full=True)
    before = state(app)
    body = assert_error(complete(client, order["id"], market.lead), 409, "total")
    assert "Rp1.000.000.000.000" in body["message"]
    assert state(app) == before  # no journal entry, no event: still ready
    assert get_order(client, order["id"], market.lead).json["status"] == OrderStatus.ready.value


def test_an_order_above_the_ceiling_takes_no_payment(app, client, market):
    order = new_order(client, market)
    above_the_ceiling(app, order["id"], paid_in_full=False)
    before = state(app)
    assert_error(pay(client, order["id"], market.lead, {"method": "cash", "amount": 1000}), 409, "total")
    assert_error(complete(client, order["id"], market.lead, payment={"amount": 1000}), 409)
    assert state(app) == before
