"""Template filters: Rupiah and WIB times, day first."""

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask_babel import get_locale

from core.money import format_rupiah
from core.phone import display_phone

WIB = ZoneInfo("Asia/Jakarta")


def to_wib(moment: datetime) -> datetime:
    """The same moment on the clock in Blitar (WIB, UTC+7)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: times are stored in UTC with their offset")
    return moment.astimezone(WIB)


def format_wib(moment: datetime | None, with_time: bool = True) -> str:
    """27 Nov 2026 06.39 WIB (Indonesian) or 27 Nov 2026 06:39 WIB (English)."""
    if moment is None:
        return ""
    locale = str(get_locale() or "id")
    local = to_wib(moment)
    if not with_time:
        return format_datetime(local, "d MMM y", locale=locale)
    pattern = "d MMM y HH.mm" if locale.startswith("id") else "d MMM y HH:mm"
    return format_datetime(local, pattern, locale=locale) + " WIB"


def register_filters(app) -> None:
    app.add_template_filter(format_rupiah, "rupiah")
    app.add_template_filter(format_wib, "wib")
    app.add_template_filter(display_phone, "phone")
    app.add_template_filter(lambda m: format_wib(m, with_time=False), "wib_date")
