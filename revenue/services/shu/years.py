"""The years an SHU is drafted for, on the WIB clock: this year, a year's bounds, the first year one can give."""

from datetime import datetime

from core.formatting import WIB

FIRST_YEAR = 2000


def current_year() -> int:
    """This year in Blitar (WIB)."""
    return datetime.now(WIB).year


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The first moment of the year and of the next, in WIB."""
    return datetime(year, 1, 1, tzinfo=WIB), datetime(year + 1, 1, 1, tzinfo=WIB)
