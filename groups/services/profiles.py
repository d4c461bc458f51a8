"""A group's profile: founding a group, changing its profile (a new bank account withdraws its verification),
names that read apart within a district, and the public list of groups."""

import re
from collections.abc import Collection
from contextlib import contextmanager
from typing import TypedDict, Unpack

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from accounts.models import User
from core.errors import Conflict, Unauthorized, ValidationFailed
from core.extensions import db
from core.text import name_key
from core.validation import NAME_MAX_LENGTH, clean_fields, clean_name, has_control_chars
from groups.models import Group, GroupKind, Member, Role, VerificationWithdrawal
from groups.opening import clean_open_days
from groups.services.access import authorize
from groups.verification import changes_bank_account, withdraw_verification

TEXT_MAX_LENGTH = 2000
LINE_MAX_LENGTH = 255

BANK_NAME_MAX_LENGTH = 100
ACCOUNT_NUMBER_MAX_LENGTH = 40


class GroupDetails(TypedDict, total=False):
    """What a group tells buyers beside its name and place: about it, where and when to pick up, its bank account."""

    description: str | None
    pickup_point: str | None
    pickup_hours: str | None
    open_days: Collection[int]  # ISO weekdays, 1 Monday ... 7 Sunday (groups.opening)
    bank_name: str | None
    bank_account_number: str | None
    bank_account_holder: str | None


class GroupProfile(GroupDetails, total=False):
    """A group's profile, as the API's schemas and the group form give it; a field left out stays as it is."""

    name: str
    kind: GroupKind
    village: str
    district: str


def _optional_text(value, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or has_control_chars(value, allow="\t\n\r"):
        raise ValidationFailed(errors={field: [_("Not a valid text.")]})
    value = value.strip()
    if len(value) > limit:
        raise ValidationFailed(errors={field: [_("Use at most %(n)d characters.", n=limit)]})
    return value or None


def _optional_line(value, field: str, limit: int) -> str | None:
    """One line of text: no line breaks or tabs, trimmed, at most `limit` characters."""
    if isinstance(value, str) and has_control_chars(value.strip()):
        raise ValidationFailed(errors={field: [_("Not a valid text.")]})
    return _optional_text(value, field, limit)


_ACCOUNT_NUMBER = re.compile(r"[0-9][0-9 .\-]*")


def _account_number(value) -> str | None:
    """A bank account number as buyers copy it: digits, grouped by spaces, dashes or dots."""
    number = _optional_line(value, "bank_account_number", ACCOUNT_NUMBER_MAX_LENGTH)
    if number is not None and not _ACCOUNT_NUMBER.fullmatch(number):
        raise ValidationFailed(
            errors={"bank_account_number": [_("Use only digits, spaces, dashes and dots, such as 0123-4567-89.")]}
        )
    return number


GROUP_CLEANERS = {  # how each field of a group's profile is read
    "name": clean_name,
    "kind": lambda value, _field: GroupKind(value),
    "village": clean_name,
    "district": clean_name,
    "description": lambda value, field: _optional_text(value, field, TEXT_MAX_LENGTH),
    "pickup_point": lambda value, field: _optional_text(value, field, LINE_MAX_LENGTH),
    "pickup_hours": lambda value, field: _optional_text(value, field, LINE_MAX_LENGTH),
    "open_days": clean_open_days,
    "bank_name": lambda value, field: _optional_line(value, field, BANK_NAME_MAX_LENGTH),
    "bank_account_number": lambda value, _field: _account_number(value),
    "bank_account_holder": lambda value, field: _optional_line(value, field, NAME_MAX_LENGTH),
}
GROUP_FIELDS = tuple(GROUP_CLEANERS)


def _clean_group_fields(profile: GroupProfile) -> dict:
    return clean_fields(profile, GROUP_CLEANERS)


def _check_group_name_free(name: str, village: str, exclude_id: int | None = None) -> None:
    query = select(Group.id).where(func.lower(Group.name) == name.lower(), func.lower(Group.village) == village.lower())
    if exclude_id is not None:
        query = query.where(Group.id != exclude_id)
    if db.session.scalar(query):
        raise Conflict(
            _l("A group with this name already exists in this village."),
            {"name": [_("A group with this name already exists in this village.")]},
        )


def _name_taken() -> ValidationFailed:
    message = _l("A group with this name, or one that looks like it, already exists in this district. Choose another.")
    return ValidationFailed(message, {"name": [str(message)]})


def _check_name_reads_apart(name: str, district: str, exclude_id: int | None = None) -> None:
    """Refuse a name that reads like another group's in the same district (case, accents, spaces, 0/O, 1/l/I...)."""
    query = select(Group.id).where(Group.district_key == name_key(district), Group.name_key == name_key(name))
    if exclude_id is not None:
        query = query.where(Group.id != exclude_id)
    if db.session.scalar(query):
        raise _name_taken()


@contextmanager
def _names_kept_apart():
    """Writes a group's name within: a look-alike written at the same moment by another request is refused too (422).

    A savepoint begun before the writes, so that the refused one leaves the transaction usable.
    """
    try:
        with db.session.begin_nested():
            yield
            db.session.flush()
    except IntegrityError:
        raise _name_taken() from None


def create_group(
    actor: User | None, *, name: str, kind: GroupKind, village: str, district: str, **details: Unpack[GroupDetails]
) -> Group:
    """Found a group; its founder becomes the first coordinator."""
    if actor is None or not actor.is_authenticated:
        raise Unauthorized()
    fields = _clean_group_fields({**details, "name": name, "kind": kind, "village": village, "district": district})
    _check_group_name_free(fields["name"], fields["village"])
    _check_name_reads_apart(fields["name"], fields["district"])
    with _names_kept_apart():
        group = Group(created_by_id=actor.id, **fields)  # unverified: it sells once the district admin verifies it
        db.session.add(group)
        db.session.add(
            Member(
                group=group,
                user_id=actor.id,
                name=actor.name,
                phone=actor.phone,
                email=actor.email,
                role=Role.coordinator,
            )
        )
    return group


def update_group(actor: User | None, group: Group, **changes: Unpack[GroupProfile]) -> Group:
    """Change a group's profile (coordinator).

    A new bank account (bank, number or holder) withdraws the group's verification: buyers
    would send money to an account nobody checked, so the group sells again once the district
    admin has verified it again. Orders placed before go on as they are.
    """
    authorize(actor, group, Role.coordinator)
    fields = _clean_group_fields(changes)
    if "name" in fields or "village" in fields:
        _check_group_name_free(fields.get("name", group.name), fields.get("village", group.village), group.id)
    if "name" in fields or "district" in fields:
        _check_name_reads_apart(fields.get("name", group.name), fields.get("district", group.district), group.id)
    new_account = changes_bank_account(group, fields)
    with _names_kept_apart():
        for key, value in fields.items():
            setattr(group, key, value)
        if new_account:
            withdraw_verification(group, VerificationWithdrawal.bank_account)
    return group


def group_query(
    q: str | None = None,
    kind: str | None = None,
    village: str | None = None,
    district: str | None = None,
    verified: bool | None = None,
):
    """The public list of groups, verified first, then by name."""
    for field, value in (("q", q), ("village", village), ("district", district)):
        if value and has_control_chars(value):
            raise ValidationFailed(errors={field: [_("Not a valid text.")]})
    query = select(Group)
    if q:
        text = q.strip().lower()  # % and _ are searched for, not wildcards
        query = query.where(
            or_(
                func.lower(Group.name).contains(text, autoescape=True),
                func.lower(Group.village).contains(text, autoescape=True),
                func.lower(Group.district).contains(text, autoescape=True),
            )
        )
    if kind:
        query = query.where(Group.kind == GroupKind(kind))
    if village:
        query = query.where(func.lower(Group.village) == village.strip().lower())
    if district:
        query = query.where(func.lower(Group.district) == district.strip().lower())
    if verified is not None:
        query = query.where(Group.verified.is_(verified))
    return query.order_by(Group.verified.desc(), func.lower(Group.name), Group.id)


def member_counts(group_ids: list[int]) -> dict[int, int]:
    """Active members per group, in one query."""
    if not group_ids:
        return {}
    rows = db.session.execute(
        select(Member.group_id, func.count(Member.id))
        .where(Member.group_id.in_(group_ids), Member.active.is_(True))
        .group_by(Member.group_id)
    )
    return dict(rows.all())
