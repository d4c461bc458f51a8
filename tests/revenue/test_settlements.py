"""Work logs, settlements and statements: a KUB's month shared by work, to the rupiah, and the rules around it.

The figures in the worked example are computed by hand in the comments; the
test asserts them literally. Every refused request is checked to have changed
nothing.
"""

import csv
import io
from datetime import timedelta

from revenue.services import settlements
from tests.books import assert_books_balance, ledger_check
from tests.factories import assert_error, make_member
from tests.market import sold
from tests.revenue.settlement_world import (
    API,
    joined_long_ago,
    kub,  # noqa: F401 (fixture)
    log_work,
    logged,
    settle,
    state,
    statement,
)

# --- the KUB's month --------------------------------------------------------------------------


def test_a_kub_month_shared_by_work_to_the_rupiah_with_frozen_statements(app, client, kub, monkeypatch):
    k, group = kub, kub.group
    today = settlements.today_wib()
    start, end = today - timedelta(days=30), today - timedelta(days=1)

    # The month's orders, paid in cash at handover. Each line's net goes 90 % to the pool, 10 % to the fund;
    # the pool gets the floor of its exact share:
    #   2 daster   170.000 -> pool 153.000
    #   1 mukena   150.000 -> pool 135.000; 3 tas 105.000 -> pool 94.500
    #   4 daster   340.000 -> pool 306.000
    #   5 tas      175.000 -> pool 157.500
    #   3 sarung    37.035 -> pool floor(33.331,5) = 33.331, fund 3.704
    sold(client, k.buyer, k.ratna, (k.daster, 2))
    sold(client, k.buyer, k.ratna, (k.mukena, 1), (k.tas, 3))
    sold(client, k.buyer, k.ratna, (k.daster, 4))
    tas_order = sold(client, k.buyer, k.ratna, (k.tas, 5))
    sold(client, k.buyer, k.ratna, (k.sarung, 3))
    # One bag came back: Rp35.000 refunded. The pool gives back 35.000 x 157.500 / 175.000 = 31.500.
    response = client.post(
        f"{API}/orders/{tas_order['id']}/refunds",
        headers=k.ratna.headers,
        json={"amount": 35000, "reason": "jahitan lepas"},
    )
    assert response.status_code == 201, response.json
    # Pool: 153.000 + 135.000 + 94.500 + 306.000 + 157.500 + 33.331 - 31.500 = 847.831
    # Fund: 17.000 + 15.000 + 10.500 + 34.000 + 17.500 + 3.704 - 3.500 = 94.204
    balances = client.get(f"{API}/groups/{group.id}/balances", headers=k.ratna.headers).json
    assert (balances["pool"], balances["group_fund"]) == (847831, 94204)

    # The month's work, logged by the coordinator and the treasurer: pieces sewn.
    logged(client, group, k.ratna, k.ratna.member_id, "10", start + timedelta(days=2))
    logged(client, group, k.ratna, k.ratna.member_id, "5", start + timedelta(days=20))
    logged(client, group, k.sri, k.sri.member_id, "12", start + timedelta(days=5))
    logged(client, group, k.ratna, k.wati.id, "20", start + timedelta(days=9))
    mistake = logged(client, group, k.sri, k.wati.id, "7", start + timedelta(days=9))
    logged(client, group, k.sri, k.yuni.member_id, "8.5", end)
    logged(client, group, k.ratna, k.ani.id, "14", start)
    logged(client, group, k.ratna, k.ani.id, "3", today)  # today: not in the month
    response = client.post(
        f"{API}/groups/{group.id}/work-logs/{mistake['id']}/reverse", headers=k.ratna.headers, json={"note": "dobel"}
    )
    assert response.status_code == 201, response.json
    assert (response.json["units"], response.json["reverses_id"]) == ("-7", mistake["id"])
    # Tini logged nothing this month. Units: Ratna 15, Sri 12, Wati 20, Yuni 8,5, Ani 14 = 69,5.

    response = settle(client, group, k.ratna, start, end)

    assert response.status_code == 201, response.json
    s = response.json
    assert (s["period_start"], s["period_end"]) == (start.isoformat(), end.isoformat())
    assert (s["method"], s["shared_by"], s["note"]) == ("work", "work", None)
    # Each gets the floor of 847.831 x units / 69,5:
    #   Ratna 15   -> 182.985,11 -> 182.985
    #   Sri   12   -> 146.388,09 -> 146.388
    #   Wati  20   -> 243.980,14 -> 243.980
    #   Yuni  8,5  -> 103.691,56 -> 103.691
    #   Ani   14   -> 170.786,10 -> 170.786
    # together 847.830; the group fund gets the 1 rupiah left.
    shares = {
        k.ratna.member_id: 182985,
        k.sri.member_id: 146388,
        k.wati.id: 243980,
        k.yuni.member_id: 103691,
        k.ani.id: 170786,
    }
    assert (s["pool_amount"], s["members_share"], s["group_fund_part"]) == (847831, 847830, 1)
    assert {st["member_id"]: st["pool_share"] for st in s["statements"]} == shares  # Tini: nothing, no statement
    for st in s["statements"]:
        assert (st["opening"], st["sales"], st["refunds"], st["payouts"], st["shu"]) == (0, 0, 0, 0, 0)
        assert st["closing"] == shares[st["member_id"]]
    balances = client.get(f"{API}/groups/{group.id}/balances", headers=k.ratna.headers).json
    assert (balances["pool"], balances["group_fund"]) == (0, 94205)
    assert {m["member_id"]: m["balance"] for m in balances["members"] if m["balance"]} == shares

    frozen = statement(client, group, k.yuni, k.yuni.member_id, settlement_id=s["id"]).json
    assert (frozen["settlement_id"], frozen["period_start"], frozen["period_end"]) == (
        s["id"],
        start.isoformat(),
        end.isoformat(),
    )
    assert (frozen["opening"], frozen["pool_share"], frozen["closing"]) == (0, 103691, 103691)
    assert frozen["detail"] == {
        "sales": [],
        "refunds": [],
        "shu": [],
        "payouts": [],
        "pool_shares": [
            {
                "settlement_id": s["id"],
                "period_start": start.isoformat(),
                "period_end": end.isoformat(),
                "shared_by": "work",
                "units": "8.5",
                "total_units": "69.5",
                "members": 5,
                "amount": 103691,
                "date": end.isoformat(),
            }
        ],
    }
    # The live statement of the same range agrees with the frozen one.
    live = statement(client, group, k.yuni, k.yuni.member_id, **{"from": start.isoformat(), "to": end.isoformat()})
    assert {key: v for key, v in live.json.items() if key not in ("settlement_id", "frozen_at")} == {
        key: v for key, v in frozen.items() if key not in ("settlement_id", "frozen_at")
    }
    result = ledger_check(app)
    assert result.exit_code == 0, result.output

    # The next days: one more dress sold (pool 76.500), Bu Ratna paid Rp100.000 by the treasurer, and work.
    sold(client, k.buyer, k.ratna, (k.daster, 1))
    response = client.post(
        f"{API}/groups/{group.id}/payouts",
        headers=k.sri.headers,
        json={"member_id": k.ratna.member_id, "amount": 100000, "method": "cash"},
    )
    assert response.status_code == 201, response.json
    logged(client, group, k.sri, k.tini.id, "2", today)
    logged(client, group, k.sri, k.sri.member_id, "0.5", today)
    # Ani 3 (logged earlier for today) + Tini 2 + Sri 0,5 = 5,5 units: 76.500 x 3 / 5,5 = 41.727,27 -> 41.727,
    # x 2 / 5,5 = 27.818,18 -> 27.818, x 0,5 / 5,5 = 6.954,54 -> 6.954; the fund gets 76.500 - 76.499 = 1.
    live = statement(client, group, k.ratna, k.ratna.member_id, **{"from": today.isoformat()}).json
    assert (live["opening"], live["payouts"], live["closing"]) == (182985, 100000, 82985)

    monkeypatch.setattr(settlements.periods, "today_wib", lambda: today + timedelta(days=1))  # today has ended
    response = settle(client, group, k.ratna, today, today)

    assert response.status_code == 201, response.json
    second = response.json
    assert (second["pool_amount"], second["members_share"], second["group_fund_part"]) == (76500, 76499, 1)
    by_member = {st["member_id"]: st for st in second["statements"]}
    assert {m: st["pool_share"] for m, st in by_member.items() if st["pool_share"]} == {
        k.ani.id: 41727,
        k.tini.id: 27818,
        k.sri.member_id: 6954,
    }
    ratna = by_member[k.ratna.member_id]
    assert (ratna["opening"], ratna["pool_share"], ratna["payouts"], ratna["closing"]) == (182985, 0, 100000, 82985)
    sri = by_member[k.sri.member_id]
    assert (sri["opening"], sri["pool_share"], sri["closing"]) == (146388, 6954, 153342)
    tini = by_member[k.tini.id]
    assert (tini["opening"], tini["closing"]) == (0, 27818)
    # Yuni and Wati had nothing in the period, but a balance: their statements carry it over.
    assert (by_member[k.yuni.member_id]["opening"], by_member[k.yuni.member_id]["closing"]) == (103691, 103691)
    frozen = statement(client, group, k.ratna, k.ratna.member_id, settlement_id=second["id"]).json
    [payout] = frozen["detail"]["payouts"]
    assert (payout["amount"], payout["method"], payout["date"]) == (100000, "cash", today.isoformat())
    listed = client.get(f"{API}/groups/{group.id}/settlements", headers=k.sri.headers).json
    assert [item["id"] for item in listed["items"]] == [second["id"], s["id"]] and listed["total"] == 2
    result = ledger_check(app)
    assert result.exit_code == 0, result.output


def test_work_method_with_no_work_logged_shares_equally_among_members_active_in_the_period(app, client, kub):
    k, group = kub, kub.group
    today = settlements.today_wib()
    gone = make_member(app, group, name="Sumi", active=False)
    joined_long_ago(app, k.ratna.member_id, k.sri.member_id, k.yuni.member_id, k.wati.id, k.ani.id, gone.id)
    # Tini joined today, after the period: she shares in the next one.
    sold(client, k.buyer, k.ratna, (k.sarung, 1))  # 12.345 -> pool floor(11.110,5) = 11.110

    response = settle(client, group, k.ratna, today - timedelta(days=7), today - timedelta(days=1))

    assert response.status_code == 201, response.json
    s = response.json
    assert (s["method"], s["shared_by"]) == ("work", "equal")
    assert isinstance(s["note"], str) and s["note"]  # the settlement says why
    # 11.110 / 5 members = 2.222 each, nothing left for the fund.
    assert {st["member_id"]: st["pool_share"] for st in s["statements"]} == {
        k.ratna.member_id: 2222,
        k.sri.member_id: 2222,
        k.yuni.member_id: 2222,
        k.wati.id: 2222,
        k.ani.id: 2222,
    }
    assert (s["members_share"], s["group_fund_part"]) == (11110, 0)
    assert_books_balance(app)


def test_a_contribution_groups_statement_lists_every_sale_line_and_its_csv_parses(app, client, market, monkeypatch):
    m, group = market, market.tani
    today = settlements.today_wib()
    assert (
        client.put(
            f"{API}/groups/{group.id}/split-policy",
            headers=m.lead.headers,
            json={"method": "contribution", "group_fund_percent": "10"},
        ).status_code
        == 200
    )
    # 3 kg cabai at 45.000 = 135.000 (Siti's 2 kg lot first, then 1 kg of Ani's) and 2,5 kg tomat at 4.001 =
    # 10.002,5 -> 10.003 (Ani's). Cabai: the fund's 10 % is 13.500, members share 121.500 by 2:1 -> Siti 81.000,
    # Ani 40.500. Tomat: 10 % is 1.000,3; Ani gets floor(9.002,7) = 9.002, the fund 1.001.
    done = sold(client, m.buyer, m.lead, (m.cabai_a, "3"), (m.tomat, "2.5"))
    assert done["total"] == 145003

    monkeypatch.setattr(settlements.periods, "today_wib", lambda: today + timedelta(days=1))
    response = settle(client, group, m.lead, today - timedelta(days=6), today)
    assert response.status_code == 201, response.json
    s = response.json
    assert (s["method"], s["shared_by"], s["pool_amount"], s["entry_id"]) == ("contribution", None, 0, None)
    figures = {st["member_id"]: st for st in s["statements"]}
    assert set(figures) == {m.siti.id, m.ani.id}
    siti = figures[m.siti.id]
    assert (siti["opening"], siti["sales"], siti["fees"], siti["fund_deductions"], siti["closing"]) == (
        0,
        81000,
        0,
        9000,
        81000,
    )
    ani = figures[m.ani.id]
    # Ani: cabai gross 45.000 -> 40.500 (fund 4.500); tomat gross 10.003 -> 9.002 (fund 1.001).
    assert (ani["sales"], ani["fund_deductions"], ani["closing"]) == (49502, 5501, 49502)

    frozen = statement(client, group, m.treasurer, m.ani.id, settlement_id=s["id"]).json
    lines = sorted(frozen["detail"]["sales"], key=lambda line: line["product"])
    order_line = {line["product_name"]: line["id"] for line in done["lines"]}
    assert lines == [
        {
            "order_id": done["id"],
            "order_line_id": order_line["Cabai rawit"],
            "product": "Cabai rawit",
            "quantity": "1",
            "lot_id": m.ani_lot,
            "gross": 45000,
            "fee": 0,
            "refunded": 0,
            "fund_deduction": 4500,
            "amount": 40500,
            "date": today.isoformat(),
        },
        {
            "order_id": done["id"],
            "order_line_id": order_line["Tomat"],
            "product": "Tomat",
            "quantity": "2.5",
            "lot_id": lines[1]["lot_id"],
            "gross": 10003,
            "fee": 0,
            "refunded": 0,
            "fund_deduction": 1001,
            "amount": 9002,
            "date": today.isoformat(),
        },
    ]

    response = statement(client, group, m.treasurer, m.ani.id, settlement_id=s["id"], format="csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0]) == list(settlements.CSV_COLUMNS)
    assert [row["kind"] for row in rows] == ["opening", "sale", "sale", "closing"]
    assert int(rows[0]["amount"]) + sum(int(row["amount"]) for row in rows[1:-1]) == int(rows[-1]["amount"]) == 49502
    assert {row["product"]: row["fund_deduction"] for row in rows if row["kind"] == "sale"} == {
        "Cabai rawit": "4500",
        "Tomat": "1001",
    }
    assert_books_balance(app)


# --- who may do what ----------------------------------------------------------------------------


def test_a_member_sees_only_their_own_statement_and_cannot_settle(app, client, market):
    m, group = market, market.tani
    today = settlements.today_wib()
    own = statement(client, group, m.plain, m.plain.member_id)
    assert own.status_code == 200, own.json
    assert (own.json["member_id"], own.json["closing"], own.json["settlement_id"]) == (m.plain.member_id, 0, None)
    assert statement(client, group, m.treasurer, m.siti.id).status_code == 200
    assert statement(client, group, m.lead, m.plain.member_id, format="csv").status_code == 200

    assert_error(statement(client, group, m.plain, m.siti.id), 403)
    assert_error(statement(client, group, m.plain, m.siti.id, format="csv"), 403)
    assert_error(statement(client, group, m.jahit_lead, m.siti.id), 403)  # another group's coordinator
    assert_error(statement(client, group, m.buyer, m.siti.id), 403)
    assert_error(statement(client, group, m.admin, m.siti.id), 403)
    assert_error(statement(client, group, m.plain, m.wati.id), 404)  # a member of another group
    assert_error(statement(client, group, m.lead, 999999), 404)
    assert_error(client.get(f"{API}/groups/{group.id}/members/{m.siti.id}/statement"), 401)

    before = state(app)
    period = (today - timedelta(days=7), today - timedelta(days=1))
    assert_error(settle(client, group, m.plain, *period), 403)
    assert_error(settle(client, group, m.treasurer, *period), 403)
    assert_error(settle(client, group, m.jahit_lead, *period), 403)
    assert_error(client.get(f"{API}/groups/{group.id}/settlements", headers=m.plain.headers), 403)
    assert_error(log_work(client, group, m.plain, m.siti.id, "3", today), 403)
    assert_error(log_work(client, group, m.jahit_lead, m.siti.id, "3", today), 403)
    assert state(app) == before


def test_a_member_sees_only_their_own_work_logs(app, client, market):
    m, group = market, market.tani
    today = settlements.today_wib()
    logged(client, group, m.treasurer, m.siti.id, "4", today)
    mine = logged(client, group, m.lead, m.plain.member_id, "2.25", today - timedelta(days=1))
    listed = client.get(f"{API}/groups/{group.id}/work-logs", headers=m.plain.headers).json
    assert [item["id"] for item in listed["items"]] == [mine["id"]] and listed["total"] == 1
    assert_error(client.get(f"{API}/groups/{group.id}/work-logs?member_id={m.siti.id}", headers=m.plain.headers), 403)
    everyone = client.get(f"{API}/groups/{group.id}/work-logs?per_page=1", headers=m.lead.headers).json
    assert (everyone["total"], everyone["per_page"], len(everyone["items"])) == (2, 1, 1)
    assert everyone["items"][0]["units"] == "4"  # the latest day first
    ranged = client.get(
        f"{API}/groups/{group.id}/work-logs",
        headers=m.treasurer.headers,
        query_string={"from": (today - timedelta(days=1)).isoformat(), "to": (today - timedelta(days=1)).isoformat()},
    ).json
    assert [item["member_name"] for item in ranged["items"]] == [f"Anggota {m.plain.id}"]
    assert_error(client.get(f"{API}/groups/{group.id}/work-logs?from=kemarin", headers=m.lead.headers), 422, "from")


# --- bad input ----------------------------------------------------------------------------------


def test_overlapping_unended_and_malformed_periods_are_refused_and_change_nothing(app, client, market):
    m, group = market, market.tani
    today = settlements.today_wib()
    first = settle(client, group, m.lead, today - timedelta(days=20), today - timedelta(days=11))
    assert first.status_code == 201, first.json
    before = state(app)

    for start, end in (
        (today - timedelta(days=20), today - timedelta(days=11)),  # the same period
        (today - timedelta(days=25), today - timedelta(days=15)),  # overlaps its start
        (today - timedelta(days=12), today - timedelta(days=5)),  # overlaps its end
        (today - timedelta(days=15), today - timedelta(days=14)),  # inside it
        (today - timedelta(days=30), today - timedelta(days=1)),
    ):  # around it
        assert_error(settle(client, group, m.lead, start, end), 409, "period_start")
    assert_error(settle(client, group, m.lead, today - timedelta(days=3), today), 422, "period_end")  # not ended
    assert_error(settle(client, group, m.lead, today, today + timedelta(days=30)), 422, "period_end")  # future
    assert_error(settle(client, group, m.lead, today - timedelta(days=2), today - timedelta(days=5)), 422, "period_end")
    for body, fields in (
        ({}, ("period_start", "period_end")),
        ({"period_start": "2026-02-30", "period_end": "2026-03-01"}, ("period_start",)),
        ({"period_start": "1/3/2026", "period_end": 20260301}, ("period_start", "period_end")),
        ({"period_start": "1999-12-01", "period_end": "1999-12-31"}, ("period_start",)),
        ({"period_start": None, "period_end": ["2026-01-01"]}, ("period_start", "period_end")),
    ):
        response = client.post(f"{API}/groups/{group.id}/settlements", headers=m.lead.headers, json=body)
        assert_error(response, 422, *fields)
    assert_error(
        client.post(
            f"{API}/groups/{group.id}/settlements", headers=m.lead.headers, data="{", content_type="application/json"
        ),
        400,
    )
    assert_error(
        client.post(
            f"{API}/groups/999999/settlements",
            headers=m.lead.headers,
            json={"period_start": "2026-01-01", "period_end": "2026-01-31"},
        ),
        404,
    )
    # A period after the settled one is fine.
    assert settle(client, group, m.lead, today - timedelta(days=10), today - timedelta(days=1)).status_code == 201
    after = state(app)
    assert len(after["settlements"]) == len(before["settlements"]) + 1


def test_bad_work_logs_are_refused_and_change_nothing(app, client, market):
    m, group = market, market.tani
    today = settlements.today_wib()
    inactive = make_member(app, group, name="Pak Darmo", active=False)
    settled = settle(client, group, m.lead, today - timedelta(days=40), today - timedelta(days=30))
    assert settled.status_code == 201
    kept = logged(client, group, m.lead, m.siti.id, "3", today - timedelta(days=2))
    correction = client.post(f"{API}/groups/{group.id}/work-logs/{kept['id']}/reverse", headers=m.lead.headers)
    assert correction.status_code == 201
    before = state(app)

    for units in ("0", "-1", "1.2345", 1.5, "abc", "", None, True, "1e3"):
        assert_error(log_work(client, group, m.lead, m.siti.id, units, today), 422, "units")
    for day in (today + timedelta(days=1), today - timedelta(days=367)):
        assert_error(log_work(client, group, m.lead, m.siti.id, "1", day), 422, "date")
    for member_id in (inactive.id, m.wati.id, 999999, "1", None):
        response = client.post(
            f"{API}/groups/{group.id}/work-logs",
            headers=m.lead.headers,
            json={"member_id": member_id, "units": "1", "date": today.isoformat()},
        )
        assert_error(response, 422, "member_id")
    assert_error(log_work(client, group, m.lead, m.siti.id, "1", today, note="x" * 501), 422, "note")
    assert_error(
        client.post(
            f"{API}/groups/{group.id}/work-logs",
            headers=m.lead.headers,
            json={"member_id": m.siti.id, "units": "1", "date": "31-01-2026"},
        ),
        422,
        "date",
    )
    assert_error(client.post(f"{API}/groups/{group.id}/work-logs", headers=m.lead.headers, json=[1]), 422)
    # A settled day cannot change.
    assert_error(log_work(client, group, m.lead, m.siti.id, "1", today - timedelta(days=35)), 409, "date")
    # A log is corrected once, and a correction is not corrected.
    assert_error(client.post(f"{API}/groups/{group.id}/work-logs/{kept['id']}/reverse", headers=m.lead.headers), 409)
    assert_error(
        client.post(f"{API}/groups/{group.id}/work-logs/{correction.json['id']}/reverse", headers=m.lead.headers), 409
    )
    assert_error(client.post(f"{API}/groups/{group.id}/work-logs/999999/reverse", headers=m.lead.headers), 404)
    assert state(app) == before


def test_bad_statement_queries_are_4xx(app, client, market):
    m, group = market, market.tani
    for query, fields in (
        ({"from": "kemarin"}, ("from",)),
        ({"to": "2026-13-01"}, ("to",)),
        ({"from": "2026-02-01", "to": "2026-01-01"}, ("to",)),
        ({"format": "xlsx"}, ("format",)),
    ):
        assert_error(statement(client, group, m.lead, m.siti.id, **query), 422, *fields)
    assert_error(statement(client, group, m.lead, m.siti.id, settlement_id=999999), 404)
    assert_error(statement(client, group, m.lead, m.siti.id, settlement_id="x"), 422, "settlement_id")
