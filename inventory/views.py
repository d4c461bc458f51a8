"""Inventory pages: products, intake, stock, ledger, my contributions, the coordinator's dashboard.

Each view parses the form, calls a service in inventory.services (which checks
the rules and the caller's role), commits once, and redirects. Coordinator pages
also check the role up front, so a refusal is a 403 and never a form message.
"""

import re
from datetime import datetime, time
from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from accounts.services import require_login
from core.errors import AppError
from core.extensions import db
from core.formatting import WIB, format_qty, format_qty_input, format_signed_qty, format_wib
from core.pagination import paginate
from core.quantity import typed_quantity
from groups import services as groups
from groups.models import Group, Member, Role
from inventory import references, services
from inventory.forms import AdjustForm, IntakeForm, ProductForm, optional_id
from inventory.models import AdjustmentReason, Lot, Movement, MovementKind, Product, ProductKind, ProductStatus, Variant
from inventory.photos import photo_dir

bp = Blueprint("inventory", __name__)

_PHOTO_NAME = re.compile(r"^\d+-[0-9a-f]{16}(-thumb)?\.webp$")
NEW_PRODUCT_ROWS = 2
PER_PAGE = 50

KIND_LABELS = {
    ProductKind.produce: _l("Produce"),
    ProductKind.garment: _l("Garment"),
    ProductKind.processed: _l("Processed food"),
}
STATUS_LABELS = {
    ProductStatus.active: _l("active"),
    ProductStatus.hidden: _l("hidden"),
    ProductStatus.archived: _l("archived"),
}
MOVEMENT_LABELS = {
    MovementKind.intake: _l("Contribution"),
    MovementKind.reservation: _l("Held for an order"),
    MovementKind.release: _l("Hold released"),
    MovementKind.sale: _l("Sold"),
    MovementKind.adjustment: _l("Correction"),
    MovementKind.return_: _l("Return"),
}
REASON_LABELS = {
    AdjustmentReason.spoilage: _l("spoilage"),
    AdjustmentReason.damage: _l("damage"),
    AdjustmentReason.count: _l("count (stock opname)"),
    AdjustmentReason.return_: _l("return"),
}


# --- helpers for templates ------------------------------------------------------------


@bp.app_template_global()
def variant_label(variant: Variant) -> str:
    """A variant's label; the default one reads as "standard" in the user's language."""
    return _("standard") if variant.label == services.DEFAULT_LABEL else variant.label


@bp.app_template_global()
def variant_name(variant: Variant) -> str:
    """Cabai rawit – A (kg): product, variant and unit, as selects and lists show them."""
    return f"{variant.product.name} – {variant_label(variant)} ({variant.product.unit})"


@bp.app_template_global()
def sees_stock(group: Group) -> bool:
    """Whether to show stock links for `group` (the services check again on every page)."""
    try:
        groups.require_role(group, Role.coordinator, Role.treasurer, allow_admin=True)
    except AppError:
        return False
    return True


@bp.app_context_processor
def _labels():
    return {
        "kind_labels": KIND_LABELS,
        "status_labels": STATUS_LABELS,
        "movement_labels": MOVEMENT_LABELS,
        "reason_labels": REASON_LABELS,
    }


# --- helpers for views ----------------------------------------------------------------


def _page_arg() -> int:
    page = request.args.get("page", "1")
    return int(page) if page.isascii() and page.isdigit() and 0 < int(page) <= 100_000 else 1


def _coordinated_group(group_id: int) -> Group:
    """The group, when the caller coordinates it; otherwise 404 or 403."""
    group = groups.get_group_or_404(group_id)
    groups.require_role(group, Role.coordinator)
    return group


def _show_errors(form, error: AppError, fields: dict | None = None) -> None:
    """Put a service's field errors beside the right inputs, and its message on top when needed.

    Like accounts.views.apply_errors, but `fields` can name where a service's key
    goes (a variant row's input for "variants.1.unit_price"), and messages for
    keys no input shows are flashed rather than lost.
    """
    fields = fields or {}
    placed = False
    for key, messages in error.errors.items():
        messages = [str(m) for m in messages] if isinstance(messages, (list, tuple)) else [str(messages)]
        target = fields.get(key)
        if target is None and key in form:
            target = form[key]
        if target is None:
            for message in messages:
                flash(message, "error")
            continue
        target.errors = list(target.errors) + messages
        placed = True
    if not placed or error.code != 422:
        flash(str(error.message), "error")


def _member_names(member_ids) -> dict[int, str]:
    ids = set(member_ids)
    if not ids:
        return {}
    return dict(db.session.execute(select(Member.id, Member.name).where(Member.id.in_(ids))).all())


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
    group = _coordinated_group(group_id)
    query = services.products_query(group).options(selectinload(Product.variants).selectinload(Variant.stock))
    result = paginate(query, _page_arg(), PER_PAGE)
    return render_template("inventory/products.html", group=group, result=result)


def _unit_choices(form_field, group: Group, blank=None) -> None:
    units = services.group_units(group)
    choices = [SelectChoice("", blank)] if blank is not None else []
    form_field.choices = choices + [SelectChoice(code, unit.name) for code, unit in units.items()]


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
    group = _coordinated_group(group_id)
    form = ProductForm(data={"variants": [{}] * NEW_PRODUCT_ROWS} if request.method == "GET" else None)
    _unit_choices(form.unit, group)
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
            _show_errors(form, exc, targets)
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
    group = _coordinated_group(product.group_id)
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
            _show_errors(form, exc)
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
                _show_errors(form, exc, {name: row[name] for name in (*VARIANT_INPUTS, "active")})
                failed = True
        if not failed:
            try:
                _save_photo(form, actor, product)
            except AppError as exc:
                _show_errors(form, exc)
                failed = True
        if failed:
            db.session.rollback()
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("inventory.products", group_id=group.id))
    return render_template("inventory/product_edit.html", form=form, group=group, product=product)


# --- intake ---------------------------------------------------------------------------


def _variant_choices(group: Group) -> list:
    """Variants that can take stock: active ones of products not archived."""
    query = (
        services.products_query(group)
        .where(Product.status != ProductStatus.archived)
        .options(selectinload(Product.variants).selectinload(Variant.product))
    )
    return [
        SelectChoice(str(v.id), variant_name(v))
        for product in db.session.scalars(query)
        for v in product.variants
        if v.active
    ]


def _intake_choices(form: IntakeForm, group: Group) -> None:
    members = db.session.scalars(groups.members_query(group, include_inactive=False))
    form.member_id.choices = [SelectChoice("", _("Choose a member"))] + [
        SelectChoice(str(m.id), m.name) for m in members
    ]
    form.variant_id.choices = [SelectChoice("", _("Choose a product"))] + _variant_choices(group)
    _unit_choices(form.unit, group, blank=_("Product's unit"))


def _todays_lots(group: Group) -> list[Lot]:
    start = datetime.combine(datetime.now(WIB).date(), time(0), tzinfo=WIB)
    query = (
        services.lots_query(require_login(), group)
        .where(Lot.received_at >= start)
        .options(selectinload(Lot.variant).selectinload(Variant.product))
        .limit(100)
    )
    return list(db.session.scalars(query))


@bp.route("/groups/<int:group_id>/intake", methods=["GET", "POST"])
@login_required
def intake(group_id: int):
    """Record what members bring in, one after another, on a phone."""
    group = _coordinated_group(group_id)
    form = IntakeForm()
    if request.method == "GET":  # after a save: keep the member and product for the next entry
        form.member_id.data = optional_id(request.args.get("member_id"))
        form.variant_id.data = optional_id(request.args.get("variant_id"))
    _intake_choices(form, group)
    if form.validate_on_submit():
        try:
            lot = services.receive_contribution(
                require_login(),
                group,
                member_id=form.member_id.data,
                variant_id=form.variant_id.data,
                quantity=typed_quantity(form.quantity.data),
                unit=form.unit.data or None,
                grade=form.grade.data or None,
                best_before=form.best_before.data or None,
                note=form.note.data or None,
            )
        except AppError as exc:
            db.session.rollback()
            _show_errors(form, exc)
        else:
            product = lot.variant.product
            message = _(
                "Recorded: %(quantity)s %(unit)s %(product)s from %(member)s",
                quantity=format_qty(lot.quantity),
                unit=product.unit,
                product=product.name,
                member=_member_names([lot.member_id])[lot.member_id],
            )
            db.session.commit()
            flash(message, "success")
            return redirect(
                url_for("inventory.intake", group_id=group.id, member_id=lot.member_id, variant_id=lot.variant_id)
            )
    lots = _todays_lots(group)
    return render_template(
        "inventory/intake.html", group=group, form=form, lots=lots, names=_member_names(lot.member_id for lot in lots)
    )


# --- stock and adjustments ------------------------------------------------------------


def _adjust_choices(form: AdjustForm, group: Group, rows) -> None:
    form.variant_id.choices = [SelectChoice("", _("Choose a product"))] + [
        SelectChoice(str(v.id), variant_name(v)) for v, _s in rows
    ]
    lots = list(
        db.session.scalars(
            services.lots_query(require_login(), group)
            .where(Lot.remaining > 0)
            .options(selectinload(Lot.variant).selectinload(Variant.product))
            .limit(300)
        )
    )
    names = _member_names(lot.member_id for lot in lots)
    form.lot_id.choices = [SelectChoice("", _("First in, first out"))] + [
        SelectChoice(
            str(lot.id),
            _(
                "#%(lot)d · %(member)s · %(remaining)s left · %(date)s",
                lot=lot.id,
                member=names[lot.member_id],
                remaining=format_qty(lot.remaining),
                date=format_wib(lot.received_at, with_time=False),
            ),
            optgroup=variant_name(lot.variant),
        )
        for lot in sorted(lots, key=lambda lot: (variant_name(lot.variant), lot.id))
    ]


@bp.route("/groups/<int:group_id>/stock", methods=["GET", "POST"])
@login_required
def stock(group_id: int):
    group = groups.get_group_or_404(group_id)
    rows = services.stock_rows(require_login(), group)  # coordinators, treasurers and the district admin
    manages = groups.can_manage(group, current_user)
    form = AdjustForm()
    if request.method == "POST":
        groups.require_role(group, Role.coordinator)  # a refusal is a 403, not a message on the form
    if manages:
        _adjust_choices(form, group, rows)
    if request.method == "POST" and form.validate_on_submit():
        counted = typed_quantity(form.counted.data) if form.reason.data == AdjustmentReason.count else None
        try:
            moves = services.adjust(
                require_login(),
                group,
                variant_id=form.variant_id.data,
                reason=form.reason.data,
                quantity=typed_quantity(form.quantity.data),
                counted=counted,
                lot_id=form.lot_id.data,
                note=form.note.data or None,
            )
        except AppError as exc:
            db.session.rollback()
            _show_errors(form, exc, {"quantity": form.counted} if counted is not None else None)
        else:
            change = sum((m.on_hand_delta for m in moves), Decimal(0))
            variant = db.session.get(Variant, form.variant_id.data)
            message = (
                _(
                    "Stock of %(product)s changed by %(change)s.",
                    product=variant_name(variant),
                    change=format_signed_qty(change),
                )
                if moves
                else _("Nothing changed: the count matches the stock.")
            )
            db.session.commit()
            flash(message, "success")
            return redirect(url_for("inventory.stock", group_id=group.id))
    low = {variant.id for variant, _s in services.alerts(require_login(), group)["low_stock"]}
    return render_template("inventory/stock.html", group=group, rows=rows, low=low, form=form, manages=manages)


# --- the ledger -----------------------------------------------------------------------


@bp.route("/groups/<int:group_id>/movements")
@login_required
def movements(group_id: int):
    group = groups.get_group_or_404(group_id)
    variant_id = optional_id(request.args.get("variant_id", ""))
    viewer = require_login()
    query = services.movements_query(viewer, group, variant_id).options(selectinload(Movement.lot))
    result = paginate(query, _page_arg(), PER_PAGE)
    variants = {variant.id: variant for variant, _s in services.stock_rows(viewer, group)}
    names = _member_names(m.lot.member_id for m in result["items"] if m.lot is not None)
    return render_template(
        "inventory/movements.html",
        group=group,
        result=result,
        variants=variants,
        variant_id=variant_id,
        names=names,
        references=references.describe(m.reference for m in result["items"]),
    )


# --- a member's own contributions ------------------------------------------------------


@bp.route("/me/contributions")
@login_required
def my_contributions():
    lots = services.my_lots(current_user)
    history = services.lot_history([lot.id for lot in lots])
    group_ids = {lot.group_id for lot in lots}
    group_names = (
        dict(db.session.execute(select(Group.id, Group.name).where(Group.id.in_(group_ids))).all()) if group_ids else {}
    )
    return render_template("inventory/my_contributions.html", lots=lots, history=history, group_names=group_names)


# --- the coordinator's dashboard ------------------------------------------------------


@bp.route("/groups/<int:group_id>/dashboard")
@login_required
def dashboard(group_id: int):
    group = groups.get_group_or_404(group_id)
    found = services.alerts(require_login(), group)  # coordinators, treasurers and the district admin
    lots = found["expired"] + found["expiring"]
    return render_template(
        "inventory/dashboard.html",
        group=group,
        alerts=found,
        names=_member_names(lot.member_id for lot in lots),
        manages=groups.can_manage(group, current_user),
    )
