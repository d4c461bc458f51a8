"""What every domain's pages share: a service's errors shown on a form, a safe path to return to, an input's
attributes."""

from urllib.parse import urlsplit

from flask import flash, request

from core.errors import AppError


def safe_next(default: str = "/") -> str:
    """A same-site path to return to; anything else falls back to `default`."""
    target = request.args.get("next") or request.form.get("next") or ""
    if not target.isprintable():  # control characters: browsers drop tabs, CR/LF cannot go in a header
        return default
    parts = urlsplit(target)
    if (
        target.startswith("/")
        and not target.startswith("//")
        and not parts.scheme
        and not parts.netloc
        and "\\" not in target
    ):
        return target
    return default


def apply_errors(form, error: AppError) -> None:
    """Show a service's field errors beside the form's fields, and its message on top."""
    placed = False
    for field, messages in error.errors.items():
        if field in form:
            form[field].errors = list(form[field].errors) + [str(m) for m in messages]
            placed = True
    if not placed or error.code != 422:
        flash(str(error.message), "error")


def input_attributes(**attributes) -> dict:
    """The attributes of an input that have a value: WTForms writes None as "None" (and autofocus="None" still
    focuses), so None and False are left out; True is written bare (`autofocus`)."""
    return {name: value for name, value in attributes.items() if value is not None and value is not False}


def page_arg() -> int:
    """The list page a request asks for (`?page=`): a whole number from 1 to 100,000, else 1."""
    page = request.args.get("page", "1")
    return int(page) if page.isascii() and page.isdigit() and 0 < int(page) <= 100_000 else 1
