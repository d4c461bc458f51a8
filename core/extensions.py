"""Extensions, created unbound and bound to an app in create_app; the request and session classes the app uses.

Flask-Login 0.6 has no hook to leave a remember-me cookie unread, and reads it before its request_loader: so the
request class hides a bearer API request's cookies (tests/core/test_extensions.py pins this).
"""

import flask
from flask import request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import Babel
from flask_compress import Compress
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase
from werkzeug.utils import cached_property

from core.limiter import ViewLimiter

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def bearer_request(request) -> bool:
    """An API request that names its user by a bearer token: that token alone decides who it is."""
    return bool(request.headers.get("Authorization")) and request.path.startswith("/api/")


def may_be_signed_in(request) -> bool:
    """Whether the request could be signed in: it brings a session or remember-me cookie or a bearer token, or has
    put something in its session (a login does).

    Otherwise it is anonymous, and asking Flask-Login, which works out session protection
    first, would cost a kept catalog page about a tenth of its time.
    """
    config = flask.current_app.config
    return bool(
        flask.session
        or request.cookies.get(config["SESSION_COOKIE_NAME"])
        or request.cookies.get(config.get("REMEMBER_COOKIE_NAME", "remember_token"))
        or bearer_request(request)
    )


class Request(flask.Request):
    """Flask's request, in which a bearer API request brings no cookies.

    A bearer request is its token's user alone: a session or remember-me cookie sent beside
    the token (a browser's, of someone else perhaps) is not read, so it cannot stand in for a
    bad token or mix with a good one.
    """

    @cached_property
    def cookies(self):
        if bearer_request(self):
            return self.dict_storage_class()
        return super().cookies


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, which build no signer for a request that brings no session cookie,
    and set no cookie for a bearer API request.

    Most requests of visitors to public pages (the catalog) bring none and need none. A bearer
    request brings none (Request) and keeps none: what it puts in its session is not saved.
    """

    def open_session(self, app, request):
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        if bearer_request(request):
            return
        super().save_session(app, session, response)


class CsrfProtect(CSRFProtect):
    """Flask-WTF's CSRF protection, looking at the method first: a GET needs no check, nor a look for exemptions
    (about 8 µs of a kept catalog page's 0.4 ms in process)."""

    def protect(self, apply_exemptions: bool = False) -> None:
        """Validate the CSRF token of a request whose method needs one."""
        if request.method in flask.current_app.config["WTF_CSRF_METHODS"]:
            super().protect(apply_exemptions=apply_exemptions)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
babel = Babel()
csrf = CsrfProtect()
api = Api()
compress = Compress()


def _rate_limit_key() -> str:
    return get_remote_address() or request.remote_addr or "unknown"


limiter = ViewLimiter(key_func=_rate_limit_key)
