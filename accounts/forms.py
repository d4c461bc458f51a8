"""Account forms (Flask-WTF: every form carries a CSRF token)."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, StringField, TelField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from accounts.models import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from core.forms import FlaskForm
from core.validation import NAME_MAX_LENGTH


class LoginForm(FlaskForm):
    login = StringField(_l("Phone number, e-mail or login name"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)])
    remember = BooleanField(_l("Keep me logged in on this phone"), default=False)  # phones here are shared


class RegisterForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=NAME_MAX_LENGTH)])
    # A phone number or an e-mail, at least one (the service says so): many buyers have WhatsApp and no e-mail.
    phone = TelField(_l("Phone number"), validators=[Optional(), Length(max=40)])
    email = EmailField(_l("E-mail (optional)"), validators=[Optional(), Length(max=254)])
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(min=PASSWORD_MIN_LENGTH, max=PASSWORD_MAX_LENGTH)]
    )


class LogoutForm(FlaskForm):
    """Log out, here or everywhere: a button that posts the CSRF token."""


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)]
    )
    new_password = PasswordField(
        _l("New password (at least %(n)d characters)", n=PASSWORD_MIN_LENGTH),
        validators=[DataRequired(), Length(min=PASSWORD_MIN_LENGTH, max=PASSWORD_MAX_LENGTH)],
    )
    new_password_again = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two new passwords are not the same."))],
    )


class LoginNameForm(FlaskForm):
    """One's own login name: set or changed (a phone shared in a household), never removed."""

    username = StringField(
        _l("Login name"),
        validators=[DataRequired(), Length(max=64)],
        description=_l("Such as siti.a: lowercase letters, digits, dots or underscores. Log in with it."),
    )
