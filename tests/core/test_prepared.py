"""Statements run on the driver's cursor (core.prepared) write and read exactly what SQLAlchemy would.

On both databases: the values go in through the columns' types (a UTC moment, an
enum kept as its value, a quantity kept in thousandths) and come back as the ORM
reads them; a driver's error is SQLAlchemy's exception; listeners of
before_cursor_execute see the statement; shapes it cannot plan are refused.
"""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.exc import IntegrityError

from core.extensions import db as _db
from core.prepared import Prepared, insert_rows, row_params
from inventory.models import Stock
from marketplace.models import Checkout, Order, PaymentMethod
from tests.factories import make_user
from tests.stock_helpers import acting, contribute, make_product, make_stock_group

_checkouts, _orders, _stock = Checkout.__table__, Order.__table__, Stock.__table__
COLUMNS = ("buyer_id", "idempotency_key", "request_hash", "total", "payment_method", "created_at")
MOMENT = datetime(2026, 11, 28, 1, 2, 3, 456789, tzinfo=UTC)


def _checkout_rows(buyer_id: int) -> list[dict]:
    return [{"buyer_id": buyer_id, "idempotency_key": f"kunci-{i}", "request_hash": "é" * 64, "total": 12_500 * i,
             "payment_method": method, "created_at": MOMENT + timedelta(minutes=i)}
            for i, method in enumerate(PaymentMethod)]


def test_inserted_rows_are_what_the_orm_reads_back(app, db):
    buyer = make_user(app)
    wanted = _checkout_rows(buyer.id)
    with acting(app):
        written = insert_rows(_checkouts, COLUMNS, len(wanted)).rows(_db.session.connection(),
                                                                     row_params(COLUMNS, wanted))
        _db.session.commit()
    with app.app_context():
        read = {c.id: c for c in _db.session.scalars(select(Checkout))}
        assert len(written) == len(read) == len(wanted)
        for row in written:
            checkout = read[row.id]
            assert row._asdict() == {column.key: getattr(checkout, column.key) for column in _checkouts.c}
            assert isinstance(row.payment_method, PaymentMethod) and row.created_at.tzinfo is not None
        assert sorted((c.idempotency_key, c.payment_method, c.total, c.created_at) for c in read.values()) == \
            [(r["idempotency_key"], r["payment_method"], r["total"], r["created_at"]) for r in wanted]


def test_a_fixed_default_is_given_as_sqlalchemy_would(app, db):
    """orders.paid, refunded and card_fees (default 0) and none of the columns a caller gives."""
    statement = insert_rows(_orders, ("checkout_id", "group_id", "buyer_id", "status", "payment_method",
                                      "fulfilment_method", "fulfilment_date", "total", "currency", "created_at",
                                      "updated_at"), 2)
    plan = statement.plan(_dialect(app))
    assert {name: value for name, value in plan.defaults.items()} == {
        f"{name}_{i}": 0 for name in ("paid", "refunded", "card_fees") for i in range(2)}


def test_a_computed_default_must_be_given():
    with pytest.raises(ValueError, match="created_at"):
        insert_rows(_checkouts, ("buyer_id", "request_hash", "total", "payment_method"), 1)


def test_an_expanding_in_is_refused(app):
    statement = Prepared(select(_checkouts.c.id).where(_checkouts.c.id.in_(bindparam("ids", expanding=True))))
    with pytest.raises(ValueError, match="expanding"):
        statement.plan(_dialect(app))


def test_a_driver_error_is_sqlalchemys_and_changes_nothing(app, db):
    buyer = make_user(app)
    [row] = _checkout_rows(buyer.id)[:1]
    with acting(app):
        insert_rows(_checkouts, COLUMNS, 1).run(_db.session.connection(), row_params(COLUMNS, [row]))
        _db.session.commit()
    with acting(app):
        with pytest.raises(IntegrityError):  # the same buyer and key: the unique index refuses it
            insert_rows(_checkouts, COLUMNS, 1).run(_db.session.connection(), row_params(COLUMNS, [row]))
        _db.session.rollback()
        assert _db.session.scalar(select(Checkout.id).where(Checkout.total == 0)) is not None  # still usable
        assert len(_db.session.scalars(select(Checkout)).all()) == 1


def test_listeners_see_each_statement(app, db):
    buyer = make_user(app)
    seen = []

    def note(_conn, _cursor, statement, parameters, _context, _many):
        seen.append((statement, parameters))

    with app.app_context():
        engine = _db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        with acting(app):
            insert_rows(_checkouts, COLUMNS, 1).run(_db.session.connection(),
                                                    row_params(COLUMNS, _checkout_rows(buyer.id)[:1]))
            _db.session.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert any(statement.startswith("INSERT INTO checkouts") and "kunci-0" in str(parameters)
               for statement, parameters in seen)


def test_quantities_and_rowcount_as_sqlalchemy_gives_them(app, db):
    setup = make_stock_group(app)
    [variant_id] = make_product(app, setup.user, setup.group)
    contribute(app, setup, variant_id, "12.345")
    wanted = bindparam("q", type_=Stock.reserved.type)
    add = Prepared(update(_stock).where(_stock.c.variant_id == bindparam("variant"),
                                        _stock.c.on_hand >= _stock.c.reserved + wanted)
                   .values(reserved=_stock.c.reserved + wanted)
                   .returning(_stock.c.variant_id, _stock.c.reserved))
    read = select(_stock.c.on_hand, _stock.c.reserved).where(_stock.c.variant_id == bindparam("variant"))
    with acting(app):
        connection = _db.session.connection()
        rows, count = add.run(connection, {"variant": variant_id, "q": Decimal("2.005")})
        assert count == 1 and [tuple(row) for row in rows] == [(variant_id, Decimal("2.005"))]
        rows, count = add.run(connection, {"variant": variant_id, "q": Decimal("10.341")})  # 0.001 too many
        assert count == 0 and rows == []
        assert [tuple(row) for row in Prepared(read).rows(connection, {"variant": variant_id})] == \
            [tuple(row) for row in connection.execute(read, {"variant": variant_id})] == \
            [(Decimal("12.345"), Decimal("2.005"))]
        _db.session.rollback()


def test_a_plain_insert_returns_no_rows(app, db):
    buyer = make_user(app)
    plain = Prepared(insert(_checkouts).values(buyer_id=bindparam("buyer"), request_hash="x", total=0,
                                               payment_method=PaymentMethod.cash, created_at=MOMENT))
    with acting(app):
        rows, count = plain.run(_db.session.connection(), {"buyer": buyer.id})
        _db.session.commit()
    assert rows == [] and count == 1
    with app.app_context():
        checkout = _db.session.scalars(select(Checkout)).one()
        assert (checkout.payment_method, checkout.created_at) == (PaymentMethod.cash, MOMENT)


def _dialect(app):
    with app.app_context():
        return _db.engine.dialect
