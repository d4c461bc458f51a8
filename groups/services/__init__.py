"""The rules for groups and members: who may do what, and what each change means.

The modules: access (fetching groups and members, memberships and role checks), profiles (founding a
group, its profile, the public list) and members (the list, adding and changing members, a user's
memberships). Invitations are in groups.invitations, verification by the district admin in
groups.verification. What other packages use is named here.
"""

from groups.services.access import (
    authorize,
    can_manage,
    can_see_contacts,
    get_group_or_404,
    get_member_or_404,
    kind_label,
    membership,
    require_role,
    role_label,
)
from groups.services.members import (
    MemberDetails,
    add_member,
    members_query,
    memberships_of,
    roles_of,
    update_member,
    visible_members,
)
from groups.services.profiles import (
    ACCOUNT_NUMBER_MAX_LENGTH,
    BANK_NAME_MAX_LENGTH,
    GROUP_FIELDS,
    LINE_MAX_LENGTH,
    TEXT_MAX_LENGTH,
    GroupDetails,
    GroupProfile,
    create_group,
    group_query,
    member_counts,
    update_group,
)
from groups.verification import set_group_verified  # the district admin's, kept in groups.verification

__all__ = [
    "ACCOUNT_NUMBER_MAX_LENGTH",
    "BANK_NAME_MAX_LENGTH",
    "GROUP_FIELDS",
    "LINE_MAX_LENGTH",
    "TEXT_MAX_LENGTH",
    "GroupDetails",
    "GroupProfile",
    "MemberDetails",
    "add_member",
    "authorize",
    "can_manage",
    "can_see_contacts",
    "create_group",
    "get_group_or_404",
    "get_member_or_404",
    "group_query",
    "kind_label",
    "member_counts",
    "members_query",
    "membership",
    "memberships_of",
    "require_role",
    "role_label",
    "roles_of",
    "set_group_verified",
    "update_group",
    "update_member",
    "visible_members",
]
