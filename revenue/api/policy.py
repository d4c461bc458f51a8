"""Revenue API: the split policy, balances and a member's own earnings."""

from marshmallow import Schema, fields

from accounts.services import require_login
from core.blueprint import Blueprint, require_json_body
from core.extensions import db
from groups.models import Role
from groups.services import get_group_or_404, require_role
from revenue.models import SplitMethod
from revenue.services import accrual as revenue

blp = Blueprint("revenue_api", __name__, url_prefix="/api/v1", description="Revenue split")


class SplitPolicyIn(Schema):
    method = fields.Raw(allow_none=True, metadata={"type": "string", "enum": [m.value for m in SplitMethod]})
    group_fund_percent = fields.Raw(
        allow_none=True,
        metadata={
            "type": "string",
            "example": "10.5",
            "description": "0 to 100, at most 2 decimals (a number or a string)",
        },
    )


class SplitPolicyOut(Schema):
    group_id = fields.Integer()
    version = fields.Integer(
        metadata={"description": "0 while the group has never set one (the default: contribution, 0 %)"}
    )
    method = fields.String(metadata={"enum": [m.value for m in SplitMethod]})
    group_fund_percent = fields.String(metadata={"example": "10.5"})
    created_at = fields.DateTime(allow_none=True, metadata={"description": "In force from then"})
    created_by_id = fields.Integer(allow_none=True)


class MemberBalanceOut(Schema):
    member_id = fields.Integer()
    name = fields.String()
    active = fields.Boolean()
    earned = fields.Integer(metadata={"description": "Whole rupiah credited from sales and pool shares, less refunds"})
    paid_out = fields.Integer()
    balance = fields.Integer(metadata={"description": "What the group owes the member"})


class BalancesOut(Schema):
    group_id = fields.Integer()
    members = fields.List(fields.Nested(MemberBalanceOut))
    group_fund = fields.Integer(metadata={"description": "Kas kelompok"})
    pool = fields.Integer(metadata={"description": "Revenue waiting to be shared at the next settlement"})


class MyEarningsOut(MemberBalanceOut):
    group_id = fields.Integer()
    group_name = fields.String()


@blp.route("/groups/<int:group_id>/split-policy", methods=["GET"])
@blp.response(200, SplitPolicyOut)
def get_split_policy(group_id):
    """The split policy in force (members of the group see it)."""
    group = get_group_or_404(group_id)
    require_role(group, allow_admin=True)
    return revenue.policy_view(group, revenue.policy_in_force(group.id))


@blp.route("/groups/<int:group_id>/split-policy", methods=["PUT"])
@blp.arguments(SplitPolicyIn)
@blp.response(200, SplitPolicyOut)
def put_split_policy(data, group_id):
    """A new version of the split policy (coordinator), in force from now; orders completed earlier keep theirs."""
    group = get_group_or_404(group_id)
    require_json_body()
    policy = revenue.set_policy(require_login(), group, data.get("method"), data.get("group_fund_percent"))
    db.session.commit()
    return revenue.policy_view(group, policy)


@blp.route("/groups/<int:group_id>/balances", methods=["GET"])
@blp.response(200, BalancesOut)
def get_balances(group_id):
    """Each member's earned, paid out and balance, the group fund and the pool (coordinator, treasurer)."""
    group = get_group_or_404(group_id)
    require_role(group, Role.coordinator, Role.treasurer, allow_admin=True)
    return revenue.balances(group)


@blp.route("/me/earnings", methods=["GET"])
@blp.response(200, MyEarningsOut(many=True))
def my_earnings():
    """Your own earned, paid out and balance in each group you belong to."""
    return revenue.earnings_of(require_login())
