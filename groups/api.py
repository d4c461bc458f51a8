"""Groups and members API."""

from flask import current_app
from flask_babel import gettext as _

from accounts.schemas import MeUpdateIn
from accounts.services import require_login, signed_in_user, start_session, update_profile
from core.blueprint import Blueprint
from core.errors import ValidationFailed
from core.extensions import db, limiter
from core.pagination import PageQuery, page_of, paginate
from groups import invitations, opening, services
from groups.schemas import (
    GroupIn,
    GroupListQuery,
    GroupOut,
    GroupPatch,
    GroupVerifyIn,
    InvitationAcceptIn,
    InvitationOut,
    MemberIn,
    MemberOut,
    MemberPatch,
    MeOut,
)

blp = Blueprint("groups_api", __name__, url_prefix="/api/v1", description="Groups and members")


_GROUP_COLUMNS = [name for name in GroupOut().fields if name != "member_count"]


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
    """Change your display name or language (`id` or `en`)."""
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
    """Mark a group verified or not (district admin)."""
    group = services.get_group_or_404(group_id)
    services.set_group_verified(signed_in_user(), group, data["verified"])
    db.session.commit()
    return group_view(group)


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


@blp.route("/groups/<int:group_id>/members", methods=["POST"])
@blp.arguments(MemberIn)
@blp.response(201, MemberOut)
def add_member(data, group_id):
    """Add a member (coordinator); no account needed, a known e-mail links one."""
    member = services.add_member(signed_in_user(), services.get_group_or_404(group_id), **data)
    db.session.commit()
    return member_view(member, True)


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
    services.authorize(actor, group, services.Role.coordinator)  # a refusal comes before an unknown member
    member = services.update_member(actor, group, services.get_member_or_404(group, member_id), **data)
    db.session.commit()
    return member_view(member, True)


@blp.route("/groups/<int:group_id>/members/<int:member_id>/invitation", methods=["POST"])
@blp.response(201, InvitationOut)
def create_invitation(group_id, member_id):
    """Issue a one-time code for a member without an account (coordinator)."""
    group = services.get_group_or_404(group_id)
    actor = signed_in_user()
    services.authorize(actor, group, services.Role.coordinator)  # a refusal comes before an unknown member
    member = services.get_member_or_404(group, member_id)
    invitation, code = invitations.create_invitation(actor, group, member)
    links = invitations.invitation_links(member, code)
    db.session.commit()
    return {"code": invitations.format_code(code), "expires_at": invitation.expires_at, **links}


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


@blp.route("/auth/invitations/accept", methods=["POST"])
@limiter.limit(_login_limit)
@blp.arguments(InvitationAcceptIn)
@blp.response(201, MeOut)
def accept_invitation(data):
    """Use an invitation code: set a password (log in by phone), or link the signed-in account."""
    actor = signed_in_user()
    if actor is None and not data.get("password"):
        raise ValidationFailed(errors={"password": [_("Missing data for required field.")]})
    user = invitations.accept_invitation(actor, data["code"], data.get("password"), data.get("phone"))
    db.session.commit()
    start_session(user)
    return me_view(user)
