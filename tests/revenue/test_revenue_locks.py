"""A refund after completion and an SHU acceptance never interleave: both take the group's books lock.

An acceptance checks that the group fund holds the surplus, then spends it; a
refund after completion takes earnings back, partly from the fund. On
PostgreSQL each request below runs in its own transaction through a live
server, and the test holds a row lock of its own to stop one request at a
chosen point while the other arrives, so the interleaving that would break the
fund's check happens every time, not by chance.
"""

import http.client
import json
import threading
import time

import pytest
from sqlalchemy import create_engine, text

from revenue.models import ShuAllocation
from tests.books import assert_books_balance
from tests.factories import rows
from tests.live_server import SECONDS, server  # noqa: F401 (fixture)
from tests.market import API, sold
from tests.revenue.test_payouts import account
from tests.revenue.test_shu import PLAN, YEAR, draft, trading, year_ended  # noqa: F401 (fixtures)


@pytest.fixture
def postgresql(database_url):
    """A connection of the test's own to the run's PostgreSQL database (the test is about its row locks)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks between transactions: PostgreSQL only (SQLite runs one writer at a time)")
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


class Sent:
    """A POST sent on a thread of its own; `done` is set when its answer is in."""

    def __init__(self, server, path: str, headers: dict, body: dict | None = None):
        self.status, self.body = None, None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(server, path, headers, body), daemon=True)
        self.thread.start()

    def _run(self, server, path, headers, body):
        conn = http.client.HTTPConnection(*server, timeout=SECONDS)
        try:
            conn.request(
                "POST",
                f"{API}{path}",
                body=json.dumps(body or {}),
                headers={**headers, "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            self.status, self.body = response.status, json.loads(response.read() or b"{}")
        finally:
            conn.close()
            self.done.set()

    def answer(self) -> tuple[int, dict]:
        self.thread.join(SECONDS)
        assert self.done.is_set(), "a request is still waiting: a lock was never released"
        return self.status, self.body


def waiting_on_locks(engine) -> int:
    """How many sessions of this database wait for a lock now."""
    with engine.connect() as conn:
        return conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )


def until(condition, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def refundable(client, trading):
    """One more completed order, of Ani's tomat (Rp12.003; the fund keeps Rp1.201 of it), to refund whole; the
    year's SHU drafted over everything the fund holds."""
    trading.order = sold(client, trading.buyer, trading.lead, (trading.tomat, "3"))
    assert account(client.application, trading.tani.id, "group_fund") == -(38701 + 1201)
    response = draft(client, trading.tani.id, trading.lead, **PLAN)
    assert response.status_code == 201 and response.json["surplus"] == 38701 + 1201, response.json
    return trading


def refund_path(market) -> str:
    return f"/orders/{market.order['id']}/refunds"


REFUND = {"amount": 12003, "reason": "Tomat busuk"}


def test_an_acceptance_waits_for_a_refund_in_flight_and_then_sees_the_fund_it_left(
    app, server, postgresql, refundable, year_ended
):
    """The refund takes the fund's Rp1.201 back first: the acceptance, which waited, finds the fund short of
    the drafted surplus and refuses (409) instead of spending money the fund no longer holds."""
    m = refundable
    with postgresql.connect() as hold:
        # Ani's row held: the refund stops when it writes her give-back, after taking the books lock.
        hold.execute(text("SELECT id FROM members WHERE id = :id FOR UPDATE"), {"id": m.ani.id})
        refund = Sent(server, refund_path(m), m.lead.headers, REFUND)
        assert until(lambda: waiting_on_locks(postgresql) >= 1), "the refund never reached Ani's row"
        accepting = Sent(server, f"/groups/{m.tani.id}/shu/{YEAR}/accept", m.lead.headers)
        assert until(lambda: waiting_on_locks(postgresql) >= 2 or accepting.done.is_set())
        hold.rollback()

    assert refund.answer()[0] == 201, refund.body
    status, body = accepting.answer()
    assert status == 409, body  # without the lock: 200, and a surplus of Rp39.902 from a fund of Rp38.701
    assert "surplus" in body["errors"]
    assert account(app, m.tani.id, "group_fund") == -38701
    assert rows(app, ShuAllocation) == []
    assert_books_balance(app)


def test_a_refund_waits_for_an_acceptance_in_flight(app, server, postgresql, refundable, year_ended):
    """The acceptance takes the books lock first: the refund waits until it is booked, and then takes its
    give-back from the fund the acceptance left (a debt of the fund, as for any refund after an SHU)."""
    m = refundable
    with postgresql.connect() as hold:
        # The SHU's first reserve account held open: the acceptance stops when it books, after its fund check.
        hold.execute(
            text("INSERT INTO ledger_accounts (group_id, key, created_at) VALUES (:g, :k, now())"),
            {"g": m.tani.id, "k": "shu_reserve"},
        )
        accepting = Sent(server, f"/groups/{m.tani.id}/shu/{YEAR}/accept", m.lead.headers)
        assert until(lambda: waiting_on_locks(postgresql) >= 1), "the acceptance never reached its accounts"
        refund = Sent(server, refund_path(m), m.lead.headers, REFUND)
        waited = until(lambda: waiting_on_locks(postgresql) >= 2 or refund.done.is_set())
        refunded_meanwhile = refund.done.is_set()
        hold.rollback()

    assert waited and not refunded_meanwhile, (
        "the refund was booked while an acceptance that had checked the fund was still in flight"
    )
    assert accepting.answer()[0] == 200, accepting.body
    assert refund.answer()[0] == 201, refund.body
    assert account(app, m.tani.id, "group_fund") == 1201
    assert len(rows(app, ShuAllocation)) == 3
    assert_books_balance(app)


def test_refunds_and_an_acceptance_sent_at_once_keep_the_books(app, server, refundable, year_ended):
    """However they fall, on either database: nothing deadlocks, the books balance, and the fund gives exactly
    the refunds' give-backs and, if it was accepted, the surplus."""
    m = refundable
    more = [
        sold(app.test_client(), m.buyer, m.lead, (m.tomat, "1")) for _ in range(2)
    ]  # Rp4.001 each; the fund keeps 401
    sent = [Sent(server, refund_path(m), m.lead.headers, REFUND)]
    sent += [
        Sent(
            server, f"/orders/{order['id']}/refunds", m.treasurer.headers, {"amount": order["total"], "reason": "Batal"}
        )
        for order in more
    ]
    sent.append(Sent(server, f"/groups/{m.tani.id}/shu/{YEAR}/accept", m.lead.headers))

    answers = [s.answer() for s in sent]

    assert [status for status, _ in answers[:-1]] == [201, 201, 201], answers
    accepted = answers[-1][0] == 200
    assert accepted or answers[-1][0] == 409, answers[-1]
    assert -account(app, m.tani.id, "group_fund") == 39902 + 2 * 401 - (1201 + 2 * 401) - (39902 if accepted else 0)
    assert len(rows(app, ShuAllocation)) == (3 if accepted else 0)
    assert_books_balance(app)
