"""The harvest in: the members' lots recorded through the ordinary intake, then the pre-orders filled in the
order they were placed. A shortfall is shared out by the group's rule (harvests.services.sharing); a pre-order
that got less has its order shrunk to what it got (the part not filled split off and cancelled), one that got
nothing its order cancelled, and the money paid beyond what it now owes is given back. What is left over is
ordinary free stock, on sale as any other."""

from decimal import Decimal
from types import SimpleNamespace

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from accounts.models import User
from core.errors import Conflict, ValidationFailed, field_error
from core.extensions import db
from core.idempotency import replayed
from core.quantity import MAX_QUANTITY
from core.types import utcnow
from groups.models import Group
from harvests.models import Harvest, HarvestLot, HarvestStatus, PreOrder, PreOrderStatus
from harvests.services import records as r
from harvests.services import taken_in
from harvests.services.money import give_back, held
from harvests.services.preorders import SHARED_OUT, let_go
from harvests.services.sharing import share_out
from inventory import services as stock
from inventory.models import Lot, Variant
from marketplace import services as market
from marketplace.models import Order, OrderKind, OrderStatus

MAX_LOTS = 200


def _read_lots(group: Group, variant: Variant, lots) -> list[dict]:
    if not isinstance(lots, list):
        raise field_error("lots", _("List each member's quantity."))
    if len(lots) > MAX_LOTS:
        raise field_error("lots", _("At most %(n)d lines.", n=MAX_LOTS))
    read, errors, seen = [], {}, set()
    for i, sent in enumerate(lots):
        try:
            if not isinstance(sent, dict):
                raise field_error(f"lots.{i}", _("Not a valid line."))
            member = stock.get_member_in_group(group, sent.get("member_id"), f"lots.{i}.member_id")
            if member.id in seen:
                raise field_error(f"lots.{i}.member_id", _("Each member once: add the quantities together."))
            seen.add(member.id)
            quantity = r.quantity_of(group, variant, sent.get("quantity"), f"lots.{i}.quantity")
            grade = r.text(sent.get("grade"), f"lots.{i}.grade", 20)
            read.append({"member_id": member.id, "quantity": quantity, "grade": grade})
        except ValidationFailed as exc:
            errors.update(exc.errors or {})
    if errors:
        raise ValidationFailed(errors=errors)
    if sum((row["quantity"] for row in read), Decimal(0)) > MAX_QUANTITY:
        raise field_error("lots", _("The harvest comes to more than the most one stock may hold."))
    return read


def record_harvest(actor: User, harvest: Harvest, *, lots=None, from_lots=None, retry=None) -> tuple[Harvest, bool]:
    """The harvest came in (coordinator): each member's quantity becomes her lot (the ordinary intake), or, with
    `from_lots`, lots taken in already through the intake count as the harvest (harvests.services.taken_in); the
    pre-orders are filled in the order placed, a shortfall shared out by the harvest's rule. Returns
    (harvest, created). Recorded already: 409, nothing changed, unless it is a retry with the same
    Idempotency-Key and request, which gets the first result back (another request with that key: 422)."""
    r.require_coordinator(actor, harvest)
    key = retry.key if retry else None
    if key and harvest.record_key == key:
        return _replayed(harvest, retry.fingerprint), False
    group = db.session.get(Group, harvest.group_id)
    variant = db.session.get(Variant, harvest.variant_id)
    if from_lots is not None and lots is not None:
        raise field_error("from_lots", _("Give either the members' quantities or the lots taken in, not both."))
    if from_lots is None:
        read = _read_lots(group, variant, lots)
    else:
        chosen = taken_in.read_chosen(group, variant, from_lots)
    harvest = r.lock_harvest(harvest)
    if key and harvest.record_key == key:  # a twin sent at the same moment went first
        return _replayed(harvest, retry.fingerprint), False
    if harvest.status not in r.OPEN:
        raise Conflict(_l("This harvest was recorded already."), {"status": [harvest.status.value]})
    if from_lots is None:
        supply = [[_receive(actor, group, variant, harvest, row), row["quantity"]] for row in read]
    else:
        supply = [[lot, counted] for lot, counted in taken_in.take(harvest, chosen)]
    for lot, counted in supply:
        db.session.add(HarvestLot(harvest_id=harvest.id, lot_id=lot.id, quantity=counted))
    came_in = sum((counted for _lot, counted in supply), Decimal(0))
    waiting = r.pre_orders_of(harvest, PreOrderStatus.placed)
    given = share_out(
        harvest.shortfall_rule,
        [p.quantity for p in waiting],
        came_in,
        r.step_of(r.unit_of(group, variant).whole),
    )
    for pre_order, got in zip(waiting, given, strict=True):
        _fill(actor, harvest, pre_order, got, supply)
    harvest.harvested = came_in
    harvest.record_key = key
    harvest.record_hash = retry.fingerprint if key else None
    harvest.recorded_at = utcnow()
    r.move(harvest, HarvestStatus.harvested, actor.id)
    r.moved_catalog()
    db.session.flush()
    settle_if_done(harvest, actor.id)
    return harvest, True


def _receive(actor: User, group: Group, variant: Variant, harvest: Harvest, row: dict) -> Lot:
    """A member's quantity in as her lot, through the ordinary intake."""
    return stock.receive_contribution(
        actor,
        group,
        variant_id=variant.id,
        member_id=row["member_id"],
        quantity=row["quantity"],
        grade=row["grade"],
        note=f"harvest {harvest.id}",
    )


def _replayed(harvest: Harvest, fingerprint: str) -> Harvest:
    """The harvest as first recorded, for a retry with its key; another request with that key is a 422."""
    replayed(SimpleNamespace(request_hash=harvest.record_hash), fingerprint)
    return harvest


def _set_aside(actor: User, order: Order, quantity: Decimal, supply: list) -> None:
    """Set aside `quantity` for the order's one line from the lots in turn (so each unit names its member)."""
    line = order.lines[0]
    for entry in supply:
        if quantity <= 0:
            break
        lot, left = entry
        take = min(left, quantity)
        if take > 0:
            market.set_aside(actor, line, lot, take)
            entry[1] -= take
            quantity -= take


def _fill(actor: User, harvest: Harvest, pre_order: PreOrder, got: Decimal, supply: list) -> None:
    order = market.lock_order(db.session.get(Order, pre_order.order_id))
    pre_order.filled = got
    pre_order.updated_at = utcnow()
    reason = _("The harvest came in smaller than expected")
    if got == pre_order.quantity:
        pre_order.status = PreOrderStatus.filled
        _set_aside(actor, order, got, supply)
        return
    if got == 0:
        pre_order.status = PreOrderStatus.unfilled  # first: its order is cancelled only with it
        market.cancel(actor, order, reason)
        pre_order.refunded = give_back(actor, order, reason)
        return
    pre_order.status = PreOrderStatus.part_filled
    line = order.lines[0]
    part_total = market.line_total(line.unit_price, got)
    if not order.refunded and part_total >= order.paid:
        # The order shrinks: the part not filled is split off and cancelled; what was paid stays as a credit
        # towards what it got.
        split = market.split_order(actor, order, {line.id: got})
        market.cancel(actor, split.rest, reason)
        db.session.expire(split.part, ["lines"])
        _set_aside(actor, split.part, got, supply)
        return
    # More was paid than what it got is worth: the order is cancelled with everything paid given back, and what
    # it got is an order of its own.
    money = held(order)
    market.cancel(actor, order, reason)
    pre_order.refunded = give_back(actor, order, reason, money)
    group = db.session.get(Group, harvest.group_id)
    variant = db.session.get(Variant, harvest.variant_id)
    smaller = market.place_without_stock(
        actor,
        db.session.get(User, pre_order.buyer_id),
        group,
        OrderKind.pre_order,
        [(variant, got, line.unit_price)],
        fulfilment_method=order.fulfilment_method,
        fulfilment_date=order.fulfilment_date,
        payment_method=order.payment_method,
        address=order.address,
        note=order.note,
    )
    pre_order.order_id = smaller.id
    _set_aside(actor, smaller, got, supply)


def orders_of(harvest: Harvest) -> list[Order]:
    """The orders of the harvest's pre-orders now (an order shrunk by the harvest's sharing out among them)."""
    ids = select(PreOrder.order_id).where(PreOrder.harvest_id == harvest.id)
    return list(db.session.scalars(select(Order).where(Order.id.in_(ids)).order_by(Order.id)))


def settle_if_done(harvest: Harvest, actor_id: int | None) -> None:
    """A harvest whose pre-orders' orders are all completed or cancelled is done."""
    if harvest.status != HarvestStatus.harvested:
        return
    if all(o.status in (OrderStatus.completed, OrderStatus.cancelled) for o in orders_of(harvest)):
        r.move(harvest, HarvestStatus.done, actor_id)
        db.session.flush()


def on_order_moved(order: Order, to: OrderStatus, actor_id: int | None) -> None:
    """marketplace.signals.order_moved: before the harvest, a pre-order's order is cancelled only with its
    pre-order (cancel the pre-order, or the harvest shares it out); after it, it is an order like any other, and
    cancelling it cancels the pre-order and gives back the money it holds (preorders.let_go). Its completion or
    cancellation may make the harvest done."""
    if order.kind != OrderKind.pre_order:
        return
    pre_order = db.session.scalar(select(PreOrder).where(PreOrder.order_id == order.id))
    if pre_order is None:
        return
    if to == OrderStatus.cancelled and pre_order.status == PreOrderStatus.placed:
        raise Conflict(_l("This order is a harvest pre-order's: cancel the pre-order instead."))
    if (
        to == OrderStatus.cancelled
        and pre_order.status in SHARED_OUT
        and db.session.get(Harvest, pre_order.harvest_id).status not in r.OPEN  # not the sharing out itself
    ):
        let_go(order, pre_order, actor_id)
    if to in (OrderStatus.completed, OrderStatus.cancelled):
        harvest = r.lock_harvest(db.session.get(Harvest, pre_order.harvest_id))  # after the order's lock
        settle_if_done(harvest, actor_id)


def lots_of(harvest: Harvest) -> list[tuple[Lot, Decimal]]:
    """The harvest's lots, each with what the harvest counted of it."""
    rows = db.session.execute(
        select(Lot, HarvestLot.quantity)
        .join(HarvestLot, HarvestLot.lot_id == Lot.id)
        .where(HarvestLot.harvest_id == harvest.id)
        .order_by(Lot.id)
    )
    return [(lot, lot.quantity if counted is None else counted) for lot, counted in rows]
