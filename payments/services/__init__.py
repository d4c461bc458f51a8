"""Money for orders: card payments through a gateway, cash and transfers recorded by the group, refunds.

Whatever the way, a payment ends the same: a Payment row per order, the order's
`paid` raised by a guarded UPDATE (never above its total, in the database too),
and a balanced journal entry in the group's books: the money account (cash,
bank, card) debited, payments clearing credited. A card fee is its own entry,
and so is a refund. Retries are safe: offline payments and refunds take an
Idempotency-Key, gateway events are kept by id under a unique index in the same
transaction as their effect.

Each module is one part of it, and each flushes and never commits: `recorded`
(cash and transfers, their corrections, the handover), `card` (paying a checkout
by card), `webhooks` (the gateway's events), `refunds`, `details` (what an order
shows of its money) and `books` (the ledger check); `common` holds what they share.
"""
