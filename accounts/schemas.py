"""Account schemas for the API."""

from marshmallow import Schema, fields, validate

from accounts.models import EMAIL_MAX_LENGTH, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from core.validation import NAME_MAX_LENGTH

USERNAME_FIELD_MAX = 64  # longer than a login name can be, so a wrong one is told what the rule is
USERNAME_DOC = {
    "description": "A login name such as `siti.a`: 3-30 lowercase letters, digits, dots or underscores, "
    "beginning with a letter; unique"
}


class RegisterIn(Schema):
    """An account that logs in by phone number or e-mail: at least one of the two; each names one account."""

    email = fields.String(allow_none=True, validate=validate.Length(min=3, max=EMAIL_MAX_LENGTH))
    password = fields.String(required=True, validate=validate.Length(min=PASSWORD_MIN_LENGTH, max=PASSWORD_MAX_LENGTH))
    name = fields.String(required=True, validate=validate.Length(min=1, max=NAME_MAX_LENGTH))
    phone = fields.String(allow_none=True, validate=validate.Length(max=40))
    username = fields.String(allow_none=True, validate=validate.Length(max=USERNAME_FIELD_MAX), metadata=USERNAME_DOC)


class LoginIn(Schema):
    """Log in with an e-mail address, or with `phone` for those who have none, or with a login name."""

    email = fields.String(validate=validate.Length(max=EMAIL_MAX_LENGTH))
    phone = fields.String(validate=validate.Length(max=40))
    username = fields.String(validate=validate.Length(max=USERNAME_FIELD_MAX), metadata=USERNAME_DOC)
    password = fields.String(required=True, validate=validate.Length(max=PASSWORD_MAX_LENGTH))


class TokenIn(LoginIn):
    name = fields.String(
        validate=validate.Length(max=NAME_MAX_LENGTH), metadata={"description": "A label, such as the device"}
    )


class PasswordIn(Schema):
    """Change your own password: the current one, and a new one checked as at registration."""

    current_password = fields.String(required=True, validate=validate.Length(max=PASSWORD_MAX_LENGTH))
    new_password = fields.String(
        required=True, validate=validate.Length(min=PASSWORD_MIN_LENGTH, max=PASSWORD_MAX_LENGTH)
    )


class TokenOut(Schema):
    id = fields.Integer()
    token = fields.String(metadata={"description": "Shown once; send as `Authorization: Bearer <token>`"})


class UserOut(Schema):
    id = fields.Integer()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    username = fields.String(allow_none=True)
    name = fields.String()
    is_admin = fields.Boolean()
    locale = fields.String(allow_none=True)
    created_at = fields.DateTime()


class MeUpdateIn(Schema):
    name = fields.String(validate=validate.Length(min=1, max=NAME_MAX_LENGTH))
    locale = fields.String(validate=validate.OneOf(["id", "en"]))
    username = fields.String(validate=validate.Length(max=USERNAME_FIELD_MAX), metadata=USERNAME_DOC)
