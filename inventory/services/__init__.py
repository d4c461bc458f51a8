"""The rules of shared stock: products, contributions as lots, and the one way stock changes.

Stock counters (`stock.on_hand`, `stock.reserved`) change only in
inventory.services.reservations, by guarded SQL expressions in the same
transaction as the append-only movement rows that explain them. Rows are locked
in variant id order. Units leave lots first in, first out (received time, then
id), and every draw names its lot, so every unit sold traces to the member who
gave it.

The modules, each a part of it: records (what services pass between them, small
checks), products (units, products, variants), contributions (intake and
adjustments), reservations (the stock ledger: holding, releasing and consuming
stock), reading (counters, movements, lots, alerts) and reconciliation
(`flask stock check`). What other packages use is named here.
"""
from flask_babel import gettext as _
from sqlalchemy import func, select

from core.text import fold
from core.validation import has_control_chars
from groups.models import Group
from inventory.models import Product, ProductKind, ProductStatus, Stock, Variant
from inventory.services.contributions import (adjust, get_lot_in_group, get_member_in_group,  # noqa: F401
                                              receive_contribution)
from inventory.services.products import (add_variant, create_product, define_unit, get_product_or_404,  # noqa: F401
                                         get_variant_in_group, get_variant_or_404, get_visible_product, group_units,
                                         manages_stock, products_query, read_kind, resolve_unit, set_product_photo,
                                         update_product, update_variant)
from inventory.services.reading import (alerts, lot_history, lots_query, movements_query, my_lots,  # noqa: F401
                                        my_lots_query, stock_query, stock_rows)
from inventory.services.reconciliation import stock_check  # noqa: F401
from inventory.services.records import (DEFAULT_LABEL, MAX_LINES, InsufficientStock, LotDraw, StockLine,  # noqa: F401
                                        check_id, field_error, quantity_in, quantity_message)
from inventory.services.reservations import Reservation, available, consume, release, reserve  # noqa: F401


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
    return {"q": fold(q) or None, "kind": read_kind(kind).value if kind else None,
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
