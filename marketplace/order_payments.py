"""What an order shows of its money, and which ways buyers may pay: the part of marketplace's views that
payments fills in.

Payments sits above marketplace (core <- ... <- marketplace <- payments), so marketplace never imports it.
The payment facts an order's rules need are the order's own columns (`paid`, `refunded`, `card_fees`, kept up
to date by payments; `payment_status` follows from them). The rest of what an order view shows of money is
payments' to tell: the order's payments and refunds, the reference to quote and how to pay what is owed, on
the pages the forms and links that take, give back or collect money, and at checkout which ways to pay are
open now. Payments registers one `OrderPayments` in its init_app (`register`); marketplace's API, pages and
checkout ask `order_payments()`.

A registered reader rather than moving the order views up into payments: an order's JSON is the answer of
every order endpoint (a checkout, the lists, one order, each step of its lifecycle) and the order page is the
page of that lifecycle, so they stay beside the rules they show, and payments adds its part to each.
"""

from typing import NamedTuple, Protocol

from flask import Flask, current_app
from markupsafe import Markup

from marketplace.models import Checkout, Order, PaymentMethod

EXTENSION = "marketplace.order_payments"


class OrderPaymentsPage(NamedTuple):
    """The order page's money, as payments renders it for the viewer."""

    section: Markup  # what was paid and refunded, what is owed, how to pay
    handover: Markup  # the form that takes the cash owed and completes, among the order's buttons ("" when none)
    forms: Markup  # the coordinator's and treasurer's forms: record a payment, refund, correct a payment


class OrderPayments(Protocol):
    """What marketplace asks of payments."""

    def available(self, method: PaymentMethod) -> bool:
        """Whether buyers may choose `method` now (card needs the gateway's keys)."""

    def details(self, orders: list[Order], insiders: set[int]) -> dict[int, dict]:
        """Per order id, the money keys of an order's JSON (`owed`, `reference`, `card_fees`,
        `payment_instructions`, `payments`, `refunds`); fees and slips only for the groups in `insiders`."""

    def details_of_placed(self, order: Order, group, insider: bool) -> dict:
        """The same for an order just placed, from its group as placing it read it: it has no payments yet."""

    def order_page(self, order: Order, viewer, *, insider: bool, manages: bool, bound: dict) -> OrderPaymentsPage:
        """The order page's money for `viewer`; `bound` holds a money form sent back with its errors."""

    def card_pending(self, order: Order) -> bool:
        """Whether a card payment for the order may still go through (started, not yet paid or cancelled)."""

    def checkout_page(self, checkout: Checkout) -> Markup:
        """What the confirmation of a checkout shows of paying it now ("" when there is nothing to pay here)."""

    def handover_forms(self, orders: list[Order], back: str) -> dict[int, Markup]:
        """For the coordinator's queue: per order ready with money owed, the button that takes the cash and
        completes, returning to `back`."""


def register(app: Flask, payments: OrderPayments) -> None:
    """Make `payments` what the application's marketplace asks (called by payments' init_app)."""
    app.extensions[EXTENSION] = payments


def order_payments() -> OrderPayments:
    """The OrderPayments the current application registered."""
    return current_app.extensions[EXTENSION]
