"""Checks on input that every domain shares: ids from requests, names, control characters, rupiah amounts, and
reading several fields at once with every bad one reported."""

import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import lazy_gettext as _l

from core.errors import ValidationFailed, field_error
from core.extensions import db
from core.money import MAX_AMOUNT, AmountTooLarge, MoneyError, format_rupiah, parse_rupiah

NAME_MAX_LENGTH = 120
ID_MAX = 2**31 - 1  # the largest INTEGER key on PostgreSQL; a larger id in a URL names nothing


def row_by_id(model, row_id):
    """The row of `model` an id from a request names, or None: also for what is not a whole number in range."""
    if isinstance(row_id, bool) or not isinstance(row_id, int) or not 0 < row_id <= ID_MAX:
        return None
    return db.session.get(model, row_id)


def has_control_chars(text: str, allow: str = "") -> bool:
    """Whether `text` holds control characters (NUL among them, which PostgreSQL cannot store)."""
    return any(unicodedata.category(c) == "Cc" and c not in allow for c in text)


def clean_fields(given: Mapping[str, Any], cleaners: Mapping[str, Callable[[Any, str], Any]]) -> dict:
    """The fields of `given` that `cleaners` names, each read by its cleaner (value, field), in the cleaners'
    order; a field left out stays out. Every bad field is reported at once, under its own name (422)."""
    clean: dict = {}
    errors: dict = {}
    for field, cleaner in cleaners.items():
        if field not in given:
            continue
        try:
            clean[field] = cleaner(given[field], field)
        except ValidationFailed as exc:
            for messages in exc.errors.values():
                errors[field] = messages
    if errors:
        raise ValidationFailed(errors=errors)
    return clean


def clean_name(name, field: str = "name") -> str:
    """A trimmed display name, 1 to 120 characters, any script."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationFailed(errors={field: [str(_l("This field is required."))]})
    name = " ".join(name.split())
    if has_control_chars(name):
        raise ValidationFailed(errors={field: [str(_l("Not a valid text."))]})
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationFailed(errors={field: [str(_l("Use at most %(n)d characters.", n=NAME_MAX_LENGTH))]})
    return name


def optional_text(value, field: str, limit: int, *, required: bool = False) -> str | None:
    """A trimmed free text (a note, an address), lines allowed, at most `limit` characters; None when missing or
    blank, or 422 naming `field` when `required`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise field_error(field, _l("This field is required."))
        return None
    if not isinstance(value, str) or has_control_chars(value, allow="\n\r\t"):
        raise field_error(field, _l("Not a valid text."))
    value = value.strip()
    if len(value) > limit:
        raise field_error(field, _l("Use at most %(n)d characters.", n=limit))
    return value


def read_rupiah(
    value, field: str = "amount", *, ceiling: int = MAX_AMOUNT, positive: bool = False, invalid=None
) -> int:
    """A whole rupiah amount from a request, at most `ceiling` (and more than zero when `positive`), or a 422 on
    `field`: `invalid` (what to say of a value that is no amount) or "At most Rp…" above the ceiling."""
    try:
        amount = parse_rupiah(value, ceiling)
    except AmountTooLarge:
        raise ValidationFailed(
            errors={field: [str(_l("At most %(amount)s.", amount=format_rupiah(ceiling)))]}
        ) from None
    except MoneyError:
        message = invalid if invalid is not None else _l("Give a whole rupiah amount, such as 12500.")
        raise ValidationFailed(errors={field: [str(message)]}) from None
    if positive and amount <= 0:
        raise ValidationFailed(errors={field: [str(_l("The amount must be more than zero."))]})
    return amount
