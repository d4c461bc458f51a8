"""A group's opening days: the weekdays on which buyers may pick up from it or have it deliver.

A group keeps them as seven flags, Monday to Sunday ("1111110": Monday to Saturday, the default);
the API and the forms speak of ISO weekday numbers (1 Monday ... 7 Sunday). Checkout defaults the
pickup day to the next day every group of the order is open, and refuses a day one of them is closed.
"""

from collections.abc import Iterable
from datetime import date, timedelta

from babel.dates import get_day_names
from flask_babel import get_locale
from flask_babel import gettext as _

from core.errors import ValidationFailed

WEEKDAYS = range(1, 8)  # ISO: 1 Monday ... 7 Sunday
EVERY_DAY = "1111111"
MONDAY_TO_SATURDAY = "1111110"
DEFAULT_OPEN_DAYS = MONDAY_TO_SATURDAY


def weekdays(open_days: str) -> list[int]:
    """The ISO weekdays a group is open: "1111110" -> [1, 2, 3, 4, 5, 6]."""
    return [day for day, flag in zip(WEEKDAYS, open_days) if flag == "1"]


def clean_open_days(value, field: str = "open_days") -> str:
    """ISO weekday numbers (1 Monday ... 7 Sunday; ints or their digits, in any order) as the group keeps them;
    a 422 on `field` for anything else or for no day at all."""
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
        raise ValidationFailed(errors={field: [_("Choose the days the group is open.")]})
    days = set()
    for item in value:
        if isinstance(item, str) and item.strip().isascii() and item.strip().isdigit():
            item = int(item.strip())
        if isinstance(item, bool) or not isinstance(item, int) or item not in WEEKDAYS:
            raise ValidationFailed(errors={field: [_("Choose the days the group is open.")]})
        days.add(item)
    if not days:
        raise ValidationFailed(errors={field: [_("Choose at least one day on which the group is open.")]})
    return "".join("1" if day in days else "0" for day in WEEKDAYS)


def is_open(open_days: str, day: date) -> bool:
    return open_days[day.isoweekday() - 1] == "1"


def next_open_day(open_days: Iterable[str], start: date, last: date) -> date | None:
    """The first day from `start` to `last` on which every one of `open_days` is open; None if there is none."""
    kept = list(open_days)
    day = start
    while day <= last:
        if all(is_open(days, day) for days in kept):
            return day
        day += timedelta(days=1)
    return None


def day_name(iso_weekday: int) -> str:
    """Monday, Senin: a weekday's name in the reader's language."""
    return get_day_names("wide", locale=str(get_locale() or "id"))[iso_weekday - 1]


def describe(open_days: str) -> str:
    """The days as people say them: "Senin–Sabtu", "setiap hari", "Senin, Rabu, Jumat"."""
    days = weekdays(open_days)
    if len(days) == 7:
        return _("every day")
    if len(days) >= 3 and days == list(range(days[0], days[-1] + 1)):
        return f"{day_name(days[0])}–{day_name(days[-1])}"
    return ", ".join(day_name(day) for day in days)
