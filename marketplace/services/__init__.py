"""The rules of buying: checkout across groups, orders that never oversell, and their lifecycle.

A checkout reserves every line in one transaction, all or nothing, and makes
one order per group. A retried checkout with the same Idempotency-Key returns
the first one. Each status change happens under a row lock and is recorded as
an order event; packing takes units from members' lots first in, first out.
"""

from marketplace.services.ahead import held_elsewhere, held_in_lots, place_without_stock, set_aside, set_aside_total
from marketplace.services.checkout import Placed, find_checkout, first_fulfilment_day, place, place_checkout
from marketplace.services.expiry import expire_orders, reinstate_expired
from marketplace.services.lifecycle import cancel, complete, confirm, mark_ready
from marketplace.services.orders import (
    get_checkout_or_404,
    get_order_or_404,
    groups_seeing_allocations,
    lock_order,
    manages,
)
from marketplace.services.reading import (
    awaiting_payment,
    buyer_orders_query,
    can_complete,
    coordinator_contact,
    due_to_pack,
    group_orders_query,
    order_counts,
    packing_list,
    payment_status,
)
from marketplace.services.records import (
    ADDRESS_MAX_LENGTH,
    MAX_DAYS_AHEAD,
    MAX_LINES,
    NOTE_MAX_LENGTH,
    WIB,
    TransitionNotAllowed,
    line_total,
    read_fulfilment,
    require_within_ceiling,
    status_label,
    today_wib,
)
from marketplace.services.split import Split, money_side, split_order

__all__ = [
    "ADDRESS_MAX_LENGTH",
    "MAX_DAYS_AHEAD",
    "MAX_LINES",
    "NOTE_MAX_LENGTH",
    "Placed",
    "Split",
    "held_elsewhere",
    "held_in_lots",
    "money_side",
    "place_without_stock",
    "set_aside",
    "set_aside_total",
    "split_order",
    "TransitionNotAllowed",
    "WIB",
    "lock_order",
    "awaiting_payment",
    "buyer_orders_query",
    "can_complete",
    "cancel",
    "complete",
    "confirm",
    "coordinator_contact",
    "due_to_pack",
    "expire_orders",
    "find_checkout",
    "first_fulfilment_day",
    "get_checkout_or_404",
    "get_order_or_404",
    "group_orders_query",
    "groups_seeing_allocations",
    "line_total",
    "read_fulfilment",
    "manages",
    "mark_ready",
    "order_counts",
    "packing_list",
    "payment_status",
    "place",
    "place_checkout",
    "reinstate_expired",
    "require_within_ceiling",
    "status_label",
    "today_wib",
]
