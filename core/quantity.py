"""Exact quantities: Decimal with at most 3 places in Python, integer thousandths in the database.

Storing thousandths as BIGINT keeps every stock sum and guard exact on SQLite
(which has no decimal type) as well as on PostgreSQL.
"""

import re
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from sqlalchemy import BigInteger
from sqlalchemy.types import TypeDecorator

SCALE = 1000
PLACES = Decimal("0.001")
MAX_QUANTITY = Decimal("100000000")  # 100 million of any unit: far above a group's stock
_TEXT = re.compile(r"^[+-]?\d{1,12}(\.\d{1,12})?$")


class QuantityError(ValueError):
    """Not an exact quantity this app accepts."""


def parse_quantity(value, *, whole: bool = False, signed: bool = False, allow_zero: bool = False) -> Decimal:
    """Read a quantity sent as a decimal string ("2.5") or an integer; never a float.

    At most 3 decimal places; `whole` units (pcs, lusin, kodi...) take whole numbers only.
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise QuantityError('send quantities as decimal strings, such as "2.5"')
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str) and _TEXT.match(value.strip()):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise QuantityError("not a number") from None
    else:
        raise QuantityError("not a number")
    if not number.is_finite():
        raise QuantityError("not a number")
    if abs(number) > MAX_QUANTITY:
        raise QuantityError("quantity is too large")
    if number != number.quantize(PLACES, rounding=ROUND_DOWN):
        raise QuantityError("use at most 3 decimal places")
    if whole and number != number.to_integral_value():
        raise QuantityError("this unit takes whole numbers only")
    if number < 0 and not signed:
        raise QuantityError("quantity cannot be negative")
    if number == 0 and not allow_zero:
        raise QuantityError("quantity must be more than zero")
    return normalize(number)


def normalize(number: Decimal) -> Decimal:
    """The canonical form of a quantity: exactly 3 places."""
    return (number + 0).quantize(PLACES)


def format_quantity(number: Decimal | None) -> str:
    """Without trailing zeros: 2.500 -> "2.5", 3.000 -> "3"."""
    if number is None:
        return ""
    text = f"{normalize(number):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def to_milli(number: Decimal) -> int:
    # Scale before any rounding: 0.0005 is refused, never stored as 0 (nor 1.0006 as 1.001).
    scaled = Decimal(number) * SCALE
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        raise QuantityError("more than 3 decimal places")
    return int(scaled)


def from_milli(value: int) -> Decimal:
    return normalize(Decimal(int(value)) / SCALE)


class Quantity(TypeDecorator):
    """A Decimal quantity with 3 places, stored as integer thousandths."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, float):
            raise QuantityError("float given for an exact quantity")
        return to_milli(Decimal(value))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return from_milli(value)

    def coerce_compared_value(self, op, value):
        return self


def typed_quantity(text: str | None) -> str | None:
    """What a person typed as a quantity; a lone comma is a decimal comma ("2,5" on Indonesian keyboards)."""
    text = (text or "").strip()
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    return text or None
