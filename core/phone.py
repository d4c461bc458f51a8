"""Indonesian phone numbers, normalised to +62 form."""

import re

import phonenumbers

_SEPARATORS = re.compile(r"[\s\-\.\(\)/]")


class PhoneError(ValueError):
    """Not a valid Indonesian phone number."""


def normalize_phone(raw: str) -> str:
    """Turn 0812-3456-7890, 62 812 3456 7890 or +62812... into +628123456789 form."""
    if not isinstance(raw, str):
        raise PhoneError("not a phone number")
    text = _SEPARATORS.sub("", raw.strip())
    if not text or len(text) > 20:
        raise PhoneError("not a phone number")
    if text.startswith("62"):
        text = "+" + text
    if not re.fullmatch(r"\+?\d+", text):
        raise PhoneError("not a phone number")
    try:
        number = phonenumbers.parse(text, "ID")
    except phonenumbers.NumberParseException as exc:
        raise PhoneError("not a phone number") from exc
    if number.country_code != 62 or not phonenumbers.is_valid_number(number):
        raise PhoneError("not a valid Indonesian phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(phone: str | None) -> str:
    """How people here write a number: +6281233000102 -> 0812-3300-0102."""
    if not phone:
        return ""
    try:
        number = phonenumbers.parse(phone, "ID")
    except phonenumbers.NumberParseException:
        return phone
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return national if "(" in national else national.replace(" ", "-")


def whatsapp_number(phone: str) -> str:
    """The digits wa.me expects: +6281234 -> 6281234."""
    return phone.lstrip("+")
