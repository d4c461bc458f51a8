"""Accounts API: register, log in, log out (here or everywhere), change the password, bearer tokens."""

from flask import current_app, g
from flask_babel import lazy_gettext as _l
from flask_smorest.error_handler import ErrorSchema

from accounts import throttle
from accounts.schemas import LoginIn, PasswordIn, RegisterIn, TokenIn, TokenOut, UserOut
from accounts.services import (
    end_session,
    issue_token,
    register_user,
    renew_session,
    require_login,
    revoke_own_token,
    signed_in_user,
    start_session,
)
from core.blueprint import Blueprint
from core.errors import NotFound, ValidationFailed
from core.extensions import db, limiter
from core.validation import clean_name

blp = Blueprint("accounts_api", __name__, url_prefix="/api/v1", description="Accounts")


def _register_limit():
    return current_app.config["REGISTER_RATE_LIMIT"]


def _credentials(data: dict):
    identifier = data.get("email") or data.get("phone") or data.get("username")
    if not identifier:
        raise ValidationFailed(errors={"email": [str(_l("Enter your e-mail or phone number."))]})
    return throttle.authenticate(identifier, data["password"])


@blp.route("/auth/register", methods=["POST"])
@limiter.limit(_register_limit)
@blp.arguments(RegisterIn)
@blp.response(201, UserOut)
def register(data):
    """Create an account that logs in by phone number or e-mail (at least one of them), or by a login name.

    A phone number, an e-mail address or a login name that already names an account is a 409.
    """
    user = register_user(
        data.get("email"), data["password"], data["name"], phone=data.get("phone"), username=data.get("username")
    )
    db.session.commit()
    return user


@blp.route("/auth/login", methods=["POST"])
@blp.arguments(LoginIn)
@blp.response(200, UserOut)
@blp.alt_response(429, schema=ErrorSchema, description=throttle.ANSWER_429)
def login(data):
    """Log in with e-mail, phone or login name, and password; sets the session cookie.

    The session lasts until the browser closes or the user logs out; it sets no remember-me
    cookie (for longer, use a bearer token).
    """
    user = _credentials(data)
    start_session(user)
    db.session.commit()
    return user


@blp.route("/auth/logout", methods=["POST"])
@blp.response(204)
def logout():
    """End the browser session.

    No copy of its cookies signs in again: the account's session token is replaced, so every
    other browser session of the account ends with it. A bearer token is not touched: revoke
    it with `DELETE /auth/token`, or use `POST /auth/logout-everywhere`.
    """
    end_session(signed_in_user())
    db.session.commit()


@blp.route("/auth/logout-everywhere", methods=["POST"])
@blp.response(204)
def logout_everywhere():
    """Log out on every device.

    Ends every browser session of the account and revokes every API token, the one this request
    carries included. The password stays.
    """
    end_session(require_login(), everywhere=True)
    db.session.commit()


@blp.route("/auth/password", methods=["POST"])
@blp.arguments(PasswordIn)
@blp.response(204)
@blp.alt_response(429, schema=ErrorSchema, description=throttle.ANSWER_429)
def update_password(data):
    """Change your own password.

    Every browser session ends and every API token is revoked, but the session or the bearer
    token this request comes with, which goes on working. A wrong `current_password` is a 422
    naming it; a `new_password` is checked as at registration.
    """
    user = require_login()
    throttle.change_password(user, data["current_password"], data["new_password"], keep_token_id=g.get("api_token_id"))
    renew_session(user)
    db.session.commit()


@blp.route("/auth/token", methods=["POST"])
@blp.arguments(TokenIn)
@blp.response(201, TokenOut)
@blp.alt_response(429, schema=ErrorSchema, description=throttle.ANSWER_429)
def create_token(data):
    """Trade credentials for a bearer token."""
    name = clean_name(data["name"]) if data.get("name") else None
    user = _credentials(data)
    row, token = issue_token(user, name)
    db.session.commit()
    return {"id": row.id, "token": token}


@blp.route("/auth/token", methods=["DELETE"])
@blp.response(204)
def revoke_current_token():
    """Revoke the bearer token this request carries."""
    user = require_login()
    token_id = g.get("api_token_id")  # set when the request's bearer token was read
    if token_id is None:
        raise NotFound(_l("This request carries no API token."))
    revoke_own_token(user, token_id)
    db.session.commit()


@blp.route("/auth/tokens/<int:token_id>", methods=["DELETE"])
@blp.response(204)
def revoke_token_by_id(token_id):
    """Revoke one of your own tokens, for example of a lost phone."""
    revoke_own_token(require_login(), token_id)
    db.session.commit()
