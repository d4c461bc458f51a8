"""The district admin's journey of record, on a phone in Indonesian: Bu Yuli logs in and lands on her home, the
district's totals and the groups waiting for verification. She opens the waiting list, verifies a new sewing group,
and reads the district overview, where the sales of the groups she verified add up."""

import re

import pytest

from groups.models import Group
from tests.e2e.journey import assert_fits_and_speaks_indonesian, indonesian, log_in, phone, seller, stocked
from tests.factories import bearer, fetch, make_token, make_user
from tests.market import actor, sold

NAMES = (
    "Bu Yuli",
    "Kelompok Tani Cabai Makmur",
    "KUB Jahit Mawar",
    "Bu Wiwik",
    "Cabai rawit merah",
    "Gembongan",
    "Sumberejo",
    "Ponggok",
    "Ketua",
    "Anggota",
)
BANK = ("BRI", "0012-01-000777-50-1", "KUB Jahit Mawar")


@pytest.fixture
def district(app, db, client):
    """A verified farmer group that has sold chilli for Rp90.000, and a sewing group waiting for verification."""
    cabai = seller(app, "Kelompok Tani Cabai Makmur", "Gembongan", "0812-3300-0201")
    chilli = stocked(app, cabai, "Cabai rawit merah", 45000, "10")
    lead = actor(app, name="Pak Suyono")
    lead.headers = bearer(make_token(app, cabai.user))
    sold(client, actor(app, name="Bu Endang"), lead, (chilli, "2"))
    waiting = seller(app, "KUB Jahit Mawar", "Sumberejo", "0812-3300-0501", bank=BANK, verified=False)
    admin = make_user(app, email="admin@ponggok.test", name="Bu Yuli", admin=True)
    return admin, cabai.group, waiting.group


def test_the_admin_verifies_a_waiting_group_and_reads_the_district_overview(app, live_server, browser, district):
    admin, _cabai, waiting = district
    server = live_server
    with phone(browser) as page:

        def looks_right():
            assert_fits_and_speaks_indonesian(page, NAMES)

        # She logs in and lands on her home: the district's totals and the group that waits.
        log_in(page, server, admin.email)
        assert page.url == f"{server}/me/groups"
        looks_right()
        totals = page.inner_text("#district")
        assert "Rp90.000" in totals, totals
        waits = page.locator("#waiting ul.todo a")
        assert said(waits.first).startswith(f"1 {indonesian('group waits for verification')}")
        assert waits.filter(has_text="KUB Jahit Mawar").count() == 1

        # She opens the waiting list, checks the bank account, and verifies the group.
        waits.first.click()
        page.wait_for_url(f"{server}/admin/groups/waiting")
        looks_right()
        card = page.locator(f"#g{waiting.id}")
        for shown in BANK:
            assert shown in card.inner_text()
        verify = indonesian("Verify %(name)s") % {"name": "KUB Jahit Mawar"}
        card.locator(f"button:has-text('{verify}')").click()
        page.wait_for_selector(".flash.success")
        looks_right()
        assert fetch(app, Group, waiting.id).verified
        assert indonesian("No group is waiting for verification.") in page.inner_text("main")

        # Her home now has no group waiting; the district overview shows the sales by village and by month.
        page.click("header a.brand")
        page.wait_for_url(f"{server}/me/groups")
        looks_right()
        assert said(page.locator("#waiting ul.todo a").first).startswith("0 ")
        page.click(f"#district a:has-text('{indonesian('The whole overview: by village and by month')}')")
        page.wait_for_url(re.compile(rf"{re.escape(server)}/admin/overview.*"))
        looks_right()
        overview = page.inner_text("main")
        assert "Gembongan" in overview and "Rp90.000" in overview, overview


def said(locator) -> str:
    """The text of `locator` as one line."""
    return " ".join(locator.inner_text().split())
