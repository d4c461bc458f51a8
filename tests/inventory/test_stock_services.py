"""Edge cases of the stock services: units, exact quantities, guards, lots and errors."""

from datetime import timedelta
from decimal import Decimal

import pytest

from core.errors import Conflict, NotFound, ValidationFailed
from core.extensions import db
from core.quantity import QuantityError, from_milli, to_milli
from core.types import utcnow
from groups.models import Group
from inventory import services as inv
from inventory.models import Lot, Movement, MovementKind, Stock
from tests.stock_helpers import (
    acting,
    contribute,
    counters,
    lot_remaining,
    make_product,
    make_stock_group,
    snapshot,
    user_row,
)


@pytest.fixture
def setup(app, db):
    return make_stock_group(app)


def _receive(app, setup, variant_id, quantity, unit=None):
    data = {"variant_id": variant_id, "member_id": setup.members[0].id, "quantity": quantity}
    if unit:
        data["unit"] = unit
    return inv.receive_contribution(user_row(setup.user), db.session.get(Group, setup.group.id), **data)


# --- units and exact quantities -----------------------------------------------------------


def test_five_ons_arrive_as_half_a_kilogram(app, setup):
    [variant] = make_product(app, setup.user, setup.group, "kg")
    with acting(app, setup.user):
        lot = _receive(app, setup, variant, "5", "ons")
        db.session.commit()
        assert (lot.quantity, lot.remaining) == (Decimal("0.5"), Decimal("0.5"))
        assert counters(variant) == (Decimal("0.5"), Decimal(0))


def test_two_kodi_arrive_as_forty_pieces(app, setup):
    [variant] = make_product(app, setup.user, setup.group, "pcs", kind="garment")
    with acting(app, setup.user):
        lot = _receive(app, setup, variant, 2, "kodi")
        db.session.commit()
        assert lot.quantity == Decimal(40)
        assert counters(variant) == (Decimal(40), Decimal(0))


@pytest.mark.parametrize(
    "product_unit, quantity, unit",
    [
        ("kodi", "1", "lusin"),  # 12 pcs = 0.6 kodi: not a whole kodi
        ("liter", "500", "g"),  # mass is not volume
        ("kg", "1.5", "g"),  # 0.0015 kg has 4 places
        ("kg", "1", "pcs"),
        ("pcs", "1", "ikat"),  # ikat has no dimension
    ],
)
def test_contribution_in_a_unit_that_does_not_convert_exactly_is_refused(app, setup, product_unit, quantity, unit):
    [variant] = make_product(app, setup.user, setup.group, product_unit)
    with acting(app, setup.user):
        before = snapshot([variant])
        with pytest.raises(ValidationFailed) as refused:
            _receive(app, setup, variant, quantity, unit)
        assert "unit" in refused.value.errors
        assert snapshot([variant]) == before
        assert db.session.query(Lot).count() == 0


@pytest.mark.parametrize(
    "product_unit, quantity",
    [
        ("pcs", "2.5"),
        ("kodi", "0.5"),
        ("lusin", "1.001"),
        ("kg", "0.0005"),
        ("kg", "1.2345"),
        ("kg", 2.5),
        ("kg", 2.0),
        ("pcs", float("nan")),
        ("kg", "0"),
        ("kg", "-1"),
        ("kg", "1e3"),
        ("kg", True),
        ("kg", None),
        ("kg", "200000000"),
    ],
)
def test_contribution_quantity_must_be_exact_and_positive(app, setup, product_unit, quantity):
    [variant] = make_product(app, setup.user, setup.group, product_unit)
    with acting(app, setup.user):
        before = snapshot([variant])
        with pytest.raises(ValidationFailed) as refused:
            _receive(app, setup, variant, quantity)
        assert "quantity" in refused.value.errors
        assert snapshot([variant]) == before


def test_three_decimal_places_are_kept_exactly(app, setup):
    [variant] = make_product(app, setup.user, setup.group, "kg")
    contribute(app, setup, variant, "0.001")
    contribute(app, setup, variant, "1.999")
    contribute(app, setup, variant, "12.34", unit="ons")  # 1.234 kg
    contribute(app, setup, variant, "0.001", unit="kuintal")  # 0.1 kg
    with acting(app):
        assert counters(variant) == (Decimal("3.334"), Decimal(0))
        assert inv.stock_check() == []


# --- adjustments -----------------------------------------------------------------------------


def _adjust(setup, **data):
    return inv.adjust(user_row(setup.user), db.session.get(Group, setup.group.id), **data)


def test_adjusting_below_what_orders_hold_is_refused_and_changes_nothing(app, setup):
    [variant] = make_product(app, setup.user, setup.group, "kg")
    contribute(app, setup, variant, "10")
    with acting(app, setup.user):
        inv.reserve([inv.StockLine(variant, Decimal(8))])
        db.session.commit()
        before = snapshot([variant])
        for data in (
            {"reason": "spoilage", "quantity": "-2.001"},
            {"reason": "damage", "quantity": "-10"},
            {"reason": "count", "counted": "7.999"},
            {"reason": "count", "quantity": "-3"},
        ):
            with pytest.raises(Conflict) as refused:
                _adjust(setup, variant_id=variant, **data)
            assert refused.value.code == 409
            assert snapshot([variant]) == before, data
        moves = _adjust(setup, variant_id=variant, reason="spoilage", quantity="-2")
        assert [m.on_hand_delta for m in moves] == [Decimal(-2)]
        db.session.commit()
        assert counters(variant) == (Decimal(8), Decimal(8))
        assert inv.stock_check() == []


def test_adjust_naming_a_lot_of_another_variant_or_group_is_refused(app, setup):
    first, second = make_product(app, setup.user, setup.group, "kg", labels=("A", "B"))
    other = make_stock_group(app)
    [foreign] = make_product(app, other.user, other.group, "kg")
    lot_b = contribute(app, setup, second, "5")
    contribute(app, setup, first, "5")
    foreign_lot = contribute(app, other, foreign, "5")
    with acting(app, setup.user):
        before = snapshot([first, second, foreign])
        for lot_id in (lot_b, foreign_lot, 10**9, "1", -1):
            with pytest.raises(ValidationFailed) as refused:
                _adjust(setup, variant_id=first, reason="spoilage", quantity="-1", lot_id=lot_id)
            assert "lot_id" in refused.value.errors
        with pytest.raises(ValidationFailed) as refused:
            _adjust(setup, variant_id=foreign, reason="spoilage", quantity="-1")
        assert "variant_id" in refused.value.errors
        assert snapshot([first, second, foreign]) == before


def test_positive_count_and_return_go_to_the_most_recently_received_lot(app, setup):
    [variant] = make_product(app, setup.user, setup.group, "kg")
    now = utcnow()
    recent = contribute(app, setup, variant, "1", received_at=now - timedelta(hours=1))
    older = contribute(app, setup, variant, "2", member=setup.members[1], received_at=now - timedelta(hours=5))
    with acting(app, setup.user):
        moves = _adjust(setup, variant_id=variant, reason="count", counted="4.5")
        assert [(m.lot_id, m.on_hand_delta, m.kind) for m in moves] == [
            (recent, Decimal("1.5"), MovementKind.adjustment)
        ]
        moves = _adjust(setup, variant_id=variant, reason="return", quantity="0.25")
        assert [(m.lot_id, m.on_hand_delta, m.kind) for m in moves] == [(recent, Decimal("0.25"), MovementKind.return_)]
        moves = _adjust(setup, variant_id=variant, reason="return", quantity="1", lot_id=older)
        assert [(m.lot_id, m.on_hand_delta) for m in moves] == [(older, Decimal(1))]
        db.session.commit()
        assert lot_remaining([variant]) == {recent: Decimal("2.75"), older: Decimal(3)}
        assert counters(variant) == (Decimal("5.75"), Decimal(0))
        assert inv.stock_check() == []


def test_taking_away_draws_from_the_oldest_lot_unless_one_is_named(app, setup):
    [variant] = make_product(app, setup.user, setup.group, "kg")
    now = utcnow()
    newer = contribute(app, setup, variant, "1", received_at=now - timedelta(hours=1))
    oldest = contribute(app, setup, variant, "1.5", received_at=now - timedelta(hours=9))
    with acting(app, setup.user):
        moves = _adjust(setup, variant_id=variant, reason="spoilage", quantity="-2")
        assert [(m.lot_id, m.on_hand_delta) for m in moves] == [(oldest, Decimal("-1.5")), (newer, Decimal("-0.5"))]
        db.session.commit()
    third = contribute(app, setup, variant, "3")
    with acting(app, setup.user):
        moves = _adjust(setup, variant_id=variant, reason="damage", quantity="-2", lot_id=third)
        assert [(m.lot_id, m.on_hand_delta) for m in moves] == [(third, Decimal(-2))]
        db.session.commit()
        assert lot_remaining([variant]) == {oldest: Decimal(0), newer: Decimal("0.5"), third: Decimal(1)}
        assert inv.stock_check() == []


def test_taking_more_from_a_named_lot_than_it_holds_is_refused_and_changes_nothing(app, setup):
    [variant] = make_product(app, setup.user, setup.group, "kg")
    small = contribute(app, setup, variant, "1")
    contribute(app, setup, variant, "5")
    with acting(app, setup.user):
        before = snapshot([variant])
        with pytest.raises(Conflict):
            _adjust(setup, variant_id=variant, reason="spoilage", quantity="-2", lot_id=small)
        assert snapshot([variant]) == before


def test_adding_to_a_variant_nobody_contributed_is_refused_and_changes_nothing(app, setup):
    [variant] = make_product(app, setup.user, setup.group, "kg")
    with acting(app, setup.user):
        before = snapshot([variant])
        for data in ({"reason": "return", "quantity": "1"}, {"reason": "count", "counted": "2"}):
            with pytest.raises(Conflict):
                _adjust(setup, variant_id=variant, **data)
            assert snapshot([variant]) == before, data


@pytest.mark.parametrize(
    "data, field",
    [
        ({"reason": "spoilage", "quantity": "1"}, "quantity"),
        ({"reason": "damage", "quantity": "0"}, "quantity"),
        ({"reason": "return", "quantity": "-1"}, "quantity"),
        ({"reason": "count", "counted": "1", "quantity": "1"}, "counted"),
        ({"reason": "count", "counted": "-1"}, "counted"),
        ({"reason": "count", "counted": 1.5}, "counted"),
        ({"reason": "spoilage", "quantity": -0.5}, "quantity"),
        ({"reason": "spoilage", "quantity": "-0.0001"}, "quantity"),
        ({"reason": "theft", "quantity": "-1"}, "reason"),
    ],
)
def test_adjust_refuses_bad_input(app, setup, data, field):
    [variant] = make_product(app, setup.user, setup.group, "kg")
    contribute(app, setup, variant, "3")
    with acting(app, setup.user):
        before = snapshot([variant])
        with pytest.raises(ValidationFailed) as refused:
            _adjust(setup, variant_id=variant, **data)
        assert field in refused.value.errors
        assert snapshot([variant]) == before


def test_pieces_take_whole_adjustments_only(app, setup):
    [variant] = make_product(app, setup.user, setup.group, "pcs", kind="garment")
    contribute(app, setup, variant, "5")
    with acting(app, setup.user):
        with pytest.raises(ValidationFailed):
            _adjust(setup, variant_id=variant, reason="damage", quantity="-0.5")
        with pytest.raises(ValidationFailed):
            _adjust(setup, variant_id=variant, reason="count", counted="4.5")


def test_a_count_that_matches_changes_nothing(app, setup):
    [variant] = make_product(app, setup.user, setup.group, "kg")
    contribute(app, setup, variant, "3.5")
    with acting(app, setup.user):
        before = snapshot([variant])
        assert _adjust(setup, variant_id=variant, reason="count", counted="3.500") == []
        assert snapshot([variant]) == before


# --- reserve, release, consume ---------------------------------------------------------------


def test_reserve_is_all_or_nothing_and_names_each_short_variant(app, setup):
    first, second = make_product(app, setup.user, setup.group, "kg", labels=("A", "B"))
    contribute(app, setup, first, "2")
    contribute(app, setup, second, "1")
    with acting(app):
        before = snapshot([first, second])
        with pytest.raises(inv.InsufficientStock) as short:
            inv.reserve(
                [
                    inv.StockLine(second, Decimal("0.6")),
                    inv.StockLine(first, Decimal("1.5")),
                    inv.StockLine(second, Decimal("0.5")),
                ]
            )
        assert short.value.code == 409
        assert short.value.errors["lines"] == [{"variant_id": second, "requested": "1.1", "available": "1"}]
        assert snapshot([first, second]) == before
        inv.reserve([inv.StockLine(first, Decimal("1.5")), inv.StockLine(second, Decimal(1))])
        db.session.commit()
        assert counters(first) == (Decimal(2), Decimal("1.5"))
        assert counters(second) == (Decimal(1), Decimal(1))


def test_reserving_an_unknown_variant_names_it_with_nothing_available(app, setup):
    [variant] = make_product(app, setup.user, setup.group, "kg")
    contribute(app, setup, variant, "2")
    with acting(app):
        before = snapshot([variant])
        with pytest.raises(inv.InsufficientStock) as short:
            inv.reserve([inv.StockLine(variant, Decimal(1)), inv.StockLine(987654, Decimal("0.5"))])
        assert short.value.shortfalls == [{"variant_id": 987654, "requested": "0.5", "available": "0"}]
        assert snapshot([variant]) == before


@pytest.mark.parametrize(
    "quantity", [Decimal(0), Decimal(-1), Decimal("0.0005"), 1.5, "1", None, Decimal("NaN"), Decimal("1e9")]
)
def test_reserve_release_and_consume_refuse_quantities_that_are_not_exact_and_positive(app, setup, quantity):
    [variant] = make_product(app, setup.user, setup.group, "kg")
    contribute(app, setup, variant, "5")
    with acting(app):
        inv.reserve([inv.StockLine(variant, Decimal(2))])
        db.session.commit()
        before = snapshot([variant])
        for call in (
            lambda: inv.reserve([inv.StockLine(variant, quantity)]),
            lambda: inv.release([inv.StockLine(variant, quantity)]),
            lambda: inv.consume(inv.StockLine(variant, quantity)),
        ):
            with pytest.raises(ValidationFailed):
                call()
            assert snapshot([variant]) == before


def test_releasing_more_than_is_reserved_is_refused_and_changes_nothing(app, setup):
    first, second = make_product(app, setup.user, setup.group, "kg", labels=("A", "B"))
    contribute(app, setup, first, "5")
    contribute(app, setup, second, "5")
    with acting(app):
        inv.reserve([inv.StockLine(first, Decimal(2)), inv.StockLine(second, Decimal(1))])
        db.session.commit()
        before = snapshot([first, second])
        for lines in (
            [inv.StockLine(first, Decimal("2.001"))],
            [inv.StockLine(first, Decimal(1)), inv.StockLine(second, Decimal("1.5"))],
            [inv.StockLine(first, Decimal(1)), inv.StockLine(first, Decimal("1.5"))],
            [inv.StockLine(first, Decimal(1)), inv.StockLine(424242, Decimal(1))],
        ):
            with pytest.raises(Conflict) as refused:
                inv.release(lines)
            assert refused.value.code == 409
            assert snapshot([first, second]) == before, lines
        inv.release([inv.StockLine(first, Decimal(2)), inv.StockLine(second, Decimal("0.5"))])
        db.session.commit()
        assert counters(first) == (Decimal(5), Decimal(0))
        assert counters(second) == (Decimal(5), Decimal("0.5"))
        assert inv.stock_check() == []


def test_consuming_without_a_reservation_is_refused(app, setup):
    [variant] = make_product(app, setup.user, setup.group, "kg")
    contribute(app, setup, variant, "5")
    with acting(app):
        before = snapshot([variant])
        with pytest.raises(inv.InsufficientStock) as short:
            inv.consume(inv.StockLine(variant, Decimal(1)))
        assert short.value.code == 409
        assert short.value.shortfalls == [{"variant_id": variant, "requested": "1", "available": "0"}]
        assert snapshot([variant]) == before
        inv.reserve([inv.StockLine(variant, Decimal(1))])
        with pytest.raises(inv.InsufficientStock):
            inv.consume(inv.StockLine(variant, Decimal("1.001")))
        draws = inv.consume(inv.StockLine(variant, Decimal(1)))
        assert sum(d.quantity for d in draws) == Decimal(1)
        db.session.commit()
        assert counters(variant) == (Decimal(4), Decimal(0))


def test_a_direct_sale_takes_only_what_is_available(app, setup):
    [variant] = make_product(app, setup.user, setup.group, "kg")
    contribute(app, setup, variant, "5")
    with acting(app):
        inv.reserve([inv.StockLine(variant, Decimal(3))])
        with pytest.raises(inv.InsufficientStock) as short:
            inv.consume(inv.StockLine(variant, Decimal("2.5")), from_reserved=False)
        assert short.value.shortfalls[0]["available"] == "2"
        inv.consume(inv.StockLine(variant, Decimal(2)), from_reserved=False)
        db.session.commit()
        assert counters(variant) == (Decimal(3), Decimal(3))
        assert inv.stock_check() == []


def test_consume_of_an_unknown_variant_is_not_found(app, setup):
    with acting(app), pytest.raises(NotFound):
        inv.consume(inv.StockLine(55555, Decimal(1)))


def test_sold_units_come_from_the_oldest_lots_and_name_their_members(app, setup):
    [variant] = make_product(app, setup.user, setup.group, "kg")
    siti, ani = setup.members
    now = utcnow()
    late = contribute(app, setup, variant, "2", member=siti, received_at=now - timedelta(minutes=5))
    early = contribute(app, setup, variant, "1.25", member=ani, received_at=now - timedelta(days=2))
    same_a = contribute(app, setup, variant, "1", member=siti, received_at=now - timedelta(days=1))
    same_b = contribute(app, setup, variant, "1", member=ani, received_at=now - timedelta(days=1))
    with acting(app):
        inv.reserve([inv.StockLine(variant, Decimal("4.5"), "order:9")])
        draws = inv.consume(inv.StockLine(variant, Decimal("4.5"), "line:9"))
        assert [(d.lot_id, d.member_id, d.quantity) for d in draws] == [
            (early, ani.id, Decimal("1.25")),
            (same_a, siti.id, Decimal(1)),
            (same_b, ani.id, Decimal(1)),
            (late, siti.id, Decimal("1.25")),
        ]
        db.session.commit()
        sales = db.session.query(Movement).filter_by(kind=MovementKind.sale).order_by(Movement.id).all()
        assert [(m.lot_id, m.on_hand_delta, m.reserved_delta, m.reference) for m in sales] == [
            (d.lot_id, -d.quantity, -d.quantity, "line:9") for d in draws
        ]
        assert inv.stock_check() == []


def test_quantities_read_back_are_always_decimal(app, setup):
    [variant] = make_product(app, setup.user, setup.group, "kg")
    lot_id = contribute(app, setup, variant, "2.125")
    with acting(app, setup.user):
        inv.reserve([inv.StockLine(variant, Decimal("1.5"))])
        draws = inv.consume(inv.StockLine(variant, Decimal("0.5")))
        _adjust(setup, variant_id=variant, reason="spoilage", quantity="-0.125")
        db.session.commit()
    with acting(app, setup.user):
        stock = db.session.get(Stock, variant)
        lot = db.session.get(Lot, lot_id)
        values = [
            stock.on_hand,
            stock.reserved,
            stock.available,
            lot.quantity,
            lot.remaining,
            *[d.quantity for d in draws],
            *inv.available([variant]).values(),
            *inv.lot_history([lot_id])[lot_id].values(),
        ]
        for movement in db.session.query(Movement):
            values += [movement.on_hand_delta, movement.reserved_delta]
        values += list(counters(variant))
        assert values and all(type(v) is Decimal for v in values), [type(v) for v in values]
        assert (stock.on_hand, stock.reserved, lot.remaining) == (Decimal("1.5"), Decimal(1), Decimal("1.5"))
        assert all(v.as_tuple().exponent >= -3 for v in values)


@pytest.mark.parametrize("value", ["0.0005", "1.0006", "2.9999", "-0.0001", "NaN", "Infinity"])
def test_stored_quantities_refuse_a_fourth_place_instead_of_rounding_it(value):
    with pytest.raises(QuantityError):
        to_milli(Decimal(value))


def test_stored_quantities_keep_three_places_exactly():
    assert [to_milli(Decimal(v)) for v in ("1.500000", "-2.125", "0.001", "1E+2")] == [1500, -2125, 1, 100000]
    assert from_milli(to_milli(Decimal("98765.432"))) == Decimal("98765.432")


def test_reservation_and_release_movements_name_the_group_reference_and_actor(app, setup):
    first, second = make_product(app, setup.user, setup.group, "kg", labels=("A", "B"))
    contribute(app, setup, first, "5")
    contribute(app, setup, second, "5")
    with acting(app):
        inv.reserve(
            [inv.StockLine(second, Decimal("1.5"), "order:7"), inv.StockLine(first, Decimal(2), "order:7")],
            actor_id=setup.user.id,
        )
        inv.release([inv.StockLine(first, Decimal("0.5"), "order:7:cancel")])
        db.session.commit()
        moved = db.session.query(Movement).filter(Movement.kind != MovementKind.intake).order_by(Movement.id).all()
        assert [
            (m.group_id, m.variant_id, m.kind, m.on_hand_delta, m.reserved_delta, m.reference, m.actor_id, m.lot_id)
            for m in moved
        ] == [
            (setup.group.id, first, MovementKind.reservation, Decimal(0), Decimal(2), "order:7", setup.user.id, None),
            (
                setup.group.id,
                second,
                MovementKind.reservation,
                Decimal(0),
                Decimal("1.5"),
                "order:7",
                setup.user.id,
                None,
            ),
            (setup.group.id, first, MovementKind.release, Decimal(0), Decimal("-0.5"), "order:7:cancel", None, None),
        ]
        assert all(m.created_at.tzinfo is not None for m in moved)
        assert inv.stock_check() == []


def test_lot_history_counts_a_count_that_finds_more_as_found_not_written_off(app, db):
    setup = make_stock_group(app)
    (variant_id,) = make_product(app, setup.user, setup.group)
    lot_id = contribute(app, setup, variant_id, "10")
    with acting(app, setup.user) as coordinator:
        group = db.session.get(Group, setup.group.id)
        inv.adjust(coordinator, group, variant_id=variant_id, reason="spoilage", quantity="-1.5")
        inv.adjust(coordinator, group, variant_id=variant_id, reason="count", counted="9")
        db.session.commit()
        history = inv.lot_history([lot_id])[lot_id]
    assert history["written_off"] == Decimal("1.5")
    assert history["found"] == Decimal("0.5")
    assert history["sold"] == Decimal(0) and history["returned"] == Decimal(0)
