"""Signals by which marketplace tells the packages above it that something happened to an order."""

from blinker import Namespace

_signals = Namespace()

# Sent with the Order (sender), `to` (the new OrderStatus) and `actor_id`, inside the transaction that moved it,
# after the move is recorded. A receiver may raise an AppError to refuse the move: the request rolls back.
order_moved = _signals.signal("order-moved")
