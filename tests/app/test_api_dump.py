"""dict_dumper gives exactly what the schema's own dump gives."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from marshmallow import Schema, fields, post_dump

from core.blueprint import dict_dumper
from marketplace.schemas import CheckoutOut, OrderOut
from payments.schemas import PaymentOut

AT = datetime(2026, 11, 28, 3, 4, 5, 678000, tzinfo=UTC)


def _order(order_id: int, insider: bool) -> dict:
    line = {
        "id": order_id * 10,
        "variant_id": 7,
        "product_name": "Cabai rawit",
        "variant_label": "Grade A",
        "unit": "kg",
        "quantity": Decimal("1.500"),
        "unit_price": 45000,
        "total": 67500,
    }
    if insider:
        line["allocations"] = [{"lot_id": 3, "member_id": 4, "quantity": Decimal("0.250")}]
    return {
        "id": order_id,
        "checkout_id": 1,
        "group_id": 2,
        "group": {"id": 2, "name": "Poktan Sumber Rejeki", "pickup_point": None, "pickup_hours": "Sabtu"},
        "buyer": {"id": 5, "name": "Bu Endang"},
        "status": "ready",
        "payment_method": "transfer",
        "payment_status": "partially_refunded",
        "fulfilment": {"method": "delivery", "date": date(2026, 11, 30), "address": "Jl. Melati 4", "note": None},
        "lines": [line],
        "total": 67500,
        "paid": 67500,
        "refunded": 1000,
        "currency": "IDR",
        "owed": 0,
        "reference": "PK-000001-4",
        "card_fees": 120 if insider else None,
        "payment_instructions": {
            "bank_name": "BRI",
            "account_number": "0123",
            "account_holder": None,
            "reference": "PK-000001-4",
            "amount": 0,
        },
        "payments": [
            {
                "id": 9,
                "reverses_id": None,
                "method": "transfer",
                "amount": 67500,
                "reference": "TRF 1",
                "received_at": AT,
                "fee": None,
                "slip": True if insider else None,
            }
        ],
        "refunds": [{"id": 4, "method": "cash", "amount": 1000, "reason": "Layu", "created_at": AT}],
        "events": [
            {"from_status": None, "to_status": "placed", "actor_id": 5, "at": AT, "note": None},
            {"from_status": "placed", "to_status": "confirmed", "actor_id": None, "at": AT, "note": "ok"},
        ],
        "expires_at": None,
        "created_at": AT,
    }


@pytest.mark.parametrize("insider", [True, False])
def test_dict_dumper_gives_what_the_schema_dumps(insider):
    checkout = {
        "id": 1,
        "total": 135000,
        "currency": "IDR",
        "payment_method": "transfer",
        "created_at": AT,
        "orders": [_order(1, insider), _order(2, not insider)],
    }
    assert dict_dumper(CheckoutOut())(checkout) == CheckoutOut().dump(checkout)
    order = _order(3, insider)
    assert dict_dumper(OrderOut())(order) == OrderOut().dump(order)
    payment = {
        "id": 1,
        "order_id": 3,
        "method": "cash",
        "amount": 5,
        "reference": None,
        "received_at": AT,
        "created_at": AT,
        "order": None,
    }
    assert dict_dumper(PaymentOut())(payment) == PaymentOut().dump(payment)


def test_dict_dumper_formats_values_of_other_types_as_the_fields_do():
    order = {**_order(1, True), "total": Decimal("67500"), "reference": 12, "id": True}
    assert dict_dumper(OrderOut())(order) == OrderOut().dump(order)


def test_dict_dumper_refuses_what_it_does_not_plan():
    class Hooked(Schema):
        id = fields.Integer()

        @post_dump
        def _wrap(self, data, **kwargs):
            return {"data": data}

    class Computed(Schema):
        name = fields.Method("get_name")

        def get_name(self, obj):
            return obj["name"].title()

    class Defaulted(Schema):
        id = fields.Integer(dump_default=0)

    for schema in (Hooked(), Computed(), Defaulted()):
        with pytest.raises(ValueError):
            dict_dumper(schema)
