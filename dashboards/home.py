"""What waits on a home page: for a coordinator or treasurer, each of their groups' work with its numbers;
for the district admin, the district's totals and the groups waiting for verification.

Read-only. The counts of all the viewer's groups come from a handful of GROUP BY queries (orders, low stock,
settled periods, members owed), each over the viewer's group ids and by indexed columns, never a query per
group or per order.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import case, func, select

from commissions import services as commissions
from commissions.models import Commission, CommissionStatus
from core.errors import Forbidden, Unauthorized
from core.extensions import db
from core.formatting import WIB, format_qty
from core.ledger import Account, Posting
from dashboards import reports
from groups import verification
from groups.models import Group, Member, Role
from harvests.models import Harvest, HarvestStatus
from inventory.models import Product, ProductStatus, Stock, Variant
from marketplace import services as orders
from marketplace.models import OPEN_STATUSES, Order, OrderStatus
from revenue.models import Settlement

WAITING_SHOWN = 10  # groups waiting for verification listed on the admin's home
MEMBER_ACCOUNT_PREFIX = "member:"  # revenue.services.accrual.member_account


@dataclass
class GroupWork:
    """What waits in one group, by number (zero: nothing to do there)."""

    group: Group
    role: Role
    new_orders: int = 0  # placed, to confirm
    to_pack: int = 0  # confirmed for today or a day past
    to_record: int = 0  # transfers and packed cash orders not paid in full
    owed_by_buyers: int = 0  # what those orders still owe, whole rupiah
    low_stock: int = 0  # active variants under their low-stock threshold
    unsettled_month: date | None = None  # the first day of last month when it is not settled yet
    members_owed: int = 0  # members with a positive balance: payouts to make
    owed_to_members: int = 0  # the sum of those balances, whole rupiah
    jobs_to_quote: int = 0  # made-to-order requests waiting for the group's quote
    jobs: list = field(default_factory=list)  # made-to-order jobs at work, at risk first (commissions.due_jobs)
    harvests_announced: int = 0  # harvests announced or closed, not yet in
    harvests_preordered: str = ""  # what is pre-ordered of them, per unit ("12,5 kg")

    @property
    def waiting(self) -> bool:
        return bool(
            self.new_orders
            or self.to_pack
            or self.to_record
            or self.low_stock
            or self.unsettled_month
            or self.members_owed
            or self.jobs_to_quote
            or self.jobs
        )


def last_month(today: date) -> tuple[date, date]:
    """The first and last day of the calendar month before `today`'s."""
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def group_work(viewer, today: date | None = None) -> list[GroupWork]:
    """For each group the viewer coordinates or keeps the books of, what waits (their own groups only)."""
    if not viewer.is_authenticated:
        raise Unauthorized()
    today = today or orders.today_wib()
    rows = db.session.execute(
        select(Group, Member.role)
        .join(Member, Member.group_id == Group.id)
        .where(
            Member.user_id == viewer.id,
            Member.active.is_(True),
            Member.role.in_((Role.coordinator, Role.treasurer)),
        )
        .order_by(func.lower(Group.name), Group.id)
    ).all()
    work = {group.id: GroupWork(group, role) for group, role in rows}
    if not work:
        return []
    ids = list(work)

    owed = orders.awaiting_payment()
    for group_id, new, to_pack, to_record, still_owed in db.session.execute(
        select(
            Order.group_id,
            func.count(case((Order.status == OrderStatus.placed, 1))),
            func.count(case((orders.due_to_pack(today), 1))),
            func.count(case((owed, 1))),
            func.sum(case((owed, Order.total - Order.paid), else_=0)),
        )
        .where(Order.group_id.in_(ids), Order.status.in_(OPEN_STATUSES))
        .group_by(Order.group_id)
    ):
        item = work[group_id]
        item.new_orders, item.to_pack, item.to_record = new, to_pack, to_record
        item.owed_by_buyers = int(still_owed or 0)

    for group_id, low in db.session.execute(
        select(Variant.group_id, func.count(Variant.id))
        .join(Stock, Stock.variant_id == Variant.id)
        .join(Product, Product.id == Variant.product_id)
        .where(
            Variant.group_id.in_(ids),
            Variant.active.is_(True),
            Product.status != ProductStatus.archived,
            Variant.low_stock_threshold.is_not(None),
            # as the stock dashboard's alerts (inventory.services.alerts) count them, so the numbers agree
            Stock.on_hand - Stock.reserved < Variant.low_stock_threshold,
        )
        .group_by(Variant.group_id)
    ):
        work[group_id].low_stock = low

    working = []
    for group_id, to_quote, at_work in db.session.execute(
        select(
            Commission.group_id,
            func.count(case((Commission.status == CommissionStatus.requested, 1))),
            func.count(case((Commission.status.in_(commissions.WORKING), 1))),
        )
        .where(Commission.group_id.in_(ids), Commission.status.in_((CommissionStatus.requested, *commissions.WORKING)))
        .group_by(Commission.group_id)
    ):
        work[group_id].jobs_to_quote = to_quote
        if at_work:
            working.append(group_id)
    for group_id in working:  # the at-risk rule is the due list's, read once per group that has jobs at work
        work[group_id].jobs = commissions.due_jobs(viewer, work[group_id].group, today)

    first, end = last_month(today)
    settled = dict(
        db.session.execute(
            select(Settlement.group_id, func.max(Settlement.period_end))
            .where(Settlement.group_id.in_(ids))
            .group_by(Settlement.group_id)
        ).all()
    )
    for group_id, item in work.items():
        last = settled.get(group_id)
        began = item.group.created_at.astimezone(WIB).date()
        if (last is None or last < end) and began <= end:
            item.unsettled_month = first

    balances = (
        select(Account.group_id.label("group_id"), (-func.sum(Posting.amount)).label("balance"))
        .join(Posting, Posting.account_id == Account.id)
        .where(Account.group_id.in_(ids), Account.key.startswith(MEMBER_ACCOUNT_PREFIX, autoescape=True))
        .group_by(Account.group_id, Account.id)
        .having(func.sum(Posting.amount) < 0)
        .subquery("owed")
    )
    for group_id, members, amount in db.session.execute(
        select(balances.c.group_id, func.count(), func.sum(balances.c.balance)).group_by(balances.c.group_id)
    ):
        work[group_id].members_owed, work[group_id].owed_to_members = members, int(amount or 0)
    harvests_awaited(work)
    return list(work.values())


def admin_home(viewer, today: date | None = None) -> dict:
    """The district admin's home: the district overview's totals and the groups waiting for verification."""
    if not viewer.is_authenticated:
        raise Unauthorized()
    if not viewer.is_admin:
        raise Forbidden()
    overview = reports.district_overview(viewer, today)
    waiting = verification.waiting_groups_query(viewer)
    count = db.session.scalar(select(func.count()).select_from(waiting.subquery()))
    shown = list(db.session.scalars(waiting.limit(WAITING_SHOWN)))
    return {
        "since": overview["since"],
        "totals": overview["totals"],
        "waiting": shown,
        "waiting_count": count,
        "coordinators": verification.coordinators_of([group.id for group in shown]),
    }


def harvests_awaited(work: dict[int, GroupWork]) -> None:
    """Each group's harvests announced or closed (not yet in) and what is pre-ordered of them, per unit: one
    GROUP BY over the groups."""
    found: dict[int, list[tuple[str, str]]] = {}
    for group_id, unit, harvests, preordered in db.session.execute(
        select(Harvest.group_id, Product.unit, func.count(Harvest.id), func.sum(Harvest.preordered))
        .join(Variant, Variant.id == Harvest.variant_id)
        .join(Product, Product.id == Variant.product_id)
        .where(Harvest.group_id.in_(list(work)), Harvest.status.in_((HarvestStatus.announced, HarvestStatus.closed)))
        .group_by(Harvest.group_id, Product.unit)
        .order_by(Harvest.group_id, Product.unit)
    ):
        work[group_id].harvests_announced += harvests
        found.setdefault(group_id, []).append((format_qty(preordered or 0), unit))
    for group_id, amounts in found.items():
        work[group_id].harvests_preordered = ", ".join(f"{amount} {unit}" for amount, unit in amounts)
