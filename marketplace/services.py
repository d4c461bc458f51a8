"""The rules of buying: checkout across groups, orders that never oversell, and their lifecycle.

A checkout reserves every line in one transaction, all or nothing, and makes
one order per group. A retried checkout with the same Idempotency-Key returns
the first one. Each status change happens under a row lock and is recorded as
an order event; packing takes units from members' lots first in, first out.
"""

import functools
from collections import OrderedDict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace
from typing import NamedTuple
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Row, bindparam, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from accounts.models import User
from accounts.services import require_login
from core.database import reads_first
from core.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from core.extensions import db
from core.idempotency import KEY_MAX_LENGTH, read_key, replayed, request_fingerprint  # noqa: F401  (views, schemas)
from core.money import format_rupiah
from core.quantity import QuantityError, format_quantity, parse_quantity
from core.types import utcnow
from core.validation import ID_MAX, has_control_chars, row_by_id
from groups.models import Group, Member, Role
from groups.services import authorize, membership, require_role
from inventory import services as stock
from inventory.models import Product, ProductStatus, Variant
from inventory.units import BUILTIN_UNITS
from marketplace.models import (
    OPEN_STATUSES,
    Checkout,
    FulfilmentMethod,
    Order,
    OrderEvent,
    OrderLine,
    OrderLineLot,
    OrderStatus,
    PaymentMethod,
)
from marketplace.order_payments import order_payments
from revenue.services import accrual as revenue

WIB = ZoneInfo("Asia/Jakarta")
MAX_LINES = 50
ADDRESS_MAX_LENGTH = 500
NOTE_MAX_LENGTH = 500
MAX_DAYS_AHEAD = 30

# Which status may follow which, and who may make the move.
TRANSITIONS: dict[OrderStatus, tuple[OrderStatus, ...]] = {
    OrderStatus.placed: (OrderStatus.confirmed, OrderStatus.cancelled, OrderStatus.expired),
    OrderStatus.confirmed: (OrderStatus.ready, OrderStatus.cancelled, OrderStatus.expired),
    OrderStatus.ready: (OrderStatus.completed,),
    OrderStatus.completed: (),
    OrderStatus.cancelled: (),
    OrderStatus.expired: (),
}
# The one way back from a final status, taken by no one but a card payment that arrived after its order expired
# (reinstate_expired): to the status the order expired from.
REINSTATED_FROM = {OrderStatus.expired: (OrderStatus.placed, OrderStatus.confirmed)}


class TransitionNotAllowed(Conflict):
    """The order cannot move to that status from where it is."""

    def __init__(self, order: Order, to: OrderStatus):
        super().__init__(
            _l(
                "This order is %(status)s and cannot become %(to)s.",
                status=status_label(order.status),
                to=status_label(to),
            ),
            {"status": [str(order.status.value)]},
        )


def status_label(status: OrderStatus) -> str:
    return {
        OrderStatus.placed: _("placed"),
        OrderStatus.confirmed: _("confirmed"),
        OrderStatus.ready: _("ready"),
        OrderStatus.completed: _("completed"),
        OrderStatus.cancelled: _("cancelled"),
        OrderStatus.expired: _("expired"),
    }[OrderStatus(status)]


def today_wib() -> date:
    return datetime.now(WIB).date()


def line_total(unit_price: int, quantity: Decimal) -> int:
    """Price of a line in whole rupiah: unit price times quantity, half a rupiah rounded up."""
    return int((Decimal(unit_price) * quantity).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --- checkout --------------------------------------------------------------------------


def _error(field: str, message) -> ValidationFailed:
    return ValidationFailed(errors={field: [str(message)]})


def _text(value, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or has_control_chars(value, allow="\n\r\t"):
        raise _error(field, _("Not a valid text."))
    value = value.strip()
    if len(value) > limit:
        raise _error(field, _("Use at most %(n)d characters.", n=limit))
    return value or None


def _clean_fulfilment(data) -> dict:
    if not isinstance(data, dict):
        raise _error("fulfilment", _("Choose pickup or delivery."))
    try:
        method = FulfilmentMethod(data.get("method"))
    except ValueError:
        raise _error("fulfilment.method", _("Choose pickup or delivery.")) from None
    address = _text(data.get("address"), "fulfilment.address", ADDRESS_MAX_LENGTH)
    if method == FulfilmentMethod.delivery and not address:
        raise _error("fulfilment.address", _("Give the delivery address."))
    note = _text(data.get("note"), "fulfilment.note", NOTE_MAX_LENGTH)
    day = data.get("date")
    if day in (None, ""):
        day = today_wib()
    else:
        try:
            day = day if isinstance(day, date) else date.fromisoformat(str(day))
        except ValueError:
            raise _error("fulfilment.date", _("Use a date such as 2026-11-28.")) from None
        if not today_wib() <= day <= today_wib() + timedelta(days=MAX_DAYS_AHEAD):
            raise _error("fulfilment.date", _("Choose a day from today to %(n)d days ahead.", n=MAX_DAYS_AHEAD))
    return {
        "method": method,
        "address": address if method == FulfilmentMethod.delivery else None,
        "note": note,
        "date": day,
    }


# The checkout's statements are built once (one per number of rows or variants, for those that take several),
# so SQLAlchemy compiles each once and keeps it in its compiled cache.
_variants, _products, _groups, _members = Variant.__table__, Product.__table__, Group.__table__, Member.__table__
_keeps_books = (
    select(_members.c.id)
    .where(
        _members.c.group_id == _variants.c.group_id,
        _members.c.user_id == bindparam("buyer_id"),
        _members.c.active.is_(True),
        or_(_members.c.role == Role.coordinator, _members.c.role == Role.treasurer),
    )
    .exists()
    .label("buyer_keeps_books")
)


@functools.cache
def _variants_for_sale(count: int):
    """Each of `count` variants (`variant_0`...) with what its order shows of its group, and whether the buyer
    keeps that group's books (coordinator or treasurer: they see lot allocations and card fees)."""
    return (
        select(
            _variants.c.id,
            _variants.c.group_id,
            _variants.c.label,
            _variants.c.unit_price,
            _variants.c.active,
            _products.c.name.label("product_name"),
            _products.c.unit,
            _products.c.status.label("product_status"),
            _groups.c.name.label("group_name"),
            _groups.c.pickup_point,
            _groups.c.pickup_hours,
            _groups.c.bank_name,
            _groups.c.bank_account_number,
            _groups.c.bank_account_holder,
            _keeps_books,
        )
        .join(_products, _products.c.id == _variants.c.product_id)
        .join(_groups, _groups.c.id == _variants.c.group_id)
        .where(_variants.c.id.in_([bindparam(f"variant_{i}", type_=_variants.c.id.type) for i in range(count)]))
    )


_FIND_CHECKOUT = select(Checkout).where(
    Checkout.buyer_id == bindparam("buyer_id"), Checkout.idempotency_key == bindparam("key")
)
_checkouts, _orders, _lines, _events = (Checkout.__table__, Order.__table__, OrderLine.__table__, OrderEvent.__table__)
# Every value written is known before it is written but the ids, so each INSERT returns only the ids and what
# tells its rows apart within a checkout: an order by its group, a line by its order and variant. Several rows
# go as one statement of as many rows (SQLAlchemy's "insertmanyvalues"); they come back in any order.
_INSERT_CHECKOUT = insert(_checkouts).returning(_checkouts.c.id)
_INSERT_ORDERS = insert(_orders).returning(_orders.c.id, _orders.c.group_id)
_INSERT_LINES = insert(_lines).returning(_lines.c.id, _lines.c.order_id, _lines.c.variant_id)
_INSERT_EVENTS = insert(_events)


def _clean_lines(lines, buyer: User) -> list[tuple[Row, Decimal]]:
    """Each line's variant (active, of an active product) and exact quantity; duplicates merged.

    A variant comes as a row of what an order line keeps of it (see _variants_for_sale).
    """
    if not isinstance(lines, list) or not lines:
        raise _error("lines", _("Add at least one product."))
    if len(lines) > MAX_LINES:
        raise _error("lines", _("At most %(n)d lines in one checkout.", n=MAX_LINES))
    wanted: OrderedDict[int, object] = OrderedDict()
    errors: dict = {}
    for i, line in enumerate(lines):
        if not isinstance(line, dict):
            errors[f"lines.{i}"] = [_("Not a valid line.")]
            continue
        variant_id = line.get("variant_id")
        if isinstance(variant_id, bool) or not isinstance(variant_id, int) or not 0 < variant_id <= ID_MAX:
            errors[f"lines.{i}.variant_id"] = [_("Not a valid id.")]
            continue
        wanted.setdefault(variant_id, [])
        wanted[variant_id].append((i, line.get("quantity")))
    if errors:
        raise ValidationFailed(errors=errors)
    params = {f"variant_{i}": variant_id for i, variant_id in enumerate(wanted)}
    params["buyer_id"] = buyer.id
    variants = {v.id: v for v in db.session.connection().execute(_variants_for_sale(len(wanted)), params)}
    cleaned = []
    units: dict[int, dict] = {}  # each group's units, built-in and its own (`ikat`, `ember`...)
    for variant_id, entries in wanted.items():
        variant = variants.get(variant_id)
        if variant is None or not variant.active or variant.product_status != ProductStatus.active:
            for i, _q in entries:
                errors[f"lines.{i}.variant_id"] = [_("This product is not for sale.")]
            continue
        unit = BUILTIN_UNITS.get(variant.unit)  # a group cannot define a built-in code again
        if unit is None:  # only a group's own unit needs its units read
            if variant.group_id not in units:
                units[variant.group_id] = stock.group_units(db.session.get(Group, variant.group_id))
            unit = units[variant.group_id].get(variant.unit) or BUILTIN_UNITS["pcs"]
        total = Decimal(0)
        for i, raw in entries:
            try:
                total += parse_quantity(raw, whole=unit.whole)
            except QuantityError as exc:
                errors[f"lines.{i}.quantity"] = [stock.quantity_message(exc, unit)]
        cleaned.append((variant, total))
    if errors:
        raise ValidationFailed(errors=errors)
    return cleaned


def find_checkout(buyer: User, key: str) -> Checkout | None:
    return db.session.scalar(_FIND_CHECKOUT, {"buyer_id": buyer.id, "key": key})


class OrderGroup(NamedTuple):
    """What an order shows of its group, and how to pay it by transfer."""

    id: int
    name: str
    pickup_point: str | None
    pickup_hours: str | None
    bank_name: str | None
    bank_account_number: str | None
    bank_account_holder: str | None


class Placed:
    """A checkout placed (or found again for a retry), with what placing it read that its answer shows.

    A new checkout comes as what was just written: `written` holds it as a plain
    record (the checkout, its `orders`, each with its `lines` and `events`, named as
    the objects name them), `groups` each order's group and `insiders` the groups
    whose books the buyer keeps, as read while placing it. Its orders are fresh: no
    payments, refunds or lot allocations yet. `checkout` is the checkout as the ORM
    reads it, read when first asked for. A retry has only `checkout`: the first
    checkout may have moved on since, and is read again.
    """

    def __init__(
        self,
        created: bool,
        checkout: Checkout | None = None,
        written: SimpleNamespace | None = None,
        groups: dict[int, OrderGroup] | None = None,
        insiders: frozenset[int] | None = None,
    ):
        self.created, self._checkout, self.written = created, checkout, written
        self.groups, self.insiders = groups, insiders

    @property
    def checkout(self) -> Checkout:
        if self._checkout is None:
            self._checkout = db.session.get(Checkout, self.written.id)
        return self._checkout


def place_checkout(
    buyer: User, lines, fulfilment, payment_method, idempotency_key: str | None = None
) -> tuple[Checkout, bool]:
    """Reserve every line and make one order per group; returns (checkout, created).

    All or nothing: InsufficientStock (409) lists every short line and nothing is
    held. The same key with the same body returns the first checkout; with another
    body it is refused (422).
    """
    placed = place(buyer, lines, fulfilment, payment_method, idempotency_key)
    return placed.checkout, placed.created


def place(buyer: User, lines, fulfilment, payment_method, idempotency_key: str | None = None) -> Placed:
    """place_checkout, keeping what it read of the orders' groups for the answer.

    `lines`, `fulfilment` and `payment_method` are the parts of a checkout as the
    buyer sent them (CheckoutIn checked their shape; the checkout page sends the
    same): each value is checked here, a bad one answered with its own message
    keyed by where it is (`lines.<n>.quantity`), after a retry is recognised by its
    key and the fingerprint of those parts.
    """
    key = read_key(idempotency_key)
    fingerprint = request_fingerprint({"lines": lines, "fulfilment": fulfilment, "payment_method": payment_method})
    # What the body asks for is read before anything is written: on SQLite outside the write lock.
    # The writes stay safe on what they find then: stock is guarded in SQL, the key by a unique index.
    with reads_first():
        if key:
            existing = find_checkout(buyer, key)
            if existing is not None:
                return Placed(False, replayed(existing, fingerprint, _l("Use a new key for a new checkout.")))
        try:
            payment_method = PaymentMethod(payment_method)
        except ValueError:
            raise _error("payment_method", _("Choose card, cash or transfer.")) from None
        if not order_payments().available(payment_method):
            raise _error(
                "payment_method", _("Card payments are not available right now. Please pay in cash or by transfer.")
            )
        fulfilment = _clean_fulfilment(fulfilment)
        lines = _clean_lines(lines, buyer)

    # Everything the writes need is built here, before the first of them takes SQLite's write lock: from
    # there to the commit only the statements run, each given the ids the one before returned.
    now = utcnow()
    by_group: OrderedDict[int, list[tuple[Row, Decimal]]] = OrderedDict()
    for variant, quantity in sorted(lines, key=lambda item: (item[0].group_id, item[0].id)):
        by_group.setdefault(variant.group_id, []).append((variant, quantity))
    window = current_app.config.get("CARD_PAYMENT_WINDOW_MINUTES", 30)
    expires_at = now + timedelta(minutes=window) if payment_method == PaymentMethod.card else None
    order_params, line_params = [], []  # the lines' with their order's group, whose id comes later
    for group_id, group_lines in by_group.items():
        group_total = 0
        for variant, quantity in group_lines:
            total = line_total(variant.unit_price, quantity)
            group_total += total
            line_params.append(
                (
                    group_id,
                    {
                        "variant_id": variant.id,
                        "product_name": variant.product_name,
                        "variant_label": variant.label,
                        "unit": variant.unit,
                        "quantity": quantity,
                        "unit_price": variant.unit_price,
                        "total": total,
                    },
                )
            )
        order_params.append(
            {
                "group_id": group_id,
                "buyer_id": buyer.id,
                "status": OrderStatus.placed,
                "payment_method": payment_method,
                "fulfilment_method": fulfilment["method"],
                "fulfilment_date": fulfilment["date"],
                "address": fulfilment["address"],
                "note": fulfilment["note"],
                "total": group_total,
                "paid": 0,
                "refunded": 0,
                "card_fees": 0,
                "currency": "IDR",
                "expires_at": expires_at,
                "created_at": now,
                "updated_at": now,
            }
        )
    checkout_params = {
        "buyer_id": buyer.id,
        "idempotency_key": key,
        "request_hash": fingerprint,
        # the sum of the orders' totals, known now: no UPDATE later
        "total": sum(params["total"] for params in order_params),
        "payment_method": payment_method,
        "created_at": now,
    }
    event = {
        "actor_id": buyer.id,
        "from_status": None,
        "to_status": OrderStatus.placed,
        "note": None,
        "created_at": now,
    }
    reservation = stock.Reservation(
        [stock.StockLine(variant.id, quantity) for variant, quantity in lines], actor_id=buyer.id
    )
    groups = {
        variant.group_id: OrderGroup(
            variant.group_id,
            variant.group_name,
            variant.pickup_point,
            variant.pickup_hours,
            variant.bank_name,
            variant.bank_account_number,
            variant.bank_account_holder,
        )
        for variant, _quantity in lines
    }
    insiders = frozenset(variant.group_id for variant, _quantity in lines if variant.buyer_keeps_books)
    # Each runs on the session's connection: Core statements, with no objects for the session to flush.
    connection = db.session.connection()
    try:
        # Claims the key first: a concurrent twin waits here, then replays.
        checkout_id = connection.execute(_INSERT_CHECKOUT, checkout_params).scalar_one()
    except IntegrityError:
        db.session.rollback()
        existing = find_checkout(buyer, key) if key else None
        if existing is None:
            raise
        return Placed(False, replayed(existing, fingerprint, _l("Use a new key for a new checkout.")))
    for params in order_params:
        params["checkout_id"] = checkout_id
    order_of_group = {row.group_id: row.id for row in connection.execute(_INSERT_ORDERS, order_params)}
    for group_id, params in line_params:
        params["order_id"] = order_of_group[group_id]
    lines_written = [params for _group_id, params in line_params]
    line_ids = {(row.order_id, row.variant_id): row.id for row in connection.execute(_INSERT_LINES, lines_written)}
    events = [{"order_id": order_id, **event} for order_id in order_of_group.values()]
    connection.execute(_INSERT_EVENTS, events)
    references = {variant_id: f"order_line:{line_id}" for (_order_id, variant_id), line_id in line_ids.items()}
    _hold_releasing_overdue(lambda: reservation.hold(references, connection), now)
    written = _written(
        {**checkout_params, "id": checkout_id}, order_params, order_of_group, lines_written, line_ids, events
    )
    return Placed(True, written=written, groups=groups, insiders=insiders)


def _written(
    checkout: dict,
    orders: list[dict],
    order_of_group: dict[int, int],
    lines: list[dict],
    line_ids: dict[tuple[int, int], int],
    events: list[dict],
) -> SimpleNamespace:
    """What a checkout just wrote, as plain records of the checkout, its orders, their lines and events, named
    and ordered as the objects and their relationships are."""
    records = {}
    for order in orders:
        order_id = order_of_group[order["group_id"]]
        records[order_id] = SimpleNamespace(**order, id=order_id, lines=[], events=[])
    for line in sorted(lines, key=lambda line: line_ids[line["order_id"], line["variant_id"]]):
        records[line["order_id"]].lines.append(
            SimpleNamespace(**line, id=line_ids[line["order_id"], line["variant_id"]], allocations=[])
        )
    for event in events:
        records[event["order_id"]].events.append(SimpleNamespace(**event))
    return SimpleNamespace(**checkout, orders=[records[order_id] for order_id in sorted(records)])


# --- fetching and permission --------------------------------------------------------------


def get_checkout_or_404(checkout_id: int) -> Checkout:
    """The caller's own checkout; anyone else's is as unknown as a missing one."""
    user = require_login()
    checkout = row_by_id(Checkout, checkout_id)
    if checkout is None or checkout.buyer_id != user.id:
        raise NotFound(_l("Checkout not found."))
    return checkout


def get_order_or_404(order_id: int) -> Order:
    """An order the caller may see: their own, or one of a group they coordinate or keep the books of."""
    user = require_login()
    order = row_by_id(Order, order_id)
    if order is None or not can_view(order, user):
        raise NotFound(_l("Order not found."))
    return order


def can_view(order: Order, user) -> bool:
    if order.buyer_id == user.id or user.is_admin:
        return True
    member = membership(db.session.get(Group, order.group_id), user)
    return member is not None and member.role in (Role.coordinator, Role.treasurer)


def groups_seeing_allocations(user, group_ids) -> set[int]:
    """Of `group_ids`, those whose coordinator or treasurer `user` is: only they see whose lots supplied an order."""
    if user is None or not user.is_authenticated or not group_ids:
        return set()
    return set(
        db.session.scalars(
            select(Member.group_id).where(
                Member.group_id.in_(set(group_ids)),
                Member.user_id == user.id,
                Member.active.is_(True),
                Member.role.in_((Role.coordinator, Role.treasurer)),
            )
        )
    )


def manages(order: Order, user) -> bool:
    """Whether the user coordinates the order's group (for showing actions; services check again)."""
    member = membership(db.session.get(Group, order.group_id), user)
    return member is not None and member.role == Role.coordinator


def _require_coordinator(actor: User, order: Order) -> None:
    """401 or 403 unless `actor` coordinates the order's group."""
    authorize(actor, db.session.get(Group, order.group_id), Role.coordinator)


def _lock(order: Order) -> Order:
    """Re-read the order under a row lock (PostgreSQL; SQLite writers hold the database lock)."""
    query = select(Order).where(Order.id == order.id).execution_options(populate_existing=True)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return db.session.scalar(query)


def _move(order: Order, to: OrderStatus, actor_id: int | None, note: str | None = None) -> Order:
    if to not in TRANSITIONS[order.status]:
        raise TransitionNotAllowed(order, to)
    db.session.add(OrderEvent(order_id=order.id, actor_id=actor_id, from_status=order.status, to_status=to, note=note))
    order.status = to
    order.updated_at = utcnow()
    return order


def _stock_lines(order: Order) -> list:
    return [stock.StockLine(line.variant_id, line.quantity, f"order_line:{line.id}") for line in order.lines]


def _release(order: Order, actor_id: int | None) -> None:
    stock.release(_stock_lines(order), actor_id=actor_id)


def reinstate_expired(order: Order, note: str) -> bool:
    """An expired order stands again when its stock can still be reserved (a card payment for it went through
    after it expired): back to the status it expired from, its reservation made again, as an event by no one.
    False, changing nothing, when the stock is no longer there. The order is locked by the caller."""
    if order.status not in REINSTATED_FROM:
        raise TransitionNotAllowed(order, OrderStatus.placed)
    try:
        with db.session.begin_nested():
            _hold_releasing_overdue(lambda: stock.reserve(_stock_lines(order), actor_id=None), utcnow())
    except stock.InsufficientStock:
        return False
    before = db.session.scalar(
        select(OrderEvent.from_status)
        .where(OrderEvent.order_id == order.id, OrderEvent.to_status == order.status)
        .order_by(OrderEvent.id.desc())
        .limit(1)
    )
    back = before if before in REINSTATED_FROM[order.status] else OrderStatus.placed
    db.session.add(OrderEvent(order_id=order.id, actor_id=None, from_status=order.status, to_status=back, note=note))
    order.status = back
    order.updated_at = utcnow()
    db.session.flush()
    return True


# --- the lifecycle ----------------------------------------------------------------------


def confirm(actor: User, order: Order) -> Order:
    """The coordinator accepts the order."""
    _require_coordinator(actor, order)
    order = _lock(order)
    _move(order, OrderStatus.confirmed, actor.id)
    db.session.flush()
    return order


def mark_ready(actor: User, order: Order) -> Order:
    """Packed: the units leave the members' lots, first in first out, and each line keeps its allocation."""
    _require_coordinator(actor, order)
    order = _lock(order)
    _move(order, OrderStatus.ready, actor.id)
    for line in sorted(order.lines, key=lambda item: item.variant_id):
        draws = stock.consume(
            stock.StockLine(line.variant_id, line.quantity, f"order_line:{line.id}"), actor_id=actor.id
        )
        for draw in draws:
            db.session.add(
                OrderLineLot(
                    order_line_id=line.id, lot_id=draw.lot_id, member_id=draw.member_id, quantity=draw.quantity
                )
            )
    db.session.flush()
    return order


def complete(actor: User, order: Order) -> Order:
    """Handed over to the buyer."""
    _require_coordinator(actor, order)
    order = _lock(order)
    if order.status == OrderStatus.ready and not can_complete(order):
        message = (
            _l("This order is not paid in full: %(owed)s is still owed.", owed=format_rupiah(order.total - order.paid))
            if order.paid < order.total
            else _l("This order's payment was refunded; it cannot be completed.")
        )
        raise Conflict(message, {"payment_status": [payment_status(order)]})
    _move(order, OrderStatus.completed, actor.id)
    _accrue(order, actor.id)
    db.session.flush()
    return order


def _accrue(order: Order, actor_id: int | None) -> None:
    """The order's net revenue, split among the members whose lots supplied it (or the pool) and the fund."""
    lines = [
        revenue.SaleLine(
            line_id=line.id,
            product_name=line.product_name,
            total=line.total,
            lots=[
                revenue.LotShare(
                    member_id=a.member_id,
                    lot_id=a.lot_id,
                    quantity=a.quantity,
                    weight=int(a.quantity * 1000) * line.unit_price,
                )
                for a in line.allocations
            ],
        )
        for line in order.lines
    ]
    revenue.accrue_sale(
        order.group_id,
        order.id,
        lines,
        paid=order.paid,
        refunded=order.refunded,
        fees=order.card_fees,
        actor_id=actor_id,
    )


def cancel(actor: User, order: Order, note=None) -> Order:
    """Cancel before packing: the buyer their own order, or the group's coordinator. Stock is released."""
    if actor is None or not actor.is_authenticated:
        raise Unauthorized()
    note = _text(note, "reason", NOTE_MAX_LENGTH)
    if order.buyer_id != actor.id:
        _require_coordinator(actor, order)
    order = _lock(order)
    _move(order, OrderStatus.cancelled, actor.id, note)
    _release(order, actor.id)
    db.session.flush()
    return order


EXPIRING = (OrderStatus.placed, OrderStatus.confirmed)  # the statuses an unpaid card order expires from


def _overdue(now: datetime) -> tuple:
    """SQL for 'an unpaid card order past its payment window'."""
    return (
        Order.status.in_(EXPIRING),
        Order.payment_method == PaymentMethod.card,
        Order.expires_at.is_not(None),
        Order.expires_at < now,
        ~is_paid_clause(),
    )


def _expire(order: Order) -> None:
    _move(order, OrderStatus.expired, None, "payment window passed")
    _release(order, None)


def expire_orders(now: datetime | None = None, limit: int = 500) -> int:
    """Expire unpaid card orders past their payment window and release their stock; returns how many."""
    now = now or utcnow()
    ids = list(db.session.scalars(select(Order.id).where(*_overdue(now)).order_by(Order.id).limit(limit)))
    expired = 0
    for order_id in ids:
        order = _lock(db.session.get(Order, order_id))
        if order.status not in EXPIRING or order.paid >= order.total:
            continue  # moved on or paid meanwhile
        _expire(order)
        expired += 1
    db.session.flush()
    return expired


def expire_overdue_holding(variant_ids, now: datetime | None = None) -> int:
    """Expire the unpaid card orders past their payment window that hold any of `variant_ids`, and release their
    stock, in the caller's transaction; returns how many.

    For a sale that found those variants short, so it waits for no one: on
    PostgreSQL an order, or a stock row, that another transaction holds is left
    to it (that transaction is moving it now), and each order is expired in a
    savepoint of its own.
    """
    now = now or utcnow()
    holding = select(OrderLine.order_id).where(OrderLine.variant_id.in_(set(variant_ids)))
    query = (
        select(Order)
        .where(*_overdue(now), Order.id.in_(holding))
        .order_by(Order.id)
        .execution_options(populate_existing=True)
    )
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    if postgresql:
        query = query.with_for_update(skip_locked=True)
    expired = 0
    for order in db.session.scalars(query).all():
        try:
            with db.session.begin_nested():
                if postgresql:
                    stock.lock_without_waiting(line.variant_id for line in order.lines)
                _expire(order)
        except stock.StockBusy:
            continue
        expired += 1
    return expired


def _hold_releasing_overdue(hold: Callable[[], None], now: datetime) -> None:
    """Hold stock by `hold`; when it finds a variant short, expire the overdue unpaid card orders holding it and
    try once more: an order whose payment window has passed never blocks a sale."""
    try:
        hold()
    except stock.InsufficientStock as short:
        if not expire_overdue_holding([line["variant_id"] for line in short.shortfalls], now):
            raise
        hold()


# --- reading ------------------------------------------------------------------------------


def buyer_orders_query(user: User, status: str | None = None, day: date | None = None):
    """The buyer's own orders, newest first, filtered by status and fulfilment day."""
    query = select(Order).where(Order.buyer_id == user.id)
    if status:
        query = query.where(Order.status == _status(status))
    if day:
        query = query.where(Order.fulfilment_date == day)
    return query.order_by(Order.id.desc())


def group_orders_query(group: Group, status: str | None = None, day: date | None = None):
    """A group's orders for its coordinator or treasurer, filtered by status and fulfilment day."""
    require_role(group, Role.coordinator, Role.treasurer, allow_admin=True)
    query = select(Order).where(Order.group_id == group.id)
    if status:
        query = query.where(Order.status == _status(status))
    if day:
        query = query.where(Order.fulfilment_date == day)
    return query.order_by(Order.fulfilment_date, Order.id)


def _status(value) -> OrderStatus:
    try:
        return OrderStatus(value)
    except ValueError:
        raise _error("status", _("Unknown status.")) from None


def packing_list(group: Group, day: date) -> dict:
    """What to pack for a fulfilment day: the confirmed and ready orders, and totals per variant."""
    require_role(group, Role.coordinator, Role.treasurer, allow_admin=True)
    orders = list(
        db.session.scalars(
            select(Order)
            .options(selectinload(Order.lines))
            .where(
                Order.group_id == group.id,
                Order.fulfilment_date == day,
                Order.status.in_((OrderStatus.confirmed, OrderStatus.ready)),
            )
            .order_by(Order.fulfilment_method, Order.id)
        )
    )
    totals: OrderedDict[int, dict] = OrderedDict()
    for order in orders:
        for line in order.lines:
            entry = totals.setdefault(
                line.variant_id,
                {
                    "product_name": line.product_name,
                    "variant_label": line.variant_label,
                    "unit": line.unit,
                    "quantity": Decimal(0),
                },
            )
            entry["quantity"] += line.quantity
    buyers = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_({o.buyer_id for o in orders})))}
    return {"day": day, "orders": orders, "totals": list(totals.values()), "buyers": buyers}


def coordinator_contact(group_id: int) -> Member | None:
    """The group's first active coordinator with a phone, for the buyer's WhatsApp link."""
    return db.session.scalar(
        select(Member)
        .where(
            Member.group_id == group_id,
            Member.active.is_(True),
            Member.role == Role.coordinator,
            Member.phone.is_not(None),
        )
        .order_by(Member.id)
        .limit(1)
    )


def payment_status(order: Order) -> str:
    """unpaid, partial, paid, partially_refunded or refunded: from the order's recorded sums."""
    if order.refunded and order.refunded >= order.paid:
        return "refunded"
    if order.refunded:
        return "partially_refunded"
    if not order.paid:
        return "unpaid" if order.total else "paid"
    return "paid" if order.paid >= order.total else "partial"


def is_paid_clause():
    """SQL for 'this order is fully paid'."""
    return Order.paid >= Order.total


def can_complete(order: Order) -> bool:
    """Handed over only when paid in full (a part refunded since is allowed, a full refund is not)."""
    return order.paid >= order.total and (order.refunded < order.paid or order.total == 0)


def require_buyer_or_manager(order: Order) -> None:
    user = require_login()
    if order.buyer_id != user.id and not manages(order, user):
        raise Forbidden()


def order_counts(group: Group) -> dict[str, int]:
    rows = db.session.execute(
        select(Order.status, func.count(Order.id))
        .where(Order.group_id == group.id, Order.status.in_(OPEN_STATUSES))
        .group_by(Order.status)
    )
    return {status.value: n for status, n in rows}


def quantity_text(value: Decimal) -> str:
    return format_quantity(value)
