"""What the payment services share: who may keep an order's books, the gateway's error, a request's
Idempotency-Key, raising an order's sums under a guard, booking a payment, finding a keyed row, and spreading
an amount exactly."""

from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from accounts.models import User
from core import ledger
from core.errors import AppError, Conflict
from core.extensions import db
from core.idempotency import read_key, request_fingerprint
from core.money import split_largest_remainder
from groups.models import Group, Role
from groups.services import authorize
from marketplace.models import Order
from payments.models import Payment
from payments.providers import provider_for

REFERENCE_MAX_LENGTH = 100
REASON_MAX_LENGTH = 500


class GatewayUnavailable(AppError):
    """The payment gateway could not be reached or refused; nothing was recorded."""

    code = 502
    default_message = _l("The card payment service did not answer. Nothing was charged or recorded; please try again.")


def require_bookkeeper(actor: User, order: Order) -> None:
    """401 or 403 unless `actor` is the coordinator or treasurer of the order's group."""
    authorize(actor, db.session.get(Group, order.group_id), Role.coordinator, Role.treasurer)


def require_coordinator(actor: User, order: Order) -> None:
    """401 or 403 unless `actor` coordinates the order's group."""
    authorize(actor, db.session.get(Group, order.group_id), Role.coordinator)


@dataclass(frozen=True)
class Retry:
    """A request's Idempotency-Key and the fingerprint of what was sent with it: the same key with the same
    request gets the first result back; with another request it is refused (422)."""

    key: str
    fingerprint: str


def retry_of(key, sent: Mapping) -> Retry | None:
    """The Retry of a request that sent `key` (None when it sent none) with `sent` (its body or its fields)."""
    key = read_key(key)
    return Retry(key, request_fingerprint(dict(sent))) if key else None


def raise_sums(order: Order, values: dict, where) -> None:
    """Raise the order's sums by SQL expressions, only while the guard holds; Conflict otherwise."""
    result = db.session.execute(
        update(Order).where(Order.id == order.id, where).values(**values).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(_l("The order's payments changed meanwhile; reload and try again."))
    db.session.expire(order, ["paid", "refunded", "card_fees", "updated_at"])


def post_payment(payment: Payment, actor_id: int | None) -> None:
    """The payment's journal entry (and its card fee's): the money account debited, payments clearing credited."""
    money = provider_for(payment.method).ledger_account
    ledger.post(
        payment.group_id,
        "payment",
        {money: payment.amount, ledger.PAYMENTS_CLEARING: -payment.amount},
        source="payment",
        source_id=payment.id,
        actor_id=actor_id,
        memo=f"order {payment.order_id}",
    )
    if payment.fee:
        ledger.post(
            payment.group_id,
            "card_fee",
            {ledger.CARD_FEES: payment.fee, money: -payment.fee},
            source="payment",
            source_id=payment.id,
            actor_id=actor_id,
            memo=f"order {payment.order_id}",
        )


def find_keyed(model, order: Order, key: str):
    """The order's row of `model` recorded under `key`, if any."""
    return db.session.scalar(select(model).where(model.order_id == order.id, model.idempotency_key == key))


def spread(total: int, weights: list[int]) -> list[int]:
    """Spread an amount over parts in proportion to `weights`, exactly: largest remainder, ties to the earlier."""
    if total == 0:
        return [0] * len(weights)
    return split_largest_remainder(total, weights)
