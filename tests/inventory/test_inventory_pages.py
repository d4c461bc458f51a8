"""The inventory pages, driven through the test client: who may see what, products and intake."""

import io
import re
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import select

from accounts.models import User
from core.extensions import db
from groups.models import Group
from inventory import services as inv
from inventory.models import Lot, Movement, Product, ProductStatus, Variant
from tests.books import stock_problems
from tests.inventory.pages_world import (
    COORDINATOR_PAGES,
    acting_as,
    contribute,
    inventory_rows,
    page_login,
    page_path,
    png_bytes,
    selected,
    stock_of,
    world,  # noqa: F401 (fixture)
)
from tests.pages import html, t

# --- who may see what ----------------------------------------------------------------


@pytest.mark.parametrize("path", COORDINATOR_PAGES + ["/me/contributions", "/groups/{g}/movements?variant_id={p}"])
def test_every_inventory_page_renders_for_the_coordinator(app, client, world, path):
    contribute(app, world, world.siti, world.cabai_a, "2.5", best_before="2020-01-01")
    page_login(client, "ketua@blitar.test")
    response = client.get(page_path(path, world))
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "<script" not in html(response)


@pytest.mark.parametrize("who", ["siti@blitar.test", "pembeli@blitar.test", "lain@blitar.test"])
@pytest.mark.parametrize("path", COORDINATOR_PAGES)
def test_members_buyers_and_other_coordinators_get_403_on_coordinator_pages(app, client, world, who, path):
    page_login(client, who)
    response = client.get(page_path(path, world))
    assert response.status_code == 403
    assert response.mimetype == "text/html"
    assert "Cabai rawit" not in html(response)


POSTS = {
    "new product": (
        "/groups/{g}/products/new",
        {"name": "Penyusup", "kind": "produce", "unit": "kg", "variants-0-unit_price": "1000"},
    ),
    "edit product": ("/products/{p}/edit", {"name": "Dibajak", "kind": "produce", "status": "archived"}),
    "intake": ("/groups/{g}/intake", {"member_id": "{siti}", "variant_id": "{a}", "quantity": "9"}),
    "adjust": ("/groups/{g}/stock", {"variant_id": "{a}", "reason": "spoilage", "quantity": "-1"}),
}


@pytest.mark.parametrize(
    "who", ["siti@blitar.test", "pembeli@blitar.test", "lain@blitar.test", "bendahara@blitar.test"]
)
@pytest.mark.parametrize("what", list(POSTS))
def test_a_post_from_anyone_but_the_coordinator_is_refused_and_changes_nothing(app, client, world, who, what):
    contribute(app, world, world.siti, world.cabai_a, "3")
    before = inventory_rows(app)
    page_login(client, who)
    path, data = POSTS[what]
    data = {k: v.format(siti=world.siti.id, a=world.cabai_a) for k, v in data.items()}
    response = client.post(page_path(path, world), data=data)
    assert response.status_code == 403
    assert inventory_rows(app) == before


def test_the_treasurer_sees_stock_ledger_and_dashboard_but_no_correction_form(app, client, world):
    page_login(client, "bendahara@blitar.test")
    for path in ("/groups/{g}/stock", "/groups/{g}/movements", "/groups/{g}/dashboard"):
        assert client.get(page_path(path, world)).status_code == 200
    body = html(client.get(page_path("/groups/{g}/stock", world)))
    assert "Cabai rawit – A (kg)" in body
    assert 'name="reason"' not in body
    assert f'href="/groups/{world.group.id}/intake"' not in html(client.get(page_path("/groups/{g}/dashboard", world)))
    for path in ("/groups/{g}/intake", "/groups/{g}/products", "/products/{p}/edit"):
        assert client.get(page_path(path, world)).status_code == 403


@pytest.mark.parametrize("path", COORDINATOR_PAGES + ["/me/contributions"])
def test_an_anonymous_visitor_is_sent_to_login(app, client, world, path):
    path = page_path(path, world)
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next={path}"
    if path.endswith(("/new", "/edit", "/intake", "/stock")):
        assert client.post(path, data={"quantity": "1"}).status_code == 302


def test_dashboard_links_appear_for_coordinators_and_treasurers_only(app, client, make_client, world):
    dashboard = f'href="/groups/{world.group.id}/dashboard"'
    page_login(client, "ketua@blitar.test")
    assert dashboard in html(client.get("/me/groups"))
    assert dashboard in html(client.get(f"/groups/{world.group.id}"))
    assert 'href="/me/contributions"' in html(client.get("/me/groups"))
    member = make_client()
    page_login(member, "siti@blitar.test")
    assert dashboard not in html(member.get("/me/groups"))
    assert dashboard not in html(member.get(f"/groups/{world.group.id}"))
    assert 'href="/me/contributions"' in html(member.get("/me/groups"))
    treasurer = make_client()
    page_login(treasurer, "bendahara@blitar.test")
    assert dashboard in html(treasurer.get(f"/groups/{world.group.id}"))


# --- products -----------------------------------------------------------------------


def test_product_list_shows_kind_unit_status_prices_and_available_stock(app, client, world):
    contribute(app, world, world.siti, world.cabai_a, "12.5")
    page_login(client, "ketua@blitar.test")
    body = html(client.get(f"/groups/{world.group.id}/products"))
    assert "Cabai rawit" in body and "Daster batik" in body
    assert "Rp45.000" in body and "Rp30.000" in body and "Rp85.000" in body
    assert t(app, "%(quantity)s %(unit)s available", quantity="12,5", unit="kg") in body  # a decimal comma
    assert t(app, "standard") in body  # the single-price product's variant
    assert t(app, "Produce") in body and t(app, "Garment") in body


def test_coordinator_creates_a_product_with_two_variants_then_hides_it(app, client, world):
    page_login(client, "ketua@blitar.test")
    page = client.get(f"/groups/{world.group.id}/products/new")
    assert 'enctype="multipart/form-data"' in html(page)
    assert "2 MB" in html(page)
    response = client.post(
        f"/groups/{world.group.id}/products/new",
        data={
            "name": "Seragam SD",
            "kind": "garment",
            "unit": "pcs",
            "description": "Kemeja putih",
            "status": "active",
            "variants-0-label": "Ukuran S",
            "variants-0-unit_price": "Rp65.000",
            "variants-0-low_stock_threshold": "10",
            "variants-1-label": "Ukuran M",
            "variants-1-unit_price": "70000",
        },
    )
    assert response.status_code == 302, html(response)
    assert response.headers["Location"] == f"/groups/{world.group.id}/products"
    with app.app_context():
        product = db.session.scalar(select(Product).where(Product.name == "Seragam SD"))
        assert (product.kind, product.unit, product.status, product.group_id) == (
            "garment",
            "pcs",
            ProductStatus.active,
            world.group.id,
        )
        assert [(v.label, v.unit_price, v.low_stock_threshold) for v in product.variants] == [
            ("Ukuran S", 65000, Decimal(10)),
            ("Ukuran M", 70000, None),
        ]
        product_id, (small, medium) = product.id, [v.id for v in product.variants]
    page = client.get(f"/products/{product_id}/edit")
    assert page.status_code == 200
    assert 'value="Ukuran M"' in html(page)
    response = client.post(
        f"/products/{product_id}/edit",
        data={
            "name": "Seragam SD putih",
            "kind": "garment",
            "description": "",
            "status": "hidden",
            "variants-0-id": str(small),
            "variants-0-label": "Ukuran S",
            "variants-0-unit_price": "66000",
            "variants-0-low_stock_threshold": "",
            "variants-0-active": "y",
            "variants-1-id": str(medium),
            "variants-1-label": "Ukuran M",
            "variants-1-unit_price": "70000",
            "variants-2-id": "",
            "variants-2-label": "Ukuran L",
            "variants-2-unit_price": "75000",
        },
    )
    assert response.status_code == 302, html(response)
    with app.app_context():
        product = db.session.get(Product, product_id)
        assert (product.name, product.status, product.description) == ("Seragam SD putih", ProductStatus.hidden, None)
        assert [(v.label, v.unit_price, v.low_stock_threshold, v.active) for v in product.variants] == [
            ("Ukuran S", 66000, None, True),
            ("Ukuran M", 70000, None, False),
            ("Ukuran L", 75000, None, True),
        ]
    body = html(client.get(f"/groups/{world.group.id}/products"))
    assert "Seragam SD putih" in body and t(app, "hidden") in body
    assert stock_problems(app) == []


def test_product_form_errors_show_beside_their_row_and_create_nothing(app, client, world):
    page_login(client, "ketua@blitar.test")
    before = inventory_rows(app)
    response = client.post(
        f"/groups/{world.group.id}/products/new",
        data={
            "name": "Seragam",
            "kind": "garment",
            "unit": "pcs",
            "variants-0-label": "S",
            "variants-0-unit_price": "12,50",
            "variants-1-label": "s",
            "variants-1-unit_price": "1000",
        },
    )
    assert response.status_code == 200
    body = html(response)
    assert t(app, "Enter a whole rupiah amount, such as 12500.") in body
    assert t(app, "Each variant needs its own label.") in body
    assert 'value="12,50"' in body  # what was typed stays in the form
    assert inventory_rows(app) == before


def test_a_product_with_one_price_and_no_variant_label_is_sold_as_standard(app, client, world):
    page_login(client, "ketua@blitar.test")
    response = client.post(
        f"/groups/{world.group.id}/products/new",
        data={"name": "Keripik tempe", "kind": "processed", "unit": "ons", "variants-0-unit_price": "8000"},
    )
    assert response.status_code == 302, html(response)
    with app.app_context():
        product = db.session.scalar(select(Product).where(Product.name == "Keripik tempe"))
        assert [(v.label, v.unit_price) for v in product.variants] == [(inv.DEFAULT_LABEL, 8000)]


def test_renaming_a_variant_to_an_existing_label_is_refused_and_nothing_changes(app, client, world):
    page_login(client, "ketua@blitar.test")
    before = inventory_rows(app)
    response = client.post(
        f"/products/{world.cabai}/edit",
        data={
            "name": "Cabai rawit merah",
            "kind": "produce",
            "status": "active",
            "variants-0-id": str(world.cabai_a),
            "variants-0-label": "B",
            "variants-0-unit_price": "45000",
            "variants-0-active": "y",
            "variants-1-id": str(world.cabai_b),
            "variants-1-label": "B",
            "variants-1-unit_price": "30000",
            "variants-1-active": "y",
        },
    )
    assert response.status_code == 200
    assert t(app, "Each variant needs its own label.") in html(response)
    assert inventory_rows(app) == before


def test_editing_cannot_touch_a_variant_of_another_product(app, client, world):
    page_login(client, "ketua@blitar.test")
    response = client.post(
        f"/products/{world.cabai}/edit",
        data={
            "name": "Cabai rawit",
            "kind": "produce",
            "status": "active",
            "variants-0-id": str(world.daster_std),
            "variants-0-label": "Dibajak",
            "variants-0-unit_price": "1",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Variant, world.daster_std).label == inv.DEFAULT_LABEL


def test_photo_upload_stores_a_web_image_and_the_list_shows_it(app, client, world, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_DIR", str(tmp_path))
    page_login(client, "ketua@blitar.test")
    response = client.post(
        f"/products/{world.daster}/edit",
        content_type="multipart/form-data",
        data={
            "name": "Daster batik",
            "kind": "garment",
            "status": "active",
            "variants-0-id": str(world.daster_std),
            "variants-0-label": inv.DEFAULT_LABEL,
            "variants-0-unit_price": "85000",
            "variants-0-active": "y",
            "photo": (io.BytesIO(png_bytes()), "daster.png", "image/png"),
        },
    )
    assert response.status_code == 302, html(response)
    with app.app_context():
        name = db.session.get(Product, world.daster).photo
    assert name and (tmp_path / f"{name}.webp").exists()
    body = html(client.get(f"/groups/{world.group.id}/products"))
    src = re.search(r'<img[^>]*src="(/media/products/[^"]+)"', body)
    assert src and src.group(1) == f"/media/products/{name}-thumb.webp"
    image = client.get(src.group(1))
    assert image.status_code == 200 and image.mimetype == "image/webp"
    assert Image.open(io.BytesIO(image.data)).format == "WEBP"


def test_a_file_that_is_not_an_image_shows_the_photo_field_error(app, client, world, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_DIR", str(tmp_path))
    page_login(client, "ketua@blitar.test")
    before = inventory_rows(app)
    response = client.post(
        f"/groups/{world.group.id}/products/new",
        content_type="multipart/form-data",
        data={
            "name": "Sambal",
            "kind": "processed",
            "unit": "pcs",
            "variants-0-unit_price": "15000",
            "photo": (io.BytesIO(b"%PDF-1.4 not a photo"), "sambal.png", "image/png"),
        },
    )
    assert response.status_code == 200
    body = html(response)
    assert t(app, "That file is not a photo we can read. Use JPEG, PNG or WebP.") in body
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*name="photo"|<input[^>]*name="photo"[^>]*aria-invalid', body)
    assert inventory_rows(app) == before
    assert list(tmp_path.iterdir()) == []


def test_a_photo_over_2_mb_gets_the_413_page(app, client, world, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_DIR", str(tmp_path))
    page_login(client, "ketua@blitar.test")
    before = inventory_rows(app)
    response = client.post(
        f"/products/{world.daster}/edit",
        content_type="multipart/form-data",
        data={
            "name": "Daster batik",
            "kind": "garment",
            "status": "active",
            "photo": (io.BytesIO(b"\xff" * (2 * 1024 * 1024 + 1)), "besar.jpg", "image/jpeg"),
        },
    )
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert t(app, "The request is too large.") in html(response)
    assert inventory_rows(app) == before


# --- intake ---------------------------------------------------------------------------


def test_intake_form_is_made_for_a_phone(app, client, world):
    page_login(client, "ketua@blitar.test")
    body = html(client.get(f"/groups/{world.group.id}/intake"))
    quantity = re.search(r'<input[^>]*name="quantity"[^>]*>', body).group(0)
    assert 'inputmode="decimal"' in quantity
    assert re.search(
        r'<input[^>]*name="best_before"[^>]*type="date"|<input[^>]*type="date"[^>]*name="best_before"', body
    )
    assert "Cabai rawit – A (kg)" in body and f"Daster batik – {t(app, 'standard')} (pcs)" in body
    assert "Siti Aminah" in body and "Ani Rahayu" in body
    assert "Mantan Anggota" not in body and "Orang Lain" not in body  # inactive, another group


def test_intake_records_a_lot_and_keeps_member_and_product_for_the_next_entry(app, client, world):
    page_login(client, "ketua@blitar.test")
    response = client.post(
        f"/groups/{world.group.id}/intake",
        data={
            "member_id": str(world.siti.id),
            "variant_id": str(world.cabai_a),
            "quantity": "2,5",
            "unit": "",
            "grade": "super",
            "best_before": "2026-12-01",
            "note": "panen pagi",
        },
    )
    assert response.status_code == 302, html(response)
    assert response.headers["Location"] == (
        f"/groups/{world.group.id}/intake?member_id={world.siti.id}&variant_id={world.cabai_a}"
    )
    with app.app_context():
        (lot,) = db.session.scalars(select(Lot)).all()
        assert (lot.member_id, lot.variant_id, lot.quantity, lot.remaining, lot.grade, lot.note) == (
            world.siti.id,
            world.cabai_a,
            Decimal("2.5"),
            Decimal("2.5"),
            "super",
            "panen pagi",
        )
        assert lot.best_before.isoformat() == "2026-12-01"
        (move,) = db.session.scalars(select(Movement)).all()
        assert (move.kind, move.on_hand_delta, move.lot_id) == ("intake", Decimal("2.5"), lot.id)
    page = client.get(response.headers["Location"])
    body = html(page)
    assert (
        t(
            app,
            "Recorded: %(quantity)s %(unit)s %(product)s from %(member)s",
            quantity="2,5",
            unit="kg",
            product="Cabai rawit",
            member="Siti Aminah",
        )
        in body
    )
    assert selected(body, "member_id") == str(world.siti.id)
    assert selected(body, "variant_id") == str(world.cabai_a)
    assert re.search(r'<input[^>]*autofocus[^>]*name="quantity"|<input[^>]*name="quantity"[^>]*autofocus', body)
    today = body.split(t(app, "Today's intake", raw=True))[1]
    assert "Siti Aminah" in today and f"#{lot.id}" in today and "2,5 kg" in today
    assert stock_of(app, world.cabai_a) == (Decimal("2.5"), Decimal(0))
    assert stock_problems(app) == []


def test_intake_in_another_unit_is_converted_to_the_products_unit(app, client, world):
    page_login(client, "ketua@blitar.test")
    response = client.post(
        f"/groups/{world.group.id}/intake",
        data={"member_id": str(world.ani.id), "variant_id": str(world.cabai_b), "quantity": "15", "unit": "ons"},
    )
    assert response.status_code == 302, html(response)
    assert stock_of(app, world.cabai_b) == (Decimal("1.5"), Decimal(0))
    assert t(
        app,
        "Recorded: %(quantity)s %(unit)s %(product)s from %(member)s",
        quantity="1,5",
        unit="kg",
        product="Cabai rawit",
        member="Ani Rahayu",
    ) in html(client.get(response.headers["Location"]))


BAD_INTAKE = {
    "not a number": ({"quantity": "abc"}, 'Send the quantity as a number, such as "2.5".'),
    "negative": ({"quantity": "-1"}, "The quantity cannot be negative."),
    "four places": ({"quantity": "1.2345"}, "Use at most 3 decimal places."),
    "half a piece": ({"quantity": "1.5", "variant": "daster"}, "%(unit)s takes whole numbers only."),
    "zero": ({"quantity": "0"}, "The quantity must be more than zero."),
    "empty": ({"quantity": ""}, "Enter the quantity."),
    "another group's member": ({"member": "stranger"}, "No such member in this group."),
    "an inactive member": ({"member": "gone"}, "This member is inactive."),
    "another group's variant": ({"variant_id": "other"}, "No such product variant in this group."),
    "a junk member id": ({"member_id": "1 OR 1=1"}, "Not a valid id."),
    "kg into pcs": ({"variant": "daster", "unit": "kg"}, "%(a)s cannot be converted to %(b)s."),
    "a bad date": ({"best_before": "31-12-2026"}, "Use a date such as 2026-11-28."),
    "no member chosen": ({"member_id": ""}, "Choose a member."),
}


@pytest.mark.parametrize("case", list(BAD_INTAKE))
def test_bad_intake_input_shows_an_error_and_records_nothing(app, client, world, case):
    change, message = BAD_INTAKE[case]
    other_variant = None
    if change.get("variant_id") == "other":
        with acting_as(app, world.other_lead) as get:
            other_variant = (
                inv.create_product(
                    get(User, world.other_lead.id),
                    get(Group, world.other_group.id),
                    name="Belimbing",
                    kind="produce",
                    unit="kg",
                    unit_price="12000",
                )
                .variants[0]
                .id
            )
    contribute(app, world, world.ani, world.cabai_a, "1")
    before = inventory_rows(app)
    page_login(client, "ketua@blitar.test")
    member = getattr(world, change.pop("member", "siti"))
    variant = world.daster_std if change.pop("variant", None) == "daster" else world.cabai_a
    data = {"member_id": str(member.id), "variant_id": str(variant), "quantity": "2", "unit": "", **change}
    if other_variant:
        data["variant_id"] = str(other_variant)
    response = client.post(f"/groups/{world.group.id}/intake", data=data)
    assert response.status_code == 200
    body = html(response)
    assert 'class="field-error"' in body
    expected = {"unit": "pcs"} if "%(unit)s" in message else {"a": "kg", "b": "pcs"} if "%(a)s" in message else {}
    assert t(app, message, **expected) in body
    assert inventory_rows(app) == before
    assert stock_problems(app) == []
