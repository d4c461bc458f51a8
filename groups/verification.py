"""Verification: the district admin vouches for a group before it takes money.

An unverified group builds its catalog, but the public catalog, its storefront and checkout
offer nothing of it (marketplace reads `Group.verified`). A group is founded unverified; a
new bank account withdraws its verification (groups.services.update_group), as the district
admin may; the admin sees the groups waiting, the longest waiting first. Orders placed while
a group was verified go on as they are; only new checkouts wait.
"""

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from accounts.models import User
from accounts.services import authorize_admin
from core.errors import Conflict, ValidationFailed
from core.extensions import db
from core.text import fold, name_key
from core.types import utcnow
from core.validation import has_control_chars
from groups.models import Group, Member, Role, VerificationWithdrawal

BANK_FIELDS = ("bank_name", "bank_account_number", "bank_account_holder")


def bank_details(group: Group) -> dict[str, str | None]:
    """The group's bank account as it stands: what the district admin checks before verifying."""
    return {field: getattr(group, field) for field in BANK_FIELDS}


def _same_bank_detail(field: str, old: str | None, new: str | None) -> bool:
    """Whether two spellings name the same account: the number by its digits, names whatever the case and spaces."""
    if field == "bank_account_number":
        return re.sub(r"\D", "", old or "") == re.sub(r"\D", "", new or "")
    return fold(old) == fold(new)


def changes_bank_account(group: Group, fields: dict) -> bool:
    """Whether the profile `fields` give the group another bank account (bank, number or holder)."""
    return any(
        field in fields and not _same_bank_detail(field, getattr(group, field), fields[field]) for field in BANK_FIELDS
    )


def withdraw_verification(group: Group, reason: VerificationWithdrawal) -> None:
    """The group waits for the district admin again, from now; a group not verified is left as it is."""
    if group.verified:
        group.verified, group.verified_at, group.verified_by_id = False, None, None
        group.verification_withdrawn_at, group.verification_withdrawn_reason = utcnow(), reason


def set_group_verified(actor: User | None, group: Group, verified: bool, seen: dict | None = None) -> Group:
    """The district admin vouches for a group (or withdraws it).

    `seen`, when given, is the bank account (any of BANK_FIELDS) the admin checked: when the
    group has changed it since, nothing is verified (409) and the admin looks again.
    """
    admin = authorize_admin(actor)
    if verified:
        current = bank_details(group)
        if any(field in current and (value or None) != current[field] for field, value in (seen or {}).items()):
            raise Conflict(
                _l("The group changed its bank account after you looked at it. Check it again, then verify."),
                {"bank_account_number": [_("The bank account changed. Check it again.")]},
            )
        group.verified, group.verified_at, group.verified_by_id = True, utcnow(), admin.id
    else:
        withdraw_verification(group, VerificationWithdrawal.admin)
    db.session.flush()
    return group


def waiting_groups_query(actor: User | None, district: str | None = None):
    """Groups waiting for verification (the district admin only), the longest waiting first; `district` read as
    names are (core.text.name_key)."""
    authorize_admin(actor)
    if district is not None and has_control_chars(district):
        raise ValidationFailed(errors={"district": [_("Not a valid text.")]})
    query = select(Group).where(Group.verified.is_(False))
    if district and district.strip():
        query = query.where(Group.district_key == name_key(district))
    return query.order_by(func.coalesce(Group.verification_withdrawn_at, Group.created_at), Group.id)


def coordinators_of(group_ids: list[int]) -> dict[int, list[Member]]:
    """The active coordinators of each group, with their contacts, in one query (for the district admin)."""
    found: dict[int, list[Member]] = {group_id: [] for group_id in group_ids}
    if group_ids:
        for member in db.session.scalars(
            select(Member)
            .where(Member.group_id.in_(group_ids), Member.active.is_(True), Member.role == Role.coordinator)
            .order_by(Member.id)
        ):
            found[member.group_id].append(member)
    return found
