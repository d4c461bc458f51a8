"""Marketplace forms: adding to the cart, changing it, checking out, moving an order along.

As with the inventory forms, these only carry what people typed; the cart and
marketplace.services decide what is valid.
"""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import Length, Optional
from wtforms.widgets import DateInput

FULFILMENT_CHOICES = [SelectChoice("pickup", _l("Pick up at the group's pickup point")),
                      SelectChoice("delivery", _l("Delivery to my address"))]
PAYMENT_CHOICES = [SelectChoice("cash", _l("Cash on pickup or delivery")),
                   SelectChoice("transfer", _l("Bank transfer")),
                   SelectChoice("card", _l("Card"))]


def _cap(n: int) -> Length:
    return Length(max=n, message=_l("That is too long."))


class CartAddForm(FlaskForm):
    variant_id = HiddenField()
    quantity = StringField(_l("Quantity"), default="1", validators=[_cap(40)])
    next = HiddenField()


class CartLineForm(FlaskForm):
    """One cart line: change its quantity, or remove it."""

    variant_id = HiddenField()
    quantity = StringField(_l("Quantity"), validators=[_cap(40)])


class CheckoutForm(FlaskForm):
    fulfilment_method = RadioField(_l("How do you get your order?"), choices=FULFILMENT_CHOICES, default="pickup",
                                   validate_choice=False)
    date = StringField(_l("Day of pickup or delivery"), widget=DateInput(), validators=[Optional(), _cap(40)])
    address = TextAreaField(_l("Delivery address (for delivery)"), validators=[Optional(), _cap(1000)])
    note = TextAreaField(_l("Note for the group (optional)"), validators=[Optional(), _cap(1000)])
    payment_method = RadioField(_l("Payment"), choices=PAYMENT_CHOICES, default="cash", validate_choice=False)
    idempotency_key = HiddenField()


class OrderActionForm(FlaskForm):
    """A button that moves an order; `note` is the reason when cancelling."""

    note = StringField(_l("Reason (optional)"), validators=[Optional(), _cap(1000)])
    next = HiddenField()


# --- money, for the group's coordinator and treasurer --------------------------------------
# Each form carries an idempotency key made when the page is rendered: the same form sent twice records once.

OFFLINE_CHOICES = [SelectChoice("cash", _l("Cash")), SelectChoice("transfer", _l("Bank transfer"))]
REFUND_CHOICES = [SelectChoice("card", _l("Back to the card")), SelectChoice("cash", _l("Cash")),
                  SelectChoice("transfer", _l("Bank transfer"))]


class PaymentForm(FlaskForm):
    """Cash or a transfer the group received for an order."""

    method = RadioField(_l("Paid by"), choices=OFFLINE_CHOICES, default="cash", validate_choice=False,
                        id="payment_method")
    amount = StringField(_l("Amount (Rp)"), validators=[_cap(40)], id="payment_amount")
    reference = StringField(_l("Reference or receipt number (optional)"), validators=[Optional(), _cap(100)],
                            id="payment_reference")
    received_at = StringField(_l("Day received"), widget=DateInput(), validators=[Optional(), _cap(40)],
                              id="payment_received_at")
    slip = FileField(_l("Photo of the transfer slip (optional; JPEG, PNG or WebP, at most 2 MB)"),
                     id="payment_slip")
    idempotency_key = HiddenField()


class RefundForm(FlaskForm):
    """Money given back to the buyer."""

    amount = StringField(_l("Amount (Rp)"), validators=[_cap(40)], id="refund_amount")
    reason = TextAreaField(_l("Reason"), validators=[_cap(500)], id="refund_reason")
    method = RadioField(_l("Given back by"), choices=REFUND_CHOICES, default="cash", validate_choice=False,
                        id="refund_method")
    idempotency_key = HiddenField()


class ReversalForm(FlaskForm):
    """A payment recorded by mistake (cash or a transfer never received), reversed with a reason."""

    reason = StringField(_l("What was wrong"), validators=[_cap(500)])


class HandoverForm(FlaskForm):
    """At pickup: the cash the buyer hands over (what the page showed as owed), and the order completed."""

    amount = HiddenField()
    idempotency_key = HiddenField()
    next = HiddenField()
