"""Revenue pages: a member's own earnings, a group's revenue dashboard and split policy, the district overview.

The figures come from dashboards.reports, which checks who may see
them; the split policy is changed by revenue.services.accrual.set_policy, as through the
JSON API. Charts are drawn on the server as inline SVG, their figures also in a
table, so the pages need no JavaScript.
"""

from datetime import date

from babel.dates import format_date
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from accounts.services import require_login
from core.errors import AppError
from core.extensions import db
from core.pages import apply_errors
from dashboards import home, reports
from groups import services as groups
from groups.models import Group, Role
from inventory.services import DEFAULT_LABEL
from revenue.forms import SplitPolicyForm
from revenue.services import accrual as revenue

bp = Blueprint("revenue", __name__)

METHOD_LABELS = {"contribution": _l("By contribution"), "equal": _l("Equally"), "work": _l("By work")}
EARNING_LABELS = {
    "sale": _l("Sold"),
    "refund": _l("Taken back: refund to the buyer"),
    "pool_share": _l("Share of the group pool"),
}
PAYOUT_LABELS = {"cash": _l("Cash"), "transfer": _l("Bank transfer"), "ewallet": _l("E-wallet")}

CHART_WIDTH = 360
CHART_TOP = 22  # room for the peak's label
CHART_HEIGHT = 120


# --- helpers for templates ------------------------------------------------------------


def _locale() -> str:
    return str(get_locale() or "id")


@bp.app_template_filter("month_name")
def month_name(month: date) -> str:
    """November 2026 (Indonesian: November 2026, Desember 2026)."""
    return format_date(month, "LLLL y", locale=_locale())


@bp.app_template_filter("month_short")
def month_short(month: date) -> str:
    """Nov: a month on a chart's axis."""
    return format_date(month, "LLL", locale=_locale())


@bp.app_template_filter("fund_percent")
def fund_percent(text: str) -> str:
    """ "10.5" as 10,5% (Indonesian) or 10.5% (English)."""
    return (text.replace(".", ",") if _locale().startswith("id") else text) + "%"


def bar_chart(months: list, series: list[tuple[str, str]]) -> dict:
    """Where to draw a small bar chart: a slot per month, a bar per series (attribute, legend) in each.

    Heights are whole units of the SVG's viewBox, scaled to the tallest bar;
    a negative month (more reversed than paid) draws no bar.
    """
    peak = max([max(getattr(m, attr), 0) for m in months for attr, _legend in series] + [0])
    slot = CHART_WIDTH // max(len(months), 1)
    width = (slot - 8) // max(len(series), 1)
    bars = []
    for i, month in enumerate(months):
        for j, (attr, legend) in enumerate(series):
            value = getattr(month, attr)
            height = max(value, 0) * CHART_HEIGHT // peak if peak else 0
            bars.append(
                {
                    "x": i * slot + 4 + j * width,
                    "y": CHART_TOP + CHART_HEIGHT - height,
                    "width": width,
                    "height": height,
                    "value": value,
                    "month": month.month,
                    "series": j,
                    "legend": legend,
                }
            )
    return {
        "width": CHART_WIDTH,
        "height": CHART_TOP + CHART_HEIGHT + 18,
        "base": CHART_TOP + CHART_HEIGHT,
        "top": CHART_TOP,
        "peak": peak,
        "bars": bars,
        "series": [legend for _attr, legend in series],
        "ticks": [{"x": i * slot + slot // 2, "month": m.month} for i, m in enumerate(months)],
    }


# --- a member's own earnings ----------------------------------------------------------


@bp.route("/me/earnings")
@login_required
def my_earnings():
    return render_template(
        "revenue/my_earnings.html",
        memberships=reports.my_earnings(require_login()),
        earning_labels=EARNING_LABELS,
        payout_labels=PAYOUT_LABELS,
        default_label=DEFAULT_LABEL,
    )


# --- a group's revenue dashboard ------------------------------------------------------


@bp.route("/groups/<int:group_id>/revenue")
@login_required
def dashboard(group_id: int):
    return _dashboard(groups.get_group_or_404(group_id))


def _dashboard(group: Group, form: SplitPolicyForm | None = None, status: int = 200):
    figures = reports.group_revenue(require_login(), group)  # coordinator, treasurer or the district admin
    manages = groups.can_manage(group, current_user)
    if manages and form is None:
        policy = figures["policy"]
        form = SplitPolicyForm(
            formdata=None,
            method=policy["method"],
            group_fund_percent=fund_percent(policy["group_fund_percent"]).rstrip("%"),
        )
    chart = bar_chart(figures["months"], [("sales", _("Sales"))])
    return render_template(
        "revenue/dashboard.html",
        group=group,
        figures=figures,
        chart=chart,
        form=form if manages else None,
        keeps_books=groups.membership(group, current_user) is not None,  # the admin sees no statements
        method_labels=METHOD_LABELS,
    ), status


@bp.route("/groups/<int:group_id>/revenue/policy", methods=["POST"])
@login_required
def set_policy(group_id: int):
    group = groups.get_group_or_404(group_id)
    groups.require_role(group, Role.coordinator)
    form = SplitPolicyForm()
    if not form.validate_on_submit():
        flash(_("Please try again."), "error")
        return _dashboard(group, form, 400)
    try:
        policy = revenue.set_policy(require_login(), group, form.method.data, form.group_fund_percent.data)
    except AppError as exc:
        db.session.rollback()
        apply_errors(form, exc)
        return _dashboard(group, form, exc.code)
    db.session.commit()
    flash(
        _(
            "Split policy version %(version)d is in force from now. Orders completed earlier keep the policy "
            "they were completed under.",
            version=policy.version,
        ),
        "success",
    )
    return redirect(url_for("revenue.dashboard", group_id=group.id, _anchor="policy"))


# --- the district overview ------------------------------------------------------------


@bp.route("/admin/overview")
@login_required
def overview():
    figures = reports.district_overview(require_login())  # the district admin only
    chart = bar_chart(figures["months"], [("sales", _("Sales")), ("paid_out", _("Paid out to members"))])
    return render_template("revenue/overview.html", figures=figures, chart=chart)


# --- the home page's sections (groups.home) -----------------------------------------------


def home_section(user) -> str:
    """What waits for `user` on their home page: the district admin's overview and queue, each of the groups
    they coordinate or keep the books of with its work, each a link to where it is done ("" for no one else)."""
    html = ""
    if user.is_admin:
        html += render_template("dashboards/admin_home.html", home=home.admin_home(user))
    work = home.group_work(user)
    if work:
        html += render_template("dashboards/group_work.html", work=work, role_label=groups.role_label)
    return html
