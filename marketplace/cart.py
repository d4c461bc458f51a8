"""The buyer's cart, kept in the session so that anyone can fill one before logging in.

The session holds only {variant_id: quantity} as strings. Prices, names,
groups and what is available are read fresh whenever the cart is shown, so the
cart never trusts anything it stored; place_checkout checks everything again.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from flask import session
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.errors import ValidationFailed
from core.extensions import db
from core.quantity import MAX_QUANTITY, QuantityError, format_quantity, parse_quantity
from core.validation import ID_MAX
from groups.models import Group
from inventory import services as stock
from inventory.models import Product, ProductStatus, Variant
from inventory.units import BUILTIN_UNITS, Unit
from marketplace.services import MAX_LINES, line_total

SESSION_KEY = "cart"


@dataclass
class CartLine:
    """One variant in the cart, as it is for sale right now."""

    variant: Variant
    quantity: Decimal
    unit_price: int
    total: int
    available: Decimal

    @property
    def short(self) -> bool:
        return self.quantity > self.available


@dataclass
class CartGroup:
    """The cart's lines from one group: they become one order."""

    group: Group
    lines: list[CartLine] = field(default_factory=list)

    @property
    def subtotal(self) -> int:
        return sum(line.total for line in self.lines)


@dataclass
class Cart:
    groups: list[CartGroup]
    removed: list[str]  # names of lines dropped because they are no longer for sale

    @property
    def total(self) -> int:
        return sum(g.subtotal for g in self.groups)

    @property
    def lines(self) -> list[CartLine]:
        return [line for g in self.groups for line in g.lines]

    @property
    def short(self) -> bool:
        """Whether some line asks for more than is available now (checkout would refuse it)."""
        return any(line.short for line in self.lines)

    def __bool__(self) -> bool:
        return bool(self.groups)


def _stored() -> dict[str, str]:
    raw = session.get(SESSION_KEY)
    if not isinstance(raw, dict):
        return {}
    return {
        k: v
        for k, v in raw.items()
        if isinstance(k, str) and k.isascii() and k.isdigit() and len(k) <= 12 and isinstance(v, str)
    }


def _save(items: dict[str, str]) -> None:
    if items:
        session[SESSION_KEY] = items
    else:
        session.pop(SESSION_KEY, None)


def count() -> int:
    """How many lines the cart holds (for the header), without touching the database."""
    return len(_stored())


def quantities() -> dict[int, str]:
    """{variant_id: quantity} as stored, to mark what is already in the cart on catalog pages."""
    return {int(k): v for k, v in _stored().items()}


def _error(message) -> ValidationFailed:
    return ValidationFailed(message, {"quantity": [str(message)]})


def _on_sale(variant: Variant, group: Group) -> bool:
    """Whether buyers may order the variant: active, of an active product, of a verified group."""
    return variant.active and variant.product.status == ProductStatus.active and group.verified


def for_sale(variant_id) -> Variant:
    """The variant, when it is for sale now; ValidationFailed otherwise."""
    variant = None
    if isinstance(variant_id, int) and 0 < variant_id <= ID_MAX:
        variant = db.session.get(Variant, variant_id)
    if variant is None or not _on_sale(variant, db.session.get(Group, variant.group_id)):
        raise ValidationFailed(_("This product is not for sale."), {"variant_id": [_("This product is not for sale.")]})
    return variant


def available(variant: Variant) -> Decimal:
    """How much of the variant buyers may order now: on hand, less what open orders hold."""
    return variant.stock.available if variant.stock is not None else Decimal(0)


def _unit(variant: Variant, units: dict | None = None) -> Unit:
    """The variant's unit as place_checkout reads it: built-in or the group's own."""
    if units is None:
        units = stock.group_units(db.session.get(Group, variant.group_id))
    return units.get(variant.product.unit) or BUILTIN_UNITS["pcs"]


def _quantity(variant: Variant, text) -> Decimal:
    unit = _unit(variant)
    try:
        return parse_quantity(text, whole=unit.whole)
    except QuantityError as exc:
        raise _error(stock.quantity_message(exc, unit)) from None


def add(variant_id, quantity) -> tuple[Variant, Decimal]:
    """Put `quantity` more of a variant in the cart; returns the variant and the new quantity in the cart."""
    variant = for_sale(variant_id)
    added = _quantity(variant, quantity)
    items = _stored()
    key = str(variant.id)
    if key not in items and len(items) >= MAX_LINES:
        raise _error(_("At most %(n)d lines in one checkout.", n=MAX_LINES))
    try:
        before = parse_quantity(items.get(key, "0"), allow_zero=True)
    except QuantityError:
        before = Decimal(0)
    total = before + added
    if total > MAX_QUANTITY:
        raise _error(_("That is too much."))
    items[key] = format_quantity(total)
    _save(items)
    return variant, total


def update(variant_id, quantity) -> Decimal | None:
    """Set a line's quantity; zero or empty removes it. Returns the new quantity, or None when removed."""
    items = _stored()
    key = str(variant_id)
    if key not in items:
        raise ValidationFailed(_("That is not in your cart."), {"variant_id": [_("That is not in your cart.")]})
    if quantity is None or str(quantity).strip() in ("", "0"):
        items.pop(key)
        _save(items)
        return None
    variant = for_sale(variant_id)
    value = _quantity(variant, quantity)
    items[key] = format_quantity(value)
    _save(items)
    return value


def remove(variant_id) -> None:
    items = _stored()
    items.pop(str(variant_id), None)
    _save(items)


def remove_all(variant_ids) -> None:
    """Take these variants out of the cart (what a checkout ordered)."""
    items = _stored()
    for variant_id in variant_ids:
        items.pop(str(variant_id), None)
    _save(items)


def load() -> Cart:
    """The cart as it stands now: live prices and availability, lines grouped by group.

    Lines whose product is no longer for sale (hidden, or its group no longer verified), or
    whose stored quantity no longer reads, leave the cart; their names are in `removed`, for
    a message.
    """
    items = _stored()
    if not items:
        return Cart(groups=[], removed=[])
    ids = [int(k) for k in items if 0 < int(k) <= ID_MAX]
    variants = {
        v.id: v
        for v in db.session.scalars(
            select(Variant)
            .options(selectinload(Variant.product), selectinload(Variant.stock))
            .where(Variant.id.in_(ids))
        )
    }
    group_ids = {v.group_id for v in variants.values()}
    groups = {g.id: g for g in db.session.scalars(select(Group).where(Group.id.in_(group_ids)))} if group_ids else {}
    by_group: dict[int, CartGroup] = {}
    removed: list[str] = []
    keep: dict[str, str] = {}
    units = {gid: stock.group_units(group) for gid, group in groups.items()}
    for key, text in items.items():
        variant = variants.get(int(key))
        if variant is None:
            continue
        product: Product = variant.product
        if not _on_sale(variant, groups[variant.group_id]):
            removed.append(product.name)
            continue
        try:
            quantity = parse_quantity(text, whole=_unit(variant, units[variant.group_id]).whole)
        except QuantityError:
            removed.append(product.name)
            continue
        keep[key] = text
        entry = by_group.setdefault(variant.group_id, CartGroup(group=groups[variant.group_id]))
        entry.lines.append(
            CartLine(
                variant=variant,
                quantity=quantity,
                unit_price=variant.unit_price,
                total=line_total(variant.unit_price, quantity),
                available=available(variant),
            )
        )
    if keep != items:
        _save(keep)
    ordered = sorted(by_group.values(), key=lambda g: (g.group.name.lower(), g.group.id))
    for entry in ordered:
        entry.lines.sort(key=lambda line: (line.variant.product.name.lower(), line.variant.id))
    return Cart(groups=ordered, removed=removed)


def checkout_lines(cart: Cart) -> list[dict]:
    """The cart's lines as place_checkout takes them."""
    return [{"variant_id": line.variant.id, "quantity": format_quantity(line.quantity)} for line in cart.lines]
