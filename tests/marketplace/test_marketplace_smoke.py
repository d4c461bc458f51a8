from decimal import Decimal

import pytest

from accounts.models import User
from core.errors import Conflict
from inventory import services as inv
from inventory.models import Stock
from marketplace import services as market
from marketplace.models import Order, OrderStatus
from payments.services import recorded
from tests.factories import make_user
from tests.stock_helpers import acting, contribute, make_product, make_stock_group


def test_checkout_reserves_then_ready_allocates_lots_fifo(app, db):
    setup = make_stock_group(app)
    a, b = make_product(app, setup.user, setup.group, labels=("A", "B"))
    contribute(app, setup, a, "2", member=setup.members[0])
    contribute(app, setup, a, "3", member=setup.members[1])
    contribute(app, setup, b, "1")
    buyer = make_user(app, name="Bu Ratna")
    body = {
        "lines": [{"variant_id": a, "quantity": "2.5"}, {"variant_id": b, "quantity": "1"}],
        "fulfilment": {"method": "pickup"},
        "payment_method": "cash",
    }
    with acting(app, buyer):
        who = db.session.get(User, buyer.id)
        checkout, created = market.place_checkout(who, **body, idempotency_key="key-1")
        db.session.commit()
        assert created and checkout.total == 25000 + 10000
        again, created_again = market.place_checkout(who, **body, idempotency_key="key-1")
        assert again.id == checkout.id and not created_again
        order_id = checkout.orders[0].id
        with pytest.raises(inv.InsufficientStock):
            market.place_checkout(
                who, **{**body, "lines": [{"variant_id": a, "quantity": "3"}]}, idempotency_key="key-2"
            )
        db.session.rollback()
    with acting(app, setup.user) as lead:
        order = db.session.get(Order, order_id)
        market.confirm(lead, order)
        market.mark_ready(lead, order)
        db.session.commit()
        line = next(line for line in order.lines if line.variant_id == a)
        assert [(x.member_id, x.quantity) for x in line.allocations] == [
            (setup.members[0].id, Decimal("2")),
            (setup.members[1].id, Decimal("0.5")),
        ]
        assert db.session.get(Stock, a).on_hand == Decimal("2.5")
        with pytest.raises(market.TransitionNotAllowed):
            market.cancel(lead, order)
        db.session.rollback()
        with pytest.raises(Conflict):  # not paid yet
            market.complete(lead, db.session.get(Order, order_id))
        db.session.rollback()
        order = db.session.get(Order, order_id)
        recorded.complete_at_handover(lead, order, order.total)
        db.session.commit()
        assert db.session.get(Order, order_id).status == OrderStatus.completed
        assert [e.to_status for e in db.session.get(Order, order_id).events] == [
            OrderStatus.placed,
            OrderStatus.confirmed,
            OrderStatus.ready,
            OrderStatus.completed,
        ]
        assert inv.stock_check() == []
