"""What the rules of harvest pre-orders share: finding a harvest and who may see or move it, its moves recorded
as events, its row lock, reading quantities, percents and weeks from a request, and the labels of its week."""

from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from accounts.models import User
from accounts.services import require_signed_in
from core.database import lock_row
from core.errors import Conflict, NotFound, field_error
from core.extensions import db
from core.formatting import format_day
from core.types import utcnow
from core.validation import optional_text, row_by_id
from groups.models import Group, Role
from groups.opening import next_open_day
from groups.services import authorize, membership
from harvests.models import Harvest, HarvestEvent, HarvestStatus, PreOrder
from inventory import services as stock
from inventory.models import Variant
from marketplace import catalog_version
from marketplace import services as market
from revenue.services.accrual import parse_percent

NOTE_MAX_LENGTH = 500
MAX_WEEKS_AHEAD = 53
OPEN = (HarvestStatus.announced, HarvestStatus.closed)  # the harvest is still awaited

TRANSITIONS: dict[HarvestStatus, tuple[HarvestStatus, ...]] = {
    HarvestStatus.announced: (HarvestStatus.closed, HarvestStatus.harvested, HarvestStatus.cancelled),
    HarvestStatus.closed: (HarvestStatus.harvested, HarvestStatus.cancelled),
    HarvestStatus.harvested: (HarvestStatus.done,),
    HarvestStatus.done: (),
    HarvestStatus.cancelled: (),
}


def status_label(status: HarvestStatus) -> str:
    return {
        HarvestStatus.announced: _("open for pre-orders"),
        HarvestStatus.closed: _("closed for pre-orders"),
        HarvestStatus.harvested: _("harvested"),
        HarvestStatus.done: _("done"),
        HarvestStatus.cancelled: _("cancelled"),
    }[HarvestStatus(status)]


class HarvestTransitionNotAllowed(Conflict):
    def __init__(self, harvest: Harvest, to: HarvestStatus):
        super().__init__(
            _l(
                "This harvest is %(status)s and cannot become %(to)s.",
                status=status_label(harvest.status),
                to=status_label(to),
            ),
            {"status": [harvest.status.value]},
        )


def get_harvest_or_404(harvest_id) -> Harvest:
    """A harvest by its id, whoever asks; 404 when there is none (see visible_harvest_or_404)."""
    harvest = row_by_id(Harvest, harvest_id)
    if harvest is None:
        raise NotFound(_l("Harvest not found."))
    return harvest


def visible_harvest_or_404(actor: User | None, harvest_id) -> Harvest:
    """A harvest anyone may read (it is offered in the public catalog), unless its group is not verified: then
    only the group's members and the district admin see it, and for anyone else it is as unknown as a missing
    one."""
    harvest = get_harvest_or_404(harvest_id)
    group = db.session.get(Group, harvest.group_id)
    if (
        not group.verified
        and membership(group, actor) is None
        and not (actor and actor.is_authenticated and actor.is_admin)
    ):
        raise NotFound(_l("Harvest not found."))
    return harvest


def get_pre_order_or_404(actor: User | None, pre_order_id) -> PreOrder:
    """A pre-order its buyer, or the coordinator or treasurer of the harvest's group, may see; 404 otherwise."""
    user = require_signed_in(actor)
    pre_order = row_by_id(PreOrder, pre_order_id)
    if pre_order is not None and pre_order.buyer_id != user.id:
        harvest = db.session.get(Harvest, pre_order.harvest_id)
        member = membership(db.session.get(Group, harvest.group_id), user)
        if member is None or member.role not in (Role.coordinator, Role.treasurer):
            pre_order = None
    if pre_order is None:
        raise NotFound(_l("Pre-order not found."))
    return pre_order


def require_coordinator(actor: User, harvest: Harvest) -> None:
    """401 or 403 unless the actor coordinates the harvest's group."""
    authorize(actor, db.session.get(Group, harvest.group_id), Role.coordinator)


def is_coordinator(actor: User | None, group_id: int) -> bool:
    member = membership(db.session.get(Group, group_id), actor)
    return member is not None and member.role == Role.coordinator


def lock_harvest(harvest: Harvest) -> Harvest:
    """Re-read the harvest under a row lock (PostgreSQL; SQLite writers hold the database lock). Recording the
    harvest, cancelling it or a pre-order take it first, then the orders; a completion takes the order first and
    then the harvest, which by then takes no pre-order, recording or cancellation."""
    return lock_row(harvest)


def move(harvest: Harvest, to: HarvestStatus, actor_id: int | None, note: str | None = None) -> None:
    if to not in TRANSITIONS[harvest.status]:
        raise HarvestTransitionNotAllowed(harvest, to)
    db.session.add(
        HarvestEvent(harvest_id=harvest.id, actor_id=actor_id, from_status=harvest.status, to_status=to, note=note)
    )
    harvest.status = to
    harvest.updated_at = utcnow()


def moved_catalog() -> None:
    """What the catalog offers changed (a harvest opened or closed for pre-orders): kept pages are not given
    again (marketplace.models.CatalogVersion), in the writer's own transaction."""
    catalog_version.move_on()


def text(value, field: str, limit: int = NOTE_MAX_LENGTH) -> str | None:
    return optional_text(value, field, limit)


def unit_of(harvest_or_group, variant: Variant):
    group = (
        harvest_or_group if isinstance(harvest_or_group, Group) else db.session.get(Group, harvest_or_group.group_id)
    )
    return stock.resolve_unit(group, variant.product.unit)


def quantity_of(group: Group, variant: Variant, value, field: str) -> Decimal:
    """A quantity above zero as the variant's unit allows it (whole numbers for piece units), or a 422."""
    quantity = stock.quantity_in(value, unit_of(group, variant), field)
    if quantity <= 0:
        raise field_error(field, _("The quantity must be more than zero."))
    return quantity


def step_of(whole: bool) -> Decimal:
    """The smallest amount a unit is counted in: 1 for piece units, a thousandth otherwise."""
    return Decimal(1) if whole else Decimal("0.001")


def share_of(quantity: Decimal, basis_points: int, whole: bool) -> Decimal:
    """`basis_points` of `quantity`, down to the unit's precision."""
    return (quantity * basis_points / Decimal(10000)).quantize(step_of(whole), rounding=ROUND_DOWN)


def percent(value, field: str, *, allow_zero: bool) -> int:
    """A percent from 0 (or more than 0) to 100 with at most 2 decimals, as basis points."""
    try:
        basis_points = parse_percent(value)
    except ValueError:
        raise field_error(field, _("Give a percent from 0 to 100 with at most 2 decimals.")) from None
    if basis_points == 0 and not allow_zero:
        raise field_error(field, _("Give a percent above 0, at most 100."))
    return basis_points


def deposit_of(total: int, basis_points: int) -> int:
    """The deposit asked on a pre-order worth `total`: its percent, half a rupiah rounded up."""
    return int((Decimal(total) * basis_points / Decimal(10000)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week(value, field: str = "week") -> date:
    """The Monday of the week a day given falls in: from this week to MAX_WEEKS_AHEAD weeks ahead."""
    if value in (None, ""):
        raise field_error(field, _("This field is required."))
    try:
        found = value if isinstance(value, date) else date.fromisoformat(str(value))
    except (TypeError, ValueError):
        raise field_error(field, _("Use a date such as 2026-11-28.")) from None
    monday, this_week = monday_of(found), monday_of(market.today_wib())
    if not this_week <= monday <= this_week + timedelta(weeks=MAX_WEEKS_AHEAD):
        raise field_error(field, _("Choose a week from this one to %(n)d weeks ahead.", n=MAX_WEEKS_AHEAD))
    return monday


def week_label(monday: date) -> str:
    """ "minggu 14 Des 2026" (the week of that Monday); "minggu ini" and "minggu depan" for this week and next."""
    this_week = monday_of(market.today_wib())
    if monday == this_week:
        return _("this week")
    if monday == this_week + timedelta(weeks=1):
        return _("next week")
    return _("week of %(day)s", day=format_day(monday))


def ready_day(group: Group, monday: date) -> date:
    """The day pre-orders are handed over: the group's first open day of the harvest's week (its Monday when it
    opens on none of them)."""
    return next_open_day([group.open_days], monday, monday + timedelta(days=6)) or monday


def pre_orders_of(harvest: Harvest, *statuses) -> list[PreOrder]:
    query = select(PreOrder).where(PreOrder.harvest_id == harvest.id)
    if statuses:
        query = query.where(PreOrder.status.in_(statuses))
    return list(db.session.scalars(query.order_by(PreOrder.id).execution_options(populate_existing=True)))


def take_quota(harvest: Harvest, quantity: Decimal) -> bool:
    """Count `quantity` more pre-ordered, if and only if the harvest takes pre-orders and the count stays within
    its cap: one guarded UPDATE, so buyers at once never pass the cap. False when it would not."""
    result = db.session.execute(
        update(Harvest)
        .where(
            Harvest.id == harvest.id,
            Harvest.status == HarvestStatus.announced,
            Harvest.preordered + quantity <= Harvest.cap,
        )
        .values(preordered=Harvest.preordered + quantity)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(harvest, ["preordered", "status"])
    return result.rowcount == 1


def release_quota(harvest: Harvest, quantity: Decimal) -> None:
    """Count `quantity` less pre-ordered (a pre-order cancelled), by a guarded UPDATE."""
    result = db.session.execute(
        update(Harvest)
        .where(Harvest.id == harvest.id, Harvest.preordered >= quantity)
        .values(preordered=Harvest.preordered - quantity)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(harvest, ["preordered"])
    if result.rowcount != 1:
        raise Conflict(_l("The harvest's pre-orders do not add up; nothing was changed."))
