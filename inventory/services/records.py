"""What the stock services pass between them, and the small checks of input they share.

Each check answers a bad value with a 422 naming its field, in the words the
pages and the API show.
"""

from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.errors import Conflict, field_error
from core.extensions import db
from core.money import MAX_UNIT_PRICE
from core.quantity import QuantityError, parse_quantity
from core.validation import ID_MAX, has_control_chars, read_rupiah
from inventory.units import Unit

LABEL_MAX_LENGTH = 60
DEFAULT_LABEL = "standard"
MAX_VARIANTS = 50
MAX_LINES = 100
UNIT_NAME_MAX_LENGTH = 60  # group_units.name
UNCHANGED = object()  # what an update leaves as it is: a field the page or the client did not send

# --- records passed between services ---------------------------------------------


@dataclass(frozen=True)
class StockLine:
    """A quantity of one variant, and what it is for (an order line, say)."""

    variant_id: int
    quantity: Decimal
    reference: str | None = None


@dataclass(frozen=True)
class LotDraw:
    """Units taken from one lot: whose goods they were."""

    lot_id: int
    member_id: int
    quantity: Decimal


class InsufficientStock(Conflict):
    """Not enough available stock for one or more lines; lists each short variant."""

    def __init__(self, shortfalls: list[dict]):
        super().__init__(_l("Not enough stock."), {"lines": shortfalls})
        self.shortfalls = shortfalls


# --- small checks ------------------------------------------------------------------


def check_id(value, field: str) -> int:
    """An id from a request as it is, or a 422 on `field`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= ID_MAX:
        raise field_error(field, _("Not a valid id."))
    return value


def quantity_in(value, unit: Unit, field: str = "quantity", *, signed=False, allow_zero=False) -> Decimal:
    """A quantity as the unit allows it, or a 422 on `field`."""
    try:
        return parse_quantity(value, whole=unit.whole, signed=signed, allow_zero=allow_zero)
    except QuantityError as exc:
        raise field_error(field, quantity_message(exc, unit)) from None


def quantity_message(exc: QuantityError, unit: Unit) -> str:
    """What to tell a person whose quantity was refused, in the unit's terms."""
    text = str(exc)
    if "whole" in text:
        return _("%(unit)s takes whole numbers only.", unit=unit.code)
    if "decimal places" in text:
        return _("Use at most 3 decimal places.")
    if "too large" in text:
        return _("That quantity is too large.")
    if "negative" in text:
        return _("The quantity cannot be negative.")
    if "more than zero" in text:
        return _("The quantity must be more than zero.")
    return _('Send the quantity as a number, such as "2.5".')


def read_price(value, field: str = "unit_price") -> int:
    """A price in whole rupiah, at most MAX_UNIT_PRICE, or a 422 on `field`."""
    return read_rupiah(value, field, ceiling=MAX_UNIT_PRICE, invalid=_l("Enter a whole rupiah amount, such as 12500."))


def read_label(value, field: str = "label") -> str:
    """A variant's label, spaces tidied, or a 422 on `field`."""
    if not isinstance(value, str) or not value.strip():
        raise field_error(field, _("This field is required."))
    value = " ".join(value.split())
    if has_control_chars(value):
        raise field_error(field, _("Not a valid text."))
    if len(value) > LABEL_MAX_LENGTH:
        raise field_error(field, _("Use at most %(n)d characters.", n=LABEL_MAX_LENGTH))
    return value


def is_postgresql() -> bool:
    """Whether the session's database is PostgreSQL (rows are locked there; SQLite holds one writer)."""
    return db.session.get_bind().dialect.name == "postgresql"
