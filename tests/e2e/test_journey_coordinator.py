"""The coordinator's journey of record, on a phone in Indonesian: Pak Suyono logs in with his phone number and works
the list his home shows. He adds a product with a photo, takes an intake, confirms, packs and hands over the order a
buyer placed (taking the cash), closes the period of last week's sale, reads a member's statement and its print
layout, and pays the member out."""

import io
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from PIL import Image
from sqlalchemy import select

from core.extensions import db
from core.types import clock_at
from inventory.models import Lot, Product
from marketplace.models import Order, OrderStatus
from revenue.models import Payout, Settlement
from revenue.services.settlements import today_wib
from tests.e2e.journey import (
    assert_fits_and_speaks_indonesian,
    indonesian,
    log_in,
    phone,
    seller,
    stocked,
)
from tests.factories import bearer, make_member, make_token
from tests.market import actor, body_of, placed, sold

NAMES = (
    "Pak Suyono",
    "Kelompok Tani Cabai Makmur",
    "Pak Darmaji",
    "Bu Sumarni",
    "Bu Endang",
    "Cabai rawit merah",
    "Terong ungu",
    "Gembongan",
    "Ketua",
)
TAP = 44


@pytest.fixture
def group(app, db, client):
    """A farmer group with a week-old sale of Pak Darmaji's chilli (not yet settled), chilli running low, and a new
    cash order a buyer placed today."""
    week_ago = datetime.now(UTC) - timedelta(days=7)
    with clock_at(week_ago - timedelta(days=1)):
        shop = seller(app, "Kelompok Tani Cabai Makmur", "Gembongan", "0812-3300-0201", member="Pak Darmaji")
        sumarni = make_member(app, shop.group, name="Bu Sumarni")
        chilli = stocked(app, shop, "Cabai rawit merah", 45000, "10", low_stock_threshold="8")
    lead = SimpleNamespace(headers=bearer(make_token(app, shop.user)))
    buyer = actor(app, name="Bu Endang")
    with clock_at(week_ago):
        sold(client, buyer, lead, (chilli, "2"))  # Rp90.000 for Pak Darmaji
    [order] = placed(client, buyer, body_of((chilli, "1")))["orders"]
    return SimpleNamespace(**vars(shop), sumarni=sumarni, chilli=chilli, order_id=order["id"])


def test_a_coordinator_works_his_home_list_from_order_to_payout(app, live_server, browser, group, tmp_path):
    server = live_server
    with phone(browser) as page:

        def looks_right():
            assert_fits_and_speaks_indonesian(page, NAMES)

        logs_in_and_sees_what_waits(page, server, looks_right)
        adds_a_product_with_a_photo(app, page, server, group, tmp_path, looks_right)
        takes_an_intake(app, page, server, group, looks_right)
        confirms_packs_and_hands_over_the_order(app, page, server, group, looks_right)
        closes_last_weeks_period(app, page, server, group, looks_right)
        reads_a_members_statement_and_prints_it(page, server, group, looks_right)
        pays_the_member_out(app, page, server, group, looks_right)


def logs_in_and_sees_what_waits(page, server, looks_right):
    log_in(page, server, "0812-3300-0201")
    assert page.url == f"{server}/me/groups"
    looks_right()
    todo = page.locator("ul.todo a")
    shown = [" ".join(text.split()) for text in todo.all_inner_texts()]
    assert f"1 {indonesian('new order to confirm')}" in shown, shown
    assert f"1 {indonesian('product running low')}" in shown, shown
    assert any(text.startswith(f"1 {indonesian('member to pay out')}") for text in shown), shown
    for link in todo.all():
        box = link.bounding_box()
        assert box["height"] >= TAP, (link.inner_text(), box)


def home(page, server):
    page.click(f"header >> text={indonesian('My groups')}")
    page.wait_for_url(f"{server}/me/groups")


def adds_a_product_with_a_photo(app, page, server, group, tmp_path, looks_right):
    page.click(f"main .hubs >> text={indonesian('Stock')}")
    page.wait_for_url(f"{server}/groups/{group.group.id}/dashboard")
    looks_right()
    page.click(f"main >> text={indonesian('Products')}")
    looks_right()
    page.click(f"main >> text={indonesian('Add a product')}")
    page.wait_for_url(f"{server}/groups/{group.group.id}/products/new")
    looks_right()
    photo = tmp_path / "terong.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 40, 120)).save(buffer, "JPEG")
    photo.write_bytes(buffer.getvalue())
    page.fill("input[name=name]", "Terong ungu")
    page.select_option("select[name=unit]", "kg")
    page.set_input_files("input[name=photo]", str(photo))
    page.fill("input[name='variants-0-unit_price']", "8000")
    page.click(f"main button:has-text('{indonesian('Save')}')")
    page.wait_for_selector(".flash.success")
    looks_right()
    with app.app_context():
        product = db.session.scalar(select(Product).where(Product.name == "Terong ungu"))
        assert product is not None and product.photo
        group.eggplant = product.variants[0].id
    assert page.locator(f"img[src*='{product.photo}']").count() >= 1


def takes_an_intake(app, page, server, group, looks_right):
    home(page, server)
    page.click(f"main .hubs >> text={indonesian('Record intake')}")
    page.wait_for_url(f"{server}/groups/{group.group.id}/intake")
    looks_right()
    page.select_option("select[name=member_id]", str(group.sumarni.id))
    page.select_option("select[name=variant_id]", str(group.eggplant))
    page.fill("input[name=quantity]", "12,5")
    page.click(f"main button:has-text('{indonesian('Record')}')")
    page.wait_for_selector(".flash.success")
    looks_right()
    assert "12,5 kg" in page.inner_text("main table")
    with app.app_context():
        lot = db.session.scalar(select(Lot).where(Lot.variant_id == group.eggplant))
        assert (lot.member_id, str(lot.quantity)) == (group.sumarni.id, "12.500")


def confirms_packs_and_hands_over_the_order(app, page, server, group, looks_right):
    home(page, server)
    page.click(f"ul.todo a:has-text('{indonesian('new order to confirm')}')")
    page.wait_for_url(re.compile(r".*/orders\?status=placed"))
    looks_right()
    page.click(f"a.rowlink:has-text('#{group.order_id}')")
    page.wait_for_url(f"{server}/orders/{group.order_id}")
    looks_right()
    page.click(f"main button:has-text('{indonesian('Confirm')}')")
    page.wait_for_selector(".flash.success")
    looks_right()

    home(page, server)  # the order now waits to be packed today
    page.click(f"ul.todo a:has-text('{indonesian('order to pack today')}')")
    page.wait_for_url(re.compile(r".*/orders\?status=to_pack"))
    looks_right()
    page.click(f"a.rowlink:has-text('#{group.order_id}')")
    page.click(f"main button:has-text('{indonesian('Packed: ready')}')")
    page.wait_for_selector(".flash.success")
    looks_right()
    page.click(f"main button:has-text('{indonesian('Receive cash %(amount)s & complete') % {'amount': 'Rp45.000'}}')")
    page.wait_for_selector(".flash.success")
    looks_right()
    with app.app_context():
        order = db.session.get(Order, group.order_id)
        assert (order.status, order.paid) == (OrderStatus.completed, 45000)


def closes_last_weeks_period(app, page, server, group, looks_right):
    home(page, server)
    page.click(f"main .hubs >> text={indonesian('Revenue')}")
    page.wait_for_url(f"{server}/groups/{group.group.id}/revenue")
    looks_right()
    page.click(f"main >> text={indonesian('Close a period')}")
    page.wait_for_url(f"{server}/groups/{group.group.id}/settlements")
    looks_right()
    today = today_wib()
    page.fill("input[name=period_start]", (today - timedelta(days=14)).isoformat())
    page.fill("input[name=period_end]", (today - timedelta(days=1)).isoformat())
    page.click(f"main button:has-text('{indonesian('Settle this period')}')")
    page.wait_for_url(re.compile(r".*/settlements/\d+(#settle)?$"))
    looks_right()
    with app.app_context():
        assert db.session.query(Settlement).count() == 1


def reads_a_members_statement_and_prints_it(page, server, group, looks_right):
    page.click("main table >> text=Pak Darmaji")
    page.wait_for_url(re.compile(rf".*/groups/{group.group.id}/members/{group.member.id}/statement\?.*"))
    looks_right()
    statement = page.inner_text("main")
    assert "Cabai rawit merah" in statement and "2 kg" in statement
    page.click(f"main a:has-text('{indonesian('Print')}')")
    page.wait_for_url(re.compile(r".*print=1.*"))
    looks_right()
    assert "Pak Darmaji" in page.inner_text("body") and "Cabai rawit merah" in page.inner_text("body")


def pays_the_member_out(app, page, server, group, looks_right):
    page.go_back()  # from the print layout, which has no header, to the statement
    home(page, server)
    page.click(f"ul.todo a:has-text('{indonesian('member to pay out')}')")
    page.wait_for_url(re.compile(rf".*/groups/{group.group.id}/payouts"))
    looks_right()
    row = page.locator("main tr", has_text="Pak Darmaji")
    row.locator(f"a:has-text('{indonesian('Pay out')}')").click()
    looks_right()
    assert page.locator("select[name=member_id]").input_value() == str(group.member.id)
    page.fill("input[name=amount]", "50000")
    page.click(f"main button:has-text('{indonesian('Record payout')}')")
    page.wait_for_selector(".flash.success")
    looks_right()
    with app.app_context():
        payout = db.session.scalar(select(Payout))
        assert (payout.member_id, payout.amount) == (group.member.id, 50000)
