"""The member's journey of record, on a phone in Indonesian: Siti and her sister Sumiati sew for one group and share
Siti's phone. Siti has an account on that phone number; Sumiati joins with the code the coordinator sent, chooses a
login name and logs in with it, and reads her earnings and her statement. Then Siti logs in with the phone number.
Each sees only her own figures."""

import re

import pytest
from sqlalchemy import select

from accounts.models import User
from core.extensions import db
from tests.e2e.journey import assert_fits_and_speaks_indonesian, indonesian, log_in, phone, seller, stocked
from tests.factories import PASSWORD, bearer, make_member, make_token, make_user
from tests.market import actor, sold

SITI_PHONE = "+6281233000102"
NAMES = ("Siti Aminah", "Sumiati", "KUB Jahit Melati", "Bu Endang", "Daster batik", "Tas anyaman", "Sumberejo")


@pytest.fixture
def household(app, db, client):
    """KUB Jahit Melati: Siti (with an account on her phone) sold two dresses, Sumiati (on Siti's phone, no
    account yet) sold one bag; the coordinator has made Sumiati an invitation code."""
    shop = seller(app, "KUB Jahit Melati", "Sumberejo", "0812-3300-0401")
    siti_user = make_user(app, email=None, phone=SITI_PHONE, name="Siti Aminah")
    siti = make_member(app, shop.group, name="Siti Aminah", phone=SITI_PHONE, user=siti_user)
    sumiati = make_member(app, shop.group, name="Sumiati", phone=SITI_PHONE)
    dress = stocked(app, shop, "Daster batik", 85000, "5", unit="pcs", member=siti)
    bag = stocked(app, shop, "Tas anyaman", 60000, "4", unit="pcs", member=sumiati)
    lead = actor(app, name="Bu Ratna")
    lead.headers = bearer(make_token(app, shop.user))
    buyer = actor(app, name="Bu Endang")
    sold(client, buyer, lead, (dress, "2"))
    sold(client, buyer, lead, (bag, "1"))
    invited = client.post(f"/api/v1/groups/{shop.group.id}/members/{sumiati.id}/invitation", headers=lead.headers)
    assert invited.status_code == 201, invited.json
    return shop.group, siti, sumiati, invited.json["code"]


def test_two_members_on_one_phone_each_read_only_their_own_earnings(app, live_server, browser, household):
    group, siti, sumiati, code = household
    server = live_server
    with phone(browser) as page:

        def looks_right():
            assert_fits_and_speaks_indonesian(page, NAMES)

        sumiati_joins_with_a_login_name(app, page, server, code, looks_right)
        log_out(page)
        log_in(page, server, "sumi.a", "sandi-sumi-1")
        reads_her_figures(
            page, server, group, sumiati, ("Tas anyaman", "Rp60.000"), ("Daster batik", "Rp170.000"), looks_right
        )
        log_out(page)
        log_in(page, server, "0812-3300-0102", PASSWORD)
        reads_her_figures(
            page, server, group, siti, ("Daster batik", "Rp170.000"), ("Tas anyaman", "Rp60.000"), looks_right
        )


def sumiati_joins_with_a_login_name(app, page, server, code, looks_right):
    """The phone already has Siti's account: the join page asks Sumiati for a login name of her own."""
    page.goto(f"{server}/join?code={code}")
    looks_right()
    page.fill("input[name=password]", "sandi-sumi-1")
    page.click(f"main button:has-text('{indonesian('Join')}')")
    page.wait_for_load_state()
    assert indonesian("Choose a login name for your own account on this shared phone.") in page.inner_text("main")
    looks_right()
    page.fill("input[name=username]", "Sumi.A")
    page.fill("input[name=password]", "sandi-sumi-1")
    page.click(f"main button:has-text('{indonesian('Join')}')")
    page.wait_for_selector(".flash.success")
    looks_right()
    with app.app_context():
        account = db.session.scalar(select(User).where(User.username == "sumi.a"))
        assert account is not None and (account.phone, account.email) == (None, None)


def log_out(page):
    page.click(f"header button:has-text('{indonesian('Log out')}')")
    page.wait_for_selector(".flash.success")


def reads_her_figures(page, server, group, member, mine, not_mine, looks):
    """Her earnings page and her statement show her product and what it earned her, and nothing of the other's."""
    page.click(f"header >> text={indonesian('My earnings')}")
    page.wait_for_url(f"{server}/me/earnings")
    looks()
    earnings = page.inner_text("main")
    assert all(m in earnings for m in mine) and not any(n in earnings for n in not_mine), earnings
    page.click("header a.brand")  # her home lists her group
    page.wait_for_url(f"{server}/me/groups")
    looks()
    page.click(f"main a:has-text('{group.name}')")
    page.wait_for_url(f"{server}/groups/{group.id}")
    looks()
    page.click(f"main a:has-text('{indonesian('My statement')}')")
    page.wait_for_url(re.compile(rf".*/groups/{group.id}/members/{member.id}/statement.*"))
    looks()
    statement = page.inner_text("main")
    assert all(m in statement for m in mine) and not any(n in statement for n in not_mine), statement
    other = member.id + 1 if member.name == "Siti Aminah" else member.id - 1
    refused = page.request.get(f"{server}/groups/{group.id}/members/{other}/statement")
    assert refused.status == 403
