"""Made-to-order jobs through the API: bad input answered with a 4xx that changes nothing, revisions and
acceptance, declining, cancelling with the deposit refunded or kept, and the due list."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from commissions.models import Commission, CommissionAssignment, CommissionEvent, CommissionPieces
from core import ledger
from core.extensions import db
from inventory.models import Lot, Movement, Stock
from marketplace.models import Checkout, Order, OrderLine, SetAsideLot
from marketplace.services import today_wib
from payments.models import Refund
from tests.books import ledger_problems, stock_problems
from tests.commissions.helpers import accepted_job, line_of, ok, post, quote_job, request_job, uniforms
from tests.factories import make_group, make_member
from tests.market import API

TABLES = (
    Commission,
    CommissionAssignment,
    CommissionEvent,
    CommissionPieces,
    Checkout,
    Order,
    OrderLine,
    SetAsideLot,
    Lot,
    Movement,
    Stock,
)


def _rows(app) -> dict:
    with app.app_context():
        return {
            model.__tablename__: [
                tuple(r) for r in db.session.execute(select(model.__table__).order_by(*model.__table__.primary_key))
            ]
            for model in TABLES
        }


@pytest.fixture
def job(app, client, market):
    return uniforms(app, client, market)


def _assign(client, job, commission, member_id, size, pieces):
    return post(
        client,
        f"/commissions/{commission['id']}/assignments",
        job.lead,
        {"line_id": line_of(job, commission, size), "member_id": member_id, "pieces": pieces},
    )


def test_bad_requests_change_nothing(app, client, job, market):
    path = f"/groups/{job.group.id}/commissions"
    before = _rows(app)
    for body in (
        {"title": "", "lines": [{"variant_id": job.variants["S"], "quantity": "1"}]},
        {"title": "x", "lines": []},
        {"title": "x", "lines": [{"variant_id": job.variants["S"], "quantity": "-3"}]},
        {"title": "x", "lines": [{"variant_id": job.variants["S"], "quantity": "1.5"}]},
        {"title": "x", "lines": [{"variant_id": job.variants["S"], "quantity": "1e30"}]},
        {"title": "x", "lines": [{"variant_id": market.daster + 10_000, "quantity": "1"}]},
        {"title": "x", "lines": [{"variant_id": market.cabai_a, "quantity": "1"}]},  # another group's variant
        {"title": "x", "lines": [{"quantity": "3"}]},  # neither a variant nor a description
        {"title": "x", "lines": [{"description": "kemeja", "quantity": "2"}], "wanted_date": "2001-01-01"},
        {"title": "x", "lines": [{"description": "kemeja", "quantity": "2"}], "colour": "red"},
    ):
        response = post(client, path, job.school, body)
        assert response.status_code == 422, (body, response.json)
        assert set(response.json) >= {"code", "status", "message", "errors"}
    assert post(client, "/groups/999999/commissions", job.school, {"title": "x", "lines": []}).status_code == 404
    unverified = make_group(app, market.jahit_lead.user, verified=False)
    body = {"title": "x", "lines": [{"description": "kemeja", "quantity": "2"}]}
    assert post(client, f"/groups/{unverified.id}/commissions", job.school, body).status_code == 409
    anonymous = client.post(f"{API}{path}", json=body)
    assert anonymous.status_code == 401
    assert _rows(app) == before


def test_a_described_line_is_quoted_as_a_variant_and_large_quantities_are_fine(app, client, job):
    commission = post(
        client,
        f"/groups/{job.group.id}/commissions",
        job.school,
        {"title": "Batik kantor", "lines": [{"description": "kemeja batik lengan panjang", "quantity": "4000"}]},
        status=201,
    )
    [line] = commission["lines"]
    assert (line["variant_id"], line["quantity"]) == (None, "4000")
    no_variant = post(
        client,
        f"/commissions/{commission['id']}/quotes",
        job.lead,
        {
            "lines": [{"line_id": line["id"], "unit_price": 150000}],
            "due_date": (today_wib() + timedelta(days=60)).isoformat(),
        },
    )
    assert no_variant.status_code == 422 and "lines.0.variant_id" in no_variant.json["errors"]
    quoted = post(
        client,
        f"/commissions/{commission['id']}/quotes",
        job.lead,
        {
            "lines": [{"line_id": line["id"], "variant_id": job.variants["L"], "unit_price": 150000}],
            "due_date": (today_wib() + timedelta(days=60)).isoformat(),
            "deposit_amount": 100_000_000,
        },
        status=201,
    )
    assert (quoted["quotes"][0]["total"], quoted["quotes"][0]["deposit"]) == (600_000_000, 100_000_000)
    accepted = post(client, f"/commissions/{commission['id']}/accept", job.school, {"revision": 1}, status=200)
    assert accepted["lines"][0]["variant_id"] == job.variants["L"]


def test_bad_quotes_and_acceptances_change_nothing(app, client, job, market):
    commission = request_job(client, job)
    cid = commission["id"]
    lines = [{"line_id": line["id"], "unit_price": 70000} for line in commission["lines"]]
    due = (today_wib() + timedelta(days=20)).isoformat()
    before = _rows(app)
    for body, who, status in (
        ({"lines": lines[:-1], "due_date": due}, job.lead, 422),  # a line without a price
        ({"lines": lines, "due_date": "2001-01-01"}, job.lead, 422),
        ({"lines": lines, "due_date": due, "deposit_percent": "130"}, job.lead, 422),
        ({"lines": lines, "due_date": due, "deposit_percent": "30", "deposit_amount": 5}, job.lead, 422),
        ({"lines": lines, "due_date": due, "deposit_amount": 10**15}, job.lead, 422),
        ({"lines": lines, "due_date": due, "deposit_on_cancel": "maybe"}, job.lead, 422),
        ({"lines": [{**lines[0], "unit_price": -5}, *lines[1:]], "due_date": due}, job.lead, 422),
        ({"lines": [{**lines[0], "line_id": 10**6}, *lines[1:]], "due_date": due}, job.lead, 422),
        ({"lines": [{**lines[0], "variant_id": market.cabai_a}, *lines[1:]], "due_date": due}, job.lead, 422),
        ({"lines": lines, "due_date": due}, job.school, 403),  # the buyer does not quote
        ({"lines": lines, "due_date": due}, market.lead, 404),  # another group's coordinator sees no such job
    ):
        response = post(client, f"/commissions/{cid}/quotes", who, body)
        assert response.status_code == status, (body, response.json)
    assert post(client, f"/commissions/{cid}/accept", job.school, {"revision": 1}).status_code == 409  # not quoted
    assert _rows(app) == before

    quote_job(client, job, commission)
    for body, who, status in (
        ({"revision": 2}, job.school, 409),
        ({"revision": "1"}, job.school, 422),
        ({"revision": 1, "payment_method": "cheque"}, job.school, 422),
        ({"revision": 1, "fulfilment": {"method": "delivery"}}, job.school, 422),
        ({"revision": 1}, job.lead, 403),
        ({"revision": 1}, market.other_buyer, 404),
    ):
        response = post(client, f"/commissions/{cid}/accept", who, body)
        assert response.status_code == status, (body, response.json)
    post(client, f"/commissions/{cid}/accept", job.school, {"revision": 1}, status=200)
    assert post(client, f"/commissions/{cid}/quotes", job.lead, {"lines": lines, "due_date": due}).status_code == 409
    with app.app_context():
        assert db.session.scalar(select(func.count(Order.id))) == 1


def test_assignments_never_exceed_what_was_ordered_and_bad_ones_change_nothing(app, client, job, market):
    commission = accepted_job(client, job)
    other_group_member = make_member(app, market.tani, name="Bu Tani")
    ok(_assign(client, job, commission, job.rina.id, "S", "20"), 201)
    before = _rows(app)
    for member_id, size, pieces, status in (
        (job.dewi.id, "S", "11", 409),  # 20 + 11 > 30
        (job.rina.id, "S", "1", 409),  # she has this line already
        (other_group_member.id, "S", "1", 422),
        (10**6, "S", "1", 422),
        (job.dewi.id, "S", "-1", 422),
        (job.dewi.id, "S", "0.5", 422),
        (job.dewi.id, "S", "99999999999999", 422),
    ):
        response = _assign(client, job, commission, member_id, size, pieces)
        assert response.status_code == status, (member_id, pieces, response.json)
    wrong_line = post(
        client,
        f"/commissions/{commission['id']}/assignments",
        job.lead,
        {"line_id": 10**6, "member_id": job.dewi.id, "pieces": "1"},
    )
    assert wrong_line.status_code == 422
    by_buyer = post(
        client,
        f"/commissions/{commission['id']}/assignments",
        job.school,
        {"line_id": line_of(job, commission, "S"), "member_id": job.dewi.id, "pieces": "1"},
    )
    assert by_buyer.status_code == 403
    assert _rows(app) == before

    dewi = ok(_assign(client, job, commission, job.dewi.id, "S", "10"), 201)
    assert (
        client.patch(
            f"{API}/commission-assignments/{dewi['id']}", json={"pieces": "11"}, headers=job.lead.headers
        ).status_code
        == 409
    )
    post(client, f"/commission-assignments/{dewi['id']}/pieces", job.lead, {"quantity": "4"}, status=201)
    below = client.patch(f"{API}/commission-assignments/{dewi['id']}", json={"pieces": "3"}, headers=job.lead.headers)
    assert below.status_code == 409 and "pieces" in below.json["errors"]
    changed = client.patch(f"{API}/commission-assignments/{dewi['id']}", json={"pieces": "6"}, headers=job.lead.headers)
    assert ok(changed)["pieces"] == "6" and changed.json["remaining"] == "2"
    assert (
        client.patch(
            f"{API}/commission-assignments/{10**6}", json={"pieces": "6"}, headers=job.lead.headers
        ).status_code
        == 404
    )


def test_pieces_are_retry_safe_and_never_more_than_assigned(app, client, job, market):
    commission = accepted_job(client, job)
    rina = ok(_assign(client, job, commission, job.rina.id, "M", "12"), 201)
    path = f"/commission-assignments/{rina['id']}/pieces"
    first = post(client, path, job.lead, {"quantity": "5"}, key="k1", status=201)
    headers = {**job.lead.headers, "Idempotency-Key": "k1"}
    replay = client.post(f"{API}{path}", json={"quantity": "5"}, headers=headers)
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json["id"] == first["id"] and replay.json["assignment"]["done"] == "5"
    assert client.post(f"{API}{path}", json={"quantity": "6"}, headers=headers).status_code == 422  # key reused
    before = _rows(app)
    for body, who, status in (
        ({"quantity": "8"}, job.lead, 409),  # 5 + 8 > 12
        ({"quantity": "0"}, job.lead, 422),
        ({"quantity": "-1"}, job.lead, 422),
        ({"quantity": "2"}, job.school, 404),
        ({"quantity": "2"}, market.lead, 404),  # another group's coordinator
    ):
        response = post(client, path, who, body)
        assert response.status_code == status, (body, response.json)
    assert post(client, f"/commission-assignments/{10**6}/pieces", job.lead, {"quantity": "1"}).status_code == 404
    assert _rows(app) == before
    with app.app_context():
        lot = db.session.get(Lot, first["lot_id"])
        assert (lot.member_id, lot.quantity, lot.variant_id) == (job.rina.id, 5, job.variants["M"])
        stock = db.session.get(Stock, job.variants["M"])
        assert (stock.on_hand, stock.reserved) == (5, 5)  # set aside for the order at once
    assert stock_problems(app) == []


def test_a_small_first_delivery_becomes_its_own_order_and_the_deposit_stays_with_the_rest(app, client, job):
    commission = accepted_job(client, job)
    order = commission["orders"][0]
    deposit = commission["quotes"][-1]["deposit"]
    post(client, f"/orders/{order['id']}/payments", job.lead, {"method": "cash", "amount": deposit}, status=201)
    sari = ok(_assign(client, job, commission, job.sari_id, "S", "30"), 201)
    post(client, f"/commission-assignments/{sari['id']}/pieces", job.lead, {"quantity": "10"}, status=201)
    too_many = post(
        client,
        f"/commissions/{commission['id']}/deliveries",
        job.lead,
        {"lines": [{"line_id": line_of(job, commission, "S"), "quantity": "11"}]},
    )
    assert too_many.status_code == 422
    delivered = post(
        client,
        f"/commissions/{commission['id']}/deliveries",
        job.lead,
        {"lines": [{"line_id": line_of(job, commission, "S"), "quantity": "10"}]},
        status=201,
    )
    part = delivered["order"]
    assert part["id"] != order["id"] and (part["total"], part["paid"], part["status"]) == (700000, 0, "ready")
    rest = next(o for o in delivered["commission"]["orders"] if o["id"] == order["id"])
    assert (rest["paid"], rest["status"]) == (deposit, "confirmed")
    assert delivered["order"]["lines"][0]["allocations"][0]["member_id"] == job.sari_id
    post(client, f"/orders/{part['id']}/complete", job.lead, {"payment": {"amount": 700000}}, status=200)
    assert ledger_problems(app) == [] and stock_problems(app) == []


@pytest.mark.parametrize("on_cancel", ["refund", "keep"])
def test_cancelling_refunds_or_keeps_the_deposit_as_the_quote_said(app, client, job, on_cancel):
    commission = accepted_job(client, job, on_cancel=on_cancel)
    order = commission["orders"][0]
    deposit = commission["quotes"][-1]["deposit"]
    post(client, f"/orders/{order['id']}/payments", job.lead, {"method": "transfer", "amount": deposit}, status=201)
    sari = ok(_assign(client, job, commission, job.sari_id, "S", "30"), 201)
    post(client, f"/commission-assignments/{sari['id']}/pieces", job.lead, {"quantity": "10"}, status=201)

    by_buyer = post(client, f"/commissions/{commission['id']}/cancel", job.school, {"note": "batal"})
    assert by_buyer.status_code == 409  # money was paid: the group gives it back or keeps it
    direct = post(client, f"/orders/{order['id']}/cancel", job.lead, {})
    assert direct.status_code == 409  # a job's order is cancelled with its job

    cancelled = post(client, f"/commissions/{commission['id']}/cancel", job.lead, {"note": "sekolah batal"}, status=200)
    assert cancelled["status"] == "cancelled" and cancelled["orders"][0]["status"] == "cancelled"
    with app.app_context():
        refunded = db.session.scalar(select(func.coalesce(func.sum(Refund.amount), 0)))
        fund = -ledger.balances(job.group.id).get("group_fund", 0)
        stock = db.session.get(Stock, job.variants["S"])
        assert (stock.on_hand, stock.reserved) == (10, 0)  # Sari's pieces stay her lot, free for sale
    if on_cancel == "refund":
        assert (refunded, fund) == (deposit, 0)
    else:
        assert (refunded, fund) == (0, deposit)
        refund_kept = post(client, f"/orders/{order['id']}/refunds", job.lead, {"amount": 1000, "reason": "x"})
        assert refund_kept.status_code == 409
    assert ledger_problems(app) == [] and stock_problems(app) == []
    assert post(client, f"/commissions/{commission['id']}/cancel", job.lead, {}).status_code == 409


def test_decline_and_who_sees_what(app, client, job, market):
    commission = request_job(client, job)
    cid = commission["id"]
    assert post(client, f"/commissions/{cid}/decline", job.school, {}).status_code == 409  # nothing quoted yet
    quote_job(client, job, commission)
    declined = post(client, f"/commissions/{cid}/decline", job.school, {"note": "terlalu mahal"}, status=200)
    assert declined["status"] == "declined"
    assert [e["to_status"] for e in declined["events"]] == ["requested", "quoted", "declined"]
    assert declined["events"][-1]["actor_id"] == job.school.id
    assert client.get(f"{API}/commissions/{cid}", headers=market.other_buyer.headers).status_code == 404
    assert client.get(f"{API}/commissions/{cid}", headers=market.lead.headers).status_code == 404
    assert ok(client.get(f"{API}/commissions/{cid}", headers=job.sari.headers))["assignments"] == []
    other = request_job(client, job)
    assert post(client, f"/commissions/{other['id']}/decline", job.lead, {}, status=200)["status"] == "declined"
    mine = ok(client.get(f"{API}/me/commissions", headers=job.school.headers))
    assert [c["id"] for c in mine["items"]] == [other["id"], cid]
    listed = ok(client.get(f"{API}/groups/{job.group.id}/commissions?status=declined", headers=job.lead.headers))
    assert listed["total"] == 2
    assert client.get(f"{API}/groups/{job.group.id}/commissions", headers=job.school.headers).status_code == 403


def test_jobs_at_risk_come_first(app, client, job):
    relaxed = accepted_job(client, job, days=60)
    tight = accepted_job(client, job, days=3)
    finished_soon = accepted_job(client, job, days=2)
    for size in ("S", "M", "L", "XL", "XXL"):
        line = next(li for li in finished_soon["lines"] if li["variant_id"] == job.variants[size])
        pieces = line["quantity"]
        made = ok(
            post(
                client,
                f"/commissions/{finished_soon['id']}/assignments",
                job.lead,
                {"line_id": line["id"], "member_id": job.rina.id, "pieces": pieces},
            ),
            201,
        )
        post(client, f"/commission-assignments/{made['id']}/pieces", job.lead, {"quantity": pieces}, status=201)
    due = ok(client.get(f"{API}/groups/{job.group.id}/commissions/due", headers=job.lead.headers))
    assert [row["commission_id"] for row in due] == [tight["id"], relaxed["id"], finished_soon["id"]]
    assert due[0]["pieces_per_day"] == "40" and due[0]["days_left"] == 3
    assert due[2]["pieces_left"] == "0" and due[2]["status"] == "ready"
    assert client.get(f"{API}/groups/{job.group.id}/commissions/due", headers=job.school.headers).status_code == 403
