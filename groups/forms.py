"""Group and member forms."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from accounts.models import PASSWORD_MIN_LENGTH
from core.forms import FlaskForm
from core.validation import NAME_MAX_LENGTH
from groups.opening import DEFAULT_OPEN_DAYS, WEEKDAYS, day_name, weekdays

KIND_CHOICES = [
    SelectChoice("farmer", _l("Farmer group (kelompok tani)")),
    SelectChoice("business", _l("Joint business group (KUB)")),
]
ROLE_CHOICES = [
    SelectChoice("member", _l("Member")),
    SelectChoice("treasurer", _l("Treasurer")),
    SelectChoice("coordinator", _l("Coordinator")),
]


class GroupForm(FlaskForm):
    name = StringField(_l("Group name"), validators=[DataRequired(), Length(max=NAME_MAX_LENGTH)])
    kind = SelectField(_l("Kind"), choices=KIND_CHOICES)
    village = StringField(_l("Village (desa)"), validators=[DataRequired(), Length(max=NAME_MAX_LENGTH)])
    district = StringField(_l("District (kecamatan)"), validators=[DataRequired(), Length(max=NAME_MAX_LENGTH)])
    description = TextAreaField(_l("About the group"), validators=[Optional(), Length(max=2000)])
    pickup_point = StringField(_l("Pickup point"), validators=[Optional(), Length(max=255)])
    pickup_hours = StringField(_l("Pickup hours"), validators=[Optional(), Length(max=255)])
    # The service reads the days (groups.opening.clean_open_days), so the form checks no choice.
    open_days = SelectMultipleField(
        _l("Open days"),
        validate_choice=False,
        default=[str(day) for day in weekdays(DEFAULT_OPEN_DAYS)],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    # Sent with the checkboxes: a form sent without it (an older page) leaves the days as they are, while no box
    # ticked on this page is a choice of no day, which the service refuses.
    open_days_shown = HiddenField()
    bank_name = StringField(_l("Bank"), validators=[Optional(), Length(max=100)])
    bank_account_number = StringField(_l("Account number"), validators=[Optional(), Length(max=40)])
    bank_account_holder = StringField(
        _l("Account holder (name on the account)"), validators=[Optional(), Length(max=NAME_MAX_LENGTH)]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.open_days.choices = [SelectChoice(str(day), day_name(day)) for day in WEEKDAYS]  # in the reader's language


class MemberForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX_LENGTH)])
    phone = TelField(_l("Phone number"), validators=[Optional(), Length(max=40)])
    email = EmailField(_l("E-mail (optional)"), validators=[Optional(), Length(max=254)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default="member")


USERNAME_FIELD = dict(
    label=_l("Login name (for a shared phone, optional)"),
    validators=[Optional(), Length(max=64)],
    description=_l("Such as siti.a: lowercase letters, digits, dots or underscores. Log in with it."),
)


class MemberAddForm(MemberForm):
    """Adding a member: the login name the person will log in with, when they share a phone."""

    username = StringField(**USERNAME_FIELD)


class InviteForm(FlaskForm):
    """A new invitation code for a member without an account, with an optional login name."""

    username = StringField(**USERNAME_FIELD)


class MemberEditForm(MemberForm):
    active = BooleanField(_l("Active"))


class VerifyForm(FlaskForm):
    """The district admin's button: verify ("1") or withdraw ("0"), with the bank account the admin was shown."""

    verified = HiddenField()
    bank_name = HiddenField()
    bank_account_number = HiddenField()
    bank_account_holder = HiddenField()
    next = HiddenField()


class ActionForm(FlaskForm):
    """A button that posts: carries only the CSRF token."""


class JoinForm(FlaskForm):
    code = StringField(_l("Invitation code"), validators=[DataRequired(), Length(max=40)])
    phone = TelField(_l("Your phone number"), validators=[Optional(), Length(max=40)])
    username = StringField(**USERNAME_FIELD)
    password = PasswordField(
        _l("New password (at least %(n)d characters)", n=PASSWORD_MIN_LENGTH), validators=[Optional(), Length(max=256)]
    )
