"""Extensions, created unbound and bound to an app in create_app."""
from flask import current_app, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import Babel
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

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


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, which build no signer for a request that brings no session cookie,
    and neither read nor set one for a bearer API request.

    Most requests of visitors to public pages (the catalog) bring none and need none. A bearer request is
    its token's user alone: a session cookie sent beside it (a browser's, of someone else perhaps) is not
    read, so it cannot stand in for a bad token or mix with a good one, and the request sets no cookie.
    """

    def open_session(self, app, request):
        if bearer_request(request):
            return self.session_class()
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        from flask import request as current_request

        if bearer_request(current_request):
            return
        super().save_session(app, session, response)


class Logins(LoginManager):
    """Flask-Login, taking a request with no session cookie, remember-me cookie or Authorization header as
    anonymous at once: there is nothing such a request could be logged in by. A bearer API request is
    its token's user (or refused), without a look at the session or a remember-me cookie."""

    def _load_user(self):
        if bearer_request(request):
            return self._update_request_context_with_user(self._load_user_from_request(request))
        config = current_app.config
        if (not request.cookies.get(config["SESSION_COOKIE_NAME"])
                and not request.cookies.get(config.get("REMEMBER_COOKIE_NAME", "remember_token"))
                and "Authorization" not in request.headers):
            return self._update_request_context_with_user()
        return super()._load_user()

    def _update_remember_cookie(self, response):
        if bearer_request(request):
            return response
        return super()._update_remember_cookie(response)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = Logins()
babel = Babel()
csrf = CSRFProtect()
api = Api()


def _rate_limit_key() -> str:
    return get_remote_address() or request.remote_addr or "unknown"


limiter = ViewLimiter(key_func=_rate_limit_key)
