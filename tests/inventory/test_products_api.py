"""The inventory API's products, variants, units and photos: made and changed by the group's coordinator."""

import io

import pytest
from PIL import Image

from inventory.models import Product, Stock, Variant
from tests.factories import assert_error, fetch
from tests.inventory.api_world import (  # noqa: F401 (fixtures; media_dir is autouse)
    API,
    contribute,
    contributed,
    counters,
    create_product,
    media_dir,
    png_bytes,
    product_body,
    snapshot,
    upload,
    world,
)

# --- products -----------------------------------------------------------------------


def test_create_product_with_variants_returns_201_with_variant_ids_and_empty_stock(app, client, world):
    response = client.post(
        f"{API}/groups/{world.group.id}/products",
        headers=world.lead.headers,
        json=product_body(
            description="Pedas, dipetik pagi",
            variants=[
                {"label": "Grade A", "unit_price": 45000, "low_stock_threshold": "1.5"},
                {"label": "Grade B", "unit_price": "30.000"},
            ],
        ),
    )

    assert response.status_code == 201, response.json
    body = response.json
    assert body["name"] == "Cabai rawit" and body["kind"] == "produce" and body["unit"] == "kg"
    assert body["status"] == "active" and body["group_id"] == world.group.id
    assert body["group"] == {"id": world.group.id, "name": "KUB Tani Makmur", "village": "Sumberejo", "verified": True}
    assert body["photo_url"] is None
    first, second = body["variants"]
    assert first == {
        "id": first["id"],
        "product_id": body["id"],
        "label": "Grade A",
        "unit_price": 45000,
        "active": True,
        "available": "0",
        "on_hand": "0",
        "reserved": "0",
        "low_stock_threshold": "1.5",
    }
    assert second["label"] == "Grade B" and second["unit_price"] == 30000 and second["low_stock_threshold"] is None
    assert "+" in body["created_at"] or body["created_at"].endswith("Z")
    variant = fetch(app, Variant, first["id"])
    assert variant.group_id == world.group.id and variant.unit_price == 45000
    assert counters(app, first["id"]) == ("0", "0")


def test_create_product_without_variants_makes_one_default_variant_at_unit_price(app, client, world):
    body = create_product(
        client,
        world.group,
        world.lead.headers,
        name="Kemeja batik",
        kind="garment",
        unit="pcs",
        variants=None,
        unit_price=125000,
        low_stock_threshold=5,
    )

    [variant] = body["variants"]
    assert variant["label"] == "standard"
    assert variant["unit_price"] == 125000
    assert variant["low_stock_threshold"] == "5"
    assert fetch(app, Stock, variant["id"]) is not None


def test_create_product_without_variants_needs_a_unit_price(app, client, world):
    before = snapshot(app)

    response = client.post(
        f"{API}/groups/{world.group.id}/products", headers=world.lead.headers, json=product_body(variants=None)
    )

    assert_error(response, 422, "unit_price")
    assert snapshot(app) == before


@pytest.mark.parametrize("name", ["Keripik tempe ꦏꦼꦫꦶꦥꦶꦏ꧀", "Sambal pecel 🌶️", "Ñoño jahe"])
def test_create_product_accepts_unicode_names(app, client, world, name):
    body = create_product(client, world.group, world.lead.headers, name=name, kind="processed")

    assert client.get(f"{API}/products/{body['id']}").json["name"] == name


@pytest.mark.parametrize(
    "body, field",
    [
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
        (
            {"variants": [{"label": "A", "unit_price": 1000, "low_stock_threshold": 2.5}]},
            "variants.0.low_stock_threshold",
        ),
        ({"variants": "A"}, "variants"),
        ({"id": 7}, "id"),
        ({"status": "hidden"}, "status"),
    ],
)
def test_create_product_refuses_bad_input_with_422(app, client, world, body, field):
    before = snapshot(app)

    response = client.post(
        f"{API}/groups/{world.group.id}/products", json=product_body(**body), headers=world.lead.headers
    )

    assert_error(response, 422, field)
    assert snapshot(app) == before


@pytest.mark.parametrize("price", ["12,50", -1, "-1", "abc", 1.5, "1.5", True, None, "", 10**16])
def test_create_product_refuses_malformed_money_with_422(app, client, world, price):
    before = snapshot(app)

    in_variant = client.post(
        f"{API}/groups/{world.group.id}/products",
        headers=world.lead.headers,
        json=product_body(variants=[{"label": "A", "unit_price": price}]),
    )
    default = client.post(
        f"{API}/groups/{world.group.id}/products",
        headers=world.lead.headers,
        json=product_body(variants=None, unit_price=price),
    )

    assert_error(in_variant, 422, "variants.0.unit_price")
    assert_error(default, 422, "unit_price")
    assert snapshot(app) == before


def test_create_product_refuses_json_array_with_422(app, client, world):
    before = snapshot(app)

    response = client.post(f"{API}/groups/{world.group.id}/products", json=[product_body()], headers=world.lead.headers)

    assert_error(response, 422)
    assert snapshot(app) == before


def test_create_product_refuses_malformed_json_with_400(app, client, world):
    before = snapshot(app)

    response = client.post(
        f"{API}/groups/{world.group.id}/products",
        data='{"name": "Cabai", "kind":',
        content_type="application/json",
        headers=world.lead.headers,
    )

    assert_error(response, 400)
    assert snapshot(app) == before


def test_create_product_in_unknown_group_is_404(app, client, world):
    assert_error(client.post(f"{API}/groups/999999/products", json=product_body(), headers=world.lead.headers), 404)
    assert snapshot(app)["products"] == []


def test_coordinator_patches_product_name_description_kind_and_status(app, client, world):
    product = create_product(client, world.group, world.lead.headers)

    response = client.patch(
        f"{API}/products/{product['id']}",
        headers=world.lead.headers,
        json={"name": "Cabai rawit merah", "description": "Dari lereng Kelud", "kind": "processed", "status": "hidden"},
    )

    assert response.status_code == 200, response.json
    body = response.json
    assert (body["name"], body["description"], body["kind"], body["status"]) == (
        "Cabai rawit merah",
        "Dari lereng Kelud",
        "processed",
        "hidden",
    )
    assert fetch(app, Product, product["id"]).status == "hidden"


def test_patch_unit_price_of_a_single_variant_product(app, client, world):
    product = create_product(client, world.group, world.lead.headers, variants=None, unit_price=20000)

    response = client.patch(
        f"{API}/products/{product['id']}", json={"unit_price": "22.500"}, headers=world.lead.headers
    )

    assert response.status_code == 200, response.json
    assert response.json["variants"][0]["unit_price"] == 22500


@pytest.mark.parametrize(
    "body, field",
    [
        ({"unit_price": 50000}, "unit_price"),  # two variants: price each one
        ({"status": "deleted"}, "status"),
        ({"kind": "tool"}, "kind"),
        ({"name": ""}, "name"),
        ({"name": "x" * 20_000}, "name"),
        ({"unit": "g"}, "unit"),
    ],
)
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

    response = client.patch(f"{API}/products/{product['id']}", json={"unit_price": price}, headers=world.lead.headers)

    assert_error(response, 422, "unit_price")
    assert snapshot(app) == before


def test_patch_unknown_product_is_404(app, client, world):
    for product_id in ("999999", "2147483648", "99999999999999999999"):
        assert_error(client.patch(f"{API}/products/{product_id}", json={"name": "X"}, headers=world.lead.headers), 404)


# --- variants ---------------------------------------------------------------------------


def test_coordinator_adds_variant_with_its_own_stock(app, client, world):
    product = create_product(client, world.group, world.lead.headers)

    response = client.post(
        f"{API}/products/{product['id']}/variants",
        headers=world.lead.headers,
        json={"label": "Grade C", "unit_price": 20000, "low_stock_threshold": "0.5"},
    )

    assert response.status_code == 201, response.json
    body = response.json
    assert (body["label"], body["unit_price"], body["low_stock_threshold"], body["available"]) == (
        "Grade C",
        20000,
        "0.5",
        "0",
    )
    assert counters(app, body["id"]) == ("0", "0")
    assert len(client.get(f"{API}/products/{product['id']}").json["variants"]) == 3


def test_add_variant_with_a_taken_label_is_409(app, client, world):
    product = create_product(client, world.group, world.lead.headers)
    before = snapshot(app)

    response = client.post(
        f"{API}/products/{product['id']}/variants",
        json={"label": "grade a", "unit_price": 1},
        headers=world.lead.headers,
    )

    assert_error(response, 409, "label")
    assert snapshot(app) == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({"label": "C", "unit_price": "12,50"}, "unit_price"),
        ({"label": "C", "unit_price": -1}, "unit_price"),
        ({"label": "C", "unit_price": "abc"}, "unit_price"),
        ({"label": "C", "unit_price": 1.5}, "unit_price"),
        ({"label": "C"}, "unit_price"),
        ({"unit_price": 1000}, "label"),
        ({"label": "C", "unit_price": 1000, "low_stock_threshold": "abc"}, "low_stock_threshold"),
        ({"label": "C", "unit_price": 1000, "low_stock_threshold": "-1"}, "low_stock_threshold"),
    ],
)
def test_add_variant_refuses_bad_input_with_422(app, client, world, body, field):
    product = create_product(client, world.group, world.lead.headers)
    before = snapshot(app)

    response = client.post(f"{API}/products/{product['id']}/variants", json=body, headers=world.lead.headers)

    assert_error(response, 422, field)
    assert snapshot(app) == before


def test_coordinator_patches_variant(app, client, world):
    product = create_product(client, world.group, world.lead.headers)
    variant_id = product["variants"][1]["id"]

    response = client.patch(
        f"{API}/variants/{variant_id}",
        headers=world.lead.headers,
        json={"label": "Grade B+", "unit_price": 32000, "low_stock_threshold": "2", "active": False},
    )

    assert response.status_code == 200, response.json
    assert response.json["label"] == "Grade B+"
    assert response.json["unit_price"] == 32000
    assert response.json["low_stock_threshold"] == "2"
    assert response.json["active"] is False
    public = client.get(f"{API}/products/{product['id']}").json
    assert [v["label"] for v in public["variants"]] == ["Grade A"]


@pytest.mark.parametrize(
    "body, field, code",
    [
        ({"unit_price": "12,50"}, "unit_price", 422),
        ({"unit_price": 1.5}, "unit_price", 422),
        ({"active": "yes"}, "active", 422),
        ({"active": 1}, "active", 422),
        ({"low_stock_threshold": 2.5}, "low_stock_threshold", 422),
        ({"label": "GRADE A"}, "label", 409),
    ],
)
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
    response = client.post(
        f"{API}/groups/{world.group.id}/units",
        json={"code": "Tandan", "name": "tandan pisang"},
        headers=world.lead.headers,
    )
    assert response.status_code == 201, response.json
    assert response.json == {"code": "tandan", "name": "tandan pisang", "whole": True, "builtin": False}

    units = {u["code"]: u for u in client.get(f"{API}/groups/{world.group.id}/units").json["items"]}

    assert units["kg"] == {"code": "kg", "name": "kilogram", "whole": False, "builtin": True}
    assert units["kodi"]["whole"] is True
    assert units["tandan"]["builtin"] is False
    other = {u["code"] for u in client.get(f"{API}/groups/{world.other_group.id}/units").json["items"]}
    assert "tandan" not in other


def test_products_and_contributions_use_the_groups_own_unit(app, client, world):
    assert (
        client.post(
            f"{API}/groups/{world.group.id}/units", json={"code": "tandan"}, headers=world.lead.headers
        ).status_code
        == 201
    )
    product = create_product(
        client, world.group, world.lead.headers, name="Pisang raja", unit="tandan", variants=None, unit_price=35000
    )
    variant_id = product["variants"][0]["id"]

    lot = contributed(client, world.group, world.lead.headers, variant_id, world.siti.id, "3")

    assert lot["quantity"] == "3" and lot["unit"] == "tandan"
    assert_error(contribute(client, world.group, world.lead.headers, variant_id, world.siti.id, "1.5"), 422, "quantity")
    other = client.post(
        f"{API}/groups/{world.other_group.id}/products",
        headers=world.other_lead.headers,
        json=product_body(unit="tandan"),
    )
    assert_error(other, 422, "unit")


@pytest.mark.parametrize(
    "body, field, code",
    [
        ({"code": "kg"}, "code", 409),
        ({"code": "two words"}, "code", 422),
        ({"code": "x" * 17}, "code", 422),
        ({"code": "İ" * 9}, "code", 422),  # 18 letters once lower-cased
        ({"code": "ikat2"}, "code", 422),
        ({"code": "bakul", "whole": "yes"}, "whole", 422),
        ({"code": "bakul", "name": "x" * 61}, "name", 422),
        ({"code": "bakul", "name": "x" * 20_000}, "name", 422),
        ({"name": "bakul"}, "code", 422),
    ],
)
def test_define_unit_refuses_bad_input(app, client, world, body, field, code):
    before = snapshot(app)

    response = client.post(f"{API}/groups/{world.group.id}/units", json=body, headers=world.lead.headers)

    assert_error(response, code, field)
    assert snapshot(app) == before


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


@pytest.mark.parametrize(
    "data, filename",
    [
        (b"ini bukan foto, hanya teks\n" * 10, "cabai.png"),
        (b"", "kosong.png"),
        (png_bytes()[:60], "terpotong.png"),
        (b"GIF89a" + b"\x00" * 40, "animasi.gif"),
    ],
)
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

    response = client.post(
        f"{API}/products/{product['id']}/photo",
        headers=world.lead.headers,
        content_type="multipart/form-data",
        data={"picture": (io.BytesIO(png_bytes()), "a.png")},
    )

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
