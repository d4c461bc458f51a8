"""The buyer's journey of record, on a phone in Indonesian, with JavaScript on and off: Bu Ratna has WhatsApp and no
e-mail. She registers with her phone number, searches the catalog, fills her cart from two groups, taps "Lanjut
pesan" twice to pay by transfer, and reads where to pay each group."""

import re

import pytest
from sqlalchemy import select

from accounts.models import User
from core.extensions import db
from core.money import format_rupiah as rupiah
from marketplace.models import Checkout, Order
from payments.providers import order_reference
from tests.e2e.journey import assert_fits_and_speaks_indonesian, indonesian, phone, seller, stocked
from tests.factories import count

CABAI_BANK = ("BRI", "0012-01-000123-50-1", "Kelompok Tani Cabai Makmur")
BELIMBING_BANK = ("Bank Jatim", "0231456789", "Sri Wahyuni")
NAMES = (
    "Bu Ratna",
    "Kelompok Tani Cabai Makmur",
    "Kelompok Tani Belimbing Sari",
    "Cabai rawit merah",
    "Belimbing manis",
    "Sri Wahyuni",
    "Gembongan",
    "Karangbendo",
)


@pytest.fixture
def market(app, db):
    """Two verified groups in two villages, each with a bank account and a product in stock."""
    cabai = seller(app, "Kelompok Tani Cabai Makmur", "Gembongan", "0812-3300-0201", bank=CABAI_BANK)
    belimbing = seller(app, "Kelompok Tani Belimbing Sari", "Karangbendo", "0812-3300-0301", bank=BELIMBING_BANK)
    stocked(app, cabai, "Cabai rawit merah", 45000, "10")
    stocked(app, belimbing, "Belimbing manis", 18000, "20")
    return cabai, belimbing


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_buyer_without_email_orders_from_two_groups_and_pays_each_by_transfer(
    app, live_server, browser, market, javascript
):
    with phone(browser, javascript=javascript) as page:
        server = live_server

        def looks_right():
            assert_fits_and_speaks_indonesian(page, NAMES)

        # She opens the market and registers with her phone number; she has no e-mail.
        page.goto(f"{server}/")
        assert page.locator("html").get_attribute("lang") == "id"
        looks_right()
        page.click(f"header >> text={indonesian('Register')}")
        page.wait_for_url(f"{server}/register")
        looks_right()
        page.fill("input[name=name]", "Bu Ratna")
        page.fill("input[name=phone]", "0813-3000-1111")
        page.fill("input[name=password]", "sandi-ratna-9")
        page.click(f"main button:has-text('{indonesian('Create account')}')")
        page.wait_for_selector(".flash.success")
        looks_right()
        with app.app_context():
            buyer = db.session.scalar(select(User).where(User.name == "Bu Ratna"))
            assert (buyer.phone, buyer.email) == ("+6281330001111", None)

        # She searches the catalog: "belimbing" finds the star fruit, and she puts 2 kg in her cart.
        page.click(f"header >> text={indonesian('Catalog')}")
        page.wait_for_url(f"{server}/catalog")
        looks_right()
        search(page, "belimbing")
        looks_right()
        add_to_cart(page, "Belimbing manis", "2")
        looks_right()

        # "cabe", the common spelling, finds the chilli; "kabaii" finds nothing and offers the nearest name;
        # she follows it and adds 1,5 kg of chilli.
        search(page, "cabe")
        assert page.locator("article.prod").count() == 1 and "Cabai rawit merah" in page.inner_text("main")
        looks_right()
        search(page, "kabaii")
        assert page.locator("article.prod").count() == 0
        assert indonesian("No products found. Try another word or fewer filters.") in page.inner_text("main")
        looks_right()
        page.click("#suggestions >> text=Cabai rawit merah")
        page.wait_for_url(re.compile(r".*/catalog\?q=Cabai"))
        looks_right()
        add_to_cart(page, "Cabai rawit merah", "1,5")
        looks_right()

        # Her cart holds one line from each group; she goes on to the order and chooses to pay by transfer.
        page.click("header a[href='/cart']")
        page.wait_for_url(f"{server}/cart")
        assert page.locator("main section.card").count() == 2
        assert "Rp103.500" in page.inner_text("main")  # 1,5 × 45.000 + 2 × 18.000
        looks_right()
        page.click(f"text={indonesian('Continue to order')}")
        page.wait_for_url(f"{server}/checkout")
        looks_right()
        page.check("input[name=payment_method][value=transfer]")

        # She taps the button twice.
        confirmation = double_tap(page, server)

        # One checkout with one order per group is made; her cart is empty; the confirmation says where to pay.
        assert (count(app, Checkout), count(app, Order)) == (1, 2)
        assert re.fullmatch(rf"{re.escape(server)}/checkouts/\d+", confirmation)
        page.goto(confirmation)
        assert page.get_by_role("heading", name=indonesian("Order placed")).is_visible()
        looks_right()
        shows_where_to_transfer_each_order(app, page)
        assert "(" not in page.locator("header a[href='/cart']").inner_text()
        page.click("header a[href='/cart']")
        assert indonesian("Your cart is empty.") in page.inner_text("main")
        looks_right()
        page.goto(f"{server}/checkout")  # "Lanjut pesan" again: nothing is left to order twice
        page.wait_for_url(f"{server}/cart")
        assert (count(app, Checkout), count(app, Order)) == (1, 2)


def search(page, words: str) -> None:
    page.fill("input[name=q]", words)
    page.click(f"main button:has-text('{indonesian('Search')}')")
    page.wait_for_url(re.compile(r".*/catalog\?q="))


def add_to_cart(page, product: str, quantity: str) -> None:
    card = page.locator("article.prod", has_text=product)
    assert card.count() == 1
    card.locator("input[name=quantity]").fill(quantity)
    card.locator(f"button:has-text('{indonesian('Add')}')").click()
    page.wait_for_selector(".flash.success")


def double_tap(page, server: str) -> str:
    """Two taps on the order button, the second before the first answer came back (the network is slow): the server
    gets both, each with the cookie the page was shown with, and the phone shows the second answer. The address
    both answers lead to, which must be the same."""
    held = []
    page.route(f"{server}/checkout", lambda route: held.append(route))
    button = page.locator("main form button[type=submit]")
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    where = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.touchscreen.tap(*where)
    wait_until(page, lambda: len(held) == 1)
    page.touchscreen.tap(*where)
    wait_until(page, lambda: len(held) == 2)
    first, second = held
    assert first.request.method == second.request.method == "POST"
    assert first.request.post_data == second.request.post_data
    first_answer = first.fetch(max_redirects=0)  # the first tap reaches the server; the phone moved on to the second
    assert first_answer.status == 302, first_answer.text()[:2000]
    second.continue_()
    page.wait_for_url(re.compile(r".*/checkouts/\d+$"))
    page.unroute(f"{server}/checkout")
    assert page.url == f"{server}{first_answer.headers['location']}"
    return page.url


def wait_until(page, condition) -> None:
    for _ in range(100):
        if condition():
            return
        page.wait_for_timeout(50)
    raise AssertionError("the tap sent no request")


def shows_where_to_transfer_each_order(app, page) -> None:
    with app.app_context():
        orders = db.session.scalars(select(Order).order_by(Order.id)).all()
        expected = [(o.id, o.total, order_reference(o)) for o in orders]
    assert [total for _, total, _ in expected] == [67500, 36000]
    for (order_id, total, reference), (bank, number, holder) in zip(
        expected, (CABAI_BANK, BELIMBING_BANK), strict=True
    ):
        box = page.locator(f"#transfer-{order_id}").inner_text()
        for shown in (bank, number, holder, rupiah(total), reference):
            assert shown in box, (shown, box)
