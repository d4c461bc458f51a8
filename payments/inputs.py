"""Reading what people send into the typed values the payment services take: an API body as its schema
loaded it (payments.schemas checks only its shape), a multipart form, or a page's form fields.

Each value is read as before, one field at a time in the order below, and the first that is wrong answers
422 naming its field, with the same message on the API and on the pages. The rules that need the database
(what is owed, the order's status, who may act) stay with the services.
"""

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _

from core.errors import field_error
from core.types import utcnow
from core.validation import optional_text, read_rupiah
from marketplace.models import PaymentMethod
from marketplace.services import WIB
from payments.services.common import REASON_MAX_LENGTH, REFERENCE_MAX_LENGTH
from payments.services.recorded import OFFLINE, OfflinePayment
from payments.services.refunds import RequestedRefund

BACKDATE_DAYS = 90
REFUND_METHODS = ("card", "cash", "transfer")
PAYMENT_METHOD_PREFIXES = ("pm_", "card_", "src_")  # what Stripe.js makes of a card: a PaymentMethod or a card


def offline_payment(data: Mapping) -> OfflinePayment:
    """Cash or a transfer received: `method`, `amount`, `reference` and `received_at` as sent."""
    return OfflinePayment(
        method=_method(data.get("method"), OFFLINE),
        amount=amount(data.get("amount")),
        reference=optional_text(data.get("reference"), "reference", REFERENCE_MAX_LENGTH),
        received_at=received_at(data.get("received_at")),
    )


def handover_payment(data: Mapping) -> OfflinePayment:
    """The cash handed over at pickup: `amount` and `reference` as sent."""
    return offline_payment({**data, "method": "cash"})


def requested_refund(data: Mapping) -> RequestedRefund:
    """A refund: `amount`, a `reason` (required) and the `method` if one is chosen."""
    given = amount(data.get("amount"))
    reason = optional_text(data.get("reason"), "reason", REASON_MAX_LENGTH)
    if not reason:
        raise field_error("reason", _("Say why the money is given back."))
    method = data.get("method")
    return RequestedRefund(
        amount=given, reason=reason, method=None if method is None else _method(method, REFUND_METHODS)
    )


def reversal_reason(value) -> str:
    """What was wrong with a payment recorded by mistake (required)."""
    reason = optional_text(value, "reason", REASON_MAX_LENGTH)
    if not reason:
        raise field_error("reason", _("Say what was wrong with this payment."))
    return reason


def card_payment_method(value) -> str:
    """The payment method Stripe.js made of the buyer's card."""
    if (
        not isinstance(value, str)
        or not value.startswith(PAYMENT_METHOD_PREFIXES)
        or len(value) > 255
        or not value.isascii()
        or not value.isprintable()
    ):
        raise field_error("payment_method", _("Not a valid payment method."))
    return value


def amount(value, field: str = "amount") -> int:
    """Whole rupiah, more than zero and at most MAX_AMOUNT (`12500`, `"12500"`, `"Rp12.500"`)."""
    return read_rupiah(value, field, positive=True)


def received_at(value) -> datetime | None:
    """When money was received, in UTC; None (now) when not given. A day alone is midday WIB, or now while
    that is still ahead; a moment without a zone is in WIB. At most 10 minutes ahead, at most 90 days back."""
    if value in (None, ""):
        return None
    try:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            moment = min(datetime.combine(value, time(12, 0), tzinfo=WIB), utcnow())
        elif isinstance(value, str) and len(value) == 10:
            moment = min(datetime.combine(date.fromisoformat(value), time(12, 0), tzinfo=WIB), utcnow())
        elif isinstance(value, str):
            moment = datetime.fromisoformat(value)
        else:
            raise ValueError
    except ValueError:
        raise field_error("received_at", _("Use a date such as 2026-11-28.")) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=WIB)
    now = utcnow()
    if moment > now + timedelta(minutes=10) or moment < now - timedelta(days=BACKDATE_DAYS):
        raise field_error("received_at", _("Give a day from the last %(n)d days, not in the future.", n=BACKDATE_DAYS))
    return moment.astimezone(UTC)


def _method(value, allowed: tuple[str, ...], field: str = "method") -> PaymentMethod:
    if value not in allowed:
        raise field_error(field, _("Choose one of: %(choices)s.", choices=", ".join(allowed)))
    return PaymentMethod(value)
