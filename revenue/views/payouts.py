"""Pages for the group's money to members: balances and payouts, savings, and the year's SHU."""

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from accounts.services import require_login
from core.errors import AppError
from core.extensions import db
from core.money import format_rupiah
from core.pages import apply_errors, page_arg
from core.pagination import paginate
from groups.models import Group, Member, Role
from groups.services import get_group_or_404, membership, require_role
from revenue.forms import AcceptForm, PayoutForm, PayoutReversalForm, SavingForm, ShuForm
from revenue.services import accrual as revenue
from revenue.services import payouts, savings, shu

bp = Blueprint("payouts", __name__)


def _method_label(method: str) -> str:
    return {"cash": _("Cash"), "transfer": _("Bank transfer"), "ewallet": _("E-wallet")}.get(method, method)


def _part_label(part: str) -> str:
    return {
        "reserve": _("Reserve (cadangan)"),
        "services": _("Services (jasa usaha)"),
        "capital": _("Capital (jasa modal)"),
        "management": _("Management (pengurus)"),
        "education": _("Education (pendidikan)"),
        "social": _("Social (sosial)"),
    }[part]


def _id_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and 0 < int(value) <= 2**31 - 1 else None


def _form_id(value) -> int | str | None:
    """A select's id as the services expect it: an int, or what was sent (which they refuse)."""
    text = (value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else (text or None)


def _is_officer(group: Group) -> bool:
    member = membership(group, current_user)
    return member is not None and member.role in (Role.coordinator, Role.treasurer)


def _members(group: Group) -> list[Member]:
    return list(db.session.scalars(select(Member).where(Member.group_id == group.id).order_by(Member.name, Member.id)))


def _new_key(form) -> None:
    """A fresh idempotency key for the form's next send."""
    form.idempotency_key.data = str(uuid.uuid4())


def _invalid(form) -> int | None:
    """None when a sent form is valid; else the status to answer with (400 for a stale CSRF token, 422)."""
    if form.validate_on_submit():
        return None
    if "csrf_token" in form.errors:
        flash(_("Please try again."), "error")
        return 400
    return 422


def _attempt(form, call, resent: str | None = None):
    """Run a service call for a sent form: (result, None) once committed, or (None, the refusal).

    A refusal is rolled back and shown beside the form's fields. `resent` is what
    to say when the form's idempotency key came back with other values: the form
    then gets a new key, so that sending it again records it.
    """
    try:
        result = call()
    except AppError as exc:
        db.session.rollback()
        if resent is not None and "Idempotency-Key" in exc.errors:
            flash(resent, "error")
            _new_key(form)
        else:
            apply_errors(form, exc)
        return None, exc
    db.session.commit()
    return result, None


def _button(form, call):
    """A button's action (correct a payout, accept an SHU): the result once committed, or None after a flash
    saying why not; the caller redirects back either way."""
    if not form.validate_on_submit():
        flash(_("Please try again."), "error")
        return None
    try:
        result = call()
    except AppError as exc:
        db.session.rollback()
        flash(
            str(exc.message) if exc.code != 422 else "; ".join(str(m) for ms in exc.errors.values() for m in ms),
            "error",
        )
        return None
    db.session.commit()
    return result


def _member_choices(rows: list[dict]) -> list[tuple[str, str]]:
    """A member select's choices: each member with the amount beside their name."""
    return [("", _("Choose a member"))] + [
        (str(r["member_id"]), f"{r['name']} · {format_rupiah(r['balance'])}") for r in rows
    ]


# --- balances and payouts -----------------------------------------------------------------------


@bp.route("/groups/<int:group_id>/payouts", methods=["GET", "POST"])
@login_required
def payouts_page(group_id: int):
    group = get_group_or_404(group_id)
    require_role(group, Role.coordinator, Role.treasurer, allow_admin=True)
    status = 200
    form = PayoutForm()
    if request.method == "POST":
        require_role(group, Role.coordinator, Role.treasurer)
        status = _invalid(form)
        if status is None:
            done, refused = _attempt(
                form,
                lambda: payouts.pay_out(
                    require_login(),
                    group,
                    member_id=_form_id(form.member_id.data),
                    amount=form.amount.data,
                    method=form.method.data,
                    reference=form.reference.data or None,
                    phone=form.phone.data or None,
                    idempotency_key=form.idempotency_key.data or None,
                ),
                _("This form was already sent with other values. Check the payouts below, then try again."),
            )
            if refused is not None:
                status = refused.code
            else:
                payout, created = done
                member = db.session.get(Member, payout.member_id)
                if created:
                    flash(
                        _(
                            "Paid out %(amount)s to %(name)s by %(method)s.",
                            amount=format_rupiah(payout.amount),
                            name=member.name,
                            method=_method_label(payout.method.value),
                        ),
                        "success",
                    )
                else:
                    flash(_("This payout was already recorded."), "success")
                return redirect(url_for("payouts.payouts_page", group_id=group.id))
    balances = revenue.balances(group)
    if request.method == "GET":
        chosen = _id_arg("member_id")
        row = next((r for r in balances["members"] if r["member_id"] == chosen), None)
        form.member_id.data = str(chosen) if row else ""
        form.amount.data = str(row["balance"]) if row and row["balance"] > 0 else ""
        _new_key(form)
    form.member_id.choices = _member_choices(balances["members"])
    filter_member = _id_arg("member")
    result = paginate(payouts.payouts_query(require_login(), group, filter_member), page_arg(), 50)
    result["items"] = payouts.payout_views(result["items"])
    return render_template(
        "groups/payouts.html",
        group=group,
        balances=balances,
        form=form,
        result=result,
        officer=_is_officer(group),
        filter_member=filter_member,
        reversal_form=PayoutReversalForm(),
        method_label=_method_label,
    ), status


@bp.route("/groups/<int:group_id>/payouts/<int:payout_id>/reversal", methods=["POST"])
@login_required
def reverse_payout(group_id: int, payout_id: int):
    group = get_group_or_404(group_id)
    require_role(group, Role.coordinator, Role.treasurer)
    form = PayoutReversalForm()
    correction = _button(form, lambda: payouts.reverse_payout(require_login(), group, payout_id, form.reason.data))
    if correction is not None:
        flash(
            _(
                "Payout #%(id)d was corrected; %(amount)s is back in the member's balance.",
                id=payout_id,
                amount=format_rupiah(-correction.amount),
            ),
            "success",
        )
    return redirect(url_for("payouts.payouts_page", group_id=group.id))


# --- savings --------------------------------------------------------------------------------------


@bp.route("/groups/<int:group_id>/savings", methods=["GET", "POST"])
@login_required
def savings_page(group_id: int):
    group = get_group_or_404(group_id)
    totals = savings.savings_totals(require_login(), group)  # checks the viewer may see them
    form = SavingForm()
    status = 200
    if request.method == "POST":
        require_role(group, Role.coordinator, Role.treasurer)
        status = _invalid(form)
        if status is None:
            done, refused = _attempt(
                form,
                lambda: savings.record_saving(
                    require_login(),
                    group,
                    member_id=_form_id(form.member_id.data),
                    amount=form.amount.data,
                    kind=form.kind.data,
                    note=form.note.data or None,
                    idempotency_key=form.idempotency_key.data or None,
                ),
                _(
                    "This form was already sent with other values. Check the latest deposits and withdrawals "
                    "below, then try again."
                ),
            )
            if refused is not None:
                status = refused.code
            else:
                saving, created = done
                member = db.session.get(Member, saving.member_id)
                amount = format_rupiah(abs(saving.amount))
                if not created:
                    flash(_("This deposit or withdrawal was already recorded."), "success")
                elif saving.amount > 0:
                    flash(_("Deposit of %(amount)s recorded for %(name)s.", amount=amount, name=member.name), "success")
                else:
                    flash(
                        _("Withdrawal of %(amount)s recorded for %(name)s.", amount=amount, name=member.name), "success"
                    )
                return redirect(url_for("payouts.savings_page", group_id=group.id))
    else:
        if _id_arg("member_id"):
            form.member_id.data = str(_id_arg("member_id"))
        _new_key(form)
    form.member_id.choices = _member_choices([r for r in totals["members"] if r["active"] or r["balance"]])
    recent = savings.recent_savings(group)
    names = {m.id: m.name for m in _members(group)}
    return render_template(
        "groups/savings.html",
        group=group,
        totals=totals,
        form=form,
        recent=recent,
        names=names,
        officer=_is_officer(group),
    ), status


# --- SHU ------------------------------------------------------------------------------------------


@bp.route("/groups/<int:group_id>/shu", methods=["GET", "POST"])
@login_required
def shu_page(group_id: int):
    group = get_group_or_404(group_id)
    plans = shu.plans(require_login(), group)  # checks the viewer may see them
    form = ShuForm()
    status = 200
    if request.method == "POST":
        require_role(group, Role.coordinator, Role.treasurer)
        status = _invalid(form)
        if status is None:
            percents = {part: getattr(form, part).data for part in shu.PARTS}
            done, refused = _attempt(
                form,
                lambda: shu.draft(
                    require_login(), group, year=form.year.data, surplus=form.surplus.data or None, **percents
                ),
            )
            if refused is not None:
                if "percentages" in refused.errors:
                    flash(" ".join(str(m) for m in refused.errors["percentages"]), "error")
                status = refused.code
            else:
                plan, created = done
                flash(
                    _("Draft saved for %(year)d. Check it, then accept it.", year=plan.year)
                    if created
                    else _("The draft for %(year)d was replaced.", year=plan.year),
                    "success",
                )
                return redirect(url_for("payouts.shu_report", group_id=group.id, year=plan.year))
    else:
        year = _id_arg("year")
        source = next((p for p in plans if p.year == year), None) or (plans[0] if plans else None)
        form.year.data = str(year or shu.years.current_year() - 1)
        if source is not None:
            for part in shu.PARTS:
                getattr(form, part).data = revenue.percent_text(getattr(source, f"{part}_bp"))
            if source.year == year and source.accepted_at is None:
                form.surplus.data = str(source.surplus)
    return render_template(
        "groups/shu_form.html", group=group, plans=plans, form=form, officer=_is_officer(group)
    ), status


@bp.route("/groups/<int:group_id>/shu/<int:year>")
@login_required
def shu_report(group_id: int, year: int):
    group = get_group_or_404(group_id)
    found = shu.report(shu.viewable_plan(require_login(), group, year))
    member = membership(group, current_user)
    coordinates = member is not None and member.role == Role.coordinator
    return render_template(
        "groups/shu_report.html",
        group=group,
        report=found,
        parts=shu.PARTS,
        part_label=_part_label,
        officer=_is_officer(group),
        coordinates=coordinates,
        accept_form=AcceptForm(),
        ended=year < shu.years.current_year(),
    )


@bp.route("/groups/<int:group_id>/shu/<int:year>/accept", methods=["POST"])
@login_required
def accept_shu(group_id: int, year: int):
    group = get_group_or_404(group_id)
    require_role(group, Role.coordinator)
    plan = _button(AcceptForm(), lambda: shu.accept(require_login(), group, year))
    if plan is not None:
        flash(
            _("The SHU for %(year)d is accepted and booked: members' parts are in their balances.", year=plan.year),
            "success",
        )
    return redirect(url_for("payouts.shu_report", group_id=group.id, year=year))
