"""Money kept when an order is cancelled: a made-to-order job's deposit the buyer agreed the group keeps.

It is booked as the group fund's income: one balanced entry moving the amount from payments clearing (where the
buyer's payment waits to be shared out) to the group fund, named by the order (`deposit_kept`). The order keeps
its `paid`; what it kept is no longer refundable. `flask ledger check` proves every kept amount names a
cancelled order that holds at least that much (paid less refunded).
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from accounts.models import User
from core import ledger
from core.errors import Conflict
from core.extensions import db
from marketplace import services
from marketplace.models import Order, OrderStatus
from payments.services import common
from revenue.services.accrual import GROUP_FUND, lock_group_books

KIND = "deposit_kept"


def kept_on(order_id: int) -> int:
    """What the order's cancellation kept for the group fund."""
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(ledger.Posting.amount), 0))
            .join(ledger.JournalEntry, ledger.JournalEntry.id == ledger.Posting.entry_id)
            .join(ledger.Account, ledger.Account.id == ledger.Posting.account_id)
            .where(
                ledger.JournalEntry.kind == KIND,
                ledger.JournalEntry.source == "order",
                ledger.JournalEntry.source_id == order_id,
                ledger.Account.key == ledger.PAYMENTS_CLEARING,
            )
        )
        or 0
    )


def keep_paid(actor: User, order: Order, amount: int, reason: str) -> ledger.JournalEntry:
    """Keep `amount` of what a cancelled order holds, as the group fund's income (coordinator)."""
    common.require_coordinator(actor, order)
    order = services.lock_order(order)
    if order.status != OrderStatus.cancelled:
        raise Conflict(_l("Only a cancelled order's deposit is kept."), {"status": [order.status.value]})
    if not 0 < amount <= order.paid - order.refunded - kept_on(order.id):
        raise Conflict(_l("The order does not hold that much."))
    lock_group_books(order.group_id)
    entry = ledger.post(
        order.group_id,
        KIND,
        {ledger.PAYMENTS_CLEARING: amount, GROUP_FUND: -amount},
        source="order",
        source_id=order.id,
        actor_id=actor.id,
        memo=f"order {order.id}: {reason}"[:500],
    )
    db.session.flush()
    return entry


def check_kept() -> list[ledger.Problem]:
    """Every kept deposit names a cancelled order holding at least what it kept, and moved clearing to the
    fund only."""
    problems = []
    for entry in db.session.scalars(select(ledger.JournalEntry).where(ledger.JournalEntry.kind == KIND)):
        accounts = {p.account.key: p.amount for p in entry.postings}
        if set(accounts) != {ledger.PAYMENTS_CLEARING, GROUP_FUND} or accounts[ledger.PAYMENTS_CLEARING] <= 0:
            problems.append(ledger.Problem(f"entry {entry.id}", "a kept deposit moves clearing to the fund only"))
            continue
        order = db.session.get(Order, entry.source_id) if entry.source == "order" else None
        if order is None or order.status != OrderStatus.cancelled:
            problems.append(ledger.Problem(f"entry {entry.id}", "keeps money of an order that is not cancelled"))
        elif kept_on(order.id) > order.paid - order.refunded:
            problems.append(
                ledger.Problem(f"order {order.id}", f"kept {kept_on(order.id)}, holds {order.paid - order.refunded}")
            )
    return problems
