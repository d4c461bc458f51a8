from decimal import Decimal

import pytest

from accounts.models import User
from groups.models import Group
from inventory import services as inv
from inventory.models import Stock
from tests.factories import make_group, make_member, make_user


def test_intake_reserve_consume_and_check(app, db):
    user = make_user(app)
    group = make_group(app, user)
    siti = make_member(app, group, name="Siti")
    ani = make_member(app, group, name="Ani")
    with app.test_request_context("/", method="POST"):  # a writing request: SQLite begins IMMEDIATE
        coordinator = db.session.get(User, user.id)
        g = db.session.get(Group, group.id)
        product = inv.create_product(
            coordinator,
            g,
            name="Cabai rawit",
            kind="produce",
            unit="kg",
            variants=[{"label": "A", "unit_price": 45000}],
        )
        variant = product.variants[0]
        inv.receive_contribution(coordinator, g, variant_id=variant.id, member_id=siti.id, quantity="2.5")
        inv.receive_contribution(coordinator, g, variant_id=variant.id, member_id=ani.id, quantity="10", unit="ons")
        db.session.commit()
        inv.reserve([inv.StockLine(variant.id, Decimal("3"), "order:1")])
        with pytest.raises(inv.InsufficientStock) as short:
            inv.reserve([inv.StockLine(variant.id, Decimal("1"))])
        assert short.value.errors["lines"] == [{"variant_id": variant.id, "requested": "1", "available": "0.5"}]
        draws = inv.consume(inv.StockLine(variant.id, Decimal("3"), "line:1"))
        assert [(d.member_id, d.quantity) for d in draws] == [(siti.id, Decimal("2.5")), (ani.id, Decimal("0.5"))]
        moves = inv.adjust(coordinator, g, variant_id=variant.id, reason="spoilage", quantity="-0.2")
        assert len(moves) == 1 and moves[0].on_hand_delta == Decimal("-0.2")
        db.session.commit()
        stock = db.session.get(Stock, variant.id)
        assert (stock.on_hand, stock.reserved) == (Decimal("0.3"), Decimal("0"))
        assert inv.stock_check() == []
