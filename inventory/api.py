"""Inventory API: products, variants, units, contributions, stock, adjustments, movements."""

from flask import url_for
from sqlalchemy.orm import selectinload

from accounts.services import require_login
from core.blueprint import Blueprint
from core.extensions import db
from core.pagination import PageQuery, page_of, paginate
from groups.services import get_group_or_404
from inventory import services
from inventory.models import Lot, Product, Variant
from inventory.schemas import (
    AdjustmentIn,
    AdjustmentOut,
    AlertsOut,
    ContributionIn,
    ContributionQuery,
    LotOut,
    MovementOut,
    MovementQuery,
    PhotoIn,
    ProductIn,
    ProductOut,
    ProductPatch,
    StockRowOut,
    UnitIn,
    UnitList,
    UnitOut,
    VariantIn,
    VariantOut,
    VariantPatch,
)
from inventory.units import BUILTIN_UNITS

blp = Blueprint("inventory_api", __name__, url_prefix="/api/v1", description="Products and stock")


# --- views: ORM objects to the shapes the schemas dump ---------------------------------------


def variant_view(variant: Variant, manager: bool) -> dict:
    """A variant with what buyers may order; its counters and threshold only for those who manage the stock."""
    stock = variant.stock
    view = {
        "id": variant.id,
        "product_id": variant.product_id,
        "label": variant.label,
        "unit_price": variant.unit_price,
        "active": variant.active,
        "available": stock.available,
    }
    if manager:
        view.update(on_hand=stock.on_hand, reserved=stock.reserved, low_stock_threshold=variant.low_stock_threshold)
    return view


def product_view(product: Product, group, manager: bool) -> dict:
    """A product with its group and photo; the public sees its active variants, managers see them all."""
    photo = product.photo
    return {
        "id": product.id,
        "group_id": product.group_id,
        "group": group,
        "name": product.name,
        "kind": product.kind,
        "unit": product.unit,
        "description": product.description,
        "status": product.status,
        "photo_url": url_for("inventory.product_photo", name=f"{photo}.webp") if photo else None,
        "thumb_url": url_for("inventory.product_photo", name=f"{photo}-thumb.webp") if photo else None,
        "variants": [variant_view(v, manager) for v in product.variants if manager or v.active],
        "created_at": product.created_at,
        "updated_at": product.updated_at,
    }


def lot_views(lots: list[Lot]) -> list[dict]:
    """Lots with what they are and what became of them (sold, written off, returned)."""
    history = services.lot_history([lot.id for lot in lots])
    views = []
    for lot in lots:
        variant = lot.variant
        views.append(
            {
                "id": lot.id,
                "group_id": lot.group_id,
                "variant_id": lot.variant_id,
                "product_id": variant.product_id,
                "product_name": variant.product.name,
                "label": variant.label,
                "unit": variant.product.unit,
                "member_id": lot.member_id,
                "quantity": lot.quantity,
                "remaining": lot.remaining,
                "grade": lot.grade,
                "received_at": lot.received_at,
                "best_before": lot.best_before,
                "note": lot.note,
                **history[lot.id],
            }
        )
    return views


def stock_row_view(variant: Variant, stock, product: Product) -> dict:
    return {
        "variant_id": variant.id,
        "product_id": product.id,
        "product_name": product.name,
        "product_status": product.status,
        "label": variant.label,
        "unit": product.unit,
        "active": variant.active,
        "on_hand": stock.on_hand,
        "reserved": stock.reserved,
        "available": stock.available,
        "low_stock_threshold": variant.low_stock_threshold,
    }


def _with_products(query):
    """Load each lot's variant and product with the page, not one by one."""
    return query.options(selectinload(Lot.variant).selectinload(Variant.product))


# --- products and variants ----------------------------------------------------------------------


@blp.route("/groups/<int:group_id>/products", methods=["POST"])
@blp.arguments(ProductIn)
@blp.response(201, ProductOut)
def create_product(data, group_id):
    """List a product (coordinator); without `variants` it gets one `standard` variant at `unit_price`."""
    group = get_group_or_404(group_id)
    product = services.create_product(require_login(), group, **data)
    db.session.commit()
    return product_view(product, group, manager=True)


@blp.route("/products/<int:product_id>", methods=["PATCH"])
@blp.arguments(ProductPatch)
@blp.response(200, ProductOut)
def update_product(data, product_id):
    """Change name, description, kind, `status` or (one-variant products) price (coordinator)."""
    product = services.get_product_or_404(product_id)
    services.update_product(require_login(), product, **data)
    db.session.commit()
    return product_view(product, get_group_or_404(product.group_id), manager=True)


@blp.route("/products/<int:product_id>/variants", methods=["POST"])
@blp.arguments(VariantIn)
@blp.response(201, VariantOut)
def add_variant(data, product_id):
    """Add a variant with its own price and stock (coordinator)."""
    product = services.get_product_or_404(product_id)
    variant = services.add_variant(require_login(), product, **data)
    db.session.commit()
    return variant_view(variant, manager=True)


@blp.route("/variants/<int:variant_id>", methods=["PATCH"])
@blp.arguments(VariantPatch)
@blp.response(200, VariantOut)
def update_variant(data, variant_id):
    """Change a variant's label, price, low-stock threshold or `active` (coordinator)."""
    variant = services.get_variant_or_404(variant_id)
    services.update_variant(require_login(), variant, **data)
    db.session.commit()
    return variant_view(variant, manager=True)


@blp.route("/products/<int:product_id>/photo", methods=["POST"])
@blp.arguments(PhotoIn, location="files")
@blp.response(200, ProductOut)
def upload_photo(files, product_id):
    """Upload the product's photo as multipart field `photo` (coordinator); stored re-encoded as WebP."""
    product = services.get_product_or_404(product_id)
    services.set_product_photo(require_login(), product, files["photo"].read())
    db.session.commit()
    return product_view(product, get_group_or_404(product.group_id), manager=True)


# --- units ----------------------------------------------------------------------------------


@blp.route("/groups/<int:group_id>/units", methods=["GET"])
@blp.response(200, UnitList)
def list_units(group_id):
    """The units the group may use: the built-in ones and its own."""
    units = services.group_units(get_group_or_404(group_id))
    return {
        "items": [
            {"code": u.code, "name": u.name, "whole": u.whole, "builtin": code in BUILTIN_UNITS}
            for code, u in units.items()
        ]
    }


@blp.route("/groups/<int:group_id>/units", methods=["POST"])
@blp.arguments(UnitIn)
@blp.response(201, UnitOut)
def define_unit(data, group_id):
    """Define a unit of the group's own, such as `tandan` (coordinator)."""
    group = get_group_or_404(group_id)
    unit = services.define_unit(require_login(), group, data["code"], data.get("name"), data["whole"])
    db.session.commit()
    return {"code": unit.code, "name": unit.name, "whole": unit.whole, "builtin": False}


# --- contributions, stock and the ledger ------------------------------------------------------------


@blp.route("/groups/<int:group_id>/contributions", methods=["POST"])
@blp.arguments(ContributionIn)
@blp.response(201, LotOut)
def create_contribution(data, group_id):
    """Record goods a member hands to the group (coordinator): a new lot, in any unit that converts."""
    group = get_group_or_404(group_id)
    lot = services.receive_contribution(require_login(), group, **data)
    db.session.commit()
    return lot_views([lot])[0]


@blp.route("/groups/<int:group_id>/contributions", methods=["GET"])
@blp.arguments(ContributionQuery, location="query")
@blp.response(200, page_of(LotOut))
def list_contributions(args, group_id):
    """Contributions with what became of them: coordinators and treasurers see all, a member their own."""
    group = get_group_or_404(group_id)
    query = services.lots_query(require_login(), group, args.get("member_id"))
    result = paginate(_with_products(query), args["page"], args["per_page"])
    result["items"] = lot_views(result["items"])
    return result


@blp.route("/me/contributions", methods=["GET"])
@blp.arguments(PageQuery, location="query")
@blp.response(200, page_of(LotOut))
def my_contributions(args):
    """Everything the signed-in user gave, across their groups, with what sold."""
    result = paginate(_with_products(services.my_lots_query(require_login())), args["page"], args["per_page"])
    result["items"] = lot_views(result["items"])
    return result


@blp.route("/groups/<int:group_id>/stock", methods=["GET"])
@blp.arguments(PageQuery, location="query")
@blp.response(200, page_of(StockRowOut))
def list_stock(args, group_id):
    """Each variant's on-hand, reserved and available quantities (coordinator, treasurer)."""
    group = get_group_or_404(group_id)
    result = paginate(services.stock_query(require_login(), group), args["page"], args["per_page"], scalars=False)
    result["items"] = [stock_row_view(variant, stock, product) for variant, stock, product in result["items"]]
    return result


@blp.route("/groups/<int:group_id>/adjustments", methods=["POST"])
@blp.arguments(AdjustmentIn)
@blp.response(201, AdjustmentOut)
def create_adjustment(data, group_id):
    """Correct stock (coordinator): spoilage or damage (negative), a count, or a return (positive)."""
    group = get_group_or_404(group_id)
    movements = services.adjust(require_login(), group, **data)
    db.session.commit()
    return {"movements": movements}


@blp.route("/groups/<int:group_id>/movements", methods=["GET"])
@blp.arguments(MovementQuery, location="query")
@blp.response(200, page_of(MovementOut))
def list_movements(args, group_id):
    """The stock ledger, newest first (coordinator, treasurer)."""
    group = get_group_or_404(group_id)
    query = services.movements_query(require_login(), group, args.get("variant_id"))
    return paginate(query, args["page"], args["per_page"])


@blp.route("/groups/<int:group_id>/alerts", methods=["GET"])
@blp.response(200, AlertsOut)
def stock_alerts(group_id):
    """Low stock, and lots near or past their best-before date (coordinator, treasurer)."""
    group = get_group_or_404(group_id)
    found = services.alerts(require_login(), group)
    return {
        "low_stock": [stock_row_view(variant, stock, variant.product) for variant, stock in found["low_stock"]],
        "expiring": lot_views(found["expiring"]),
        "expired": lot_views(found["expired"]),
    }
