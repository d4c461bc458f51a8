"""Products and their variants, and the units a group counts them in.

Each variant has its own price in whole rupiah and its own stock row. Only the
group's coordinator lists and changes products; hidden and archived products
are seen only by its coordinator and treasurer.
"""

from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from core.errors import Conflict, NotFound, ValidationFailed
from core.extensions import db
from core.types import utcnow
from core.validation import clean_name, optional_text, row_by_id
from groups.models import Group, Role
from groups.services import authorize, membership
from inventory.models import GroupUnit, Product, ProductKind, ProductStatus, Stock, Variant
from inventory.photos import save_product_photo
from inventory.services.records import (
    DEFAULT_LABEL,
    MAX_VARIANTS,
    UNCHANGED,
    UNIT_NAME_MAX_LENGTH,
    check_id,
    field_error,
    quantity_in,
    read_label,
    read_price,
)
from inventory.units import BUILTIN_UNITS, Unit

# --- units -------------------------------------------------------------------------


def group_units(group: Group) -> dict[str, Unit]:
    """Every unit `group` may use: the built-in ones and its own."""
    units = dict(BUILTIN_UNITS)
    for row in db.session.scalars(select(GroupUnit).where(GroupUnit.group_id == group.id)):
        units[row.code] = Unit(row.code, row.name, row.whole)
    return units


def resolve_unit(group: Group, code, field: str = "unit") -> Unit:
    """The unit a code names among the group's units, or a 422 on `field`."""
    if not isinstance(code, str):
        raise field_error(field, _("Choose a unit."))
    unit = group_units(group).get(code.strip().lower())
    if unit is None:
        raise field_error(
            field,
            _(
                "Unknown unit. Use kg, g, ons, kuintal, liter, pcs, lusin, kodi, ikat, karung "
                "or one your group defined."
            ),
        )
    return unit


def define_unit(actor, group: Group, code, name=None, whole=True) -> GroupUnit:
    """A unit of the group's own, such as `tandan` or `keranjang`; counted in whole numbers by default."""
    authorize(actor, group, Role.coordinator)
    if not isinstance(code, str) or not code.strip().isalpha() or len(code.strip().lower()) > 16:
        raise field_error("code", _("Use one word of letters, at most 16."))
    code = code.strip().lower()
    if code in BUILTIN_UNITS or db.session.scalar(
        select(GroupUnit.id).where(GroupUnit.group_id == group.id, GroupUnit.code == code)
    ):
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
    """The product an id names, or 404."""
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


def get_variant_or_404(variant_id: int) -> Variant:
    """The variant an id names, or 404."""
    variant = row_by_id(Variant, variant_id)
    if variant is None:
        raise NotFound(_l("Variant not found."))
    return variant


def _new_variant(product: Product, label: str, unit_price: int, threshold=None) -> Variant:
    variant = Variant(
        product=product, group_id=product.group_id, label=label, unit_price=unit_price, low_stock_threshold=threshold
    )
    db.session.add(variant)
    db.session.add(Stock(variant=variant, on_hand=Decimal(0), reserved=Decimal(0)))
    return variant


def _threshold(value, unit: Unit, field: str):
    if value in (None, ""):
        return None
    return quantity_in(value, unit, field, allow_zero=True)


def create_product(
    actor,
    group: Group,
    *,
    name,
    kind,
    unit,
    description=None,
    unit_price=None,
    low_stock_threshold=None,
    variants: list[dict] | None = None,
) -> Product:
    """List a product with its variants (coordinator); each variant gets its own price and stock row.

    Without `variants` it gets one `standard` variant at `unit_price`. Each variant is
    a mapping with `label`, `unit_price` and an optional `low_stock_threshold`. Values
    are as the page or the client sent them: every bad one is reported at once (422),
    a variant's as `variants.<n>.<field>`.
    """
    authorize(actor, group, Role.coordinator)
    errors: dict = {}

    def take(field, parse):
        try:
            return parse()
        except ValidationFailed as exc:
            errors.update(exc.errors)
            return None

    clean = {"name": take("name", lambda: clean_name(name)), "kind": take("kind", lambda: read_kind(kind))}
    counted_in = take("unit", lambda: resolve_unit(group, unit))
    clean["description"] = take("description", lambda: optional_text(description, "description", 2000))

    def threshold_of(value, field):
        return take(field, lambda: _threshold(value, counted_in, field) if counted_in else None)

    specs = []
    if variants in (None, []):
        if unit_price is None:
            errors["unit_price"] = [_("Give a unit price, or list variants with their prices.")]
        else:
            price = take("unit_price", lambda: read_price(unit_price))
            specs.append((DEFAULT_LABEL, price, threshold_of(low_stock_threshold, "low_stock_threshold")))
    elif not isinstance(variants, list) or len(variants) > MAX_VARIANTS:
        errors["variants"] = [_("List at most %(n)d variants.", n=MAX_VARIANTS)]
    else:
        seen = set()
        for i, item in enumerate(variants):
            if not isinstance(item, dict):
                errors[f"variants.{i}"] = [_("Not a valid variant.")]
                continue
            label = take(
                f"variants.{i}.label", lambda i=i, item=item: read_label(item.get("label"), f"variants.{i}.label")
            )
            price = take(
                f"variants.{i}.unit_price",
                lambda i=i, item=item: read_price(item.get("unit_price"), f"variants.{i}.unit_price"),
            )
            threshold = threshold_of(item.get("low_stock_threshold"), f"variants.{i}.low_stock_threshold")
            if label and label.lower() in seen:
                errors[f"variants.{i}.label"] = [_("Each variant needs its own label.")]
            seen.add((label or "").lower())
            specs.append((label, price, threshold))
    if errors:
        raise ValidationFailed(errors=errors)
    product = Product(group_id=group.id, unit=counted_in.code, status=ProductStatus.active, **clean)
    db.session.add(product)
    for label, price, threshold in specs:
        _new_variant(product, label, price, threshold)
    db.session.flush()
    return product


def read_kind(value) -> ProductKind:
    """A product kind (produce, garment, processed), or a 422 on `kind`."""
    try:
        return ProductKind(value)
    except ValueError:
        raise field_error("kind", _("Choose produce, garment or processed.")) from None


def update_product(
    actor,
    product: Product,
    *,
    name=UNCHANGED,
    description=UNCHANGED,
    kind=UNCHANGED,
    status=UNCHANGED,
    unit_price=UNCHANGED,
) -> Product:
    """Change a product's name, description, kind, status, or (single-variant products) price (coordinator).

    What is not given stays as it is.
    """
    group = db.session.get(Group, product.group_id)
    authorize(actor, group, Role.coordinator)
    if name is not UNCHANGED:
        product.name = clean_name(name)
    if description is not UNCHANGED:
        product.description = optional_text(description, "description", 2000)
    if kind is not UNCHANGED:
        product.kind = read_kind(kind)
    if status is not UNCHANGED:
        try:
            product.status = ProductStatus(status)
        except ValueError:
            raise field_error("status", _("Choose active, hidden or archived.")) from None
    if unit_price is not UNCHANGED:
        if len(product.variants) != 1:
            raise field_error("unit_price", _("This product has several variants: change each variant's price."))
        product.variants[0].unit_price = read_price(unit_price)
    product.updated_at = utcnow()
    db.session.flush()
    return product


def add_variant(actor, product: Product, *, label, unit_price, low_stock_threshold=None) -> Variant:
    """A new variant of `product` with its own price and stock row (coordinator)."""
    group = db.session.get(Group, product.group_id)
    authorize(actor, group, Role.coordinator)
    unit = resolve_unit(group, product.unit)
    label = read_label(label)
    if any(v.label.lower() == label.lower() for v in product.variants):
        raise Conflict(_l("That variant already exists."), {"label": [_("Each variant needs its own label.")]})
    if len(product.variants) >= MAX_VARIANTS:
        raise field_error("label", _("List at most %(n)d variants.", n=MAX_VARIANTS))
    variant = _new_variant(
        product, label, read_price(unit_price), _threshold(low_stock_threshold, unit, "low_stock_threshold")
    )
    db.session.flush()
    return variant


def update_variant(
    actor, variant: Variant, *, label=UNCHANGED, unit_price=UNCHANGED, low_stock_threshold=UNCHANGED, active=UNCHANGED
) -> Variant:
    """Change a variant's label, price, low-stock threshold or whether it is on sale (coordinator).

    What is not given stays as it is.
    """
    product = variant.product
    group = db.session.get(Group, product.group_id)
    authorize(actor, group, Role.coordinator)
    unit = resolve_unit(group, product.unit)
    if label is not UNCHANGED:
        label = read_label(label)
        if any(v.id != variant.id and v.label.lower() == label.lower() for v in product.variants):
            raise Conflict(_l("That variant already exists."), {"label": [_("Each variant needs its own label.")]})
        variant.label = label
    if unit_price is not UNCHANGED:
        variant.unit_price = read_price(unit_price)
    if low_stock_threshold is not UNCHANGED:
        variant.low_stock_threshold = _threshold(low_stock_threshold, unit, "low_stock_threshold")
    if active is not UNCHANGED:
        if not isinstance(active, bool):
            raise field_error("active", _("Not a valid boolean."))
        variant.active = active
    db.session.flush()
    return variant


def products_query(group: Group, status: str | None = None):
    """The group's products, by status and name; `status` keeps one status only."""
    query = select(Product).where(Product.group_id == group.id)
    if status:
        try:
            query = query.where(Product.status == ProductStatus(status))
        except ValueError:
            raise field_error("status", _("Choose active, hidden or archived.")) from None
    return query.order_by(Product.status, func.lower(Product.name), Product.id)


def set_product_photo(actor, product: Product, data: bytes) -> str:
    """Give a product its photo (coordinator); the file is checked and re-encoded by inventory.photos."""
    authorize(actor, db.session.get(Group, product.group_id), Role.coordinator)
    return save_product_photo(product, data)


# --- what a viewer may see -----------------------------------------------------------


def manages_stock(group: Group, user) -> bool:
    """Whether `user` is the group's coordinator or treasurer: they see stock counters and unlisted products."""
    member = membership(group, user)
    return member is not None and member.role in (Role.coordinator, Role.treasurer)


def get_visible_product(viewer, product_id: int) -> tuple[Product, bool]:
    """A product as `viewer` (signed in or not) may see it, and whether they manage its group's stock.

    Active products of verified groups are public; hidden and archived ones, and those of a
    group not verified (yet, or again), are there only for the group's coordinator and
    treasurer, and as unknown as a missing one to everybody else.
    """
    product = get_product_or_404(product_id)
    group = db.session.get(Group, product.group_id)
    manager = manages_stock(group, viewer)
    if (product.status != ProductStatus.active or not group.verified) and not manager:
        raise NotFound(_l("Product not found."))
    return product, manager
