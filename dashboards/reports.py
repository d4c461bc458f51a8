"""Revenue figures for the pages: a member's own earnings, a group's revenue dashboard, the district overview.

Each figure is summed in SQL (GROUP BY) and each list is bounded, so a page's
queries do not grow with the number of orders, lots or members behind it.
Months are calendar months on the clock in Blitar (WIB). Sales are completed
orders' totals less what was refunded on them, counted in the month the order
was completed (its completion event).

Who may see what is checked here, not only in the views: a member sees only
their own records, a group's figures need its coordinator or treasurer (or the
district admin), the district overview needs the district admin.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import and_, case, distinct, func, literal_column, select

from accounts.models import User
from core.errors import Forbidden, Unauthorized
from core.extensions import db
from core.formatting import WIB
from groups.models import Group, Member, Role
from groups.services import authorize
from inventory.models import Lot, Product, Variant
from marketplace.models import Order, OrderEvent, OrderLine, OrderStatus
from revenue.models import Earning, Payout, SplitPolicy
from revenue.services import accrual as revenue

MONTHS = 12
TOP_PRODUCTS = 10
LOTS_SHOWN = 50
EARNINGS_SHOWN = 50
PAYOUTS_SHOWN = 30
EARNING_KINDS = ("sale", "pool_share")  # what counts as a member having earned something


# --- months on the WIB clock ----------------------------------------------------------------


def recent_months(count: int = MONTHS, today: date | None = None) -> list[date]:
    """The first day of each of the last `count` calendar months in WIB, oldest first, this month last."""
    today = today or datetime.now(WIB).date()
    year, month = today.year, today.month
    months = []
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def month_start(month: date) -> datetime:
    """The UTC moment a WIB calendar month begins."""
    return datetime(month.year, month.month, 1, tzinfo=WIB).astimezone(UTC)


def wib_month(column):
    """SQL: the WIB calendar month of a stored moment, as text 'YYYY-MM'.

    The format is a literal (not a bound parameter) so that PostgreSQL sees the
    same expression in SELECT and GROUP BY.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(literal_column("'Asia/Jakarta'"), column), literal_column("'YYYY-MM'"))
    return func.strftime(literal_column("'%Y-%m'"), column, literal_column("'+7 hours'"))


def _key(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def _int(value) -> int:
    """A SQL sum as whole rupiah (PostgreSQL returns a Decimal for a sum of BIGINT; None for no rows)."""
    return int(value or 0)


@dataclass
class Month:
    month: date
    sales: int = 0
    orders: int = 0
    paid_out: int = 0
    earned: int = 0
    earners: int = 0


def _completed_since(since: datetime):
    """Completed orders with the moment they were completed, from `since` on (a subquery)."""
    return (
        select(OrderEvent.order_id.label("order_id"), OrderEvent.created_at.label("done_at"))
        .where(OrderEvent.to_status == OrderStatus.completed, OrderEvent.created_at >= since)
        .subquery("done")
    )


def _sales_query(done, *keys):
    """Completed orders' sales (total less refunded) and their count, grouped by `keys`."""
    return (
        select(*keys, func.count(Order.id), func.sum(Order.total - Order.refunded))
        .join(done, done.c.order_id == Order.id)
        .where(Order.status == OrderStatus.completed)
        .group_by(*keys)
    )


# --- a member's own earnings ----------------------------------------------------------------


def my_earnings(user: User) -> list[dict]:
    """For each group the user belongs to: their lots, sales, payouts and totals (their own only)."""
    result = []
    for totals in revenue.earnings_of(user):  # only the caller's own member records
        member_id = totals["member_id"]
        lots = db.session.execute(
            select(
                Lot.id,
                Lot.quantity,
                Lot.remaining,
                Lot.grade,
                Lot.received_at,
                Product.name,
                Product.unit,
                Variant.label,
            )
            .join(Variant, Variant.id == Lot.variant_id)
            .join(Product, Product.id == Variant.product_id)
            .where(Lot.member_id == member_id)
            .order_by(Lot.received_at.desc(), Lot.id.desc())
            .limit(LOTS_SHOWN + 1)
        ).all()
        earnings = db.session.execute(
            select(
                Earning.id,
                Earning.order_id,
                Earning.product_name,
                Earning.quantity,
                Earning.amount,
                Earning.gross,
                Earning.kind,
                Earning.created_at,
                Product.unit,
            )
            .join(Lot, Lot.id == Earning.lot_id, isouter=True)
            .join(Variant, Variant.id == Lot.variant_id, isouter=True)
            .join(Product, Product.id == Variant.product_id, isouter=True)
            .where(Earning.member_id == member_id)
            .order_by(Earning.created_at.desc(), Earning.id.desc())
            .limit(EARNINGS_SHOWN + 1)
        ).all()
        payouts = db.session.execute(
            select(Payout.id, Payout.amount, Payout.method, Payout.reference, Payout.reverses_id, Payout.created_at)
            .where(Payout.member_id == member_id)
            .order_by(Payout.created_at.desc(), Payout.id.desc())
            .limit(PAYOUTS_SHOWN + 1)
        ).all()
        result.append(
            {
                **totals,
                "lots": lots[:LOTS_SHOWN],
                "more_lots": len(lots) > LOTS_SHOWN,
                "earnings": earnings[:EARNINGS_SHOWN],
                "more_earnings": len(earnings) > EARNINGS_SHOWN,
                "payouts": payouts[:PAYOUTS_SHOWN],
                "more_payouts": len(payouts) > PAYOUTS_SHOWN,
            }
        )
    return result


# --- a group's revenue dashboard ------------------------------------------------------------


def group_revenue(viewer, group: Group, today: date | None = None) -> dict:
    """A group's sales by month and top products (last 12 months), members' balances, fund, pool and policy
    (coordinator, treasurer, district admin)."""
    authorize(viewer, group, Role.coordinator, Role.treasurer, allow_admin=True)
    months = recent_months(today=today)
    done = _completed_since(month_start(months[0]))
    month = wib_month(done.c.done_at)
    by_month = {
        key: (orders, sales)
        for key, orders, sales in db.session.execute(_sales_query(done, month).where(Order.group_id == group.id))
    }
    figures = []
    for first in months:
        orders, sales = by_month.get(_key(first), (0, 0))
        figures.append(Month(first, sales=_int(sales), orders=_int(orders)))
    top = db.session.execute(
        select(Product.id, Product.name, Product.unit, func.sum(OrderLine.quantity), func.sum(OrderLine.total))
        .select_from(OrderLine)
        .join(Order, Order.id == OrderLine.order_id)
        .join(done, done.c.order_id == Order.id)
        .join(Variant, Variant.id == OrderLine.variant_id)
        .join(Product, Product.id == Variant.product_id)
        .where(Order.group_id == group.id, Order.status == OrderStatus.completed)
        .group_by(Product.id, Product.name, Product.unit)
        .order_by(func.sum(OrderLine.total).desc(), Product.name)
        .limit(TOP_PRODUCTS)
    ).all()
    policy = revenue.policy_in_force(group.id)
    return {
        "months": figures,
        "total_sales": sum(m.sales for m in figures),
        "total_orders": sum(m.orders for m in figures),
        "top_products": [
            {"name": name, "unit": unit, "quantity": quantity, "revenue": _int(total)}
            for _id, name, unit, quantity, total in top
        ],
        "balances": revenue.balances(group),
        "policy": revenue.policy_view(group, policy),
        "history": policy_history(group),
    }


def policy_history(group: Group) -> list[dict]:
    """Every version of the group's split policy, newest first, with who made it."""
    rows = db.session.execute(
        select(SplitPolicy, User.name)
        .join(User, User.id == SplitPolicy.created_by_id, isouter=True)
        .where(SplitPolicy.group_id == group.id)
        .order_by(SplitPolicy.version.desc())
    ).all()
    return [{**revenue.policy_view(group, policy), "created_by": name} for policy, name in rows]


# --- the district overview ------------------------------------------------------------------


def district_overview(viewer, today: date | None = None) -> dict:
    """Across all groups, last 12 months: sales, money paid out to members, members who earned; by village
    and by month, with totals (district admin)."""
    if not viewer.is_authenticated:
        raise Unauthorized()
    if not viewer.is_admin:
        raise Forbidden()
    months = recent_months(today=today)
    since = month_start(months[0])
    done = _completed_since(since)
    place = (Group.district, Group.village)

    villages: dict[tuple[str, str], dict] = {}

    def village(district, name) -> dict:
        return villages.setdefault(
            (district, name),
            {
                "district": district,
                "village": name,
                "groups": 0,
                "members": 0,
                "sales": 0,
                "orders": 0,
                "paid_out": 0,
                "earned": 0,
                "earners": 0,
            },
        )

    for district, name, groups, members in db.session.execute(
        select(*place, func.count(distinct(Group.id)), func.count(Member.id))
        .join(Member, and_(Member.group_id == Group.id, Member.active.is_(True)), isouter=True)
        .group_by(*place)
    ):
        row = village(district, name)
        row["groups"], row["members"] = _int(groups), _int(members)
    for district, name, orders, sales in db.session.execute(
        _sales_query(done, *place).join(Group, Group.id == Order.group_id)
    ):
        row = village(district, name)
        row["orders"], row["sales"] = _int(orders), _int(sales)
    paid_since = Payout.created_at >= since
    for district, name, amount in db.session.execute(
        select(*place, func.sum(Payout.amount))
        .select_from(Payout)
        .join(Group, Group.id == Payout.group_id)
        .where(paid_since)
        .group_by(*place)
    ):
        village(district, name)["paid_out"] = _int(amount)
    earners = func.count(distinct(case((Earning.kind.in_(EARNING_KINDS), Earning.member_id))))
    members_since = and_(Earning.member_id.is_not(None), Earning.created_at >= since)
    for district, name, count, amount in db.session.execute(
        select(*place, earners, func.sum(Earning.amount))
        .select_from(Earning)
        .join(Group, Group.id == Earning.group_id)
        .where(members_since)
        .group_by(*place)
    ):
        row = village(district, name)
        row["earners"], row["earned"] = _int(count), _int(amount)

    by_month = {_key(first): Month(first) for first in months}
    done_month = wib_month(done.c.done_at)
    for key, orders, sales in db.session.execute(_sales_query(done, done_month)):
        if key in by_month:
            by_month[key].orders, by_month[key].sales = _int(orders), _int(sales)
    payout_month = wib_month(Payout.created_at)
    for key, amount in db.session.execute(
        select(payout_month, func.sum(Payout.amount)).where(paid_since).group_by(payout_month)
    ):
        if key in by_month:
            by_month[key].paid_out = _int(amount)
    earning_month = wib_month(Earning.created_at)
    for key, count, amount in db.session.execute(
        select(earning_month, earners, func.sum(Earning.amount)).where(members_since).group_by(earning_month)
    ):
        if key in by_month:
            by_month[key].earners, by_month[key].earned = _int(count), _int(amount)
    total_earners, total_earned = db.session.execute(
        select(earners, func.sum(Earning.amount)).where(members_since)
    ).one()

    rows = sorted(villages.values(), key=lambda r: (r["district"].lower(), r["village"].lower()))
    totals = {
        "sales": sum(r["sales"] for r in rows),
        "orders": sum(r["orders"] for r in rows),
        "paid_out": sum(r["paid_out"] for r in rows),
        "earned": _int(total_earned),
        "earners": _int(total_earners),
        "groups": sum(r["groups"] for r in rows),
        "members": sum(r["members"] for r in rows),
    }
    return {"since": months[0], "months": list(by_month.values()), "villages": rows, "totals": totals}
