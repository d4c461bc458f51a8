"""Members' money stays under the ceiling: a payout, a saving or an SHU surplus above MAX_AMOUNT is a 422 naming
its field; a pool or a group fund that grew above it is shared up to it, never a 500, with balanced books."""

from datetime import timedelta

import pytest

from core.money import MAX_AMOUNT, MAX_UNIT_PRICE
from revenue.services import settlements
from tests.books import assert_books_balance
from tests.factories import assert_error
from tests.market import API, contribute, create_product, sold
from tests.revenue.settlement_world import (
    joined_long_ago,
    kub,  # noqa: F401 (fixture)
    settle,
)
from tests.revenue.test_payouts import money_rows, owed  # noqa: F401 (fixture)
from tests.revenue.test_shu import PLAN, YEAR, accept, draft, year_ended  # noqa: F401 (fixture)

ABOVE = [MAX_AMOUNT + 1, str(MAX_AMOUNT + 1), "Rp1.000.000.000.001", 10**15]


def english(who) -> dict:
    return {**who.headers, "Accept-Language": "en"}


@pytest.mark.parametrize("amount", ABOVE)
def test_a_payout_saving_or_surplus_above_the_ceiling_is_422_and_changes_nothing(app, client, owed, amount):
    m, group = owed, owed.tani.id
    before = money_rows(app)
    refused = {
        "amount": [
            client.post(
                f"{API}/groups/{group}/payouts",
                headers=english(m.lead),
                json={"member_id": m.siti.id, "amount": amount, "method": "cash"},
            ),
            client.post(
                f"{API}/groups/{group}/savings",
                headers=english(m.treasurer),
                json={"member_id": m.siti.id, "amount": amount, "kind": "deposit"},
            ),
        ],
        "surplus": [
            client.post(f"{API}/groups/{group}/shu", headers=english(m.lead), json={**PLAN, "surplus": amount})
        ],
    }
    for field, responses in refused.items():
        for response in responses:
            assert assert_error(response, 422, field)["errors"][field] == ["At most Rp1.000.000.000.000."]
    assert money_rows(app) == before


def sold_at_the_ceiling(client, group, lead, member, buyer, orders: int) -> None:
    """`orders` orders of Rp1.000.000.000.000 each (1000 pieces at the unit ceiling), completed with cash."""
    gold = create_product(
        client, group, lead.headers, name="Kain emas", kind="garment", unit="pcs", unit_price=MAX_UNIT_PRICE
    )["variants"][0]["id"]
    contribute(client, group, lead.headers, gold, member, str(1000 * orders))
    for _ in range(orders):
        assert sold(client, buyer, lead, (gold, "1000"))["total"] == MAX_AMOUNT


def test_a_pool_above_the_ceiling_is_shared_up_to_it_and_the_rest_waits_for_the_next_settlement(app, client, kub):
    k, group = kub, kub.group
    today = settlements.today_wib()
    joined_long_ago(app, k.ratna.member_id, k.sri.member_id, k.yuni.member_id, k.wati.id, k.ani.id)
    sold_at_the_ceiling(client, group, k.ratna, k.wati, k.buyer, 2)  # the pool: 2 x 90 % = Rp1.800.000.000.000

    response = settle(client, group, k.ratna, today - timedelta(days=7), today - timedelta(days=1))

    assert response.status_code == 201, response.json
    assert response.json["pool_amount"] == MAX_AMOUNT
    balances = client.get(f"{API}/groups/{group.id}/balances", headers=k.ratna.headers).json
    assert balances["pool"] == 18 * 10**11 - MAX_AMOUNT
    assert_books_balance(app)


def test_a_surplus_left_to_default_shares_at_most_the_ceiling(app, client, market, year_ended):
    m = market
    policy = client.put(
        f"{API}/groups/{m.tani.id}/split-policy",
        headers=m.lead.headers,
        json={"method": "contribution", "group_fund_percent": "100"},
    )
    assert policy.status_code == 200, policy.json
    sold_at_the_ceiling(client, m.tani, m.lead, m.siti, m.buyer, 2)  # the fund: Rp2.000.000.000.000

    drafted = draft(client, m.tani.id, m.lead, **PLAN)

    assert drafted.status_code == 201, drafted.json
    assert drafted.json["surplus"] == MAX_AMOUNT
    response = accept(client, m.tani.id, m.lead, YEAR)
    assert response.status_code == 200, response.json
    assert_books_balance(app)
