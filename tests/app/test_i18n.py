"""Translations: every interface string has Indonesian, placeholders survive, the .mo is compiled.

The messages are extracted from the source tree with the same command the
catalogs are built with (see babel.cfg):

    pybabel extract -F babel.cfg -k _l -o translations/messages.pot .
    pybabel update -i translations/messages.pot -d translations
    pybabel compile -d translations
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from markupsafe import escape

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "translations"
LOCALES = ("id", "en")
FIX_HINT = (
    "extract and update the catalogs, translate, then run `pybabel compile -d translations` "
    "(see the module docstring of tests/test_i18n.py)"
)

# %(name)s, %(n)d, %(price)05.2f ...: the name and the conversion must both survive translation.
PLACEHOLDER = re.compile(r"%\((\w+)\)[#0 +\-]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[diouxXeEfFgGcrsa]")


def _ids(message) -> tuple:
    return message.id if isinstance(message.id, tuple) else (message.id,)


def _strings(message) -> tuple:
    return tuple(message.string) if isinstance(message.string, (list, tuple)) else (message.string,)


def placeholders(text: str) -> set:
    """The named placeholders of `text` with their conversion, e.g. {"%(n)d", "%(name)s"}."""
    return {m.group(0) for m in PLACEHOLDER.finditer(text)}


def read_catalog(locale: str):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=locale)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The catalog template the extraction command builds from the current source tree."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    with open(pot, "rb") as f:
        catalog = read_po(f)
    assert len([m for m in catalog if m.id]) > 50, "extraction found suspiciously few messages; check babel.cfg"
    return catalog


@pytest.fixture(scope="module")
def indonesian():
    return read_catalog("id")


def test_every_extracted_message_has_an_indonesian_translation(extracted, indonesian):
    missing = []
    for message in extracted:
        if not message.id:
            continue
        translated = indonesian.get(message.id)
        where = ", ".join(f"{path}:{line}" for path, line in message.locations)
        if translated is None:
            missing.append(f"{_ids(message)[0]!r} ({where}): not in the catalog")
        elif translated.fuzzy:
            missing.append(f"{_ids(message)[0]!r} ({where}): marked fuzzy")
        elif not all(s and s.strip() for s in _strings(translated)):
            missing.append(f"{_ids(message)[0]!r} ({where}): empty translation")
    assert not missing, (
        f"{len(missing)} message(s) lack an Indonesian translation in "
        f"translations/id/LC_MESSAGES/messages.po; {FIX_HINT}:\n  " + "\n  ".join(missing)
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_no_catalog_has_fuzzy_entries(locale):
    """Compiling skips fuzzy entries silently, so a fuzzy flag means a string shows in English."""
    catalog = read_catalog(locale)
    fuzzy = [_ids(m)[0] for m in catalog if m.id and m.fuzzy]
    assert not catalog.fuzzy, f"the {locale} catalog header is marked fuzzy"
    assert not fuzzy, f"fuzzy entries in the {locale} catalog:\n  " + "\n  ".join(map(repr, fuzzy))


def test_indonesian_translations_keep_their_placeholders(indonesian):
    wrong = []
    for message in indonesian:
        if not message.id:
            continue
        expected = set().union(*(placeholders(i) for i in _ids(message)))
        for string in _strings(message):
            if not string:
                continue  # reported by the completeness test
            found = placeholders(string)
            if found != expected:
                wrong.append(f"{_ids(message)[0]!r}: expected {sorted(expected)}, found {sorted(found)}")
                continue
            if expected:
                sample = {
                    m.group(1): 1 if m.group(0)[-1] in "diouxXeEfFgGc" else "x" for m in PLACEHOLDER.finditer(string)
                }
                try:
                    string % sample
                except (TypeError, ValueError, KeyError) as exc:
                    wrong.append(f"{_ids(message)[0]!r}: translation does not format ({exc})")
    assert not wrong, "placeholders differ between msgid and Indonesian msgstr:\n  " + "\n  ".join(wrong)


def _key(value):
    """Plural messages come back from .mo files as lists and from .po files as tuples."""
    return tuple(value) if isinstance(value, (list, tuple)) else value


@pytest.mark.parametrize("locale", LOCALES)
def test_compiled_catalog_matches_po(locale):
    """The committed .mo holds exactly the .po's usable translations (non-empty, not fuzzy)."""
    directory = TRANSLATIONS / locale / "LC_MESSAGES"
    po = read_catalog(locale)
    mo_path = directory / "messages.mo"
    assert mo_path.exists(), f"{mo_path.relative_to(ROOT)} is missing; run `pybabel compile -d translations`"
    with open(mo_path, "rb") as f:
        mo = read_mo(f)
    # A translation identical to its msgid changes nothing, and pybabel writes empty plurals that way.
    expected = {
        _key(m.id): _key(m.string)
        for m in po
        if m.id and not m.fuzzy and all(_strings(m)) and _key(m.string) != _key(m.id)
    }
    compiled = {_key(m.id): _key(m.string) for m in mo if m.id and any(_strings(m)) and _key(m.string) != _key(m.id)}
    differing = (expected.keys() ^ compiled.keys()) | {
        k for k in expected.keys() & compiled.keys() if expected[k] != compiled[k]
    }
    stale = sorted(repr(k if isinstance(k, str) else k[0]) for k in differing)
    assert not stale, (
        f"{mo_path.relative_to(ROOT)} is out of date with messages.po "
        f"(run `pybabel compile -d translations`); differing messages:\n  " + "\n  ".join(stale)
    )


def test_home_page_is_indonesian_by_default_and_english_when_chosen(client, indonesian):
    heading = "Groups of Blitar selling together"
    footer = "Pasar Kelompok: farmer groups and joint business groups of Blitar selling together."
    heading_id, footer_id = indonesian[heading].string, indonesian[footer].string
    assert heading_id and heading_id != heading
    assert footer_id and footer_id != footer

    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<html lang="id">' in html
    assert str(escape(heading_id)) in html
    assert str(escape(footer_id)) in html
    assert heading not in html

    switch = client.get("/lang/en")
    assert switch.status_code == 302

    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert str(escape(heading)) in html
    assert str(escape(footer)) in html
    assert heading_id not in html
