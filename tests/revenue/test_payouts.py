"""Payouts and savings: never above what the member is owed or saved, retry-safe, corrected only by reversal.

Balances are made the way a group makes them: a buyer's order is checked out,
confirmed, packed and completed with cash at handover, which credits the members
whose lots were sold (the default split: contribution, no group fund percent).
Every refused request is checked to have changed nothing.
"""

import pytest
from sqlalchemy import func, select

from core import ledger
from core.extensions import db
from revenue.models import Payout, Saving
from tests.books import assert_books_balance
from tests.factories import assert_error, login, rows
from tests.live_server import post_at_once
from tests.market import API, sold

CROWD = 8


# --- helpers ------------------------------------------------------------------------------------


@pytest.fixture
def owed(client, market):
    """Siti is owed Rp90.000 (2 kg cabai grade A from her lot); Ani Rp4.001 (1 kg tomat)."""
    sold(client, market.buyer, market.lead, (market.cabai_a, "2"))
    sold(client, market.buyer, market.lead, (market.tomat, "1"))
    return market


def pay(client, group_id, who, body, key=None):
    headers = dict(who.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(f"{API}/groups/{group_id}/payouts", json=body, headers=headers)


def paid(client, group_id, who, body, key=None) -> dict:
    response = pay(client, group_id, who, body, key)
    assert response.status_code == 201, response.json
    return response.json


def balance_of(client, market, member_id) -> dict:
    response = client.get(f"{API}/groups/{market.tani.id}/balances", headers=market.lead.headers)
    assert response.status_code == 200, response.json
    return next(row for row in response.json["members"] if row["member_id"] == member_id)


def account(app, group_id, key) -> int:
    with app.app_context():
        return ledger.balance(group_id, key)


def money_rows(app) -> dict:
    """Every row a payout or saving may write, to prove a refused one wrote nothing."""
    return {
        model.__tablename__: rows(app, model)
        for model in (Payout, Saving, ledger.JournalEntry, ledger.Posting, ledger.Account)
    }


# --- paying out -----------------------------------------------------------------------------------


def test_a_payout_within_the_balance_debits_the_member_and_credits_the_money_account(app, client, owed):
    siti = owed.siti.id
    assert balance_of(client, owed, siti) | {"name": None} == {
        "member_id": siti,
        "name": None,
        "active": True,
        "earned": 90000,
        "paid_out": 0,
        "balance": 90000,
    }

    cash = paid(client, owed.tani.id, owed.treasurer, {"member_id": siti, "amount": 40000, "method": "cash"})
    transfer = paid(
        client,
        owed.tani.id,
        owed.lead,
        {"member_id": siti, "amount": "Rp20.000", "method": "transfer", "reference": "BRI 0042"},
    )

    assert (cash["amount"], cash["method"], cash["member_id"], cash["balance"]) == (40000, "cash", siti, 50000)
    assert cash["created_by_id"] == owed.treasurer.id and cash["reverses_id"] is None
    assert cash["member_name"] == "Siti Aminah"
    assert (transfer["amount"], transfer["method"], transfer["reference"], transfer["balance"]) == (
        20000,
        "transfer",
        "BRI 0042",
        30000,
    )
    assert balance_of(client, owed, siti) | {"name": None} == {
        "member_id": siti,
        "name": None,
        "active": True,
        "earned": 90000,
        "paid_out": 60000,
        "balance": 30000,
    }
    assert account(app, owed.tani.id, f"member:{siti}") == -30000
    assert account(app, owed.tani.id, ledger.CASH) == 90000 + 4001 - 40000
    assert account(app, owed.tani.id, ledger.BANK) == -20000
    with app.app_context():
        entry = db.session.get(ledger.JournalEntry, cash["entry_id"])
        assert entry.kind == "payout" and entry.actor_id == owed.treasurer.id
        assert sorted((p.account.key, p.amount) for p in entry.postings) == [
            ("cash", -40000),
            (f"member:{siti}", 40000),
        ]
    assert_books_balance(app)


def test_the_whole_balance_can_be_paid_out_and_then_nothing_more(app, client, owed):
    paid(client, owed.tani.id, owed.lead, {"member_id": owed.ani.id, "amount": 4001, "method": "cash"})

    body = assert_error(
        pay(client, owed.tani.id, owed.lead, {"member_id": owed.ani.id, "amount": 1, "method": "cash"}), 409, "amount"
    )
    assert "Rp0" in body["message"]
    assert balance_of(client, owed, owed.ani.id)["balance"] == 0


def test_a_payout_above_the_balance_is_409_and_changes_nothing(app, client, owed):
    paid(client, owed.tani.id, owed.lead, {"member_id": owed.siti.id, "amount": 10000, "method": "cash"})
    before = money_rows(app)

    body = assert_error(
        pay(client, owed.tani.id, owed.lead, {"member_id": owed.siti.id, "amount": 80001, "method": "transfer"}),
        409,
        "amount",
    )

    assert "Rp80.000" in body["errors"]["amount"][0]
    assert money_rows(app) == before
    assert balance_of(client, owed, owed.siti.id)["balance"] == 80000


def test_a_member_with_nothing_earned_cannot_be_paid(app, client, owed):
    before = money_rows(app)
    assert_error(
        pay(client, owed.tani.id, owed.lead, {"member_id": owed.plain.member_id, "amount": 1000, "method": "cash"}),
        409,
        "amount",
    )
    assert money_rows(app) == before


def test_an_ewallet_payout_needs_a_valid_phone_and_comes_from_the_bank(app, client, owed):
    before = money_rows(app)
    base = {"member_id": owed.siti.id, "amount": 15000, "method": "ewallet"}

    assert_error(pay(client, owed.tani.id, owed.lead, base), 422, "phone")
    assert_error(pay(client, owed.tani.id, owed.lead, {**base, "phone": ""}), 422, "phone")
    assert_error(pay(client, owed.tani.id, owed.lead, {**base, "phone": "12345"}), 422, "phone")
    assert_error(pay(client, owed.tani.id, owed.lead, {**base, "phone": "+1 202 555 0143"}), 422, "phone")
    assert money_rows(app) == before

    done = paid(client, owed.tani.id, owed.lead, {**base, "phone": "0812-3456-7890", "reference": "DANA"})

    assert (done["method"], done["phone"], done["balance"]) == ("ewallet", "+6281234567890", 75000)
    assert account(app, owed.tani.id, ledger.BANK) == -15000


BAD_AMOUNTS = [
    0,
    -5000,
    "-5000",
    12.5,
    1000.0,
    "12,5",
    "12.50",
    "abc",
    "",
    None,
    True,
    [1000],
    {"n": 1},
    10**16,
    "1" * 5000,
]


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_a_bad_amount_is_422_and_changes_nothing(app, client, owed, amount):
    before = money_rows(app)
    assert_error(
        pay(client, owed.tani.id, owed.lead, {"member_id": owed.siti.id, "amount": amount, "method": "cash"}),
        422,
        "amount",
    )
    assert money_rows(app) == before


@pytest.mark.parametrize(
    "change, field",
    [
        ({"method": "card"}, "method"),
        ({"method": None}, "method"),
        ({"method": "CASH"}, "method"),
        ({"member_id": None}, "member_id"),
        ({"member_id": "1"}, "member_id"),
        ({"member_id": 2**40}, "member_id"),
        ({"member_id": True}, "member_id"),
        ({"reference": "x" * 101}, "reference"),
        ({"reference": 12}, "reference"),
        ({"reference": "a\x00b"}, "reference"),
    ],
)
def test_bad_fields_are_422_and_change_nothing(app, client, owed, change, field):
    before = money_rows(app)
    body = {"member_id": owed.siti.id, "amount": 1000, "method": "cash", **change}
    assert_error(pay(client, owed.tani.id, owed.lead, body), 422, field)
    assert money_rows(app) == before


def test_every_bad_field_is_reported_at_once(client, owed):
    body = assert_error(pay(client, owed.tani.id, owed.lead, {"amount": 0, "method": "ewallet"}), 422)
    assert set(body["errors"]) == {"member_id", "amount", "phone"}


def test_another_groups_member_cannot_be_paid_from_this_group(app, client, owed):
    before = money_rows(app)
    assert_error(
        pay(client, owed.tani.id, owed.lead, {"member_id": owed.wati.id, "amount": 1000, "method": "cash"}),
        422,
        "member_id",
    )
    assert money_rows(app) == before


def test_unknown_fields_and_bodies_that_are_not_objects_are_refused(app, client, owed):
    before = money_rows(app)
    assert_error(
        pay(
            client, owed.tani.id, owed.lead, {"member_id": owed.siti.id, "amount": 1000, "method": "cash", "note": "x"}
        ),
        422,
        "note",
    )
    response = client.post(
        f"{API}/groups/{owed.tani.id}/payouts",
        data="[1, 2]",
        headers={**owed.lead.headers, "Content-Type": "application/json"},
    )
    assert response.status_code in (400, 422), response.json
    response = client.post(
        f"{API}/groups/{owed.tani.id}/payouts",
        data="{not json",
        headers={**owed.lead.headers, "Content-Type": "application/json"},
    )
    assert_error(response, 400)
    assert money_rows(app) == before


# --- retries --------------------------------------------------------------------------------------


def test_a_retry_with_the_same_key_and_body_returns_the_first_payout(app, client, owed):
    body = {"member_id": owed.siti.id, "amount": 30000, "method": "cash"}
    first = pay(client, owed.tani.id, owed.lead, body, key="bayar-siti-1")
    again = pay(client, owed.tani.id, owed.lead, dict(reversed(list(body.items()))), key="bayar-siti-1")

    assert first.status_code == again.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json["id"] == first.json["id"]
    assert again.json["balance"] == 60000
    assert len(rows(app, Payout)) == 1
    assert balance_of(client, owed, owed.siti.id)["balance"] == 60000


def test_the_same_key_with_another_body_is_422_and_changes_nothing(app, client, owed):
    paid(client, owed.tani.id, owed.lead, {"member_id": owed.siti.id, "amount": 30000, "method": "cash"}, key="k1")
    before = money_rows(app)

    assert_error(
        pay(client, owed.tani.id, owed.lead, {"member_id": owed.siti.id, "amount": 31000, "method": "cash"}, key="k1"),
        422,
        "Idempotency-Key",
    )
    assert_error(
        pay(client, owed.tani.id, owed.lead, {"member_id": owed.ani.id, "amount": 1000, "method": "cash"}, key="k1"),
        422,
        "Idempotency-Key",
    )
    assert_error(
        pay(
            client,
            owed.tani.id,
            owed.lead,
            {"member_id": owed.siti.id, "amount": 1000, "method": "cash"},
            key="x" * 101,
        ),
        422,
        "Idempotency-Key",
    )
    assert money_rows(app) == before


def test_a_retry_is_replayed_even_when_the_balance_is_used_up_since(app, client, owed):
    body = {"member_id": owed.siti.id, "amount": 90000, "method": "cash"}
    first = paid(client, owed.tani.id, owed.lead, body, key="lunas")
    again = pay(client, owed.tani.id, owed.lead, body, key="lunas")
    assert again.status_code == 201 and again.json["id"] == first["id"]


# --- corrections ----------------------------------------------------------------------------------


def reverse(client, group_id, payout_id, who, reason="Salah catat"):
    return client.post(
        f"{API}/groups/{group_id}/payouts/{payout_id}/reversal", json={"reason": reason}, headers=who.headers
    )


def test_a_reversal_restores_the_balance_once(app, client, owed):
    payout = paid(client, owed.tani.id, owed.lead, {"member_id": owed.siti.id, "amount": 40000, "method": "cash"})

    response = reverse(client, owed.tani.id, payout["id"], owed.treasurer, "Uang belum diserahkan")

    assert response.status_code == 201, response.json
    correction = response.json
    assert (correction["amount"], correction["reverses_id"], correction["method"]) == (-40000, payout["id"], "cash")
    assert correction["reference"] == "Uang belum diserahkan"
    assert correction["balance"] == 90000
    assert balance_of(client, owed, owed.siti.id)["balance"] == 90000
    assert balance_of(client, owed, owed.siti.id)["paid_out"] == 0
    assert account(app, owed.tani.id, ledger.CASH) == 90000 + 4001
    with app.app_context():
        entry = db.session.get(ledger.JournalEntry, correction["entry_id"])
        assert entry.reverses_id == payout["entry_id"]
    listed = client.get(f"{API}/groups/{owed.tani.id}/payouts", headers=owed.lead.headers).json
    assert [(p["id"], p["reversed_by_id"]) for p in listed["items"]] == [
        (correction["id"], None),
        (payout["id"], correction["id"]),
    ]

    before = money_rows(app)
    assert_error(reverse(client, owed.tani.id, payout["id"], owed.lead), 409)
    assert_error(reverse(client, owed.tani.id, correction["id"], owed.lead), 409)
    assert money_rows(app) == before
    assert_books_balance(app)


def test_a_reversal_needs_a_reason_and_a_payout_of_the_group(app, client, owed):
    payout = paid(client, owed.tani.id, owed.lead, {"member_id": owed.siti.id, "amount": 40000, "method": "cash"})
    before = money_rows(app)

    assert_error(reverse(client, owed.tani.id, payout["id"], owed.lead, ""), 422, "reason")
    assert_error(reverse(client, owed.tani.id, payout["id"], owed.lead, None), 422, "reason")
    assert_error(reverse(client, owed.tani.id, payout["id"] + 100, owed.lead), 404)
    assert_error(reverse(client, owed.jahit.id, payout["id"], owed.jahit_lead), 404)
    assert money_rows(app) == before


def test_a_payout_is_paid_again_after_its_reversal(app, client, owed):
    payout = paid(client, owed.tani.id, owed.lead, {"member_id": owed.siti.id, "amount": 90000, "method": "cash"})
    assert reverse(client, owed.tani.id, payout["id"], owed.lead).status_code == 201

    again = paid(client, owed.tani.id, owed.lead, {"member_id": owed.siti.id, "amount": 90000, "method": "transfer"})
    assert again["balance"] == 0
    assert_books_balance(app)


# --- who may ------------------------------------------------------------------------------------


def test_an_officer_cannot_pay_themself_out(app, client, owed):
    contribution = {"variant_id": owed.cabai_b, "member_id": owed.treasurer.member_id, "quantity": "1"}
    assert (
        client.post(
            f"{API}/groups/{owed.tani.id}/contributions", json=contribution, headers=owed.lead.headers
        ).status_code
        == 201
    )
    sold(client, owed.buyer, owed.lead, (owed.cabai_b, "5"))  # Siti's 4 kg first, then the treasurer's 1 kg at Rp30.000
    assert balance_of(client, owed, owed.treasurer.member_id)["balance"] == 30000
    before = money_rows(app)

    body = assert_error(
        pay(
            client,
            owed.tani.id,
            owed.treasurer,
            {"member_id": owed.treasurer.member_id, "amount": 30000, "method": "cash"},
        ),
        403,
    )
    assert "another officer" in body["message"].lower() or body["message"]
    assert money_rows(app) == before

    payout = paid(
        client, owed.tani.id, owed.lead, {"member_id": owed.treasurer.member_id, "amount": 30000, "method": "cash"}
    )
    assert_error(reverse(client, owed.tani.id, payout["id"], owed.treasurer), 403)
    assert balance_of(client, owed, owed.treasurer.member_id)["balance"] == 0


def test_only_this_groups_coordinator_and_treasurer_pay_out(app, client, owed):
    body = {"member_id": owed.siti.id, "amount": 1000, "method": "cash"}
    payout = paid(client, owed.tani.id, owed.lead, body)
    before = money_rows(app)

    assert_error(pay(client, owed.tani.id, owed.jahit_lead, body), 403)
    assert_error(pay(client, owed.tani.id, owed.plain, body), 403)
    assert_error(pay(client, owed.tani.id, owed.buyer, body), 403)
    assert_error(pay(client, owed.tani.id, owed.admin, body), 403)
    assert_error(client.post(f"{API}/groups/{owed.tani.id}/payouts", json=body), 401)
    assert_error(pay(client, 999999, owed.lead, body), 404)
    assert_error(reverse(client, owed.tani.id, payout["id"], owed.jahit_lead), 403)
    assert_error(reverse(client, owed.tani.id, payout["id"], owed.plain), 403)
    assert_error(client.get(f"{API}/groups/{owed.tani.id}/payouts", headers=owed.jahit_lead.headers), 403)
    assert money_rows(app) == before


def test_payouts_are_listed_newest_first_by_member_and_page(app, client, owed):
    for amount in (1000, 2000, 3000):
        paid(client, owed.tani.id, owed.lead, {"member_id": owed.siti.id, "amount": amount, "method": "cash"})
    paid(client, owed.tani.id, owed.lead, {"member_id": owed.ani.id, "amount": 1, "method": "cash"})
    url = f"{API}/groups/{owed.tani.id}/payouts"

    everything = client.get(url, headers=owed.treasurer.headers).json
    assert [p["amount"] for p in everything["items"]] == [1, 3000, 2000, 1000]
    assert (everything["total"], everything["page"], everything["per_page"]) == (4, 1, 50)
    sitis = client.get(f"{url}?member_id={owed.siti.id}&per_page=2&page=2", headers=owed.lead.headers).json
    assert [p["amount"] for p in sitis["items"]] == [1000] and sitis["total"] == 3
    assert client.get(url, headers=owed.admin.headers).status_code == 200
    assert_error(client.get(f"{url}?per_page=101", headers=owed.lead.headers), 422, "per_page")
    assert_error(client.get(f"{url}?member_id=0", headers=owed.lead.headers), 422, "member_id")


def test_a_member_sees_only_their_own_payouts(app, client, owed):
    paid(client, owed.tani.id, owed.lead, {"member_id": owed.siti.id, "amount": 1000, "method": "cash"})
    url = f"{API}/groups/{owed.tani.id}/payouts"

    own = client.get(url, headers=owed.plain.headers)
    assert own.status_code == 200 and own.json["items"] == [] and own.json["total"] == 0
    assert_error(client.get(f"{url}?member_id={owed.siti.id}", headers=owed.plain.headers), 403)


# --- savings --------------------------------------------------------------------------------------


def save(client, group_id, who, **body):
    return client.post(f"{API}/groups/{group_id}/savings", json=body, headers=who.headers)


def test_savings_deposits_and_withdrawals_move_cash_and_never_go_below_zero(app, client, market):
    tani = market.tani.id
    deposit = save(
        client, tani, market.treasurer, member_id=market.siti.id, amount=100000, kind="deposit", note="Simpanan pokok"
    )
    assert deposit.status_code == 201, deposit.json
    assert (deposit.json["kind"], deposit.json["amount"], deposit.json["balance"]) == ("deposit", 100000, 100000)
    assert (
        save(client, tani, market.lead, member_id=market.ani.id, amount="Rp50.000", kind="deposit").status_code == 201
    )
    withdrawal = save(client, tani, market.lead, member_id=market.siti.id, amount=30000, kind="withdrawal")
    assert withdrawal.status_code == 201, withdrawal.json
    assert (withdrawal.json["kind"], withdrawal.json["amount"], withdrawal.json["balance"]) == (
        "withdrawal",
        30000,
        70000,
    )
    before = money_rows(app)

    assert_error(
        save(client, tani, market.lead, member_id=market.siti.id, amount=70001, kind="withdrawal"), 409, "amount"
    )
    assert_error(save(client, tani, market.lead, member_id=market.siti.id, amount=0, kind="deposit"), 422, "amount")
    assert_error(save(client, tani, market.lead, member_id=market.siti.id, amount=1, kind="loan"), 422, "kind")
    assert_error(save(client, tani, market.lead, member_id=market.wati.id, amount=1, kind="deposit"), 422, "member_id")
    assert_error(save(client, tani, market.plain, member_id=market.siti.id, amount=1, kind="deposit"), 403)
    assert_error(save(client, tani, market.jahit_lead, member_id=market.siti.id, amount=1, kind="deposit"), 403)
    assert money_rows(app) == before

    totals = client.get(f"{API}/groups/{tani}/savings", headers=market.treasurer.headers).json
    by_member = {row["member_id"]: row for row in totals["members"]}
    assert (
        by_member[market.siti.id]["deposits"],
        by_member[market.siti.id]["withdrawals"],
        by_member[market.siti.id]["balance"],
    ) == (100000, 30000, 70000)
    assert by_member[market.ani.id]["balance"] == 50000 and totals["total"] == 120000
    assert account(app, tani, ledger.CASH) == 120000
    assert account(app, tani, f"savings:{market.siti.id}") == -70000
    assert_error(client.get(f"{API}/groups/{tani}/savings", headers=market.plain.headers), 403)
    assert_books_balance(app)


# --- many at once ---------------------------------------------------------------------------------


def fire(server, requests: list[tuple[str, dict, dict, str | None]]) -> list[tuple]:
    """POST every (API path, headers, body, key) at once; (status, json, replayed) per request."""
    return post_at_once(server, [(f"{API}{path}", *rest) for path, *rest in requests])


def member_books(app, group_id, member_id) -> tuple[int, int, list[str]]:
    with app.app_context():
        return (
            -ledger.balance(group_id, f"member:{member_id}"),
            db.session.scalar(select(func.count(Payout.id)).where(Payout.member_id == member_id)),
            [str(p) for p in ledger.check_all()],
        )


def test_payouts_at_once_never_overdraw_a_balance(app, server, owed):
    staff = (owed.lead.headers, owed.treasurer.headers)
    results = fire(
        server,
        [
            (
                f"/groups/{owed.tani.id}/payouts",
                staff[i % 2],
                {"member_id": owed.siti.id, "amount": 30000, "method": "cash" if i % 2 else "transfer"},
                None,
            )
            for i in range(CROWD)
        ],
    )

    statuses = sorted(status for status, _, _ in results)
    assert statuses == [201] * 3 + [409] * (CROWD - 3), results
    assert all(body["balance"] >= 0 for status, body, _ in results if status == 201)
    assert all("amount" in body["errors"] for status, body, _ in results if status == 409)
    assert member_books(app, owed.tani.id, owed.siti.id) == (0, 3, [])


def test_uneven_payouts_at_once_stay_within_the_balance(app, server, owed):
    amounts = [40000, 35000, 30000, 25000, 20000, 15000, 10000, 5000]
    results = fire(
        server,
        [
            (
                f"/groups/{owed.tani.id}/payouts",
                owed.lead.headers,
                {"member_id": owed.siti.id, "amount": amount, "method": "cash"},
                None,
            )
            for amount in amounts
        ],
    )

    assert {status for status, _, _ in results} <= {201, 409}, results
    accepted = [amount for amount, (status, _, _) in zip(amounts, results) if status == 201]
    refused = [amount for amount, (status, _, _) in zip(amounts, results) if status == 409]
    balance, count, problems = member_books(app, owed.tani.id, owed.siti.id)
    assert balance == 90000 - sum(accepted) >= 0
    assert count == len(accepted) >= 2 and problems == []
    assert all(amount > balance for amount in refused), (accepted, refused)


def test_one_payout_sent_many_times_at_once_with_one_key_is_recorded_once(app, server, owed):
    results = fire(
        server,
        [
            (
                f"/groups/{owed.tani.id}/payouts",
                owed.lead.headers,
                {"member_id": owed.siti.id, "amount": 50000, "method": "cash"},
                "tap",
            )
        ]
        * CROWD,
    )

    assert [status for status, _, _ in results] == [201] * CROWD, results
    assert len({body["id"] for _, body, _ in results}) == 1
    assert [replayed for _, _, replayed in results].count(None) == 1
    assert member_books(app, owed.tani.id, owed.siti.id) == (40000, 1, [])


def test_reversals_at_once_restore_the_balance_once(app, server, owed):
    client = app.test_client()
    payout = paid(client, owed.tani.id, owed.lead, {"member_id": owed.siti.id, "amount": 60000, "method": "cash"})

    results = fire(
        server,
        [
            (
                f"/groups/{owed.tani.id}/payouts/{payout['id']}/reversal",
                owed.lead.headers,
                {"reason": f"Salah {i}"},
                None,
            )
            for i in range(4)
        ],
    )

    assert sorted(status for status, _, _ in results) == [201, 409, 409, 409], results
    assert member_books(app, owed.tani.id, owed.siti.id) == (90000, 2, [])


# --- pages ----------------------------------------------------------------------------------------


def test_the_payout_page_pays_from_a_balance_and_shows_the_payout(app, client, owed):
    login(client, owed.lead.user)
    page = client.get(f"/groups/{owed.tani.id}/payouts?member_id={owed.siti.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Siti Aminah" in html and 'value="90000"' in html
    key = html.split('name="idempotency_key" type="hidden" value="')[1].split('"')[0]

    form = {
        "member_id": str(owed.siti.id),
        "amount": "25.000",
        "method": "cash",
        "reference": "",
        "phone": "",
        "idempotency_key": key,
    }
    sent = client.post(f"/groups/{owed.tani.id}/payouts", data=form)
    assert sent.status_code == 302
    again = client.post(f"/groups/{owed.tani.id}/payouts", data=form)
    assert again.status_code == 302
    assert len(rows(app, Payout)) == 1
    assert balance_of(client, owed, owed.siti.id)["balance"] == 65000
    assert "Rp25.000" in client.get(f"/groups/{owed.tani.id}/payouts").get_data(as_text=True)

    refused = client.post(f"/groups/{owed.tani.id}/payouts", data={**form, "amount": "70000", "idempotency_key": "n"})
    assert refused.status_code == 409
    assert "Rp65.000" in refused.get_data(as_text=True)
    ewallet = client.post(f"/groups/{owed.tani.id}/payouts", data={**form, "method": "ewallet", "idempotency_key": "m"})
    assert ewallet.status_code == 422
    assert len(rows(app, Payout)) == 1

    [payout] = rows(app, Payout)
    corrected = client.post(f"/groups/{owed.tani.id}/payouts/{payout['id']}/reversal", data={"reason": "Salah"})
    assert corrected.status_code == 302
    assert balance_of(client, owed, owed.siti.id)["balance"] == 90000


def test_the_money_pages_are_for_officers(app, client, owed):
    login(client, owed.plain.user)
    for path in ("payouts", "savings", "shu"):
        assert client.get(f"/groups/{owed.tani.id}/{path}").status_code == 403
    assert (
        client.post(
            f"/groups/{owed.tani.id}/payouts", data={"member_id": str(owed.siti.id), "amount": "1", "method": "cash"}
        ).status_code
        == 403
    )
    assert rows(app, Payout) == []


def test_the_savings_page_records_a_deposit(app, client, owed):
    login(client, owed.treasurer.user)
    assert client.get(f"/groups/{owed.tani.id}/savings").status_code == 200
    sent = client.post(
        f"/groups/{owed.tani.id}/savings",
        data={"member_id": str(owed.ani.id), "kind": "deposit", "amount": "20.000", "note": "Wajib"},
    )
    assert sent.status_code == 302
    assert "Rp20.000" in client.get(f"/groups/{owed.tani.id}/savings").get_data(as_text=True)
    refused = client.post(
        f"/groups/{owed.tani.id}/savings",
        data={"member_id": str(owed.ani.id), "kind": "withdrawal", "amount": "20.001"},
    )
    assert refused.status_code == 409
    assert len(rows(app, Saving)) == 1
