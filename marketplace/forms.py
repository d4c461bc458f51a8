"""Marketplace forms: adding to the cart, changing it, checking out, moving an order along (the money forms are
payments').

As with the inventory forms, these only carry what people typed; the cart and
marketplace.services decide what is valid.
"""

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import Length, Optional
from wtforms.widgets import DateInput

from core.forms import FlaskForm

FULFILMENT_CHOICES = [
    SelectChoice("pickup", _l("Pick up at the group's pickup point")),
    SelectChoice("delivery", _l("Delivery to my address")),
]
PAYMENT_CHOICES = [
    SelectChoice("cash", _l("Cash on pickup or delivery")),
    SelectChoice("transfer", _l("Bank transfer")),
    SelectChoice("card", _l("Card")),
]


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
    fulfilment_method = RadioField(
        _l("How do you get your order?"), choices=FULFILMENT_CHOICES, default="pickup", validate_choice=False
    )
    date = StringField(_l("Day of pickup or delivery"), widget=DateInput(), validators=[Optional(), _cap(40)])
    address = TextAreaField(_l("Delivery address (for delivery)"), validators=[Optional(), _cap(1000)])
    note = TextAreaField(_l("Note for the group (optional)"), validators=[Optional(), _cap(1000)])
    payment_method = RadioField(_l("Payment"), choices=PAYMENT_CHOICES, default="cash", validate_choice=False)
    idempotency_key = HiddenField()


class OrderActionForm(FlaskForm):
    """A button that moves an order (cancelling has its own page: CancelForm)."""

    next = HiddenField()


# The reasons a buyer may pick from when cancelling; "other" is whatever they write.
CANCEL_REASONS = [
    SelectChoice("mistake", _l("I ordered by mistake")),
    SelectChoice("not_needed", _l("I no longer need it")),
    SelectChoice("day", _l("The day does not suit me")),
    SelectChoice("other", _l("Another reason (write it below)")),
]


class CancelForm(FlaskForm):
    """The confirmation of a cancel, with its reason: the buyer picks one or writes one, the coordinator writes
    one (the buyer reads it in the order's history)."""

    reason_choice = RadioField(_l("Why do you cancel?"), choices=CANCEL_REASONS, validate_choice=False)
    reason = StringField(_l("Reason"), validators=[Optional(), _cap(500)])
