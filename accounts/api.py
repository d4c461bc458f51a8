"""Accounts API: register, log in, log out, bearer tokens."""

from flask import current_app, g
from flask_babel import lazy_gettext as _l
from flask_smorest.error_handler import ErrorSchema

from accounts import throttle
from accounts.schemas import LoginIn, RegisterIn, TokenIn, TokenOut, UserOut
from accounts.services import (
    end_session,
    issue_token,
    register_user,
    require_login,
    revoke_own_token,
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
    identifier = data.get("email") or data.get("phone")
    if not identifier:
        raise ValidationFailed(errors={"email": [str(_l("Enter your e-mail or phone number."))]})
    return throttle.authenticate(identifier, data["password"])


@blp.route("/auth/register", methods=["POST"])
@limiter.limit(_register_limit)
@blp.arguments(RegisterIn)
@blp.response(201, UserOut)
def register(data):
    """Create an account."""
    user = register_user(**data)
    db.session.commit()
    return user


@blp.route("/auth/login", methods=["POST"])
@blp.arguments(LoginIn)
@blp.response(200, UserOut)
@blp.alt_response(429, schema=ErrorSchema, description=throttle.ANSWER_429)
def login(data):
    """Log in with e-mail (or phone) and password; sets the session cookie."""
    user = _credentials(data)
    start_session(user)
    db.session.commit()
    return user


@blp.route("/auth/logout", methods=["POST"])
@blp.response(204)
def logout():
    """End the browser session."""
    end_session()


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
