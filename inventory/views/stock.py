"""Inventory pages for stock: intake of members' contributions, the stock and its corrections, the stock
ledger, a member's own contributions and the coordinator's dashboard of alerts.

Each view parses the form, calls a service in inventory.services (which checks
the rules and the caller's role), commits once, and redirects. Coordinator pages
also check the role up front, so a refusal is a 403 and never a form message.
"""

from datetime import datetime, time
from decimal import Decimal

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from accounts.services import require_login
from core.errors import AppError
from core.extensions import db
from core.formatting import WIB, format_qty, format_signed_qty, format_wib
from core.pages import page_arg
from core.pagination import paginate
from core.quantity import typed_quantity
from groups import services as groups
from groups.models import Group, Role
from inventory import references, services
from inventory.forms import AdjustForm, IntakeForm, optional_id
from inventory.models import AdjustmentReason, Lot, Movement, Product, ProductStatus, Variant
from inventory.views.common import (
    PER_PAGE,
    bp,
    coordinated_group,
    member_names,
    show_errors,
    unit_choices,
    variant_name,
)

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
    unit_choices(form.unit, group, blank=_("Product's unit"))


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
    group = coordinated_group(group_id)
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
            show_errors(form, exc)
        else:
            product = lot.variant.product
            message = _(
                "Recorded: %(quantity)s %(unit)s %(product)s from %(member)s",
                quantity=format_qty(lot.quantity),
                unit=product.unit,
                product=product.name,
                member=member_names([lot.member_id])[lot.member_id],
            )
            db.session.commit()
            flash(message, "success")
            return redirect(
                url_for("inventory.intake", group_id=group.id, member_id=lot.member_id, variant_id=lot.variant_id)
            )
    lots = _todays_lots(group)
    return render_template(
        "inventory/intake.html", group=group, form=form, lots=lots, names=member_names(lot.member_id for lot in lots)
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
    names = member_names(lot.member_id for lot in lots)
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
            show_errors(form, exc, {"quantity": form.counted} if counted is not None else None)
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
    result = paginate(query, page_arg(), PER_PAGE)
    variants = {variant.id: variant for variant, _s in services.stock_rows(viewer, group)}
    names = member_names(m.lot.member_id for m in result["items"] if m.lot is not None)
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
        names=member_names(lot.member_id for lot in lots),
        manages=groups.can_manage(group, current_user),
    )
