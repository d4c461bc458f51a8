"""A statement's sale lines say their unit, it prints from a plain link, and settling names its days as people
read them."""

import re
from datetime import timedelta

from flask_babel import force_locale

from core.formatting import format_day
from revenue.services import settlements
from tests.market import sold
from tests.marketplace.test_marketplace_pages import page_login
from tests.pages import html, t
from tests.revenue.settlement_world import settle


def test_a_statements_sale_lines_show_the_quantity_with_its_unit(app, client, market):
    sold(client, market.buyer, market.lead, (market.cabai_b, "1.5"))
    page_login(client, market.lead.user)
    body = html(client.get(f"/groups/{market.tani.id}/members/{market.siti.id}/statement"))
    cell = re.search(rf'data-label="{t(app, "Quantity")}">([^<]*)</td>', body).group(1)
    assert cell == "1,5 kg"


def test_a_statement_prints_from_a_plain_link_without_javascript(app, client, market):
    sold(client, market.buyer, market.jahit_lead, (market.daster, 2))
    page_login(client, market.jahit_lead.user)
    path = f"/groups/{market.jahit.id}/members/{market.wati.id}/statement"
    body = html(client.get(path))
    assert "window.print" not in body and "onclick" not in body
    link = re.search(rf'<a class="button secondary" href="([^"]+)">{t(app, "Print")}</a>', body).group(1)
    assert link.startswith(path + "?") and "print=1" in link

    printed = client.get(link.replace("&amp;", "&"))
    layout = html(printed)
    assert printed.status_code == 200 and printed.mimetype == "text/html"
    assert "<header>" not in layout and "<form" not in layout and "<script" not in layout
    assert "Wati" in layout and "2 pcs" in layout
    stylesheet = re.search(r'<link rel="stylesheet" href="([^"]*/statement_print\.css[^"]*)"', layout).group(1)
    assert "@media print" in client.get(stylesheet).get_data(as_text=True)
    assert f'href="{path}?' in layout  # back to the statement, the same period
    assert t(app, "Back to the statement") in layout


def test_a_frozen_statement_prints_the_settled_period(app, client, market, monkeypatch):
    today = settlements.today_wib()
    sold(client, market.buyer, market.lead, (market.cabai_b, "1"))
    monkeypatch.setattr(settlements.periods, "today_wib", lambda: today + timedelta(days=1))
    settled = settle(client, market.tani, market.lead, today, today)
    assert settled.status_code == 201
    page_login(client, market.lead.user)
    path = f"/groups/{market.tani.id}/members/{market.siti.id}/statement?settlement_id={settled.json['id']}"
    link = re.search(r'href="([^"]*print=1[^"]*)"', html(client.get(path))).group(1).replace("&amp;", "&")
    assert f"settlement_id={settled.json['id']}" in link
    assert t(app, "frozen at settlement on %(date)s", date="")[:8] in html(client.get(link))


def test_settling_on_the_page_names_the_days_not_iso_dates(app, client, market, monkeypatch):
    today = settlements.today_wib()
    sold(client, market.buyer, market.lead, (market.cabai_b, "1"))
    monkeypatch.setattr(settlements.periods, "today_wib", lambda: today + timedelta(days=1))
    page_login(client, market.lead.user)
    form = {"period_start": today.isoformat(), "period_end": today.isoformat()}
    response = client.post(f"/groups/{market.tani.id}/settlements", data=form)
    assert response.status_code == 302
    body = html(client.get(response.headers["Location"]))
    with app.test_request_context("/"), force_locale("id"):
        day = format_day(today)
    assert t(app, "Settled %(start)s to %(end)s.", start=day, end=day) in body
    again = html(client.post(f"/groups/{market.tani.id}/settlements", data=form))
    assert today.isoformat() not in re.sub(r"<[^>]+>", "", again)
    assert day in again  # "the one settled from 6 Des 2026 to 6 Des 2026"
