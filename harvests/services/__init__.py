"""The rules of harvest pre-orders (*pesan sebelum panen*).

The coordinator announces a harvest the group expects (`announce`): a variant, a range, a week, a price, a cap
and the rule a shortfall is shared out by. Buyers pre-order against it up to the cap (`pre_order`) and may cancel
before the harvest (`cancel_pre_order`); the coordinator may close it for pre-orders (`close`) or cancel it
(`cancel_harvest`). When it comes in, the coordinator records the members' quantities, or names the lots taken
in already through the stock intake (`record_harvest`): their lots, the pre-orders filled in the order placed, a
shortfall shared out, the money owed back given back. Every step is a HarvestEvent with who made it. The
modules: records (finding, permissions, moves, reading a request), sharing (the arithmetic of a shortfall),
announcing, preorders, recording, taken_in (the lots a harvest may be recorded from), money (giving back),
paying (the buyer pays the deposit, or the rest, by card) and reading.
"""

from harvests.services.announcing import announce, cancel_harvest, close
from harvests.services.paying import card_offers, start_card_payment
from harvests.services.preorders import can_cancel, cancel_pre_order, pre_order
from harvests.services.reading import (
    buyer_pre_orders_query,
    group_harvests_query,
    harvest_view,
    messages,
    my_pre_order_view,
    open_harvests_query,
    pre_order_view,
    product_labels,
)
from harvests.services.recording import on_order_moved, record_harvest
from harvests.services.records import get_harvest_or_404, get_pre_order_or_404, status_label, visible_harvest_or_404
from harvests.services.sharing import share_out
from harvests.services.taken_in import eligible_lots, eligible_lots_view

__all__ = [
    "announce",
    "buyer_pre_orders_query",
    "can_cancel",
    "cancel_harvest",
    "cancel_pre_order",
    "card_offers",
    "close",
    "eligible_lots",
    "eligible_lots_view",
    "get_harvest_or_404",
    "get_pre_order_or_404",
    "group_harvests_query",
    "harvest_view",
    "messages",
    "my_pre_order_view",
    "on_order_moved",
    "open_harvests_query",
    "pre_order",
    "pre_order_view",
    "product_labels",
    "record_harvest",
    "share_out",
    "start_card_payment",
    "status_label",
    "visible_harvest_or_404",
]
