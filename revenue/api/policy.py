"""Revenue API: the split policy, balances and a member's own earnings."""

from accounts.services import require_login
from core.blueprint import Blueprint, require_json_body
from core.extensions import db
from groups.models import Role
from groups.services import get_group_or_404, require_role
from revenue.schemas.policy import BalancesOut, MyEarningsOut, SplitPolicyIn, SplitPolicyOut
from revenue.services import accrual as revenue

blp = Blueprint("revenue_api", __name__, url_prefix="/api/v1", description="Revenue split")


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
