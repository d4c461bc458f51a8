"""The harvest journey, on phones in Indonesian: Pak Suyono announces next week's chili harvest, two buyers pre-order
more than its cap is worth (the second is refused past the cap and takes what is left), the harvest comes in
smaller, and he records it: each buyer's pro-rata share shows, with a WhatsApp link to tell them. And a harvest
taken in as usual through the stock intake, recorded from those lots once its pre-orders are closed."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from core.extensions import db
from core.phone import normalize_phone
from harvests.models import Harvest
from inventory.models import Variant
from tests.e2e.journey import assert_fits_and_speaks_indonesian, indonesian, log_in, phone, seller, stocked
from tests.factories import make_member, make_user
from tests.stock_helpers import contribute

NAMES = (
    "Pak Suyono",
    "Kelompok Tani Cabai Makmur",
    "Pak Darmaji",
    "Bu Sumarni",
    "Warung Bu Tin",
    "Pak Agus",
    "Cabai rawit merah",
    "Gembongan",
    "Ketua",
)


@pytest.fixture
def farm(app, db, client):
    shop = seller(app, "Kelompok Tani Cabai Makmur", "Gembongan", "0812-3300-0201", member="Pak Darmaji")
    sumarni = make_member(app, shop.group, name="Bu Sumarni")
    chilli = stocked(app, shop, "Cabai rawit merah", 45000, "2")
    tin = make_user(app, name="Warung Bu Tin", phone=normalize_phone("0813-3000-2201"))
    agus = make_user(app, name="Pak Agus", phone=normalize_phone("0813-3000-2202"))
    return SimpleNamespace(**vars(shop), sumarni=sumarni, chilli=chilli, tin=tin, agus=agus)


def test_an_over_subscribed_harvest_is_shared_out_pro_rata_with_whatsapp_links(app, live_server, browser, farm):
    server = live_server
    with phone(browser) as page:
        log_in(page, server, "0812-3300-0201")
        page.goto(f"{server}/groups/{farm.group.id}/harvests")
        assert_fits_and_speaks_indonesian(page, NAMES)
        page.click(f"main a:has-text('{indonesian('Announce a harvest')}')")
        assert_fits_and_speaks_indonesian(page, NAMES)
        page.select_option("select[name=variant_id]", str(farm.chilli))
        page.fill("input[name=expected_low]", "10")
        page.fill("input[name=expected_high]", "12")
        page.check("input[name=shortfall_rule][value=pro_rata]")
        page.click(f"main button:has-text('{indonesian('Announce the harvest')}')")
        page.wait_for_selector(".flash.success")
        assert_fits_and_speaks_indonesian(page, NAMES)
    with app.app_context():
        harvest = db.session.scalar(select(Harvest))
        assert harvest.cap == 8  # 80 % of 10 kg
        harvest_id = harvest.id

    with phone(browser) as page:  # Warung Bu Tin pre-orders 6 kg from the product page
        log_in(page, server, farm.tin.email)
        page.goto(f"{server}/products/{db_product(app, farm.chilli)}")
        assert_fits_and_speaks_indonesian(page, NAMES)
        page.fill("form.pre-order input[name=quantity]", "6")
        page.click(f"form.pre-order button:has-text('{indonesian('Place the pre-order')}')")
        page.wait_for_selector(".flash.success")
        assert "/me/pre-orders" in page.url
        assert_fits_and_speaks_indonesian(page, NAMES)

    with phone(browser) as page:  # Pak Agus asks 4 kg: only 2 are left; he takes them
        log_in(page, server, farm.agus.email)
        page.goto(f"{server}/products/{db_product(app, farm.chilli)}")
        page.fill("form.pre-order input[name=quantity]", "4")
        page.click(f"form.pre-order button:has-text('{indonesian('Place the pre-order')}')")
        page.wait_for_selector(".field-error")
        assert indonesian("At most %(n)s.") % {"n": "2"} in page.inner_text("main")
        assert_fits_and_speaks_indonesian(page, NAMES)
        page.fill("form.pre-order input[name=quantity]", "2")
        page.click(f"form.pre-order button:has-text('{indonesian('Place the pre-order')}')")
        page.wait_for_selector(".flash.success")
        assert_fits_and_speaks_indonesian(page, NAMES)

    with phone(browser) as page:  # 4 kg come in for 8 pre-ordered: 3 for the warung, 1 for Pak Agus
        log_in(page, server, "0812-3300-0201")
        page.goto(f"{server}/harvests/{harvest_id}")
        assert_fits_and_speaks_indonesian(page, NAMES)
        page.fill(f"input[name=lot-{farm.member.id}]", "3")
        page.fill(f"input[name=lot-{farm.sumarni.id}]", "1")
        page.click(f"main button:has-text('{indonesian('Record the harvest')}')")
        page.wait_for_selector("#messages")
        assert_fits_and_speaks_indonesian(page, NAMES)
        shares = page.inner_text("main")
        assert indonesian("%(got)s of %(asked)s %(unit)s") % {"got": "3", "asked": "6", "unit": "kg"} in shares
        assert indonesian("%(got)s of %(asked)s %(unit)s") % {"got": "1", "asked": "2", "unit": "kg"} in shares
        links = page.eval_on_selector_all("a[href^='https://wa.me/']", "links => links.map(a => a.href)")
        assert len(links) == 2 and any("6281330002201" in link for link in links)


def db_product(app, variant_id: int) -> int:
    with app.app_context():
        return db.session.get(Variant, variant_id).product_id


def test_a_harvest_taken_in_as_usual_is_recorded_from_its_lots(app, live_server, browser, farm):
    """Pak Suyono closes the pre-orders on their confirmation page; Warung Bu Tin reads her pre-order confirmed;
    the picking is taken in through the ordinary stock intake, and he records the harvest by ticking those lots."""
    server = live_server
    with phone(browser) as page:
        log_in(page, server, "0812-3300-0201")
        page.goto(f"{server}/groups/{farm.group.id}/harvests/new")
        page.select_option("select[name=variant_id]", str(farm.chilli))
        page.fill("input[name=expected_low]", "10")
        page.fill("input[name=expected_high]", "12")
        page.fill("input[name=deposit_percent]", "20")
        page.check("input[name=shortfall_rule][value=first_come]")
        page.click(f"main button:has-text('{indonesian('Announce the harvest')}')")
        page.wait_for_selector(".flash.success")
    with app.app_context():
        harvest_id = db.session.scalar(select(Harvest.id))

    with phone(browser) as page:  # the buyer's pre-order and its confirmation
        log_in(page, server, farm.tin.email)
        page.goto(f"{server}/products/{db_product(app, farm.chilli)}")
        page.fill("form.pre-order input[name=quantity]", "5")
        page.click(f"form.pre-order button:has-text('{indonesian('Place the pre-order')}')")
        page.wait_for_selector(".flash.success")
        assert "/me/pre-orders" in page.url
        assert_fits_and_speaks_indonesian(page, NAMES)
        shown = page.inner_text("main")
        assert indonesian("deposit asked %(amount)s") % {"amount": "Rp45.000"} in shown
        assert indonesian("waiting for the harvest") in shown

    # The picking comes in as usual, through the stock intake: 3 kg from Pak Darmaji, 4 kg from Bu Sumarni.
    darmaji = contribute(app, farm, farm.chilli, "3", member=farm.member)
    sumarni = contribute(app, farm, farm.chilli, "4", member=farm.sumarni)
    with phone(browser) as page:
        log_in(page, server, "0812-3300-0201")
        page.goto(f"{server}/harvests/{harvest_id}/close")
        assert_fits_and_speaks_indonesian(page, NAMES)
        page.click(f"main button:has-text('{indonesian('Yes, close pre-orders')}')")
        page.wait_for_selector(".flash.success")
        assert_fits_and_speaks_indonesian(page, NAMES)
        assert page.is_visible(f"input[name=use-{darmaji}]") and page.is_visible(f"input[name=use-{sumarni}]")
        page.check(f"input[name=use-{darmaji}]")
        page.check(f"input[name=use-{sumarni}]")
        page.fill(f"input[name=take-{sumarni}]", "2,5")
        page.click(f"main button:has-text('{indonesian('Record the harvest from these lots')}')")
        page.wait_for_selector("#messages")
        assert_fits_and_speaks_indonesian(page, NAMES)
        shown = page.inner_text("main")
        assert indonesian("%(got)s of %(asked)s %(unit)s") % {"got": "5", "asked": "5", "unit": "kg"} in shown
        assert page.eval_on_selector_all("a[href^='https://wa.me/6281330002201']", "links => links.length") == 1
    with app.app_context():
        assert db.session.get(Harvest, harvest_id).harvested == Decimal("5.5")
