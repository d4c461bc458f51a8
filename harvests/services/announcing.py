"""A harvest announced, closed for pre-orders, or cancelled (its pre-orders cancelled with it, their money given
back)."""

from decimal import Decimal

from flask_babel import gettext as _

from accounts.models import User
from core.errors import field_error
from core.extensions import db
from core.money import MAX_AMOUNT, MAX_UNIT_PRICE, format_rupiah
from core.types import utcnow
from core.validation import read_rupiah
from groups.models import Group, Role
from groups.services import authorize
from harvests.models import Harvest, HarvestEvent, HarvestStatus, PreOrderStatus, ShortfallRule
from harvests.services import records as r
from harvests.services.money import give_back
from inventory import services as stock
from marketplace import services as market
from marketplace.models import Order

DEFAULT_CAP_PERCENT = "80"


def announce(
    actor: User,
    group: Group,
    *,
    variant_id,
    expected_low,
    expected_high,
    week,
    shortfall_rule,
    unit_price=None,
    cap_percent=None,
    deposit_percent=None,
    note=None,
) -> Harvest:
    """A harvest the group expects (coordinator): a variant of the group, the quantity expected as a range, the
    week, the pre-order price (the variant's own by default), the cap as a percent of the low end (80 by
    default), the rule a shortfall is shared out by, and the deposit asked of each pre-order as a percent of it
    (none by default)."""
    authorize(actor, group, Role.coordinator)
    variant = stock.get_variant_in_group(group, variant_id)
    if not variant.active:
        raise field_error("variant_id", _("This product variant is not active."))
    low = r.quantity_of(group, variant, expected_low, "expected_low")
    high = r.quantity_of(group, variant, expected_high, "expected_high")
    if high < low:
        raise field_error("expected_high", _("At least the low end of the range."))
    monday = r.week(week)
    try:
        rule = ShortfallRule(shortfall_rule)
    except ValueError:
        raise field_error("shortfall_rule", _("Choose first_come or pro_rata.")) from None
    price = (
        variant.unit_price
        if unit_price in (None, "")
        else read_rupiah(unit_price, "unit_price", ceiling=MAX_UNIT_PRICE)
    )
    cap_points = r.percent(
        DEFAULT_CAP_PERCENT if cap_percent in (None, "") else cap_percent, "cap_percent", allow_zero=False
    )
    deposit_points = (
        0 if deposit_percent in (None, "") else r.percent(deposit_percent, "deposit_percent", allow_zero=True)
    )
    cap = r.share_of(low, cap_points, r.unit_of(group, variant).whole)
    if cap <= 0:
        raise field_error("cap_percent", _("The cap comes to nothing: give a larger percent or range."))
    if market.line_total(price, cap) > MAX_AMOUNT:
        raise field_error("unit_price", _("At most %(amount)s for the whole cap.", amount=format_rupiah(MAX_AMOUNT)))
    harvest = Harvest(
        group_id=group.id,
        variant_id=variant.id,
        expected_low=low,
        expected_high=high,
        week=monday,
        unit_price=price,
        cap_basis_points=cap_points,
        cap=cap,
        preordered=Decimal(0),
        shortfall_rule=rule,
        deposit_basis_points=deposit_points,
        status=HarvestStatus.announced,
        note=r.text(note, "note"),
        created_by_id=actor.id,
    )
    db.session.add(harvest)
    db.session.flush()
    db.session.add(
        HarvestEvent(harvest_id=harvest.id, actor_id=actor.id, from_status=None, to_status=HarvestStatus.announced)
    )
    r.moved_catalog()
    db.session.flush()
    return harvest


def close(actor: User, harvest: Harvest, note=None) -> Harvest:
    """No more pre-orders (coordinator); the harvest is awaited."""
    r.require_coordinator(actor, harvest)
    note = r.text(note, "note")
    harvest = r.lock_harvest(harvest)
    if harvest.status != HarvestStatus.announced:
        raise r.HarvestTransitionNotAllowed(harvest, HarvestStatus.closed)
    r.move(harvest, HarvestStatus.closed, actor.id, note)
    r.moved_catalog()
    db.session.flush()
    return harvest


def cancel_harvest(actor: User, harvest: Harvest, note=None) -> Harvest:
    """No harvest after all (coordinator): every pre-order waiting is cancelled with its order, and the money
    paid on it given back."""
    r.require_coordinator(actor, harvest)
    note = r.text(note, "note")
    harvest = r.lock_harvest(harvest)
    if HarvestStatus.cancelled not in r.TRANSITIONS[harvest.status]:
        raise r.HarvestTransitionNotAllowed(harvest, HarvestStatus.cancelled)
    r.move(harvest, HarvestStatus.cancelled, actor.id, note)
    reason = note or _("Harvest cancelled")
    for pre_order in r.pre_orders_of(harvest, PreOrderStatus.placed):
        pre_order.status = PreOrderStatus.cancelled  # first: its order is cancelled only with it
        pre_order.updated_at = utcnow()
        order = market.lock_order(db.session.get(Order, pre_order.order_id))
        market.cancel(actor, order, note)
        pre_order.refunded = give_back(actor, order, reason)
        r.release_quota(harvest, pre_order.quantity)
    r.moved_catalog()
    db.session.flush()
    return harvest
