"""Quantities and days as pages show them: a decimal comma in Indonesian, a point in English, "1 Nov 2026";
and the attributes a form's input gets."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.pages import input_attributes
from core.quantity import PLACES, typed_quantity
from tests.core.test_formatting import render


@pytest.mark.parametrize(
    "number,indonesian,english",
    [
        (Decimal("43.500"), "43,5", "43.5"),
        (Decimal("3.000"), "3", "3"),
        (Decimal("0.125"), "0,125", "0.125"),
        (Decimal("1250.500"), "1.250,5", "1,250.5"),
        (Decimal("-0.200"), "-0,2", "-0.2"),
        ("2.5", "2,5", "2.5"),  # a quantity kept as text (a cart, a statement line)
        (None, "", ""),
    ],
)
def test_qty_filter_uses_a_decimal_comma_in_indonesian_and_a_point_in_english(app, number, indonesian, english):
    assert render(app, "{{ n|qty }}", None, n=number) == indonesian
    assert render(app, "{{ n|qty }}", "id", n=number) == indonesian
    assert render(app, "{{ n|qty }}", "en", n=number) == english


def test_signed_qty_filter_marks_additions_and_leaves_zero_empty(app):
    assert (
        render(
            app,
            "{{ a|signed_qty }}|{{ b|signed_qty }}|{{ c|signed_qty }}",
            "id",
            a=Decimal("5"),
            b=Decimal("-0.5"),
            c=Decimal(0),
        )
        == "+5|-0,5|"
    )
    assert render(app, "{{ b|signed_qty }}", "en", b=Decimal("-0.5")) == "-0.5"


@given(milli=st.integers(min_value=1, max_value=10**11))
def test_an_inputs_value_reads_back_as_the_same_quantity_in_both_languages(app, milli):
    number = (Decimal(milli) / 1000).quantize(PLACES)
    for lang in ("id", "en"):
        shown = render(app, "{{ n|qty_input }}", lang, n=number)
        assert "," not in shown or lang == "id"
        assert Decimal(typed_quantity(shown)) == number


@pytest.mark.parametrize("lang,shown", [("id", "1 Nov 2026"), ("en", "1 Nov 2026")])
def test_day_filter_is_day_month_year_never_iso(app, lang, shown):
    assert render(app, "{{ d|day }}", lang, d=date(2026, 11, 1)) == shown
    assert render(app, "{{ d|day }}", "id", d=date(2026, 8, 17)) == "17 Agu 2026"


def test_input_attributes_leave_out_what_has_no_value():
    assert input_attributes(autocomplete=None, inputmode="decimal", autofocus=False, placeholder=None) == {
        "inputmode": "decimal"
    }
    assert input_attributes(autofocus=True) == {"autofocus": True}
