"""The inventory API: products, variants, units, contributions, stock, adjustments, movements, alerts.

Every refused write is checked to have changed nothing: products, variants, stock
counters, lots, movements and units are compared before and after.
"""
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import select

from core.extensions import db
from core.quantity import format_quantity
from groups.models import Member
from inventory import services as inv
from inventory.models import GroupUnit, Lot, Movement, Product, Stock, Variant
from tests.factories import assert_error, bearer, fetch, make_group, make_member, make_token, make_user

API = "/api/v1"
WIB = ZoneInfo("Asia/Jakarta")
ANONYMOUS = {}


# --- helpers ----------------------------------------------------------------------

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
    record = make_member(app, group, name=name or f"Anggota {person.id}", user=person.user, role=role,
                         email=person.user.email)
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
    return SimpleNamespace(lead=lead, group=group, treasurer=treasurer, plain=plain, siti=siti, ani=ani,
                           other_lead=other_lead, other_group=other_group, other_member=other_member,
                           buyer=actor(app), admin=actor(app, admin=True))


def headers_of(world, who: str) -> dict:
    return {"anonymous": ANONYMOUS, "buyer": world.buyer.headers,
            "member": world.plain.headers, "other_coordinator": world.other_lead.headers,
            "treasurer": world.treasurer.headers, "coordinator": world.lead.headers,
            "admin": world.admin.headers}[who]


def product_body(**overrides):
    body = {"name": "Cabai rawit", "kind": "produce", "unit": "kg",
            "variants": [{"label": "Grade A", "unit_price": 45000}, {"label": "Grade B", "unit_price": 30000}]}
    body.update(overrides)
    return body


def create_product(client, group, headers, **overrides) -> dict:
    response = client.post(f"{API}/groups/{group.id}/products", json=product_body(**overrides), headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def contribute(client, group, headers, variant_id, member_id, quantity, **extra):
    return client.post(f"{API}/groups/{group.id}/contributions",
                       json={"variant_id": variant_id, "member_id": member_id, "quantity": quantity, **extra},
                       headers=headers)


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


def books_balance(app) -> list[str]:
    with app.app_context():
        return inv.stock_check()


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
    return client.post(f"{API}/products/{product_id}/photo", headers=headers, content_type="multipart/form-data",
                       data={"photo": (io.BytesIO(data), filename, mimetype)})


@pytest.fixture
def stocked(app, client, world):
    """A kg product with two variants; Siti gave 2.5 kg of grade A, Ani 0.5 kg (as 5 ons) a day later."""
    product = create_product(client, world.group, world.lead.headers)
    a, b = (v["id"] for v in product["variants"])
    received = (datetime.now(WIB) - timedelta(days=10)).replace(hour=7, minute=0, second=0, microsecond=0)
    siti_lot = contributed(client, world.group, world.lead.headers, a, world.siti.id, "2.5",
                           received_at=received.isoformat(), grade="A")
    ani_lot = contributed(client, world.group, world.lead.headers, a, world.ani.id, "5", unit="ons",
                          received_at=(received + timedelta(days=1)).isoformat())
    return SimpleNamespace(product=product, a=a, b=b, siti_lot=siti_lot, ani_lot=ani_lot, received=received)


# --- products -----------------------------------------------------------------------

def test_create_product_with_variants_returns_201_with_variant_ids_and_empty_stock(app, client, world):
    response = client.post(f"{API}/groups/{world.group.id}/products", headers=world.lead.headers,
                           json=product_body(description="Pedas, dipetik pagi",
                                             variants=[{"label": "Grade A", "unit_price": 45000,
                                                        "low_stock_threshold": "1.5"},
                                                       {"label": "Grade B", "unit_price": "30.000"}]))

    assert response.status_code == 201, response.json
    body = response.json
    assert body["name"] == "Cabai rawit" and body["kind"] == "produce" and body["unit"] == "kg"
    assert body["status"] == "active" and body["group_id"] == world.group.id
    assert body["group"] == {"id": world.group.id, "name": "KUB Tani Makmur", "village": "Sumberejo"}
    assert body["photo_url"] is None
    first, second = body["variants"]
    assert first == {"id": first["id"], "product_id": body["id"], "label": "Grade A", "unit_price": 45000,
                     "active": True, "available": "0", "on_hand": "0", "reserved": "0", "low_stock_threshold": "1.5"}
    assert second["label"] == "Grade B" and second["unit_price"] == 30000 and second["low_stock_threshold"] is None
    assert "+" in body["created_at"] or body["created_at"].endswith("Z")
    variant = fetch(app, Variant, first["id"])
    assert variant.group_id == world.group.id and variant.unit_price == 45000
    assert counters(app, first["id"]) == ("0", "0")


def test_create_product_without_variants_makes_one_default_variant_at_unit_price(app, client, world):
    body = create_product(client, world.group, world.lead.headers, name="Kemeja batik", kind="garment", unit="pcs",
                          variants=None, unit_price=125000, low_stock_threshold=5)

    [variant] = body["variants"]
    assert variant["label"] == "standard"
    assert variant["unit_price"] == 125000
    assert variant["low_stock_threshold"] == "5"
    assert fetch(app, Stock, variant["id"]) is not None


def test_create_product_without_variants_needs_a_unit_price(app, client, world):
    before = snapshot(app)

    response = client.post(f"{API}/groups/{world.group.id}/products", headers=world.lead.headers,
                           json=product_body(variants=None))

    assert_error(response, 422, "unit_price")
    assert snapshot(app) == before


@pytest.mark.parametrize("name", ["Keripik tempe ꦏꦼꦫꦶꦥꦶꦏ꧀", "Sambal pecel 🌶️", "Ñoño jahe"])
def test_create_product_accepts_unicode_names(app, client, world, name):
    body = create_product(client, world.group, world.lead.headers, name=name, kind="processed")

    assert client.get(f"{API}/products/{body['id']}").json["name"] == name


@pytest.mark.parametrize("body, field", [
    ({"kind": "vegetable"}, "kind"),
    ({"kind": "Produce"}, "kind"),
    ({"kind": None}, "kind"),
    ({"unit": "bakul"}, "unit"),
    ({"unit": 5}, "unit"),
    ({"name": "x" * 20_000}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "Cabai\x00rawit"}, "name"),
    ({"description": "x" * 2001}, "description"),
    ({"variants": [{"label": "A", "unit_price": 1000}, {"label": "a", "unit_price": 2000}]}, "variants.1.label"),
    ({"variants": [{"label": "", "unit_price": 1000}]}, "variants.0.label"),
    ({"variants": [{"label": "x" * 61, "unit_price": 1000}]}, "variants.0.label"),
    ({"variants": [{"label": "A", "unit_price": 1000, "low_stock_threshold": 2.5}]}, "variants.0.low_stock_threshold"),
    ({"variants": "A"}, "variants"),
    ({"id": 7}, "id"),
    ({"status": "hidden"}, "status"),
])
def test_create_product_refuses_bad_input_with_422(app, client, world, body, field):
    before = snapshot(app)

    response = client.post(f"{API}/groups/{world.group.id}/products", json=product_body(**body),
                           headers=world.lead.headers)

    assert_error(response, 422, field)
    assert snapshot(app) == before


@pytest.mark.parametrize("price", ["12,50", -1, "-1", "abc", 1.5, "1.5", True, None, "", 10**16])
def test_create_product_refuses_malformed_money_with_422(app, client, world, price):
    before = snapshot(app)

    in_variant = client.post(f"{API}/groups/{world.group.id}/products", headers=world.lead.headers,
                             json=product_body(variants=[{"label": "A", "unit_price": price}]))
    default = client.post(f"{API}/groups/{world.group.id}/products", headers=world.lead.headers,
                          json=product_body(variants=None, unit_price=price))

    assert_error(in_variant, 422, "variants.0.unit_price")
    assert_error(default, 422, "unit_price")
    assert snapshot(app) == before


def test_create_product_refuses_json_array_with_422(app, client, world):
    before = snapshot(app)

    response = client.post(f"{API}/groups/{world.group.id}/products", json=[product_body()],
                           headers=world.lead.headers)

    assert_error(response, 422)
    assert snapshot(app) == before


def test_create_product_refuses_malformed_json_with_400(app, client, world):
    before = snapshot(app)

    response = client.post(f"{API}/groups/{world.group.id}/products", data='{"name": "Cabai", "kind":',
                           content_type="application/json", headers=world.lead.headers)

    assert_error(response, 400)
    assert snapshot(app) == before


def test_create_product_in_unknown_group_is_404(app, client, world):
    assert_error(client.post(f"{API}/groups/999999/products", json=product_body(), headers=world.lead.headers), 404)
    assert snapshot(app)["products"] == []


def test_coordinator_patches_product_name_description_kind_and_status(app, client, world):
    product = create_product(client, world.group, world.lead.headers)

    response = client.patch(f"{API}/products/{product['id']}", headers=world.lead.headers,
                            json={"name": "Cabai rawit merah", "description": "Dari lereng Kelud", "kind": "processed",
                                  "status": "hidden"})

    assert response.status_code == 200, response.json
    body = response.json
    assert (body["name"], body["description"], body["kind"], body["status"]) == (
        "Cabai rawit merah", "Dari lereng Kelud", "processed", "hidden")
    assert fetch(app, Product, product["id"]).status == "hidden"


def test_patch_unit_price_of_a_single_variant_product(app, client, world):
    product = create_product(client, world.group, world.lead.headers, variants=None, unit_price=20000)

    response = client.patch(f"{API}/products/{product['id']}", json={"unit_price": "22.500"},
                            headers=world.lead.headers)

    assert response.status_code == 200, response.json
    assert response.json["variants"][0]["unit_price"] == 22500


@pytest.mark.parametrize("body, field", [
    ({"unit_price": 50000}, "unit_price"),  # two variants: price each one
    ({"status": "deleted"}, "status"),
    ({"kind": "tool"}, "kind"),
    ({"name": ""}, "name"),
    ({"name": "x" * 20_000}, "name"),
    ({"unit": "g"}, "unit"),
])
def test_patch_product_refuses_bad_input_with_422(app, client, world, body, field):
    product = create_product(client, world.group, world.lead.headers)
    before = snapshot(app)

    response = client.patch(f"{API}/products/{product['id']}", json=body, headers=world.lead.headers)

    assert_error(response, 422, field)
    assert snapshot(app) == before


@pytest.mark.parametrize("price", ["12,50", -1, "abc", 1.5])
def test_patch_product_refuses_malformed_money_with_422(app, client, world, price):
    product = create_product(client, world.group, world.lead.headers, variants=None, unit_price=20000)
    before = snapshot(app)

    response = client.patch(f"{API}/products/{product['id']}", json={"unit_price": price},
                            headers=world.lead.headers)

    assert_error(response, 422, "unit_price")
    assert snapshot(app) == before


def test_patch_unknown_product_is_404(app, client, world):
    for product_id in ("999999", "2147483648", "99999999999999999999"):
        assert_error(client.patch(f"{API}/products/{product_id}", json={"name": "X"}, headers=world.lead.headers),
                     404)


# --- variants ---------------------------------------------------------------------------

def test_coordinator_adds_variant_with_its_own_stock(app, client, world):
    product = create_product(client, world.group, world.lead.headers)

    response = client.post(f"{API}/products/{product['id']}/variants", headers=world.lead.headers,
                           json={"label": "Grade C", "unit_price": 20000, "low_stock_threshold": "0.5"})

    assert response.status_code == 201, response.json
    body = response.json
    assert (body["label"], body["unit_price"], body["low_stock_threshold"], body["available"]) == (
        "Grade C", 20000, "0.5", "0")
    assert counters(app, body["id"]) == ("0", "0")
    assert len(client.get(f"{API}/products/{product['id']}").json["variants"]) == 3


def test_add_variant_with_a_taken_label_is_409(app, client, world):
    product = create_product(client, world.group, world.lead.headers)
    before = snapshot(app)

    response = client.post(f"{API}/products/{product['id']}/variants", json={"label": "grade a", "unit_price": 1},
                           headers=world.lead.headers)

    assert_error(response, 409, "label")
    assert snapshot(app) == before


@pytest.mark.parametrize("body, field", [
    ({"label": "C", "unit_price": "12,50"}, "unit_price"),
    ({"label": "C", "unit_price": -1}, "unit_price"),
    ({"label": "C", "unit_price": "abc"}, "unit_price"),
    ({"label": "C", "unit_price": 1.5}, "unit_price"),
    ({"label": "C"}, "unit_price"),
    ({"unit_price": 1000}, "label"),
    ({"label": "C", "unit_price": 1000, "low_stock_threshold": "abc"}, "low_stock_threshold"),
    ({"label": "C", "unit_price": 1000, "low_stock_threshold": "-1"}, "low_stock_threshold"),
])
def test_add_variant_refuses_bad_input_with_422(app, client, world, body, field):
    product = create_product(client, world.group, world.lead.headers)
    before = snapshot(app)

    response = client.post(f"{API}/products/{product['id']}/variants", json=body, headers=world.lead.headers)

    assert_error(response, 422, field)
    assert snapshot(app) == before


def test_coordinator_patches_variant(app, client, world):
    product = create_product(client, world.group, world.lead.headers)
    variant_id = product["variants"][1]["id"]

    response = client.patch(f"{API}/variants/{variant_id}", headers=world.lead.headers,
                            json={"label": "Grade B+", "unit_price": 32000, "low_stock_threshold": "2",
                                  "active": False})

    assert response.status_code == 200, response.json
    assert response.json["label"] == "Grade B+"
    assert response.json["unit_price"] == 32000
    assert response.json["low_stock_threshold"] == "2"
    assert response.json["active"] is False
    public = client.get(f"{API}/products/{product['id']}").json
    assert [v["label"] for v in public["variants"]] == ["Grade A"]


@pytest.mark.parametrize("body, field, code", [
    ({"unit_price": "12,50"}, "unit_price", 422),
    ({"unit_price": 1.5}, "unit_price", 422),
    ({"active": "yes"}, "active", 422),
    ({"active": 1}, "active", 422),
    ({"low_stock_threshold": 2.5}, "low_stock_threshold", 422),
    ({"label": "GRADE A"}, "label", 409),
])
def test_patch_variant_refuses_bad_input(app, client, world, body, field, code):
    product = create_product(client, world.group, world.lead.headers)
    before = snapshot(app)

    response = client.patch(f"{API}/variants/{product['variants'][1]['id']}", json=body, headers=world.lead.headers)

    assert_error(response, code, field)
    assert snapshot(app) == before


def test_patch_unknown_variant_is_404(app, client, world):
    assert_error(client.patch(f"{API}/variants/999999", json={"label": "X"}, headers=world.lead.headers), 404)


# --- units ----------------------------------------------------------------------------------

def test_group_units_list_builtin_units_and_the_groups_own(app, client, world):
    response = client.post(f"{API}/groups/{world.group.id}/units", json={"code": "Tandan", "name": "tandan pisang"},
                           headers=world.lead.headers)
    assert response.status_code == 201, response.json
    assert response.json == {"code": "tandan", "name": "tandan pisang", "whole": True, "builtin": False}

    units = {u["code"]: u for u in client.get(f"{API}/groups/{world.group.id}/units").json["items"]}

    assert units["kg"] == {"code": "kg", "name": "kilogram", "whole": False, "builtin": True}
    assert units["kodi"]["whole"] is True
    assert units["tandan"]["builtin"] is False
    other = {u["code"] for u in client.get(f"{API}/groups/{world.other_group.id}/units").json["items"]}
    assert "tandan" not in other


def test_products_and_contributions_use_the_groups_own_unit(app, client, world):
    assert client.post(f"{API}/groups/{world.group.id}/units", json={"code": "tandan"},
                       headers=world.lead.headers).status_code == 201
    product = create_product(client, world.group, world.lead.headers, name="Pisang raja", unit="tandan",
                             variants=None, unit_price=35000)
    variant_id = product["variants"][0]["id"]

    lot = contributed(client, world.group, world.lead.headers, variant_id, world.siti.id, "3")

    assert lot["quantity"] == "3" and lot["unit"] == "tandan"
    assert_error(contribute(client, world.group, world.lead.headers, variant_id, world.siti.id, "1.5"), 422,
                 "quantity")
    other = client.post(f"{API}/groups/{world.other_group.id}/products", headers=world.other_lead.headers,
                        json=product_body(unit="tandan"))
    assert_error(other, 422, "unit")


@pytest.mark.parametrize("body, field, code", [
    ({"code": "kg"}, "code", 409),
    ({"code": "two words"}, "code", 422),
    ({"code": "x" * 17}, "code", 422),
    ({"code": "İ" * 9}, "code", 422),  # 18 letters once lower-cased
    ({"code": "ikat2"}, "code", 422),
    ({"code": "bakul", "whole": "yes"}, "whole", 422),
    ({"code": "bakul", "name": "x" * 61}, "name", 422),
    ({"code": "bakul", "name": "x" * 20_000}, "name", 422),
    ({"name": "bakul"}, "code", 422),
])
def test_define_unit_refuses_bad_input(app, client, world, body, field, code):
    before = snapshot(app)

    response = client.post(f"{API}/groups/{world.group.id}/units", json=body, headers=world.lead.headers)

    assert_error(response, code, field)
    assert snapshot(app) == before


# --- the whole flow: contributions, stock, ledger, adjustments --------------------------------------

def test_contributions_stock_movements_and_adjustments_flow(app, client, world, stocked):
    lead, group = world.lead.headers, world.group
    siti_lot, ani_lot = stocked.siti_lot, stocked.ani_lot
    assert siti_lot == {"id": siti_lot["id"], "group_id": group.id, "variant_id": stocked.a,
                        "product_id": stocked.product["id"], "product_name": "Cabai rawit", "label": "Grade A",
                        "unit": "kg", "member_id": world.siti.id, "quantity": "2.5", "remaining": "2.5",
                        "sold": "0", "written_off": "0", "found": "0", "returned": "0", "grade": "A",
                        "received_at": stocked.received.astimezone(UTC).isoformat(), "best_before": None, "note": None}
    assert (ani_lot["quantity"], ani_lot["remaining"]) == ("0.5", "0.5")  # 5 ons is 0.5 kg

    stock = client.get(f"{API}/groups/{group.id}/stock", headers=lead).json
    assert stock["total"] == 2
    row_a = next(r for r in stock["items"] if r["variant_id"] == stocked.a)
    assert row_a == {"variant_id": stocked.a, "product_id": stocked.product["id"], "product_name": "Cabai rawit",
                     "product_status": "active", "label": "Grade A", "unit": "kg", "active": True, "on_hand": "3",
                     "reserved": "0", "available": "3", "low_stock_threshold": None}

    ledger = client.get(f"{API}/groups/{group.id}/movements", headers=lead).json
    assert ledger["total"] == 2
    newest, oldest = ledger["items"]
    assert (oldest["kind"], oldest["on_hand_delta"], oldest["reserved_delta"], oldest["lot_id"], oldest["reason"],
            oldest["actor_id"]) == ("intake", "2.5", "0", siti_lot["id"], None, world.lead.id)
    assert (newest["kind"], newest["on_hand_delta"], newest["lot_id"]) == ("intake", "0.5", ani_lot["id"])
    assert oldest["created_at"].endswith("+00:00")

    spoiled = adjust(client, group, lead, variant_id=stocked.a, quantity="-0.3", reason="spoilage", note="busuk")
    assert spoiled.status_code == 201, spoiled.json
    [move] = spoiled.json["movements"]
    assert (move["kind"], move["reason"], move["on_hand_delta"], move["lot_id"], move["note"]) == (
        "adjustment", "spoilage", "-0.3", siti_lot["id"], "busuk")  # from the oldest lot first
    assert counters(app, stocked.a) == ("2.7", "0")

    counted = adjust(client, group, lead, variant_id=stocked.a, counted="2.5", reason="count")
    assert counted.status_code == 201, counted.json
    assert [m["on_hand_delta"] for m in counted.json["movements"]] == ["-0.2"]
    assert counters(app, stocked.a) == ("2.5", "0")

    returned = adjust(client, group, lead, variant_id=stocked.a, quantity="0.5", reason="return")
    assert returned.status_code == 201, returned.json
    [back] = returned.json["movements"]
    assert (back["kind"], back["on_hand_delta"], back["lot_id"]) == ("return", "0.5", ani_lot["id"])
    assert counters(app, stocked.a) == ("3", "0")

    sell(app, stocked.a, "1.5")  # first in, first out: from Siti's lot

    lots = {lot["member_id"]: lot for lot in
            client.get(f"{API}/groups/{group.id}/contributions", headers=lead).json["items"]}
    assert {k: lots[world.siti.id][k] for k in ("quantity", "remaining", "sold", "written_off", "found", "returned")} == {
        "quantity": "2.5", "remaining": "0.5", "sold": "1.5", "written_off": "0.5", "found": "0", "returned": "0"}
    assert {k: lots[world.ani.id][k] for k in ("quantity", "remaining", "sold", "written_off", "found", "returned")} == {
        "quantity": "0.5", "remaining": "1", "sold": "0", "written_off": "0", "found": "0", "returned": "0.5"}
    assert counters(app, stocked.a) == ("1.5", "0")
    assert books_balance(app) == []
    assert client.get(f"{API}/groups/{group.id}/movements?variant_id={stocked.a}", headers=lead).json["total"] == 7
    assert client.get(f"{API}/groups/{group.id}/movements?variant_id={stocked.b}", headers=lead).json["total"] == 0


def test_contribution_in_kodi_into_a_pcs_product_counts_pieces(app, client, world):
    product = create_product(client, world.group, world.lead.headers, name="Kemeja batik", kind="garment",
                             unit="pcs", variants=None, unit_price=125000)

    lot = contributed(client, world.group, world.lead.headers, product["variants"][0]["id"], world.siti.id, 2,
                      unit="kodi", best_before="2031-01-01", note="jahitan rapi")

    assert (lot["quantity"], lot["unit"], lot["best_before"], lot["note"]) == ("40", "pcs", "2031-01-01",
                                                                               "jahitan rapi")


def test_contribution_without_received_at_is_received_now(app, client, world, stocked):
    lot = contributed(client, world.group, world.lead.headers, stocked.b, world.ani.id, "1")

    received = datetime.fromisoformat(lot["received_at"])
    assert abs(received - datetime.now(WIB)) < timedelta(minutes=5)


def test_adjust_named_lot_takes_from_that_lot(app, client, world, stocked):
    response = adjust(client, world.group, world.lead.headers, variant_id=stocked.a, quantity="-0.2",
                      reason="damage", lot_id=stocked.ani_lot["id"])

    assert response.status_code == 201, response.json
    assert [m["lot_id"] for m in response.json["movements"]] == [stocked.ani_lot["id"]]
    assert fetch(app, Lot, stocked.ani_lot["id"]).remaining == Decimal("0.3")
    assert fetch(app, Lot, stocked.siti_lot["id"]).remaining == Decimal("2.5")


def test_spoilage_across_lots_writes_one_movement_per_lot(app, client, world, stocked):
    response = adjust(client, world.group, world.lead.headers, variant_id=stocked.a, quantity="-2.7",
                      reason="spoilage")

    assert response.status_code == 201, response.json
    assert [(m["lot_id"], m["on_hand_delta"]) for m in response.json["movements"]] == [
        (stocked.siti_lot["id"], "-2.5"), (stocked.ani_lot["id"], "-0.2")]
    assert counters(app, stocked.a) == ("0.3", "0")
    assert books_balance(app) == []


def test_count_that_matches_changes_nothing(app, client, world, stocked):
    before = snapshot(app)

    response = adjust(client, world.group, world.lead.headers, variant_id=stocked.a, counted="3", reason="count")

    assert response.status_code == 201
    assert response.json == {"movements": []}
    assert snapshot(app) == before


# --- bad contributions and adjustments change nothing -------------------------------------------------

@pytest.mark.parametrize("quantity", ["-1", -1, "0", 0, "abc", 2.5, 1.0, 10**12, "1000000000000", "1.2345",
                                      None, True, "", " ", "1e3", "NaN", "Infinity", "1,5", [1], {"value": "1"}])
def test_contribution_refuses_bad_quantity_with_422(app, client, world, stocked, quantity):
    before = snapshot(app)

    response = contribute(client, world.group, world.lead.headers, stocked.a, world.siti.id, quantity)

    assert_error(response, 422, "quantity")
    assert snapshot(app) == before


def test_contribution_refuses_fractional_pieces_with_422(app, client, world):
    product = create_product(client, world.group, world.lead.headers, name="Kemeja batik", kind="garment",
                             unit="pcs", variants=None, unit_price=125000)
    variant_id = product["variants"][0]["id"]
    before = snapshot(app)

    fraction = contribute(client, world.group, world.lead.headers, variant_id, world.siti.id, "1.5")
    half_lusin = contribute(client, world.group, world.lead.headers, variant_id, world.siti.id, "0.5", unit="lusin")

    assert_error(fraction, 422, "quantity")
    assert_error(half_lusin, 422, "quantity")
    assert snapshot(app) == before


def test_contribution_refuses_another_groups_variant_member_or_unit_without_leaking(app, client, world, stocked):
    theirs = create_product(client, world.other_group, world.other_lead.headers, name="Gula aren rahasia",
                            variants=None, unit_price=20000)
    their_variant = theirs["variants"][0]["id"]
    before = snapshot(app)

    variant = contribute(client, world.group, world.lead.headers, their_variant, world.siti.id, "1")
    member = contribute(client, world.group, world.lead.headers, stocked.a, world.other_member.id, "1")
    unknown_variant = contribute(client, world.group, world.lead.headers, 2_147_483_648, world.siti.id, "1")

    assert_error(variant, 422, "variant_id")
    assert "Gula" not in variant.get_data(as_text=True)
    assert_error(member, 422, "member_id")
    assert "Wati" not in member.get_data(as_text=True)
    assert_error(unknown_variant, 422, "variant_id")
    assert snapshot(app) == before


@pytest.mark.parametrize("extra, field", [
    ({"unit": "bakul"}, "unit"),
    ({"unit": "liter"}, "unit"),  # does not convert to kg
    ({"unit": "g", "quantity": "0.1"}, "unit"),  # 0.0001 kg: more than 3 places
    ({"received_at": "kemarin"}, "received_at"),
    ({"received_at": "2999-01-01T00:00:00+07:00"}, "received_at"),
    ({"received_at": "1999-01-01T00:00:00+07:00"}, "received_at"),
    ({"best_before": "31/12/2026"}, "best_before"),
    ({"grade": "x" * 21}, "grade"),
    ({"note": "x" * 501}, "note"),
    ({"note": "busuk\x00"}, "note"),
    ({"variant_id": "1"}, "variant_id"),
    ({"member_id": None}, "member_id"),
    ({"lot_id": 1}, "lot_id"),
])
def test_contribution_refuses_bad_fields_with_422(app, client, world, stocked, extra, field):
    body = {"variant_id": stocked.a, "member_id": world.siti.id, "quantity": "1", **extra}
    before = snapshot(app)

    response = client.post(f"{API}/groups/{world.group.id}/contributions", json=body, headers=world.lead.headers)

    assert_error(response, 422, field)
    assert snapshot(app) == before


def test_contribution_from_inactive_member_is_422(app, client, world, stocked):
    former = make_member(app, world.group, name="Bu Darmi", active=False)
    before = snapshot(app)

    response = contribute(client, world.group, world.lead.headers, stocked.a, former.id, "1")

    assert_error(response, 422, "member_id")
    assert snapshot(app) == before


def test_contribution_refuses_json_array_and_malformed_json(app, client, world, stocked):
    before = snapshot(app)
    url = f"{API}/groups/{world.group.id}/contributions"

    array = client.post(url, json=[{"variant_id": stocked.a, "member_id": world.siti.id, "quantity": "1"}],
                        headers=world.lead.headers)
    broken = client.post(url, data='{"variant_id": 1, "quantity": "1"', content_type="application/json",
                         headers=world.lead.headers)

    assert_error(array, 422)
    assert_error(broken, 400)
    assert snapshot(app) == before


def test_adjusting_below_zero_is_409_and_changes_nothing(app, client, world, stocked):
    before = snapshot(app)

    response = adjust(client, world.group, world.lead.headers, variant_id=stocked.a, quantity="-3.001",
                      reason="spoilage")

    assert_error(response, 409, "quantity")
    assert snapshot(app) == before


def test_adjusting_below_reserved_is_409_and_changes_nothing(app, client, world, stocked):
    reserve(app, stocked.a, "2")
    before = snapshot(app)

    spoiled = adjust(client, world.group, world.lead.headers, variant_id=stocked.a, quantity="-1.5",
                     reason="spoilage")
    counted = adjust(client, world.group, world.lead.headers, variant_id=stocked.a, counted="1", reason="count")

    assert_error(spoiled, 409, "quantity")
    assert_error(counted, 409, "quantity")
    assert snapshot(app) == before
    assert counters(app, stocked.a) == ("3", "2")


def test_adjusting_a_named_lot_beyond_what_it_holds_is_409(app, client, world, stocked):
    before = snapshot(app)

    response = adjust(client, world.group, world.lead.headers, variant_id=stocked.a, quantity="-1",
                      reason="damage", lot_id=stocked.ani_lot["id"])

    assert_error(response, 409)
    assert snapshot(app) == before


def test_return_of_a_variant_nobody_contributed_is_409(app, client, world, stocked):
    before = snapshot(app)

    response = adjust(client, world.group, world.lead.headers, variant_id=stocked.b, quantity="1", reason="return")

    assert_error(response, 409)
    assert snapshot(app) == before


@pytest.mark.parametrize("body, field", [
    ({"reason": "theft", "quantity": "-1"}, "reason"),
    ({"reason": "", "quantity": "-1"}, "reason"),
    ({"quantity": "-1"}, "reason"),
    ({"reason": "spoilage", "quantity": "0.5"}, "quantity"),  # spoilage takes away
    ({"reason": "return", "quantity": "-0.5"}, "quantity"),  # a return brings back
    ({"reason": "spoilage", "quantity": -0.3}, "quantity"),
    ({"reason": "spoilage", "quantity": "abc"}, "quantity"),
    ({"reason": "spoilage", "quantity": "-1.2345"}, "quantity"),
    ({"reason": "return", "quantity": 10**12}, "quantity"),
    ({"reason": "return", "quantity": "99999999.999"}, "quantity"),  # past the most a variant may hold
    ({"reason": "spoilage"}, "quantity"),
    ({"reason": "count", "counted": "2", "quantity": "-1"}, "counted"),
    ({"reason": "count", "counted": "-1"}, "counted"),
    ({"reason": "count", "counted": 2.5}, "counted"),
    ({"reason": "spoilage", "quantity": "-1", "note": "x" * 501}, "note"),
    ({"reason": "spoilage", "quantity": "-1", "lot_id": "1"}, "lot_id"),
    ({"reason": "spoilage", "quantity": "-1", "extra": 1}, "extra"),
])
def test_adjustment_refuses_bad_input_with_422(app, client, world, stocked, body, field):
    before = snapshot(app)

    response = adjust(client, world.group, world.lead.headers, variant_id=stocked.a, **body)

    assert_error(response, 422, field)
    assert snapshot(app) == before


def test_adjustment_refuses_another_groups_variant_and_lot(app, client, world, stocked):
    theirs = create_product(client, world.other_group, world.other_lead.headers, variants=None, unit_price=1000)
    their_variant = theirs["variants"][0]["id"]
    their_lot = contributed(client, world.other_group, world.other_lead.headers, their_variant,
                            world.other_member.id, "4")
    before = snapshot(app)

    variant = adjust(client, world.group, world.lead.headers, variant_id=their_variant, quantity="-1",
                     reason="spoilage")
    lot = adjust(client, world.group, world.lead.headers, variant_id=stocked.a, quantity="-1", reason="spoilage",
                 lot_id=their_lot["id"])
    other_variants_lot = adjust(client, world.group, world.lead.headers, variant_id=stocked.b, quantity="-1",
                                reason="spoilage", lot_id=stocked.siti_lot["id"])

    assert_error(variant, 422, "variant_id")
    assert_error(lot, 422, "lot_id")
    assert_error(other_variants_lot, 422, "lot_id")
    assert snapshot(app) == before


# --- who sees whose contributions ---------------------------------------------------------------------

def test_member_sees_only_their_own_contributions(app, client, world, stocked):
    own = contributed(client, world.group, world.lead.headers, stocked.b, world.plain.member_id, "1.25")
    elsewhere = make_member(app, world.other_group, name="Rina Wulandari", user=world.plain.user)
    theirs = create_product(client, world.other_group, world.other_lead.headers, variants=None, unit_price=9000)
    other_lot = contributed(client, world.other_group, world.other_lead.headers, theirs["variants"][0]["id"],
                            elsewhere.id, "2")
    url = f"{API}/groups/{world.group.id}/contributions"

    listed = client.get(url, headers=world.plain.headers)
    assert listed.status_code == 200
    assert [lot["id"] for lot in listed.json["items"]] == [own["id"]]
    assert listed.json["total"] == 1
    assert client.get(f"{url}?member_id={world.plain.member_id}", headers=world.plain.headers).json["total"] == 1
    assert_error(client.get(f"{url}?member_id={world.siti.id}", headers=world.plain.headers), 403)

    mine = client.get(f"{API}/me/contributions", headers=world.plain.headers)
    assert mine.status_code == 200
    assert {lot["id"] for lot in mine.json["items"]} == {own["id"], other_lot["id"]}
    assert mine.json["total"] == 2
    assert {lot["group_id"] for lot in mine.json["items"]} == {world.group.id, world.other_group.id}
    assert client.get(f"{API}/me/contributions", headers=world.lead.headers).json["total"] == 0


def test_coordinator_and_treasurer_see_everyones_contributions_and_filter_by_member(app, client, world, stocked):
    url = f"{API}/groups/{world.group.id}/contributions"
    for who in (world.lead, world.treasurer):
        assert client.get(url, headers=who.headers).json["total"] == 2
        only_ani = client.get(f"{url}?member_id={world.ani.id}", headers=who.headers).json
        assert [lot["id"] for lot in only_ani["items"]] == [stocked.ani_lot["id"]]
    assert_error(client.get(f"{url}?member_id={world.other_member.id}", headers=world.lead.headers), 422,
                 "member_id")
    assert_error(client.get(f"{url}?member_id=abc", headers=world.lead.headers), 422, "member_id")


def test_contributions_page_through(app, client, world, stocked):
    for _ in range(3):
        contributed(client, world.group, world.lead.headers, stocked.b, world.siti.id, "1")

    page = client.get(f"{API}/groups/{world.group.id}/contributions?per_page=2&page=3", headers=world.lead.headers)

    assert page.json["total"] == 5 and page.json["page"] == 3 and page.json["per_page"] == 2
    assert [lot["id"] for lot in page.json["items"]] == [stocked.siti_lot["id"]]  # the oldest comes last


# --- the catalog ------------------------------------------------------------------------------------

@pytest.fixture
def catalog(app, client, world):
    """Products of two groups: some in stock, one hidden, one archived, one with its only variant inactive."""
    lead, other = world.lead.headers, world.other_lead.headers
    made = {}
    for group, headers, name, kind in [
        (world.group, lead, "Cabai rawit", "produce"), (world.group, lead, "Keripik tempe", "processed"),
        (world.group, lead, "Kemeja batik", "garment"), (world.other_group, other, "Cabai merah besar", "produce"),
        (world.other_group, other, "Gula 100% aren", "processed"),
        (world.group, lead, "Sayur disembunyikan", "produce"), (world.group, lead, "Sayur lama", "produce"),
        (world.group, lead, "Tomat tanpa varian", "produce"),
    ]:
        made[name] = create_product(client, group, headers, name=name, kind=kind, variants=None, unit_price=10000)
    contributed(client, world.group, lead, made["Cabai rawit"]["variants"][0]["id"], world.siti.id, "2")
    contributed(client, world.other_group, other, made["Gula 100% aren"]["variants"][0]["id"],
                world.other_member.id, "1")
    for name, status in (("Sayur disembunyikan", "hidden"), ("Sayur lama", "archived")):
        assert client.patch(f"{API}/products/{made[name]['id']}", json={"status": status},
                            headers=lead).status_code == 200
    assert client.patch(f"{API}/variants/{made['Tomat tanpa varian']['variants'][0]['id']}", json={"active": False},
                        headers=lead).status_code == 200
    return made


def names(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [p["name"] for p in response.json["items"]]


def test_catalog_lists_active_products_by_name_with_group_and_available(app, client, world, catalog):
    response = client.get(f"{API}/products")

    assert names(response) == ["Cabai merah besar", "Cabai rawit", "Gula 100% aren", "Kemeja batik", "Keripik tempe"]
    body = response.json
    assert (body["total"], body["page"], body["per_page"]) == (5, 1, 50)
    rawit = next(p for p in body["items"] if p["name"] == "Cabai rawit")
    assert rawit["group"] == {"id": world.group.id, "name": "KUB Tani Makmur", "village": "Sumberejo"}
    [variant] = rawit["variants"]
    assert variant["available"] == "2" and variant["unit_price"] == 10000
    assert not {"on_hand", "reserved", "low_stock_threshold"} & set(variant)  # the group's business


def test_catalog_shows_only_active_variants(app, client, world, catalog):
    rawit = catalog["Cabai rawit"]
    assert client.post(f"{API}/products/{rawit['id']}/variants", json={"label": "Grade B", "unit_price": 8000},
                       headers=world.lead.headers).status_code == 201
    assert client.patch(f"{API}/variants/{rawit['variants'][0]['id']}", json={"active": False},
                        headers=world.lead.headers).status_code == 200

    [listed] = [p for p in client.get(f"{API}/products?q=rawit").json["items"]]

    assert [v["label"] for v in listed["variants"]] == ["Grade B"]


@pytest.mark.parametrize("query, expected", [
    ("q=CABAI", ["Cabai merah besar", "Cabai rawit"]),
    ("q=100%25", ["Gula 100% aren"]),  # % is searched for, not a wildcard
    ("q=_", []),
    ("kind=garment", ["Kemeja batik"]),
    ("in_stock=true", ["Cabai rawit", "Gula 100% aren"]),
    ("village=kalipucung", ["Cabai merah besar", "Gula 100% aren"]),
    ("q=cabai&in_stock=true", ["Cabai rawit"]),
])
def test_catalog_filters(app, client, world, catalog, query, expected):
    assert names(client.get(f"{API}/products?{query}")) == expected


def test_catalog_filters_by_group_and_pages_through(app, client, world, catalog):
    assert names(client.get(f"{API}/products?group_id={world.other_group.id}")) == ["Cabai merah besar",
                                                                                      "Gula 100% aren"]
    second = client.get(f"{API}/products?per_page=2&page=2")
    assert names(second) == ["Gula 100% aren", "Kemeja batik"]
    assert second.json["total"] == 5
    assert names(client.get(f"{API}/products?per_page=2&page=4")) == []


def test_catalog_in_stock_leaves_out_what_orders_hold(app, client, world, catalog):
    reserve(app, catalog["Cabai rawit"]["variants"][0]["id"], "2")

    assert names(client.get(f"{API}/products?in_stock=true")) == ["Gula 100% aren"]
    assert client.get(f"{API}/products?q=rawit").json["items"][0]["variants"][0]["available"] == "0"


@pytest.mark.parametrize("query, field", [
    ("kind=shop", "kind"), ("per_page=101", "per_page"), ("page=0", "page"), ("group_id=abc", "group_id"),
    ("group_id=2147483648", "group_id"), ("in_stock=maybe", "in_stock"), ("q=" + "x" * 121, "q"),
    ("q=cabai%00", "q"), ("village=%1b", "village"),
])
def test_catalog_refuses_bad_query_with_422(app, client, world, catalog, query, field):
    assert_error(client.get(f"{API}/products?{query}"), 422, field)


def test_hidden_and_archived_products_leave_the_catalog_and_are_404_to_the_public(app, client, world, catalog):
    for name in ("Sayur disembunyikan", "Sayur lama"):
        product_id = catalog[name]["id"]
        for who in ("anonymous", "buyer", "member", "other_coordinator", "admin"):
            assert_error(client.get(f"{API}/products/{product_id}", headers=headers_of(world, who)), 404)
        for who in ("coordinator", "treasurer"):
            response = client.get(f"{API}/products/{product_id}", headers=headers_of(world, who))
            assert response.status_code == 200, (who, response.json)
            assert "on_hand" in response.json["variants"][0]


def test_product_page_is_public_and_shows_counters_only_to_its_managers(app, client, world, catalog):
    product_id = catalog["Cabai rawit"]["id"]

    public = client.get(f"{API}/products/{product_id}")
    own = client.get(f"{API}/products/{product_id}", headers=world.lead.headers)

    assert public.status_code == 200
    assert public.json["variants"][0]["available"] == "2"
    assert "on_hand" not in public.json["variants"][0]
    assert own.json["variants"][0]["on_hand"] == "2"
    for product_id in ("999999", "0", "2147483648", "99999999999999999999"):
        assert_error(client.get(f"{API}/products/{product_id}"), 404)


# --- photos ----------------------------------------------------------------------------------------

def test_photo_upload_is_reencoded_as_webp_and_served(app, client, world, media_dir):
    product = create_product(client, world.group, world.lead.headers)

    response = upload(client, product["id"], world.lead.headers, png_bytes())

    assert response.status_code == 200, response.json
    photo = fetch(app, Product, product["id"]).photo
    assert response.json["photo_url"] == f"/media/products/{photo}.webp"
    assert response.json["thumb_url"] == f"/media/products/{photo}-thumb.webp"
    stored = (media_dir / f"{photo}.webp").read_bytes()
    assert stored[:4] == b"RIFF" and stored[8:12] == b"WEBP"
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "WEBP" and image.size == (64, 48)
    served = client.get(response.json["photo_url"])
    assert served.status_code == 200
    assert served.data == stored
    assert client.get(response.json["thumb_url"]).status_code == 200
    assert client.get(f"{API}/products?q=rawit").json["items"][0]["photo_url"] == response.json["photo_url"]


@pytest.mark.parametrize("data, filename", [
    (b"ini bukan foto, hanya teks\n" * 10, "cabai.png"),
    (b"", "kosong.png"),
    (png_bytes()[:60], "terpotong.png"),
    (b"GIF89a" + b"\x00" * 40, "animasi.gif"),
])
def test_photo_upload_refuses_what_is_not_a_photo_with_422(app, client, world, media_dir, data, filename):
    product = create_product(client, world.group, world.lead.headers)
    before = snapshot(app)

    response = upload(client, product["id"], world.lead.headers, data, filename=filename)

    assert_error(response, 422, "photo")
    assert snapshot(app) == before
    assert not media_dir.exists() or not any(media_dir.iterdir())


def test_photo_upload_without_the_file_field_is_422(app, client, world):
    product = create_product(client, world.group, world.lead.headers)
    before = snapshot(app)

    response = client.post(f"{API}/products/{product['id']}/photo", headers=world.lead.headers,
                           content_type="multipart/form-data", data={"picture": (io.BytesIO(png_bytes()), "a.png")})

    assert_error(response, 422, "photo")
    assert snapshot(app) == before


def test_photo_upload_over_the_request_limit_is_413(app, client, world, media_dir):
    product = create_product(client, world.group, world.lead.headers)
    before = snapshot(app)

    response = upload(client, product["id"], world.lead.headers, png_bytes() + b"\x00" * (2 * 1024 * 1024 + 1))

    assert_error(response, 413)
    assert snapshot(app) == before
    assert not media_dir.exists() or not any(media_dir.iterdir())


def test_photo_upload_to_another_groups_product_is_403(app, client, world, media_dir):
    theirs = create_product(client, world.other_group, world.other_lead.headers)
    before = snapshot(app)

    response = upload(client, theirs["id"], world.lead.headers, png_bytes())

    assert_error(response, 403)
    assert snapshot(app) == before
    assert not media_dir.exists() or not any(media_dir.iterdir())


# --- alerts ----------------------------------------------------------------------------------------

def test_alerts_list_low_stock_and_lots_near_or_past_best_before(app, client, world):
    today = datetime.now(WIB).date()
    product = create_product(client, world.group, world.lead.headers,
                             variants=[{"label": "A", "unit_price": 45000, "low_stock_threshold": "5"},
                                       {"label": "B", "unit_price": 30000, "low_stock_threshold": "1"}])
    a, b = (v["id"] for v in product["variants"])
    expiring = contributed(client, world.group, world.lead.headers, a, world.siti.id, "2",
                           best_before=(today + timedelta(days=1)).isoformat())
    expired = contributed(client, world.group, world.lead.headers, b, world.ani.id, "3",
                          best_before=(today - timedelta(days=1)).isoformat())
    contributed(client, world.group, world.lead.headers, b, world.ani.id, "1",
                best_before=(today + timedelta(days=30)).isoformat())

    for who in (world.lead, world.treasurer, world.admin):
        body = client.get(f"{API}/groups/{world.group.id}/alerts", headers=who.headers).json
        assert [(row["variant_id"], row["available"], row["low_stock_threshold"]) for row in body["low_stock"]] == [
            (a, "2", "5")]
        assert [lot["id"] for lot in body["expiring"]] == [expiring["id"]]
        assert [lot["id"] for lot in body["expired"]] == [expired["id"]]


# --- permissions, endpoint by endpoint ----------------------------------------------------------------

def _requests(world, stocked):
    """Each endpoint as (name, method, url, keyword arguments) for the test client."""
    group = world.group.id
    product = stocked.product["id"]
    return {
        "create_product": ("post", f"{API}/groups/{group}/products", {"json": product_body(name="Terong ungu")}),
        "patch_product": ("patch", f"{API}/products/{product}", {"json": {"name": "Cabai rawit super"}}),
        "add_variant": ("post", f"{API}/products/{product}/variants", {"json": {"label": "C", "unit_price": 1}}),
        "patch_variant": ("patch", f"{API}/variants/{stocked.b}", {"json": {"unit_price": 31000}}),
        "upload_photo": ("post", f"{API}/products/{product}/photo",
                         {"content_type": "multipart/form-data",
                          "data": lambda: {"photo": (io.BytesIO(png_bytes()), "a.png", "image/png")}}),
        "define_unit": ("post", f"{API}/groups/{group}/units", {"json": {"code": "bakul"}}),
        "contribute": ("post", f"{API}/groups/{group}/contributions",
                       {"json": {"variant_id": stocked.a, "member_id": world.siti.id, "quantity": "1"}}),
        "adjust": ("post", f"{API}/groups/{group}/adjustments",
                   {"json": {"variant_id": stocked.a, "quantity": "-0.1", "reason": "damage"}}),
        "stock": ("get", f"{API}/groups/{group}/stock", {}),
        "movements": ("get", f"{API}/groups/{group}/movements", {}),
        "alerts": ("get", f"{API}/groups/{group}/alerts", {}),
        "contributions": ("get", f"{API}/groups/{group}/contributions", {}),
        "my_contributions": ("get", f"{API}/me/contributions", {}),
        "units": ("get", f"{API}/groups/{group}/units", {}),
        "catalog": ("get", f"{API}/products", {}),
        "product": ("get", f"{API}/products/{product}", {}),
    }


WRITES = ["create_product", "patch_product", "add_variant", "patch_variant", "upload_photo", "define_unit",
          "contribute", "adjust"]
WHO = ["anonymous", "buyer", "member", "other_coordinator", "treasurer", "admin", "coordinator"]
OK = {"post": 201, "patch": 200, "get": 200}
EXPECTED = {
    **{name: {"anonymous": 401, "buyer": 403, "member": 403, "other_coordinator": 403, "treasurer": 403,
              "admin": 403, "coordinator": "ok"} for name in WRITES},
    **{name: {"anonymous": 401, "buyer": 403, "member": 403, "other_coordinator": 403, "treasurer": "ok",
              "admin": "ok", "coordinator": "ok"} for name in ("stock", "movements", "alerts")},
    "contributions": {"anonymous": 401, "buyer": 403, "member": "ok", "other_coordinator": 403, "treasurer": "ok",
                      "admin": "ok", "coordinator": "ok"},
    "my_contributions": {"anonymous": 401, **{who: "ok" for who in WHO[1:]}},
    **{name: {who: "ok" for who in WHO} for name in ("units", "catalog", "product")},
}


@pytest.mark.parametrize("endpoint, who", [(e, w) for e in EXPECTED for w in WHO])
def test_who_may_call_each_endpoint(app, client, world, stocked, endpoint, who):
    method, url, kwargs = _requests(world, stocked)[endpoint]
    kwargs = {k: v() if callable(v) else v for k, v in kwargs.items()}
    before = snapshot(app)

    response = getattr(client, method)(url, headers=headers_of(world, who), **kwargs)

    expected = EXPECTED[endpoint][who]
    if expected == "ok":
        ok = 200 if endpoint == "upload_photo" else OK[method]  # a photo replaces; it creates no resource
        assert response.status_code == ok, (endpoint, who, response.status_code, response.json)
    else:
        assert_error(response, expected)
    if expected != "ok" or method == "get":
        assert snapshot(app) == before
    assert books_balance(app) == []


@pytest.mark.parametrize("who", ["member", "buyer", "other_coordinator"])
def test_private_reads_do_not_leak_stock_to_others(app, client, world, stocked, who):
    for path in ("stock", "movements", "alerts", "contributions"):
        response = client.get(f"{API}/groups/{world.group.id}/{path}", headers=headers_of(world, who))
        if who == "member" and path == "contributions":
            assert response.json["items"] == []  # Rina gave nothing yet
            continue
        assert_error(response, 403)
        assert "Cabai" not in response.get_data(as_text=True)


def test_deactivated_coordinator_can_no_longer_change_stock(app, client, world, stocked):
    former = member_with_account(app, world.group, "coordinator")
    with app.app_context():
        db.session.get(Member, former.member_id).active = False
        db.session.commit()
    before = snapshot(app)

    response = adjust(client, world.group, former.headers, variant_id=stocked.a, quantity="-1", reason="spoilage")

    assert_error(response, 403)
    assert snapshot(app) == before


def test_inventory_endpoints_are_in_the_openapi_document(client):
    paths = client.get(f"{API}/openapi.json").json["paths"]
    for path, method in [("/groups/{group_id}/products", "post"), ("/products", "get"),
                         ("/products/{product_id}", "get"), ("/products/{product_id}", "patch"),
                         ("/products/{product_id}/variants", "post"), ("/variants/{variant_id}", "patch"),
                         ("/products/{product_id}/photo", "post"), ("/groups/{group_id}/units", "get"),
                         ("/groups/{group_id}/units", "post"), ("/groups/{group_id}/contributions", "post"),
                         ("/groups/{group_id}/contributions", "get"), ("/groups/{group_id}/stock", "get"),
                         ("/groups/{group_id}/adjustments", "post"), ("/groups/{group_id}/movements", "get"),
                         ("/groups/{group_id}/alerts", "get"), ("/me/contributions", "get")]:
        operation = paths[f"{API}{path}"][method]
        assert operation.get("summary"), f"{method.upper()} {path} has no summary"
