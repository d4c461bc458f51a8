"""Harvest pre-order page forms: announcing a harvest, pre-ordering, a confirmation with a note (closing,
cancelling), recording the harvest in.

As elsewhere, these only carry what people typed; harvests.services decides what is valid.
"""

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional
from wtforms.widgets import DateInput

from core.forms import FlaskForm

RULE_CHOICES = [
    SelectChoice(
        "first_come",
        _l("First come, first served: the earliest pre-orders get all they asked for, the later ones less or nothing"),
    ),
    SelectChoice(
        "pro_rata",
        _l("Pro rata: every pre-order gets the same share of what it asked for"),
    ),
]
FULFILMENT_CHOICES = [
    SelectChoice("pickup", _l("Pick up at the group's pickup point")),
    SelectChoice("delivery", _l("Delivery to my address")),
]
PAYMENT_CHOICES = [
    SelectChoice("cash", _l("Cash on pickup or delivery")),
    SelectChoice("transfer", _l("Bank transfer")),
]
# Offered while the gateway takes cards and the harvest asks a deposit: the deposit is paid on the next page.
CARD_CHOICE = SelectChoice("card", _l("Card: the deposit now, on the next page"))


def _cap(n: int) -> Length:
    return Length(max=n, message=_l("That is too long."))


class AnnounceForm(FlaskForm):
    variant_id = SelectField(_l("Product"), validate_choice=False)
    expected_low = StringField(_l("Expected at least"), validators=[_cap(40)])
    expected_high = StringField(_l("Expected at most"), validators=[_cap(40)])
    week = StringField(_l("Week of the harvest (any day of it)"), widget=DateInput(), validators=[_cap(40)])
    unit_price = StringField(_l("Pre-order price a unit (empty: the product's price)"), validators=[_cap(40)])
    cap_percent = StringField(_l("Pre-orders up to (percent of the low end)"), default="80", validators=[_cap(40)])
    shortfall_rule = RadioField(
        _l("If the harvest is smaller than the pre-orders"), choices=RULE_CHOICES, validate_choice=False
    )
    deposit_percent = StringField(_l("Deposit asked (percent of each pre-order)"), default="0", validators=[_cap(40)])
    note = TextAreaField(_l("Note for buyers (optional)"), validators=[Optional(), _cap(500)])


class PreOrderForm(FlaskForm):
    quantity = StringField(_l("Quantity"), default="1", validators=[_cap(40)])
    fulfilment_method = RadioField(
        _l("How do you get your order?"), choices=FULFILMENT_CHOICES, default="pickup", validate_choice=False
    )
    address = TextAreaField(_l("Delivery address (for delivery)"), validators=[Optional(), _cap(1000)])
    payment_method = RadioField(_l("Payment"), choices=PAYMENT_CHOICES, default="cash", validate_choice=False)
    idempotency_key = HiddenField()


class NoteForm(FlaskForm):
    """The confirmation of a step that cannot be undone (closing, cancelling), with an optional note."""

    note = StringField(_l("Note (optional)"), validators=[Optional(), _cap(500)])


class RecordForm(FlaskForm):
    """The harvest in: one quantity input per member (named lot-<member id>, read from the request), and the key
    that makes a second tap the first one's answer."""

    idempotency_key = HiddenField()
