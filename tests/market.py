"""The market most order, payment and revenue tests trade in, and the API steps they take in it.

`market` (a fixture, offered to every test by tests/conftest.py): a farmer group and a sewing
group with stock, their people and buyers. The helpers place checkouts, move orders and read back
what the database holds, so that a test can prove a refused request changed nothing.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from core.extensions import db
from inventory.models import Lot, Movement, MovementKind, Stock
from marketplace.models import Checkout, Order, OrderEvent, OrderLine, OrderLineLot
from tests.factories import bearer, make_group, make_member, make_token, make_user

API = "/api/v1"
ANONYMOUS: dict = {}


# --- helpers ----------------------------------------------------------------------


def actor(app, **user_kwargs):
    """A user with an API token: (user record, auth headers)."""
    user = make_user(app, **user_kwargs)
    return SimpleNamespace(user=user, headers=bearer(make_token(app, user)), id=user.id)


def member_with_account(app, group, role):
    person = actor(app)
    record = make_member(app, group, name=f"Anggota {person.id}", user=person.user, role=role, email=person.user.email)
    person.member_id = record.id
    return person


def create_product(client, group, headers, **body) -> dict:
    response = client.post(f"{API}/groups/{group.id}/products", json=body, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def contribute(client, group, headers, variant_id, member, quantity, received_at=None) -> dict:
    body = {"variant_id": variant_id, "member_id": member.id, "quantity": quantity}
    if received_at is not None:
        body["received_at"] = received_at.isoformat()
    response = client.post(f"{API}/groups/{group.id}/contributions", json=body, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def market(app, db, client):
    """A farmer group and a sewing group with stock, their people, and buyers.

    Cabai rawit grade A: Siti gave 2 kg, Ani 3 kg a day later (FIFO: Siti's first).
    Tomat: 10 kg at Rp4.001 (half rupiahs to round). Daster batik: 3 pcs at Rp85.000.
    """
    lead = actor(app, name="Pak Slamet")
    tani = make_group(
        app,
        lead.user,
        name="Poktan Sumber Rejeki",
        kind="farmer",
        pickup_point="Balai Desa Sumberejo",
        pickup_hours="Sabtu 07.00-10.00",
    )
    treasurer = member_with_account(app, tani, "treasurer")
    plain = member_with_account(app, tani, "member")
    siti, ani = make_member(app, tani, name="Siti Aminah"), make_member(app, tani, name="Ani Lestari")
    jahit_lead = actor(app, name="Bu Ratna")
    jahit = make_group(app, jahit_lead.user, name="KUB Jahit Melati", kind="business")
    wati = make_member(app, jahit, name="Wati")

    cabai = create_product(
        client,
        tani,
        lead.headers,
        name="Cabai rawit",
        kind="produce",
        unit="kg",
        variants=[{"label": "Grade A", "unit_price": 45000}, {"label": "Grade B", "unit_price": 30000}],
    )
    tomat = create_product(client, tani, lead.headers, name="Tomat", kind="produce", unit="kg", unit_price=4001)
    daster = create_product(
        client, jahit, jahit_lead.headers, name="Daster batik", kind="garment", unit="pcs", unit_price=85000
    )
    cabai_a, cabai_b = (v["id"] for v in cabai["variants"])
    tomat_id, daster_id = tomat["variants"][0]["id"], daster["variants"][0]["id"]
    earlier = datetime.now(UTC) - timedelta(days=2)
    siti_lot = contribute(client, tani, lead.headers, cabai_a, siti, "2", earlier)
    ani_lot = contribute(client, tani, lead.headers, cabai_a, ani, "3", earlier + timedelta(days=1))
    contribute(client, tani, lead.headers, cabai_b, siti, "4")
    contribute(client, tani, lead.headers, tomat_id, ani, "10")
    contribute(client, jahit, jahit_lead.headers, daster_id, wati, "3")
    return SimpleNamespace(
        lead=lead,
        tani=tani,
        treasurer=treasurer,
        plain=plain,
        siti=siti,
        ani=ani,
        siti_lot=siti_lot["id"],
        ani_lot=ani_lot["id"],
        jahit_lead=jahit_lead,
        jahit=jahit,
        wati=wati,
        cabai_a=cabai_a,
        cabai_b=cabai_b,
        tomat=tomat_id,
        daster=daster_id,
        cabai_product=cabai["id"],
        buyer=actor(app, name="Bu Endang"),
        other_buyer=actor(app, name="Pak Joko"),
        admin=actor(app, admin=True),
    )


def body_of(*lines, method="pickup", payment="cash", **fulfilment) -> dict:
    return {
        "lines": [{"variant_id": v, "quantity": q} for v, q in lines],
        "fulfilment": {"method": method, **fulfilment},
        "payment_method": payment,
    }


def post_checkout(client, who, body, key=None, **kwargs):
    headers = dict(who.headers if hasattr(who, "headers") else who)
    if key is not None:
        headers["Idempotency-Key"] = key
    if body is None:
        return client.post(f"{API}/checkouts", headers=headers, **kwargs)
    return client.post(f"{API}/checkouts", json=body, headers=headers, **kwargs)


def placed(client, who, body, key=None) -> dict:
    response = post_checkout(client, who, body, key)
    assert response.status_code == 201, response.json
    return response.json


def act(client, order_id, action, who, **body):
    return client.post(f"{API}/orders/{order_id}/{action}", headers=who.headers, json=body or None)


def moved(client, order_id, action, who, **body) -> dict:
    response = act(client, order_id, action, who, **body)
    assert response.status_code == 200, response.json
    return response.json


def get_order(client, order_id, who):
    return client.get(f"{API}/orders/{order_id}", headers=who.headers)


def state(app) -> dict:
    """Every row the checkout and lifecycle may touch, to prove a refused request changed nothing."""
    with app.app_context():
        found = {}
        for model in (Checkout, Order, OrderLine, OrderLineLot, OrderEvent, Stock, Lot, Movement):
            table = model.__table__
            found[table.name] = [
                dict(r._mapping) for r in db.session.execute(select(table).order_by(*table.primary_key.columns))
            ]
        return found


def counters(app, variant_id) -> tuple[Decimal, Decimal]:
    """(on_hand, reserved) as the database holds them."""
    with app.app_context():
        stock = db.session.get(Stock, variant_id)
        return stock.on_hand, stock.reserved


def movements(app, kind: MovementKind) -> int:
    with app.app_context():
        return db.session.query(Movement).filter(Movement.kind == kind).count()


def count(app, model) -> int:
    with app.app_context():
        return db.session.query(model).count()


def sold(client, buyer, lead, *lines) -> dict:
    """A cash order of `lines` (one group's variants) placed by `buyer`, confirmed, packed and completed
    at handover by `lead` with the money owed; the completed order."""
    checkout = placed(client, buyer, body_of(*lines))
    [order] = checkout["orders"]
    moved(client, order["id"], "confirm", lead)
    moved(client, order["id"], "ready", lead)
    done = moved(client, order["id"], "complete", lead, payment={"amount": order["total"]})
    assert (done["status"], done["paid"]) == ("completed", order["total"])
    return done
