"""Template filters and what messages show: Rupiah, quantities and days in the reader's language, WIB times.

Quantities read the Indonesian way in `id` (43,5 kg; 1.250 kg) and the English way in `en` (43.5 kg);
in an input's value they keep no grouping ("1250,5"), which the pages read back (core.quantity.typed_quantity).
The API keeps its machine-readable "43.5" (core.quantity.format_quantity).
"""

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from flask_babel import get_locale, get_translations
from jinja2 import pass_context
from markupsafe import Markup

from core.money import format_rupiah
from core.phone import display_phone
from core.quantity import format_quantity, normalize

WIB = ZoneInfo("Asia/Jakarta")
DAY_PATTERN = "d MMM y"  # 1 Nov 2026, 17 Agu 2026: the same shape in both languages


def _locale() -> str:
    return str(get_locale() or "id")


def to_wib(moment: datetime) -> datetime:
    """The same moment on the clock in Blitar (WIB, UTC+7)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: times are stored in UTC with their offset")
    return moment.astimezone(WIB)


def format_wib(moment: datetime | None, with_time: bool = True) -> str:
    """27 Nov 2026 06.39 WIB (Indonesian) or 27 Nov 2026 06:39 WIB (English)."""
    if moment is None:
        return ""
    locale = _locale()
    local = to_wib(moment)
    if not with_time:
        return format_datetime(local, DAY_PATTERN, locale=locale)
    pattern = "d MMM y HH.mm" if locale.startswith("id") else "d MMM y HH:mm"
    return format_datetime(local, pattern, locale=locale) + " WIB"


def format_day(day: date | None) -> str:
    """A calendar day (a pickup day, a period's end, a best-before date): 1 Nov 2026, 17 Agu 2026."""
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = day.date()
    return format_date(day, DAY_PATTERN, locale=_locale())


def format_qty(number: Decimal | int | str | None) -> str:
    """A quantity as people read it: 43,5 and 1.250 in Indonesian, 43.5 and 1,250 in English; no trailing zeros."""
    if number is None or number == "":
        return ""
    return _grouped(normalize(Decimal(number)), _locale())


@lru_cache(maxsize=4096)
def _grouped(number: Decimal, locale: str) -> str:
    return format_decimal(number, format="#,##0.###", locale=locale)  # a page shows the same few numbers often


def format_signed_qty(number: Decimal | None) -> str:
    """+2,5 or -0,2 (in Indonesian), or an empty string for zero: a change in the stock ledger."""
    if not number:
        return ""
    return ("+" if number > 0 else "") + format_qty(number)


def format_qty_input(number: Decimal | int | str | None) -> str:
    """A quantity as an input's value: no grouping, a decimal comma in Indonesian ("2,5"), a point in English."""
    if number is None or number == "":
        return ""
    text = format_quantity(Decimal(number))
    return text.replace(".", ",") if _locale().startswith("id") else text


def rendering_gettext():
    """`gettext` for one rendering with many messages (the catalog's cards): the request's translations looked
    up once, not for every message. Given to `render_template` as `gettext`, it stands in for the one Flask-Babel
    installs, and does what Jinja's new-style gettext does: the translation escaped, then always formatted."""
    translations = get_translations()

    @pass_context
    def gettext(context, string: str, **variables) -> str:
        text = translations.gettext(string)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    return gettext


def register_filters(app) -> None:
    app.add_template_filter(format_rupiah, "rupiah")
    app.add_template_filter(format_wib, "wib")
    app.add_template_filter(display_phone, "phone")
    app.add_template_filter(lambda m: format_wib(m, with_time=False), "wib_date")
    app.add_template_filter(format_day, "day")
    app.add_template_filter(format_qty, "qty")
    app.add_template_filter(format_signed_qty, "signed_qty")
    app.add_template_filter(format_qty_input, "qty_input")
