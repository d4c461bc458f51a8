"""What the inventory API tests share: the people and groups who call it, requests, and the books read back.

Every refused write is checked to have changed nothing: products, variants, stock
counters, lots, movements and units are compared before and after (snapshot).
"""

import io
from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import select

from core.extensions import db
from core.quantity import format_quantity
from inventory import services as inv
from inventory.models import GroupUnit, Lot, Movement, Product, Stock, Variant
from tests.factories import bearer, make_group, make_member, make_token, make_user

API = "/api/v1"
WIB = ZoneInfo("Asia/Jakarta")
ANONYMOUS = {}


@pytest.fixture(autouse=True)
def media_dir(app, tmp_path, monkeypatch):
    """Photos of this test go to a folder of its own, never into the instance folder."""
    path = tmp_path / "media"
    monkeypatch.setitem(app.config, "MEDIA_DIR", str(path))
    return path


def actor(app, **user_kwargs):
    """A user with an API token: (user record, auth headers)."""
    user = make_user(app, **user_kwargs)
    return SimpleNamespace(user=user, headers=bearer(make_token(app, user)), id=user.id)


def member_with_account(app, group, role="member", name=None):
    person = actor(app)
    record = make_member(
        app, group, name=name or f"Anggota {person.id}", user=person.user, role=role, email=person.user.email
    )
    person.member_id = record.id
    return person


@pytest.fixture
def world(app, db):
    """Two groups and everyone who may knock: coordinator, treasurer, members, outsiders, an admin."""
    lead = actor(app)
    group = make_group(app, lead.user, name="KUB Tani Makmur", village="Sumberejo")
    treasurer = member_with_account(app, group, "treasurer")
    plain = member_with_account(app, group, "member", name="Rina Wulandari")
    siti = make_member(app, group, name="Siti Aminah")
    ani = make_member(app, group, name="Ani Lestari")
    other_lead = actor(app)
    other_group = make_group(app, other_lead.user, name="Poktan Sumber Rejeki", village="Kalipucung")
    other_member = make_member(app, other_group, name="Wati")
    return SimpleNamespace(
        lead=lead,
        group=group,
        treasurer=treasurer,
        plain=plain,
        siti=siti,
        ani=ani,
        other_lead=other_lead,
        other_group=other_group,
        other_member=other_member,
        buyer=actor(app),
        admin=actor(app, admin=True),
    )


def headers_of(world, who: str) -> dict:
    return {
        "anonymous": ANONYMOUS,
        "buyer": world.buyer.headers,
        "member": world.plain.headers,
        "other_coordinator": world.other_lead.headers,
        "treasurer": world.treasurer.headers,
        "coordinator": world.lead.headers,
        "admin": world.admin.headers,
    }[who]


def product_body(**overrides):
    body = {
        "name": "Cabai rawit",
        "kind": "produce",
        "unit": "kg",
        "variants": [{"label": "Grade A", "unit_price": 45000}, {"label": "Grade B", "unit_price": 30000}],
    }
    body.update(overrides)
    return body


def create_product(client, group, headers, **overrides) -> dict:
    response = client.post(f"{API}/groups/{group.id}/products", json=product_body(**overrides), headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def contribute(client, group, headers, variant_id, member_id, quantity, **extra):
    return client.post(
        f"{API}/groups/{group.id}/contributions",
        json={"variant_id": variant_id, "member_id": member_id, "quantity": quantity, **extra},
        headers=headers,
    )


def contributed(client, group, headers, variant_id, member_id, quantity, **extra) -> dict:
    response = contribute(client, group, headers, variant_id, member_id, quantity, **extra)
    assert response.status_code == 201, response.json
    return response.json


def adjust(client, group, headers, **body):
    return client.post(f"{API}/groups/{group.id}/adjustments", json=body, headers=headers)


def snapshot(app) -> dict:
    """Every inventory row, to prove a refused request changed nothing."""
    with app.app_context():
        state = {}
        for model in (Product, Variant, Stock, Lot, Movement, GroupUnit):
            table = model.__table__
            result = db.session.execute(select(table).order_by(*table.primary_key.columns))
            state[table.name] = [dict(r._mapping) for r in result]
        return state


def counters(app, variant_id) -> tuple[str, str]:
    """(on_hand, reserved) of a variant, as the API would show them."""
    with app.app_context():
        stock = db.session.get(Stock, variant_id)
        return format_quantity(stock.on_hand), format_quantity(stock.reserved)


def reserve(app, variant_id, quantity: str) -> None:
    with app.app_context():
        inv.reserve([inv.StockLine(variant_id, Decimal(quantity), "order:test")])
        db.session.commit()


def sell(app, variant_id, quantity: str) -> None:
    """Reserve and take out `quantity`, as packing an order will."""
    with app.app_context():
        inv.reserve([inv.StockLine(variant_id, Decimal(quantity), "order:test")])
        inv.consume(inv.StockLine(variant_id, Decimal(quantity), "line:test"))
        db.session.commit()


def png_bytes(size=(64, 48), color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def upload(client, product_id, headers, data: bytes, filename="cabai.png", mimetype="image/png"):
    return client.post(
        f"{API}/products/{product_id}/photo",
        headers=headers,
        content_type="multipart/form-data",
        data={"photo": (io.BytesIO(data), filename, mimetype)},
    )


@pytest.fixture
def stocked(app, client, world):
    """A kg product with two variants; Siti gave 2.5 kg of grade A, Ani 0.5 kg (as 5 ons) a day later."""
    product = create_product(client, world.group, world.lead.headers)
    a, b = (v["id"] for v in product["variants"])
    received = (datetime.now(WIB) - timedelta(days=10)).replace(hour=7, minute=0, second=0, microsecond=0)
    siti_lot = contributed(
        client, world.group, world.lead.headers, a, world.siti.id, "2.5", received_at=received.isoformat(), grade="A"
    )
    ani_lot = contributed(
        client,
        world.group,
        world.lead.headers,
        a,
        world.ani.id,
        "5",
        unit="ons",
        received_at=(received + timedelta(days=1)).isoformat(),
    )
    return SimpleNamespace(product=product, a=a, b=b, siti_lot=siti_lot, ani_lot=ani_lot, received=received)
