"""Members' savings: retry-safe with an Idempotency-Key, and never below zero, also when sent at once.

The concurrent cases go through a live server (a thread per request), so that
on PostgreSQL each request is its own transaction on its own connection.
"""

import pytest
from sqlalchemy import func, select

from core import ledger
from core.extensions import db
from revenue.models import Saving
from tests.books import assert_books_balance
from tests.factories import assert_error, login, rows
from tests.live_server import post_at_once, server  # noqa: F401 (fixture)
from tests.market import API
from tests.revenue.test_payouts import money_rows

CROWD = 8


def save(client, group_id, who, body, key=None):
    headers = dict(who.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(f"{API}/groups/{group_id}/savings", json=body, headers=headers)


def saved(client, group_id, who, body, key=None) -> dict:
    response = save(client, group_id, who, body, key)
    assert response.status_code == 201, response.json
    return response.json


def savings_books(app, group_id, member_id) -> tuple[int, int, list[str]]:
    """(the member's savings in the ledger, how many saving rows they have, problems `flask ledger check` finds)."""
    with app.app_context():
        return (
            -ledger.balance(group_id, f"savings:{member_id}"),
            db.session.scalar(select(func.count(Saving.id)).where(Saving.member_id == member_id)),
            [str(p) for p in ledger.check_all()],
        )


@pytest.fixture
def saving_siti(client, market):
    """Siti has saved Rp100.000."""
    saved(client, market.tani.id, market.treasurer, {"member_id": market.siti.id, "amount": 100000, "kind": "deposit"})
    return market


# --- retries -------------------------------------------------------------------------------------


def test_a_deposit_retried_with_the_same_key_and_body_is_recorded_once(app, client, market):
    body = {"member_id": market.siti.id, "amount": 50000, "kind": "deposit", "note": "Simpanan wajib"}
    first = save(client, market.tani.id, market.treasurer, body, key="dep-1")
    again = save(client, market.tani.id, market.lead, dict(reversed(body.items())), key="dep-1")

    assert first.status_code == again.status_code == 201, (first.json, again.json)
    assert first.headers.get("Idempotent-Replayed") is None
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json["id"] == first.json["id"] and again.json["balance"] == 50000
    assert savings_books(app, market.tani.id, market.siti.id) == (50000, 1, [])


def test_the_same_key_with_another_body_is_422_and_changes_nothing(app, client, market):
    saved(
        client,
        market.tani.id,
        market.treasurer,
        {"member_id": market.siti.id, "amount": 50000, "kind": "deposit"},
        key="dep-1",
    )
    before = money_rows(app)

    assert_error(
        save(
            client,
            market.tani.id,
            market.treasurer,
            {"member_id": market.siti.id, "amount": 50001, "kind": "deposit"},
            key="dep-1",
        ),
        422,
        "Idempotency-Key",
    )
    assert_error(
        save(
            client,
            market.tani.id,
            market.treasurer,
            {"member_id": market.ani.id, "amount": 50000, "kind": "deposit"},
            key="dep-1",
        ),
        422,
        "Idempotency-Key",
    )
    assert money_rows(app) == before


def test_a_key_is_the_groups_own(app, client, market):
    """Another group may use the same key: keys are unique per group."""
    saved(
        client,
        market.tani.id,
        market.treasurer,
        {"member_id": market.siti.id, "amount": 1000, "kind": "deposit"},
        key="k",
    )
    other = save(
        client,
        market.jahit.id,
        market.jahit_lead,
        {"member_id": market.wati.id, "amount": 1000, "kind": "deposit"},
        key="k",
    )
    assert other.status_code == 201, other.json
    assert other.headers.get("Idempotent-Replayed") is None
    assert len(rows(app, Saving)) == 2


def test_a_withdrawal_retried_after_the_savings_are_used_up_returns_the_first(app, client, saving_siti):
    body = {"member_id": saving_siti.siti.id, "amount": 100000, "kind": "withdrawal"}
    first = saved(client, saving_siti.tani.id, saving_siti.lead, body, key="wd")

    again = save(client, saving_siti.tani.id, saving_siti.lead, body, key="wd")

    assert again.status_code == 201 and again.json["id"] == first["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert savings_books(app, saving_siti.tani.id, saving_siti.siti.id) == (0, 2, [])


@pytest.mark.parametrize("key", ["x" * 101, " ", "tab\there", "bell\x07"])
def test_a_bad_key_is_422_and_changes_nothing(app, client, market, key):
    before = money_rows(app)
    assert_error(
        save(
            client,
            market.tani.id,
            market.treasurer,
            {"member_id": market.siti.id, "amount": 1000, "kind": "deposit"},
            key=key,
        ),
        422,
        "Idempotency-Key",
    )
    assert money_rows(app) == before


def test_a_refused_request_does_not_use_up_its_key(app, client, saving_siti):
    """A withdrawal above the savings is refused (409) and writes nothing, so the same key serves the
    corrected request."""
    tani, siti = saving_siti.tani.id, saving_siti.siti.id
    before = money_rows(app)
    assert_error(
        save(client, tani, saving_siti.lead, {"member_id": siti, "amount": 100001, "kind": "withdrawal"}, key="wd"),
        409,
        "amount",
    )
    assert money_rows(app) == before

    corrected = save(
        client, tani, saving_siti.lead, {"member_id": siti, "amount": 100000, "kind": "withdrawal"}, key="wd"
    )
    assert corrected.status_code == 201 and corrected.headers.get("Idempotent-Replayed") is None
    assert savings_books(app, tani, siti) == (0, 2, [])


def test_the_openapi_document_names_the_savings_idempotency_key(client):
    spec = client.get(f"{API}/openapi.json").json
    post = spec["paths"]["/api/v1/groups/{group_id}/savings"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in post["parameters"] if p["in"] == "header"}
    assert "Idempotent-Replayed" in post["responses"]["201"]["headers"]


# --- many at once --------------------------------------------------------------------------------


def test_withdrawals_at_once_never_take_savings_below_zero(app, server, saving_siti):
    staff = (saving_siti.lead.headers, saving_siti.treasurer.headers)
    results = post_at_once(
        server,
        [
            (
                f"{API}/groups/{saving_siti.tani.id}/savings",
                staff[i % 2],
                {"member_id": saving_siti.siti.id, "amount": 30000, "kind": "withdrawal"},
                None,
            )
            for i in range(CROWD)
        ],
    )

    assert sorted(status for status, _, _ in results) == [201] * 3 + [409] * (CROWD - 3), results
    assert all(body["balance"] >= 0 for status, body, _ in results if status == 201)
    assert all("amount" in body["errors"] for status, body, _ in results if status == 409)
    assert savings_books(app, saving_siti.tani.id, saving_siti.siti.id) == (10000, 4, [])


def test_uneven_withdrawals_and_deposits_at_once_stay_at_or_above_zero(app, server, saving_siti):
    amounts = [60000, 50000, 40000, 30000, 20000, 10000]
    requests = [
        (
            f"{API}/groups/{saving_siti.tani.id}/savings",
            saving_siti.lead.headers,
            {"member_id": saving_siti.siti.id, "amount": amount, "kind": "withdrawal"},
            None,
        )
        for amount in amounts
    ]
    requests.append(
        (
            f"{API}/groups/{saving_siti.tani.id}/savings",
            saving_siti.treasurer.headers,
            {"member_id": saving_siti.siti.id, "amount": 5000, "kind": "deposit"},
            None,
        )
    )
    results = post_at_once(server, requests)

    assert {status for status, _, _ in results} <= {201, 409}, results
    assert results[-1][0] == 201
    taken = [amount for amount, (status, _, _) in zip(amounts, results) if status == 201]
    refused = [amount for amount, (status, _, _) in zip(amounts, results) if status == 409]
    left, count, problems = savings_books(app, saving_siti.tani.id, saving_siti.siti.id)
    assert left == 105000 - sum(taken) >= 0
    assert count == 2 + len(taken) and problems == []
    assert all(amount > left for amount in refused), (taken, refused)


def test_one_deposit_sent_many_times_at_once_with_one_key_is_recorded_once(app, server, market):
    results = post_at_once(
        server,
        [
            (
                f"{API}/groups/{market.tani.id}/savings",
                market.treasurer.headers,
                {"member_id": market.siti.id, "amount": 25000, "kind": "deposit"},
                "tap",
            )
        ]
        * CROWD,
    )

    assert [status for status, _, _ in results] == [201] * CROWD, results
    assert len({body["id"] for _, body, _ in results}) == 1
    assert [replayed for _, _, replayed in results].count(None) == 1
    assert savings_books(app, market.tani.id, market.siti.id) == (25000, 1, [])


def test_one_key_sent_at_once_for_two_members_records_one_of_them(app, server, market):
    """Twins with one key but other bodies lock different members: the unique key still lets one through."""
    results = post_at_once(
        server,
        [
            (
                f"{API}/groups/{market.tani.id}/savings",
                market.treasurer.headers,
                {"member_id": member_id, "amount": 25000, "kind": "deposit"},
                "tap",
            )
            for member_id in [market.siti.id, market.ani.id] * (CROWD // 2)
        ],
    )

    statuses = [status for status, _, _ in results]
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 422}, results
    assert len({body["id"] for status, body, _ in results if status == 201}) == 1
    assert all("Idempotency-Key" in body["errors"] for status, body, _ in results if status == 422)
    assert len(rows(app, Saving)) == 1
    assert_books_balance(app)


# --- the page ------------------------------------------------------------------------------------


def test_the_savings_page_records_one_deposit_when_its_form_is_sent_twice(app, client, market):
    login(client, market.treasurer.user)
    page = client.get(f"/groups/{market.tani.id}/savings?member_id={market.ani.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    key = html.split('name="idempotency_key" type="hidden" value="')[1].split('"')[0]
    assert len(key) >= 32

    form = {
        "member_id": str(market.ani.id),
        "kind": "deposit",
        "amount": "20.000",
        "note": "Wajib",
        "idempotency_key": key,
    }
    assert client.post(f"/groups/{market.tani.id}/savings", data=form).status_code == 302
    assert client.post(f"/groups/{market.tani.id}/savings", data=form).status_code == 302
    assert len(rows(app, Saving)) == 1
    assert "Rp20.000" in client.get(f"/groups/{market.tani.id}/savings").get_data(as_text=True)

    changed = client.post(f"/groups/{market.tani.id}/savings", data={**form, "amount": "30.000"})
    assert changed.status_code == 422
    assert len(rows(app, Saving)) == 1
    fresh = changed.get_data(as_text=True).split('name="idempotency_key" type="hidden" value="')[1].split('"')[0]
    assert fresh != key
    assert (
        client.post(
            f"/groups/{market.tani.id}/savings", data={**form, "amount": "30.000", "idempotency_key": fresh}
        ).status_code
        == 302
    )
    assert sorted(r["amount"] for r in rows(app, Saving)) == [20000, 30000]
    assert_books_balance(app)
