"""Groups and members API."""

from flask_babel import gettext as _
from flask_smorest.error_handler import ErrorSchema

from accounts import throttle
from accounts.schemas import MeUpdateIn
from accounts.services import require_login, signed_in_user, start_session, update_profile
from core.blueprint import Blueprint
from core.errors import ValidationFailed
from core.extensions import db
from core.pagination import PageQuery, page_of, paginate
from groups import invitations, opening, services, sign_out, verification
from groups.limits import count_addition, member_additions
from groups.models import Role
from groups.schemas import (
    GroupIn,
    GroupListQuery,
    GroupOut,
    GroupPatch,
    GroupVerifyIn,
    InvitationAcceptIn,
    InvitationIn,
    InvitationOut,
    MemberAddedOut,
    MemberIn,
    MemberOut,
    MemberPatch,
    MeOut,
    WaitingGroupOut,
    WaitingGroupsQuery,
)

blp = Blueprint("groups_api", __name__, url_prefix="/api/v1", description="Groups and members")


_GROUP_COLUMNS = [name for name in GroupOut().fields if name != "member_count"]
_BANK_FIELDS = verification.BANK_FIELDS


def group_view(group, count: int | None = None) -> dict:
    view = {name: getattr(group, name) for name in _GROUP_COLUMNS}
    view["open_days"] = opening.weekdays(group.open_days)
    view["member_count"] = count if count is not None else services.member_counts([group.id]).get(group.id, 0)
    return view


def member_view(member, show_contacts: bool) -> dict:
    return {
        "id": member.id,
        "group_id": member.group_id,
        "name": member.name,
        "role": member.role.value,
        "active": member.active,
        "has_account": member.user_id is not None,
        "joined_at": member.joined_at,
        "phone": member.phone if show_contacts else None,
        "email": member.email if show_contacts else None,
    }


def me_view(user) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "phone": user.phone,
        "username": user.username,
        "name": user.name,
        "is_admin": user.is_admin,
        "locale": user.locale,
        "created_at": user.created_at,
        "memberships": [
            {"group_id": m.group_id, "group_name": m.group.name, "member_id": m.id, "role": m.role.value}
            for m in services.memberships_of(user)
        ],
    }


@blp.route("/me", methods=["GET"])
@blp.response(200, MeOut)
def me():
    """The signed-in user and their memberships."""
    return me_view(require_login())


@blp.route("/me", methods=["PATCH"])
@blp.arguments(MeUpdateIn)
@blp.response(200, MeOut)
def update_me(data):
    """Change your display name, language (`id` or `en`) or login name (set or changed, never removed)."""
    user = update_profile(require_login(), **data)
    db.session.commit()
    return me_view(user)


@blp.route("/groups", methods=["POST"])
@blp.arguments(GroupIn)
@blp.response(201, GroupOut)
def create_group(data):
    """Found a group; the caller becomes its coordinator."""
    group = services.create_group(require_login(), **data)
    db.session.commit()
    return group_view(group)


@blp.route("/groups", methods=["GET"])
@blp.arguments(GroupListQuery, location="query")
@blp.response(200, page_of(GroupOut))
def list_groups(args):
    """Public list of groups: verified first."""
    page, per_page = args.pop("page"), args.pop("per_page")
    result = paginate(services.group_query(**args), page, per_page)
    counts = services.member_counts([g.id for g in result["items"]])
    result["items"] = [group_view(g, counts.get(g.id, 0)) for g in result["items"]]
    return result


@blp.route("/groups/<int:group_id>", methods=["GET"])
@blp.response(200, GroupOut)
def get_group(group_id):
    """A group's public profile."""
    return group_view(services.get_group_or_404(group_id))


@blp.route("/groups/<int:group_id>", methods=["PATCH"])
@blp.arguments(GroupPatch)
@blp.response(200, GroupOut)
def update_group(data, group_id):
    """Edit a group's profile (coordinator)."""
    group = services.get_group_or_404(group_id)
    services.update_group(signed_in_user(), group, **data)
    db.session.commit()
    return group_view(group)


@blp.route("/groups/<int:group_id>/verify", methods=["POST"])
@blp.arguments(GroupVerifyIn)
@blp.response(200, GroupOut)
def verify_group(data, group_id):
    """Mark a group verified or not (district admin).

    Only a verified group sells: its goods are in the catalog and checkout. Give the bank account
    you checked (`bank_name`, `bank_account_number`, `bank_account_holder`, any of them): if the
    group has changed it since, nothing is verified (409).
    """
    group = services.get_group_or_404(group_id)
    seen = {field: data[field] for field in _BANK_FIELDS if field in data}
    verification.set_group_verified(signed_in_user(), group, data["verified"], seen)
    db.session.commit()
    return group_view(group)


@blp.route("/groups/waiting", methods=["GET"])
@blp.arguments(WaitingGroupsQuery, location="query")
@blp.response(200, page_of(WaitingGroupOut))
def waiting_groups(args):
    """Groups waiting for verification, the longest waiting first, with their coordinators' contacts
    (district admin)."""
    query = verification.waiting_groups_query(signed_in_user(), args.get("district"))
    result = paginate(query, args["page"], args["per_page"])
    ids = [group.id for group in result["items"]]
    counts, coordinators = services.member_counts(ids), verification.coordinators_of(ids)
    result["items"] = [
        {
            **group_view(group, counts.get(group.id, 0)),
            "waiting_since": group.waiting_since,
            "coordinators": [{"name": m.name, "phone": m.phone, "email": m.email} for m in coordinators[group.id]],
        }
        for group in result["items"]
    ]
    return result


@blp.route("/groups/<int:group_id>/members", methods=["GET"])
@blp.arguments(PageQuery, location="query")
@blp.response(200, page_of(MemberOut))
def list_members(args, group_id):
    """Members: coordinators and treasurers see contacts, members see names and roles."""
    group = services.get_group_or_404(group_id)
    viewer = signed_in_user()
    result = paginate(services.visible_members(viewer, group), args["page"], args["per_page"])
    show = services.can_see_contacts(group, viewer)
    result["items"] = [member_view(m, show) for m in result["items"]]
    return result


def invitation_view(member, invitation, code) -> dict:
    return {
        "code": invitations.format_code(code),
        "username": invitation.username,
        "expires_at": invitation.expires_at,
        **invitations.invitation_links(member, code, invitation.username),
    }


@blp.route("/groups/<int:group_id>/members", methods=["POST"])
@member_additions
@blp.arguments(MemberIn)
@blp.response(201, MemberAddedOut)
def add_member(data, group_id):
    """Add a member (coordinator); an e-mail or phone gets an invitation code, never a linked account.

    The person links their account by entering the code (`/auth/invitations/accept` or the join page). The
    answer is the same whether or not an account has that e-mail or phone. A group adds at most
    MEMBER_ADD_RATE_LIMIT members (30 an hour by default); beyond that the answer is a 429.
    """
    added = invitations.add_and_invite(signed_in_user(), services.get_group_or_404(group_id), **data)
    member = added.member
    view = {name: value for name, value in member_view(member, True).items() if name != "has_account"}
    view["invitation"] = invitation_view(member, added.invitation, added.code) if added.invitation else None
    db.session.commit()
    count_addition()
    return view


@blp.route("/groups/<int:group_id>/members/<int:member_id>", methods=["GET"])
@blp.response(200, MemberOut)
def get_member(group_id, member_id):
    """One member, as the caller may see them."""
    group = services.get_group_or_404(group_id)
    viewer = signed_in_user()
    services.authorize(viewer, group, allow_admin=True)
    member = services.get_member_or_404(group, member_id)
    return member_view(member, services.can_see_contacts(group, viewer))


@blp.route("/groups/<int:group_id>/members/<int:member_id>", methods=["PATCH"])
@blp.arguments(MemberPatch)
@blp.response(200, MemberOut)
def update_member(data, group_id, member_id):
    """Change role, contact or `active` (coordinator); members are never deleted."""
    group = services.get_group_or_404(group_id)
    actor = signed_in_user()
    services.authorize(actor, group, Role.coordinator)  # a refusal comes before an unknown member
    member = services.update_member(actor, group, services.get_member_or_404(group, member_id), **data)
    db.session.commit()
    return member_view(member, True)


@blp.route("/groups/<int:group_id>/members/<int:member_id>/invitation", methods=["POST"])
@blp.arguments(InvitationIn, required=False)
@blp.response(201, InvitationOut)
def create_invitation(data, group_id, member_id):
    """Issue a one-time code for a member without an account (coordinator); earlier codes stop working.

    The body is optional: `username` gives the person a login name with the code (a phone shared in a household).
    """
    group = services.get_group_or_404(group_id)
    actor = signed_in_user()
    services.authorize(actor, group, Role.coordinator)  # a refusal comes before an unknown member
    member = services.get_member_or_404(group, member_id)
    invitation, code = invitations.create_invitation(actor, group, member, (data or {}).get("username") or None)
    view = invitation_view(member, invitation, code)
    db.session.commit()
    return view


@blp.route("/groups/<int:group_id>/members/<int:member_id>/sign-out", methods=["POST"])
@blp.response(204)
def sign_out_member(group_id, member_id):
    """Log a member out of every device (coordinator).

    For a lost phone: the member's browser sessions end and their API tokens are revoked; their
    password stays. 409 for a member without an account, or inactive.
    """
    group = services.get_group_or_404(group_id)
    actor = signed_in_user()
    services.authorize(actor, group, Role.coordinator)  # a refusal comes before an unknown member
    sign_out.sign_out_member(actor, group, services.get_member_or_404(group, member_id))
    db.session.commit()


@blp.route("/auth/invitations/accept", methods=["POST"])
@blp.arguments(InvitationAcceptIn)
@blp.response(201, MeOut)
@blp.alt_response(429, schema=ErrorSchema, description=throttle.ANSWER_429)
def accept_invitation(data):
    """Use an invitation code: set a password (log in by phone), or link the signed-in account.

    When the member's phone already has an account (a phone shared in a household), give a `username` (or use
    the one the coordinator gave): the new account logs in by it. Signed in as a member of the code's group
    already, it is a 409: the code is for another person.
    """
    actor = signed_in_user()
    if actor is None and not data.get("password"):
        raise ValidationFailed(errors={"password": [_("Missing data for required field.")]})
    attempt = throttle.begin()  # a code is guessed as a password is: counted on this address
    user = invitations.accept_invitation(
        actor, data["code"], data.get("password"), data.get("phone"), data.get("username")
    )
    throttle.succeeded(attempt)
    db.session.commit()
    start_session(user)
    return me_view(user)
