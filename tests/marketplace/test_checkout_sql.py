"""Checkout's SQL goes through the engine like any other: listeners of its events (logging, monitoring, and
SQLite's write lock in core.database) see every statement it runs, and the session's transaction holds them."""

import re

from sqlalchemy import event, func, select

from core.extensions import db
from marketplace.models import Checkout, Order
from tests.market import body_of, post_checkout

WRITE = re.compile(r'\s*(?:INSERT INTO|UPDATE|DELETE FROM)\s+"?(\w+)', re.IGNORECASE)


class Statements:
    """Every statement the app's engine runs while it is listening (before_cursor_execute), as monitoring sees them."""

    def __init__(self, app):
        with app.app_context():
            self.engine = db.engine
        self.seen: list[str] = []

    def note(self, _conn, _cursor, statement, *_rest):
        self.seen.append(statement)

    @property
    def writes(self) -> list[str]:
        """The table each INSERT, UPDATE or DELETE wrote to, in order."""
        return [match[1] for match in (WRITE.match(statement) for statement in self.seen) if match]

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self.note)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self.note)


def test_an_engine_listener_sees_every_statement_of_a_checkout(app, client, market):
    with Statements(app) as statements:
        response = post_checkout(client, market.buyer, body_of((market.cabai_a, "1"), (market.daster, "1")))

    assert response.status_code == 201, response.json
    assert statements.writes == ["checkouts", "orders", "order_lines", "order_events", "stock", "stock_movements"]
    reads = [statement for statement in statements.seen if statement.lstrip().upper().startswith("SELECT")]
    assert any("api_tokens" in statement for statement in reads)  # who is asking
    assert any("variants" in statement for statement in reads)  # what they ask for
    if statements.engine.dialect.name == "postgresql":
        assert any("FOR UPDATE" in statement for statement in reads)  # the stock rows, locked in id order


def test_a_refused_checkout_is_seen_and_leaves_nothing_behind(app, client, market):
    with Statements(app) as statements:
        response = post_checkout(client, market.buyer, body_of((market.cabai_a, "1"), (market.daster, "4")))

    assert response.status_code == 409  # 3 daster in stock
    assert statements.writes == ["checkouts", "orders", "order_lines", "order_events", "stock", "stock"]
    with app.app_context():  # the stock short, the request's one transaction rolled back
        assert db.session.scalar(select(func.count(Checkout.id))) == 0
        assert db.session.scalar(select(func.count(Order.id))) == 0
