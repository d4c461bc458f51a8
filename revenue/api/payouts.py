"""Payouts, savings and SHU API: paying members their balance, their savings, the year's surplus shared."""

from flask_smorest.error_handler import ErrorSchema
from marshmallow import Schema, fields, validate

from accounts.services import require_login
from core.blueprint import Blueprint, require_json_body
from core.extensions import db
from core.money import MAX_AMOUNT
from core.pagination import PageQuery, page_of, paginate
from core.validation import ID_MAX
from groups.services import get_group_or_404
from revenue.models import PayoutMethod
from revenue.services import payouts, savings, shu

blp = Blueprint("payouts_api", __name__, url_prefix="/api/v1", description="Payouts, savings and SHU")

_REPLAYED = {
    "Idempotent-Replayed": {
        "description": "`true` when a retry got the first result back",
        "schema": {"type": "string"},
    }
}


class IdempotencyHeaders(Schema):
    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        metadata={
            "description": f"At most {payouts.KEY_MAX_LENGTH} printable characters, new for each request: a retry "
            "with the same key and body returns the first result; the same key with another body is "
            "refused (422)",
            "example": "4f1c2a9e-0d3b-4c7a-8e21-6b5d9f0a7c13",
        },
    )


def _recorded(view: dict, created: bool) -> tuple:
    """A 201 with what was recorded; a replayed retry says so in `Idempotent-Replayed`."""
    return view, 201, ({} if created else {"Idempotent-Replayed": "true"})


# --- payouts --------------------------------------------------------------------------------------


class PayoutIn(Schema):
    member_id = fields.Raw(
        allow_none=True, metadata={"type": "integer", "description": "A member of the group, not the one recording"}
    )
    amount = fields.Raw(
        allow_none=True,
        metadata={
            "type": "integer",
            "example": 150000,
            "maximum": MAX_AMOUNT,
            "description": "Whole rupiah, at most the member's balance",
        },
    )
    method = fields.Raw(
        allow_none=True,
        metadata={
            "type": "string",
            "enum": [m.value for m in PayoutMethod],
            "description": "Cash from the group's cash; a transfer or an e-wallet top-up from its bank account",
        },
    )
    reference = fields.Raw(
        allow_none=True, metadata={"type": "string", "description": "A transfer reference or receipt number"}
    )
    phone = fields.Raw(
        allow_none=True,
        metadata={
            "type": "string",
            "example": "0812-3456-7890",
            "description": "The e-wallet's number: needed for `ewallet`",
        },
    )


class PayoutOut(Schema):
    id = fields.Integer()
    group_id = fields.Integer()
    member_id = fields.Integer()
    member_name = fields.String(allow_none=True)
    amount = fields.Integer(metadata={"description": "Negative for a correction"})
    method = fields.String(metadata={"enum": [m.value for m in PayoutMethod]})
    reference = fields.String(allow_none=True, metadata={"description": "For a correction: the reason"})
    phone = fields.String(allow_none=True)
    reverses_id = fields.Integer(allow_none=True, metadata={"description": "A correction: the payout it reverses"})
    reversed_by_id = fields.Integer(allow_none=True, metadata={"description": "The correction of this payout"})
    entry_id = fields.Integer()
    created_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class PayoutRecordedOut(PayoutOut):
    balance = fields.Integer(metadata={"description": "The member's balance after it"})


class PayoutListQuery(PageQuery):
    member_id = fields.Integer(validate=validate.Range(min=1, max=ID_MAX))


class PayoutReversalIn(Schema):
    reason = fields.Raw(allow_none=True, metadata={"type": "string", "description": "Required: what was wrong"})


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


class SavingIn(Schema):
    member_id = fields.Raw(allow_none=True, metadata={"type": "integer"})
    amount = fields.Raw(
        allow_none=True,
        metadata={
            "type": "integer",
            "example": 50000,
            "maximum": MAX_AMOUNT,
            "description": "Whole rupiah; a withdrawal at most what the member has saved",
        },
    )
    kind = fields.Raw(allow_none=True, metadata={"type": "string", "enum": list(savings.KINDS)})
    note = fields.Raw(allow_none=True, metadata={"type": "string"})


class SavingOut(Schema):
    id = fields.Integer()
    group_id = fields.Integer()
    member_id = fields.Integer()
    kind = fields.String(metadata={"enum": list(savings.KINDS)})
    amount = fields.Integer()
    note = fields.String(allow_none=True)
    entry_id = fields.Integer()
    created_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    balance = fields.Integer(metadata={"description": "The member's savings after it"})


class MemberSavingsOut(Schema):
    member_id = fields.Integer()
    name = fields.String()
    active = fields.Boolean()
    deposits = fields.Integer()
    withdrawals = fields.Integer()
    balance = fields.Integer()


class SavingsOut(Schema):
    group_id = fields.Integer()
    members = fields.List(fields.Nested(MemberSavingsOut))
    total = fields.Integer()


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

_PERCENT = {
    "type": "string",
    "example": "25",
    "description": "0 to 100, at most 2 decimals (a number or a string); the six total exactly 100",
}


class ShuIn(Schema):
    year = fields.Raw(allow_none=True, metadata={"type": "integer", "example": 2025})
    surplus = fields.Raw(
        allow_none=True,
        metadata={
            "type": "integer",
            "maximum": MAX_AMOUNT,
            "description": "Whole rupiah; default the group fund's balance at the end of the year "
            "(or now, if less); never above that",
        },
    )
    reserve = fields.Raw(allow_none=True, metadata=_PERCENT)
    services = fields.Raw(
        allow_none=True, metadata={**_PERCENT, "description": "Jasa usaha: shared by members' transactions in the year"}
    )
    capital = fields.Raw(
        allow_none=True,
        metadata={**_PERCENT, "description": "Jasa modal: shared by members' savings at the end of the year"},
    )
    management = fields.Raw(allow_none=True, metadata=_PERCENT)
    education = fields.Raw(allow_none=True, metadata=_PERCENT)
    social = fields.Raw(allow_none=True, metadata=_PERCENT)


class ShuMemberOut(Schema):
    member_id = fields.Integer()
    name = fields.String(allow_none=True)
    transactions = fields.Integer(metadata={"description": "Sale earnings (and pool shares) credited in the year"})
    savings = fields.Integer(metadata={"description": "Savings at the end of the year"})
    services_part = fields.Integer()
    capital_part = fields.Integer()
    total = fields.Integer()


# One field per SHU part, in shu.PARTS's order: rupiah, and the percent as text.
ShuPartsOut = Schema.from_dict({part: fields.Integer() for part in shu.PARTS}, name="ShuPartsOut")
ShuPercentagesOut = Schema.from_dict({part: fields.String() for part in shu.PARTS}, name="ShuPercentagesOut")


class ShuFundOut(Schema):
    at_year_end = fields.Integer()
    now = fields.Integer()
    available = fields.Integer()


class ShuReportOut(Schema):
    group_id = fields.Integer()
    year = fields.Integer()
    status = fields.String(metadata={"enum": ["draft", "accepted"]})
    surplus = fields.Integer()
    percentages = fields.Nested(ShuPercentagesOut)
    allocation = fields.Nested(ShuPartsOut, metadata={"description": "Whole rupiah per part; they sum to the surplus"})
    reserve_remainder = fields.Integer(
        metadata={"description": "What the reserve got from rounding members' parts down"}
    )
    members = fields.List(fields.Nested(ShuMemberOut))
    totals = fields.Dict(keys=fields.String(), values=fields.Integer())
    keeps_savings = fields.Boolean()
    capital_to_reserve = fields.Boolean()
    services_to_reserve = fields.Boolean()
    notes = fields.List(fields.String())
    group_fund = fields.Nested(ShuFundOut)
    entry_id = fields.Integer(allow_none=True)
    accepted_at = fields.DateTime(allow_none=True)
    created_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class ShuPlanOut(Schema):
    year = fields.Integer()
    status = fields.String()
    surplus = fields.Integer()
    accepted_at = fields.DateTime(allow_none=True)


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
