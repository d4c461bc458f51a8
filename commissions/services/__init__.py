"""The rules of made-to-order jobs (*pesanan khusus*).

A buyer asks a group to make something (`request_commission`); the coordinator quotes it, and may revise the
quote (`quote`); the buyer accepts a revision, which makes the job's order, or declines (`accept`, `decline`).
The coordinator shares the pieces out among the members (`assign`, `change_assignment`), records the finished
pieces each member hands in (`record_pieces`: her lot, set aside for the order), and delivers them in part or in
full (`deliver`). Either side may cancel (`cancel`). Every step is a CommissionEvent with who made it. The
modules: records (finding, permissions, moves), jobs (request to acceptance, and cancelling), work (assignments,
pieces, deliveries, progress), paying (the buyer pays the deposit, or the rest, by card) and reading (views and
lists).
"""

from commissions.services.jobs import accept, cancel, decline, quote, request_commission
from commissions.services.paying import card_offers, start_card_payment
from commissions.services.reading import (
    assignment_view,
    buyer_commissions_query,
    commission_view,
    due_jobs,
    group_commissions_query,
    my_assignments,
)
from commissions.services.records import WORKING, get_commission_or_404, status_label
from commissions.services.work import (
    assign,
    change_assignment,
    deliver,
    get_assignment_or_404,
    on_order_moved,
    progress,
    record_pieces,
)

__all__ = [
    "WORKING",
    "accept",
    "assign",
    "assignment_view",
    "buyer_commissions_query",
    "card_offers",
    "cancel",
    "change_assignment",
    "commission_view",
    "decline",
    "deliver",
    "due_jobs",
    "get_assignment_or_404",
    "get_commission_or_404",
    "group_commissions_query",
    "my_assignments",
    "on_order_moved",
    "progress",
    "quote",
    "record_pieces",
    "request_commission",
    "start_card_payment",
    "status_label",
]
