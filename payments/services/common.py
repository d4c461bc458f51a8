"""What the payment services share: the gateway's error, reading amounts and days, raising an order's sums
under a guard, booking a payment, finding a keyed row, and spreading an amount exactly."""
import logging
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from core import ledger
from core.errors import AppError, Conflict
from core.extensions import db
from core.money import MoneyError, parse_rupiah, split_largest_remainder
from core.types import utcnow
from marketplace import services
from marketplace.models import Order, PaymentMethod
from payments.models import Payment
from payments.providers import provider_for

log = logging.getLogger(__name__)

REFERENCE_MAX_LENGTH = 100
REASON_MAX_LENGTH = 500
BACKDATE_DAYS = 90


class GatewayUnavailable(AppError):
    """The payment gateway could not be reached or refused; nothing was recorded."""

    code = 502
    default_message = _l("The card payment service did not answer. Nothing was charged or recorded; "
                         "please try again.")


# --- reading input ---------------------------------------------------------------------------

def read_amount(value, field: str = "amount") -> int:
    try:
        amount = parse_rupiah(value)
    except MoneyError:
        raise services._error(field, _("Give a whole rupiah amount, such as 12500.")) from None
    if amount <= 0:
        raise services._error(field, _("The amount must be more than zero."))
    return amount


def read_received_at(value) -> datetime:
    if value in (None, ""):
        return utcnow()
    try:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):  # a day alone: midday WIB, or now when that is still ahead today
            moment = min(datetime.combine(value, time(12, 0), tzinfo=services.WIB), utcnow())
        elif isinstance(value, str) and len(value) == 10:
            moment = min(datetime.combine(date.fromisoformat(value), time(12, 0), tzinfo=services.WIB), utcnow())
        elif isinstance(value, str):
            moment = datetime.fromisoformat(value)
        else:
            raise ValueError
    except ValueError:
        raise services._error("received_at", _("Use a date such as 2026-11-28.")) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=services.WIB)
    now = utcnow()
    if moment > now + timedelta(minutes=10) or moment < now - timedelta(days=BACKDATE_DAYS):
        raise services._error("received_at", _("Give a day from the last %(n)d days, not in the future.",
                                                n=BACKDATE_DAYS))
    return moment.astimezone(UTC)


def read_method(value, allowed: tuple[str, ...], field: str = "method") -> PaymentMethod:
    if value not in allowed:
        raise services._error(field, _("Choose one of: %(choices)s.", choices=", ".join(allowed)))
    return PaymentMethod(value)


def raise_sums(order: Order, values: dict, where) -> None:
    """Raise the order's sums by SQL expressions, only while the guard holds; Conflict otherwise."""
    result = db.session.execute(update(Order).where(Order.id == order.id, where).values(**values)
                                .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Conflict(_l("The order's payments changed meanwhile; reload and try again."))
    db.session.expire(order, ["paid", "refunded", "card_fees", "updated_at"])


def post_payment(payment: Payment, actor_id: int | None) -> None:
    money = provider_for(payment.method).ledger_account
    ledger.post(payment.group_id, "payment", {money: payment.amount, ledger.PAYMENTS_CLEARING: -payment.amount},
                source="payment", source_id=payment.id, actor_id=actor_id,
                memo=f"order {payment.order_id}")
    if payment.fee:
        ledger.post(payment.group_id, "card_fee", {ledger.CARD_FEES: payment.fee, money: -payment.fee},
                    source="payment", source_id=payment.id, actor_id=actor_id, memo=f"order {payment.order_id}")


def find_keyed(model, order: Order, key: str):
    return db.session.scalar(select(model).where(model.order_id == order.id, model.idempotency_key == key))


def spread(total: int, weights: list[int]) -> list[int]:
    """Spread an amount over parts in proportion to `weights`, exactly: largest remainder, ties to the earlier."""
    if total == 0:
        return [0] * len(weights)
    return split_largest_remainder(total, weights)
