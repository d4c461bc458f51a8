"""What the rules of buying share: limits, the order statuses' moves and their labels, money of a line."""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.errors import Conflict, field_error
from core.money import MAX_AMOUNT, format_rupiah
from core.types import utcnow
from core.validation import optional_text
from marketplace.models import (
    FulfilmentMethod,
    Order,
    OrderStatus,
)

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
                status=status_label(order.status, order.fulfilment_method),
                to=status_label(to, order.fulfilment_method),
            ),
            {"status": [str(order.status.value)]},
        )


def status_label(status: OrderStatus, fulfilment: FulfilmentMethod | str | None = None) -> str:
    """An order status as people read it; a packed order is ready for pickup or for delivery, by its `fulfilment`."""
    if status == OrderStatus.ready and fulfilment is not None:
        if FulfilmentMethod(fulfilment) == FulfilmentMethod.delivery:
            return _("ready for delivery")
        return _("ready for pickup")
    return {
        OrderStatus.placed: _("placed"),
        OrderStatus.confirmed: _("confirmed"),
        OrderStatus.ready: _("ready"),
        OrderStatus.completed: _("completed"),
        OrderStatus.cancelled: _("cancelled"),
        OrderStatus.expired: _("expired"),
    }[OrderStatus(status)]


def today_wib() -> date:
    """Today in Blitar, on the clock services stamp by (core.types.utcnow)."""
    return utcnow().astimezone(WIB).date()


def line_total(unit_price: int, quantity: Decimal) -> int:
    """Price of a line in whole rupiah: unit price times quantity, half a rupiah rounded up."""
    return int((Decimal(unit_price) * quantity).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def require_within_ceiling(order: Order) -> None:
    """409 for an order whose total is above MAX_AMOUNT: one written before checkout checked the ceiling takes no
    payment and is never completed, so that no amount above the ceiling reaches the books."""
    if order.total > MAX_AMOUNT:
        raise Conflict(
            _l(
                "This order comes to more than %(amount)s, the most one order may be; it can be neither paid "
                "nor completed.",
                amount=format_rupiah(MAX_AMOUNT),
            ),
            {"total": [_("At most %(amount)s.", amount=format_rupiah(MAX_AMOUNT))]},
        )


def read_fulfilment(data, default_method: str | None = None) -> tuple[FulfilmentMethod, str | None, str | None]:
    """How an order is to be handed over, from a request's `fulfilment`: the method (pickup or delivery;
    `default_method` when it names none, or when `fulfilment` is missing), the address (a delivery needs one)
    and a note. A 422 names the field that is wrong."""
    if data is None and default_method:
        return FulfilmentMethod(default_method), None, None
    if not isinstance(data, dict):
        raise field_error("fulfilment", _("Choose pickup or delivery."))
    try:
        method = FulfilmentMethod(data.get("method") or default_method)
    except ValueError:
        raise field_error("fulfilment.method", _("Choose pickup or delivery.")) from None
    address = optional_text(data.get("address"), "fulfilment.address", ADDRESS_MAX_LENGTH)
    if method == FulfilmentMethod.delivery and not address:
        raise field_error("fulfilment.address", _("Give the delivery address."))
    return method, address, optional_text(data.get("note"), "fulfilment.note", NOTE_MAX_LENGTH)
