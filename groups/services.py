"""The rules for groups and members: who may do what, and what each change means.

Invitations are in groups.invitations, verification by the district admin in groups.verification.
"""

import re
from collections.abc import Collection
from contextlib import contextmanager
from typing import TypedDict, Unpack

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from accounts.models import User
from accounts.services import clean_email, clean_phone, require_login
from core.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from core.extensions import db
from core.text import name_key
from core.types import utcnow
from core.validation import ID_MAX, NAME_MAX_LENGTH, clean_name, has_control_chars
from groups.models import Group, GroupKind, Member, Role, VerificationWithdrawal
from groups.opening import clean_open_days
from groups.verification import changes_bank_account, set_group_verified, withdraw_verification

__all__ = ["set_group_verified"]  # the district admin's, kept in groups.verification

PLACE_MAX_LENGTH = 120
TEXT_MAX_LENGTH = 2000
LINE_MAX_LENGTH = 255

BANK_NAME_MAX_LENGTH = 100
ACCOUNT_NUMBER_MAX_LENGTH = 40
GROUP_FIELDS = (
    "name",
    "kind",
    "village",
    "district",
    "description",
    "pickup_point",
    "pickup_hours",
    "open_days",
    "bank_name",
    "bank_account_number",
    "bank_account_holder",
)


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


class MemberDetails(TypedDict, total=False):
    """What a group keeps of a member; a field left out stays as it is."""

    name: str
    phone: str | None
    email: str | None
    role: Role
    active: bool


# --- fetching and permissions -------------------------------------------------


def get_group_or_404(group_id: int) -> Group:
    group = db.session.get(Group, group_id) if group_id <= ID_MAX else None
    if group is None:
        raise NotFound(_l("Group not found."))
    return group


def get_member_or_404(group: Group, member_id: int) -> Member:
    """A member of `group`; another group's member is as unknown as a missing one."""
    member = db.session.get(Member, member_id) if member_id <= ID_MAX else None
    if member is None or member.group_id != group.id:
        raise NotFound(_l("Member not found."))
    return member


def membership(group: Group, user) -> Member | None:
    """The user's active member record in `group`, if any."""
    if user is None or not user.is_authenticated:
        return None
    return db.session.scalar(
        select(Member).where(Member.group_id == group.id, Member.user_id == user.id, Member.active.is_(True))
    )


def authorize(actor: User | None, group: Group, *roles: Role, allow_admin: bool = False) -> Member | None:
    """The actor's membership of `group` when it holds one of `roles` (any, without `roles`); otherwise 401 or 403.

    With `allow_admin`, a district admin passes too (and gets None back).
    """
    if actor is None or not actor.is_authenticated:
        raise Unauthorized()
    member = membership(group, actor)
    if member is not None and (not roles or member.role in roles):
        return member
    if allow_admin and actor.is_admin:
        return None
    if not roles:
        raise Forbidden(_l("Only members of this group may do that."))
    if len(roles) == 1:
        raise Forbidden(_l("Only the group's %(role)s may do that.", role=role_label(roles[0])))
    raise Forbidden(
        _l(
            "Only the group's %(roles)s or %(role)s may do that.",
            roles=", ".join(role_label(r) for r in roles[:-1]),
            role=role_label(roles[-1]),
        )
    )


def require_role(group: Group, *roles: Role, allow_admin: bool = False) -> Member | None:
    """`authorize` for the signed-in user: for views and API handlers (services take their actor)."""
    return authorize(require_login(), group, *roles, allow_admin=allow_admin)


def role_label(role: Role) -> str:
    return {Role.coordinator: _("coordinator"), Role.treasurer: _("treasurer"), Role.member: _("member")}[Role(role)]


def kind_label(kind: GroupKind) -> str:
    return {GroupKind.farmer: _("Farmer group (kelompok tani)"), GroupKind.business: _("Joint business group (KUB)")}[
        GroupKind(kind)
    ]


def can_manage(group: Group, user) -> bool:
    """Whether the user coordinates `group` (for showing links; services still check)."""
    member = membership(group, user)
    return member is not None and member.role == Role.coordinator


def can_see_contacts(group: Group, user) -> bool:
    member = membership(group, user)
    if member is not None and member.role in (Role.coordinator, Role.treasurer):
        return True
    return bool(user is not None and user.is_authenticated and user.is_admin)


# --- groups -------------------------------------------------------------------


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


def _clean_group_fields(profile: GroupProfile) -> dict:
    clean = {}
    errors: dict = {}
    for field in GROUP_FIELDS:
        if field not in profile:
            continue
        value = profile[field]
        try:
            if field == "name":
                clean[field] = clean_name(value)
            elif field in ("village", "district"):
                clean[field] = clean_name(value, field)
            elif field == "kind":
                clean[field] = GroupKind(value)
            elif field == "description":
                clean[field] = _optional_text(value, field, TEXT_MAX_LENGTH)
            elif field == "open_days":
                clean[field] = clean_open_days(value, field)
            elif field == "bank_name":
                clean[field] = _optional_line(value, field, BANK_NAME_MAX_LENGTH)
            elif field == "bank_account_number":
                clean[field] = _account_number(value)
            elif field == "bank_account_holder":
                clean[field] = _optional_line(value, field, NAME_MAX_LENGTH)
            else:
                clean[field] = _optional_text(value, field, LINE_MAX_LENGTH)
        except ValidationFailed as exc:
            for msgs in exc.errors.values():
                errors[field] = msgs
    if errors:
        raise ValidationFailed(errors=errors)
    return clean


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


# --- members ------------------------------------------------------------------


def visible_members(viewer: User | None, group: Group, include_inactive: bool = True):
    """A group's members, for a viewer who may see the list: its members and the district admin."""
    authorize(viewer, group, allow_admin=True)
    return members_query(group, include_inactive)


def members_query(group: Group, include_inactive: bool = True):
    """A group's members, active first, then by name; callers check the viewer may see them (visible_members)."""
    query = select(Member).where(Member.group_id == group.id)
    if not include_inactive:
        query = query.where(Member.active.is_(True))
    return query.order_by(Member.active.desc(), func.lower(Member.name), Member.id)


def _clean_member_fields(details: MemberDetails) -> dict:
    clean: dict = {}
    errors: dict = {}
    for field in ("name", "phone", "email", "role", "active"):
        if field not in details:
            continue
        value = details[field]
        try:
            if field == "name":
                clean[field] = clean_name(value)
            elif field == "phone":
                clean[field] = clean_phone(value) if value not in (None, "") else None
            elif field == "email":
                clean[field] = clean_email(value) if value not in (None, "") else None
            elif field == "role":
                clean[field] = Role(value)
            elif field == "active":
                clean[field] = value
        except ValidationFailed as exc:
            for msgs in exc.errors.values():
                errors[field] = msgs
    if errors:
        raise ValidationFailed(errors=errors)
    return clean


def _check_member_unique(group: Group, fields: dict, exclude_id: int | None = None) -> None:
    """Refuse a second record for the same person, judged by the group's own records only (never by accounts,
    whose existence an answer must not reveal): an active one with the same e-mail, or name and phone; a former
    one with the same e-mail that holds an account (make it active again instead)."""
    base = select(Member.id).where(Member.group_id == group.id, Member.active.is_(True))
    if exclude_id is not None:
        base = base.where(Member.id != exclude_id)
    if fields.get("email") and db.session.scalar(base.where(Member.email == fields["email"])):
        raise Conflict(
            _l("This person is already a member of the group."),
            {"email": [_("Another member of this group has this e-mail.")]},
        )
    linked = select(Member.id).where(
        Member.group_id == group.id, Member.email == fields.get("email"), Member.user_id.is_not(None)
    )
    if exclude_id is not None:
        linked = linked.where(Member.id != exclude_id)
    if fields.get("email") and db.session.scalar(linked):
        raise Conflict(
            _l("This person is already a member of the group."),
            {"email": [_("A former member with this e-mail has an account here: make them active again instead.")]},
        )
    if fields.get("name") and db.session.scalar(
        base.where(func.lower(Member.name) == fields["name"].lower(), Member.phone == fields.get("phone"))
    ):
        raise Conflict(
            _l("This person is already a member of the group."),
            {"name": [_("A member with this name and phone is already listed.")]},
        )


def add_member(
    actor: User | None,
    group: Group,
    *,
    name: str,
    phone: str | None = None,
    email: str | None = None,
    role: Role = Role.member,
) -> Member:
    """Add a person to a group (coordinator), with no account: an e-mail or phone never links one.

    The person links their account by accepting an invitation (groups.invitations.add_and_invite).
    """
    authorize(actor, group, Role.coordinator)
    fields = _clean_member_fields({"name": name, "phone": phone, "email": email, "role": role})
    _check_member_unique(group, fields)
    member = Member(group=group, **fields)
    db.session.add(member)
    db.session.flush()
    return member


def _active_coordinators(group: Group) -> int:
    return (
        db.session.scalar(
            select(func.count(Member.id)).where(
                Member.group_id == group.id, Member.active.is_(True), Member.role == Role.coordinator
            )
        )
        or 0
    )


def update_member(actor: User | None, group: Group, member: Member, **changes: Unpack[MemberDetails]) -> Member:
    """Change a member's role, contact or active flag (coordinator); members are deactivated, never deleted.

    A new e-mail or phone never links an account: only the person accepting an invitation does.
    """
    authorize(actor, group, Role.coordinator)
    fields = _clean_member_fields(changes)
    stays_coordinator = fields.get("role", member.role) == Role.coordinator and fields.get("active", member.active)
    if member.active and member.role == Role.coordinator and not stays_coordinator and _active_coordinators(group) <= 1:
        raise Conflict(_l("A group needs at least one active coordinator. Appoint another first."))
    if fields.get("active", member.active):
        check = {**fields, "name": fields.get("name", member.name), "phone": fields.get("phone", member.phone)}
        _check_member_unique(group, check, exclude_id=member.id)
    if "active" in fields and fields["active"] != member.active:
        member.deactivated_at = None if fields["active"] else utcnow()
    for key, value in fields.items():
        setattr(member, key, value)
    db.session.flush()
    return member


def roles_of(user: User) -> list[tuple[int, Role]]:
    """The user's active memberships as (group id, role): one small query, for the header's links."""
    return [
        (group_id, role)
        for group_id, role in db.session.execute(
            select(Member.group_id, Member.role).where(Member.user_id == user.id, Member.active.is_(True))
        )
    ]


def memberships_of(user: User) -> list[Member]:
    """The user's active memberships, with their groups."""
    return list(
        db.session.scalars(
            select(Member)
            .join(Group)
            .where(Member.user_id == user.id, Member.active.is_(True))
            .order_by(func.lower(Group.name))
        )
    )
