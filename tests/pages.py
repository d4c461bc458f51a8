"""What page tests share: a response's HTML and style sheets, and interface text as a page in a given language shows
it."""

import re

from flask_babel import force_locale, gettext
from markupsafe import escape


def html(response) -> str:
    return response.get_data(as_text=True)


def styles(client, response) -> str:
    """The text of every style sheet the page links (pages have no inline styles: core/assets.py)."""
    links = re.findall(r'<link rel="stylesheet" href="([^"]+)">', html(response))
    return "".join(client.get(link).get_data(as_text=True) for link in links)


def t(app, message: str, locale: str = "id", raw: bool = False, **params) -> str:
    """`message` as a page in `locale` shows it (translated if a translation exists, HTML-escaped).

    `raw`: as a template's own `_()` shows it, which Jinja leaves unescaped.
    """
    with app.test_request_context("/"), force_locale(locale):
        text = gettext(message, **params)
        return text if raw else str(escape(text))
