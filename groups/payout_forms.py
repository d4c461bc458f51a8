"""Forms for paying members, their savings and SHU; they carry what people typed, the services decide.

The payout and savings forms carry an idempotency key made when the page is
rendered: the same form sent twice records one payout, one deposit or one
withdrawal.
"""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectChoice, SelectField, StringField, TelField
from wtforms.validators import Length, Optional

PAYOUT_METHOD_CHOICES = [SelectChoice("cash", _l("Cash")), SelectChoice("transfer", _l("Bank transfer")),
                         SelectChoice("ewallet", _l("E-wallet (paid from the group's bank account)"))]
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
    surplus = StringField(_l("Surplus to share (Rp; leave empty for the group fund's balance at year end)"),
                          validators=[Optional(), _cap(40)])
    reserve = StringField(_l("Reserve (cadangan) %"), validators=[_cap(12)])
    services = StringField(_l("Services: by members' transactions (jasa usaha) %"), validators=[_cap(12)])
    capital = StringField(_l("Capital: by members' savings (jasa modal) %"), validators=[_cap(12)])
    management = StringField(_l("Management (pengurus) %"), validators=[_cap(12)])
    education = StringField(_l("Education (pendidikan) %"), validators=[_cap(12)])
    social = StringField(_l("Social (sosial) %"), validators=[_cap(12)])


class AcceptForm(FlaskForm):
    """The accept button: carries only the CSRF token."""
