"""API writes that a browser's cookie signs in: never from another site.

A POST, PUT, PATCH or DELETE under /api/ that brings the session or remember-me cookie (a bearer request brings
none: core.extensions.Request) is refused with 403 when the browser says it comes from another site: an `Origin`
other than the site's own, or `Sec-Fetch-Site: cross-site` or `same-site`. Its body must be JSON (or absent),
which a page of another site cannot send without a CORS preflight this app never grants; another body (a form,
multipart, text) needs the session's CSRF token in `X-CSRFToken`, as Flask-WTF makes it for the pages.
docs/ARCHITECTURE.md says why a request naming neither header is let through with a JSON body.
"""

from urllib.parse import urlsplit

from flask import Flask, current_app, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from core.errors import Forbidden

WRITING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CROSS_SITE_FETCHES = frozenset({"cross-site", "same-site"})  # same-site: another origin of the same site
CSRF_HEADER = "X-CSRFToken"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def own_origins() -> set[str]:
    """The origins this site's pages are served from: the request's own, and PUBLIC_URL's."""
    origins = {_origin(request.host_url)}
    if current_app.config.get("PUBLIC_URL"):
        origins.add(_origin(current_app.config["PUBLIC_URL"]))
    return origins


def signed_in_by_cookie() -> bool:
    """Whether the request brings the session or remember-me cookie (a bearer API request brings none)."""
    config = current_app.config
    return bool(
        request.cookies.get(config["SESSION_COOKIE_NAME"])
        or request.cookies.get(config.get("REMEMBER_COOKIE_NAME", "remember_token"))
    )


def from_another_site() -> bool:
    """Whether the browser says the request comes from a page of another site."""
    if request.headers.get("Sec-Fetch-Site", "").lower() in CROSS_SITE_FETCHES:
        return True
    origin = request.headers.get("Origin")
    return origin is not None and origin.lower() not in own_origins()


def json_or_no_body() -> bool:
    """A JSON body, or none at all (a bare POST that a form of another site never sends: forms name their type)."""
    return request.is_json or (not request.mimetype and not request.content_length)


def carries_csrf_token() -> bool:
    """Whether the request's X-CSRFToken is the session's CSRF token (Flask-WTF's)."""
    try:
        validate_csrf(request.headers.get(CSRF_HEADER))
    except ValidationError:
        return False
    return True


def check_cookie_write() -> None:
    """Refuse (403) an API write signed in by cookie that comes from another site, or sends a body that is not
    JSON without the CSRF token."""
    if request.method not in WRITING_METHODS or not request.path.startswith("/api/") or not signed_in_by_cookie():
        return
    if from_another_site():
        raise Forbidden(_l("This request comes from another site. Apps and other sites sign in with an API token."))
    if not json_or_no_body() and not carries_csrf_token():
        raise Forbidden(
            _l("With the browser's session, send JSON, or the page's CSRF token in the X-CSRFToken header.")
        )


def init_app(app: Flask) -> None:
    """Check every API write signed in by cookie before its view runs."""
    app.before_request(check_cookie_write)
