"""Money given back on a pre-order's order that was cancelled or got less than it asked for, through payments'
refunds (cash or transfer as the order was paid; the card gateway for card money)."""

from accounts.models import User
from marketplace.models import Order
from payments.services import deposits
from payments.services.refunds import refund_held


def held(order: Order) -> int:
    """What the order holds of the buyer's money: paid, less refunded, less any deposit kept."""
    return order.paid - order.refunded - deposits.kept_on(order.id)


def give_back(actor: User, order: Order, reason: str, amount: int | None = None) -> int:
    """Refund `amount` (all the order holds by default) on the order (coordinator), card money through the
    gateway; returns what was refunded."""
    amount = held(order) if amount is None else amount
    if amount <= 0:
        return 0
    refund_held(actor, order, amount, reason[:500])
    return amount
