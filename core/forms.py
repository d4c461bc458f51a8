"""The base of every page form: Flask-WTF's FlaskForm, whose built-in messages speak the site's catalog.

WTForms' own messages ("This field is required.", "Field must be between 8 and 256 characters long.") come
from its translations, which have no Indonesian. WTForms' documented hook, `Meta.get_translations`, hands
them to Flask-Babel instead, so they are read from translations/<locale>/LC_MESSAGES/messages.po like every
other string of the site. Every form module imports FlaskForm from here; a test checks that none forgets.
"""

from flask_babel import get_translations
from flask_wtf import FlaskForm as _FlaskWtfForm


class CatalogTranslations:
    """The gettext and ngettext WTForms calls, answered by Flask-Babel's catalog of the request's language."""

    def gettext(self, string: str) -> str:
        return get_translations().ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return get_translations().ungettext(singular, plural, n)


catalog_translations = CatalogTranslations()


class FlaskForm(_FlaskWtfForm):
    """A page form (with its CSRF token) whose validator and field messages are translated."""

    class Meta:
        def get_translations(self, form):
            return catalog_translations
