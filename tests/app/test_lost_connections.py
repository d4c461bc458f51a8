"""Database connections terminated in the middle of checkouts and payments (PostgreSQL's pg_terminate_backend, on
this run's scratch database only): each request commits whole or not at all, a lost connection is a 503 in the
one error shape, a retry with the same Idempotency-Key makes exactly one, the pool recovers, and
`flask stock check` and `flask ledger check` are clean afterwards.

Two ways: a thread terminating every connection of the database a few times while checkouts and payments run,
and, to be sure each step of a request is hit, a request's own connection terminated before its n-th statement
(or its COMMIT), for every n. On SQLite there is no connection to lose: skipped.
"""

import random
import threading

import psycopg
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url

from core.extensions import db
from marketplace.models import Checkout, Order
from payments.models import Payment
from tests.market import API, body_of, contribute

TERMINATE_OTHERS = (
    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
)
ATTEMPTS = 30  # retries of one request before the test gives up
TERMINATIONS = 10  # times the thread terminates every connection, at random moments of the run
MOST_CHECKOUTS = 90  # of 0.5 kg, from the 50 kg `stocked` adds


@pytest.fixture
def postgres(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("terminating connections is a PostgreSQL test (TEST_DATABASE_URL)")
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as admin:
        assert admin.execute("SELECT current_database()").fetchone()[0] == url.database
        yield admin


@pytest.fixture
def stocked(app, client, market):
    """The market with 50 kg of tomatoes more (Rp4.001/kg), for many small checkouts."""
    contribute(client, market.tani, market.lead.headers, market.tomat, market.ani, "50")
    return market


def send(client, path, who, body, key):
    return client.post(f"{API}{path}", json=body, headers={**who.headers, "Idempotency-Key": key})


def until_done(client, path, who, body, key, answers: list) -> dict:
    """POST until the request is answered 201 (the first time, or as a replay), keeping every answer's status.
    A lost connection must be a clean 503, in the one error shape."""
    for _attempt in range(ATTEMPTS):
        response = send(client, path, who, body, key)
        answers.append(response.status_code)
        if response.status_code == 201:
            return response.json
        assert response.status_code == 503, (response.status_code, response.json)
        assert set(response.json) == {"code", "status", "message", "errors"} and response.json["code"] == 503
        assert response.headers["Retry-After"] == "1"
    raise AssertionError(f"{path} with key {key} never went through")


def checkout_and_pay(client, market, i: int, answers: list) -> int:
    """A checkout of 0.5 kg of tomatoes, paid half in cash and the rest by transfer; the order's id."""
    body = body_of((market.tomat, "0.5"))
    placed = until_done(client, "/checkouts", market.buyer, body, f"checkout-{i}", answers)
    (order,) = placed["orders"]
    cash = order["total"] // 2
    until_done(
        client, f"/orders/{order['id']}/payments", market.lead, {"method": "cash", "amount": cash}, f"cash-{i}", answers
    )
    transfer = {"method": "transfer", "amount": order["total"] - cash, "reference": f"BRI {i}"}
    until_done(client, f"/orders/{order['id']}/payments", market.treasurer, transfer, f"transfer-{i}", answers)
    return order["id"]


def assert_whole(app, order_ids: list[int]):
    """One checkout per key, each order paid exactly once by each of its two payments, and clean books."""
    with app.app_context():
        keys = db.session.execute(select(Checkout.idempotency_key, func.count()).group_by(Checkout.idempotency_key))
        assert all(count == 1 for _key, count in keys)
        assert db.session.scalar(select(func.count(Checkout.id))) == len(order_ids)
        for order_id in order_ids:
            order = db.session.get(Order, order_id)
            payments = db.session.scalars(select(Payment.amount).where(Payment.order_id == order_id)).all()
            assert len(payments) == 2 and sum(payments) == order.paid == order.total, (order_id, payments)
    runner = app.test_cli_runner()
    for command in (["stock", "check"], ["ledger", "check"]):
        result = runner.invoke(args=command)
        assert result.exit_code == 0, result.output


def test_connections_terminated_during_checkouts_and_payments_lose_or_double_nothing(app, client, stocked, postgres):
    stop, terminated = threading.Event(), []

    def terminate():
        chance = random.Random(13)
        for _time in range(TERMINATIONS):
            if stop.wait(chance.uniform(0.05, 0.3)):
                return
            terminated.append(postgres.execute(TERMINATE_OTHERS).fetchone()[0])

    killer = threading.Thread(target=terminate, daemon=True)
    killer.start()
    answers: list[int] = []
    order_ids: list[int] = []
    try:
        # At least 20, and on until every termination has fallen while they run, however fast the machine is
        # (the 50 kg take 100 checkouts).
        while len(order_ids) < 20 or (killer.is_alive() and len(order_ids) < MOST_CHECKOUTS):
            order_ids.append(checkout_and_pay(client, stocked, len(order_ids), answers))
    finally:
        stop.set()
        killer.join(10)
    assert len(terminated) == TERMINATIONS and sum(terminated) >= TERMINATIONS, terminated  # while it ran
    assert set(answers) <= {201, 503}
    assert_whole(app, order_ids)


class Terminator:
    """Terminates the connection a request in this thread uses, just before its n-th statement (or its COMMIT)."""

    def __init__(self, engine, admin):
        self.engine, self.admin = engine, admin
        self.at, self.seen, self.thread = None, 0, threading.get_ident()

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "commit", self._commit)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "commit", self._commit)

    def arm(self, at):
        """Terminate before statement number `at` (1 for the first), or before the COMMIT when `at` is "commit"."""
        self.at, self.seen = at, 0

    def _statement(self, conn, cursor, statement, parameters, context, executemany):
        if threading.get_ident() != self.thread or self.at is None:
            return
        self.seen += 1
        if self.seen == self.at:
            self._terminate(cursor.connection)

    def _commit(self, conn):
        if threading.get_ident() == self.thread and self.at == "commit":
            self._terminate(conn.connection.dbapi_connection)

    def _terminate(self, dbapi_connection):
        self.at = None
        pid = dbapi_connection.info.backend_pid
        assert self.admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,)).fetchone()[0]


@pytest.mark.parametrize("request_kind", ["checkout", "payment"])
def test_a_request_whose_connection_is_lost_at_any_step_commits_whole_or_not_at_all(
    app, client, stocked, postgres, request_kind
):
    with app.app_context():
        engine = db.engine
    order_ids: list[int] = []
    if request_kind == "payment":
        order_ids.append(
            until_done(client, "/checkouts", stocked.buyer, body_of((stocked.tomat, "20")), "big", [])["orders"][0][
                "id"
            ]
        )

    def attempt(key):
        if request_kind == "checkout":
            return send(client, "/checkouts", stocked.buyer, body_of((stocked.tomat, "0.5")), key)
        return send(client, f"/orders/{order_ids[0]}/payments", stocked.lead, {"method": "cash", "amount": 1000}, key)

    with Terminator(engine, postgres) as terminator:
        step, lost = 0, []
        while True:  # terminated before statement 1, 2, ... until the request runs out of statements
            step += 1
            terminator.arm(step)
            response = attempt(f"step-{step}")
            if terminator.at is not None:  # it made fewer statements: every step has been tried
                terminator.arm(None)
                assert response.status_code == 201, response.json
                break
            assert response.status_code == 503, (step, response.status_code, response.json)
            assert response.json["code"] == 503 and response.headers["Retry-After"] == "1"
            lost.append(f"step-{step}")
        terminator.arm("commit")
        assert attempt("at-commit").status_code == 503
        lost.append("at-commit")
    assert step > 5, step  # the request was hit at each of its statements
    # Every lost request, sent again with its key, is made once (or answered as the one made before).
    for key in [*lost, f"step-{step}"]:
        again = attempt(key)
        assert again.status_code == 201, (key, again.json)

    keys = [*lost, f"step-{step}"]
    model = Checkout if request_kind == "checkout" else Payment
    with app.app_context():
        made = dict(
            db.session.execute(select(model.idempotency_key, func.count()).group_by(model.idempotency_key)).all()
        )
        assert {key: made.get(key) for key in keys} == dict.fromkeys(keys, 1)
        if request_kind == "checkout":
            assert db.session.scalar(select(func.count(Checkout.id))) == len(keys)
        else:
            assert db.session.get(Order, order_ids[0]).paid == 1000 * len(keys)
    runner = app.test_cli_runner()
    for command in (["stock", "check"], ["ledger", "check"]):
        result = runner.invoke(args=command)
        assert result.exit_code == 0, result.output


def test_the_pool_checks_a_connection_before_handing_it_out(app):
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True


def test_a_connection_lost_after_the_answer_ends_the_request_quietly(app, client, market, postgres):
    """The database ends a request's connection after its answer is made, before the session is ended: the
    request still ends cleanly (no error escapes its teardown), and the next request gets a new connection."""
    with app.test_request_context("/"):
        pid = db.session.execute(select(func.pg_backend_pid())).scalar_one()
        assert postgres.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,)).fetchone()[0]
    # leaving the block ran the teardown on the dead connection, without raising
    assert client.get(f"{API}/products").status_code == 200
