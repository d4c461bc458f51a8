"""What page tests share: a response's HTML, and interface text as a page in a given language shows it."""

from flask_babel import force_locale, gettext
from markupsafe import escape


def html(response) -> str:
    return response.get_data(as_text=True)


def t(app, message: str, locale: str = "id", raw: bool = False, **params) -> str:
    """`message` as a page in `locale` shows it (translated if a translation exists, HTML-escaped).

    `raw`: as a template's own `_()` shows it, which Jinja leaves unescaped.
    """
    with app.test_request_context("/"), force_locale(locale):
        text = gettext(message, **params)
        return text if raw else str(escape(text))
