"""Many buyers at once: stock never oversells and nothing deadlocks.

Each thread is its own request with its own session and connection, as under
gunicorn. PostgreSQL runs many threads against row locks; SQLite runs fewer,
queued by BEGIN IMMEDIATE and the busy timeout.
"""

import random
import time
from decimal import Decimal

import pytest
from flask_login import login_user
from psycopg.errors import DeadlockDetected
from sqlalchemy import func, select

from accounts.models import User
from core.errors import Conflict
from core.extensions import db
from groups.models import Group
from inventory import services as inv
from inventory.models import Movement, MovementKind, Stock
from inventory.services import reservations
from tests.live_server import at_once
from tests.stock_helpers import acting, contribute, make_product, make_stock_group, user_row


def _threads(app) -> int:
    with app.app_context():
        return 32 if db.engine.dialect.name == "postgresql" else 8


def _run_at_once(app, work, count: int, user=None) -> list:
    """Run `work(i)` in `count` threads released together, each inside its own POST request.

    Returns each thread's outcome: "ok" or the exception it raised.
    """

    def run(i, go):
        with acting(app):
            try:
                # Nothing touches the database before the barrier: on SQLite the first query
                # begins IMMEDIATE and would hold the write lock while the others wait here.
                go()
                if user is not None:
                    login_user(db.session.get(User, user.id))
                work(i)
                db.session.commit()
                return "ok"
            except Exception as exc:
                db.session.rollback()
                return exc

    return at_once(count, run)


def _unexpected(outcomes, expected=(inv.InsufficientStock,)) -> list:
    """Anything but success or an expected refusal (a deadlock, a lock timeout, a 500...)."""
    deadlocks = [o for o in outcomes if isinstance(getattr(o, "orig", None), DeadlockDetected)]
    assert deadlocks == [], f"{len(deadlocks)} transaction(s) deadlocked"
    return [repr(o) for o in outcomes if o != "ok" and not isinstance(o, expected)]


def _books(app, variants):
    with acting(app):
        stock = {
            s.variant_id: (s.on_hand, s.reserved)
            for s in db.session.scalars(select(Stock).where(Stock.variant_id.in_(variants)))
        }
        reservations = dict(
            db.session.execute(
                select(Movement.variant_id, func.count(Movement.id))
                .where(Movement.kind == MovementKind.reservation)
                .group_by(Movement.variant_id)
            ).all()
        )
        return stock, reservations, inv.stock_check()


@pytest.fixture
def shop(app, db):
    setup = make_stock_group(app)
    variants = make_product(app, setup.user, setup.group, "pcs", labels=("S", "M", "L"), kind="garment")
    return setup, variants


def test_many_buyers_of_one_variant_get_exactly_the_stock_there_is(app, shop):
    setup, (variant, _, _) = shop
    count = _threads(app)
    stock = count * 5 // 8  # fewer units than buyers
    contribute(app, setup, variant, str(stock - 3), member=setup.members[0])
    contribute(app, setup, variant, "3", member=setup.members[1])

    outcomes = _run_at_once(app, lambda i: inv.reserve([inv.StockLine(variant, Decimal(1), f"order:{i}")]), count)

    assert _unexpected(outcomes) == []
    assert outcomes.count("ok") == stock
    for short in [o for o in outcomes if o != "ok"]:
        assert short.shortfalls == [{"variant_id": variant, "requested": "1", "available": "0"}]
    counters, reservations, problems = _books(app, [variant])
    assert counters[variant] == (Decimal(stock), Decimal(stock))
    assert reservations == {variant: stock}
    assert problems == []


def test_multi_line_orders_in_any_order_never_deadlock_or_oversell(app, shop):
    setup, variants = shop
    count = _threads(app)
    stock = count // 2
    for variant in variants:
        contribute(app, setup, variant, str(stock))
    orders = []
    for i in range(count):
        lines = [inv.StockLine(v, Decimal(1), f"order:{i}") for v in variants]
        random.Random(i).shuffle(lines)
        orders.append(lines)

    outcomes = _run_at_once(app, lambda i: inv.reserve(orders[i]), count)

    assert _unexpected(outcomes) == []
    assert outcomes.count("ok") == stock  # every order wants all three: each unit of each goes to one order
    counters, reservations, problems = _books(app, variants)
    assert counters == {v: (Decimal(stock), Decimal(stock)) for v in variants}
    assert reservations == dict.fromkeys(variants, stock)
    assert problems == []


def test_crossing_orders_held_open_wait_their_turn_instead_of_deadlocking(app, shop, monkeypatch):
    """Each order pauses after every counter update, so unordered locking would surely deadlock."""
    setup, variants = shop
    for variant in variants:
        contribute(app, setup, variant, "100")
    guarded_update = reservations.guarded_update

    def slow_update(*args):
        moved = guarded_update(*args)
        time.sleep(0.02)
        return moved

    monkeypatch.setattr(reservations, "guarded_update", slow_update)
    count = min(_threads(app), 12)
    orders = [
        [inv.StockLine(v, Decimal(1 + i % 3)) for v in (variants if i % 2 else variants[::-1])] for i in range(count)
    ]

    outcomes = _run_at_once(app, lambda i: inv.reserve(orders[i]), count)

    assert _unexpected(outcomes) == [] and outcomes.count("ok") == count
    counters, _, problems = _books(app, variants)
    held = sum(1 + i % 3 for i in range(count))
    assert counters == {v: (Decimal(100), Decimal(held)) for v in variants}
    assert problems == []


def test_reserving_releasing_selling_and_writing_off_at_once_keeps_the_books(app, shop):
    setup, variants = shop
    for variant in variants:
        for member in setup.members:
            contribute(app, setup, variant, "20", member=member)
    with acting(app):  # stock held for the threads that release or sell
        inv.reserve([inv.StockLine(v, Decimal(12)) for v in variants])
        db.session.commit()

    def work(i):
        rng = random.Random(i)
        picked = rng.sample(variants, rng.randint(1, 3))
        job = i % 4
        if job == 0:
            inv.reserve([inv.StockLine(v, Decimal(rng.randint(1, 4))) for v in picked])
        elif job == 1:
            inv.release([inv.StockLine(v, Decimal(1)) for v in picked])
        elif job == 2:
            inv.consume(inv.StockLine(picked[0], Decimal(1)))
        else:
            inv.adjust(
                user_row(setup.user),
                db.session.get(Group, setup.group.id),
                variant_id=picked[0],
                reason="damage",
                quantity="-1",
            )

    outcomes = _run_at_once(app, work, _threads(app), user=setup.user)

    assert _unexpected(outcomes, expected=(Conflict,)) == []  # 409s only: short stock, nothing left to release
    assert outcomes.count("ok") > len(outcomes) // 2
    counters, _, problems = _books(app, variants)
    assert problems == []
    for on_hand, reserved in counters.values():
        assert Decimal(0) <= reserved <= on_hand <= Decimal(60)
