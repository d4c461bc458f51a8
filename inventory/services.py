"""The rules of shared stock: products, contributions as lots, and the one way stock changes.

Stock counters (`stock.on_hand`, `stock.reserved`) change only here, by guarded
SQL expressions in the same transaction as the append-only movement rows that
explain them. Rows are locked in variant id order. Units leave lots first in,
first out (received time, then id), and every draw names its lot, so every unit
sold traces to the member who gave it.
"""
import functools
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import bindparam, case, func, insert, literal_column, select, update
from sqlalchemy.exc import OperationalError

from core.validation import ID_MAX, clean_name, has_control_chars, row_by_id
from accounts.services import require_login
from core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from core.extensions import db
from core.money import MoneyError, parse_rupiah
from core.quantity import MAX_QUANTITY, Quantity, QuantityError, format_quantity, parse_quantity
from core.text import fold
from core.types import utcnow
from groups.models import Group, Member, Role
from groups.services import membership, require_role
from inventory.models import (AdjustmentReason, GroupUnit, Lot, Movement, MovementKind, Product, ProductKind,
                              ProductStatus, Stock, Variant)
from inventory.units import BUILTIN_UNITS, Unit, convert

LABEL_MAX_LENGTH = 60
DEFAULT_LABEL = "standard"
MAX_VARIANTS = 50
MAX_LINES = 100
UNIT_NAME_MAX_LENGTH = 60  # group_units.name


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

def _field_error(field: str, message) -> ValidationFailed:
    return ValidationFailed(errors={field: [str(message)]})


def check_id(value, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= ID_MAX:
        raise _field_error(field, _("Not a valid id."))
    return value


def quantity_in(value, unit: Unit, field: str = "quantity", *, signed=False, allow_zero=False) -> Decimal:
    """A quantity as the unit allows it, or a 422 on `field`."""
    try:
        return parse_quantity(value, whole=unit.whole, signed=signed, allow_zero=allow_zero)
    except QuantityError as exc:
        raise _field_error(field, _quantity_message(exc, unit)) from None


def _quantity_message(exc: QuantityError, unit: Unit) -> str:
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
    return _("Send the quantity as a number, such as \"2.5\".")


def _optional_text(value, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or has_control_chars(value, allow="\n\r\t"):
        raise _field_error(field, _("Not a valid text."))
    value = value.strip()
    if len(value) > limit:
        raise _field_error(field, _("Use at most %(n)d characters.", n=limit))
    return value or None


def _price(value, field: str = "unit_price") -> int:
    try:
        return parse_rupiah(value)
    except MoneyError:
        raise _field_error(field, _("Enter a whole rupiah amount, such as 12500.")) from None


def _label(value, field: str = "label") -> str:
    if not isinstance(value, str) or not value.strip():
        raise _field_error(field, _("This field is required."))
    value = " ".join(value.split())
    if has_control_chars(value):
        raise _field_error(field, _("Not a valid text."))
    if len(value) > LABEL_MAX_LENGTH:
        raise _field_error(field, _("Use at most %(n)d characters.", n=LABEL_MAX_LENGTH))
    return value


def _is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


# --- units -------------------------------------------------------------------------

def group_units(group: Group) -> dict[str, Unit]:
    """Every unit `group` may use: the built-in ones and its own."""
    units = dict(BUILTIN_UNITS)
    for row in db.session.scalars(select(GroupUnit).where(GroupUnit.group_id == group.id)):
        units[row.code] = Unit(row.code, row.name, row.whole)
    return units


def resolve_unit(group: Group, code, field: str = "unit") -> Unit:
    if not isinstance(code, str):
        raise _field_error(field, _("Choose a unit."))
    unit = group_units(group).get(code.strip().lower())
    if unit is None:
        raise _field_error(field, _("Unknown unit. Use kg, g, ons, kuintal, liter, pcs, lusin, kodi, ikat, karung "
                                    "or one your group defined."))
    return unit


def define_unit(group: Group, code, name, whole=True) -> GroupUnit:
    """A unit of the group's own, such as `tandan` or `keranjang`; counted in whole numbers by default."""
    require_role(group, Role.coordinator)
    if not isinstance(code, str) or not code.strip().isalpha() or len(code.strip().lower()) > 16:
        raise _field_error("code", _("Use one word of letters, at most 16."))
    code = code.strip().lower()
    if code in BUILTIN_UNITS or db.session.scalar(
            select(GroupUnit.id).where(GroupUnit.group_id == group.id, GroupUnit.code == code)):
        raise Conflict(_l("That unit already exists."), {"code": [_("That unit already exists.")]})
    if not isinstance(whole, bool):
        raise _field_error("whole", _("Not a valid boolean."))
    name = clean_name(name or code)
    if len(name) > UNIT_NAME_MAX_LENGTH:
        raise _field_error("name", _("Use at most %(n)d characters.", n=UNIT_NAME_MAX_LENGTH))
    unit = GroupUnit(group_id=group.id, code=code, name=name, whole=whole)
    db.session.add(unit)
    db.session.flush()
    return unit


# --- products and variants ---------------------------------------------------------

def get_product_or_404(product_id: int) -> Product:
    product = row_by_id(Product, product_id)
    if product is None:
        raise NotFound(_l("Product not found."))
    return product


def get_variant_in_group(group: Group, variant_id, field: str = "variant_id") -> Variant:
    """A variant of `group`'s products; another group's variant is as unknown as a missing one."""
    check_id(variant_id, field)
    variant = db.session.get(Variant, variant_id)
    if variant is None or variant.group_id != group.id:
        raise _field_error(field, _("No such product variant in this group."))
    return variant


def _new_variant(product: Product, label: str, unit_price: int, threshold=None) -> Variant:
    variant = Variant(product=product, group_id=product.group_id, label=label, unit_price=unit_price,
                      low_stock_threshold=threshold)
    db.session.add(variant)
    db.session.add(Stock(variant=variant, on_hand=Decimal(0), reserved=Decimal(0)))
    return variant


def _threshold(value, unit: Unit, field: str):
    if value in (None, ""):
        return None
    return quantity_in(value, unit, field, allow_zero=True)


def create_product(group: Group, data: dict) -> Product:
    """List a product with its variants; each variant gets its own price and stock row."""
    require_role(group, Role.coordinator)
    errors: dict = {}

    def take(field, parse):
        try:
            return parse()
        except ValidationFailed as exc:
            errors.update(exc.errors)
            return None

    name = take("name", lambda: clean_name(data.get("name")))
    kind = take("kind", lambda: _kind(data.get("kind")))
    unit = take("unit", lambda: resolve_unit(group, data.get("unit")))
    description = take("description", lambda: _optional_text(data.get("description"), "description", 2000))
    variants_in = data.get("variants")
    specs = []
    if variants_in in (None, []):
        if data.get("unit_price") is None:
            errors["unit_price"] = [_("Give a unit price, or list variants with their prices.")]
        else:
            price = take("unit_price", lambda: _price(data.get("unit_price")))
            threshold = take("low_stock_threshold",
                             lambda: _threshold(data.get("low_stock_threshold"), unit, "low_stock_threshold")
                             if unit else None)
            specs.append((DEFAULT_LABEL, price, threshold))
    elif not isinstance(variants_in, list) or len(variants_in) > MAX_VARIANTS:
        errors["variants"] = [_("List at most %(n)d variants.", n=MAX_VARIANTS)]
    else:
        seen = set()
        for i, item in enumerate(variants_in):
            if not isinstance(item, dict):
                errors[f"variants.{i}"] = [_("Not a valid variant.")]
                continue
            label = take(f"variants.{i}.label", lambda: _label(item.get("label"), f"variants.{i}.label"))
            price = take(f"variants.{i}.unit_price", lambda: _price(item.get("unit_price"), f"variants.{i}.unit_price"))
            threshold = take(f"variants.{i}.low_stock_threshold",
                             lambda: _threshold(item.get("low_stock_threshold"), unit, f"variants.{i}.low_stock_threshold")
                             if unit else None)
            if label and label.lower() in seen:
                errors[f"variants.{i}.label"] = [_("Each variant needs its own label.")]
            seen.add((label or "").lower())
            specs.append((label, price, threshold))
    if errors:
        raise ValidationFailed(errors=errors)
    product = Product(group_id=group.id, name=name, kind=kind, unit=unit.code, description=description,
                      status=ProductStatus.active)
    db.session.add(product)
    for label, price, threshold in specs:
        _new_variant(product, label, price, threshold)
    db.session.flush()
    return product


def _kind(value) -> ProductKind:
    try:
        return ProductKind(value)
    except ValueError:
        raise _field_error("kind", _("Choose produce, garment or processed.")) from None


def update_product(product: Product, data: dict) -> Product:
    """Change a product's name, description, status, or (single-variant products) price."""
    group = db.session.get(Group, product.group_id)
    require_role(group, Role.coordinator)
    if "name" in data:
        product.name = clean_name(data["name"])
    if "description" in data:
        product.description = _optional_text(data["description"], "description", 2000)
    if "kind" in data:
        product.kind = _kind(data["kind"])
    if "status" in data:
        try:
            product.status = ProductStatus(data["status"])
        except ValueError:
            raise _field_error("status", _("Choose active, hidden or archived.")) from None
    if "unit_price" in data:
        if len(product.variants) != 1:
            raise _field_error("unit_price", _("This product has several variants: change each variant's price."))
        product.variants[0].unit_price = _price(data["unit_price"])
    product.updated_at = utcnow()
    db.session.flush()
    return product


def add_variant(product: Product, data: dict) -> Variant:
    group = db.session.get(Group, product.group_id)
    require_role(group, Role.coordinator)
    unit = resolve_unit(group, product.unit)
    label = _label(data.get("label"))
    if any(v.label.lower() == label.lower() for v in product.variants):
        raise Conflict(_l("That variant already exists."), {"label": [_("Each variant needs its own label.")]})
    if len(product.variants) >= MAX_VARIANTS:
        raise _field_error("label", _("List at most %(n)d variants.", n=MAX_VARIANTS))
    variant = _new_variant(product, label, _price(data.get("unit_price")),
                           _threshold(data.get("low_stock_threshold"), unit, "low_stock_threshold"))
    db.session.flush()
    return variant


def update_variant(variant: Variant, data: dict) -> Variant:
    product = variant.product
    group = db.session.get(Group, product.group_id)
    require_role(group, Role.coordinator)
    unit = resolve_unit(group, product.unit)
    if "label" in data:
        label = _label(data["label"])
        if any(v.id != variant.id and v.label.lower() == label.lower() for v in product.variants):
            raise Conflict(_l("That variant already exists."), {"label": [_("Each variant needs its own label.")]})
        variant.label = label
    if "unit_price" in data:
        variant.unit_price = _price(data["unit_price"])
    if "low_stock_threshold" in data:
        variant.low_stock_threshold = _threshold(data["low_stock_threshold"], unit, "low_stock_threshold")
    if "active" in data:
        if not isinstance(data["active"], bool):
            raise _field_error("active", _("Not a valid boolean."))
        variant.active = data["active"]
    db.session.flush()
    return variant


def products_query(group: Group, status: str | None = None):
    query = select(Product).where(Product.group_id == group.id)
    if status:
        try:
            query = query.where(Product.status == ProductStatus(status))
        except ValueError:
            raise _field_error("status", _("Choose active, hidden or archived.")) from None
    return query.order_by(Product.status, func.lower(Product.name), Product.id)


# --- the ledger: the one place stock counters change ------------------------------------

def _lock_stock(variant_ids) -> dict[int, Stock]:
    """Lock the variants' stock rows in id order (PostgreSQL; SQLite writers hold the database lock)."""
    ids = sorted(set(variant_ids))
    query = select(Stock).where(Stock.variant_id.in_(ids)).order_by(Stock.variant_id)
    if _is_postgresql():
        query = query.with_for_update()
    rows = db.session.scalars(query.execution_options(populate_existing=True)).all()
    return {row.variant_id: row for row in rows}


# The hot path's statements are built once, as Core statements: building an ORM update per
# call and its bulk-update bookkeeping cost several times the SQL itself (bench/stock.py).
_stock, _variants, _movements = Stock.__table__, Variant.__table__, Movement.__table__


def _qty(name: str):
    return bindparam(name, type_=Quantity())


_GUARDED_UPDATE = (
    update(_stock)
    .where(_stock.c.variant_id == bindparam("line_variant"),
           _stock.c.reserved + _qty("reserved_change") >= 0,
           _stock.c.on_hand + _qty("on_hand_change") >= _stock.c.reserved + _qty("reserved_change"))
    .values(on_hand=_stock.c.on_hand + _qty("on_hand_change"), reserved=_stock.c.reserved + _qty("reserved_change"))
)

# A reservation or release movement; its group is read from the variant in the same statement.
_RECORD_LINE = insert(_movements).from_select(
    ["group_id", "variant_id", "kind", "on_hand_delta", "reserved_delta", "reference", "actor_id", "created_at"],
    select(_variants.c.group_id, _variants.c.id, bindparam("line_kind", type_=_movements.c.kind.type),
           _qty("on_hand_change"), _qty("reserved_change"),
           bindparam("line_reference", type_=_movements.c.reference.type),
           bindparam("line_actor", type_=_movements.c.actor_id.type),
           bindparam("moved_at", type_=_movements.c.created_at.type))
    .where(_variants.c.id == bindparam("line_variant"))
)


def _guarded_update(variant_id: int, on_hand_delta: Decimal, reserved_delta: Decimal) -> bool:
    """Move the counters if and only if they stay within bounds; False when they would not (or no such stock)."""
    result = db.session.execute(_GUARDED_UPDATE, {"line_variant": variant_id, "on_hand_change": on_hand_delta,
                                                  "reserved_change": reserved_delta})
    return result.rowcount == 1


def _record_lines(lines: list[StockLine], kind: MovementKind, sign: int, actor_id: int | None) -> None:
    """Append one reservation or release movement per line."""
    now = utcnow()
    db.session.execute(_RECORD_LINE, [
        {"line_variant": line.variant_id, "line_kind": kind, "on_hand_change": Decimal(0),
         "reserved_change": sign * line.quantity, "line_reference": line.reference, "line_actor": actor_id,
         "moved_at": now} for line in lines])


def _record(rows: list[dict]) -> None:
    """Append movement rows (one INSERT for the lot)."""
    if rows:
        now = utcnow()
        db.session.execute(insert(Movement), [{"created_at": now, "on_hand_delta": Decimal(0),
                                               "reserved_delta": Decimal(0), **row} for row in rows])


def _forget_counters() -> None:
    """Counters were changed in SQL: let the session read them again."""
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, (Stock, Lot)):
            db.session.expire(obj)


def _variant_groups(variant_ids) -> dict[int, int]:
    rows = db.session.execute(select(Variant.id, Variant.group_id).where(Variant.id.in_(set(variant_ids))))
    return {vid: gid for vid, gid in rows}


def available(variant_ids) -> dict[int, Decimal]:
    rows = db.session.execute(select(Stock.variant_id, Stock.on_hand, Stock.reserved)
                              .where(Stock.variant_id.in_(set(variant_ids))))
    found = {vid: on_hand - reserved for vid, on_hand, reserved in rows}
    return {vid: found.get(vid, Decimal(0)) for vid in variant_ids}


def _check_positive(lines: list[StockLine]) -> None:
    """Each line holds an exact Decimal quantity: positive, finite, at most 3 places; a 422 otherwise."""
    for line in lines:
        check_id(line.variant_id, "variant_id")
        if not isinstance(line.quantity, Decimal):
            raise _field_error("quantity", _("The quantity must be more than zero."))
        try:
            parse_quantity(line.quantity)
        except QuantityError as exc:
            raise _field_error("quantity", _quantity_message(exc, BUILTIN_UNITS["pcs"])) from None


def _restore_reserved(lines: list[StockLine], sign: int) -> None:
    """Undo `reserved` changes already made for `lines`, so a refused call leaves the transaction as it was."""
    for line in lines:
        db.session.execute(update(Stock).where(Stock.variant_id == line.variant_id)
                           .values(reserved=Stock.reserved + sign * line.quantity)
                           .execution_options(synchronize_session=False))


# Reserving variants: with more than one, their stock rows locked first in id order (PostgreSQL); then one
# guarded UPDATE for all of them that names the rows it moved, and their movements. Each statement is built once
# per number of variants, so SQLAlchemy compiles it once and keeps it in its compiled cache.
@functools.cache
def _lock_in_order(count: int):
    """Lock the stock rows of `count` variants (`variant_0`...), in id order."""
    return (select(_stock.c.variant_id)
            .where(_stock.c.variant_id.in_([bindparam(f"variant_{i}") for i in range(count)]))
            .order_by(_stock.c.variant_id).with_for_update())


@functools.cache
def _reserve_each(count: int):
    """UPDATE stock SET reserved = reserved + q(variant) for `count` variants (`variant_0`, `quantity_0`...), each
    only where available, returning the variants it moved."""
    wanted = case(*((_stock.c.variant_id == bindparam(f"variant_{i}"), _qty(f"quantity_{i}")) for i in range(count)))
    return (update(_stock)
            .where(_stock.c.variant_id.in_([bindparam(f"variant_{i}") for i in range(count)]),
                   _stock.c.on_hand >= _stock.c.reserved + wanted)
            .values(reserved=_stock.c.reserved + wanted)
            .returning(_stock.c.variant_id))


@functools.cache
def _record_each(count: int):
    """A reservation movement for each of `count` variants, one per variant, in one INSERT ... SELECT."""
    def each(name: str, type_):
        return case(*((_variants.c.id == bindparam(f"variant_{i}"), bindparam(f"{name}_{i}", type_=type_))
                      for i in range(count)))

    return insert(_movements).from_select(
        ["group_id", "variant_id", "kind", "on_hand_delta", "reserved_delta", "reference", "actor_id", "created_at"],
        select(_variants.c.group_id, _variants.c.id, bindparam("line_kind", type_=_movements.c.kind.type),
               _qty("on_hand_change"), each("quantity", Quantity()), each("reference", _movements.c.reference.type),
               bindparam("line_actor", type_=_movements.c.actor_id.type),
               bindparam("moved_at", type_=_movements.c.created_at.type))
        .where(_variants.c.id.in_([bindparam(f"variant_{i}") for i in range(count)]))
        .order_by(_variants.c.id))


class Reservation:
    """Stock to hold, checked and its statements' parameters built before it is held.

    A writer builds it before it takes SQLite's write lock (see core.reads_first) and
    holds it inside, where only its SQL then runs; `reserve()` does both at once.
    """

    def __init__(self, lines: list[StockLine], actor_id: int | None = None):
        if len(lines) > MAX_LINES:
            raise _field_error("lines", _("At most %(n)d lines at once.", n=MAX_LINES))
        _check_positive(lines)
        self.lines = sorted(lines, key=lambda line: line.variant_id)
        self.actor_id = actor_id
        self.requested: dict[int, Decimal] = defaultdict(Decimal)
        for line in self.lines:
            self.requested[line.variant_id] += line.quantity
        self.params: dict = {}
        for i, (variant_id, quantity) in enumerate(self.requested.items()):
            self.params[f"variant_{i}"], self.params[f"quantity_{i}"] = variant_id, quantity
        # A line per variant (a checkout's): their movements in one statement.
        self.one_each = len(self.requested) == len(self.lines)
        if self.one_each:
            self.params.update(line_kind=MovementKind.reservation, on_hand_change=Decimal(0), line_actor=actor_id)

    def hold(self, references: dict[int, str] | None = None, connection=None) -> None:
        """Hold the stock, all or nothing: InsufficientStock lists every short variant.

        `references` gives a variant's movement its reference when that is known only
        now (the id of an order line just written), in place of its line's own.
        `connection` is the session's, when the caller has it in hand. A refused hold
        leaves the counters as they were, so it may be tried again.
        """
        if not self.lines:
            return
        requested, params = self.requested, self.params
        connection = connection or db.session.connection()
        if len(requested) > 1 and connection.dialect.name == "postgresql":
            connection.execute(_lock_in_order(len(requested)), params)
        # An unknown variant has no stock row: nothing moves for it, so it is short.
        moved = set(connection.execute(_reserve_each(len(requested)), params).scalars())
        short = requested.keys() - moved
        if short:
            _restore_reserved([StockLine(vid, requested[vid]) for vid in moved], -1)
            have = available(short)
            raise InsufficientStock([
                {"variant_id": vid, "requested": format_quantity(requested[vid]),
                 "available": format_quantity(have[vid])}
                for vid in sorted(short)])
        references = references or {}
        if self.one_each:
            for i, line in enumerate(self.lines):
                params[f"reference_{i}"] = references.get(line.variant_id, line.reference)
            connection.execute(_record_each(len(self.lines)), {**params, "moved_at": utcnow()})
        else:
            _record_lines([StockLine(line.variant_id, line.quantity, references.get(line.variant_id, line.reference))
                           for line in self.lines], MovementKind.reservation, 1, self.actor_id)
        _forget_counters()


class StockBusy(Conflict):
    """Another transaction holds a stock row that was not to be waited for."""


LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock refused by NOWAIT
_LOCK_WITHOUT_WAITING = (select(_stock.c.variant_id)
                         .where(_stock.c.variant_id.in_(bindparam("variant_ids", expanding=True)))
                         .order_by(_stock.c.variant_id).with_for_update(nowait=True))


def lock_without_waiting(variant_ids) -> None:
    """Lock the variants' stock rows in id order, or raise StockBusy at once when another transaction holds one.

    PostgreSQL only (SQLite writers hold the database lock), and inside a savepoint:
    there a refused lock ends the transaction, and rolling back to the savepoint saves it.
    """
    try:
        db.session.execute(_LOCK_WITHOUT_WAITING, {"variant_ids": sorted(set(variant_ids))})
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise StockBusy() from exc
        raise


def reserve(lines: list[StockLine], actor_id: int | None = None) -> None:
    """Hold stock for `lines`, all or nothing: InsufficientStock lists every short variant."""
    Reservation(lines, actor_id).hold()


def release(lines: list[StockLine], actor_id: int | None = None) -> None:
    """Give held stock back to what buyers can order (a cancelled or expired order)."""
    if not lines:
        return
    _check_positive(lines)
    ordered = sorted(lines, key=lambda line: line.variant_id)
    if len({line.variant_id for line in ordered}) > 1 and _is_postgresql():
        _lock_stock(line.variant_id for line in ordered)
    done: list[StockLine] = []
    for line in ordered:
        if not _guarded_update(line.variant_id, Decimal(0), -line.quantity):
            _restore_reserved(done, 1)
            raise Conflict(_l("Cannot release more than is reserved."),
                           {"lines": [{"variant_id": line.variant_id, "requested": format_quantity(line.quantity)}]})
        done.append(line)
    _record_lines(ordered, MovementKind.release, -1, actor_id)
    _forget_counters()


def _fifo_lots(variant_id: int) -> list[Lot]:
    query = (select(Lot).where(Lot.variant_id == variant_id, Lot.remaining > 0)
             .order_by(Lot.received_at, Lot.id))
    if _is_postgresql():
        query = query.with_for_update()
    return list(db.session.scalars(query.execution_options(populate_existing=True)))


def _draw(variant_id: int, quantity: Decimal, lot: Lot | None = None) -> list[tuple[Lot, Decimal]]:
    """Which lots `quantity` comes out of: the named lot, or first in, first out."""
    lots = [lot] if lot is not None else _fifo_lots(variant_id)
    draws = []
    left = quantity
    for candidate in lots:
        if left <= 0:
            break
        take = min(candidate.remaining, left)
        if take > 0:
            draws.append((candidate, take))
            left -= take
    if left > 0:
        raise Conflict(_l("The lots hold less than that."),
                       {"quantity": [_("Only %(n)s left in the lots.", n=format_quantity(quantity - left))]})
    for candidate, take in draws:
        result = db.session.execute(update(Lot).where(Lot.id == candidate.id, Lot.remaining >= take)
                                    .values(remaining=Lot.remaining - take)
                                    .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            raise Conflict(_l("The lot changed meanwhile; try again."))
    return draws


def consume(line: StockLine, actor_id: int | None = None, from_reserved: bool = True) -> list[LotDraw]:
    """Take sold units out of stock and out of lots, first in first out; returns whose lots supplied them.

    By default the units must have been reserved (an order being packed).
    """
    _check_positive([line])
    quantity = line.quantity
    stock = _lock_stock([line.variant_id]).get(line.variant_id)
    if stock is None:
        raise NotFound(_l("No stock for that variant."))
    reserved_delta = -quantity if from_reserved else Decimal(0)
    if not _guarded_update(line.variant_id, -quantity, reserved_delta):
        raise InsufficientStock([{"variant_id": line.variant_id, "requested": format_quantity(quantity),
                                  "available": format_quantity(stock.reserved if from_reserved else stock.available)}])
    draws = _draw(line.variant_id, quantity)
    group_id = _variant_groups([line.variant_id])[line.variant_id]
    _record([{"group_id": group_id, "variant_id": line.variant_id, "kind": MovementKind.sale, "lot_id": lot.id,
              "on_hand_delta": -take, "reserved_delta": -take if from_reserved else Decimal(0),
              "reference": line.reference, "actor_id": actor_id} for lot, take in draws])
    _forget_counters()
    return [LotDraw(lot.id, lot.member_id, take) for lot, take in draws]


# --- contributions (intake) and adjustments ---------------------------------------------

def _clean_date(value, field: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _field_error(field, _("Use a date such as 2026-11-28."))


def _clean_moment(value, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _field_error(field, _("Use a time such as 2026-11-28T07:30:00+07:00.")) from None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=_wib())
    if not isinstance(value, datetime):
        raise _field_error(field, _("Use a time such as 2026-11-28T07:30:00+07:00."))
    if value.tzinfo is None:
        value = value.replace(tzinfo=_wib())  # people here mean Blitar time
    if value > utcnow() + timedelta(days=1):
        raise _field_error(field, _("That is in the future."))
    if value.year < 2000:
        raise _field_error(field, _("That is too long ago."))
    return value


def _wib():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Jakarta")


def get_member_in_group(group: Group, member_id, field: str = "member_id", active: bool = True) -> Member:
    check_id(member_id, field)
    member = db.session.get(Member, member_id)
    if member is None or member.group_id != group.id:
        raise _field_error(field, _("No such member in this group."))
    if active and not member.active:
        raise _field_error(field, _("This member is inactive."))
    return member


def receive_contribution(group: Group, data: dict) -> Lot:
    """Record goods a member hands to the group: a new lot and an intake movement."""
    actor = require_login()
    require_role(group, Role.coordinator)
    variant = get_variant_in_group(group, data.get("variant_id"))
    member = get_member_in_group(group, data.get("member_id"))
    stock_unit = resolve_unit(group, variant.product.unit)
    given_unit = resolve_unit(group, data["unit"], "unit") if data.get("unit") else stock_unit
    quantity = quantity_in(data.get("quantity"), given_unit)
    try:
        quantity = convert(quantity, given_unit, stock_unit)
    except QuantityError as exc:
        raise _field_error("unit", _quantity_message(exc, stock_unit) if "cannot be converted" not in str(exc)
                           else _("%(a)s cannot be converted to %(b)s.", a=given_unit.code, b=stock_unit.code)) from None
    if quantity <= 0:
        raise _field_error("quantity", _("The quantity must be more than zero."))
    grade = _optional_text(data.get("grade"), "grade", 20)
    received_at = _clean_moment(data.get("received_at"), "received_at") or utcnow()
    best_before = _clean_date(data.get("best_before"), "best_before")
    note = _optional_text(data.get("note"), "note", 500)
    if not _guarded_update(variant.id, quantity, Decimal(0)):
        raise Conflict(_l("That would take the stock beyond its limits."))
    lot = Lot(group_id=group.id, variant_id=variant.id, member_id=member.id, quantity=quantity, remaining=quantity,
              grade=grade, received_at=received_at, best_before=best_before, note=note, created_by_id=actor.id)
    db.session.add(lot)
    db.session.flush()
    _record([{"group_id": group.id, "variant_id": variant.id, "kind": MovementKind.intake, "lot_id": lot.id,
              "on_hand_delta": quantity, "note": note, "actor_id": actor.id}])
    _forget_counters()
    return lot


def get_lot_in_group(group: Group, lot_id, variant: Variant, field: str = "lot_id") -> Lot:
    check_id(lot_id, field)
    lot = db.session.get(Lot, lot_id)
    if lot is None or lot.group_id != group.id or lot.variant_id != variant.id:
        raise _field_error(field, _("No such lot of this variant in this group."))
    return lot


def adjust(group: Group, data: dict) -> list[Movement]:
    """Correct stock: spoilage or damage (take away), a count (stock opname), or goods returned.

    Taking away draws from lots first in, first out unless a lot is named; adding
    goes to the named lot or the most recent one.
    """
    actor = require_login()
    require_role(group, Role.coordinator)
    variant = get_variant_in_group(group, data.get("variant_id"))
    unit = resolve_unit(group, variant.product.unit)
    try:
        reason = AdjustmentReason(data.get("reason"))
    except ValueError:
        raise _field_error("reason", _("Choose spoilage, damage, count or return.")) from None
    note = _optional_text(data.get("note"), "note", 500)
    lot = get_lot_in_group(group, data["lot_id"], variant) if data.get("lot_id") is not None else None
    stock = _lock_stock([variant.id])[variant.id]
    if reason == AdjustmentReason.count and data.get("counted") is not None:
        if data.get("quantity") is not None:
            raise _field_error("counted", _("Send either the counted quantity or the change, not both."))
        counted = quantity_in(data["counted"], unit, "counted", allow_zero=True)
        delta = counted - stock.on_hand
    else:
        delta = quantity_in(data.get("quantity"), unit, signed=True)
    if reason in (AdjustmentReason.spoilage, AdjustmentReason.damage) and delta > 0:
        raise _field_error("quantity", _("Spoilage and damage take stock away: send a negative quantity."))
    if reason == AdjustmentReason.return_ and delta < 0:
        raise _field_error("quantity", _("A return brings goods back: send a positive quantity."))
    if delta == 0:
        return []
    if stock.on_hand + delta > MAX_QUANTITY:
        raise _field_error("quantity", _("That quantity is too large."))
    if delta < 0 and stock.on_hand + delta < stock.reserved:
        raise Conflict(
            _l("Only %(n)s can be taken away: the rest is on hand for orders or not there.",
               n=format_quantity(max(stock.on_hand - stock.reserved, Decimal(0)))),
            {"quantity": [_("Stock cannot go below zero or below what orders hold.")]})
    # Every refusal comes before the first write, so a refused adjustment changes nothing.
    if lot is not None:
        db.session.refresh(lot)  # as it is now that the stock row is locked
    target = None
    if delta > 0:
        target = lot or db.session.scalar(select(Lot).where(Lot.variant_id == variant.id)
                                          .order_by(Lot.received_at.desc(), Lot.id.desc()).limit(1))
        if target is None:
            raise Conflict(_l("No member has contributed this variant yet: record a contribution instead."))
    elif lot is not None and lot.remaining < -delta:
        raise Conflict(_l("The lots hold less than that."),
                       {"quantity": [_("Only %(n)s left in the lots.", n=format_quantity(lot.remaining))]})
    if not _guarded_update(variant.id, delta, Decimal(0)):
        raise Conflict(_l("Stock cannot go below zero or below what orders hold."))
    kind = MovementKind.return_ if reason == AdjustmentReason.return_ else MovementKind.adjustment
    if delta < 0:
        draws = [(drawn, -take) for drawn, take in _draw(variant.id, -delta, lot)]
    else:
        db.session.execute(update(Lot).where(Lot.id == target.id).values(remaining=Lot.remaining + delta)
                           .execution_options(synchronize_session=False))
        draws = [(target, delta)]
    movements = [Movement(group_id=group.id, variant_id=variant.id, kind=kind, reason=reason, lot_id=drawn.id,
                          on_hand_delta=change, reserved_delta=Decimal(0), note=note, actor_id=actor.id)
                 for drawn, change in draws]
    db.session.add_all(movements)
    db.session.flush()
    _forget_counters()
    return movements


# --- reading stock ---------------------------------------------------------------------

def stock_rows(group: Group) -> list[tuple[Variant, Stock]]:
    """Every variant of the group with its counters, for coordinators and treasurers."""
    require_role(group, Role.coordinator, Role.treasurer, allow_admin=True)
    rows = db.session.execute(
        select(Variant, Stock).join(Stock, Stock.variant_id == Variant.id).join(Product)
        .where(Variant.group_id == group.id).order_by(func.lower(Product.name), Variant.id))
    return [(variant, stock) for variant, stock in rows]


def movements_query(group: Group, variant_id=None):
    require_role(group, Role.coordinator, Role.treasurer, allow_admin=True)
    query = select(Movement).where(Movement.group_id == group.id)
    if variant_id is not None:
        get_variant_in_group(group, variant_id)
        query = query.where(Movement.variant_id == variant_id)
    return query.order_by(Movement.id.desc())


def lot_history(lot_ids: list[int]) -> dict[int, dict[str, Decimal]]:
    """Per lot: units sold, written off (spoilage, damage, a count that found less), found by a count, returned."""
    history: dict[int, dict[str, Decimal]] = defaultdict(lambda: {"sold": Decimal(0), "written_off": Decimal(0),
                                                                 "found": Decimal(0), "returned": Decimal(0)})
    if not lot_ids:
        return history
    adds = Movement.on_hand_delta > literal_column("0")  # one literal, so SELECT and GROUP BY match
    rows = db.session.execute(
        select(Movement.lot_id, Movement.kind, adds, func.sum(Movement.on_hand_delta))
        .where(Movement.lot_id.in_(lot_ids), Movement.kind != MovementKind.intake)
        .group_by(Movement.lot_id, Movement.kind, adds))
    for lot_id, kind, adds, total in rows:
        total = Decimal(total or 0)
        if kind == MovementKind.sale:
            history[lot_id]["sold"] += -total
        elif kind == MovementKind.return_:
            history[lot_id]["returned"] += total
        elif adds:
            history[lot_id]["found"] += total
        else:
            history[lot_id]["written_off"] += -total
    return history


def lots_query(group: Group, member_id=None):
    """Lots of the group: coordinators see all, a member sees their own."""
    user = require_login()
    viewer = membership(group, user)
    privileged = user.is_admin or (viewer is not None and viewer.role in (Role.coordinator, Role.treasurer))
    if not privileged:
        if viewer is None:
            require_role(group, Role.coordinator, Role.treasurer)  # raises: not in this group
        if member_id is not None and member_id != viewer.id:
            raise Forbidden(_l("Members see only their own contributions."))
        member_id = viewer.id
    elif member_id is not None:
        get_member_in_group(group, member_id, active=False)
    query = select(Lot).where(Lot.group_id == group.id)
    if member_id is not None:
        query = query.where(Lot.member_id == member_id)
    return query.order_by(Lot.received_at.desc(), Lot.id.desc())


def my_lots(user) -> list[Lot]:
    """Every lot the user gave, across the groups they belong to."""
    return list(db.session.scalars(
        select(Lot).join(Member, Member.id == Lot.member_id).where(Member.user_id == user.id)
        .order_by(Lot.received_at.desc(), Lot.id.desc()).limit(500)))


def alerts(group: Group, today: date | None = None) -> dict:
    """What needs a coordinator's eye: variants under their low-stock threshold, lots near or past best-before."""
    require_role(group, Role.coordinator, Role.treasurer, allow_admin=True)
    today = today or datetime.now(_wib()).date()
    days = current_app.config.get("BEST_BEFORE_WARNING_DAYS", 3)
    low = db.session.execute(
        select(Variant, Stock).join(Stock, Stock.variant_id == Variant.id).join(Product)
        .where(Variant.group_id == group.id, Variant.active.is_(True), Product.status != ProductStatus.archived,
               Variant.low_stock_threshold.is_not(None),
               Stock.on_hand - Stock.reserved < Variant.low_stock_threshold)
        .order_by(Variant.id)).all()
    expiring = db.session.scalars(
        select(Lot).where(Lot.group_id == group.id, Lot.remaining > 0, Lot.best_before.is_not(None),
                          Lot.best_before <= today + timedelta(days=days))
        .order_by(Lot.best_before, Lot.id)).all()
    return {"low_stock": [(v, s) for v, s in low],
            "expiring": [lot for lot in expiring if lot.best_before >= today],
            "expired": [lot for lot in expiring if lot.best_before < today]}


# --- reconciliation ---------------------------------------------------------------------

def stock_check() -> list[str]:
    """Prove the books: counters equal the sum of movements, lots add up to on-hand. Returns the mismatches."""
    problems: list[str] = []
    sums = {vid: (Decimal(on or 0), Decimal(res or 0)) for vid, on, res in db.session.execute(
        select(Movement.variant_id, func.sum(Movement.on_hand_delta), func.sum(Movement.reserved_delta))
        .group_by(Movement.variant_id))}
    lots = {vid: Decimal(total or 0) for vid, total in db.session.execute(
        select(Lot.variant_id, func.sum(Lot.remaining)).group_by(Lot.variant_id))}
    for stock in db.session.scalars(select(Stock).order_by(Stock.variant_id)):
        on_hand, reserved = sums.get(stock.variant_id, (Decimal(0), Decimal(0)))
        if stock.on_hand != on_hand:
            problems.append(f"variant {stock.variant_id}: on_hand {format_quantity(stock.on_hand)} "
                            f"but movements sum to {format_quantity(on_hand)}")
        if stock.reserved != reserved:
            problems.append(f"variant {stock.variant_id}: reserved {format_quantity(stock.reserved)} "
                            f"but movements sum to {format_quantity(reserved)}")
        if lots.get(stock.variant_id, Decimal(0)) != stock.on_hand:
            problems.append(f"variant {stock.variant_id}: lots hold {format_quantity(lots.get(stock.variant_id, 0))} "
                            f"but on_hand is {format_quantity(stock.on_hand)}")
    per_lot = {lot_id: Decimal(total or 0) for lot_id, total in db.session.execute(
        select(Movement.lot_id, func.sum(Movement.on_hand_delta)).where(Movement.lot_id.is_not(None))
        .group_by(Movement.lot_id))}
    for lot in db.session.scalars(select(Lot).order_by(Lot.id)):
        if per_lot.get(lot.id, Decimal(0)) != lot.remaining:
            problems.append(f"lot {lot.id}: remaining {format_quantity(lot.remaining)} "
                            f"but its movements sum to {format_quantity(per_lot.get(lot.id, 0))}")
    return problems


# --- for the API: the catalog, what a viewer may see, paged lists -------------------------

def manages_stock(group: Group, user) -> bool:
    """Whether `user` is the group's coordinator or treasurer: they see stock counters and unlisted products."""
    member = membership(group, user)
    return member is not None and member.role in (Role.coordinator, Role.treasurer)


def get_visible_product(product_id: int) -> tuple[Product, bool]:
    """A product as the caller may see it, and whether they manage its group's stock.

    Active products are public; hidden and archived ones are there only for the group's
    coordinator and treasurer, and as unknown as a missing one to everybody else.
    """
    product = get_product_or_404(product_id)
    manager = manages_stock(db.session.get(Group, product.group_id), current_user)
    if product.status != ProductStatus.active and not manager:
        raise NotFound(_l("Product not found."))
    return product, manager


def get_variant_or_404(variant_id: int) -> Variant:
    variant = row_by_id(Variant, variant_id)
    if variant is None:
        raise NotFound(_l("Variant not found."))
    return variant


CATALOG_SORTS = ("newest", "price_asc", "price_desc", "name")


def catalog_filters(q=None, kind=None, group_id=None, village=None, in_stock=False, sort="name") -> dict:
    """The catalog's filters checked and put in one form (a 422 names a bad one), so equal searches compare equal.

    `q` becomes its folded words (no case, no accents, single spaces), `village` is
    compared without case.
    """
    for field, value in (("q", q), ("village", village)):
        if value is not None and (not isinstance(value, str) or has_control_chars(value)):
            raise _field_error(field, _("Not a valid text."))
    if sort not in CATALOG_SORTS:
        raise _field_error("sort", _("Sort by newest, price_asc, price_desc or name."))
    return {"q": fold(q) or None, "kind": _kind(kind).value if kind else None,
            "group_id": check_id(group_id, "group_id") if group_id is not None else None,
            "village": village.strip().lower() if village and village.strip() else None,
            "in_stock": bool(in_stock), "sort": sort}


def catalog_query(q=None, kind=None, group_id=None, village=None, in_stock: bool = False, sort: str = "name"):
    """The public catalog as (product, group) rows: active products with an active variant.

    `q` finds products whose name holds every word of it, whatever the case and
    accents ("cabe" finds "Cabé rawit"; % and _ are plain characters). `in_stock`
    keeps products with an active variant that has something available. `sort`:
    `name`, `newest`, or `price_asc` / `price_desc` by the lowest active variant
    price; ties go by id.
    """
    args = catalog_filters(q, kind, group_id, village, in_stock, sort)
    listed = select(Variant.id).where(Variant.product_id == Product.id, Variant.active.is_(True))
    if args["in_stock"]:
        listed = listed.join(Stock, Stock.variant_id == Variant.id).where(Stock.on_hand > Stock.reserved)
    query = (select(Product, Group).join(Group, Group.id == Product.group_id)
             .where(Product.status == ProductStatus.active, listed.exists()))
    for word in (args["q"] or "").split():
        query = query.where(Product.search_name.contains(word, autoescape=True))
    if args["kind"]:
        query = query.where(Product.kind == ProductKind(args["kind"]))
    if args["group_id"] is not None:
        query = query.where(Product.group_id == args["group_id"])
    if args["village"]:
        query = query.where(func.lower(Group.village) == args["village"])
    if args["sort"] in ("price_asc", "price_desc"):
        lowest = (select(func.min(Variant.unit_price))
                  .where(Variant.product_id == Product.id, Variant.active.is_(True))
                  .correlate(Product).scalar_subquery())
        return query.order_by(lowest.asc() if args["sort"] == "price_asc" else lowest.desc(), Product.id)
    if args["sort"] == "newest":
        return query.order_by(Product.created_at.desc(), Product.id.desc())
    return query.order_by(func.lower(Product.name), Product.id)


def stock_query(group: Group):
    """The group's variants as (variant, stock, product) rows to page through, for coordinators and treasurers."""
    require_role(group, Role.coordinator, Role.treasurer, allow_admin=True)
    return (select(Variant, Stock, Product).join(Stock, Stock.variant_id == Variant.id)
            .join(Product, Product.id == Variant.product_id)
            .where(Variant.group_id == group.id).order_by(func.lower(Product.name), Variant.id))


def my_lots_query(user):
    """Every lot the user gave, across their groups, newest first, to page through."""
    return (select(Lot).join(Member, Member.id == Lot.member_id).where(Member.user_id == user.id)
            .order_by(Lot.received_at.desc(), Lot.id.desc()))


def set_product_photo(product: Product, data: bytes) -> str:
    """Give a product its photo (coordinator); the file is checked and re-encoded by inventory.photos."""
    from inventory.photos import save_product_photo

    require_role(db.session.get(Group, product.group_id), Role.coordinator)
    return save_product_photo(product, data)
