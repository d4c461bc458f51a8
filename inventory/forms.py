"""Inventory forms: products and variants, intake, stock adjustments.

The forms only carry what people typed; the services decide what is valid, so
the pages and the JSON API give the same answers.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import DateInput

from core.forms import FlaskForm
from core.validation import NAME_MAX_LENGTH

KIND_CHOICES = [
    SelectChoice("produce", _l("Produce")),
    SelectChoice("garment", _l("Garment")),
    SelectChoice("processed", _l("Processed food")),
]
STATUS_CHOICES = [
    SelectChoice("active", _l("Active: buyers see it")),
    SelectChoice("hidden", _l("Hidden")),
    SelectChoice("archived", _l("Archived")),
]
REASON_CHOICES = [
    SelectChoice("spoilage", _l("Spoilage")),
    SelectChoice("damage", _l("Damage")),
    SelectChoice("count", _l("Count (stock opname)")),
    SelectChoice("return", _l("Return")),
]


def _cap(n: int) -> Length:
    """A generous length cap against junk; the services hold the real limits and messages."""
    return Length(max=n, message=_l("That is too long."))


def optional_id(value):
    """A posted id as an int, or None (the service then names what is wrong)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        return int(value)
    return None


class VariantRow(Form):
    """One variant on the product editor; `id` is empty for a new one."""

    id = HiddenField()
    label = StringField(_l("Variant"), validators=[Optional(), _cap(200)])
    unit_price = StringField(_l("Price (Rp)"), validators=[Optional(), _cap(40)])
    low_stock_threshold = StringField(_l("Low-stock threshold"), validators=[Optional(), _cap(40)])
    active = BooleanField(_l("On sale"), default=True)


class ProductForm(FlaskForm):
    name = StringField(_l("Product name"), validators=[_cap(NAME_MAX_LENGTH)])
    kind = SelectField(_l("Kind"), choices=KIND_CHOICES, validate_choice=False)
    unit = SelectField(_l("Unit"), choices=[], validate_choice=False)
    description = TextAreaField(_l("Description"), validators=[Optional(), _cap(2000)])
    status = SelectField(_l("Status"), choices=STATUS_CHOICES, default="active", validate_choice=False)
    photo = FileField(_l("Photo (JPEG, PNG or WebP, at most 2 MB)"))
    variants = FieldList(FormField(VariantRow), min_entries=1, max_entries=51)


class IntakeForm(FlaskForm):
    member_id = SelectField(
        _l("Member"), coerce=optional_id, validate_choice=False, validators=[InputRequired(_l("Choose a member."))]
    )
    variant_id = SelectField(
        _l("Product"), coerce=optional_id, validate_choice=False, validators=[InputRequired(_l("Choose a product."))]
    )
    quantity = StringField(_l("Quantity"), validators=[InputRequired(_l("Enter the quantity.")), _cap(40)])
    unit = SelectField(_l("Unit"), choices=[], validate_choice=False)
    grade = StringField(_l("Grade (optional)"), validators=[Optional(), _cap(40)])
    best_before = StringField(_l("Best before (optional)"), widget=DateInput(), validators=[Optional(), _cap(40)])
    note = StringField(_l("Note (optional)"), validators=[Optional(), _cap(1000)])


class AdjustForm(FlaskForm):
    variant_id = SelectField(
        _l("Product"), coerce=optional_id, validate_choice=False, validators=[InputRequired(_l("Choose a product."))]
    )
    reason = SelectField(_l("Reason"), choices=REASON_CHOICES, validate_choice=False)
    quantity = StringField(_l("Change (negative takes away, such as -1.5)"), validators=[Optional(), _cap(40)])
    counted = StringField(_l("Or, for a count: the quantity counted on hand"), validators=[Optional(), _cap(40)])
    lot_id = SelectField(_l("From lot (optional)"), coerce=optional_id, validate_choice=False)
    note = StringField(_l("Note (optional)"), validators=[Optional(), _cap(1000)])
