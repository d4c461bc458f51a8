"""Helpers for the stock tests: act as a signed-in user, set up products, read the books back."""

from contextlib import contextmanager
from decimal import Decimal
from types import SimpleNamespace

from flask_login import login_user
from sqlalchemy import func, select

from accounts.models import User
from core.extensions import db
from groups.models import Group
from inventory import services as inv
from inventory.models import Lot, Movement, Stock
from tests.factories import make_group, make_member, make_user


@contextmanager
def acting(app, user=None):
    """A POST request context (so SQLite begins IMMEDIATE), signed in as `user` when given; gives that user's row,
    for the services that take the acting user."""
    with app.test_request_context("/", method="POST"):
        signed_in = None
        if user is not None:
            signed_in = db.session.get(User, user.id)
            login_user(signed_in)
        yield signed_in


def user_row(user) -> User:
    """`user` (a row of any session, or a record with its id) as a row of this session."""
    return db.session.get(User, user.id)


def make_product(app, user, group, unit="kg", labels=("A",), name=None, kind="produce") -> list[int]:
    """A product of `group` in `unit` with one variant per label; returns the variant ids."""
    with acting(app, user) as coordinator:
        product = inv.create_product(
            coordinator,
            db.session.get(Group, group.id),
            name=name or f"Produk {unit}",
            kind=kind,
            unit=unit,
            variants=[{"label": label, "unit_price": 10000} for label in labels],
        )
        ids = [v.id for v in product.variants]
        db.session.commit()
        return ids


def make_stock_group(app, members=2):
    """A coordinator, a group and `members` contributing members."""
    user = make_user(app)
    group = make_group(app, user)
    people = [make_member(app, group, name=f"Anggota {i}") for i in range(members)]
    return SimpleNamespace(user=user, group=group, members=people)


def contribute(app, setup, variant_id, quantity, member=None, **extra) -> int:
    """Record a contribution and commit; returns the lot id."""
    member = member or setup.members[0]
    with acting(app, setup.user) as coordinator:
        lot = inv.receive_contribution(
            coordinator,
            db.session.get(Group, setup.group.id),
            variant_id=variant_id,
            member_id=member.id,
            quantity=quantity,
            **extra,
        )
        db.session.commit()
        return lot.id


def counters(variant_id) -> tuple[Decimal, Decimal]:
    """(on_hand, reserved) as the database holds them now, in the current session."""
    row = db.session.execute(select(Stock.on_hand, Stock.reserved).where(Stock.variant_id == variant_id)).one()
    return row.on_hand, row.reserved


def lot_remaining(variant_ids) -> dict[int, Decimal]:
    rows = db.session.execute(select(Lot.id, Lot.remaining).where(Lot.variant_id.in_(list(variant_ids))))
    return dict(rows.all())


def movement_count() -> int:
    return db.session.scalar(select(func.count(Movement.id)))


def snapshot(variant_ids) -> dict:
    """Everything the stock services may touch for these variants, to compare before and after."""
    ids = list(variant_ids)
    return {
        "stock": [
            tuple(r)
            for r in db.session.execute(
                select(Stock.variant_id, Stock.on_hand, Stock.reserved)
                .where(Stock.variant_id.in_(ids))
                .order_by(Stock.variant_id)
            )
        ],
        "lots": [
            tuple(r)
            for r in db.session.execute(select(Lot.id, Lot.remaining).where(Lot.variant_id.in_(ids)).order_by(Lot.id))
        ],
        "movements": movement_count(),
    }
