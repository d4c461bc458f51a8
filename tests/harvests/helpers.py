"""The harvest story's steps through the API: the farmer group of the market announces a chili harvest, buyers
pre-order against it, the members bring it in."""

import itertools
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from core.extensions import db
from harvests.models import Harvest, PreOrder
from marketplace.models import Order
from marketplace.services import today_wib
from tests.market import API, actor


def ok(response, status=200) -> dict:
    assert response.status_code == status, (response.status_code, response.json)
    return response.json


def post(client, path, who, body=None, key=None, status=None):
    headers = dict(who.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    response = client.post(f"{API}{path}", json=body, headers=headers)
    return ok(response, status) if status is not None else response


def next_week() -> str:
    return (today_wib() + timedelta(days=7)).isoformat()


def announce(client, market, variant_id=None, status=201, **body) -> dict:
    sent = {
        "variant_id": variant_id or market.cabai_a,
        "expected_low": "10",
        "expected_high": "14",
        "week": next_week(),
        "shortfall_rule": "pro_rata",
        **body,
    }
    return post(client, f"/groups/{market.tani.id}/harvests", market.lead, sent, status=status)


_phones = itertools.count()


def buyers(app, n: int, prefix="Warung") -> list:
    """`n` buyers with a phone each (for their WhatsApp links)."""
    return [actor(app, name=f"{prefix} {i}", phone=f"+62812{next(_phones):07d}") for i in range(n)]


def pre_order(client, harvest, who, quantity, key=None, status=201, **body) -> dict:
    return post(
        client, f"/harvests/{harvest['id']}/pre-orders", who, {"quantity": quantity, **body}, key=key, status=status
    )


def record(client, market, harvest, lots, key=None, status=201, who=None) -> dict:
    body = {"lots": [{"member_id": member.id, "quantity": quantity} for member, quantity in lots]}
    return post(client, f"/harvests/{harvest['id']}/record", who or market.lead, body, key=key, status=status)


def snapshot(app, harvest_id) -> tuple:
    """What a refused request must leave as it was: the harvest's counter and status, the pre-orders, the orders."""
    with app.app_context():
        harvest = db.session.get(Harvest, harvest_id)
        return (
            harvest.preordered,
            harvest.status,
            db.session.scalar(select(func.count(PreOrder.id))),
            db.session.scalar(select(func.count(Order.id))),
        )


def preordered(app, harvest_id) -> Decimal:
    with app.app_context():
        return db.session.get(Harvest, harvest_id).preordered
