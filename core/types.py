"""Column types shared by every domain, and the clock they are stamped by (utcnow)."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from sqlalchemy import DateTime, Enum
from sqlalchemy.types import TypeDecorator

_clock: ContextVar[datetime | None] = ContextVar("clock", default=None)


def utcnow() -> datetime:
    """The current moment, timezone-aware in UTC (inside `clock_at`, the moment it set)."""
    moment = _clock.get()
    return datetime.now(UTC) if moment is None else moment


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Within the block, utcnow() is `moment`: what services record there is dated then.

    For loading dated history (the demo's two months) through the same services as the site;
    the site never sets it. It holds for the current context only (thread, request).
    """
    if moment.tzinfo is None:
        raise ValueError("naive datetime given for the clock")
    token = _clock.set(moment.astimezone(UTC))
    try:
        yield
    finally:
        _clock.reset(token)


class UtcDateTime(TypeDecorator):
    """A moment stored in UTC and always read back timezone-aware.

    SQLite keeps no offset, so values are normalised to UTC on the way in and
    tagged UTC on the way out; PostgreSQL stores them as timestamptz.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def StrEnumType(enum_cls, name: str) -> Enum:
    """A Python StrEnum stored as its value in a short VARCHAR with a CHECK constraint."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )
