"""Settlement pages, frozen statements read again, and settlements made at once or out of order."""

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from core import ledger
from core.extensions import db
from revenue.models import Settlement, Statement, WorkLog
from revenue.services import settlements
from revenue.services.accrual import GROUP_FUND, member_account
from tests.books import assert_books_balance, ledger_check
from tests.factories import assert_error
from tests.market import sold
from tests.pages import styles
from tests.payments.test_payments_concurrency import _fire
from tests.revenue.settlement_world import (
    API,
    joined_long_ago,
    kub,  # noqa: F401 (fixture)
    settle,
    state,
    statement,
)

# --- pages --------------------------------------------------------------------------------------


def test_pages_log_work_settle_and_print_a_statement(app, client, kub):
    k, group = kub, kub.group
    today = settlements.today_wib()
    joined_long_ago(app, k.ratna.member_id)
    sold(client, k.buyer, k.ratna, (k.daster, 1))  # pool 76.500
    client.post("/api/v1/auth/login", json={"email": k.ratna.user.email, "password": k.ratna.user.password})

    profile = client.get(f"/groups/{group.id}").get_data(as_text=True)
    assert f"/groups/{group.id}/work-logs" in profile and f"/groups/{group.id}/settlements" in profile
    page = client.get(f"/groups/{group.id}/work-logs")
    assert page.status_code == 200 and "Wati" in page.get_data(as_text=True)
    response = client.post(
        f"/groups/{group.id}/work-logs",
        data={
            "member_id": str(k.wati.id),
            "units": "12,5",
            "date": (today - timedelta(days=2)).isoformat(),
            "note": "",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    refused = client.post(
        f"/groups/{group.id}/work-logs",
        data={"member_id": str(k.wati.id), "units": "banyak", "date": today.isoformat()},
    )
    assert refused.status_code == 200 and 'aria-invalid="true"' in refused.get_data(as_text=True)
    with app.app_context():
        assert [(log.member_id, str(log.units)) for log in db.session.scalars(select(WorkLog))] == [
            (k.wati.id, "12.500")
        ]

    page = client.get(f"/groups/{group.id}/settlements")
    assert page.status_code == 200 and "Rp76.500" in page.get_data(as_text=True)
    response = client.post(
        f"/groups/{group.id}/settlements",
        data={
            "period_start": (today - timedelta(days=7)).isoformat(),
            "period_end": (today - timedelta(days=1)).isoformat(),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    settled = client.get(response.headers["Location"])
    assert settled.status_code == 200 and "Rp76.500" in settled.get_data(as_text=True)  # all Wati's work
    with app.app_context():
        settlement = db.session.scalar(select(Settlement))

    page = client.get(f"/groups/{group.id}/members/{k.wati.id}/statement?settlement_id={settlement.id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Rp76.500" in text and "format=csv" in text and "@media print" in styles(client, page)
    download = client.get(
        f"/api/v1/groups/{group.id}/members/{k.wati.id}/statement?settlement_id={settlement.id}&format=csv"
    )
    assert download.status_code == 200 and download.mimetype == "text/csv"
    refused = client.post(
        f"/groups/{group.id}/settlements",
        data={"period_start": today.isoformat(), "period_end": (today + timedelta(days=3)).isoformat()},
    )
    assert refused.status_code == 200 and 'aria-invalid="true"' in refused.get_data(as_text=True)


def test_a_member_reaches_their_own_statement_page_only(app, client, kub):
    k, group = kub, kub.group
    client.post("/api/v1/auth/login", json={"email": k.yuni.user.email, "password": k.yuni.user.password})
    profile = client.get(f"/groups/{group.id}").get_data(as_text=True)
    assert f"/groups/{group.id}/my-statement" in profile and f"/groups/{group.id}/work-logs" not in profile
    response = client.get(f"/groups/{group.id}/my-statement")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/groups/{group.id}/members/{k.yuni.member_id}/statement")
    assert client.get(response.headers["Location"]).status_code == 200
    assert client.get(f"/groups/{group.id}/members/{k.wati.id}/statement").status_code == 403
    assert client.get(f"/groups/{group.id}/work-logs").status_code == 403
    assert client.get(f"/groups/{group.id}/settlements").status_code == 403


def test_a_frozen_statement_reads_its_sale_lines_and_checks_them_against_what_it_froze(
    app, client, market, monkeypatch
):
    m, group = market, market.tani
    today = settlements.today_wib()
    sold(client, m.buyer, m.lead, (m.cabai_b, "1"))
    sold(client, m.buyer, m.lead, (m.cabai_b, "0.5"))
    monkeypatch.setattr(settlements.periods, "today_wib", lambda: today + timedelta(days=1))
    assert settle(client, group, m.lead, today, today).status_code == 201
    with app.app_context():
        row = db.session.scalar(select(Statement).where(Statement.member_id == m.siti.id))
        detail = json.loads(row.detail)
        assert set(detail) == {"refunds", "pool_shares", "shu", "payouts"}  # no copy of the sale lines
        assert (row.sale_lines, row.sales, row.closing) == (2, 45000, 45000)
    shown = statement(client, group, m.lead, m.siti.id, settlement_id=row.settlement_id).json["detail"]["sales"]
    assert [(line["quantity"], line["amount"]) for line in shown] == [("1", 30000), ("0.5", 15000)]
    assert_books_balance(app)

    # Lines that no longer come to what the statement froze: the statement is refused, the books check says so.
    monkeypatch.setattr(settlements.statements, "sale_lines_json", lambda *args, **kwargs: iter(()))
    monkeypatch.setattr(
        settlements.statements, "sale_sums", lambda *args, **kwargs: iter([(m.siti.id, 1, 30000, 0, 0)])
    )
    refused = statement(client, group, m.lead, m.siti.id, settlement_id=row.settlement_id)
    assert refused.status_code == 500 and refused.json["errors"] == {"members": [m.siti.id]}
    result = ledger_check(app)
    assert result.exit_code != 0 and "froze sale lines (2, 45000, 0, 0)" in result.output


def test_a_statement_frozen_with_its_sale_lines_in_its_detail_is_shown_from_them(app, client, market, monkeypatch):
    m, group = market, market.tani
    today = settlements.today_wib()
    sold(client, m.buyer, m.lead, (m.cabai_b, "1"))
    monkeypatch.setattr(settlements.periods, "today_wib", lambda: today + timedelta(days=1))
    assert settle(client, group, m.lead, today, today).status_code == 201
    with app.app_context():  # as statements were frozen before their lines were read from the earnings
        settlement_id = db.session.scalar(select(Settlement.id))
        lines = [[7, 8, "Cabai rawit", 2500, 9, 75000, 1000, 0, 67000, today.isoformat()]]
        db.session.add(
            Statement(
                settlement_id=settlement_id,
                group_id=group.id,
                member_id=m.ani.id,
                opening=0,
                sales=67000,
                pool_share=0,
                refunds=0,
                fund_deductions=7000,
                fees=1000,
                payouts=0,
                shu=0,
                closing=67000,
                sale_lines=None,
                detail=json.dumps(
                    {
                        "sale_columns": list(settlements.SALE_COLUMNS),
                        "sales": lines,
                        "refunds": [],
                        "pool_shares": [],
                        "shu": [],
                        "payouts": [],
                    }
                ),
            )
        )
        db.session.commit()
    shown = statement(client, group, m.lead, m.ani.id, settlement_id=settlement_id).json["detail"]["sales"]
    assert [(line["product"], line["quantity"], line["fund_deduction"], line["amount"]) for line in shown] == [
        ("Cabai rawit", "2.5", 7000, 67000)
    ]


# --- at the same moment ---------------------------------------------------------------------------


def test_overlapping_settlements_at_once_settle_one_period_and_share_the_pool_once(app, market, server):
    m, group = market, market.tani
    client = app.test_client()
    today = settlements.today_wib()
    assert (
        client.put(
            f"{API}/groups/{group.id}/split-policy",
            headers=m.lead.headers,
            json={"method": "equal", "group_fund_percent": "0"},
        ).status_code
        == 200
    )
    joined_long_ago(app, group.coordinator_member_id, m.treasurer.member_id, m.plain.member_id, m.siti.id, m.ani.id)
    sold(client, m.buyer, m.lead, (m.cabai_b, "1"))  # 30.000 to the pool: 6.000 for each of 5 members
    days = [(10, 1), (12, 3), (3, 1), (8, 2), (3, 3), (20, 1)]  # every period holds the day 3 days ago
    bodies = [
        {"period_start": (today - timedelta(days=a)).isoformat(), "period_end": (today - timedelta(days=b)).isoformat()}
        for a, b in days
    ]

    results = _fire(server, [(f"/groups/{group.id}/settlements", m.lead.headers, body, None) for body in bodies])

    assert sorted(status for status, _body, _replayed in results) == [201] + [409] * 5
    with app.app_context():
        assert db.session.query(Settlement).count() == 1
        assert sorted(db.session.scalars(select(Statement.pool_share))) == [6000] * 5
    balances = client.get(f"{API}/groups/{group.id}/balances", headers=m.lead.headers).json
    assert balances["pool"] == 0
    assert_books_balance(app)


def test_a_settlement_takes_its_opening_from_the_last_settled_period_and_what_came_between(
    app, client, market, monkeypatch
):
    m, group = market, market.tani
    today = settlements.today_wib()
    sold(client, m.buyer, m.lead, (m.cabai_b, "1"))  # 30.000 to Siti, booked now
    with app.app_context():  # and 5.000 booked to her three days ago, between the two periods settled below
        entry = ledger.post(group.id, "adjustment", {member_account(m.siti.id): -5000, GROUP_FUND: 5000})
        entry.created_at = datetime.now(UTC) - timedelta(days=3)
        db.session.commit()
    monkeypatch.setattr(settlements.periods, "today_wib", lambda: today + timedelta(days=1))
    periods = [(today - timedelta(days=10), today - timedelta(days=8)), (today - timedelta(days=2), today)]
    for start, end in periods:
        assert settle(client, group, m.lead, start, end).status_code == 201
        with app.app_context():
            # what the settlement used, against the balances read from every posting
            used = settlements.settlement_balances(group.id, start, end)
            books = settlements.member_balances_at(group.id, [start, end + timedelta(days=1)])
            assert {k: v for k, v in used.items() if any(v)} == {k: v for k, v in books.items() if any(v)}
    with app.app_context():
        row = db.session.scalar(select(Statement).where(Statement.member_id == m.siti.id))
        assert (row.opening, row.sales, row.closing) == (5000, 30000, 35000)
    assert_books_balance(app)


def test_periods_are_settled_in_order_so_a_frozen_statement_never_changes(app, client, kub):
    k, group = kub, kub.group
    today = settlements.today_wib()
    joined_long_ago(app, k.ratna.member_id, k.sri.member_id, k.yuni.member_id, k.wati.id, k.ani.id, k.tini.id)
    sold(client, k.buyer, k.ratna, (k.sarung, 1))
    assert settle(client, group, k.ratna, today - timedelta(days=10), today - timedelta(days=8)).status_code == 201
    sold(client, k.buyer, k.ratna, (k.sarung, 1))  # a pool an earlier period would share into frozen balances
    before = state(app)

    refused = settle(client, group, k.ratna, today - timedelta(days=20), today - timedelta(days=15))

    assert_error(refused, 409)
    assert "period_start" in refused.json["errors"]
    assert state(app) == before
    assert settle(client, group, k.ratna, today - timedelta(days=3), today - timedelta(days=1)).status_code == 201
    assert_books_balance(app)


def test_after_periods_settled_out_of_order_a_settlement_reads_every_posting(app, client, kub, monkeypatch):
    k, group = kub, kub.group
    today = settlements.today_wib()
    joined_long_ago(app, k.ratna.member_id, k.sri.member_id, k.yuni.member_id, k.wati.id, k.ani.id, k.tini.id)
    sold(client, k.buyer, k.ratna, (k.sarung, 1))
    assert settle(client, group, k.ratna, today - timedelta(days=10), today - timedelta(days=8)).status_code == 201
    with app.app_context():  # an earlier period settled after it, as could happen before periods went in order
        db.session.add(
            Settlement(
                group_id=group.id,
                period_start=today - timedelta(days=20),
                period_end=today - timedelta(days=15),
                method="work",
                pool_amount=0,
            )
        )
        db.session.commit()
    read_all = []
    monkeypatch.setattr(
        settlements.statements,
        "member_balances_at",
        lambda *args, _real=settlements.member_balances_at: read_all.append(args) or _real(*args),
    )

    assert settle(client, group, k.ratna, today - timedelta(days=3), today - timedelta(days=1)).status_code == 201
    assert read_all
