"""The inventory pages, driven through the test client: products, intake, stock, ledger, contributions, dashboard."""
import io
import re
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from flask_babel import force_locale, gettext
from flask_login import login_user
from markupsafe import escape
from PIL import Image
from sqlalchemy import select

from accounts.models import User
from core.extensions import db
from core.formatting import WIB, format_wib
from groups.models import Group
from inventory import services as inv
from inventory.models import Lot, Movement, Product, ProductStatus, Stock, Variant
from tests.factories import PASSWORD, make_group, make_member, make_user, rows

# --- helpers --------------------------------------------------------------------

def html(response) -> str:
    return response.get_data(as_text=True)


def t(app, message: str, locale: str = "id", raw: bool = False, **params) -> str:
    """`message` as a page in `locale` shows it (translated if a translation exists, HTML-escaped).

    `raw`: as a template's own `_()` shows it, which Jinja leaves unescaped.
    """
    with app.test_request_context("/"), force_locale(locale):
        text = gettext(message, **params)
        return text if raw else str(escape(text))


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


def books_are_clean(app) -> bool:
    with app.app_context():
        problems = inv.stock_check()
    assert problems == []
    return True


def inventory_rows(app) -> dict:
    """Everything the inventory pages can change, to compare before and after."""
    return {model.__tablename__: rows(app, model) for model in (Product, Variant, Lot, Movement)} | {
        "stock": [(s.variant_id, s.on_hand, s.reserved) for s in _all_stock(app)]}


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
        cabai = inv.create_product(get(User, lead.id), g, name="Cabai rawit", kind="produce", unit="kg", variants=[
            {"label": "A", "unit_price": "45000", "low_stock_threshold": "5"},
            {"label": "B", "unit_price": "30000"}])
        daster = inv.create_product(get(User, lead.id), g, name="Daster batik", kind="garment", unit="pcs",
                                    unit_price="85000")
        ids = SimpleNamespace(cabai=cabai.id, cabai_a=cabai.variants[0].id, cabai_b=cabai.variants[1].id,
                              daster=daster.id, daster_std=daster.variants[0].id)
    return SimpleNamespace(lead=lead, group=group, siti=siti, siti_user=siti_user, ani=ani, gone=gone,
                           treasurer=treasurer_user, buyer=buyer, other_lead=other_lead, other_group=other_group,
                           stranger=stranger, **vars(ids))


def contribute(app, world, member, variant_id, quantity, **extra):
    with acting_as(app, world.lead) as get:
        lot = inv.receive_contribution(get(User, world.lead.id), get(Group, world.group.id), member_id=member.id,
                                       variant_id=variant_id, quantity=quantity, **extra)
        lot_id = lot.id
    return lot_id


COORDINATOR_PAGES = ["/groups/{g}/products", "/groups/{g}/products/new", "/products/{p}/edit", "/groups/{g}/intake",
                     "/groups/{g}/stock", "/groups/{g}/movements", "/groups/{g}/dashboard"]


def _path(template: str, world) -> str:
    return template.format(g=world.group.id, p=world.cabai)


# --- who may see what ----------------------------------------------------------------

@pytest.mark.parametrize("path", COORDINATOR_PAGES + ["/me/contributions", "/groups/{g}/movements?variant_id={p}"])
def test_every_inventory_page_renders_for_the_coordinator(app, client, world, path):
    contribute(app, world, world.siti, world.cabai_a, "2.5", best_before="2020-01-01")
    page_login(client, "ketua@blitar.test")
    response = client.get(_path(path, world))
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "<script" not in html(response)


@pytest.mark.parametrize("who", ["siti@blitar.test", "pembeli@blitar.test", "lain@blitar.test"])
@pytest.mark.parametrize("path", COORDINATOR_PAGES)
def test_members_buyers_and_other_coordinators_get_403_on_coordinator_pages(app, client, world, who, path):
    page_login(client, who)
    response = client.get(_path(path, world))
    assert response.status_code == 403
    assert response.mimetype == "text/html"
    assert "Cabai rawit" not in html(response)


POSTS = {
    "new product": ("/groups/{g}/products/new", {"name": "Penyusup", "kind": "produce", "unit": "kg",
                                                 "variants-0-unit_price": "1000"}),
    "edit product": ("/products/{p}/edit", {"name": "Dibajak", "kind": "produce", "status": "archived"}),
    "intake": ("/groups/{g}/intake", {"member_id": "{siti}", "variant_id": "{a}", "quantity": "9"}),
    "adjust": ("/groups/{g}/stock", {"variant_id": "{a}", "reason": "spoilage", "quantity": "-1"}),
}


@pytest.mark.parametrize("who", ["siti@blitar.test", "pembeli@blitar.test", "lain@blitar.test",
                                 "bendahara@blitar.test"])
@pytest.mark.parametrize("what", list(POSTS))
def test_a_post_from_anyone_but_the_coordinator_is_refused_and_changes_nothing(app, client, world, who, what):
    contribute(app, world, world.siti, world.cabai_a, "3")
    before = inventory_rows(app)
    page_login(client, who)
    path, data = POSTS[what]
    data = {k: v.format(siti=world.siti.id, a=world.cabai_a) for k, v in data.items()}
    response = client.post(_path(path, world), data=data)
    assert response.status_code == 403
    assert inventory_rows(app) == before


def test_the_treasurer_sees_stock_ledger_and_dashboard_but_no_correction_form(app, client, world):
    page_login(client, "bendahara@blitar.test")
    for path in ("/groups/{g}/stock", "/groups/{g}/movements", "/groups/{g}/dashboard"):
        assert client.get(_path(path, world)).status_code == 200
    body = html(client.get(_path("/groups/{g}/stock", world)))
    assert "Cabai rawit – A (kg)" in body
    assert 'name="reason"' not in body
    assert f'href="/groups/{world.group.id}/intake"' not in html(client.get(_path("/groups/{g}/dashboard", world)))
    for path in ("/groups/{g}/intake", "/groups/{g}/products", "/products/{p}/edit"):
        assert client.get(_path(path, world)).status_code == 403


@pytest.mark.parametrize("path", COORDINATOR_PAGES + ["/me/contributions"])
def test_an_anonymous_visitor_is_sent_to_login(app, client, world, path):
    path = _path(path, world)
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
    assert t(app, "%(quantity)s %(unit)s available", quantity="12.5", unit="kg") in body
    assert t(app, "standard") in body  # the single-price product's variant
    assert t(app, "Produce") in body and t(app, "Garment") in body


def test_coordinator_creates_a_product_with_two_variants_then_hides_it(app, client, world):
    page_login(client, "ketua@blitar.test")
    page = client.get(f"/groups/{world.group.id}/products/new")
    assert 'enctype="multipart/form-data"' in html(page)
    assert "2 MB" in html(page)
    response = client.post(f"/groups/{world.group.id}/products/new", data={
        "name": "Seragam SD", "kind": "garment", "unit": "pcs", "description": "Kemeja putih", "status": "active",
        "variants-0-label": "Ukuran S", "variants-0-unit_price": "Rp65.000", "variants-0-low_stock_threshold": "10",
        "variants-1-label": "Ukuran M", "variants-1-unit_price": "70000"})
    assert response.status_code == 302, html(response)
    assert response.headers["Location"] == f"/groups/{world.group.id}/products"
    with app.app_context():
        product = db.session.scalar(select(Product).where(Product.name == "Seragam SD"))
        assert (product.kind, product.unit, product.status, product.group_id) == (
            "garment", "pcs", ProductStatus.active, world.group.id)
        assert [(v.label, v.unit_price, v.low_stock_threshold) for v in product.variants] == [
            ("Ukuran S", 65000, Decimal(10)), ("Ukuran M", 70000, None)]
        product_id, (small, medium) = product.id, [v.id for v in product.variants]
    page = client.get(f"/products/{product_id}/edit")
    assert page.status_code == 200
    assert 'value="Ukuran M"' in html(page)
    response = client.post(f"/products/{product_id}/edit", data={
        "name": "Seragam SD putih", "kind": "garment", "description": "", "status": "hidden",
        "variants-0-id": str(small), "variants-0-label": "Ukuran S", "variants-0-unit_price": "66000",
        "variants-0-low_stock_threshold": "", "variants-0-active": "y",
        "variants-1-id": str(medium), "variants-1-label": "Ukuran M", "variants-1-unit_price": "70000",
        "variants-2-id": "", "variants-2-label": "Ukuran L", "variants-2-unit_price": "75000"})
    assert response.status_code == 302, html(response)
    with app.app_context():
        product = db.session.get(Product, product_id)
        assert (product.name, product.status, product.description) == ("Seragam SD putih", ProductStatus.hidden, None)
        assert [(v.label, v.unit_price, v.low_stock_threshold, v.active) for v in product.variants] == [
            ("Ukuran S", 66000, None, True), ("Ukuran M", 70000, None, False), ("Ukuran L", 75000, None, True)]
    body = html(client.get(f"/groups/{world.group.id}/products"))
    assert "Seragam SD putih" in body and t(app, "hidden") in body
    assert books_are_clean(app)


def test_product_form_errors_show_beside_their_row_and_create_nothing(app, client, world):
    page_login(client, "ketua@blitar.test")
    before = inventory_rows(app)
    response = client.post(f"/groups/{world.group.id}/products/new", data={
        "name": "Seragam", "kind": "garment", "unit": "pcs",
        "variants-0-label": "S", "variants-0-unit_price": "12,50",
        "variants-1-label": "s", "variants-1-unit_price": "1000"})
    assert response.status_code == 200
    body = html(response)
    assert t(app, "Enter a whole rupiah amount, such as 12500.") in body
    assert t(app, "Each variant needs its own label.") in body
    assert 'value="12,50"' in body  # what was typed stays in the form
    assert inventory_rows(app) == before


def test_a_product_with_one_price_and_no_variant_label_is_sold_as_standard(app, client, world):
    page_login(client, "ketua@blitar.test")
    response = client.post(f"/groups/{world.group.id}/products/new", data={
        "name": "Keripik tempe", "kind": "processed", "unit": "ons", "variants-0-unit_price": "8000"})
    assert response.status_code == 302, html(response)
    with app.app_context():
        product = db.session.scalar(select(Product).where(Product.name == "Keripik tempe"))
        assert [(v.label, v.unit_price) for v in product.variants] == [(inv.DEFAULT_LABEL, 8000)]


def test_renaming_a_variant_to_an_existing_label_is_refused_and_nothing_changes(app, client, world):
    page_login(client, "ketua@blitar.test")
    before = inventory_rows(app)
    response = client.post(f"/products/{world.cabai}/edit", data={
        "name": "Cabai rawit merah", "kind": "produce", "status": "active",
        "variants-0-id": str(world.cabai_a), "variants-0-label": "B", "variants-0-unit_price": "45000",
        "variants-0-active": "y",
        "variants-1-id": str(world.cabai_b), "variants-1-label": "B", "variants-1-unit_price": "30000",
        "variants-1-active": "y"})
    assert response.status_code == 200
    assert t(app, "Each variant needs its own label.") in html(response)
    assert inventory_rows(app) == before


def test_editing_cannot_touch_a_variant_of_another_product(app, client, world):
    page_login(client, "ketua@blitar.test")
    response = client.post(f"/products/{world.cabai}/edit", data={
        "name": "Cabai rawit", "kind": "produce", "status": "active",
        "variants-0-id": str(world.daster_std), "variants-0-label": "Dibajak", "variants-0-unit_price": "1"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Variant, world.daster_std).label == inv.DEFAULT_LABEL


def test_photo_upload_stores_a_web_image_and_the_list_shows_it(app, client, world, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_DIR", str(tmp_path))
    page_login(client, "ketua@blitar.test")
    response = client.post(f"/products/{world.daster}/edit", content_type="multipart/form-data", data={
        "name": "Daster batik", "kind": "garment", "status": "active",
        "variants-0-id": str(world.daster_std), "variants-0-label": inv.DEFAULT_LABEL,
        "variants-0-unit_price": "85000", "variants-0-active": "y",
        "photo": (io.BytesIO(png_bytes()), "daster.png", "image/png")})
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
    response = client.post(f"/groups/{world.group.id}/products/new", content_type="multipart/form-data", data={
        "name": "Sambal", "kind": "processed", "unit": "pcs", "variants-0-unit_price": "15000",
        "photo": (io.BytesIO(b"%PDF-1.4 not a photo"), "sambal.png", "image/png")})
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
    response = client.post(f"/products/{world.daster}/edit", content_type="multipart/form-data", data={
        "name": "Daster batik", "kind": "garment", "status": "active",
        "photo": (io.BytesIO(b"\xff" * (2 * 1024 * 1024 + 1)), "besar.jpg", "image/jpeg")})
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
    assert re.search(r'<input[^>]*name="best_before"[^>]*type="date"|<input[^>]*type="date"[^>]*name="best_before"',
                     body)
    assert "Cabai rawit – A (kg)" in body and f"Daster batik – {t(app, 'standard')} (pcs)" in body
    assert "Siti Aminah" in body and "Ani Rahayu" in body
    assert "Mantan Anggota" not in body and "Orang Lain" not in body  # inactive, another group


def test_intake_records_a_lot_and_keeps_member_and_product_for_the_next_entry(app, client, world):
    page_login(client, "ketua@blitar.test")
    response = client.post(f"/groups/{world.group.id}/intake", data={
        "member_id": str(world.siti.id), "variant_id": str(world.cabai_a), "quantity": "2,5", "unit": "",
        "grade": "super", "best_before": "2026-12-01", "note": "panen pagi"})
    assert response.status_code == 302, html(response)
    assert response.headers["Location"] == (f"/groups/{world.group.id}/intake"
                                            f"?member_id={world.siti.id}&variant_id={world.cabai_a}")
    with app.app_context():
        (lot,) = db.session.scalars(select(Lot)).all()
        assert (lot.member_id, lot.variant_id, lot.quantity, lot.remaining, lot.grade, lot.note) == (
            world.siti.id, world.cabai_a, Decimal("2.5"), Decimal("2.5"), "super", "panen pagi")
        assert lot.best_before.isoformat() == "2026-12-01"
        (move,) = db.session.scalars(select(Movement)).all()
        assert (move.kind, move.on_hand_delta, move.lot_id) == ("intake", Decimal("2.5"), lot.id)
    page = client.get(response.headers["Location"])
    body = html(page)
    assert t(app, "Recorded: %(quantity)s %(unit)s %(product)s from %(member)s", quantity="2.5", unit="kg",
             product="Cabai rawit", member="Siti Aminah") in body
    assert selected(body, "member_id") == str(world.siti.id)
    assert selected(body, "variant_id") == str(world.cabai_a)
    assert re.search(r'<input[^>]*autofocus[^>]*name="quantity"|<input[^>]*name="quantity"[^>]*autofocus', body)
    today = body.split(t(app, "Today's intake", raw=True))[1]
    assert "Siti Aminah" in today and f"#{lot.id}" in today and "2.5 kg" in today
    assert stock_of(app, world.cabai_a) == (Decimal("2.5"), Decimal(0))
    assert books_are_clean(app)


def test_intake_in_another_unit_is_converted_to_the_products_unit(app, client, world):
    page_login(client, "ketua@blitar.test")
    response = client.post(f"/groups/{world.group.id}/intake", data={
        "member_id": str(world.ani.id), "variant_id": str(world.cabai_b), "quantity": "15", "unit": "ons"})
    assert response.status_code == 302, html(response)
    assert stock_of(app, world.cabai_b) == (Decimal("1.5"), Decimal(0))
    assert t(app, "Recorded: %(quantity)s %(unit)s %(product)s from %(member)s", quantity="1.5", unit="kg",
             product="Cabai rawit", member="Ani Rahayu") in html(client.get(response.headers["Location"]))


BAD_INTAKE = {
    "not a number": ({"quantity": "abc"}, "Send the quantity as a number, such as \"2.5\"."),
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
            other_variant = inv.create_product(
                get(User, world.other_lead.id), get(Group, world.other_group.id), name="Belimbing", kind="produce",
                unit="kg", unit_price="12000").variants[0].id
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
    assert books_are_clean(app)


# --- stock and adjustments ------------------------------------------------------------

def test_stock_page_shows_counters_with_units_and_highlights_low_stock(app, client, world):
    contribute(app, world, world.siti, world.cabai_a, "2")
    contribute(app, world, world.ani, world.cabai_b, "7.25")
    with app.test_request_context("/", method="POST"):
        inv.reserve([inv.StockLine(world.cabai_b, Decimal("1.25"), "order:1")])
        db.session.commit()
    page_login(client, "ketua@blitar.test")
    body = html(client.get(f"/groups/{world.group.id}/stock"))
    row_a = re.search(r'<tr class="low">(.*?)</tr>', body, re.DOTALL).group(1)
    assert "Cabai rawit – A (kg)" in row_a and t(app, "low stock") in row_a and "2 kg" in row_a
    row_b = re.search(r"<tr>\s*<td><strong>Cabai rawit – B \(kg\)(.*?)</tr>", body, re.DOTALL).group(1)
    assert ">7.25<" in row_b and ">1.25<" in row_b and "6 kg" in row_b
    assert body.count('class="low"') == 1


def test_spoilage_takes_stock_away_from_the_oldest_lot(app, client, world):
    first = contribute(app, world, world.siti, world.cabai_a, "3")
    contribute(app, world, world.ani, world.cabai_a, "4")
    page_login(client, "ketua@blitar.test")
    response = client.post(f"/groups/{world.group.id}/stock", data={
        "variant_id": str(world.cabai_a), "reason": "spoilage", "quantity": "-1,5", "note": "busuk"})
    assert response.status_code == 302, html(response)
    assert stock_of(app, world.cabai_a) == (Decimal("5.5"), Decimal(0))
    with app.app_context():
        assert db.session.get(Lot, first).remaining == Decimal("1.5")
    body = html(client.get(response.headers["Location"]))
    assert t(app, "Stock of %(product)s changed by %(change)s.", product="Cabai rawit – A (kg)", change="-1.5") in body
    assert books_are_clean(app)


def test_a_count_records_the_difference_from_what_was_counted(app, client, world):
    contribute(app, world, world.siti, world.daster_std, "10")
    page_login(client, "ketua@blitar.test")
    response = client.post(f"/groups/{world.group.id}/stock", data={
        "variant_id": str(world.daster_std), "reason": "count", "counted": "8"})
    assert response.status_code == 302, html(response)
    assert stock_of(app, world.daster_std) == (Decimal(8), Decimal(0))
    response = client.post(f"/groups/{world.group.id}/stock", data={
        "variant_id": str(world.daster_std), "reason": "count", "counted": "8"})
    assert t(app, "Nothing changed: the count matches the stock.") in html(client.get(response.headers["Location"]))
    assert books_are_clean(app)


def test_a_return_goes_back_to_the_named_lot(app, client, world):
    siti_lot = contribute(app, world, world.siti, world.cabai_a, "3")
    contribute(app, world, world.ani, world.cabai_a, "4")
    page_login(client, "ketua@blitar.test")
    page = html(client.get(f"/groups/{world.group.id}/stock"))
    assert f'value="{siti_lot}"' in page  # open lots to choose from
    response = client.post(f"/groups/{world.group.id}/stock", data={
        "variant_id": str(world.cabai_a), "reason": "return", "quantity": "0.5", "lot_id": str(siti_lot)})
    assert response.status_code == 302, html(response)
    with app.app_context():
        assert db.session.get(Lot, siti_lot).remaining == Decimal("3.5")
    assert books_are_clean(app)


@pytest.mark.parametrize("data", [
    {"reason": "spoilage", "quantity": "-5"},
    {"reason": "damage", "quantity": "-2.001"},
    {"reason": "count", "counted": "0.5"},  # below what orders hold
])
def test_an_adjustment_below_zero_or_below_reservations_shows_the_error_and_changes_nothing(app, client, world, data):
    contribute(app, world, world.siti, world.cabai_a, "2")
    with app.test_request_context("/", method="POST"):
        inv.reserve([inv.StockLine(world.cabai_a, Decimal(1), "order:7")])
        db.session.commit()
    before = inventory_rows(app)
    page_login(client, "ketua@blitar.test")
    response = client.post(f"/groups/{world.group.id}/stock", data={"variant_id": str(world.cabai_a), **data})
    assert response.status_code == 200
    body = html(response)
    assert t(app, "Stock cannot go below zero or below what orders hold.") in body
    assert 'class="field-error"' in body
    assert inventory_rows(app) == before
    assert books_are_clean(app)


@pytest.mark.parametrize("data,message", [
    ({"reason": "spoilage", "quantity": "2"}, "Spoilage and damage take stock away: send a negative quantity."),
    ({"reason": "return", "quantity": "-1"}, "A return brings goods back: send a positive quantity."),
    ({"reason": "rotten", "quantity": "-1"}, "Choose spoilage, damage, count or return."),
    ({"reason": "spoilage", "quantity": "-0.5", "variant": "daster"}, "%(unit)s takes whole numbers only."),
    ({"reason": "spoilage", "quantity": "-1", "lot": "other"}, "No such lot of this variant in this group."),
])
def test_a_wrong_adjustment_shows_the_rule_and_changes_nothing(app, client, world, data, message):
    contribute(app, world, world.siti, world.cabai_a, "2")
    b_lot = contribute(app, world, world.siti, world.cabai_b, "2")
    contribute(app, world, world.siti, world.daster_std, "2")
    before = inventory_rows(app)
    page_login(client, "ketua@blitar.test")
    data = dict(data)
    variant = world.daster_std if data.pop("variant", None) == "daster" else world.cabai_a
    if data.pop("lot", None):
        data["lot_id"] = str(b_lot)  # a lot of another variant
    response = client.post(f"/groups/{world.group.id}/stock", data={"variant_id": str(variant), **data})
    assert response.status_code == 200
    assert t(app, message, unit="pcs") in html(response)
    assert inventory_rows(app) == before


def test_the_books_stay_clean_after_a_day_of_intake_and_corrections(app, client, world):
    page_login(client, "ketua@blitar.test")
    intake = f"/groups/{world.group.id}/intake"
    for member, variant, quantity in [(world.siti, world.cabai_a, "2.5"), (world.ani, world.cabai_a, "4"),
                                      (world.siti, world.daster_std, "12"), (world.ani, world.cabai_b, "abc"),
                                      (world.stranger, world.cabai_b, "1"), (world.ani, world.daster_std, "1.5")]:
        client.post(intake, data={"member_id": str(member.id), "variant_id": str(variant), "quantity": quantity})
    stock = f"/groups/{world.group.id}/stock"
    for data in [{"variant_id": world.cabai_a, "reason": "spoilage", "quantity": "-3"},
                 {"variant_id": world.cabai_a, "reason": "damage", "quantity": "-10"},
                 {"variant_id": world.daster_std, "reason": "count", "counted": "11"},
                 {"variant_id": world.daster_std, "reason": "return", "quantity": "2"}]:
        client.post(stock, data={k: str(v) for k, v in data.items()})
    assert stock_of(app, world.cabai_a) == (Decimal("3.5"), Decimal(0))
    assert stock_of(app, world.daster_std) == (Decimal(13), Decimal(0))
    assert stock_of(app, world.cabai_b) == (Decimal(0), Decimal(0))
    assert books_are_clean(app)


# --- the ledger -----------------------------------------------------------------------

def test_ledger_lists_movements_with_times_in_wib(app, client, world):
    lot = contribute(app, world, world.siti, world.cabai_a, "5")
    contribute(app, world, world.ani, world.cabai_b, "1")
    with acting_as(app, world.lead) as get:
        inv.adjust(get(User, world.lead.id), get(Group, world.group.id), variant_id=world.cabai_a, reason="spoilage",
                   quantity="-0.5", note="busuk")
    with app.app_context():
        moves = db.session.scalars(select(Movement).where(Movement.variant_id == world.cabai_a)
                                   .order_by(Movement.id)).all()
        with app.test_request_context("/"), force_locale("id"):
            shown = [format_wib(m.created_at) for m in moves]
    page_login(client, "ketua@blitar.test")
    body = html(client.get(f"/groups/{world.group.id}/movements", query_string={"variant_id": world.cabai_a}))
    for when in shown:
        assert when in body and when.endswith(" WIB")
    assert t(app, "Contribution") in body and t(app, "spoilage") in body
    assert "+5" in body and "-0.5" in body and "busuk" in body
    assert f"#{lot} · Siti Aminah" in body
    assert "Ani Rahayu" not in body  # the filter shows one variant
    assert "Ani Rahayu" in html(client.get(f"/groups/{world.group.id}/movements"))
    assert selected(body, "variant_id") == str(world.cabai_a)


def test_ledger_is_paginated(app, client, world):
    for _ in range(55):
        contribute(app, world, world.ani, world.daster_std, "1")
    page_login(client, "ketua@blitar.test")
    first = html(client.get(f"/groups/{world.group.id}/movements"))
    assert first.count("Daster batik") >= 50
    assert f'href="/groups/{world.group.id}/movements?page=2' in first
    second = html(client.get(f"/groups/{world.group.id}/movements", query_string={"page": "2"}))
    assert second.count(">+1<") == 5


# --- my contributions -----------------------------------------------------------------

def test_a_member_sees_only_their_own_contributions(app, client, world):
    mine = contribute(app, world, world.siti, world.cabai_a, "3")
    contribute(app, world, world.ani, world.cabai_b, "7")
    with acting_as(app, world.lead) as get:
        inv.adjust(get(User, world.lead.id), get(Group, world.group.id), variant_id=world.cabai_a, reason="spoilage",
                   quantity="-0.5")
        inv.reserve([inv.StockLine(world.cabai_a, Decimal(1), "order:1")])
        inv.consume(inv.StockLine(world.cabai_a, Decimal(1), "line:1"))
    page_login(client, "siti@blitar.test")
    response = client.get("/me/contributions")
    assert response.status_code == 200
    body = html(response)
    assert "Cabai rawit – A (kg)" in body and f"#{mine}" in body and "KUB Jahit Melati" in body
    assert "Cabai rawit – B" not in body and ">7 kg<" not in body
    row = re.search(rf"· #{mine}</span>.*?</tr>", body, re.DOTALL).group(0)
    assert ">3 kg<" in row and ">1.5<" in row and ">1<" in row and ">0.5<" in row  # given, left, sold, written off
    assert 'href="/me/contributions"' in body  # in the header


def test_contributions_page_is_empty_for_a_buyer(app, client, world):
    contribute(app, world, world.siti, world.cabai_a, "3")
    page_login(client, "pembeli@blitar.test")
    body = html(client.get("/me/contributions"))
    assert "Cabai rawit" not in body
    assert t(app, "You have not handed in anything yet. When your coordinator records what you bring, it shows "
                  "here.") in body


# --- the dashboard --------------------------------------------------------------------

def test_dashboard_shows_a_low_stock_variant_and_a_lot_past_best_before(app, client, world):
    today = datetime.now(WIB).date()
    old = contribute(app, world, world.siti, world.cabai_a, "2", best_before=(today - timedelta(days=2)).isoformat())
    soon = contribute(app, world, world.ani, world.cabai_b, "9", best_before=(today + timedelta(days=1)).isoformat())
    contribute(app, world, world.ani, world.daster_std, "9", best_before=(today + timedelta(days=60)).isoformat())
    page_login(client, "ketua@blitar.test")
    body = html(client.get(f"/groups/{world.group.id}/dashboard"))
    low = body.split(t(app, "Low stock"))[1].split("</table>")[0]
    assert "Cabai rawit – A (kg)" in low and ">2<" in low and "5 kg" in low
    assert "Cabai rawit – B" not in low
    past = body.split(t(app, "Past best-before"))[1].split("</table>")[0]
    assert f"#{old}" in past and "Siti Aminah" in past
    near = body.split(t(app, "Near best-before"))[1].split("</table>")[0]
    assert f"#{soon}" in near and "Ani Rahayu" in near
    assert "Daster" not in body.split(t(app, "Low stock"))[1]
    for link in ("products", "intake", "stock", "movements", "members"):
        assert f'href="/groups/{world.group.id}/{link}"' in body


def test_dashboard_says_when_nothing_needs_attention(app, client, world):
    contribute(app, world, world.siti, world.cabai_a, "20")
    page_login(client, "ketua@blitar.test")
    body = html(client.get(f"/groups/{world.group.id}/dashboard"))
    assert t(app, "Nothing needs attention: no stock below its threshold, no goods near their best-before "
                  "date.") in body


def test_what_people_type_is_escaped_on_inventory_pages(app, client, world):
    script = "<script>alert(1)</script>"
    page_login(client, "ketua@blitar.test")
    client.post(f"/groups/{world.group.id}/products/new", data={
        "name": "Keripik " + script, "kind": "processed", "unit": "pcs", "variants-0-label": "L" + script,
        "variants-0-unit_price": "5000", "variants-0-low_stock_threshold": "10"})
    with app.app_context():
        variant_id = db.session.scalar(select(Variant.id).where(Variant.label == "L" + script))
    assert variant_id
    client.post(f"/groups/{world.group.id}/intake", data={
        "member_id": str(world.siti.id), "variant_id": str(variant_id), "quantity": "3", "grade": "<b>A",
        "note": script})
    for path in ("products", "intake", "stock", "movements", "dashboard"):
        body = html(client.get(f"/groups/{world.group.id}/{path}"))
        assert "<script>" not in body and "&lt;script&gt;" in body, path


@pytest.mark.parametrize("variant_id", ["other", "99999999999", "abc", "-1", "0"])
def test_ledger_filter_with_a_strange_variant_is_a_clear_answer_not_a_500(app, client, world, variant_id):
    with acting_as(app, world.other_lead) as get:
        other = inv.create_product(get(User, world.other_lead.id), get(Group, world.other_group.id), name="Belimbing",
                                   kind="produce", unit="kg", unit_price="12000").variants[0].id
    page_login(client, "ketua@blitar.test")
    response = client.get(f"/groups/{world.group.id}/movements",
                          query_string={"variant_id": str(other) if variant_id == "other" else variant_id})
    assert response.status_code in (200, 404, 422)
    assert "Belimbing" not in html(response)
