"""The header shows each role its own links, and every link in it is a large enough tap target."""

import re

import pytest

from tests.market import body_of, placed
from tests.marketplace.test_marketplace_pages import page_login
from tests.pages import html

EARNINGS, CONTRIBUTIONS, OVERVIEW, GROUPS = "/me/earnings", "/me/contributions", "/admin/overview", "/me/groups"
CATALOG, CART, ORDERS = "/catalog", "/cart", "/orders"


def header_links(client) -> set[str]:
    """The header's links for the role, the brand aside (it leads home: brand_link)."""
    body = html(client.get("/"))
    header = body.split("<header>", 1)[1].split("</header>", 1)[0]
    return set(re.findall(r'<a (?![^>]*class="brand")[^>]*href="([^"?]+)', header))


def brand_link(client) -> str:
    return re.search(r'<a class="brand" href="([^"]+)"', html(client.get("/catalog"))).group(1)


def test_the_brand_leads_each_user_home(client, signed_in, market):
    """Home is the page logging in lands on for those who have one there (what waits, their groups); a visitor
    and a buyer go to the groups of the market."""
    assert brand_link(client) == "/"
    assert brand_link(signed_in(market.buyer)) == "/"
    for who in (market.admin, market.plain, market.lead, market.treasurer):
        assert brand_link(signed_in(who)) == GROUPS


@pytest.fixture
def signed_in(make_client, market):
    def login(who):
        browser = make_client()
        page_login(browser, who.user)
        return browser

    return login


def test_a_buyer_sees_the_catalog_the_cart_and_their_orders_and_nothing_of_members(signed_in, market):
    links = header_links(signed_in(market.buyer))
    assert {CATALOG, CART, ORDERS} <= links
    assert not links & {EARNINGS, CONTRIBUTIONS, OVERVIEW, GROUPS}


def test_the_district_admin_sees_the_overview_and_no_member_or_buyer_links(signed_in, market):
    links = header_links(signed_in(market.admin))
    assert OVERVIEW in links
    assert not links & {EARNINGS, CONTRIBUTIONS, GROUPS, CART, ORDERS}


def test_a_member_sees_her_contributions_and_earnings(signed_in, market):
    links = header_links(signed_in(market.plain))
    assert {CONTRIBUTIONS, EARNINGS, CATALOG} <= links
    assert not links & {OVERVIEW, GROUPS, CART, ORDERS}


def test_a_coordinator_sees_the_groups_and_the_orders_waiting(signed_in, market):
    links = header_links(signed_in(market.lead))
    assert {GROUPS, f"/groups/{market.tani.id}/orders", CATALOG} <= links
    assert not links & {EARNINGS, CONTRIBUTIONS, OVERVIEW}


def test_a_treasurer_sees_the_groups(signed_in, market):
    links = header_links(signed_in(market.treasurer))
    assert GROUPS in links and not links & {EARNINGS, OVERVIEW, f"/groups/{market.tani.id}/orders"}


def test_a_member_who_ordered_or_filled_a_cart_finds_them(client, signed_in, market):
    placed(client, market.plain, body_of((market.tomat, "1")))
    member = signed_in(market.plain)
    assert ORDERS in header_links(member) and CART not in header_links(member)
    member.post("/cart/add", data={"variant_id": str(market.tomat), "quantity": "1"})
    assert CART in header_links(member)


def test_a_visitor_sees_the_catalog_the_cart_and_how_to_sign_in(client, market):
    assert {CATALOG, CART, "/login", "/register"} <= header_links(client)


def test_header_links_and_the_language_switch_are_44_pixels_tall(client):
    body = html(client.get("/"))
    stylesheet = re.search(r'<link rel="stylesheet" href="([^"]*/site\.css[^"]*)"', body).group(1)
    css = client.get(stylesheet).get_data(as_text=True)
    rule = re.search(r"\.bar a,\.bar button\{([^}]*)\}", css).group(1)
    assert "min-height:44px" in rule and "min-width:44px" in rule
    header = body.split("<header>", 1)[1].split("</header>", 1)[0]
    assert re.search(r'<span class="lang">\s*<a [^>]*lang="en"[^>]*>EN</a>', header)
