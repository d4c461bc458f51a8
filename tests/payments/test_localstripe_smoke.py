"""localstripe runs here and speaks enough Stripe for our card payments (no app, no database)."""

import pytest
import stripe

from tests.localstripe_server import start_localstripe


@pytest.fixture(scope="module")
def localstripe():
    """One server for this module; stripe's global key and base point at it meanwhile."""
    base_url, stop = start_localstripe()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(stripe, "api_key", "sk_test_x")
            patch.setattr(stripe, "api_base", base_url)
            yield base_url
    finally:
        stop()


def test_card_payment_and_partial_refund_on_localstripe(localstripe):
    intent = stripe.PaymentIntent.create(
        amount=1_250_000,
        currency="idr",
        metadata={"order": "PK-000042-6"},
        payment_method_types=["card"],
        idempotency_key="smoke-order-42",
    )
    assert intent.status == "requires_payment_method"
    assert intent.client_secret.startswith(intent.id + "_secret_")

    card = stripe.PaymentMethod.create(
        type="card", card={"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
    )
    stripe.PaymentIntent.modify(intent.id, payment_method=card.id)
    confirmed = stripe.PaymentIntent.confirm(intent.id)
    assert confirmed.status == "succeeded"
    assert confirmed.metadata.to_dict() == {"order": "PK-000042-6"}

    expanded = stripe.PaymentIntent.retrieve(intent.id, expand=["latest_charge.balance_transaction"])
    transaction = expanded.latest_charge.balance_transaction
    assert (transaction.amount, transaction.currency, transaction.fee) == (1_250_000, "idr", 0)

    refund = stripe.Refund.create(payment_intent=intent.id, amount=250_000, idempotency_key="smoke-refund-42")
    assert (refund.status, refund.amount, refund.payment_intent) == ("succeeded", 250_000, intent.id)
    charge = stripe.Charge.retrieve(expanded.latest_charge.id)
    assert (charge.amount_refunded, charge.refunded) == (250_000, False)


def test_declined_card_raises_card_error_on_localstripe(localstripe):
    intent = stripe.PaymentIntent.create(amount=500_000, currency="idr")
    card = stripe.PaymentMethod.create(
        type="card", card={"number": "4000000000000341", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
    )
    stripe.PaymentIntent.modify(intent.id, payment_method=card.id)
    with pytest.raises(stripe.CardError) as declined:
        stripe.PaymentIntent.confirm(intent.id)
    assert declined.value.code == "card_declined"
    assert stripe.PaymentIntent.retrieve(intent.id).status == "requires_payment_method"
