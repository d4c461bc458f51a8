"""Inventory pages for products: the list, a new product with its variants, editing one, and its photos.

Each view parses the form, calls a service in inventory.services (which checks
the rules and the caller's role), commits once, and redirects. Coordinator pages
also check the role up front, so a refusal is a 403 and never a form message.
"""

import re

from flask import abort, flash, redirect, render_template, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from accounts.services import require_login
from core.errors import AppError
from core.extensions import db
from core.formatting import format_qty_input
from core.pages import page_arg
from core.pagination import paginate
from core.quantity import typed_quantity
from inventory import services
from inventory.forms import ProductForm, optional_id
from inventory.models import Product, ProductStatus, Variant
from inventory.photos import photo_dir
from inventory.views.common import PER_PAGE, bp, coordinated_group, show_errors, unit_choices

_PHOTO_NAME = re.compile(r"^\d+-[0-9a-f]{16}(-thumb)?\.webp$")
NEW_PRODUCT_ROWS = 2


# --- product photos -------------------------------------------------------------------


@bp.route("/media/products/<name>")
def product_photo(name: str):
    """A product photo; names are random, so they can be cached for long."""
    if not _PHOTO_NAME.match(name):
        abort(404)
    response = send_from_directory(photo_dir(), name, max_age=60 * 60 * 24 * 30)
    return response


# --- products -------------------------------------------------------------------------


@bp.route("/groups/<int:group_id>/products")
@login_required
def products(group_id: int):
    group = coordinated_group(group_id)
    query = services.products_query(group).options(selectinload(Product.variants).selectinload(Variant.stock))
    result = paginate(query, page_arg(), PER_PAGE)
    return render_template("inventory/products.html", group=group, result=result)


VARIANT_INPUTS = ("label", "unit_price", "low_stock_threshold")


def _variant_rows(form: ProductForm) -> list:
    """The variant rows' own forms (a FormField's `.label` and `.id` are its own, not the row's inputs)."""
    return [entry.form for entry in form.variants]


def _filled(row) -> bool:
    return any((row[name].data or "").strip() for name in VARIANT_INPUTS)


def _variant_fields(row) -> dict:
    return {
        "label": row.label.data,
        "unit_price": (row.unit_price.data or "").strip(),
        "low_stock_threshold": typed_quantity(row.low_stock_threshold.data),
    }


def _save_photo(form, actor, product: Product) -> None:
    upload = form.photo.data
    if upload is not None and getattr(upload, "filename", ""):
        services.set_product_photo(actor, product, upload.read())


@bp.route("/groups/<int:group_id>/products/new", methods=["GET", "POST"])
@login_required
def new_product(group_id: int):
    group = coordinated_group(group_id)
    form = ProductForm(data={"variants": [{}] * NEW_PRODUCT_ROWS} if request.method == "GET" else None)
    unit_choices(form.unit, group)
    if request.method == "GET":
        form.unit.data = "kg"
    if form.validate_on_submit():
        rows = [row for row in _variant_rows(form) if _filled(row)]
        data = {
            "name": form.name.data,
            "kind": form.kind.data,
            "unit": form.unit.data,
            "description": form.description.data,
        }
        first = (rows or _variant_rows(form))[0]
        targets = {"unit_price": first.unit_price, "low_stock_threshold": first.low_stock_threshold}
        if len(rows) <= 1 and not (first.label.data or "").strip():
            # One price and no label: a product sold one way only (its variant is "standard").
            fields = _variant_fields(first)
            data["unit_price"] = fields["unit_price"] or None
            data["low_stock_threshold"] = fields["low_stock_threshold"]
        else:
            data["variants"] = [_variant_fields(row) for row in rows]
            for i, row in enumerate(rows):
                targets |= {f"variants.{i}.{name}": row[name] for name in VARIANT_INPUTS}
        actor = require_login()
        try:
            product = services.create_product(actor, group, **data)
            if form.status.data != ProductStatus.active:
                services.update_product(actor, product, status=form.status.data)
            _save_photo(form, actor, product)
        except AppError as exc:
            db.session.rollback()
            show_errors(form, exc, targets)
        else:
            db.session.commit()
            flash(_("%(name)s was added.", name=product.name), "success")
            return redirect(url_for("inventory.products", group_id=group.id))
    return render_template("inventory/product_edit.html", form=form, group=group, product=None)


def _product_data(product: Product) -> dict:
    rows = [
        {
            "id": str(v.id),
            "label": v.label,
            "unit_price": str(v.unit_price),
            "low_stock_threshold": format_qty_input(v.low_stock_threshold),
            "active": v.active,
        }
        for v in product.variants
    ]
    return {
        "name": product.name,
        "kind": product.kind.value,
        "unit": product.unit,
        "description": product.description or "",
        "status": product.status.value,
        "variants": rows + [{}],
    }


@bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
@login_required
def edit_product(product_id: int):
    product = services.get_product_or_404(product_id)
    group = coordinated_group(product.group_id)
    form = ProductForm(data=_product_data(product) if request.method == "GET" else None)
    form.unit.choices = [SelectChoice(product.unit)]  # a product keeps its unit: its stock is counted in it
    if form.validate_on_submit():
        actor = require_login()
        failed = False
        try:
            services.update_product(
                actor,
                product,
                name=form.name.data,
                kind=form.kind.data,
                description=form.description.data,
                status=form.status.data,
            )
        except AppError as exc:
            show_errors(form, exc)
            failed = True
        variants = {v.id: v for v in product.variants}
        for row in _variant_rows(form):
            variant = variants.get(optional_id(row.id.data))
            if variant is None and row.id.data:
                continue  # not a variant of this product: ignored
            if variant is None and not _filled(row):
                continue
            try:
                if variant is not None:
                    services.update_variant(actor, variant, **_variant_fields(row), active=bool(row.active.data))
                else:
                    services.add_variant(actor, product, **_variant_fields(row))
            except AppError as exc:
                show_errors(form, exc, {name: row[name] for name in (*VARIANT_INPUTS, "active")})
                failed = True
        if not failed:
            try:
                _save_photo(form, actor, product)
            except AppError as exc:
                show_errors(form, exc)
                failed = True
        if failed:
            db.session.rollback()
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("inventory.products", group_id=group.id))
    return render_template("inventory/product_edit.html", form=form, group=group, product=product)
