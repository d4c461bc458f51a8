"""The buyer's orders, an order's page and the steps that move it, and the coordinator's queue and packing list.

The money on these pages (payments, refunds, how to pay, the forms that take or give back money, the
handover button) is payments' to render (marketplace.order_payments); payments' own pages show an order
again with a money form's errors through `order_page`.
"""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from accounts.services import require_login
from core.errors import Conflict, ValidationFailed
from core.extensions import db
from core.pages import apply_errors, page_arg, safe_next
from core.pagination import paginate
from groups import services as groups
from groups.models import Group
from inventory.references import ReferenceLink
from marketplace import services
from marketplace.forms import CANCEL_REASONS, CancelForm, OrderActionForm
from marketplace.models import OPEN_STATUSES, Order, OrderLine, OrderStatus
from marketplace.order_payments import order_payments
from marketplace.views.common import (
    NEXT_STEPS,
    PER_PAGE,
    bp,
    day_arg,
    groups_by_id,
    users_by_id,
    whatsapp_link,
)

QUEUE_PER_PAGE = 50
ACTIONS = {"confirm": services.confirm, "ready": services.mark_ready, "complete": services.complete}
BUYER_CANCELS = (OrderStatus.placed, OrderStatus.confirmed)


# --- the buyer's orders, and an order's page -------------------------------------------


@bp.route("/orders")
@login_required
def my_orders():
    result = paginate(
        services.buyer_orders_query(current_user).options(selectinload(Order.lines)), page_arg(), PER_PAGE
    )
    return render_template(
        "marketplace/my_orders.html", result=result, groups=groups_by_id(o.group_id for o in result["items"])
    )


@bp.route("/orders/<int:order_id>")
@login_required
def order(order_id: int):
    return order_page(services.get_order_or_404(require_login(), order_id))


def order_line_references(line_ids: list[int]) -> dict[int, ReferenceLink]:
    """The stock ledger's "order_line:15" as "Order #9", linked to the order (inventory.references)."""
    rows = db.session.execute(select(OrderLine.id, OrderLine.order_id).where(OrderLine.id.in_(line_ids)))
    return {
        line_id: ReferenceLink(_("Order #%(id)d", id=order_id), url_for("marketplace.order", order_id=order_id))
        for line_id, order_id in rows
    }


def order_page(found: Order, status: int = 200, **bound):
    """An order as the viewer may see it, with the buttons their role allows and, from payments, its money.

    `bound` holds a money form sent back with its errors (payments.views), handed on to payments as it came.
    """
    group = db.session.get(Group, found.group_id)
    manages = services.manages(found, current_user)
    insider = found.group_id in services.groups_seeing_allocations(current_user, [found.group_id])
    steps = NEXT_STEPS.get(found.status, ()) if manages else ()
    if found.status == OrderStatus.ready and not services.can_complete(found):
        steps = tuple(step for step in steps if step != "complete")  # paid first: the handover button does both
    buyer_cancels = found.buyer_id == current_user.id and found.status in BUYER_CANCELS and "cancel" not in steps
    people = users_by_id([found.buyer_id] + [e.actor_id for e in found.events])
    own = found.buyer_id == current_user.id
    money = order_payments().order_page(found, current_user, insider=insider, manages=manages, bound=bound)
    return render_template(
        "marketplace/order.html",
        order=found,
        group=group,
        manages=manages,
        steps=steps,
        buyer_cancels=buyer_cancels,
        people=people,
        form=OrderActionForm(),
        sees_buyer=not own,
        whatsapp=whatsapp_link(found, group) if own else None,
        money=money,
    ), status


@bp.route("/orders/<int:order_id>/<action>", methods=["POST"])
@login_required
def order_action(order_id: int, action: str):
    if action not in ACTIONS:  # cancelling is cancel_order's, with its confirmation
        abort(404)
    found = services.get_order_or_404(require_login(), order_id)  # unknown, or not theirs to see: 404
    form = OrderActionForm()
    back = safe_next(url_for("marketplace.order", order_id=found.id))
    if not form.validate_on_submit():
        abort(400)
    try:
        ACTIONS[action](require_login(), found)  # a buyer or a treasurer is refused here (403)
    except (Conflict, ValidationFailed) as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return redirect(back)
    db.session.commit()
    flash(
        _(
            "Order #%(id)d is now %(status)s.",
            id=found.id,
            status=services.status_label(found.status, found.fulfilment_method),
        ),
        "success",
    )
    return redirect(back)


def _cancel_reason(form: CancelForm, as_buyer: bool) -> str | None:
    """What the buyer wrote, else the reason they picked; the coordinator's is what they wrote. None: no reason."""
    written = (form.reason.data or "").strip()
    if written:
        return written
    if as_buyer:
        picked = {choice.value: choice.label for choice in CANCEL_REASONS if choice.value != "other"}
        if form.reason_choice.data in picked:
            return str(picked[form.reason_choice.data])
    return None


@bp.route("/orders/<int:order_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel_order(order_id: int):
    """Cancelling, in two steps that need no script: this page asks for a reason and a confirming tap; the post
    from it cancels. The buyer may cancel their order until it is packed, the group's coordinator too."""
    found = services.get_order_or_404(require_login(), order_id)  # unknown, or not theirs to see: 404
    as_buyer = found.buyer_id == current_user.id
    if not as_buyer and not services.manages(found, current_user):
        abort(403)  # the treasurer sees the order but does not cancel it
    back = url_for("marketplace.order", order_id=found.id)
    if found.status not in BUYER_CANCELS:
        flash(_("This order can no longer be cancelled."), "error")
        return redirect(back)
    form = CancelForm()
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            status = 422
            reason = _cancel_reason(form, as_buyer)
            if reason is None:
                message = _("Choose a reason or write one.") if as_buyer else _("Write the reason: the buyer reads it.")
                form.reason.errors = [message]
            else:
                try:
                    services.cancel(require_login(), found, reason)
                except Conflict as exc:
                    db.session.rollback()
                    flash(str(exc.message), "error")
                    return redirect(back)
                except ValidationFailed as exc:  # a reason the rules refuse (too long): beside the field
                    db.session.rollback()
                    apply_errors(form, exc)
                else:
                    db.session.commit()
                    flash(_("Order #%(id)d is cancelled.", id=found.id), "success")
                    return redirect(back)
    return render_template(
        "marketplace/cancel.html",
        order=found,
        group=db.session.get(Group, found.group_id),
        form=form,
        as_buyer=as_buyer,
    ), status


# --- the coordinator's queue and packing list ------------------------------------------

# "to_pack": confirmed for today or a day past; "owed": transfers and packed cash orders not paid in full.
QUEUE_FILTERS = ("open", "to_pack", "owed", "all", *(s.value for s in OrderStatus))
GATHERED = ("open", "to_pack", "owed", "all")  # filters that are not one status


@bp.route("/groups/<int:group_id>/orders")
@login_required
def queue(group_id: int):
    group = groups.get_group_or_404(group_id)
    status = request.args.get("status") if request.args.get("status") in QUEUE_FILTERS else "open"
    day, bad_day = day_arg()
    query = services.group_orders_query(require_login(), group, None if status in GATHERED else status, day)
    if status == "open":
        query = query.where(Order.status.in_(OPEN_STATUSES))
    elif status == "to_pack":
        query = query.where(services.due_to_pack(services.today_wib()))
    elif status == "owed":
        query = query.where(services.awaiting_payment())
    result = paginate(query.options(selectinload(Order.lines)), page_arg(), QUEUE_PER_PAGE)
    manages = groups.can_manage(group, current_user)
    return render_template(
        "marketplace/queue.html",
        group=group,
        result=result,
        status=status,
        day=day,
        bad_day=bad_day,
        counts=services.order_counts(group),
        people=users_by_id(o.buyer_id for o in result["items"]),
        manages=manages,
        steps=NEXT_STEPS,
        form=OrderActionForm(),
        here=request.full_path,
        today=services.today_wib(),
        can_complete=services.can_complete,
        handovers=order_payments().handover_forms(result["items"], request.full_path) if manages else {},
    )


@bp.route("/groups/<int:group_id>/packing")
@login_required
def packing(group_id: int):
    group = groups.get_group_or_404(group_id)
    day, bad_day = day_arg()
    if bad_day:
        flash(_("Use a date such as 2026-11-28."), "error")
    packed = services.packing_list(require_login(), group, day or services.today_wib())
    waiting = db.session.scalar(
        select(func.count()).select_from(
            services.group_orders_query(require_login(), group, OrderStatus.placed.value, packed["day"]).subquery()
        )
    )
    return render_template("marketplace/packing.html", group=group, packing=packed, waiting=waiting)
