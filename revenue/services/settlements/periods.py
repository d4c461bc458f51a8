"""Days on the WIB clock, and the periods a group settles.

Periods are WIB dates: a day begins at midnight in Blitar. Settlements of a group
and work logged on its settled days are decided one at a time (lock_group).
"""

import re
from datetime import date, datetime, time

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core.errors import Conflict, ValidationFailed
from core.extensions import db
from core.formatting import WIB, format_day
from core.types import utcnow
from groups.models import Group
from revenue.models import Settlement

FIRST_DAY = date(2000, 1, 1)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def today_wib() -> date:
    """Today in Blitar, on the clock services stamp by (core.types.utcnow)."""
    return wib_day(utcnow())


def day_start(day: date) -> datetime:
    """The first moment of `day` in Blitar."""
    return datetime.combine(day, time(0), tzinfo=WIB)


def wib_day(moment: datetime) -> date:
    """The day in Blitar of a moment."""
    return moment.astimezone(WIB).date()


def read_day(value, field: str) -> date:
    """A day sent as "YYYY-MM-DD" (or a date), or a 422 on `field`."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        day = value
    elif isinstance(value, str) and _DAY.fullmatch(value.strip()):
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            day = None
    else:
        day = None
    if day is None:
        raise ValidationFailed(errors={field: [_("Give a date as YYYY-MM-DD, such as 2026-01-31.")]})
    if day < FIRST_DAY:
        raise ValidationFailed(errors={field: [_("Give a date from 2000 on.")]})
    return day


def errors_of(found: dict, errors: dict, name: str, read) -> None:
    """Put what `read()` gives in `found[name]`, or its field errors in `errors`, so that all are reported at once."""
    try:
        found[name] = read()
    except ValidationFailed as exc:
        errors.update(exc.errors)


def lock_group(group: Group) -> None:
    """Settlements and work on settled days of one group are decided one at a time (PostgreSQL row lock;
    SQLite writers hold the database's write lock)."""
    query = select(Group.id).where(Group.id == group.id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    db.session.scalar(query)


def settlement_covering(group_id: int, day: date) -> Settlement | None:
    """The group's settlement whose period holds `day`, if any."""
    return db.session.scalar(
        select(Settlement)
        .where(Settlement.group_id == group_id, Settlement.period_start <= day, Settlement.period_end >= day)
        .limit(1)
    )


def refuse_settled_day(group: Group, day: date, field: str) -> None:
    """409 on `field` when `day` is in a settled period: its work can no longer change."""
    settled = settlement_covering(group.id, day)
    if settled is not None:
        raise Conflict(
            _l(
                "%(day)s is in a settled period (%(start)s to %(end)s): its work can no longer change.",
                day=format_day(day),
                start=format_day(settled.period_start),
                end=format_day(settled.period_end),
            ),
            {field: [_("This day is in a settled period.")]},
        )
