"""Checkout: every line reserved in one transaction, all or nothing, and one order per group.

A retried checkout with the same Idempotency-Key returns the first one.
"""

import functools
from collections import OrderedDict
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import NamedTuple

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Row, bindparam, insert, or_, select
from sqlalchemy.exc import IntegrityError

from accounts.models import User
from core.database import reads_first
from core.errors import ValidationFailed, field_error
from core.extensions import db
from core.formatting import format_day
from core.idempotency import read_key, replayed, request_fingerprint
from core.money import MAX_AMOUNT, MAX_UNIT_PRICE, format_rupiah
from core.quantity import MAX_QUANTITY, QuantityError, parse_quantity
from core.types import utcnow
from core.validation import ID_MAX
from groups import opening
from groups.models import Group, Member, Role
from inventory import services as stock
from inventory.models import Product, ProductStatus, Variant
from inventory.units import BUILTIN_UNITS
from marketplace.models import (
    Checkout,
    FulfilmentMethod,
    Order,
    OrderEvent,
    OrderKind,
    OrderLine,
    OrderStatus,
    PaymentMethod,
)
from marketplace.order_payments import order_payments
from marketplace.services.expiry import _hold_releasing_overdue
from marketplace.services.records import (
    MAX_DAYS_AHEAD,
    MAX_LINES,
    line_total,
    read_fulfilment,
    today_wib,
)

# --- checkout --------------------------------------------------------------------------


def _clean_fulfilment(data) -> dict:
    method, address, note = read_fulfilment(data)
    day = data.get("date")
    if day in (None, ""):
        day = None  # the next day every group of the checkout is open (_fulfilment_day)
    else:
        try:
            day = day if isinstance(day, date) else date.fromisoformat(str(day))
        except ValueError:
            raise field_error("fulfilment.date", _("Use a date such as 2026-11-28.")) from None
        if not today_wib() <= day <= today_wib() + timedelta(days=MAX_DAYS_AHEAD):
            raise field_error("fulfilment.date", _("Choose a day from today to %(n)d days ahead.", n=MAX_DAYS_AHEAD))
    return {
        "method": method,
        "address": address if method == FulfilmentMethod.delivery else None,
        "note": note,
        "date": day,
    }


def first_fulfilment_day(groups: Iterable[Group]) -> date:
    """The day checkout offers: the next one on which every one of `groups` is open (today when they share none,
    which checkout then refuses with its reason)."""
    today = today_wib()
    found = opening.next_open_day((g.open_days for g in groups), today, today + timedelta(days=MAX_DAYS_AHEAD))
    return found or today


def _fulfilment_day(day: date | None, lines: list[tuple[Row, Decimal]]) -> date:
    """The pickup or delivery day: the one asked for, if every group of the checkout is open that day; without
    one, the next day they all are (today at the earliest)."""
    groups = {variant.group_id: variant for variant, _quantity in lines}
    today = today_wib()
    last = today + timedelta(days=MAX_DAYS_AHEAD)
    if day is None:
        found = opening.next_open_day((g.open_days for g in groups.values()), today, last)
        if found is None:
            raise field_error(
                "fulfilment.date",
                _("These groups have no day in common on which they are all open. Order from them separately."),
            )
        return found
    closed = [g for g in groups.values() if not opening.is_open(g.open_days, day)]
    if closed:
        suggestion = opening.next_open_day((g.open_days for g in groups.values()), today, last)
        message = _(
            "%(group)s is closed on %(weekday)s. Open days: %(days)s.",
            group=closed[0].group_name,
            weekday=opening.day_name(day.isoweekday()),
            days=opening.describe(closed[0].open_days),
        )
        if suggestion is not None:
            message += " " + _("The next day open is %(day)s.", day=format_day(suggestion))
        raise field_error("fulfilment.date", message)
    return day


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
            _groups.c.verified.label("group_verified"),
            _groups.c.pickup_point,
            _groups.c.pickup_hours,
            _groups.c.open_days,
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
    """Each line's variant (active, of an active product, of a verified group) and exact quantity; duplicates
    merged. A group that is not verified takes no money: its goods are not for sale.

    A variant comes as a row of what an order line keeps of it (see _variants_for_sale).
    Every amount stays under its ceiling before anything is written: a variant priced
    above MAX_UNIT_PRICE (kept from before prices were capped) is not for sale, and a
    line, and so each order and the checkout, comes to at most MAX_AMOUNT.
    """
    if not isinstance(lines, list) or not lines:
        raise field_error("lines", _("Add at least one product."))
    if len(lines) > MAX_LINES:
        raise field_error("lines", _("At most %(n)d lines in one checkout.", n=MAX_LINES))
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
    ceiling = format_rupiah(MAX_AMOUNT)
    units: dict[int, dict] = {}  # each group's units, built-in and its own (`ikat`, `ember`...)
    checkout_total = 0
    for variant_id, entries in wanted.items():
        variant = variants.get(variant_id)
        if (
            variant is None
            or not variant.active
            or variant.product_status != ProductStatus.active
            or variant.unit_price > MAX_UNIT_PRICE
            or not variant.group_verified
        ):
            for i, _q in entries:
                errors[f"lines.{i}.variant_id"] = [_("This product is not for sale.")]
            continue
        unit = BUILTIN_UNITS.get(variant.unit)  # a group cannot define a built-in code again
        if unit is None:  # only a group's own unit needs its units read
            if variant.group_id not in units:
                units[variant.group_id] = stock.group_units(db.session.get(Group, variant.group_id))
            unit = units[variant.group_id].get(variant.unit) or BUILTIN_UNITS["pcs"]
        total, readable = Decimal(0), True
        for i, raw in entries:
            try:
                total += parse_quantity(raw, whole=unit.whole)
            except QuantityError as exc:
                errors[f"lines.{i}.quantity"] = [stock.quantity_message(exc, unit)]
                readable = False
        cleaned.append((variant, total))
        first = entries[0][0]
        if not readable:
            continue
        if total > MAX_QUANTITY:  # the same variant on several lines, merged
            errors[f"lines.{first}.quantity"] = [_("That quantity is too large.")]
        elif (amount := line_total(variant.unit_price, total)) > MAX_AMOUNT:
            errors[f"lines.{first}.quantity"] = [
                _("This line comes to more than %(amount)s, the most one order may be.", amount=ceiling)
            ]
        else:
            checkout_total += amount
    if errors:
        raise ValidationFailed(errors=errors)
    if checkout_total > MAX_AMOUNT:  # so is each order: it is a part of the checkout
        message = _l("This checkout comes to more than %(amount)s, the most one checkout may be.", amount=ceiling)
        raise ValidationFailed(message, {"lines": [str(message)]})
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
    verified: bool  # always, at checkout: an unverified group's goods are not for sale


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
            raise field_error("payment_method", _("Choose card, cash or transfer.")) from None
        if not order_payments().available(payment_method):
            raise field_error(
                "payment_method", _("Card payments are not available right now. Please pay in cash or by transfer.")
            )
        fulfilment = _clean_fulfilment(fulfilment)
        lines = _clean_lines(lines, buyer)
        fulfilment["date"] = _fulfilment_day(fulfilment["date"], lines)

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
                "kind": OrderKind.stock,
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
            variant.group_verified,
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
