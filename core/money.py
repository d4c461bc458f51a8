"""Rupiah: whole integers only, parsed strictly, shown as Rp12.500, split exactly; and their ceilings.

MAX_AMOUNT is the ceiling of any one amount: an order line, an order, a checkout,
a payment, a refund, a payout, a saving, an SHU surplus, a journal posting.
MAX_UNIT_PRICE is the ceiling of a variant's price. Services check them before
they write (a 422 naming the field), so that no sum of a checkout, an order or
the books can leave BIGINT, and `core.ledger.post` refuses a posting above
MAX_AMOUNT as a last guard.
"""

import re
from fractions import Fraction

MAX_AMOUNT = 10**12  # Rp1.000.000.000.000 (one trillion): far above any sale of a group, far below BIGINT
MAX_UNIT_PRICE = 10**9  # Rp1.000.000.000 a unit (kg, pcs, lusin...)

_GROUPED = re.compile(r"^\d{1,3}(\.\d{3})+$", re.ASCII)  # ASCII digits only, not ١٢٣ or １２３
_PLAIN = re.compile(r"^\d+$", re.ASCII)


class MoneyError(ValueError):
    """A value that is not a whole, non-negative rupiah amount."""


class AmountTooLarge(MoneyError):
    """A whole rupiah amount above its ceiling (`ceiling`)."""

    def __init__(self, ceiling: int):
        super().__init__(f"amount is above {ceiling}")
        self.ceiling = ceiling


def format_rupiah(amount: int) -> str:
    """Show an amount the Indonesian way: 12500 -> 'Rp12.500', -5000 -> '-Rp5.000'."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise MoneyError(f"rupiah amounts are integers, not {type(amount).__name__}")
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp{abs(amount):,}".replace(",", ".")


def parse_rupiah(value, ceiling: int = MAX_AMOUNT) -> int:
    """Read a whole rupiah amount typed by a person or sent by a client.

    Accepts 12500, "12500", "12.500", "Rp12.500", "Rp 12.500". Refuses floats,
    decimals ("12,50"), negatives, and (AmountTooLarge) anything above `ceiling`.
    """
    if isinstance(value, bool):
        raise MoneyError("not an amount")
    if isinstance(value, int):
        amount = value
    elif isinstance(value, str):
        text = value.strip().replace("\u00a0", " ")
        if text[:2].lower() == "rp":
            text = text[2:].strip()
        if not (_PLAIN.match(text) or _GROUPED.match(text)):
            raise MoneyError("not a whole rupiah amount")
        digits = text.replace(".", "")
        if len(digits.lstrip("0")) > len(str(ceiling)):  # before int(), which refuses 4300+ digits
            raise AmountTooLarge(ceiling)
        amount = int(digits)
    else:
        raise MoneyError("not a whole rupiah amount")
    if amount < 0:
        raise MoneyError("amounts cannot be negative")
    if amount > ceiling:
        raise AmountTooLarge(ceiling)
    return amount


def split_largest_remainder(total: int, weights: list[int]) -> list[int]:
    """Spread `total` over parts in proportion to `weights`, summing exactly to `total`.

    Each part gets the floor of its exact share; the units left over go one each
    to the largest remainders, ties to the earlier part.
    """
    if not weights:
        raise ValueError("nothing to split over")
    if any(w < 0 for w in weights) or sum(weights) == 0:
        raise ValueError("weights must be non-negative and not all zero")
    whole = sum(weights)
    exact = [Fraction(total * w, whole) for w in weights]
    parts = [int(share // 1) for share in exact]
    left = total - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += 1
    return parts


def split_among_members(net: int, group_fund_percent: Fraction | int, weights: list[int]) -> tuple[int, list[int]]:
    """Split `net` between the group fund and members weighted by `weights`.

    The fund's exact share is its percent of `net`; each member's exact share is
    their weight's fraction of the rest. Members get the floor of their exact
    share and the fund gets everything left, so the parts always sum to `net`.
    Returns (group_fund, member_parts).
    """
    percent = Fraction(group_fund_percent)
    if not 0 <= percent <= 100:
        raise ValueError("group fund percent must be between 0 and 100")
    if any(w < 0 for w in weights):
        raise ValueError("weights must be non-negative")
    rest = Fraction(net) * (1 - percent / 100)
    whole = sum(weights)
    members = [int((rest * w / whole) // 1) if whole else 0 for w in weights]
    return net - sum(members), members


# Digits after the decimal point in each currency's smallest unit, as payment processors count them.
# Our own table, not Babel's: Babel has changed IDR's precision between releases, Stripe has not.
# Stripe treats IDR as two-decimal, so Rp12.500 is sent as 1250000.
CURRENCY_EXPONENTS = {"IDR": 2}


def to_minor_units(amount: int, currency: str = "IDR") -> int:
    """Whole rupiah to the processor's smallest unit: Rp12.500 -> 1250000."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise MoneyError("amounts are whole, non-negative integers")
    return amount * 10 ** CURRENCY_EXPONENTS[currency.upper()]


def from_minor_units(minor: int, currency: str = "IDR") -> int:
    """The processor's smallest unit back to whole rupiah; refuses a fraction of a rupiah."""
    if isinstance(minor, bool) or not isinstance(minor, int) or minor < 0:
        raise MoneyError("minor units are whole, non-negative integers")
    whole, fraction = divmod(minor, 10 ** CURRENCY_EXPONENTS[currency.upper()])
    if fraction:
        raise MoneyError(f"{minor} {currency} minor units is not a whole rupiah amount")
    return whole
