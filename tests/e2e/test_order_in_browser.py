"""On phones, in Indonesian: a buyer finds chilli, orders it for pickup, and the coordinator sees it in the queue."""

import re
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

from core.phone import normalize_phone
from marketplace import catalog
from tests.e2e.conftest import PHONE
from tests.e2e.test_members_in_browser import indonesian
from tests.factories import make_group, make_member, make_user
from tests.stock_helpers import contribute, make_product


def test_buyer_orders_for_pickup_and_the_coordinator_sees_it(app, live_server, phone_page, browser):
    catalog.clear_cache()
    coordinator = make_user(
        app, email="cabai@kelompok.test", name="Pak Suyono", phone=normalize_phone("0812-3300-0201")
    )
    group = make_group(
        app,
        coordinator,
        name="Kelompok Tani Cabai Makmur",
        kind="farmer",
        village="Gembongan",
        district="Ponggok",
        pickup_point="Gudang kelompok, Dusun Gembongan",
        pickup_hours="Setiap hari 06.00–10.00",
    )
    member = make_member(app, group, name="Pak Darmaji")
    setup = SimpleNamespace(user=coordinator, group=group, members=[member])
    (grade_a,) = make_product(app, coordinator, group, unit="kg", labels=("Grade A",), name="Cabé rawit merah")
    make_product(app, coordinator, group, unit="kg", labels=("standard",), name="Gula kelapa", kind="processed")
    contribute(app, setup, grade_a, "10")
    buyer = make_user(app, email="pembeli@warung.test", name="Bu Ratna")
    page = phone_page

    # The buyer finds the chilli from the catalog, without an account.
    page.goto(f"{live_server}/")
    assert page.locator("html").get_attribute("lang") == "id"
    page.click(f"header >> text={indonesian('Catalog')}")
    page.wait_for_url(f"{live_server}/catalog")
    page.fill("input[name=q]", "cabe rawit")
    page.click(f"button:has-text('{indonesian('Search')}')")
    page.wait_for_url(re.compile(r".*/catalog\?q=cabe"))
    cards = page.locator("article.prod")
    assert cards.count() == 1
    card = cards.first
    assert "Cabé rawit merah" in card.inner_text() and "Rp10.000" in card.inner_text()
    card.locator("input[name=quantity]").fill("1,5")
    card.locator(f"button:has-text('{indonesian('Add')}')").click()
    page.wait_for_selector(".flash.success")
    assert page.locator("header a[href='/cart']").inner_text().endswith("(1)")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # The cart, then checkout: log in first, the cart stays.
    page.click("header a[href='/cart']")
    page.wait_for_url(f"{live_server}/cart")
    assert "Rp15.000" in page.locator("main").inner_text()
    page.click(f"text={indonesian('Continue to order')}")
    page.wait_for_url(re.compile(r".*/login\?next=.*checkout"))
    page.fill("input[name=login]", buyer.email)
    page.fill("input[name=password]", buyer.password)
    page.click(f"main button:has-text('{indonesian('Log in')}')")
    page.wait_for_url(f"{live_server}/checkout")
    assert page.locator("input[name=fulfilment_method][value=pickup]").is_checked()
    assert "Gudang kelompok, Dusun Gembongan" in page.locator("main").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.click("main form button[type=submit]")

    # The confirmation, with a WhatsApp link to the coordinator naming the order.
    page.wait_for_url(re.compile(r".*/checkouts/\d+$"))
    assert page.get_by_role("heading", name=indonesian("Order placed")).is_visible()
    link = page.locator("a[href^='https://wa.me/']")
    assert link.count() == 1 and link.is_visible()
    href = urlsplit(link.get_attribute("href"))
    assert href.path == "/6281233000201"
    text = parse_qs(href.query)["text"][0]
    order_id = int(re.search(r"#(\d+)", text).group(1))
    assert text.startswith(f"Halo, saya memesan pesanan #{order_id} di Kelompok Tani Cabai Makmur")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # The coordinator, on another phone, opens the group's order queue.
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    try:
        other = context.new_page()
        other.set_default_timeout(15_000)
        other.goto(f"{live_server}/login")
        other.fill("input[name=login]", coordinator.email)
        other.fill("input[name=password]", coordinator.password)
        other.click(f"main button:has-text('{indonesian('Log in')}')")
        other.wait_for_url(f"{live_server}/me/groups")
        other.click("text=Kelompok Tani Cabai Makmur")
        other.wait_for_url(f"{live_server}/groups/{group.id}")
        other.click(f"main a:has-text('{indonesian('Orders')}')")
        other.wait_for_url(f"{live_server}/groups/{group.id}/orders")
        row = other.locator("tr", has_text=f"#{order_id}")
        assert row.count() == 1
        assert "Bu Ratna" in row.inner_text() and "Rp15.000" in row.inner_text()
        assert indonesian("placed") in row.inner_text()
        assert row.locator(f"button:has-text('{indonesian('Confirm')}')").is_visible()
        assert other.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        context.close()
