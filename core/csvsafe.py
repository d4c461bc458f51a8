"""CSV the app writes, safe to open in a spreadsheet: no cell starts a formula (CSV injection, as OWASP describes it).

Every CSV the app serves is made by `csv_text`. A text cell that begins with `=`,
`+`, `-`, `@`, a tab or a carriage return (or the full-width `＝＋－＠`, which some
spreadsheets read as the same) gets a single quote in front, so a spreadsheet
shows it as text: `=HYPERLINK(...)` comes out as `'=HYPERLINK(...)`. Numbers
(int, Decimal) stay numbers a spreadsheet can add up, a negative amount such as
-12500 among them: only what the app computed is written as a number, and a
number's text holds no formula. A text that looks like one ("-12500" as a str) is
neutralised all the same. Every cell is quoted, so a separator inside a text
(`;`, which spreadsheets in Indonesia split on) never starts a new cell.
"""

import csv
import io
from collections.abc import Iterable
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def safe_cell(value):
    """A cell as it can be written: numbers as they are, None as empty, text with a quote before a formula."""
    if value is None:
        return ""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(rows: Iterable[Iterable]) -> str:
    """Rows as CSV text (CRLF line ends, every cell quoted), each cell made safe by `safe_cell`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()
