"""Name keys: names that read alike to the eye share a key; names that read differently do not."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.text import KEY_MAX_LENGTH, name_key

# Letters that have no look-alike in the key's table: two strings of these differ in their keys when they differ.
PLAIN = "abcdefghjkmnpqrtuvwxyz"
plain_names = st.text(alphabet=PLAIN + " ", min_size=1, max_size=40).filter(str.strip)


@pytest.mark.parametrize(
    "name",
    [
        "kub jahit sumberejo",
        "KUB JAHIT SUMBEREJO",
        "KUB Jahit Sumberej0",
        "KUB Jah1t Sumberejo",
        "KUB Jahlt Sumberejo",
        "KUB  Jahit   Sumberejo",
        "KUBJahitSumberejo",
        "K.U.B. Jahit Sumber-ejo",
        "KUB Jahít Sumbérejo",
        "KUB Jahit\u200bSumberejo",  # a zero-width space
        "КUB Jаhit Sumberejo",  # Cyrillic К and а
        "ＫＵＢ Ｊａｈｉｔ Ｓｕｍｂｅｒｅｊｏ",  # full-width letters
        "KUB Jahıt Sumberejo",  # dotless i
    ],
)
def test_look_alike_names_share_a_key(name):
    assert name_key(name) == name_key("KUB Jahit Sumberejo")


@pytest.mark.parametrize(
    "other", ["KUB Jahit Sumberagung", "KUB Tenun Sumberejo", "Poktan Sumberejo", "KUB Jahit Sumberejo 2"]
)
def test_different_names_have_different_keys(other):
    assert name_key(other) != name_key("KUB Jahit Sumberejo")


def test_names_of_other_scripts_and_symbols_keep_a_key():
    assert name_key("ꦏꦸꦧ꧀ ꦗꦲꦶꦠ꧀") and name_key("ꦏꦸꦧ꧀ ꦗꦲꦶꦠ꧀") != name_key("ꦥꦺꦴꦏ꧀ꦠꦤ꧀")
    assert name_key("😊 Jahit") != name_key("Jahit")
    assert name_key("!!!") == "!!!" != name_key("???")


@given(st.text(max_size=200))
@settings(max_examples=400)
def test_a_key_is_its_own_key_and_never_too_long(text):
    key = name_key(text)
    assert name_key(key) == key
    assert len(key) <= KEY_MAX_LENGTH


@given(plain_names, st.data())
def test_case_spaces_and_accents_do_not_change_a_key(name, data):
    shouted = "".join(c.upper() if data.draw(st.booleans()) else c for c in name)
    spaced = "".join(c + " " * data.draw(st.integers(0, 2)) for c in shouted)
    accented = "".join(c + ("\u0301" if c.isalpha() and data.draw(st.booleans()) else "") for c in spaced)

    assert name_key(accented) == name_key(name)


@given(st.text(alphabet=PLAIN + "oOlIis0S15 ", min_size=1, max_size=40), st.data())
def test_swapping_look_alike_characters_does_not_change_a_key(name, data):
    swaps = {
        "o": "0O",
        "O": "0o",
        "0": "oO",
        "l": "1I",
        "I": "1l",
        "i": "1l",
        "1": "lI",
        "s": "5S",
        "S": "5s",
        "5": "sS",
    }
    swapped = "".join(data.draw(st.sampled_from(swaps[c])) if c in swaps else c for c in name)

    assert name_key(swapped) == name_key(name)


@given(plain_names, plain_names)
def test_names_that_read_differently_have_different_keys(one, other):
    if "".join(one.split()) != "".join(other.split()):
        assert name_key(one) != name_key(other)
