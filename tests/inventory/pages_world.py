"""What the inventory page tests share: the coordinator's group and its people and goods, logins, rows read back."""

import io
import re
from contextlib import contextmanager
from decimal import Decimal
from types import SimpleNamespace

import pytest
from flask_login import login_user
from PIL import Image
from sqlalchemy import select

from accounts.models import User
from core.extensions import db
from groups.models import Group
from inventory import services as inv
from inventory.models import Lot, Movement, Product, Stock, Variant
from tests.factories import PASSWORD, make_group, make_member, make_user, rows
from tests.pages import html


def page_login(client, login: str, password: str = PASSWORD):
    response = client.post("/login", data={"login": login, "password": password})
    assert response.status_code == 302, html(response)
    return response


def selected(body: str, name: str) -> str | None:
    """The value of the selected option of the select named `name`."""
    select_html = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', body, re.DOTALL)
    assert select_html, f"no select named {name}"
    match = re.search(r'<option(?=[^>]*\bselected\b)[^>]*value="([^"]*)"', select_html.group(1))
    return match.group(1) if match else None


@contextmanager
def acting_as(app, user):
    """Call services as `user`, the way a request from them would; commits at the end."""
    with app.test_request_context("/", method="POST"):
        login_user(db.session.get(User, user.id))
        yield db.session.get
        db.session.commit()


def stock_of(app, variant_id: int) -> tuple[Decimal, Decimal]:
    with app.app_context():
        stock = db.session.get(Stock, variant_id)
        return stock.on_hand, stock.reserved


def inventory_rows(app) -> dict:
    """Everything the inventory pages can change, to compare before and after."""
    return {model.__tablename__: rows(app, model) for model in (Product, Variant, Lot, Movement)} | {
        "stock": [(s.variant_id, s.on_hand, s.reserved) for s in _all_stock(app)]
    }


def _all_stock(app):
    with app.app_context():
        found = list(db.session.scalars(select(Stock).order_by(Stock.variant_id)))
        db.session.expunge_all()
        return found


def png_bytes(size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


# --- the people and their goods ----------------------------------------------------


@pytest.fixture
def world(app, db):
    """A sewing-and-chilli group with a coordinator, a treasurer, two members (one with an account),
    a buyer, and a second group with its own coordinator and member."""
    lead = make_user(app, email="ketua@blitar.test", name="Bu Sri")
    group = make_group(app, lead, name="KUB Jahit Melati")
    siti_user = make_user(app, email="siti@blitar.test", name="Siti Aminah")
    siti = make_member(app, group, name="Siti Aminah", user=siti_user)
    ani = make_member(app, group, name="Ani Rahayu")
    gone = make_member(app, group, name="Mantan Anggota", active=False)
    treasurer_user = make_user(app, email="bendahara@blitar.test", name="Nur Hidayah")
    make_member(app, group, name="Nur Hidayah", role="treasurer", user=treasurer_user)
    buyer = make_user(app, email="pembeli@blitar.test", name="Bu Ratna")
    other_lead = make_user(app, email="lain@blitar.test", name="Pak Harjo")
    other_group = make_group(app, other_lead, name="Poktan Belimbing")
    stranger = make_member(app, other_group, name="Orang Lain")
    with acting_as(app, lead) as get:
        g = get(Group, group.id)
        cabai = inv.create_product(
            get(User, lead.id),
            g,
            name="Cabai rawit",
            kind="produce",
            unit="kg",
            variants=[
                {"label": "A", "unit_price": "45000", "low_stock_threshold": "5"},
                {"label": "B", "unit_price": "30000"},
            ],
        )
        daster = inv.create_product(
            get(User, lead.id), g, name="Daster batik", kind="garment", unit="pcs", unit_price="85000"
        )
        ids = SimpleNamespace(
            cabai=cabai.id,
            cabai_a=cabai.variants[0].id,
            cabai_b=cabai.variants[1].id,
            daster=daster.id,
            daster_std=daster.variants[0].id,
        )
    return SimpleNamespace(
        lead=lead,
        group=group,
        siti=siti,
        siti_user=siti_user,
        ani=ani,
        gone=gone,
        treasurer=treasurer_user,
        buyer=buyer,
        other_lead=other_lead,
        other_group=other_group,
        stranger=stranger,
        **vars(ids),
    )


def contribute(app, world, member, variant_id, quantity, **extra):
    with acting_as(app, world.lead) as get:
        lot = inv.receive_contribution(
            get(User, world.lead.id),
            get(Group, world.group.id),
            member_id=member.id,
            variant_id=variant_id,
            quantity=quantity,
            **extra,
        )
        lot_id = lot.id
    return lot_id


COORDINATOR_PAGES = [
    "/groups/{g}/products",
    "/groups/{g}/products/new",
    "/products/{p}/edit",
    "/groups/{g}/intake",
    "/groups/{g}/stock",
    "/groups/{g}/movements",
    "/groups/{g}/dashboard",
]


def page_path(template: str, world) -> str:
    """A page's path with the world's group and product in it."""
    return template.format(g=world.group.id, p=world.cabai)
