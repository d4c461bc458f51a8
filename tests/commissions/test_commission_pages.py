"""Made-to-order jobs on the pages: each page in Indonesian, the buyer's request with its line rows (no script),
the quote and its acceptance, the work shared out, finished pieces counted once however often the form is sent,
a delivery that continues on its order's page, a member's own assignments and the coordinator's home; others are
refused, and bad input shows Indonesian beside the form and changes nothing."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from commissions.models import (
    Commission,
    CommissionAssignment,
    CommissionLine,
    CommissionPieces,
    CommissionQuote,
    CommissionStatus,
)
from core.extensions import db
from marketplace.models import Order, OrderStatus
from marketplace.services import today_wib
from tests.commissions.helpers import accepted_job, line_of, post, quote_job, request_job, uniforms
from tests.factories import make_member
from tests.marketplace.test_marketplace_pages import page_login
from tests.pages import html, t


@pytest.fixture
def job(app, client, market):
    return uniforms(app, client, market)


@pytest.fixture
def as_user(make_client):
    def login(who):
        browser = make_client()
        page_login(browser, who.user)
        return browser

    return login


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _job(app, commission_id) -> Commission:
    with app.app_context():
        found = db.session.get(Commission, commission_id)
        db.session.expunge(found)
        return found


def _speaks_indonesian(response) -> str:
    assert response.status_code == 200, response.status_code
    body = html(response)
    assert '<html lang="id">' in body
    return body


def _assign(client, job, commission, member_id, size, pieces) -> dict:
    return post(
        client,
        f"/commissions/{commission['id']}/assignments",
        job.lead,
        {"line_id": line_of(job, commission, size), "member_id": member_id, "pieces": pieces},
        status=201,
    )


# --- the buyer's request ------------------------------------------------------------------------


def test_the_buyer_asks_from_the_groups_page_with_line_rows_and_no_script(app, job, as_user):
    school = as_user(job.school)
    shop = _speaks_indonesian(school.get(f"/groups/{job.group.id}/shop"))
    assert f'href="/groups/{job.group.id}/commissions/new"' in shop and t(app, "Made-to-order request") in shop
    page = _speaks_indonesian(school.get(f"/groups/{job.group.id}/commissions/new"))
    assert t(app, "What and how many") in page
    assert len(re.findall(r'name="lines-\d+-quantity"', page)) == 5
    # "add a line" posts the form back with a row more, keeping what was typed; nothing is saved
    rows = {f"lines-{i}-quantity": "" for i in range(5)}  # a browser sends every row, empty or not
    more = school.post(
        f"/groups/{job.group.id}/commissions/new",
        data={**rows, "title": "Seragam", "lines-0-quantity": "7", "add_line": "1"},
    )
    assert more.status_code == 200 and len(re.findall(r'name="lines-\d+-quantity"', html(more))) == 6
    assert 'value="7"' in html(more) and _count(app, Commission) == 0
    wanted = (today_wib() + timedelta(days=30)).isoformat()
    sent = school.post(
        f"/groups/{job.group.id}/commissions/new",
        data={
            "title": "Seragam SD kelas 1",
            "lines-0-variant_id": str(job.variants["S"]),
            "lines-0-quantity": "30",
            "lines-2-variant_id": str(job.variants["M"]),
            "lines-2-quantity": "25",
            "lines-3-description": "Rompi batik ukuran guru",
            "lines-3-quantity": "4",
            "wanted_date": wanted,
            "note": "Bordir nama sekolah",
        },
    )
    assert sent.status_code == 302
    with app.app_context():
        commission = db.session.scalar(select(Commission))
        assert sent.headers["Location"].endswith(f"/commissions/{commission.id}")
        got = [(line.variant_id, line.description, int(line.quantity)) for line in commission.lines]
        assert got == [
            (job.variants["S"], None, 30),
            (job.variants["M"], None, 25),
            (None, "Rompi batik ukuran guru", 4),
        ]
    body = _speaks_indonesian(school.get(sent.headers["Location"]))
    assert t(app, "Waiting for the group's quote: a price per piece, a due date and the deposit.") in body
    mine = _speaks_indonesian(school.get("/me/commissions"))
    assert "Seragam SD kelas 1" in mine
    assert 'href="/me/commissions"' in html(school.get("/orders"))


def test_a_bad_request_is_answered_in_indonesian_beside_its_rows_and_saves_nothing(app, job, as_user):
    school = as_user(job.school)
    path = f"/groups/{job.group.id}/commissions/new"
    for data, message in (
        (
            {"title": "", "lines-0-variant_id": str(job.variants["S"]), "lines-0-quantity": "3"},
            "This field is required.",
        ),
        ({"title": "Seragam", "lines-1-variant_id": str(job.variants["S"]), "lines-1-quantity": "2,5"}, None),
        ({"title": "Seragam", "lines-0-quantity": "3"}, "Name a product variant or describe what you want."),
        ({"title": "Seragam"}, "Add at least one line."),
        ({"title": "Seragam", "lines-0-description": "x", "lines-0-quantity": "1", "wanted_date": "2001-01-01"}, None),
    ):
        refused = school.post(path, data=data)
        assert refused.status_code == 422, (data, refused.status_code)
        body = html(refused)
        assert '<html lang="id">' in body
        if message:
            assert t(app, message) in body, (data, message)
        assert 'class="field-error"' in body or 'class="flash error"' in body
    assert _count(app, Commission) == 0 and _count(app, CommissionLine) == 0
    unverified = school.get("/groups/999999/commissions/new")
    assert unverified.status_code == 404


# --- the quote and its answer -------------------------------------------------------------------


def test_the_coordinator_quotes_on_the_page_and_the_buyer_accepts_the_revision_named(app, client, job, as_user):
    commission = request_job(client, job, {"S": (30, 70000), "M": (20, 72000)})
    cid = commission["id"]
    lead, school = as_user(job.lead), as_user(job.school)
    page = _speaks_indonesian(lead.get(f"/commissions/{cid}"))
    assert t(app, "Quote this job") in page and 'name="lines-0-unit_price"' in page
    due = (today_wib() + timedelta(days=25)).isoformat()
    [s_line, m_line] = commission["lines"]
    data = {
        "lines-0-line_id": str(s_line["id"]),
        "lines-0-variant_id": str(job.variants["S"]),
        "lines-0-unit_price": "70.000",
        "lines-1-line_id": str(m_line["id"]),
        "lines-1-variant_id": str(job.variants["M"]),
        "lines-1-unit_price": "lima",
        "due_date": due,
        "deposit_percent": "30",
        "deposit_on_cancel": "keep",
    }
    refused = lead.post(f"/commissions/{cid}/quote", data=data)
    assert refused.status_code == 422
    assert t(app, "Give a whole rupiah amount, such as 12500.") in html(refused)
    assert _count(app, CommissionQuote) == 0
    over = lead.post(
        f"/commissions/{cid}/quote", data={**data, "lines-1-unit_price": "72000", "deposit_percent": "130"}
    )
    assert over.status_code == 422 and t(app, "Give a percent from 0 to 100 with at most 2 decimals.") in html(over)
    assert _count(app, CommissionQuote) == 0
    sent = lead.post(f"/commissions/{cid}/quote", data={**data, "lines-1-unit_price": "72000"})
    assert sent.status_code == 302 and _job(app, cid).status == CommissionStatus.quoted
    # a revision before the buyer answers
    lead.post(f"/commissions/{cid}/quote", data={**data, "lines-1-unit_price": "71000", "deposit_percent": "30"})
    body = _speaks_indonesian(school.get(f"/commissions/{cid}"))
    assert t(app, "Accept revision %(n)d", n=2) in body and "Rp3.520.000" in body  # 30 x 70.000 + 20 x 71.000
    assert t(app, "If the job is cancelled, the group keeps the deposit; anything paid above it is refunded.") in body
    outdated = school.post(f"/commissions/{cid}/accept", data={"revision": "1", "payment_method": "transfer"})
    assert outdated.status_code == 302 and _job(app, cid).status == CommissionStatus.quoted
    no_address = school.post(
        f"/commissions/{cid}/accept", data={"revision": "2", "fulfilment_method": "delivery", "payment_method": "cash"}
    )
    assert no_address.status_code == 422 and t(app, "Give the delivery address.") in html(no_address)
    assert _count(app, Order) == 0
    accepted = school.post(
        f"/commissions/{cid}/accept",
        data={"revision": "2", "fulfilment_method": "pickup", "payment_method": "transfer"},
    )
    assert accepted.status_code == 302 and _job(app, cid).accepted_revision == 2
    again = school.post(f"/commissions/{cid}/accept", data={"revision": "2", "payment_method": "transfer"})
    assert again.status_code == 302 and _count(app, Order) == 1  # the same answer, no second order
    body = _speaks_indonesian(school.get(f"/commissions/{cid}"))
    assert t(app, "How to pay the deposit") in body
    with app.app_context():
        order = db.session.scalar(select(Order))
    coordinator = _speaks_indonesian(lead.get(f"/commissions/{cid}"))
    assert f'href="/orders/{order.id}#record-payment"' in coordinator and t(app, "Record the deposit") in coordinator


def test_declining_and_cancelling_ask_first_and_say_what_happens_to_the_deposit(app, client, job, as_user):
    commission = quote_job(client, job, request_job(client, job), on_cancel="refund")
    cid = commission["id"]
    school = as_user(job.school)
    body = _speaks_indonesian(school.get(f"/commissions/{cid}/cancel"))
    assert t(app, "Cancel this job?") in body and t(app, "No, keep the job") in body
    assert _job(app, cid).status == CommissionStatus.quoted  # looking changes nothing
    assert re.search(rf'<form method="get" action="/commissions/{cid}/cancel"', html(school.get(f"/commissions/{cid}")))
    done = school.post(f"/commissions/{cid}/cancel", data={"note": "Dana belum cair"})
    assert done.status_code == 302 and _job(app, cid).status == CommissionStatus.cancelled
    assert "Dana belum cair" in html(school.get(f"/commissions/{cid}"))
    again = school.get(f"/commissions/{cid}/cancel")
    assert again.status_code == 302

    other = request_job(client, job)
    lead = as_user(job.lead)
    declined = lead.post(f"/commissions/{other['id']}/decline", data={"decline-note": "Penjahit penuh bulan ini"})
    assert declined.status_code == 302 and _job(app, other["id"]).status == CommissionStatus.declined


# --- who may see and do what --------------------------------------------------------------------


def test_others_are_refused_and_nothing_changes(app, client, job, market, as_user):
    commission = accepted_job(client, job)
    cid = commission["id"]
    other_coordinator, other_buyer = as_user(market.lead), as_user(market.other_buyer)
    member = as_user(job.sari)  # a member of the group sees the job, does not change it
    line = line_of(job, commission, "S")
    for browser in (other_coordinator, other_buyer):
        assert browser.get(f"/commissions/{cid}").status_code == 404
        assert browser.get(f"/commissions/{cid}/cancel").status_code == 404
        assert browser.post(f"/commissions/{cid}/quote", data={}).status_code == 404
        assert browser.post(f"/commissions/{cid}/cancel", data={}).status_code == 404
        posted = browser.post(
            f"/commissions/{cid}/assignments", data={"line_id": line, "member_id": job.rina.id, "pieces": "3"}
        )
        assert posted.status_code == 404
    assert other_coordinator.get(f"/groups/{job.group.id}/commissions").status_code == 403
    assert other_buyer.get(f"/groups/{job.group.id}/commissions").status_code == 403
    assert member.get(f"/commissions/{cid}").status_code == 200
    refused = member.post(
        f"/commissions/{cid}/assignments", data={"line_id": line, "member_id": job.rina.id, "pieces": "3"}
    )
    assert refused.status_code == 403
    assert member.get(f"/commissions/{cid}/cancel").status_code == 403
    school = as_user(job.school)
    assert school.post(f"/commissions/{cid}/deliveries", data={"everything": "1"}).status_code == 403
    assert _count(app, CommissionAssignment) == 0 and _job(app, cid).status == CommissionStatus.accepted
    assert member.get("/groups/999999/commissions").status_code == 404


# --- the work -----------------------------------------------------------------------------------


def test_the_work_is_shared_out_and_pieces_sent_twice_count_once(app, client, job, as_user):
    commission = accepted_job(client, job)
    cid = commission["id"]
    lead = as_user(job.lead)
    line = line_of(job, commission, "S")
    too_many = lead.post(
        f"/commissions/{cid}/assignments", data={"line_id": str(line), "member_id": str(job.rina.id), "pieces": "31"}
    )
    assert too_many.status_code == 302 and _count(app, CommissionAssignment) == 0
    assert t(app, "Only %(n)s pieces of this line are left to assign.", n="30") in html(lead.get(f"/commissions/{cid}"))
    bad = lead.post(
        f"/commissions/{cid}/assignments", data={"line_id": str(line), "member_id": str(job.rina.id), "pieces": "1,5"}
    )
    assert bad.status_code == 422 and 'class="field-error"' in html(bad) and _count(app, CommissionAssignment) == 0
    done = lead.post(
        f"/commissions/{cid}/assignments", data={"line_id": str(line), "member_id": str(job.rina.id), "pieces": "20"}
    )
    assert done.status_code == 302 and _job(app, cid).status == CommissionStatus.in_production
    with app.app_context():
        assignment = db.session.scalar(select(CommissionAssignment))
    aid = assignment.id
    page = _speaks_indonesian(lead.get(f"/commissions/{cid}"))
    key = re.search(rf'name="p{aid}-idempotency_key"[^>]*value="([^"]+)"', page) or re.search(
        rf'value="([^"]+)"[^>]*name="p{aid}-idempotency_key"', page
    )
    assert key, "the pieces form carries its key"
    data = {f"p{aid}-quantity": "6", f"p{aid}-idempotency_key": key.group(1)}
    first = lead.post(f"/commission-assignments/{aid}/pieces", data=data)
    second = lead.post(f"/commission-assignments/{aid}/pieces", data=data)  # a double tap
    assert first.status_code == second.status_code == 302
    assert t(app, "These pieces were already recorded.") in html(lead.get(f"/commissions/{cid}"))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CommissionPieces)) == 1
        assert db.session.get(CommissionAssignment, aid).done == 6
    other_number = lead.post(f"/commission-assignments/{aid}/pieces", data={**data, f"p{aid}-quantity": "2"})
    assert other_number.status_code == 422 and _count(app, CommissionPieces) == 1
    more = lead.post(
        f"/commission-assignments/{aid}/pieces", data={f"p{aid}-quantity": "15", f"p{aid}-idempotency_key": "k2"}
    )
    assert more.status_code == 302 and _count(app, CommissionPieces) == 1  # only 14 are left
    below = lead.post(f"/commission-assignments/{aid}", data={f"a{aid}-pieces": "5"})
    assert below.status_code == 302
    with app.app_context():
        assert db.session.get(CommissionAssignment, aid).pieces == 20
    changed = lead.post(f"/commission-assignments/{aid}", data={f"a{aid}-pieces": "25"})
    assert changed.status_code == 302
    with app.app_context():
        assert db.session.get(CommissionAssignment, aid).pieces == 25

    # a part delivered: it becomes its order, packed, and the page leads there
    page = html(lead.get(f"/commissions/{cid}"))
    assert t(app, "Deliver finished pieces") in page
    too_much = lead.post(f"/commissions/{cid}/deliveries", data={"lines-0-line_id": str(line), "lines-0-quantity": "9"})
    assert too_much.status_code == 422 and t(app, "Only %(n)s finished pieces wait to be delivered.", n="6") in html(
        too_much
    )
    delivered = lead.post(
        f"/commissions/{cid}/deliveries", data={"lines-0-line_id": str(line), "lines-0-quantity": "6"}
    )
    assert delivered.status_code == 302
    with app.app_context():
        part = db.session.scalar(select(Order).where(Order.status == OrderStatus.ready))
        assert delivered.headers["Location"].endswith(f"/orders/{part.id}")
        assert [int(line.quantity) for line in part.lines] == [6]


def test_a_member_sees_her_assignments_and_the_coordinator_his_jobs_by_due_date(app, client, job, market, as_user):
    commission = accepted_job(client, job)
    _assign(client, job, commission, job.sari_id, "M", "12")
    _assign(client, job, commission, job.rina.id, "S", "30")
    sari = as_user(job.sari)
    body = _speaks_indonesian(sari.get("/me/commission-assignments"))
    assert "Seragam SD tahun ajaran baru" in body and "12" in body
    assert "Rina" not in body  # her own only
    home = _speaks_indonesian(sari.get("/me/groups"))
    assert 'href="/me/commission-assignments"' in home and t(app, "pieces left to make") in home
    lead = as_user(job.lead)
    home = _speaks_indonesian(lead.get("/me/groups"))
    assert f'href="/commissions/{commission["id"]}"' in home and t(app, "Made to order") in home
    jobs = _speaks_indonesian(lead.get(f"/groups/{job.group.id}/commissions"))
    assert t(app, "At work, by due date") in jobs and "Seragam SD tahun ajaran baru" in jobs
    request_job(client, job)
    home = html(lead.get("/me/groups"))
    assert t(app, "made-to-order request to quote") in home
    nobody = make_member(app, job.group, name="Bu Lain")
    assert nobody.id  # a member without pieces: no section on a home
    plain = as_user(market.plain)
    assert "/me/commission-assignments" not in html(plain.get("/me/groups"))
    assert html(plain.get("/me/commission-assignments")).count("Seragam") == 0


def test_the_pages_speak_english_when_chosen(app, client, job, as_user):
    commission = accepted_job(client, job)
    lead = as_user(job.lead)
    lead.get("/lang/en")
    body = html(lead.get(f"/commissions/{commission['id']}"))
    assert '<html lang="en">' in body and "Give a member pieces to make" in body and "Down payment" in body
