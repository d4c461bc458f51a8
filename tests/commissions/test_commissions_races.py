"""Two coordinators at once: the same finished pieces recorded twice, and assignments beyond what was ordered.

The app is served by a threaded server; each request has its own thread, session and connection, and a barrier
lets them go together. On PostgreSQL the job's row lock keeps them apart; on SQLite its write lock does.
"""

from sqlalchemy import func, select

from commissions.models import CommissionAssignment, CommissionPieces
from core.extensions import db
from inventory.models import Lot
from tests.books import ledger_problems, stock_problems
from tests.commissions.helpers import accepted_job, line_of, post, uniforms
from tests.factories import make_member
from tests.live_server import post_at_once
from tests.market import API, member_with_account


def _pieces(app, assignment_id):
    with app.app_context():
        done = db.session.get(CommissionAssignment, assignment_id).done
        rows = db.session.scalar(
            select(func.count(CommissionPieces.id)).where(CommissionPieces.assignment_id == assignment_id)
        )
        lots = db.session.scalar(select(func.count(Lot.id)))
        return done, rows, lots


def test_the_same_pieces_recorded_by_two_coordinators_at_once_count_once(app, server, client, market):
    job = uniforms(app, client, market)
    second = member_with_account(app, job.group, "coordinator")
    commission = accepted_job(client, job)
    made = post(
        client,
        f"/commissions/{commission['id']}/assignments",
        job.lead,
        {"line_id": line_of(job, commission, "S"), "member_id": job.rina.id, "pieces": "10"},
        status=201,
    )
    _done, _rows, lots_before = _pieces(app, made["id"])
    path = f"{API}/commission-assignments/{made['id']}/pieces"

    # Each with a key of their own: one is recorded, the other finds nothing left to hand in.
    results = post_at_once(
        server, [(path, job.lead.headers, {"quantity": "10"}, "a"), (path, second.headers, {"quantity": "10"}, "b")]
    )
    assert sorted(status for status, _body, _replayed in results) == [201, 409]
    assert _pieces(app, made["id"]) == (10, 1, lots_before + 1)
    assert stock_problems(app) == [] and ledger_problems(app) == []


def test_a_retry_sent_twice_at_once_records_the_pieces_once(app, server, client, market):
    job = uniforms(app, client, market)
    commission = accepted_job(client, job)
    made = post(
        client,
        f"/commissions/{commission['id']}/assignments",
        job.lead,
        {"line_id": line_of(job, commission, "M"), "member_id": job.dewi.id, "pieces": "20"},
        status=201,
    )
    path = f"{API}/commission-assignments/{made['id']}/pieces"
    results = post_at_once(server, [(path, job.lead.headers, {"quantity": "7"}, "same")] * 4)
    assert {status for status, _body, _replayed in results} == {201}
    assert len({body["id"] for _status, body, _replayed in results}) == 1
    assert [replayed for _s, _b, replayed in results].count("true") == 3
    done, rows, _lots = _pieces(app, made["id"])
    assert (done, rows) == (7, 1)
    assert stock_problems(app) == []


def test_assignments_at_once_never_exceed_the_line(app, server, client, market):
    job = uniforms(app, client, market)
    second = member_with_account(app, job.group, "coordinator")
    commission = accepted_job(client, job)
    sewers = [make_member(app, job.group, name=f"Penjahit {i}") for i in range(6)]
    line = line_of(job, commission, "XXL")  # 15 ordered
    path = f"{API}/commissions/{commission['id']}/assignments"
    results = post_at_once(
        server,
        [
            (path, (job.lead, second)[i % 2].headers, {"line_id": line, "member_id": s.id, "pieces": "4"}, None)
            for i, s in enumerate(sewers)
        ],
    )
    assert sorted(status for status, _b, _r in results) == [201, 201, 201, 409, 409, 409]
    with app.app_context():
        assigned = db.session.scalar(
            select(func.sum(CommissionAssignment.pieces)).where(CommissionAssignment.commission_line_id == line)
        )
        assert assigned == 12
