"""Units of measure: the built-in ones, a group's own, and exact conversion between them."""

from dataclasses import dataclass
from decimal import Decimal

from core.quantity import QuantityError, normalize, parse_quantity


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    whole: bool  # piece-like: whole numbers only
    dimension: str | None = None  # units of one dimension convert exactly
    factor: Decimal | None = None  # how many of the dimension's base unit one of this is


# Base units: g for mass, liter for volume, pcs for counted things.
BUILTIN_UNITS: dict[str, Unit] = {
    u.code: u
    for u in [
        Unit("kg", "kilogram", False, "mass", Decimal(1000)),
        Unit("g", "gram", False, "mass", Decimal(1)),
        Unit("ons", "ons (100 g)", False, "mass", Decimal(100)),
        Unit("kuintal", "kuintal (100 kg)", False, "mass", Decimal(100_000)),
        Unit("liter", "liter", False, "volume", Decimal(1)),
        Unit("pcs", "pcs", True, "count", Decimal(1)),
        Unit("lusin", "lusin (12 pcs)", True, "count", Decimal(12)),
        Unit("kodi", "kodi (20 pcs)", True, "count", Decimal(20)),
        Unit("ikat", "ikat", True),
        Unit("karung", "karung", True),
    ]
}


def convert(quantity: Decimal, source: Unit, target: Unit) -> Decimal:
    """`quantity` of `source` expressed in `target`, exactly, or QuantityError.

    5 ons -> 0.5 kg; 2 kodi -> 40 pcs; 0.0005 kg -> g is fine (0.5 g) but
    1 g -> kuintal (0.00001) has more than 3 places and is refused.
    """
    if source.code == target.code:
        return quantity
    if source.dimension is None or source.dimension != target.dimension:
        raise QuantityError(f"{source.code} cannot be converted to {target.code}")
    exact = quantity * source.factor / target.factor
    return parse_quantity(normalize_exact(exact), whole=target.whole, signed=True, allow_zero=True)


def normalize_exact(value: Decimal) -> str:
    text = f"{value:f}"
    if "." in text:
        head, tail = text.split(".")
        tail = tail.rstrip("0")
        text = f"{head}.{tail}" if tail else head
    return text


__all__ = ["BUILTIN_UNITS", "Unit", "convert", "normalize"]
