"""`flask stock check` proves the books, and the movement ledger cannot be edited away."""

from decimal import Decimal

import pytest
from sqlalchemy import exc, select, text

from core.extensions import db
from groups.models import Group
from inventory import services as inv
from inventory.models import Movement
from tests.stock_helpers import acting, contribute, make_product, make_stock_group


@pytest.fixture
def books(app, db):
    """Two variants with lots, a reservation, a sale and a write-off: books that agree."""
    setup = make_stock_group(app)
    first, second = make_product(app, setup.user, setup.group, "kg", labels=("A", "B"))
    lots = [
        contribute(app, setup, first, "4.5", member=setup.members[0]),
        contribute(app, setup, first, "2", member=setup.members[1]),
        contribute(app, setup, second, "10", unit="ons"),
    ]
    with acting(app, setup.user) as coordinator:
        inv.reserve([inv.StockLine(first, Decimal(5)), inv.StockLine(second, Decimal("0.25"))])
        inv.consume(inv.StockLine(first, Decimal(5)))
        inv.adjust(
            coordinator, db.session.get(Group, setup.group.id), variant_id=second, reason="spoilage", quantity="-0.125"
        )
        db.session.commit()
    return setup, (first, second), lots


def _check(app):
    return app.test_cli_runner().invoke(args=["stock", "check"])


def _corrupt(app, statement, **params):
    with app.app_context():
        db.session.execute(text(statement), params)
        db.session.commit()


def test_stock_check_passes_on_books_that_agree(app, books):
    result = _check(app)
    assert result.exit_code == 0, result.output
    assert "Stock books agree" in result.output
    assert "MISMATCH" not in result.output


def test_stock_check_passes_on_an_empty_database(app, db):
    result = _check(app)
    assert result.exit_code == 0, result.output


def test_stock_check_fails_when_a_counter_was_changed_outside_the_ledger(app, books):
    _, (first, second), _ = books
    # +1 kg (stored as thousandths): the CHECK constraint still allows it, only the ledger disagrees.
    _corrupt(app, "UPDATE stock SET on_hand = on_hand + 1000 WHERE variant_id = :v", v=second)
    result = _check(app)
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("MISMATCH")]
    assert f"MISMATCH variant {second}: on_hand 1.875 but movements sum to 0.875" in lines
    assert f"MISMATCH variant {second}: lots hold 0.875 but on_hand is 1.875" in lines
    assert not any(f"variant {first}:" in line for line in lines)
    assert "2 mismatch(es) found." in result.output


def test_stock_check_fails_when_reserved_was_changed_outside_the_ledger(app, books):
    _, (_, second), _ = books
    _corrupt(app, "UPDATE stock SET reserved = reserved - 1 WHERE variant_id = :v", v=second)
    result = _check(app)
    assert result.exit_code == 1, result.output
    assert f"variant {second}: reserved 0.249 but movements sum to 0.25" in result.output


def test_stock_check_fails_when_a_lot_was_changed_outside_the_ledger(app, books):
    _, (first, _), lots = books
    _corrupt(app, "UPDATE lots SET remaining = remaining + 500 WHERE id = :id", id=lots[1])
    result = _check(app)
    assert result.exit_code == 1, result.output
    assert f"MISMATCH lot {lots[1]}: remaining 2 but its movements sum to 1.5" in result.output
    assert f"MISMATCH variant {first}: lots hold 2 but on_hand is 1.5" in result.output


def test_stock_check_fails_on_a_movement_without_its_counter_change(app, books):
    setup, (first, _), _ = books
    _corrupt(
        app,
        "INSERT INTO stock_movements (group_id, variant_id, kind, on_hand_delta, reserved_delta, created_at)"
        " VALUES (:g, :v, 'reservation', 0, 250, CURRENT_TIMESTAMP)",
        g=setup.group.id,
        v=first,
    )
    result = _check(app)
    assert result.exit_code == 1, result.output
    assert f"variant {first}: reserved 0 but movements sum to 0.25" in result.output


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE stock_movements SET on_hand_delta = on_hand_delta + 1000",
        "UPDATE stock_movements SET note = 'edited' WHERE id = (SELECT MIN(id) FROM stock_movements)",
        "DELETE FROM stock_movements",
        "DELETE FROM stock_movements WHERE id = (SELECT MAX(id) FROM stock_movements)",
    ],
)
def test_the_ledger_refuses_updates_and_deletes_in_the_database(app, books, statement):
    with app.app_context():
        before = [tuple(r) for r in db.session.execute(select(Movement.__table__).order_by(Movement.id))]
        with pytest.raises(exc.DBAPIError) as refused:
            db.session.execute(text(statement))
            db.session.commit()
        assert "append-only" in str(refused.value)
        db.session.rollback()
        after = [tuple(r) for r in db.session.execute(select(Movement.__table__).order_by(Movement.id))]
        assert after == before and len(before) >= 6
    assert _check(app).exit_code == 0


def test_the_ledger_refuses_an_edit_through_the_orm(app, books):
    with app.app_context():
        movement = db.session.scalars(select(Movement).order_by(Movement.id)).first()
        movement.on_hand_delta = Decimal(999)
        with pytest.raises(exc.DBAPIError, match="append-only"):
            db.session.commit()
        db.session.rollback()
        assert db.session.get(Movement, movement.id).on_hand_delta != Decimal(999)
