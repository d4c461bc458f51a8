"""The ways buyers pay: one provider class each, behind one interface.

Offline providers (cash, bank transfer) are recorded by the group's coordinator
or treasurer. Online providers take the money through a gateway: the buyer pays
on the checkout page, the gateway's signed webhook tells us it went through,
and refunds go back through the gateway. Order code (payments.services)
speaks only to this interface; another gateway (QRIS or an e-wallet through an
Indonesian provider) is one more class registered in PROVIDERS.
"""

import logging
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlsplit

import stripe
from flask import current_app

from core import ledger
from core.money import CURRENCY_EXPONENTS, MoneyError, from_minor_units, to_minor_units

log = logging.getLogger(__name__)


class GatewayError(Exception):
    """The gateway refused or could not be reached; `declined` when it was the card, not the connection."""

    def __init__(self, message: str, *, code: str | None = None, declined: bool = False):
        super().__init__(message)
        self.code = code
        self.declined = declined


class InvalidWebhook(Exception):
    """A webhook whose signature or body does not check out."""


@dataclass
class StartedPayment:
    """What the buyer's page needs to pay an online payment."""

    intent_id: str
    client_secret: str
    status: str = "pending"


@dataclass
class GatewayEvent:
    """A verified webhook event, in the gateway's terms reduced to ours."""

    id: str
    type: str
    outcome: str  # "succeeded", "failed", "canceled", "refunded" or "other"
    intent_id: str | None = None  # the payment it is about (for "refunded", the payment the charge belongs to)
    amount: int | None = None  # whole rupiah, None when not a whole amount
    currency: str | None = None
    failure_code: str | None = None
    raw: dict = field(default_factory=dict)


@dataclass
class GatewayRefund:
    """A refund as the gateway holds it, whoever made it (this app or the gateway's dashboard)."""

    id: str
    amount: int  # whole rupiah
    status: str  # "succeeded", "pending", "failed", "canceled"
    reason: str | None = None
    metadata: dict = field(default_factory=dict)


class PaymentProvider:
    """A way to pay. Subclasses set `method` (what a buyer chooses) and the money account it lands in."""

    method: str
    online = False  # the buyer pays through a gateway; unpaid orders expire after the payment window
    ledger_account: str

    def instructions(self, order, group) -> dict | None:
        """What the buyer must do to pay, shown with the order; None when nothing."""
        return None

    def available(self) -> bool:
        """Whether buyers may choose it now (a gateway needs its keys)."""
        return True


class CashProvider(PaymentProvider):
    """Cash handed to the group, usually at pickup."""

    method = "cash"
    ledger_account = ledger.CASH


class TransferProvider(PaymentProvider):
    """A bank transfer to the group's account, quoting the order's reference."""

    method = "transfer"
    ledger_account = ledger.BANK

    def instructions(self, order, group) -> dict | None:
        """The group's account, while the district admin has verified the group with it; none while it waits."""
        verified = bool(group.verified)
        return {
            "bank_name": group.bank_name if verified else None,
            "account_number": group.bank_account_number if verified else None,
            "account_holder": group.bank_account_holder if verified else None,
            "account_verified": verified,
            "reference": order_reference(order),
            "amount": order.total - order.paid,
        }


class OnlineProvider(PaymentProvider):
    """A gateway: it starts a payment for the buyer's page, verifies webhooks, refunds and reports fees."""

    online = True
    name: str  # stored beside each online payment and webhook event

    def configured(self) -> bool:
        raise NotImplementedError

    def available(self) -> bool:
        return self.configured()

    def client_config(self) -> dict:
        """What the checkout page needs to load the gateway's script."""
        raise NotImplementedError

    def page_sources(self) -> dict[str, tuple[str, ...]]:
        """The origins the pay page loads the gateway from, by Content-Security-Policy directive
        (`script_src`, `frame_src`, `connect_src`); none beside the site itself unless named here."""
        return {}

    def start(self, *, amount: int, idempotency_key: str, metadata: dict) -> StartedPayment:
        raise NotImplementedError

    def confirm(self, intent_id: str, payment_method: str) -> str:
        """Confirm a started payment with the payment method the buyer's page created; returns the status
        (`succeeded`, `processing`, or `requires_action` when the page must let the buyer authenticate).
        GatewayError(declined=True) when the card is refused."""
        raise NotImplementedError

    def resume(self, intent_id: str) -> StartedPayment:
        """The payment started earlier, as the buyer's page needs it again."""
        raise NotImplementedError

    def cancel(self, intent_id: str) -> None:
        raise NotImplementedError

    def refund(self, *, intent_id: str, amount: int, idempotency_key: str, metadata: dict) -> str:
        """Refund part or all of a payment; returns the gateway's refund id."""
        raise NotImplementedError

    def refunds(self, intent_id: str) -> list[GatewayRefund]:
        """Every refund of a payment the gateway holds, oldest first, made here or in the gateway's dashboard."""
        raise NotImplementedError

    def verify_webhook(self, payload: bytes, headers) -> GatewayEvent:
        raise NotImplementedError

    def fee(self, intent_id: str, amount: int) -> tuple[int, bool]:
        """The gateway's fee for a payment, and whether it is an estimate."""
        return estimated_fee(amount), True


def estimated_fee(amount: int) -> int:
    """CARD_FEE_PERCENT of the amount plus CARD_FEE_FIXED, in whole rupiah, never above the amount."""
    percent = Decimal(str(current_app.config.get("CARD_FEE_PERCENT", "2.9")))
    fixed = int(current_app.config.get("CARD_FEE_FIXED", 2000))
    fee = int((Decimal(amount) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)) + fixed
    return max(0, min(fee, amount))


class StripeProvider(OnlineProvider):
    """Card payments through Stripe PaymentIntents, in IDR (sent as rupiah x 100)."""

    method = "card"
    name = "stripe"
    ledger_account = ledger.CARD

    def _client(self) -> None:
        config = current_app.config
        stripe.api_key = config.get("STRIPE_SECRET_KEY")
        stripe.api_base = (config.get("STRIPE_API_BASE") or "https://api.stripe.com").rstrip("/")
        stripe.max_network_retries = 2  # with the idempotency key each attempt carries, a retry is safe

    def configured(self) -> bool:
        config = current_app.config
        return bool(config.get("STRIPE_SECRET_KEY") and config.get("STRIPE_PUBLISHABLE_KEY"))

    def client_config(self) -> dict:
        base = (current_app.config.get("STRIPE_API_BASE") or "").rstrip("/")
        return {
            "publishable_key": current_app.config.get("STRIPE_PUBLISHABLE_KEY"),
            "js_url": f"{base}/js.stripe.com/v3/" if base else "https://js.stripe.com/v3/",
        }

    def page_sources(self) -> dict[str, tuple[str, ...]]:
        """Stripe.js, its card frames and the API it calls (Stripe's published Content-Security-Policy for
        card payments); everything from STRIPE_API_BASE's origin when it is set (localstripe in tests)."""
        base = current_app.config.get("STRIPE_API_BASE")
        if base:
            parts = urlsplit(base)
            origin = (f"{parts.scheme}://{parts.netloc}",)
            return {"script_src": origin, "frame_src": origin, "connect_src": origin}
        return {
            "script_src": ("https://js.stripe.com",),
            "frame_src": ("https://js.stripe.com", "https://hooks.stripe.com"),
            "connect_src": ("https://api.stripe.com",),
        }

    def start(self, *, amount, idempotency_key, metadata) -> StartedPayment:
        self._client()
        try:
            intent = stripe.PaymentIntent.create(
                amount=to_minor_units(amount, "IDR"),
                currency="idr",
                metadata=metadata,
                payment_method_types=["card"],
                idempotency_key=idempotency_key,
            )
        except stripe.StripeError as exc:
            raise GatewayError(str(exc.user_message or exc), code=getattr(exc, "code", None)) from exc
        return StartedPayment(intent_id=intent.id, client_secret=intent.client_secret)

    def resume(self, intent_id) -> StartedPayment:
        self._client()
        try:
            intent = stripe.PaymentIntent.retrieve(intent_id)
        except stripe.StripeError as exc:
            raise GatewayError(str(exc.user_message or exc), code=getattr(exc, "code", None)) from exc
        return StartedPayment(intent_id=intent.id, client_secret=intent.client_secret, status=intent.status)

    def confirm(self, intent_id, payment_method) -> str:
        self._client()
        try:
            # Attached first, then confirmed: the two steps every Stripe API version accepts.
            stripe.PaymentIntent.modify(intent_id, payment_method=payment_method)
            intent = stripe.PaymentIntent.confirm(intent_id)
        except stripe.CardError as exc:
            raise GatewayError(str(exc.user_message or exc), code=getattr(exc, "code", None), declined=True) from exc
        except stripe.StripeError as exc:
            raise GatewayError(str(exc.user_message or exc), code=getattr(exc, "code", None)) from exc
        return intent.status

    def cancel(self, intent_id) -> None:
        self._client()
        try:
            stripe.PaymentIntent.cancel(intent_id)
        except stripe.StripeError as exc:
            raise GatewayError(str(exc.user_message or exc), code=getattr(exc, "code", None)) from exc

    def refund(self, *, intent_id, amount, idempotency_key, metadata) -> str:
        self._client()
        try:
            refund = stripe.Refund.create(
                payment_intent=intent_id,
                amount=to_minor_units(amount, "IDR"),
                metadata=metadata,
                idempotency_key=idempotency_key,
            )
        except stripe.StripeError as exc:
            raise GatewayError(str(exc.user_message or exc), code=getattr(exc, "code", None)) from exc
        return refund.id

    def refunds(self, intent_id) -> list[GatewayRefund]:
        self._client()
        try:
            found = [
                refund.to_dict()
                for refund in stripe.Refund.list(payment_intent=intent_id, limit=100).auto_paging_iter()
            ]
        except stripe.StripeError as exc:
            raise GatewayError(str(exc.user_message or exc), code=getattr(exc, "code", None)) from exc
        answer = []
        for refund in sorted(found, key=lambda r: (r.get("created") or 0, r.get("id") or "")):
            minor = refund.get("amount")
            if not isinstance(minor, int) or str(refund.get("currency", "")).upper() != "IDR":
                log.error(
                    "refund %r of %r is not in IDR: %r %r", refund.get("id"), intent_id, minor, refund.get("currency")
                )
                continue
            # IDR at Stripe has two decimals; the books hold whole rupiah, never more than went back.
            whole = minor // 10 ** CURRENCY_EXPONENTS["IDR"]
            answer.append(
                GatewayRefund(
                    id=str(refund["id"]),
                    amount=whole,
                    status=str(refund.get("status")),
                    reason=refund.get("reason"),
                    metadata=dict(refund.get("metadata") or {}),
                )
            )
        return answer

    def verify_webhook(self, payload: bytes, headers) -> GatewayEvent:
        secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
        signature = headers.get("Stripe-Signature")
        if not secret or not signature:
            raise InvalidWebhook("missing signature or webhook secret")
        try:
            event = stripe.Webhook.construct_event(payload, signature, secret)
        except (ValueError, stripe.SignatureVerificationError) as exc:
            raise InvalidWebhook(str(exc)) from exc
        data = event.to_dict()
        obj = (data.get("data") or {}).get("object") or {}
        outcome = {
            "payment_intent.succeeded": "succeeded",
            "payment_intent.payment_failed": "failed",
            "payment_intent.canceled": "canceled",
            "charge.refunded": "refunded",
        }.get(data.get("type"), "other")
        intent_id = obj.get("id") if obj.get("object") == "payment_intent" else None
        if outcome == "refunded" and obj.get("object") == "charge":
            # A refund made here or in Stripe's dashboard: the charge names its PaymentIntent (an id, or expanded).
            paid_by = obj.get("payment_intent")
            paid_by = paid_by.get("id") if isinstance(paid_by, dict) else paid_by
            intent_id = paid_by if isinstance(paid_by, str) and paid_by else None
        amount = None
        if intent_id is not None and isinstance(obj.get("amount"), int) and str(obj.get("currency")).upper() == "IDR":
            try:
                amount = from_minor_units(obj["amount"], "IDR")
            except MoneyError:
                amount = None
        error = obj.get("last_payment_error") or {}
        return GatewayEvent(
            id=str(data.get("id")),
            type=str(data.get("type")),
            outcome=outcome,
            intent_id=intent_id,
            amount=amount,
            currency=str(obj.get("currency") or "").upper() or None,
            failure_code=error.get("decline_code") or error.get("code"),
            raw=data,
        )

    def fee(self, intent_id, amount) -> tuple[int, bool]:
        """Stripe's fee from the charge's balance transaction when it reports one in IDR, else the estimate."""
        self._client()
        try:
            intent = stripe.PaymentIntent.retrieve(intent_id, expand=["latest_charge.balance_transaction"]).to_dict()
            charge = intent.get("latest_charge")
            transaction = charge.get("balance_transaction") if isinstance(charge, dict) else None
            if isinstance(transaction, dict) and str(transaction.get("currency", "")).upper() == "IDR":
                return min(from_minor_units(int(transaction["fee"]), "IDR"), amount), False
        except (stripe.StripeError, MoneyError, KeyError, TypeError, ValueError, AttributeError):
            log.info("no balance transaction for %r; using the estimated card fee", intent_id)
        return estimated_fee(amount), True


def order_reference(order) -> str:
    """The reference a buyer quotes on a bank transfer: PK-, the order number, and a check digit."""
    digits = f"{order.id:06d}"
    check = sum((i + 1) * int(d) for i, d in enumerate(reversed(digits))) % 10
    return f"PK-{digits}-{check}"


PROVIDERS: dict[str, PaymentProvider] = {p.method: p for p in (StripeProvider(), CashProvider(), TransferProvider())}


def provider_for(method) -> PaymentProvider:
    return PROVIDERS[str(getattr(method, "value", method))]


def online_provider(name: str) -> OnlineProvider | None:
    for provider in PROVIDERS.values():
        if isinstance(provider, OnlineProvider) and provider.name == name:
            return provider
    return None
