"""The public catalog as plain data, shared by the catalog API and the catalog pages."""
from flask import url_for
from sqlalchemy.orm import selectinload

from core.pagination import paginate
from inventory import services as stock
from inventory.models import Product, Variant

SORTS = ("newest", "price_asc", "price_desc", "name")


def product_card(product: Product, group) -> dict:
    """What a buyer sees of a product: its group, photo, and active variants with what is available."""
    photo = product.photo
    variants = [{"id": v.id, "label": v.label, "unit_price": v.unit_price, "available": v.stock.available}
                for v in product.variants if v.active]
    return {
        "id": product.id, "name": product.name, "kind": product.kind.value, "unit": product.unit,
        "description": product.description, "status": product.status.value, "group_id": product.group_id,
        "group": {"id": group.id, "name": group.name, "village": group.village, "district": group.district},
        "photo_url": url_for("inventory.product_photo", name=f"{photo}.webp") if photo else None,
        "thumb_url": url_for("inventory.product_photo", name=f"{photo}-thumb.webp") if photo else None,
        "variants": variants,
        "min_price": min((v["unit_price"] for v in variants), default=None),
        "created_at": product.created_at,
    }


def catalog_page(q=None, kind=None, group_id=None, village=None, in_stock=False, sort="newest", page=1,
                 per_page=20) -> dict:
    """One page of the public catalog: {items: [product_card...], page, per_page, total}."""
    query = stock.catalog_query(q=q, kind=kind, group_id=group_id, village=village, in_stock=in_stock)
    query = query.options(selectinload(Product.variants).selectinload(Variant.stock))
    result = paginate(query, page, per_page, scalars=False)
    result["items"] = [product_card(product, group) for product, group in result["items"]]
    return result
