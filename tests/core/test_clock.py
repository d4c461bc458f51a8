"""The clock services stamp by: core.types.utcnow, and clock_at, which sets it for a block (the demo's history)."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from accounts.models import User
from core.extensions import db as _db
from core.types import clock_at, utcnow
from marketplace.services import today_wib as market_today
from revenue.services.settlements import today_wib as revenue_today

WIB = timezone(timedelta(hours=7))
MOMENT = datetime(2026, 10, 14, 23, 30, tzinfo=WIB)  # 16:30 UTC, already the 14th in Blitar


def test_utcnow_is_the_moment_clock_at_sets_and_now_again_after():
    with clock_at(MOMENT):
        assert utcnow() == MOMENT and utcnow().tzinfo == UTC
    assert abs(utcnow() - datetime.now(UTC)) < timedelta(seconds=5)


def test_clock_at_blocks_nest_and_an_error_leaves_the_clock_as_it_was():
    later = MOMENT + timedelta(days=3)
    with clock_at(MOMENT):
        with pytest.raises(RuntimeError), clock_at(later):
            assert utcnow() == later
            raise RuntimeError("a step failed")
        assert utcnow() == MOMENT
    assert utcnow() > MOMENT + timedelta(days=30)


def test_clock_at_refuses_a_moment_without_a_zone():
    with pytest.raises(ValueError), clock_at(datetime(2026, 10, 14, 9, 0)):
        pass


def test_today_in_blitar_follows_the_clock():
    with clock_at(MOMENT):
        assert market_today() == revenue_today() == date(2026, 10, 14)


def test_rows_flushed_inside_the_block_are_dated_by_it(app, db):
    with app.app_context():
        with clock_at(MOMENT):
            _db.session.add(User(email="dated@pasar.test", name="Dated", password_hash="x"))
            _db.session.flush()
        _db.session.commit()
        user = _db.session.scalar(select(User).where(User.email == "dated@pasar.test"))
        assert user.created_at == MOMENT
