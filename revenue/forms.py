"""Forms for the revenue split: the split policy, work logs, settlements, payouts, savings and SHU.

They carry what people typed; the services decide what is valid, as they do for the JSON API.

The payout and savings forms carry an idempotency key made when the page is
rendered: the same form sent twice records one payout, one deposit or one
withdrawal.
"""

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, RadioField, SelectChoice, SelectField, StringField, TelField
from wtforms.validators import Length, Optional
from wtforms.widgets import DateInput

from core.forms import FlaskForm

PAYOUT_METHOD_CHOICES = [
    SelectChoice("cash", _l("Cash")),
    SelectChoice("transfer", _l("Bank transfer")),
    SelectChoice("ewallet", _l("E-wallet (paid from the group's bank account)")),
]
SAVING_KIND_CHOICES = [SelectChoice("deposit", _l("Deposit")), SelectChoice("withdrawal", _l("Withdrawal"))]


def _cap(n: int) -> Length:
    return Length(max=n, message=_l("That is too long."))


class PayoutForm(FlaskForm):
    """Money paid to a member from their balance."""

    member_id = SelectField(_l("Member"), choices=[], validate_choice=False)
    amount = StringField(_l("Amount (Rp)"), validators=[_cap(40)])
    method = RadioField(_l("Paid by"), choices=PAYOUT_METHOD_CHOICES, default="cash", validate_choice=False)
    reference = StringField(_l("Reference or receipt number (optional)"), validators=[Optional(), _cap(100)])
    phone = TelField(_l("E-wallet phone number (for e-wallet)"), validators=[Optional(), _cap(40)])
    idempotency_key = HiddenField()


class PayoutReversalForm(FlaskForm):
    reason = StringField(_l("What was wrong?"), validators=[_cap(500)])


class SavingForm(FlaskForm):
    member_id = SelectField(_l("Member"), choices=[], validate_choice=False)
    kind = RadioField(_l("Kind"), choices=SAVING_KIND_CHOICES, default="deposit", validate_choice=False)
    amount = StringField(_l("Amount (Rp)"), validators=[_cap(40)])
    note = StringField(_l("Note (optional)"), validators=[Optional(), _cap(500)])
    idempotency_key = HiddenField()


class ShuForm(FlaskForm):
    """A year's SHU: the surplus (blank for the group fund's balance) and the percent of each part."""

    year = StringField(_l("Year"), validators=[_cap(4)])
    surplus = StringField(
        _l("Surplus to share (Rp; leave empty for the group fund's balance at year end)"),
        validators=[Optional(), _cap(40)],
    )
    reserve = StringField(_l("Reserve (cadangan) %"), validators=[_cap(12)])
    services = StringField(_l("Services: by members' transactions (jasa usaha) %"), validators=[_cap(12)])
    capital = StringField(_l("Capital: by members' savings (jasa modal) %"), validators=[_cap(12)])
    management = StringField(_l("Management (pengurus) %"), validators=[_cap(12)])
    education = StringField(_l("Education (pendidikan) %"), validators=[_cap(12)])
    social = StringField(_l("Social (sosial) %"), validators=[_cap(12)])


class AcceptForm(FlaskForm):
    """The accept button: carries only the CSRF token."""


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


METHOD_CHOICES = [
    SelectChoice("contribution", _l("By contribution: each sale goes to the members whose goods were sold")),
    SelectChoice("equal", _l("Equally: sales go to the group pool, shared equally among active members at settlement")),
    SelectChoice(
        "work", _l("By work: sales go to the group pool, shared by logged work (pieces, hours) at settlement")
    ),
]


class SplitPolicyForm(FlaskForm):
    method = RadioField(
        _l("How sales are shared"), choices=METHOD_CHOICES, default="contribution", validate_choice=False
    )
    group_fund_percent = StringField(_l("Group fund (kas kelompok): percent of each sale, 0 to 100"))
