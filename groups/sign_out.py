"""A coordinator signs a member out of every phone and computer: for a member who lost their phone, or left
it logged in on someone else's. Their browser sessions end and their API tokens are revoked; their password
stays, so they log in again with it."""

from flask_babel import lazy_gettext as _l

from accounts.models import User
from accounts.services import sign_out_everywhere
from core.errors import Conflict
from groups.models import Group, Member, Role
from groups.services import authorize


def check_can_sign_out(member: Member) -> None:
    """Conflict unless `member` is active and has an account to sign out."""
    if not member.active:
        raise Conflict(_l("This member is inactive."))
    if member.user_id is None:
        raise Conflict(_l("This member has no account, so there is nothing to log out."))


def sign_out_member(actor: User | None, group: Group, member: Member) -> Member:
    """End every session and API token of a member's account (the group's coordinator)."""
    authorize(actor, group, Role.coordinator)
    check_can_sign_out(member)
    sign_out_everywhere(member.user)
    return member
