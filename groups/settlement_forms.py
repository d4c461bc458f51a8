"""Forms for work logs and settlements; they carry what people typed, the services decide."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional
from wtforms.widgets import DateInput


def _cap(n: int) -> Length:
    return Length(max=n, message=_l("That is too long."))


def optional_id(value):
    """A posted id as an int, or None (the service then names what is wrong)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        return int(value)
    return None


class WorkLogForm(FlaskForm):
    """A member's work on a day: pieces sewn, hours."""

    member_id = SelectField(_l("Member"), choices=[], coerce=optional_id, validate_choice=False)
    units = StringField(_l("Units (pieces, hours)"), validators=[_cap(40)])
    date = StringField(_l("Day"), widget=DateInput(), validators=[_cap(40)])
    note = StringField(_l("Note (optional)"), validators=[Optional(), _cap(500)])


class WorkLogReversalForm(FlaskForm):
    note = StringField(_l("What was wrong?"), validators=[Optional(), _cap(500)])


class SettlementForm(FlaskForm):
    """The period to close: first and last day (WIB)."""

    period_start = StringField(_l("First day"), widget=DateInput(), validators=[_cap(40)])
    period_end = StringField(_l("Last day"), widget=DateInput(), validators=[_cap(40)])
