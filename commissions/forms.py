"""Made-to-order job forms: the buyer's request, acceptance and cancelling; the coordinator's quote, assignments,
finished pieces and deliveries.

As with the other forms, these only carry what people typed; commissions.services decides what is valid. A form
that lists lines has a few empty rows, so a request of several sizes needs no script; "add a line" posts the
form back with one row more.
"""

import uuid

from flask_babel import lazy_gettext as _l
from wtforms import (
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, Optional
from wtforms.widgets import DateInput

from core.forms import FlaskForm

REQUEST_ROWS = 5  # empty line rows a new request starts with
MAX_ROWS = 50  # commissions.services.records.MAX_LINES


def _cap(n: int) -> Length:
    return Length(max=n, message=_l("That is too long."))


def optional_id(value):
    """A posted id as an int, or None (the service then names what is wrong)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        return int(value)
    return None


def new_key() -> str:
    """A fresh idempotency key for a form about to be rendered."""
    return str(uuid.uuid4())


class RequestLine(Form):
    """One line of a request: a product of the group or a description, and how many."""

    variant_id = SelectField(_l("Product"), coerce=optional_id, validate_choice=False)
    description = StringField(_l("Or describe it"), validators=[Optional(), _cap(200)])
    quantity = StringField(_l("Quantity"), validators=[Optional(), _cap(40)])


class RequestForm(FlaskForm):
    title = StringField(_l("What do you need made?"), validators=[_cap(120)])
    description = TextAreaField(_l("Details (optional)"), validators=[Optional(), _cap(2000)])
    # No min_entries: WTForms would fill them from the posted rows again once it renumbered them; the view adds
    # the empty rows (commissions.views.jobs.request_job).
    lines = FieldList(FormField(RequestLine), max_entries=MAX_ROWS)
    wanted_date = StringField(_l("Wanted by (optional)"), widget=DateInput(), validators=[Optional(), _cap(40)])
    note = TextAreaField(_l("Note for the group (optional)"), validators=[Optional(), _cap(500)])


class QuoteLine(Form):
    """A quoted line: the variant of the group it is made as, and its unit price."""

    line_id = HiddenField()
    variant_id = SelectField(_l("Made as"), coerce=optional_id, validate_choice=False)
    unit_price = StringField(_l("Price per piece (Rp)"), validators=[_cap(40)])


DEPOSIT_ON_CANCEL = [
    SelectChoice("refund", _l("Refunded to the buyer")),
    SelectChoice("keep", _l("Kept by the group")),
]


class QuoteForm(FlaskForm):
    lines = FieldList(FormField(QuoteLine), max_entries=MAX_ROWS)
    due_date = StringField(_l("Due date"), widget=DateInput(), validators=[_cap(40)])
    deposit_percent = StringField(_l("Deposit as a percent (such as 30)"), validators=[Optional(), _cap(10)])
    deposit_amount = StringField(_l("Or the deposit as an amount (Rp)"), validators=[Optional(), _cap(40)])
    deposit_on_cancel = RadioField(
        _l("If the job is cancelled, the deposit is"),
        choices=DEPOSIT_ON_CANCEL,
        default="refund",
        validate_choice=False,
    )
    note = TextAreaField(_l("Note for the buyer (optional)"), validators=[Optional(), _cap(500)])


FULFILMENT_CHOICES = [
    SelectChoice("pickup", _l("Pick up at the group's pickup point")),
    SelectChoice("delivery", _l("Delivery to my address")),
]
PAYMENT_CHOICES = [
    SelectChoice("transfer", _l("Bank transfer")),
    SelectChoice("cash", _l("Cash")),
]
CARD_CHOICE = SelectChoice("card", _l("Card: the deposit now, on the next page"))  # while the gateway takes cards


class AcceptForm(FlaskForm):
    """The buyer accepts a revision of the quote, and says how the goods reach her and how she pays."""

    revision = HiddenField()
    fulfilment_method = RadioField(
        _l("How do you get the goods?"), choices=FULFILMENT_CHOICES, default="pickup", validate_choice=False
    )
    address = TextAreaField(_l("Delivery address (for delivery)"), validators=[Optional(), _cap(1000)])
    payment_method = RadioField(_l("Payment"), choices=PAYMENT_CHOICES, default="transfer", validate_choice=False)


class NoteForm(FlaskForm):
    """Declining or cancelling, with a note (the other side reads it in the job's history)."""

    note = StringField(_l("Reason (optional)"), validators=[Optional(), _cap(500)])


class AssignForm(FlaskForm):
    member_id = SelectField(_l("Member"), coerce=optional_id, validate_choice=False)
    line_id = SelectField(_l("Line"), coerce=optional_id, validate_choice=False)
    pieces = StringField(_l("Pieces"), validators=[_cap(40)])


class AssignmentChangeForm(FlaskForm):
    pieces = StringField(_l("Pieces"), validators=[_cap(40)])


class PiecesForm(FlaskForm):
    """Finished pieces a member handed in; the key makes a double tap record once."""

    quantity = StringField(_l("Pieces handed in"), validators=[_cap(40)])
    idempotency_key = HiddenField()


class DeliveryLine(Form):
    line_id = HiddenField()
    quantity = StringField(_l("Pieces"), validators=[Optional(), _cap(40)])


class DeliverForm(FlaskForm):
    """A delivery: every finished piece waiting (`everything`), or the pieces named per line."""

    everything = HiddenField()
    lines = FieldList(FormField(DeliveryLine), max_entries=MAX_ROWS)
