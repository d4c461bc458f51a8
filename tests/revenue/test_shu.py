"""SHU: percentages that total 100, members' parts by transactions and savings, booked once.

The worked example is computed by hand below; the balances behind it are made
through the API (orders completed under a 10 % group fund policy, savings
recorded), exactly as a group would make them.
"""

from datetime import UTC, datetime
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update

from core import ledger
from core.extensions import db
from groups.models import Member
from revenue.models import ShuAllocation, ShuPlan
from revenue.services import shu
from tests.books import assert_books_balance
from tests.factories import assert_error, login, make_member, rows
from tests.live_server import post_at_once, server  # noqa: F401 (fixture)
from tests.market import API, sold
from tests.revenue.test_payouts import account, balance_of, money_rows, paid

YEAR = shu.years.current_year()
PLAN = {
    "year": YEAR,
    "reserve": 30,
    "services": "25.5",
    "capital": 20,
    "management": 10,
    "education": "7,25",
    "social": 7.25,
}


def draft(client, group_id, who, **body):
    return client.post(f"{API}/groups/{group_id}/shu", json=body, headers=who.headers)


def accept(client, group_id, who, year=YEAR):
    return client.post(f"{API}/groups/{group_id}/shu/{year}/accept", headers=who.headers)


def save(client, market, member, amount, kind="deposit"):
    response = client.post(
        f"{API}/groups/{market.tani.id}/savings",
        headers=market.treasurer.headers,
        json={"member_id": member.id, "amount": amount, "kind": kind},
    )
    assert response.status_code == 201, response.json


@pytest.fixture
def year_ended(monkeypatch):
    """It is next year already: this year's SHU may be accepted."""
    monkeypatch.setattr(shu.years, "current_year", lambda: YEAR + 1)


@pytest.fixture
def trading(app, client, market):
    """Poktan Sumber Rejeki's year, under a 10 % group fund policy (each member gets the floor of 90 %):

    - Siti: 2 kg cabai A (Rp90.000 -> 81.000) and 4 kg cabai B (Rp120.000 -> 108.000): transactions 189.000
    - Ani: 3 kg cabai A (Rp135.000 -> 121.500) and 3 kg tomat (Rp12.003 -> floor 10.802,7 = 10.802): 132.302
    - Budi: 1 kg cabai B (Rp30.000 -> 27.000): 27.000                         total transactions 348.302
    - the group fund: 9.000 + 13.500 + 1.201 + 15.000 = 38.701

    Savings at the end of the year: Siti 100.000, Ani 50.000 - 20.000 = 30.000, Budi 25.000 (total 155.000).
    """
    policy = client.put(
        f"{API}/groups/{market.tani.id}/split-policy",
        headers=market.lead.headers,
        json={"method": "contribution", "group_fund_percent": "10"},
    )
    assert policy.status_code == 200, policy.json
    budi = make_member(app, market.tani, name="Budi Santoso")
    lot = client.post(
        f"{API}/groups/{market.tani.id}/contributions",
        headers=market.lead.headers,
        json={"variant_id": market.cabai_b, "member_id": budi.id, "quantity": "2"},
    )
    assert lot.status_code == 201, lot.json
    sold(client, market.buyer, market.lead, (market.cabai_a, "2"))
    sold(client, market.buyer, market.lead, (market.cabai_a, "3"))
    sold(client, market.buyer, market.lead, (market.tomat, "3"))
    sold(client, market.buyer, market.lead, (market.cabai_b, "5"))
    save(client, market, market.siti, 100000)
    save(client, market, market.ani, 50000)
    save(client, market, market.ani, 20000, "withdrawal")
    save(client, market, budi, 25000)
    balances = client.get(f"{API}/groups/{market.tani.id}/balances", headers=market.lead.headers).json
    assert balances["group_fund"] == 38701
    market.budi = budi
    return market


# --- the worked example ---------------------------------------------------------------------------

# Surplus 38.701. Parts' exact amounts:
#   services 25,5 %  = 9.868,755    capital 20 %   = 7.740,2     management 10 % = 3.870,1
#   education 7,25 % = 2.805,8225   social 7,25 %  = 2.805,8225  reserve 30 %    = 11.610,3
# Services by transactions (of 348.302):
#   Siti 9.868,755 x 189.000/348.302 = 5.355,11 -> 5.355
#   Ani  9.868,755 x 132.302/348.302 = 3.748,63 -> 3.748
#   Budi 9.868,755 x  27.000/348.302 =   765,02 ->   765        members 9.868
# Capital by savings (of 155.000):
#   Siti 7.740,2 x 100.000/155.000 = 4.993,68 -> 4.993
#   Ani  7.740,2 x  30.000/155.000 = 1.498,10 -> 1.498
#   Budi 7.740,2 x  25.000/155.000 = 1.248,42 -> 1.248          members 7.739
# management 3.870, education 2.805, social 2.805 (floors); the reserve gets the rest:
#   38.701 - 9.868 - 7.739 - 3.870 - 2.805 - 2.805 = 11.614 (its own 11.610 and 4 left over from rounding)
EXPECTED_MEMBERS = {
    "siti": (189000, 100000, 5355, 4993),
    "ani": (132302, 30000, 3748, 1498),
    "budi": (27000, 25000, 765, 1248),
}
EXPECTED_PARTS = {
    "reserve": 11614,
    "services": 9868,
    "capital": 7739,
    "management": 3870,
    "education": 2805,
    "social": 2805,
}


def by_name(market, report) -> dict:
    ids = {market.siti.id: "siti", market.ani.id: "ani", market.budi.id: "budi"}
    return {
        ids[m["member_id"]]: (m["transactions"], m["savings"], m["services_part"], m["capital_part"])
        for m in report["members"]
    }


def test_the_worked_example_gives_each_member_the_hand_computed_parts(app, client, trading):
    response = draft(client, trading.tani.id, trading.treasurer, **PLAN)

    assert response.status_code == 201, response.json
    report = response.json
    assert (report["year"], report["status"], report["surplus"]) == (YEAR, "draft", 38701)
    assert report["percentages"] == {
        "reserve": "30",
        "services": "25.5",
        "capital": "20",
        "management": "10",
        "education": "7.25",
        "social": "7.25",
    }
    assert by_name(trading, report) == EXPECTED_MEMBERS
    assert report["allocation"] == EXPECTED_PARTS
    assert sum(report["allocation"].values()) == report["surplus"] == 38701
    assert report["reserve_remainder"] == 4
    assert report["totals"] == {"transactions": 348302, "savings": 155000}
    assert [m["total"] for m in report["members"]] == [5355 + 4993, 3748 + 1498, 765 + 1248]
    assert report["keeps_savings"] and not report["capital_to_reserve"] and not report["services_to_reserve"]
    assert report["group_fund"] == {"at_year_end": 38701, "now": 38701, "available": 38701}
    assert report["entry_id"] is None and report["accepted_at"] is None
    assert client.get(f"{API}/groups/{trading.tani.id}/shu/{YEAR}", headers=trading.lead.headers).json == report
    assert account(app, trading.tani.id, "group_fund") == -38701  # a draft books nothing


def test_accepting_books_the_shu_once(app, client, trading, year_ended):
    assert draft(client, trading.tani.id, trading.lead, **PLAN).status_code == 201
    before = {
        member: balance_of(client, trading, getattr(trading, member).id)["balance"] for member in EXPECTED_MEMBERS
    }

    response = accept(client, trading.tani.id, trading.lead)

    assert response.status_code == 200, response.json
    report = response.json
    assert report["status"] == "accepted" and report["accepted_at"] and report["entry_id"]
    assert by_name(trading, report) == EXPECTED_MEMBERS
    assert report["allocation"] == EXPECTED_PARTS
    for member, (_t, _s, services, capital) in EXPECTED_MEMBERS.items():
        row = balance_of(client, trading, getattr(trading, member).id)
        assert row["balance"] == before[member] + services + capital
    tani = trading.tani.id
    assert account(app, tani, "group_fund") == 0
    assert {part: -account(app, tani, f"shu_{part}") for part in shu.GROUP_PARTS} == {
        "reserve": 11614,
        "management": 3870,
        "education": 2805,
        "social": 2805,
    }
    with app.app_context():
        entry = db.session.get(ledger.JournalEntry, report["entry_id"])
        assert (entry.kind, entry.source) == ("shu", "shu_plan")
        assert sum(p.amount for p in entry.postings) == 0
        assert [p.amount for p in entry.postings if p.account.key == "group_fund"] == [38701]
    allocations = rows(app, ShuAllocation)
    assert sorted((a["services_part"], a["capital_part"]) for a in allocations) == [
        (765, 1248),
        (3748, 1498),
        (5355, 4993),
    ]
    before_again = money_rows(app) | {"plans": rows(app, ShuPlan)}

    assert_error(accept(client, tani, trading.lead), 409)
    assert_error(draft(client, tani, trading.lead, **PLAN), 409, "year")
    assert money_rows(app) | {"plans": rows(app, ShuPlan)} == before_again
    assert client.get(f"{API}/groups/{tani}/shu/{YEAR}", headers=trading.lead.headers).json == report
    assert_books_balance(app)

    # The parts are the members' to be paid out, like their earnings.
    siti = balance_of(client, trading, trading.siti.id)["balance"]
    assert (
        paid(client, tani, trading.treasurer, {"member_id": trading.siti.id, "amount": siti, "method": "cash"})[
            "balance"
        ]
        == 0
    )
    assert_books_balance(app)


def test_two_accepts_at_once_book_it_once(app, server, trading, year_ended):
    client = app.test_client()
    assert draft(client, trading.tani.id, trading.lead, **PLAN).status_code == 201

    accept_path = f"{API}/groups/{trading.tani.id}/shu/{YEAR}/accept"
    results = post_at_once(server, [(accept_path, trading.lead.headers, {}, None)] * 4)

    assert sorted(status for status, _, _ in results) == [200, 409, 409, 409], results
    assert account(app, trading.tani.id, "group_fund") == 0
    assert len(rows(app, ShuAllocation)) == 3
    assert_books_balance(app)


def test_an_accept_and_payouts_at_once_neither_deadlock_nor_overdraw(app, server, trading, year_ended):
    client = app.test_client()
    assert draft(client, trading.tani.id, trading.lead, **PLAN).status_code == 201
    siti = balance_of(client, trading, trading.siti.id)["balance"]  # 189.000 before the SHU
    requests = [(f"{API}/groups/{trading.tani.id}/shu/{YEAR}/accept", trading.lead.headers, {}, None)]
    requests += [
        (
            f"{API}/groups/{trading.tani.id}/payouts",
            trading.treasurer.headers,
            {"member_id": trading.siti.id, "amount": 50000, "method": "cash"},
            None,
        )
    ] * 5

    results = post_at_once(server, requests)

    assert results[0][0] == 200, results[0]
    statuses = [status for status, _, _ in results[1:]]
    assert set(statuses) <= {201, 409} and statuses.count(201) in (3, 4), results
    after = balance_of(client, trading, trading.siti.id)["balance"]
    assert after == siti + 5355 + 4993 - 50000 * statuses.count(201) >= 0
    assert_books_balance(app)


def test_pool_shares_count_in_the_year_their_settlement_period_ends(app, client, market):
    """A December period settled after the year ended: its pool shares are December's transactions and what
    it gave the group fund is the fund's at the end of December, as the statements count them."""
    last_year, tani = YEAR - 1, market.tani.id
    policy = client.put(
        f"{API}/groups/{tani}/split-policy",
        headers=market.lead.headers,
        json={"method": "equal", "group_fund_percent": "10"},
    )
    assert policy.status_code == 200, policy.json
    with app.app_context():  # everyone was in the group in December
        db.session.execute(
            update(Member).where(Member.group_id == tani).values(joined_at=datetime(last_year - 1, 6, 1, tzinfo=UTC))
        )
        db.session.commit()
        members = db.session.scalars(select(Member.id).where(Member.group_id == tani)).all()
    sold(client, market.buyer, market.lead, (market.tomat, "2"))  # Rp8.002: the fund 801, the pool 7.201
    unsettled = draft(client, tani, market.treasurer, **PLAN).json
    assert any("Rp7.201" in note for note in unsettled["notes"]), unsettled["notes"]  # settle December first
    settled = client.post(
        f"{API}/groups/{tani}/settlements",
        headers=market.lead.headers,
        json={"period_start": f"{last_year}-12-01", "period_end": f"{last_year}-12-31"},
    )
    assert settled.status_code == 201, settled.json
    shares = {st["member_id"]: st["pool_share"] for st in settled.json["statements"] if st["pool_share"]}
    left_to_fund = 7201 - sum(shares.values())
    assert set(shares) == set(members) and left_to_fund > 0

    december = draft(client, tani, market.treasurer, **{**PLAN, "year": last_year})
    assert december.status_code == 201, december.json
    report = december.json
    assert {m["member_id"]: m["transactions"] for m in report["members"]} == shares
    assert report["group_fund"] == {"at_year_end": left_to_fund, "now": 801 + left_to_fund, "available": left_to_fund}
    assert report["surplus"] == left_to_fund
    for member_id, share in shares.items():  # the same figure as the member's December statement
        live = client.get(
            f"{API}/groups/{tani}/members/{member_id}/statement",
            headers=market.lead.headers,
            query_string={"from": f"{last_year}-12-01", "to": f"{last_year}-12-31"},
        )
        assert live.status_code == 200, live.json
        assert live.json["pool_share"] == share

    this_year = draft(client, tani, market.treasurer, **PLAN).json
    assert this_year["members"] == [] and this_year["group_fund"]["at_year_end"] == 801 + left_to_fund
    assert not any("pool" in note.lower() for note in this_year["notes"] + report["notes"])


def test_a_year_is_accepted_only_after_it_ends(app, client, trading):
    assert draft(client, trading.tani.id, trading.lead, **PLAN).status_code == 201
    before = money_rows(app)
    assert_error(accept(client, trading.tani.id, trading.lead), 409, "year")
    assert money_rows(app) == before


# --- drafts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, field",
    [
        ({"reserve": 31}, "percentages"),
        ({"social": "7.24"}, "percentages"),
        ({"reserve": 0, "services": 0, "capital": 0, "management": 0, "education": 0, "social": 0}, "percentages"),
        ({"reserve": "-5", "services": "60.5"}, "reserve"),
        ({"reserve": "30.001"}, "reserve"),
        ({"services": 101}, "services"),
        ({"capital": None}, "capital"),
        ({"management": "ten"}, "management"),
        ({"education": True}, "education"),
        ({"year": 1999}, "year"),
        ({"year": YEAR + 1}, "year"),
        ({"year": "20x5"}, "year"),
        ({"year": None}, "year"),
        ({"surplus": -1}, "surplus"),
        ({"surplus": 100.5}, "surplus"),
        ({"surplus": "12,5"}, "surplus"),
    ],
)
def test_a_bad_plan_is_422_and_writes_nothing(app, client, trading, change, field):
    before = rows(app, ShuPlan)
    assert_error(draft(client, trading.tani.id, trading.lead, **{**PLAN, **change}), 422, field)
    assert rows(app, ShuPlan) == before == []


def test_percentages_must_total_exactly_100(app, client, trading):
    body = assert_error(
        draft(client, trading.tani.id, trading.lead, **{**PLAN, "reserve": "29.99"}), 422, "percentages"
    )
    assert "99.99" in body["errors"]["percentages"][0]
    assert rows(app, ShuPlan) == []


def test_a_surplus_may_be_given_but_never_above_the_fund(app, client, trading):
    before = rows(app, ShuPlan)
    body = assert_error(draft(client, trading.tani.id, trading.lead, **PLAN, surplus=38702), 409, "surplus")
    assert "Rp38.701" in body["errors"]["surplus"][0]
    assert rows(app, ShuPlan) == before

    response = draft(client, trading.tani.id, trading.lead, **PLAN, surplus="Rp10.000")
    assert response.status_code == 201, response.json
    report = response.json
    assert report["surplus"] == 10000 and sum(report["allocation"].values()) == 10000
    assert report["allocation"]["management"] == 1000


def test_drafting_a_year_again_replaces_its_draft(app, client, trading):
    assert draft(client, trading.tani.id, trading.lead, **PLAN).status_code == 201

    again = draft(
        client, trading.tani.id, trading.treasurer, **{**PLAN, "reserve": 50, "services": "5.5", "surplus": 20000}
    )

    assert again.status_code == 200, again.json
    assert (again.json["surplus"], again.json["percentages"]["reserve"]) == (20000, "50")
    [plan] = rows(app, ShuPlan)
    assert (plan["reserve_bp"], plan["services_bp"], plan["surplus"]) == (5000, 550, 20000)
    assert plan["created_by_id"] == trading.treasurer.id
    listed = client.get(f"{API}/groups/{trading.tani.id}/shu", headers=trading.lead.headers).json
    assert listed == [{"year": YEAR, "status": "draft", "surplus": 20000, "accepted_at": None}]


def test_without_savings_the_capital_part_stays_with_the_reserve(app, client, market):
    client.put(
        f"{API}/groups/{market.tani.id}/split-policy",
        headers=market.lead.headers,
        json={"method": "contribution", "group_fund_percent": "10"},
    )
    sold(client, market.buyer, market.lead, (market.cabai_a, "2"))  # Siti 81.000, the fund 9.000

    report = draft(client, market.tani.id, market.lead, **PLAN).json

    assert report["surplus"] == 9000
    assert not report["keeps_savings"] and report["capital_to_reserve"]
    assert any("savings" in note.lower() or "simpanan" in note.lower() for note in report["notes"])
    # services 25,5 % of 9.000 = 2.295, all Siti's; management 900; education and social 652,5 -> 652 each;
    # the reserve: its own 2.700, capital's 1.800 and the 2 halves left over = 4.501
    assert report["allocation"] == {
        "reserve": 4501,
        "services": 2295,
        "capital": 0,
        "management": 900,
        "education": 652,
        "social": 652,
    }
    assert [(m["member_id"], m["services_part"], m["capital_part"]) for m in report["members"]] == [
        (market.siti.id, 2295, 0)
    ]


def test_nothing_to_share_cannot_be_accepted(app, client, market, year_ended):
    report = draft(client, market.tani.id, market.lead, **PLAN).json
    assert report["surplus"] == 0 and report["members"] == [] and sum(report["allocation"].values()) == 0
    assert_error(accept(client, market.tani.id, market.lead), 409, "surplus")


# --- who may ------------------------------------------------------------------------------------


def test_only_officers_draft_and_only_the_coordinator_accepts(app, client, trading, year_ended):
    tani = trading.tani.id
    assert_error(draft(client, tani, trading.plain, **PLAN), 403)
    assert_error(draft(client, tani, trading.jahit_lead, **PLAN), 403)
    assert_error(client.post(f"{API}/groups/{tani}/shu", json=PLAN), 401)
    assert draft(client, tani, trading.treasurer, **PLAN).status_code == 201
    assert_error(client.get(f"{API}/groups/{tani}/shu/{YEAR}", headers=trading.plain.headers), 404)
    assert_error(client.get(f"{API}/groups/{tani}/shu/{YEAR}", headers=trading.jahit_lead.headers), 403)
    assert_error(client.get(f"{API}/groups/{tani}/shu/{YEAR - 1}", headers=trading.lead.headers), 404)
    assert client.get(f"{API}/groups/{tani}/shu/{YEAR}", headers=trading.admin.headers).status_code == 200

    before = money_rows(app)
    assert_error(accept(client, tani, trading.treasurer), 403)
    assert_error(accept(client, tani, trading.jahit_lead), 403)
    assert_error(accept(client, tani, trading.admin), 403)
    assert money_rows(app) == before

    assert accept(client, tani, trading.lead).status_code == 200
    seen = client.get(f"{API}/groups/{tani}/shu/{YEAR}", headers=trading.plain.headers)
    assert seen.status_code == 200 and seen.json["status"] == "accepted"


# --- the arithmetic, for any numbers --------------------------------------------------------------


@st.composite
def plans(draw):
    cuts = sorted(draw(st.lists(st.integers(0, 10000), min_size=5, max_size=5)))
    bounds = [0, *cuts, 10000]
    return dict(zip(shu.PARTS, (b - a for a, b in zip(bounds, bounds[1:]))))


weights = st.dictionaries(st.integers(1, 50), st.integers(0, 10**9), max_size=8)


@given(
    surplus=st.integers(0, 10**12), basis_points=plans(), transactions=weights, savings=st.one_of(st.none(), weights)
)
def test_the_parts_always_sum_to_the_surplus_and_members_get_the_floor_of_their_share(
    surplus, basis_points, transactions, savings
):
    allocation = shu.allocate(surplus, basis_points, transactions, savings)

    assert sum(allocation.parts.values()) == surplus
    assert all(part >= 0 for part in allocation.parts.values())
    total_t = sum(t for t in transactions.values() if t > 0)
    total_s = sum(s for s in (savings or {}).values() if s > 0)
    for member in allocation.members:
        exact_services = (
            Fraction(surplus * basis_points["services"], 10000) * member.transactions / total_t if total_t else 0
        )
        exact_capital = Fraction(surplus * basis_points["capital"], 10000) * member.savings / total_s if total_s else 0
        assert member.services_part == int(exact_services // 1)
        assert member.capital_part == int(exact_capital // 1)
    assert allocation.parts["services"] == sum(m.services_part for m in allocation.members)
    assert allocation.parts["capital"] == sum(m.capital_part for m in allocation.members)
    assert 0 <= allocation.reserve_remainder
    if savings is None and basis_points["capital"]:
        assert allocation.capital_to_reserve and allocation.parts["capital"] == 0


# --- pages ----------------------------------------------------------------------------------------


def test_the_shu_pages_draft_show_and_accept(app, client, trading, year_ended):
    login(client, trading.lead.user)
    form_page = client.get(f"/groups/{trading.tani.id}/shu")
    assert form_page.status_code == 200

    bad = client.post(
        f"/groups/{trading.tani.id}/shu", data={**{k: str(v) for k, v in PLAN.items()}, "reserve": "31", "surplus": ""}
    )
    assert bad.status_code == 422 and rows(app, ShuPlan) == []
    sent = client.post(f"/groups/{trading.tani.id}/shu", data={**{k: str(v) for k, v in PLAN.items()}, "surplus": ""})
    assert sent.status_code == 302 and sent.headers["Location"].endswith(f"/shu/{YEAR}")

    page = client.get(f"/groups/{trading.tani.id}/shu/{YEAR}").get_data(as_text=True)
    for amount in ("Rp38.701", "Rp11.614", "Rp5.355", "Rp4.993", "Rp1.248"):
        assert amount in page
    assert f"/shu/{YEAR}/accept" in page

    accepted = client.post(f"/groups/{trading.tani.id}/shu/{YEAR}/accept")
    assert accepted.status_code == 302
    assert rows(app, ShuPlan)[0]["accepted_at"] is not None
    again = client.post(f"/groups/{trading.tani.id}/shu/{YEAR}/accept")
    assert again.status_code == 302 and len(rows(app, ShuAllocation)) == 3
    assert f"/shu/{YEAR}/accept" not in client.get(f"/groups/{trading.tani.id}/shu/{YEAR}").get_data(as_text=True)
    assert_books_balance(app)


def test_members_see_an_accepted_shu_page_but_not_a_draft(app, client, trading, year_ended):
    assert draft(client, trading.tani.id, trading.lead, **PLAN).status_code == 201
    login(client, trading.plain.user)
    assert client.get(f"/groups/{trading.tani.id}/shu/{YEAR}").status_code == 404
    assert accept(app.test_client(), trading.tani.id, trading.lead).status_code == 200
    assert client.get(f"/groups/{trading.tani.id}/shu/{YEAR}").status_code == 200


def test_a_refunded_sale_does_not_count_as_a_transaction(app, client, trading):
    orders = client.get(f"{API}/orders", query_string={"group_id": trading.tani.id}, headers=trading.lead.headers).json[
        "items"
    ]
    [order_id] = [o["id"] for o in orders if o["total"] == 12003]  # Ani's 3 kg tomat: Rp10.802 credited to her
    refunded = client.post(
        f"{API}/orders/{order_id}/refunds",
        headers=trading.lead.headers,
        json={"amount": 12003, "reason": "Tomat busuk", "method": "cash"},
    )
    assert refunded.status_code == 201, refunded.json

    report = draft(client, trading.tani.id, trading.lead, **PLAN).json

    members = by_name(trading, report)
    assert members["ani"][0] == 132302 - 10802 and members["siti"][0] == 189000 and members["budi"][0] == 27000
    assert report["totals"]["transactions"] == 348302 - 10802
