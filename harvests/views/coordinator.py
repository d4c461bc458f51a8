"""The coordinator's harvest pages: the group's harvests, announcing one, a harvest with its pre-orders in the
order placed, closing and cancelling it (each on a confirmation page, no script needed), and recording it in:
what each member brought, then what each buyer gets and the WhatsApp message to send them.

The treasurer reads these pages too; only the coordinator acts (the services check again)."""

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from accounts.services import require_login
from core.errors import AppError
from core.extensions import db
from core.formatting import format_qty
from core.money import format_rupiah
from core.pages import page_arg
from core.pagination import paginate
from core.quantity import typed_quantity
from groups import services as groups
from groups.models import Group, Role
from harvests import services
from harvests.forms import AnnounceForm, NoteForm, RecordForm
from harvests.models import Harvest
from harvests.services import records
from harvests.views.common import PER_PAGE, bp, new_key, show_errors, user_names
from inventory import services as stock
from inventory.models import Product, ProductStatus, Variant
from marketplace.models import Order
from marketplace.services import today_wib
from payments.services import common

STATUS_FILTERS = ("announced", "closed", "harvested", "done", "cancelled")


def _books_group(group_id: int) -> tuple[Group, bool]:
    """The group when the caller coordinates it or keeps its books (otherwise 404 or 403), and whether they
    coordinate it."""
    group = groups.get_group_or_404(group_id)
    member = groups.require_role(group, Role.coordinator, Role.treasurer)
    return group, member.role == Role.coordinator


def _harvest_for_books(harvest_id: int) -> tuple[Harvest, Group, bool]:
    harvest = services.get_harvest_or_404(harvest_id)
    group, coordinates = _books_group(harvest.group_id)
    return harvest, group, coordinates


def _id_of(typed):
    """A chosen id as a number (the services refuse anything else with their own message)."""
    typed = (typed or "").strip()
    return int(typed) if typed.isascii() and typed.isdigit() and len(typed) < 10 else typed or None


# --- the group's harvests ---------------------------------------------------------------


@bp.route("/groups/<int:group_id>/harvests")
@login_required
def group_harvests(group_id: int):
    group, coordinates = _books_group(group_id)
    status = request.args.get("status")
    status = status if status in STATUS_FILTERS else None
    result = paginate(services.group_harvests_query(require_login(), group, status), page_arg(), PER_PAGE)
    result["items"] = [services.harvest_view(h, current_user) for h in result["items"]]
    return render_template(
        "harvests/group_harvests.html",
        group=group,
        result=result,
        coordinates=coordinates,
        status=status,
        harvest_status_labels={value: services.status_label(value) for value in STATUS_FILTERS},
    )


def _variant_choices(group: Group) -> list[SelectChoice]:
    """The group's active variants of products not archived, each with its price (the pre-order's default)."""
    query = (
        stock.products_query(group)
        .where(Product.status != ProductStatus.archived)
        .options(selectinload(Product.variants).selectinload(Variant.product))
    )
    choices = []
    for product in db.session.scalars(query):
        for v in product.variants:
            if v.active:
                label = product.name if v.label == stock.DEFAULT_LABEL else f"{product.name} – {v.label}"
                choices.append(SelectChoice(str(v.id), f"{label} · {format_rupiah(v.unit_price)}/{product.unit}"))
    return choices


@bp.route("/groups/<int:group_id>/harvests/new", methods=["GET", "POST"])
@login_required
def announce(group_id: int):
    group = groups.get_group_or_404(group_id)
    groups.require_role(group, Role.coordinator)
    form = AnnounceForm()
    form.variant_id.choices = [SelectChoice("", _("Choose a product"))] + _variant_choices(group)
    status = 200
    if request.method == "GET":
        today = today_wib()
        form.week.data = (today + timedelta(days=7 - today.weekday())).isoformat()  # next Monday
        form.shortfall_rule.data = "pro_rata"
    elif form.validate_on_submit():
        try:
            harvest = services.announce(
                require_login(),
                group,
                variant_id=_id_of(form.variant_id.data),
                expected_low=typed_quantity(form.expected_low.data),
                expected_high=typed_quantity(form.expected_high.data),
                week=form.week.data or None,
                shortfall_rule=form.shortfall_rule.data or None,
                unit_price=(form.unit_price.data or "").strip() or None,
                cap_percent=typed_quantity(form.cap_percent.data),
                deposit_percent=typed_quantity(form.deposit_percent.data),
                note=form.note.data or None,
            )
        except AppError as exc:
            db.session.rollback()
            show_errors(form, exc)
            status = exc.code
        else:
            db.session.commit()
            flash(_("Harvest announced: buyers may pre-order now."), "success")
            return redirect(url_for("harvests.harvest", harvest_id=harvest.id))
    else:
        status = 400
    return render_template("harvests/announce.html", group=group, form=form), status


# --- a harvest ------------------------------------------------------------------------------


def _harvest_page(
    harvest: Harvest,
    group: Group,
    coordinates: bool,
    form=None,
    row_errors=None,
    status=200,
    lots_form=None,
    lot_errors=None,
):
    view = services.harvest_view(harvest, current_user)
    members = (
        list(db.session.scalars(groups.members_query(group, include_inactive=False)))
        if coordinates and harvest.status in records.OPEN
        else []
    )
    if form is None:
        form = RecordForm()
        form.idempotency_key.data = new_key()
    if lots_form is None:
        lots_form = RecordForm()
        lots_form.idempotency_key.data = new_key()
    taken = services.eligible_lots(harvest) if members else []
    pre_orders = view.get("pre_orders", [])
    cancellable = (
        {
            p.id
            for p in records.pre_orders_of(harvest)
            if services.can_cancel(p, harvest, db.session.get(Order, p.order_id))
        }
        if coordinates
        else set()
    )
    return render_template(
        "harvests/harvest.html",
        h=view,
        harvest=harvest,
        group=group,
        coordinates=coordinates,
        pre_orders=pre_orders,
        names=user_names(p["buyer_id"] for p in pre_orders),
        members=members,
        form=form,
        taken=taken,
        cancellable=cancellable,
        lots_form=lots_form,
        typed=request.form if request.method == "POST" else {},
        row_errors=row_errors or {},
        lot_errors=lot_errors or {},
    ), status


@bp.route("/harvests/<int:harvest_id>")
@login_required
def harvest(harvest_id: int):
    return _harvest_page(*_harvest_for_books(harvest_id))


def _lots_typed(members) -> tuple[list[dict], list[int]]:
    """The quantities typed per member (rows left empty are skipped), and the member of each line sent."""
    lots, order = [], []
    for member in members:
        typed = typed_quantity(request.form.get(f"lot-{member.id}"))
        if typed is not None and typed not in ("0",):
            lots.append({"member_id": member.id, "quantity": typed})
            order.append(member.id)
    return lots, order


@bp.route("/harvests/<int:harvest_id>/record", methods=["POST"])
@login_required
def record(harvest_id: int):
    harvest, group, coordinates = _harvest_for_books(harvest_id)
    if not coordinates:
        abort(403)
    form = RecordForm()
    if not form.validate_on_submit():
        flash(_("Please try again."), "error")
        return _harvest_page(harvest, group, coordinates, status=400)
    members = list(db.session.scalars(groups.members_query(group, include_inactive=False)))
    lots, senders = _lots_typed(members)
    if not lots and harvest.record_key is None:  # an empty form would record a failed harvest: cancel it instead
        flash(_("Enter what at least one member brought in. If there is no harvest, cancel it."), "error")
        return _harvest_page(harvest, group, coordinates, form, status=422)
    return _record(
        harvest,
        form,
        ("lots", "member_id", lots, senders),
        lambda again, errors, status: _harvest_page(again, group, coordinates, form, errors, status),
    )


def _record(harvest: Harvest, form, sent: tuple, page_again):
    """Record the harvest from what a page sent, `sent` = (the body's field, each line's key field, the lines,
    the row each line came from), then go to its messages; on a refusal, the page again (`page_again(harvest,
    errors by row, status)`) with each line's message on its row."""
    field, key_field, lines, rows = sent
    try:
        retry = common.retry_of(form.idempotency_key.data or None, {field: lines})
        harvest, _created = services.record_harvest(require_login(), harvest, retry=retry, **{field: lines})
    except AppError as exc:
        db.session.rollback()
        row_errors: dict[int, list[str]] = {}
        fields = {}
        for i, row_id in enumerate(rows):
            row = row_errors.setdefault(row_id, [])
            fields[f"{field}.{i}.quantity"] = row
            fields[f"{field}.{i}.{key_field}"] = row
        show_errors(form, exc, fields)
        if "Idempotency-Key" in exc.errors:
            form.idempotency_key.data = new_key()
        return page_again(services.get_harvest_or_404(harvest.id), row_errors, exc.code)
    db.session.commit()
    _recorded(harvest)
    return redirect(url_for("harvests.harvest", harvest_id=harvest.id, _anchor="messages"))


def _chosen_lots() -> tuple[list[dict], list[int]]:
    """The lots ticked on the page (`use-<lot id>`, in the page's order), each with the quantity typed
    (`take-<lot id>`; empty: all its free units), and the lot of each line sent. The service judges each lot."""
    chosen, order = [], []
    for name in request.form:
        typed = name.removeprefix("use-")
        if name.startswith("use-") and typed.isascii() and typed.isdigit() and len(typed) < 10:
            lot_id = int(typed)
            chosen.append({"lot_id": lot_id, "quantity": typed_quantity(request.form.get(f"take-{lot_id}"))})
            order.append(lot_id)
    return chosen, order


@bp.route("/harvests/<int:harvest_id>/record-lots", methods=["POST"])
@login_required
def record_from_lots(harvest_id: int):
    """The harvest recorded from the lots taken in already through the stock intake, ticked on the page."""
    harvest, group, coordinates = _harvest_for_books(harvest_id)
    if not coordinates:
        abort(403)
    form = RecordForm()
    if not form.validate_on_submit():
        flash(_("Please try again."), "error")
        return _harvest_page(harvest, group, coordinates, status=400)
    chosen, sent = _chosen_lots()
    if not chosen and harvest.record_key is None:
        flash(_("Tick at least one lot taken in for this harvest."), "error")
        return _harvest_page(harvest, group, coordinates, lots_form=form, status=422)
    return _record(
        harvest,
        form,
        ("from_lots", "lot_id", chosen, sent),
        lambda again, errors, status: _harvest_page(
            again, group, coordinates, status=status, lots_form=form, lot_errors=errors
        ),
    )


def _recorded(harvest: Harvest) -> None:
    flash(
        _(
            "Harvest recorded: %(quantity)s %(unit)s. Send each buyer their message below.",
            quantity=format_qty(harvest.harvested),
            unit=db.session.get(Variant, harvest.variant_id).product.unit,
        ),
        "success",
    )


# --- closing and cancelling, each confirmed on its own page --------------------------------

STEPS = {"close": services.close, "cancel": services.cancel_harvest}


@bp.route("/harvests/<int:harvest_id>/<any(close, cancel):step>", methods=["GET", "POST"])
@login_required
def confirm_step(harvest_id: int, step: str):
    harvest, group, coordinates = _harvest_for_books(harvest_id)
    if not coordinates:
        abort(403)
    form = NoteForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                STEPS[step](require_login(), harvest, form.note.data or None)
            except AppError as exc:
                db.session.rollback()
                show_errors(form, exc)
                status = exc.code
                harvest = services.get_harvest_or_404(harvest_id)
            else:
                db.session.commit()
                flash(
                    _("The harvest is closed for pre-orders.")
                    if step == "close"
                    else _("The harvest is cancelled; its pre-orders are cancelled and their money given back."),
                    "success",
                )
                return redirect(url_for("harvests.harvest", harvest_id=harvest.id))
        else:
            status = 400
    view = services.harvest_view(harvest, current_user)
    return render_template("harvests/confirm.html", h=view, harvest=harvest, group=group, form=form, step=step), status
