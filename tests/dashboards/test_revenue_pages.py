"""Revenue pages: a member's own earnings, a group's revenue dashboard and split policy, the district overview.

The data is made through the API as people make it: a coordinator records what
members bring, a buyer orders, the coordinator confirms, packs and hands over
against cash (which accrues the members' earnings), and refunds.
"""

import re
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from babel.dates import format_date
from sqlalchemy import event

from accounts.models import User
from core import ledger
from core.extensions import db
from core.formatting import WIB
from dashboards import reports
from groups.models import Group
from marketplace.models import OrderEvent, OrderStatus
from revenue.models import Payout, PayoutMethod, SplitPolicy
from revenue.services.accrual import member_account
from tests.factories import count, make_member
from tests.market import API, body_of, contribute, create_product, moved, placed
from tests.marketplace.test_marketplace_pages import page_login
from tests.pages import html, t

TERONG_2KG = 15000  # two kilos of aubergine at Rp7.500
CABAI_1KG = 45000
DASTER = 85000
REFUND = 5000
PAYOUT = 10000


def this_month(locale: str = "id") -> str:
    """This WIB month as the tables name it: "November 2026"."""
    return format_date(reports.recent_months(1)[0], "LLLL y", locale=locale)


def complete_order(client, buyer, lead, *lines) -> int:
    """Buyer orders, the coordinator confirms, packs and hands over against cash: the order is completed."""
    [order] = placed(client, buyer, body_of(*lines))["orders"]
    moved(client, order["id"], "confirm", lead)
    moved(client, order["id"], "ready", lead)
    moved(client, order["id"], "complete", lead, payment={"amount": order["total"]})
    return order["id"]


def refund(client, order_id, who, amount) -> None:
    response = client.post(
        f"{API}/orders/{order_id}/refunds",
        headers=who.headers,
        json={"amount": amount, "reason": "Sebagian busuk", "method": "cash"},
    )
    assert response.status_code == 201, response.json


def pay_out(app, group_id, member_id, amount) -> None:
    """The group hands a member cash from their balance: a journal entry and its Payout row."""
    with app.app_context():
        entry = ledger.post(
            group_id,
            "payout",
            {member_account(member_id): amount, ledger.CASH: -amount},
            source="payout",
            memo="cash handed over",
        )
        db.session.flush()
        db.session.add(
            Payout(
                group_id=group_id,
                member_id=member_id,
                amount=amount,
                method=PayoutMethod.cash,
                reference="kuitansi 12",
                entry_id=entry.id,
            )
        )
        db.session.commit()


@pytest.fixture
def sales(app, client, market):
    """Pak Slamet's farmer group and Bu Ratna's sewing group (in another village) with completed orders.

    The plain member (who has an account) gave 5 kg of aubergine; 2 kg sold for Rp15.000. Siti's 1 kg of
    chilli sold for Rp45.000, then Rp5.000 of it was refunded. Wati's dress sold for Rp85.000. No split
    policy is set: every sale goes by contribution, 0 % to the group fund. The plain member was paid Rp10.000.
    """
    with app.app_context():
        db.session.get(Group, market.jahit.id).village = "Gembongan"
        db.session.commit()
    terong = create_product(
        client, market.tani, market.lead.headers, name="Terong ungu", kind="produce", unit="kg", unit_price=7500
    )["variants"][0]["id"]
    plain = SimpleNamespace(id=market.plain.member_id)
    contribute(client, market.tani, market.lead.headers, terong, plain, "5")
    terong_order = complete_order(client, market.buyer, market.lead, (terong, "2"))
    cabai_order = complete_order(client, market.other_buyer, market.lead, (market.cabai_a, "1"))
    refund(client, cabai_order, market.lead, REFUND)
    daster_order = complete_order(client, market.buyer, market.jahit_lead, (market.daster, 1))
    pay_out(app, market.tani.id, market.plain.member_id, PAYOUT)
    return SimpleNamespace(terong=terong, terong_order=terong_order, cabai_order=cabai_order, daster_order=daster_order)


@pytest.fixture
def as_user(make_client):
    """A browser logged in as `who` (a person of the market fixture)."""

    def login(who):
        browser = make_client()
        page_login(browser, who.user)
        return browser

    return login


def cell(body: str, marker: str) -> str:
    """The text of the element carrying the attribute or id `marker`."""
    found = re.search(rf'(?:{marker}|id="{marker}")[^>]*>(.*?)</', body, re.S)
    assert found, marker
    return found.group(1).strip()


def table(body: str, table_id: str) -> list[list[str]]:
    """The table's rows as lists of cell texts (tags removed)."""
    found = re.search(rf'<table[^>]*id="{table_id}".*?</table>', body, re.S)
    assert found, table_id
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", found.group(0), re.S)
    return [
        [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
        for row in rows
    ]


# --- a member's own earnings ---------------------------------------------------------------------


def test_member_sees_what_they_gave_sold_earned_were_paid_and_are_owed(app, market, sales, as_user):
    browser = as_user(market.plain)

    response = browser.get("/me/earnings")

    assert response.status_code == 200
    body = html(response)
    # Contribution method, 0 % to the fund: the member earns the whole line total.
    assert cell(body, "data-earned") == "Rp15.000"
    assert cell(body, "data-paid") == "Rp10.000"
    assert cell(body, "data-owed") == "Rp5.000"
    assert "Poktan Sumber Rejeki" in body
    assert "Terong ungu" in body and "5 kg" in body and "3 kg" in body  # given, remaining
    assert f"#{sales.terong_order}" in body and "2 kg" in body
    assert "kuitansi 12" in body


def test_member_does_not_see_another_members_earnings(app, market, sales, as_user):
    make_member(app, market.jahit, name="Anggota juga di KUB", user=market.plain.user)  # in both groups

    body = html(as_user(market.plain).get("/me/earnings"))

    assert re.findall(r"data-earned>([^<]+)<", body) == ["Rp15.000", "Rp0"]
    assert "Poktan Sumber Rejeki" in body and "KUB Jahit Melati" in body
    assert "Cabai rawit" not in body and "Rp45.000" not in body and "Rp40.000" not in body
    assert "Siti Aminah" not in body and f"#{sales.cabai_order}" not in body
    assert "Daster batik" not in body and "Rp85.000" not in body and f"#{sales.daster_order}" not in body

    theirs = html(as_user(market.treasurer).get("/me/earnings"))
    assert "Terong ungu" not in theirs and "Rp15.000" not in theirs and "kuitansi 12" not in theirs
    assert cell(theirs, "data-earned") == "Rp0" and cell(theirs, "data-owed") == "Rp0"


def test_a_buyer_in_no_group_gets_an_empty_earnings_page_and_a_visitor_the_login(app, client, market, sales, as_user):
    body = html(as_user(market.buyer).get("/me/earnings"))
    assert "data-earned" not in body and "Terong ungu" not in body
    response = client.get("/me/earnings")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_earnings_link_is_in_the_header_for_logged_in_people(app, client, market, as_user):
    assert 'href="/me/earnings"' not in html(client.get("/"))
    assert 'href="/me/earnings"' in html(as_user(market.plain).get("/"))


# --- the coordinator's revenue dashboard ---------------------------------------------------------


def test_dashboard_shows_sales_by_month_as_a_chart_and_a_table(app, market, sales, as_user):
    response = as_user(market.lead).get(f"/groups/{market.tani.id}/revenue")

    assert response.status_code == 200
    body = html(response)
    net = TERONG_2KG + CABAI_1KG - REFUND  # completed orders less what was refunded
    chart = re.search(r"<svg[^>]*role=\"img\"[^>]*>(.*?)</svg>", body, re.S)
    assert chart and re.search(r"<title id=\"sales-chart-title\">[^<]+</title>", chart.group(1))
    assert re.search(rf"<rect [^>]*><title>{this_month()} · [^:<]+: Rp55.000</title></rect>", chart.group(1))
    assert chart.group(1).count("<rect") == 1  # one month with sales
    months = table(body, "sales-by-month")
    assert months[1] == [this_month(), "2", "Rp55.000"]  # newest first
    assert len(months) == 1 + 1 + 1 + 1  # header, the one month with sales, a note for the others, total
    assert months[2] == ["Bulan yang tidak tercantum tidak ada penjualan."]
    assert months[-1][1:] == ["2", "Rp55.000"]
    assert cell(body, "total-sales") == "Rp55.000" == f"Rp{net:,}".replace(",", ".")
    products = table(body, "top-products")
    assert [row[0] for row in products[1:]] == ["Cabai rawit", "Terong ungu"]
    assert products[1][1:] == ["1 kg", "Rp45.000"] and products[2][1:] == ["2 kg", "Rp15.000"]
    members = {row[0]: row[1:] for row in table(body, "member-earnings")[1:]}
    assert members[f"Anggota {market.plain.id}"] == ["Rp15.000", "Rp10.000", "Rp5.000"]
    assert members["Siti Aminah"] == ["Rp40.000", "Rp0", "Rp40.000"]
    assert cell(body, "group-fund") == "Rp0" and cell(body, "pool") == "Rp0"
    assert "Daster batik" not in body  # another group's sale


@pytest.mark.parametrize(
    "who, status",
    [("lead", 200), ("treasurer", 200), ("admin", 200), ("plain", 403), ("jahit_lead", 403), ("buyer", 403)],
)
def test_dashboard_is_for_the_groups_coordinator_treasurer_and_the_admin(app, market, as_user, who, status):
    response = as_user(getattr(market, who)).get(f"/groups/{market.tani.id}/revenue")
    assert response.status_code == status
    assert ('id="member-earnings"' in html(response)) == (status == 200)


def test_dashboard_of_an_unknown_group_is_404_and_asks_a_visitor_to_log_in(app, client, market, as_user):
    assert as_user(market.lead).get("/groups/999999/revenue").status_code == 404
    assert client.get(f"/groups/{market.tani.id}/revenue").status_code == 302


def completed_at(app, order_id, moment) -> None:
    """Move an order's completion to `moment` (as if it had been handed over then)."""
    with app.app_context():
        completion = db.session.query(OrderEvent).filter_by(order_id=order_id, to_status=OrderStatus.completed).one()
        completion.created_at = moment
        db.session.commit()


def test_months_are_counted_on_the_wib_clock(app, market, sales):
    """03.00 WIB on the 1st is still the day before in UTC, 23.00 WIB on the 31st is that day in UTC:
    each order counts in its WIB month."""
    earlier, later, now = reports.recent_months(3)
    midnight = datetime(later.year, later.month, 1, tzinfo=WIB)
    completed_at(app, sales.terong_order, (midnight + timedelta(hours=3)).astimezone(UTC))
    completed_at(app, sales.cabai_order, (midnight - timedelta(hours=1)).astimezone(UTC))
    with app.app_context():
        viewer = db.session.get(User, market.lead.id)
        months = {m.month: m for m in reports.group_revenue(viewer, db.session.get(Group, market.tani.id))["months"]}
    assert (months[earlier].sales, months[earlier].orders) == (CABAI_1KG - REFUND, 1)
    assert (months[later].sales, months[later].orders) == (TERONG_2KG, 1)
    assert (months[now].sales, months[now].orders) == (0, 0)


def test_recent_months_run_back_over_the_year_end():
    assert reports.recent_months(3, today=date(2026, 2, 14)) == [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]
    assert len(reports.recent_months()) == 12


# --- the split policy ----------------------------------------------------------------------------


def versions(app, group_id) -> list[tuple]:
    """The group's split policy versions as stored: (version, method, basis points, made by)."""
    with app.app_context():
        return [
            (p.version, p.method.value, p.fund_basis_points, p.created_by_id)
            for p in db.session.query(SplitPolicy).filter_by(group_id=group_id).order_by(SplitPolicy.version)
        ]


def test_coordinator_sets_a_new_policy_version_with_the_form(app, market, as_user):
    browser = as_user(market.lead)
    page = html(browser.get(f"/groups/{market.tani.id}/revenue"))
    assert f'action="/groups/{market.tani.id}/revenue/policy"' in page

    response = browser.post(
        f"/groups/{market.tani.id}/revenue/policy", data={"method": "equal", "group_fund_percent": "10,5"}
    )

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/groups/{market.tani.id}/revenue#policy")
    assert versions(app, market.tani.id) == [(1, "equal", 1050, market.lead.id)]
    browser.post(f"/groups/{market.tani.id}/revenue/policy", data={"method": "work", "group_fund_percent": "0"})
    assert versions(app, market.tani.id)[-1] == (2, "work", 0, market.lead.id)
    body = html(browser.get(f"/groups/{market.tani.id}/revenue"))
    history = table(body, "policy-history")
    assert [row[0] for row in history[1:]] == ["2", "1"]
    assert history[2][2] == "10,5%" and history[2][4] == "Pak Slamet"


@pytest.mark.parametrize("who", ["treasurer", "plain", "jahit_lead", "admin"])
def test_only_the_coordinator_may_post_a_new_policy(app, market, as_user, who):
    browser = as_user(getattr(market, who))
    if who == "treasurer":
        assert 'id="policy-form"' not in html(browser.get(f"/groups/{market.tani.id}/revenue"))

    response = browser.post(
        f"/groups/{market.tani.id}/revenue/policy", data={"method": "equal", "group_fund_percent": "20"}
    )

    assert response.status_code == 403
    assert count(app, SplitPolicy) == 0


@pytest.mark.parametrize(
    "data, field",
    [
        ({"method": "equal", "group_fund_percent": "150"}, "group_fund_percent"),
        ({"method": "equal", "group_fund_percent": "1,234"}, "group_fund_percent"),
        ({"method": "luck", "group_fund_percent": "5"}, "method"),
    ],
)
def test_a_bad_policy_is_shown_beside_the_form_and_changes_nothing(app, market, as_user, data, field):
    response = as_user(market.lead).post(f"/groups/{market.tani.id}/revenue/policy", data=data)

    assert response.status_code == 422
    assert 'class="field-error"' in html(response)
    assert count(app, SplitPolicy) == 0


# --- the district admin's overview ---------------------------------------------------------------


def test_overview_counts_members_who_earned_sales_and_money_paid_out(app, market, sales, as_user):
    response = as_user(market.admin).get("/admin/overview")

    assert response.status_code == 200
    body = html(response)
    total_sales = TERONG_2KG + CABAI_1KG - REFUND + DASTER
    assert cell(body, "total-sales") == "Rp140.000" == f"Rp{total_sales:,}".replace(",", ".")
    assert cell(body, "total-paid-out") == "Rp10.000"
    assert cell(body, "total-earned") == "Rp140.000"  # contribution, 0 %: members earn every rupiah
    earners = re.sub(r"<[^>]+>", " ", cell(body, "earners"))
    assert earners.split()[0] == "3"  # the plain member, Siti, Wati (Ani sold nothing)
    villages = {row[0]: row[1:] for row in table(body, "villages")[1:]}
    of = "%(earned)d of %(members)d"
    assert villages["Gembongan Sanankulon"] == ["1", t(app, of, earned=1, members=2), "Rp85.000", "Rp85.000", "Rp0"]
    assert villages["Sumberejo Sanankulon"] == [
        "1",
        t(app, of, earned=2, members=5),
        "Rp55.000",
        "Rp55.000",
        "Rp10.000",
    ]
    assert villages[t(app, "Total")] == ["2", t(app, of, earned=3, members=7), "Rp140.000", "Rp140.000", "Rp10.000"]
    months = table(body, "months")
    assert months[1] == [this_month(), "3", "Rp140.000", "Rp140.000", "Rp10.000"]
    assert months[-1] == [t(app, "Total"), "3", "Rp140.000", "Rp140.000", "Rp10.000"]
    assert "<svg" in body and 'id="overview-chart-title"' in body


def test_overview_is_for_the_district_admin_only(app, client, market, as_user):
    for who in ("lead", "treasurer", "plain", "buyer"):
        assert as_user(getattr(market, who)).get("/admin/overview").status_code == 403
    assert client.get("/admin/overview").status_code == 302
    assert 'href="/admin/overview"' in html(as_user(market.admin).get("/"))
    assert 'href="/admin/overview"' not in html(as_user(market.lead).get("/"))


# --- page size: the queries do not grow with the data ----------------------------------------


@contextmanager
def selects(app):
    """The SELECT statements run while the block runs."""
    seen = []

    def note(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_pages_run_as_many_queries_with_more_orders_members_and_payouts(app, client, market, sales, as_user):
    pages = [
        (as_user(market.plain), "/me/earnings"),
        (as_user(market.lead), f"/groups/{market.tani.id}/revenue"),
        (as_user(market.admin), "/admin/overview"),
    ]

    def counts() -> list[int]:
        found = []
        for browser, path in pages:
            with selects(app) as seen:
                assert browser.get(path).status_code == 200
            found.append(len(seen))
        return found

    before = counts()
    plain = SimpleNamespace(id=market.plain.member_id)
    contribute(client, market.tani, market.lead.headers, sales.terong, plain, "4")
    for _ in range(3):
        complete_order(client, market.buyer, market.lead, (sales.terong, "1"), (market.tomat, "1"))
    complete_order(client, market.other_buyer, market.lead, (market.cabai_a, "2"), (market.cabai_b, "1"))
    pay_out(app, market.tani.id, market.plain.member_id, 5000)
    pay_out(app, market.tani.id, market.ani.id, 4000)

    assert counts() == before


# --- languages -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/me/earnings", "/groups/{tani}/revenue", "/admin/overview"])
def test_pages_are_in_indonesian_by_default_and_in_english_when_chosen(app, market, sales, as_user, path):
    who = market.admin if path == "/admin/overview" else market.lead
    browser = as_user(who)
    path = path.format(tani=market.tani.id)

    indonesian = html(browser.get(path))
    assert '<html lang="id">' in indonesian
    assert t(app, "Log out") in indonesian and t(app, "Log out") != "Log out"  # the header, which every page has
    if path != "/me/earnings":
        assert this_month("id") in indonesian

    assert browser.get("/lang/en").status_code == 302
    english = html(browser.get(path))
    assert '<html lang="en">' in english
    assert ">Log out<" in english
    if path != "/me/earnings":
        assert this_month("en") in english
