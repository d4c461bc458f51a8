"""Payment forms, for the group's coordinator and treasurer: cash or a transfer received, a refund, a payment
recorded by mistake, and the cash taken at handover.

As with the other forms, these only carry what people typed; the payment services decide what is valid.
Each form carries an idempotency key made when the page is rendered: the same form sent twice records once.
"""

import uuid

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import HiddenField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import Length, Optional
from wtforms.widgets import DateInput

from core.forms import FlaskForm


def _cap(n: int) -> Length:
    return Length(max=n, message=_l("That is too long."))


OFFLINE_CHOICES = [SelectChoice("cash", _l("Cash")), SelectChoice("transfer", _l("Bank transfer"))]
REFUND_CHOICES = [
    SelectChoice("card", _l("Back to the card")),
    SelectChoice("cash", _l("Cash")),
    SelectChoice("transfer", _l("Bank transfer")),
]


class PaymentForm(FlaskForm):
    """Cash or a transfer the group received for an order."""

    method = RadioField(
        _l("Paid by"), choices=OFFLINE_CHOICES, default="cash", validate_choice=False, id="payment_method"
    )
    amount = StringField(_l("Amount (Rp)"), validators=[_cap(40)], id="payment_amount")
    reference = StringField(
        _l("Reference or receipt number (optional)"), validators=[Optional(), _cap(100)], id="payment_reference"
    )
    received_at = StringField(
        _l("Day received"), widget=DateInput(), validators=[Optional(), _cap(40)], id="payment_received_at"
    )
    slip = FileField(_l("Photo of the transfer slip (optional; JPEG, PNG or WebP, at most 2 MB)"), id="payment_slip")
    idempotency_key = HiddenField()


class RefundForm(FlaskForm):
    """Money given back to the buyer."""

    amount = StringField(_l("Amount (Rp)"), validators=[_cap(40)], id="refund_amount")
    reason = TextAreaField(_l("Reason"), validators=[_cap(500)], id="refund_reason")
    method = RadioField(
        _l("Given back by"), choices=REFUND_CHOICES, default="cash", validate_choice=False, id="refund_method"
    )
    idempotency_key = HiddenField()


class ReversalForm(FlaskForm):
    """A payment recorded by mistake (cash or a transfer never received), reversed with a reason."""

    reason = StringField(_l("What was wrong"), validators=[_cap(500)])


class HandoverForm(FlaskForm):
    """At pickup: the cash the buyer hands over (what the page showed as owed), and the order completed."""

    amount = HiddenField()
    idempotency_key = HiddenField()
    next = HiddenField()


def reversal_form(payment_id: int, formdata=None) -> ReversalForm:
    """The reversal form of one payment: its fields prefixed by the payment, so each on the page is its own."""
    form = ReversalForm(formdata=formdata, prefix=f"reversal-{payment_id}")
    form.payment_id = payment_id
    return form


def new_key() -> str:
    """A fresh idempotency key for a form about to be rendered."""
    return str(uuid.uuid4())
