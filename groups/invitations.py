"""Invitations: a one-time code by which a person consents to be a group's member.

Adding a member never links an account, whatever e-mail or phone the coordinator names: a member added with
either gets a code, which the coordinator passes on (shown once, with a WhatsApp link). The person enters it on
/join: logged in, it links their account to the member; without an account, they set a password and log in by
phone from then on. A code nobody enters leaves the member unlinked; it expires after INVITATION_DAYS.
"""

import hashlib
import secrets
from datetime import timedelta
from typing import NamedTuple
from urllib.parse import quote

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from accounts.models import User
from accounts.services import clean_phone, find_user_by_login, free_username
from core.errors import Conflict, NotFound, ValidationFailed
from core.extensions import db
from core.phone import whatsapp_number
from core.types import utcnow
from groups.models import Group, Invitation, Member, Role
from groups.services import add_member, authorize

INVITATION_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
INVITATION_LENGTH = 8


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def normalize_code(code) -> str:
    """Codes are read aloud and typed on phones: ignore case, spaces and dashes."""
    if not isinstance(code, str):
        return ""
    return "".join(c for c in code.upper() if c.isalnum())


def create_invitation(
    actor: User | None, group: Group, member: Member, username: str | None = None
) -> tuple[Invitation, str]:
    """Issue a one-time code for a member without an account (coordinator); earlier codes stop working.

    `username`: a login name for the person, for a phone shared in a household; it must be free now, and is
    taken when the code is used (unless the person chooses another).
    """
    authorize(actor, group, Role.coordinator)
    if not member.active:
        raise Conflict(_l("This member is inactive."))
    if member.user_id is not None:
        raise Conflict(_l("This member already has an account."))
    username = free_username(username) if username else None
    now = utcnow()
    for old in db.session.scalars(
        select(Invitation).where(
            Invitation.member_id == member.id, Invitation.used_at.is_(None), Invitation.revoked_at.is_(None)
        )
    ):
        old.revoked_at = now
    code = "".join(secrets.choice(INVITATION_ALPHABET) for _ in range(INVITATION_LENGTH))
    days = current_app.config["INVITATION_DAYS"]
    invitation = Invitation(
        member=member,
        code_hash=_hash_code(code),
        created_by_id=actor.id,
        expires_at=now + timedelta(days=days),
        username=username,
    )
    db.session.add(invitation)
    db.session.flush()
    return invitation, code


class AddedMember(NamedTuple):
    """A member just added, and the invitation issued to them (None, and no code, without an e-mail or phone)."""

    member: Member
    invitation: Invitation | None
    code: str | None


def add_and_invite(
    actor: User | None,
    group: Group,
    *,
    name: str,
    phone: str | None = None,
    email: str | None = None,
    role: Role = Role.member,
    username: str | None = None,
) -> AddedMember:
    """Add a member (coordinator) and, when they are named by e-mail or phone or given a login name, issue their
    invitation.

    What comes back depends only on what the coordinator gave, never on whether an account has that e-mail or
    phone: the member stays unlinked until the person accepts the code.
    """
    if username:
        free_username(username)  # refused before the member is added
    member = add_member(actor, group, name=name, phone=phone, email=email, role=role)
    if member.phone is None and member.email is None and not username:
        return AddedMember(member, None, None)
    invitation, code = create_invitation(actor, group, member, username)
    return AddedMember(member, invitation, code)


def format_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def invitation_links(member: Member, code: str, username: str | None = None) -> dict:
    """The join page link, and a WhatsApp link carrying the code (and the login name given) to the member's phone."""
    join_url = f"{current_app.config['PUBLIC_URL'].rstrip('/')}/join?code={format_code(code)}"
    text = _(
        "Hello %(name)s, you are invited to %(group)s on Pasar Kelompok. Your code: %(code)s. "
        "Open %(url)s to join: set a password, or log in first if you already have an account.",
        name=member.name,
        group=member.group.name,
        code=format_code(code),
        url=join_url,
    )
    if username:
        text += " " + _("Your login name: %(username)s.", username=username)
    target = whatsapp_number(member.phone) if member.phone else ""
    return {"join_url": join_url, "whatsapp_url": f"https://wa.me/{target}?text={quote(text)}"}


def find_invitation(code) -> Invitation:
    """The open invitation `code` names, or 404."""
    code = normalize_code(code)
    if len(code) != INVITATION_LENGTH:
        raise NotFound(_l("This invitation code is not valid."))
    invitation = db.session.scalar(select(Invitation).where(Invitation.code_hash == _hash_code(code)))
    if (
        invitation is None
        or invitation.used_at is not None
        or invitation.revoked_at is not None
        or invitation.expires_at < utcnow()
        or not invitation.member.active
    ):
        raise NotFound(_l("This invitation code is not valid or has expired."))
    return invitation


class CodeForAnotherPerson(Conflict):
    """The signed-in account is already a member of the code's group: the code is for someone else, who shares
    this phone, say. The join page offers to log out so that they can join."""


def accept_invitation(
    actor: User | None,
    code: str,
    password: str | None = None,
    phone: str | None = None,
    username: str | None = None,
) -> User:
    """Turn an invitation into an account that logs in by phone or login name, or, with an actor, link it to theirs.

    Only the code links a member to an account: who holds it was given it by the coordinator. A phone number
    names at most one account: when the member's phone already has one (a phone shared in a household), the new
    account logs in by its login name (`username`, or the one the coordinator gave) and has no phone of its own.
    """
    invitation = find_invitation(code)
    member = invitation.member
    now = utcnow()
    if actor is not None:
        user = actor
        if db.session.scalar(select(Member.id).where(Member.group_id == member.group_id, Member.user_id == user.id)):
            raise CodeForAnotherPerson(
                _l(
                    "Your account is already a member of this group. This code is for %(name)s: if %(name)s uses "
                    "this phone too, log out so that %(name)s can join with their own login.",
                    name=member.name,
                )
            )
    else:
        user = _new_member_account(invitation, password, phone, username)
        if not member.phone and user.phone:
            member.phone = user.phone
    member.user_id = user.id
    invitation.used_at = now
    db.session.flush()
    return user


def _new_member_account(invitation: Invitation, password, phone, username) -> User:
    """The account of a person who accepts their code without one."""
    member = invitation.member
    phone = clean_phone(phone) if phone not in (None, "") else member.phone
    username = free_username(username or invitation.username) if (username or invitation.username) else None
    if not phone and not username:
        raise ValidationFailed(
            errors={"phone": [_("Enter your phone number, or choose a login name: you will log in with it.")]}
        )
    if phone and find_user_by_login(phone) is not None:
        if username is None:
            raise Conflict(
                _l(
                    "An account with this phone number already exists. If it is yours, log in first, then use "
                    "the code. If you share this phone, choose a login name for your own account."
                ),
                {
                    "phone": [_("An account with this phone number already exists.")],
                    "username": [_("Choose a login name for your own account on this shared phone.")],
                },
            )
        phone = None  # the phone stays its owner's login; this account logs in by its login name
    user = User(name=member.name, phone=phone, email=None, username=username)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user
