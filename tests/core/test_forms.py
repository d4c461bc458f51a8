"""Every page form's messages come from the site's catalog: in Indonesian, no WTForms English is left."""

import importlib
import re
from pathlib import Path

import pytest
from flask_babel import force_locale
from flask_wtf import FlaskForm as FlaskWtfForm
from werkzeug.datastructures import MultiDict
from wtforms import SelectFieldBase
from wtforms.i18n import messages_path

import core.forms

FORM_MODULES = (
    "accounts.forms",
    "groups.forms",
    "inventory.forms",
    "revenue.forms",
    "marketplace.forms",
    "payments.forms",
)


def _all_forms() -> list[type]:
    for module in FORM_MODULES:
        importlib.import_module(module)
    found, todo = [], [FlaskWtfForm]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__ in FORM_MODULES:
                found.append(sub)
    return sorted(set(found), key=lambda cls: (cls.__module__, cls.__name__))


def _wtforms_english() -> list[re.Pattern]:
    """Each of WTForms' own messages, as a pattern its filled-in text matches."""
    pot = (Path(messages_path()) / "wtforms.pot").read_text()
    ids = re.findall(r'^msgid(?:_plural)? "(.+)"$', pot, flags=re.M)
    placeholder = re.compile(r"%\(\w+\)[sd]|%s")
    return [re.compile(".+".join(re.escape(part) for part in placeholder.split(text))) for text in ids]


ENGLISH = _wtforms_english()

# Empty, too short and too long: every validator a form has speaks at least once.
SUBMISSIONS = ("", "x", "1,5", "x" * 3000)


def _errors(app, form_class, value: str, locale: str) -> list[str]:
    with app.test_request_context("/", method="POST"), force_locale(locale):
        form = form_class(formdata=MultiDict(), meta={"csrf": False})
        data = MultiDict({field.name: value for field in form if field.type not in ("CSRFTokenField",)})
        form = form_class(formdata=data, meta={"csrf": False})
        for field in form:
            if isinstance(field, SelectFieldBase) and getattr(field, "choices", []) is None:
                field.choices = []
        form.validate()
        return [str(error) for errors in form.errors.values() for error in errors]


def test_every_page_form_reads_its_messages_from_the_catalog():
    forms = _all_forms()
    assert len(forms) > 20
    assert [cls.__name__ for cls in forms if not issubclass(cls, core.forms.FlaskForm)] == []


@pytest.mark.parametrize("form_class", _all_forms(), ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_every_form_error_in_indonesian_is_a_translated_catalog_entry(app, form_class):
    for value in SUBMISSIONS:
        indonesian = _errors(app, form_class, value, "id")
        english = _errors(app, form_class, value, "en")
        assert len(indonesian) == len(english)
        for id_text, en_text in zip(indonesian, english, strict=True):
            assert id_text != en_text, f"{form_class.__name__} says {id_text!r} in Indonesian"
            assert not any(pattern.fullmatch(id_text) for pattern in ENGLISH), id_text


def test_wtforms_english_patterns_match_its_messages():
    assert any(p.fullmatch("Field must be between 8 and 256 characters long.") for p in ENGLISH)
    assert any(p.fullmatch("This field is required.") for p in ENGLISH)
