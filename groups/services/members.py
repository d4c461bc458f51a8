"""A group's members: the list and who may see it, adding a person (never linking an account), changing a
member's role, contact or active flag, and a user's memberships."""

from typing import TypedDict, Unpack

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from accounts.models import User
from accounts.services import clean_email, clean_phone
from core.errors import Conflict
from core.extensions import db
from core.types import utcnow
from core.validation import clean_fields, clean_name
from groups.models import Group, Member, Role
from groups.services.access import authorize


class MemberDetails(TypedDict, total=False):
    """What a group keeps of a member; a field left out stays as it is."""

    name: str
    phone: str | None
    email: str | None
    role: Role
    active: bool


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


MEMBER_CLEANERS = {  # how each field of a member's record is read
    "name": clean_name,
    "phone": lambda value, _field: clean_phone(value) if value not in (None, "") else None,
    "email": lambda value, _field: clean_email(value) if value not in (None, "") else None,
    "role": lambda value, _field: Role(value),
    "active": lambda value, _field: value,
}


def _clean_member_fields(details: MemberDetails) -> dict:
    return clean_fields(details, MEMBER_CLEANERS)


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
