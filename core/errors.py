"""One error shape for the whole app: JSON under /api/, an error page elsewhere."""

import logging
from http import HTTPStatus

from flask import Flask, g, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from core.database import unavailable
from core.extensions import db

log = logging.getLogger(__name__)


class AppError(Exception):
    """A domain error that carries the HTTP status it answers with."""

    code = 400
    default_message = _l("The request could not be processed.")

    def __init__(self, message=None, errors: dict | None = None):
        super().__init__(message)
        self.message = message if message is not None else self.default_message
        self.errors = errors or {}


class Unauthorized(AppError):
    code = 401
    default_message = _l("Please log in first.")


class Forbidden(AppError):
    code = 403
    default_message = _l("You are not allowed to do that.")


class NotFound(AppError):
    code = 404
    default_message = _l("Not found.")


class Conflict(AppError):
    code = 409
    default_message = _l("That conflicts with the current state.")


class ValidationFailed(AppError):
    """Input that is well-formed but breaks a rule; `errors` is keyed by field."""

    code = 422
    default_message = _l("Some fields need attention.")


def field_error(field: str, message) -> ValidationFailed:
    """A 422 naming one field."""
    return ValidationFailed(errors={field: [str(message)]})


HTTP_MESSAGES = {
    400: _l("The request is malformed."),
    401: _l("Please log in first."),
    403: _l("You are not allowed to do that."),
    404: _l("The page or item was not found."),
    405: _l("That method is not allowed here."),
    409: _l("That conflicts with the current state."),
    413: _l("The request is too large."),
    415: _l("That content type is not supported."),
    422: _l("Some fields need attention."),
    429: _l("Too many attempts. Please wait a moment and try again."),
    500: _l("Something went wrong on our side. Please try again later."),
    503: _l("That could not be finished just now. Please try again in a moment."),
}
RETRY_AFTER_SECONDS = 1  # a lost database connection is replaced at once (pool_pre_ping)


def wants_json() -> bool:
    """True for API requests, which always get JSON errors."""
    return request.path.startswith("/api/")


def error_response(code: int, message, errors: dict | None = None, headers=None):
    """Answer `code` in the one error shape: JSON for the API, a page otherwise."""
    status = HTTPStatus(code).phrase
    message = str(message)
    if wants_json():
        body = {"code": code, "status": status, "message": message, "errors": errors or {}}
        response = jsonify(body)
    else:
        response = render_template("errors/error.html", code=code, status=status, message=message, errors=errors or {})
    return response, code, headers or {}


def _flatten_webargs_messages(messages) -> dict:
    """webargs nests field errors under their location ("json", "query"); lift them."""
    if not isinstance(messages, dict):
        return {"_schema": messages}
    flat: dict = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            flat.update(fields)
        else:
            flat[location] = fields
    return flat


def handle_app_error(error: AppError):
    db.session.rollback()
    return error_response(error.code, error.message, error.errors)


def handle_http_exception(error: HTTPException):
    db.session.rollback()
    code = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = _flatten_webargs_messages(data["messages"]) if "messages" in data else {}
    if code == 422 or (code == 400 and errors):
        message = HTTP_MESSAGES.get(code)
    elif code == 429:
        message = HTTP_MESSAGES[429]
    else:
        message = HTTP_MESSAGES.get(code, error.description or HTTPStatus(code).phrase)
    headers = dict(data.get("headers") or {})
    if code == 405 and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    if code == 429 and getattr(error, "retry_after", None):
        headers["Retry-After"] = str(error.retry_after)
    return error_response(code, message, errors, headers)


def handle_unexpected(error: Exception):
    db.session.rollback()
    log.exception("Unhandled error on %r %r", request.method, request.path)
    return error_response(500, HTTP_MESSAGES[500])


def handle_database_error(error: DBAPIError):
    """A database that could not answer now (a lost connection, SQLite busy) is a 503 to retry; else a 500."""
    if not unavailable(error):
        return handle_unexpected(error)
    g.database_unavailable = True  # see core.database.answering_without_database
    db.session.rollback()
    log.warning("Database unavailable on %r %r: %s", request.method, request.path, error.orig)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    try:
        return error_response(503, HTTP_MESSAGES[503], headers=headers)
    except DBAPIError:  # still away while the page was made (its menu shows who is signed in): the bare message
        db.session.rollback()
        return str(HTTP_MESSAGES[503]), 503, {**headers, "Content-Type": "text/plain; charset=utf-8"}


def register_errorhandlers(app: Flask) -> None:
    """Route every error through the one shape."""
    app.register_error_handler(AppError, handle_app_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(Exception, handle_unexpected)
