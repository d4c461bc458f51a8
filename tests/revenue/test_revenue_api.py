"""The revenue split through the API: a worked example of a chili harvest sold in three orders, the split
policy's versions and validation, who may see and change what, and the books staying clean.

Every figure below is worked out by hand in the comments (whole rupiah; "," is the decimal comma).
"""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from revenue.models import SplitPolicy
from tests.books import assert_books_balance
from tests.factories import assert_error, count, make_group, make_member
from tests.market import API, actor, body_of, contribute, create_product, member_with_account, moved, placed, sold


@pytest.fixture
def farm(app, db, client):
    """A farmer group: Siti (who has an account) gave 2 kg of chili, then Ani 4 kg, then Siti 3 kg more;
    Budi gave 10 kg of tomatoes. Plus a treasurer, a plain member, a buyer and another group's coordinator."""
    lead = actor(app, name="Pak Slamet")
    tani = make_group(app, lead.user, name="Poktan Sumber Rejeki", kind="farmer")
    treasurer = member_with_account(app, tani, "treasurer")
    plain = member_with_account(app, tani, "member")
    siti = actor(app, name="Siti Aminah")
    siti.member_id = make_member(app, tani, name="Siti Aminah", user=siti.user).id
    ani = make_member(app, tani, name="Ani Lestari")
    budi = make_member(app, tani, name="Budi Santoso")
    other_lead = actor(app, name="Bu Ratna")
    jahit = make_group(app, other_lead.user, name="KUB Jahit Melati")

    cabai = create_product(client, tani, lead.headers, name="Cabai rawit", kind="produce", unit="kg", unit_price=45000)[
        "variants"
    ][0]["id"]
    tomat = create_product(client, tani, lead.headers, name="Tomat", kind="produce", unit="kg", unit_price=4001)[
        "variants"
    ][0]["id"]
    day = datetime.now(UTC) - timedelta(days=3)
    siti_member = SimpleNamespace(id=siti.member_id)
    lots = SimpleNamespace(
        siti_first=contribute(client, tani, lead.headers, cabai, siti_member, "2", day)["id"],
        ani=contribute(client, tani, lead.headers, cabai, ani, "4", day + timedelta(days=1))["id"],
        siti_second=contribute(client, tani, lead.headers, cabai, siti_member, "3", day + timedelta(days=2))["id"],
        budi=contribute(client, tani, lead.headers, tomat, budi, "10", day + timedelta(days=2))["id"],
    )
    return SimpleNamespace(
        lead=lead,
        tani=tani,
        treasurer=treasurer,
        plain=plain,
        siti=siti,
        ani=ani,
        budi=budi,
        other_lead=other_lead,
        jahit=jahit,
        cabai=cabai,
        tomat=tomat,
        lots=lots,
        buyer=actor(app, name="Bu Endang"),
        admin=actor(app, admin=True),
    )


def put_policy(client, farm, who=None, **body):
    return client.put(f"{API}/groups/{farm.tani.id}/split-policy", json=body, headers=(who or farm.lead).headers)


def get_policy(client, farm, who=None):
    return client.get(f"{API}/groups/{farm.tani.id}/split-policy", headers=(who or farm.lead).headers)


def balances(client, farm, who=None):
    return client.get(f"{API}/groups/{farm.tani.id}/balances", headers=(who or farm.lead).headers)


def refund(client, farm, order_id, amount):
    response = client.post(
        f"{API}/orders/{order_id}/refunds",
        headers=farm.lead.headers,
        json={"amount": amount, "reason": "Sebagian busuk", "method": "cash"},
    )
    assert response.status_code == 201, response.json
    return response.json


def expected_balances(farm, fund, **earned) -> dict:
    """The whole balances answer: every member of the group in id order, those not named at zero."""
    people = [
        (farm.tani.coordinator_member_id, "Pak Slamet", "lead"),
        (farm.treasurer.member_id, f"Anggota {farm.treasurer.id}", "treasurer"),
        (farm.plain.member_id, f"Anggota {farm.plain.id}", "plain"),
        (farm.siti.member_id, "Siti Aminah", "siti"),
        (farm.ani.id, "Ani Lestari", "ani"),
        (farm.budi.id, "Budi Santoso", "budi"),
    ]
    return {
        "group_id": farm.tani.id,
        "group_fund": fund,
        "pool": 0,
        "members": [
            {
                "member_id": member_id,
                "name": name,
                "active": True,
                "earned": earned.get(key, 0),
                "paid_out": 0,
                "balance": earned.get(key, 0),
            }
            for member_id, name, key in sorted(people)
        ],
    }


# --- the worked example ------------------------------------------------------------------------


def test_chili_harvest_split_by_contribution_with_a_tenth_to_the_group_fund(app, client, farm):
    assert put_policy(client, farm, method="contribution", group_fund_percent="10").json["version"] == 1

    # Order A, 2,345 kg of chili x Rp45.000 = Rp105.525. FIFO: Siti's first lot (2 kg) and 0,345 kg of Ani's.
    a = sold(client, farm.buyer, farm.lead, (farm.cabai, "2.345"))
    assert a["total"] == 105_525
    assert a["lines"][0]["allocations"] == [
        {"lot_id": farm.lots.siti_first, "member_id": farm.siti.member_id, "quantity": "2"},
        {"lot_id": farm.lots.ani, "member_id": farm.ani.id, "quantity": "0.345"},
    ]
    # Fund: exact 10 % of 105.525 = 10.552,5. The rest, 94.972,5, by weight (kg x price), so per kg 40.500:
    #   Siti 2 kg     -> 81.000        -> 81.000
    #   Ani 0,345 kg  -> 13.972,5      -> floor 13.972
    #   fund: 105.525 - 81.000 - 13.972 = 10.553 (>= 10.552,5)
    after_a = expected_balances(farm, 10_553, siti=81_000, ani=13_972)
    assert balances(client, farm).json == after_a

    # The policy changes after order A completed: A keeps the split it had.
    second = put_policy(client, farm, method="contribution", group_fund_percent="12.5").json
    assert (second["version"], second["method"], second["group_fund_percent"]) == (2, "contribution", "12.5")
    assert balances(client, farm).json == after_a

    # Order B, 3,333 kg = Rp149.985, all from Ani's lot (3,655 kg left in it). Under version 2:
    #   fund exact 12,5 % = 18.748,125; Ani 149.985 x 0,875 = 131.236,875 -> 131.236; fund 18.749.
    #   (Under version 1 Ani would have had floor(134.986,5) = 134.986.)
    b = sold(client, farm.buyer, farm.lead, (farm.cabai, "3.333"))
    assert b["total"] == 149_985
    assert b["lines"][0]["allocations"] == [{"lot_id": farm.lots.ani, "member_id": farm.ani.id, "quantity": "3.333"}]

    # Order C: 1,5 kg of chili = Rp67.500 (Ani's last 0,322 kg, then 1,178 kg of Siti's second lot)
    # and 3 kg of tomatoes x Rp4.001 = Rp12.003 (Budi). Total Rp79.503.
    c = sold(client, farm.buyer, farm.lead, (farm.cabai, "1.5"), (farm.tomat, "3"))
    assert c["total"] == 79_503
    chili, tomato = sorted(c["lines"], key=lambda line: line["variant_id"] != farm.cabai)
    assert chili["allocations"] == [
        {"lot_id": farm.lots.ani, "member_id": farm.ani.id, "quantity": "0.322"},
        {"lot_id": farm.lots.siti_second, "member_id": farm.siti.member_id, "quantity": "1.178"},
    ]
    assert tomato["allocations"] == [{"lot_id": farm.lots.budi, "member_id": farm.budi.id, "quantity": "3"}]
    # Chili line: fund exact 8.437,5; the rest 59.062,5 = 39,375 per gram:
    #   Ani 322 g    -> 12.678,75 -> 12.678
    #   Siti 1.178 g -> 46.383,75 -> 46.383
    #   fund 67.500 - 12.678 - 46.383 = 8.439
    # Tomato line: fund exact 1.500,375; Budi 12.003 x 0,875 = 10.502,625 -> 10.502; fund 1.501.
    #
    # Siti 81.000 + 46.383 = 127.383; Ani 13.972 + 131.236 + 12.678 = 157.886; Budi 10.502;
    # fund 10.553 + 18.749 + 8.439 + 1.501 = 39.242. All together 335.013 = 105.525 + 149.985 + 79.503.
    assert balances(client, farm).json == expected_balances(farm, 39_242, siti=127_383, ani=157_886, budi=10_502)
    assert balances(client, farm, farm.treasurer).json == balances(client, farm).json

    mine = client.get(f"{API}/me/earnings", headers=farm.siti.headers)
    assert mine.status_code == 200
    assert mine.json == [
        {
            "group_id": farm.tani.id,
            "group_name": "Poktan Sumber Rejeki",
            "member_id": farm.siti.member_id,
            "name": "Siti Aminah",
            "active": True,
            "earned": 127_383,
            "paid_out": 0,
            "balance": 127_383,
        }
    ]

    # Refunds of order C after completion, in cash. Order C credited Siti 46.383, Ani 12.678, Budi 10.502
    # out of Rp79.503 paid. Each member gives back the floor of the cumulative refund's share of that.
    refund(client, farm, c["id"], 20_000)
    #   Siti floor(20.000 x 46.383 / 79.503) = floor(11.668,24) = 11.668
    #   Ani  floor(20.000 x 12.678 / 79.503) = floor(3.189,31)  = 3.189
    #   Budi floor(20.000 x 10.502 / 79.503) = floor(2.641,91)  = 2.641
    #   fund 20.000 - 11.668 - 3.189 - 2.641 = 2.502
    assert balances(client, farm).json == expected_balances(
        farm, 39_242 - 2_502, siti=127_383 - 11_668, ani=157_886 - 3_189, budi=10_502 - 2_641
    )
    refund(client, farm, c["id"], 30_001)
    # Cumulative Rp50.001:
    #   Siti floor(50.001 x 46.383 / 79.503) = floor(29.171,18) = 29.171 (17.503 more; the second refund
    #        alone would have been floor(17.502,94) = 17.502: the rule works on the cumulative amount)
    #   Ani  floor(50.001 x 12.678 / 79.503) = floor(7.973,44)  = 7.973
    #   Budi floor(50.001 x 10.502 / 79.503) = floor(6.604,91)  = 6.604
    #   fund 50.001 - 29.171 - 7.973 - 6.604 = 6.253
    # Balances: Siti 127.383 - 29.171 = 98.212; Ani 157.886 - 7.973 = 149.913; Budi 10.502 - 6.604 = 3.898;
    # fund 39.242 - 6.253 = 32.989. Together 285.012 = 335.013 - 50.001.
    assert balances(client, farm).json == expected_balances(farm, 32_989, siti=98_212, ani=149_913, budi=3_898)
    assert client.get(f"{API}/me/earnings", headers=farm.siti.headers).json[0]["balance"] == 98_212
    assert_books_balance(app)


def test_a_partial_refund_before_completion_is_taken_off_before_the_split(app, client, farm):
    put_policy(client, farm, method="contribution", group_fund_percent="10")
    order = placed(client, farm.buyer, body_of((farm.cabai, "2.5")))["orders"][0]
    moved(client, order["id"], "confirm", farm.lead)
    # Rp112.500 paid, Rp12.500 given back before the handover: Rp100.000 to split.
    pay = client.post(
        f"{API}/orders/{order['id']}/payments", headers=farm.lead.headers, json={"method": "cash", "amount": 112_500}
    )
    assert pay.status_code == 201, pay.json
    refund(client, farm, order["id"], 12_500)
    moved(client, order["id"], "ready", farm.lead)
    moved(client, order["id"], "complete", farm.lead)
    # Siti 2 kg, Ani 0,5 kg -> weights 4 : 1. Fund 10.000; the rest 90.000 -> Siti 72.000, Ani 18.000.
    assert balances(client, farm).json == expected_balances(farm, 10_000, siti=72_000, ani=18_000)
    # Then the rest is given back: every account returns to zero.
    refund(client, farm, order["id"], 100_000)
    assert balances(client, farm).json == expected_balances(farm, 0)
    assert_books_balance(app)


# --- the split policy ---------------------------------------------------------------------------


def test_split_policy_starts_at_the_default_and_each_change_is_a_new_version(client, farm):
    default = get_policy(client, farm)
    assert default.status_code == 200
    assert default.json == {
        "group_id": farm.tani.id,
        "version": 0,
        "method": "contribution",
        "group_fund_percent": "0",
        "created_at": None,
        "created_by_id": None,
    }

    first = put_policy(client, farm, method="equal", group_fund_percent="10")
    assert first.status_code == 200, first.json
    assert {k: first.json[k] for k in ("group_id", "version", "method", "group_fund_percent", "created_by_id")} == {
        "group_id": farm.tani.id,
        "version": 1,
        "method": "equal",
        "group_fund_percent": "10",
        "created_by_id": farm.lead.id,
    }
    assert first.json["created_at"]
    second = put_policy(client, farm, method="work", group_fund_percent=10.5)  # a JSON number reads too
    assert (second.json["version"], second.json["method"], second.json["group_fund_percent"]) == (2, "work", "10.5")
    third = put_policy(client, farm, method="contribution", group_fund_percent="0,25")
    assert (third.json["version"], third.json["group_fund_percent"]) == (3, "0.25")
    assert get_policy(client, farm).json == third.json
    assert get_policy(client, farm, farm.plain).json == third.json


BAD_POLICIES = [
    ({"method": "shares", "group_fund_percent": "10"}, "method"),
    ({"method": None, "group_fund_percent": "10"}, "method"),
    ({"group_fund_percent": "10"}, "method"),
    ({"method": "contribution", "group_fund_percent": 101}, "group_fund_percent"),
    ({"method": "contribution", "group_fund_percent": "100.01"}, "group_fund_percent"),
    ({"method": "contribution", "group_fund_percent": -1}, "group_fund_percent"),
    ({"method": "contribution", "group_fund_percent": "10.555"}, "group_fund_percent"),
    ({"method": "contribution", "group_fund_percent": "abc"}, "group_fund_percent"),
    ({"method": "contribution", "group_fund_percent": True}, "group_fund_percent"),
    ({"method": "contribution", "group_fund_percent": None}, "group_fund_percent"),
    ({"method": "contribution"}, "group_fund_percent"),
    ({"method": "contribution", "group_fund_percent": ""}, "group_fund_percent"),
    ({"method": "contribution", "group_fund_percent": 1e400}, "group_fund_percent"),
]


@pytest.mark.parametrize(("body", "field"), BAD_POLICIES)
def test_bad_split_policy_is_422_and_changes_nothing(app, client, farm, body, field):
    before = put_policy(client, farm, method="contribution", group_fund_percent="5").json

    response = client.put(f"{API}/groups/{farm.tani.id}/split-policy", json=body, headers=farm.lead.headers)

    assert_error(response, 422, field)
    assert get_policy(client, farm).json == before
    assert count(app, SplitPolicy) == 1


def test_a_split_policy_body_that_is_not_an_object_is_422(app, client, farm):
    for body in ([], "10", 10):
        response = client.put(f"{API}/groups/{farm.tani.id}/split-policy", json=body, headers=farm.lead.headers)
        assert response.status_code == 422, (body, response.json)
        assert_error(response, 422)
    assert count(app, SplitPolicy) == 0


@pytest.mark.parametrize("who", ["treasurer", "plain", "siti", "buyer", "other_lead", "admin"])
def test_only_the_coordinator_changes_the_split_policy(app, client, farm, who):
    response = put_policy(client, farm, getattr(farm, who), method="equal", group_fund_percent="20")

    assert_error(response, 403)
    assert count(app, SplitPolicy) == 0
    assert get_policy(client, farm).json["version"] == 0


def test_changing_the_split_policy_needs_a_login(app, client, farm):
    response = client.put(
        f"{API}/groups/{farm.tani.id}/split-policy", json={"method": "equal", "group_fund_percent": "20"}
    )

    assert_error(response, 401)
    assert count(app, SplitPolicy) == 0


def test_another_groups_coordinator_cannot_change_this_groups_policy_but_their_own(app, client, farm):
    assert_error(put_policy(client, farm, farm.other_lead, method="equal", group_fund_percent="20"), 403)
    theirs = client.put(
        f"{API}/groups/{farm.jahit.id}/split-policy",
        headers=farm.other_lead.headers,
        json={"method": "work", "group_fund_percent": "20"},
    )
    assert theirs.status_code == 200 and theirs.json["version"] == 1
    assert get_policy(client, farm).json["version"] == 0


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("lead", 200),
        ("treasurer", 200),
        ("plain", 200),
        ("siti", 200),
        ("admin", 200),
        ("buyer", 403),
        ("other_lead", 403),
    ],
)
def test_members_see_the_split_policy_outsiders_do_not(client, farm, who, status):
    response = get_policy(client, farm, getattr(farm, who))

    assert response.status_code == status, response.json
    if status == 403:
        assert_error(response, 403)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("lead", 200),
        ("treasurer", 200),
        ("admin", 200),
        ("plain", 403),
        ("siti", 403),
        ("buyer", 403),
        ("other_lead", 403),
    ],
)
def test_balances_are_for_the_coordinator_and_treasurer(client, farm, who, status):
    response = balances(client, farm, getattr(farm, who))

    assert response.status_code == status, response.json
    if status == 403:
        assert_error(response, 403)
    else:
        assert response.json == expected_balances(farm, 0)


def test_anonymous_callers_get_401_for_balances_and_earnings(client, farm):
    assert_error(client.get(f"{API}/groups/{farm.tani.id}/balances"), 401)
    assert_error(client.get(f"{API}/me/earnings"), 401)
    assert_error(client.get(f"{API}/groups/{farm.tani.id}/split-policy"), 401)


def test_my_earnings_lists_nothing_for_someone_in_no_group(client, farm):
    response = client.get(f"{API}/me/earnings", headers=farm.buyer.headers)

    assert response.status_code == 200 and response.json == []
