"""Fetching groups and members, and who may do what: a user's membership, the role checks every service makes,
and the labels of roles and kinds."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from accounts.models import User
from accounts.services import require_login
from core.errors import Forbidden, NotFound, Unauthorized
from core.extensions import db
from core.validation import ID_MAX
from groups.models import Group, GroupKind, Member, Role


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
