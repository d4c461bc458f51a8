"""Payouts, savings and SHU API: paying members their balance, their savings, the year's surplus shared."""

from flask_smorest.error_handler import ErrorSchema

from accounts.services import require_login
from core.blueprint import Blueprint, require_json_body
from core.extensions import db
from core.pagination import page_of, paginate
from groups.services import get_group_or_404
from revenue.schemas.payouts import (
    IdempotencyHeaders,
    PayoutIn,
    PayoutListQuery,
    PayoutOut,
    PayoutRecordedOut,
    PayoutReversalIn,
    SavingIn,
    SavingOut,
    SavingsOut,
    ShuIn,
    ShuPlanOut,
    ShuReportOut,
)
from revenue.services import payouts, savings, shu

blp = Blueprint("payouts_api", __name__, url_prefix="/api/v1", description="Payouts, savings and SHU")

_REPLAYED = {
    "Idempotent-Replayed": {
        "description": "`true` when a retry got the first result back",
        "schema": {"type": "string"},
    }
}


def _recorded(view: dict, created: bool) -> tuple:
    """A 201 with what was recorded; a replayed retry says so in `Idempotent-Replayed`."""
    return view, 201, ({} if created else {"Idempotent-Replayed": "true"})


# --- payouts --------------------------------------------------------------------------------------


@blp.route("/groups/<int:group_id>/payouts", methods=["POST"])
@blp.arguments(IdempotencyHeaders, location="headers")
@blp.arguments(PayoutIn)
@blp.response(201, PayoutRecordedOut, headers=_REPLAYED)
@blp.alt_response(409, schema=ErrorSchema, description="More than the member's balance (`errors.amount`)")
def create_payout(headers, data, group_id):
    """Record money paid to a member from their balance (coordinator, treasurer).

    Never above the member's balance (409). Officers do not record their own
    payouts: another officer must (403). A retry with the same `Idempotency-Key`
    and body returns the first payout (header `Idempotent-Replayed: true`); the
    same key with another body is 422.
    """
    group = get_group_or_404(group_id)
    require_json_body()
    payout, created = payouts.pay_out(require_login(), group, **data, idempotency_key=headers.get("idempotency_key"))
    db.session.commit()
    return _recorded(payouts.payout_view(payout), created)


@blp.route("/groups/<int:group_id>/payouts", methods=["GET"])
@blp.arguments(PayoutListQuery, location="query")
@blp.response(200, page_of(PayoutOut))
def list_payouts(args, group_id):
    """The group's payouts and corrections, newest first (coordinator, treasurer); a member sees their own."""
    group = get_group_or_404(group_id)
    result = paginate(
        payouts.payouts_query(require_login(), group, args.get("member_id")), args["page"], args["per_page"]
    )
    result["items"] = payouts.payout_views(result["items"])
    return result


@blp.route("/groups/<int:group_id>/payouts/<int:payout_id>/reversal", methods=["POST"])
@blp.arguments(PayoutReversalIn)
@blp.response(201, PayoutRecordedOut)
@blp.alt_response(409, schema=ErrorSchema, description="Corrected already, or itself a correction")
def reverse_payout(data, group_id, payout_id):
    """Correct a payout recorded by mistake (coordinator, treasurer): a reversing payout of the negative amount
    and a reversing journal entry, which give the member their balance back. Once per payout."""
    group = get_group_or_404(group_id)
    correction = payouts.reverse_payout(require_login(), group, payout_id, data.get("reason"))
    db.session.commit()
    return payouts.payout_view(correction), 201


# --- savings --------------------------------------------------------------------------------------


@blp.route("/groups/<int:group_id>/savings", methods=["POST"])
@blp.arguments(IdempotencyHeaders, location="headers")
@blp.arguments(SavingIn)
@blp.response(201, SavingOut, headers=_REPLAYED)
@blp.alt_response(409, schema=ErrorSchema, description="A withdrawal above the member's savings")
def create_saving(headers, data, group_id):
    """Record a member's savings deposit or withdrawal, in cash (coordinator, treasurer).

    A withdrawal never takes the member's savings below zero (409). A retry with
    the same `Idempotency-Key` and body returns the first saving (header
    `Idempotent-Replayed: true`); the same key with another body is 422.
    """
    group = get_group_or_404(group_id)
    require_json_body()
    saving, created = savings.record_saving(
        require_login(), group, **data, idempotency_key=headers.get("idempotency_key")
    )
    db.session.commit()
    return _recorded(savings.saving_view(saving), created)


@blp.route("/groups/<int:group_id>/savings", methods=["GET"])
@blp.response(200, SavingsOut)
def get_savings(group_id):
    """Each member's deposits, withdrawals and savings now (coordinator, treasurer)."""
    group = get_group_or_404(group_id)
    return savings.savings_totals(require_login(), group)


# --- SHU ------------------------------------------------------------------------------------------


@blp.route("/groups/<int:group_id>/shu", methods=["POST"])
@blp.arguments(ShuIn)
@blp.response(201, ShuReportOut)
@blp.alt_response(200, schema=ShuReportOut, description="The year's draft was replaced")
@blp.alt_response(409, schema=ErrorSchema, description="Accepted already, or a surplus above the group fund")
def draft_shu(data, group_id):
    """Draft a year's SHU (coordinator, treasurer): the report of who gets what, not booked.

    Drafting a year again before it is accepted replaces its draft (200).
    """
    group = get_group_or_404(group_id)
    require_json_body()
    plan, created = shu.draft(require_login(), group, **data)
    db.session.commit()
    return shu.report(plan), 201 if created else 200


@blp.route("/groups/<int:group_id>/shu", methods=["GET"])
@blp.response(200, ShuPlanOut(many=True))
def list_shu(group_id):
    """The group's SHU plans by year (coordinator, treasurer)."""
    group = get_group_or_404(group_id)
    return [
        {
            "year": p.year,
            "status": "accepted" if p.accepted_at else "draft",
            "surplus": p.surplus,
            "accepted_at": p.accepted_at,
        }
        for p in shu.plans(require_login(), group)
    ]


@blp.route("/groups/<int:group_id>/shu/<int:year>", methods=["GET"])
@blp.response(200, ShuReportOut)
def get_shu(group_id, year):
    """A year's SHU report: a draft (coordinator, treasurer) or, once accepted, for every member."""
    group = get_group_or_404(group_id)
    return shu.report(shu.viewable_plan(require_login(), group, year))


@blp.route("/groups/<int:group_id>/shu/<int:year>/accept", methods=["POST"])
@blp.response(200, ShuReportOut)
@blp.alt_response(
    409,
    schema=ErrorSchema,
    description="Accepted already, the year has not ended, or the fund holds less than the surplus now",
)
def accept_shu(group_id, year):
    """Accept and book a year's SHU (coordinator), once: members' parts are credited to their balances."""
    group = get_group_or_404(group_id)
    plan = shu.accept(require_login(), group, year)
    db.session.commit()
    return shu.report(plan)
