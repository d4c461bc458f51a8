"""The rules of shared stock: products, contributions as lots, and the one way stock changes.

Stock counters (`stock.on_hand`, `stock.reserved`) change only in
inventory.services.reservations, by guarded SQL expressions in the same
transaction as the append-only movement rows that explain them. Rows are locked
in variant id order. Units leave lots first in, first out (received time, then
id), and every draw names its lot, so every unit sold traces to the member who
gave it.
"""
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, literal_column, select, update

from core.validation import clean_name, has_control_chars, row_by_id
from accounts.services import require_login
from core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from core.quantity import MAX_QUANTITY, QuantityError, format_quantity
from core.extensions import db
from core.text import fold
from core.types import utcnow
from groups.models import Group, Member, Role
from groups.services import membership, require_role
from inventory.models import (AdjustmentReason, GroupUnit, Lot, Movement, MovementKind, Product, ProductKind,
                              ProductStatus, Stock, Variant)
from inventory.services.records import (DEFAULT_LABEL, LABEL_MAX_LENGTH, MAX_LINES, MAX_VARIANTS,  # noqa: F401
                                        UNIT_NAME_MAX_LENGTH, InsufficientStock, LotDraw, StockLine, check_id,
                                        field_error, is_postgresql, optional_text, quantity_in, quantity_message,
                                        read_label, read_price)
from inventory.services.reservations import (Reservation, _draw, _forget_counters, _guarded_update,  # noqa: F401
                                             _lock_stock, _record, available, consume, release, reserve)
from inventory.units import BUILTIN_UNITS, Unit, convert

# --- units -------------------------------------------------------------------------

def group_units(group: Group) -> dict[str, Unit]:
    """Every unit `group` may use: the built-in ones and its own."""
    units = dict(BUILTIN_UNITS)
    for row in db.session.scalars(select(GroupUnit).where(GroupUnit.group_id == group.id)):
        units[row.code] = Unit(row.code, row.name, row.whole)
    return units


def resolve_unit(group: Group, code, field: str = "unit") -> Unit:
    if not isinstance(code, str):
        raise field_error(field, _("Choose a unit."))
    unit = group_units(group).get(code.strip().lower())
    if unit is None:
        raise field_error(field, _("Unknown unit. Use kg, g, ons, kuintal, liter, pcs, lusin, kodi, ikat, karung "
                                    "or one your group defined."))
    return unit


def define_unit(group: Group, code, name, whole=True) -> GroupUnit:
    """A unit of the group's own, such as `tandan` or `keranjang`; counted in whole numbers by default."""
    require_role(group, Role.coordinator)
    if not isinstance(code, str) or not code.strip().isalpha() or len(code.strip().lower()) > 16:
        raise field_error("code", _("Use one word of letters, at most 16."))
    code = code.strip().lower()
    if code in BUILTIN_UNITS or db.session.scalar(
            select(GroupUnit.id).where(GroupUnit.group_id == group.id, GroupUnit.code == code)):
        raise Conflict(_l("That unit already exists."), {"code": [_("That unit already exists.")]})
    if not isinstance(whole, bool):
        raise field_error("whole", _("Not a valid boolean."))
    name = clean_name(name or code)
    if len(name) > UNIT_NAME_MAX_LENGTH:
        raise field_error("name", _("Use at most %(n)d characters.", n=UNIT_NAME_MAX_LENGTH))
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
        raise field_error(field, _("No such product variant in this group."))
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
    description = take("description", lambda: optional_text(data.get("description"), "description", 2000))
    variants_in = data.get("variants")
    specs = []
    if variants_in in (None, []):
        if data.get("unit_price") is None:
            errors["unit_price"] = [_("Give a unit price, or list variants with their prices.")]
        else:
            price = take("unit_price", lambda: read_price(data.get("unit_price")))
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
            label = take(f"variants.{i}.label", lambda: read_label(item.get("label"), f"variants.{i}.label"))
            price = take(f"variants.{i}.unit_price",
                         lambda: read_price(item.get("unit_price"), f"variants.{i}.unit_price"))
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
        raise field_error("kind", _("Choose produce, garment or processed.")) from None


def update_product(product: Product, data: dict) -> Product:
    """Change a product's name, description, status, or (single-variant products) price."""
    group = db.session.get(Group, product.group_id)
    require_role(group, Role.coordinator)
    if "name" in data:
        product.name = clean_name(data["name"])
    if "description" in data:
        product.description = optional_text(data["description"], "description", 2000)
    if "kind" in data:
        product.kind = _kind(data["kind"])
    if "status" in data:
        try:
            product.status = ProductStatus(data["status"])
        except ValueError:
            raise field_error("status", _("Choose active, hidden or archived.")) from None
    if "unit_price" in data:
        if len(product.variants) != 1:
            raise field_error("unit_price", _("This product has several variants: change each variant's price."))
        product.variants[0].unit_price = read_price(data["unit_price"])
    product.updated_at = utcnow()
    db.session.flush()
    return product


def add_variant(product: Product, data: dict) -> Variant:
    group = db.session.get(Group, product.group_id)
    require_role(group, Role.coordinator)
    unit = resolve_unit(group, product.unit)
    label = read_label(data.get("label"))
    if any(v.label.lower() == label.lower() for v in product.variants):
        raise Conflict(_l("That variant already exists."), {"label": [_("Each variant needs its own label.")]})
    if len(product.variants) >= MAX_VARIANTS:
        raise field_error("label", _("List at most %(n)d variants.", n=MAX_VARIANTS))
    variant = _new_variant(product, label, read_price(data.get("unit_price")),
                           _threshold(data.get("low_stock_threshold"), unit, "low_stock_threshold"))
    db.session.flush()
    return variant


def update_variant(variant: Variant, data: dict) -> Variant:
    product = variant.product
    group = db.session.get(Group, product.group_id)
    require_role(group, Role.coordinator)
    unit = resolve_unit(group, product.unit)
    if "label" in data:
        label = read_label(data["label"])
        if any(v.id != variant.id and v.label.lower() == label.lower() for v in product.variants):
            raise Conflict(_l("That variant already exists."), {"label": [_("Each variant needs its own label.")]})
        variant.label = label
    if "unit_price" in data:
        variant.unit_price = read_price(data["unit_price"])
    if "low_stock_threshold" in data:
        variant.low_stock_threshold = _threshold(data["low_stock_threshold"], unit, "low_stock_threshold")
    if "active" in data:
        if not isinstance(data["active"], bool):
            raise field_error("active", _("Not a valid boolean."))
        variant.active = data["active"]
    db.session.flush()
    return variant


def products_query(group: Group, status: str | None = None):
    query = select(Product).where(Product.group_id == group.id)
    if status:
        try:
            query = query.where(Product.status == ProductStatus(status))
        except ValueError:
            raise field_error("status", _("Choose active, hidden or archived.")) from None
    return query.order_by(Product.status, func.lower(Product.name), Product.id)


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
    raise field_error(field, _("Use a date such as 2026-11-28."))


def _clean_moment(value, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise field_error(field, _("Use a time such as 2026-11-28T07:30:00+07:00.")) from None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=_wib())
    if not isinstance(value, datetime):
        raise field_error(field, _("Use a time such as 2026-11-28T07:30:00+07:00."))
    if value.tzinfo is None:
        value = value.replace(tzinfo=_wib())  # people here mean Blitar time
    if value > utcnow() + timedelta(days=1):
        raise field_error(field, _("That is in the future."))
    if value.year < 2000:
        raise field_error(field, _("That is too long ago."))
    return value


def _wib():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Jakarta")


def get_member_in_group(group: Group, member_id, field: str = "member_id", active: bool = True) -> Member:
    check_id(member_id, field)
    member = db.session.get(Member, member_id)
    if member is None or member.group_id != group.id:
        raise field_error(field, _("No such member in this group."))
    if active and not member.active:
        raise field_error(field, _("This member is inactive."))
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
        raise field_error("unit", quantity_message(exc, stock_unit) if "cannot be converted" not in str(exc)
                          else _("%(a)s cannot be converted to %(b)s.", a=given_unit.code, b=stock_unit.code)) from None
    if quantity <= 0:
        raise field_error("quantity", _("The quantity must be more than zero."))
    grade = optional_text(data.get("grade"), "grade", 20)
    received_at = _clean_moment(data.get("received_at"), "received_at") or utcnow()
    best_before = _clean_date(data.get("best_before"), "best_before")
    note = optional_text(data.get("note"), "note", 500)
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
        raise field_error(field, _("No such lot of this variant in this group."))
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
        raise field_error("reason", _("Choose spoilage, damage, count or return.")) from None
    note = optional_text(data.get("note"), "note", 500)
    lot = get_lot_in_group(group, data["lot_id"], variant) if data.get("lot_id") is not None else None
    stock = _lock_stock([variant.id])[variant.id]
    if reason == AdjustmentReason.count and data.get("counted") is not None:
        if data.get("quantity") is not None:
            raise field_error("counted", _("Send either the counted quantity or the change, not both."))
        counted = quantity_in(data["counted"], unit, "counted", allow_zero=True)
        delta = counted - stock.on_hand
    else:
        delta = quantity_in(data.get("quantity"), unit, signed=True)
    if reason in (AdjustmentReason.spoilage, AdjustmentReason.damage) and delta > 0:
        raise field_error("quantity", _("Spoilage and damage take stock away: send a negative quantity."))
    if reason == AdjustmentReason.return_ and delta < 0:
        raise field_error("quantity", _("A return brings goods back: send a positive quantity."))
    if delta == 0:
        return []
    if stock.on_hand + delta > MAX_QUANTITY:
        raise field_error("quantity", _("That quantity is too large."))
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
            raise field_error(field, _("Not a valid text."))
    if sort not in CATALOG_SORTS:
        raise field_error("sort", _("Sort by newest, price_asc, price_desc or name."))
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
