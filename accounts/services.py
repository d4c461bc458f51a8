"""Accounts: registering, logging in and out, sessions and API tokens, changing a password, logging out everywhere.

A browser is signed in by cookies that name the user by their session token (`User.get_id`), read again on
every request; replacing the token ends every session and remember-me cookie made before, copies included.
"""

import hashlib
import hmac
import secrets

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from accounts.models import (
    EMAIL_MAX_LENGTH,
    USERNAME_MAX_LENGTH,
    USERNAME_MIN_LENGTH,
    USERNAME_PATTERN,
    ApiToken,
    User,
    check_password_rules,
    new_session_token,
)
from accounts.signals import user_registered
from core.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from core.extensions import bearer_request, db, login_manager
from core.phone import PhoneError, normalize_phone
from core.types import utcnow
from core.validation import ID_MAX, clean_name, has_control_chars

TOKEN_PREFIX = "pk_"

# Verified against when no user matches, so a wrong e-mail costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def clean_email(email) -> str:
    """A lower-cased e-mail address with one @ and a dotted domain."""
    if not isinstance(email, str):
        raise ValidationFailed(errors={"email": [str(_l("Enter a valid e-mail address."))]})
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    if (
        not local
        or "." not in domain
        or domain.startswith(".")
        or domain.endswith(".")
        or len(email) > EMAIL_MAX_LENGTH
        or any(c.isspace() for c in email)
        or "@" in domain
        or has_control_chars(email)
    ):
        raise ValidationFailed(errors={"email": [str(_l("Enter a valid e-mail address."))]})
    return email


def clean_username(username) -> str:
    """A login name: 3-30 lowercase letters, digits, dots and underscores, beginning with a letter (so it never
    reads as a phone number), never an e-mail address; upper case is read as lower."""
    text = username.strip().lower() if isinstance(username, str) else ""
    if not USERNAME_PATTERN.fullmatch(text):
        raise ValidationFailed(
            errors={
                "username": [
                    str(
                        _l(
                            "Use %(min)d to %(max)d lowercase letters, digits, dots or underscores, "
                            "beginning with a letter, such as siti.a.",
                            min=USERNAME_MIN_LENGTH,
                            max=USERNAME_MAX_LENGTH,
                        )
                    )
                ]
            }
        )
    return text


def clean_phone(phone, field: str = "phone") -> str:
    """A phone number in +62 form, or ValidationFailed on `field`."""
    try:
        return normalize_phone(phone)
    except PhoneError:
        raise ValidationFailed(
            errors={field: [str(_l("Enter an Indonesian phone number, such as 0812-3456-7890."))]}
        ) from None


def register_user(
    email: str | None, password: str, name: str, phone: str | None = None, username: str | None = None
) -> User:
    """Create an account that logs in by e-mail or phone number (at least one), or by a login name.

    Each e-mail and each phone number (in +62 form) names one account. The account links no member records:
    a person joins a group by accepting an invitation.
    """
    email = clean_email(email) if email else None
    phone = clean_phone(phone) if phone else None
    if email is None and phone is None:
        message = str(_l("Enter a phone number or an e-mail address: you will log in with it."))
        raise ValidationFailed(errors={"phone": [message], "email": [message]})
    name = clean_name(name)
    username = clean_username(username) if username else None
    errors = _taken(email=email, phone=phone, username=username)
    if errors:
        raise Conflict(_l("An account already exists."), errors)
    user = User(email=email, name=name, phone=phone, username=username)
    user.set_password(password)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:  # registered at the same moment by another request
        db.session.rollback()
        raise Conflict(_l("An account already exists.")) from None
    user_registered.send(user)
    return user


def free_username(username) -> str:
    """A cleaned login name no account has yet, or 422 (not a login name) or 409 (taken)."""
    username = clean_username(username)
    errors = _taken(username=username)
    if errors:
        raise Conflict(errors["username"][0], errors)
    return username


def _taken(*, email: str | None = None, phone: str | None = None, username: str | None = None) -> dict:
    """The errors, by field, for the cleaned e-mail, phone number and login name that already name an account."""
    errors = {}
    if email and db.session.scalar(select(User.id).where(User.email == email)):
        errors["email"] = [str(_l("An account with this e-mail already exists."))]
    if phone and db.session.scalar(select(User.id).where(User.phone == phone)):
        errors["phone"] = [str(_l("An account with this phone number already exists."))]
    if username and db.session.scalar(select(User.id).where(User.username == username)):
        errors["username"] = [str(_l("This login name is taken. Choose another."))]
    return errors


def find_user_by_login(identifier: str) -> User | None:
    """The user an e-mail address, phone number or login name names, if any."""
    if not isinstance(identifier, str) or not identifier.strip():
        return None
    identifier = identifier.strip()
    if has_control_chars(identifier):
        return None
    if "@" in identifier:
        return db.session.scalar(select(User).where(User.email == identifier.lower()))
    if USERNAME_PATTERN.fullmatch(identifier.lower()):
        return db.session.scalar(select(User).where(User.username == identifier.lower()))
    try:
        phone = normalize_phone(identifier)
    except PhoneError:
        return None
    return db.session.scalar(select(User).where(User.phone == phone))


def authenticate(identifier: str, password: str) -> User:
    """The active user with these credentials, or Unauthorized."""
    user = find_user_by_login(identifier)
    if user is None:
        check_password_hash(_DUMMY_HASH, password if isinstance(password, str) else "")
        raise Unauthorized(_l("Wrong e-mail, phone number, login name or password."))
    if not isinstance(password, str) or not user.check_password(password) or not user.active:
        raise Unauthorized(_l("Wrong e-mail, phone number, login name or password."))
    return user


def start_session(user: User, remember: bool = False) -> None:
    """Sign the user in on this browser, for 30 days with `remember` (REMEMBER_COOKIE_DURATION), else until the
    browser closes. A bearer API request has no browser: it stays its token's user."""
    if not bearer_request(request):
        login_user(user, remember=remember)


def renew_session(user: User) -> None:
    """Keep this browser signed in after the user's session token was replaced (a password change): its cookies
    are made again with the new token, a remember-me cookie only where the browser had one."""
    if not bearer_request(request):
        remember_cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
        login_user(user, remember=bool(request.cookies.get(remember_cookie)))


def end_session(user: User | None, everywhere: bool = False) -> None:
    """Log `user` (the signed-in user, if any) out, and forget what this browser held (a cart, say): phones here
    are shared. Only the chosen language stays.

    The user's session token is replaced, so no copy of this browser's session or remember-me
    cookie signs anyone in again; every other browser of the account is logged out with it. A
    bearer API request has no browser session: it ends none (its token is revoked with DELETE
    /auth/token). With `everywhere`, every API token of the account is revoked too, the one this
    request carries included.
    """
    if user is not None and everywhere:
        sign_out_everywhere(user)
    elif user is not None and not bearer_request(request):
        end_browser_sessions(user)
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    logout_user()  # after the clear: it marks the remember-me cookie for deletion in the session


# --- ending sessions and tokens: the user's own, or a member's by their coordinator (groups) ---------------


def end_browser_sessions(user: User) -> None:
    """Log the user out of every browser: every session and remember-me cookie made before stops working."""
    user.session_token = new_session_token()
    db.session.flush()


def revoke_tokens(user: User, keep_id: int | None = None) -> None:
    """Revoke every API token of the user still in use, but the one numbered `keep_id`."""
    query = update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    if keep_id is not None:
        query = query.where(ApiToken.id != keep_id)
    db.session.execute(query.values(revoked_at=utcnow()))


def sign_out_everywhere(user: User) -> None:
    """End every browser session of the user and revoke every API token: a lost phone, a shared one."""
    end_browser_sessions(user)
    revoke_tokens(user)


def change_password(actor: User | None, current_password, new_password, keep_token_id: int | None = None) -> User:
    """Change the actor's own password, checked as at registration.

    Every browser session ends and every API token is revoked but `keep_token_id` (the token
    of the request that changes it); the browser that changes it is kept signed in by its
    handler (renew_session). A wrong current password is a 422 on `current_password`.
    """
    if actor is None or not actor.is_authenticated:
        raise Unauthorized()
    if not isinstance(current_password, str) or not actor.check_password(current_password):
        raise ValidationFailed(errors={"current_password": [str(_l("That is not your current password."))]})
    try:
        check_password_rules(new_password)
    except ValidationFailed as exc:
        raise ValidationFailed(errors={"new_password": exc.errors["password"]}) from None
    actor.set_password(new_password)  # gives the user a new session token
    revoke_tokens(actor, keep_id=keep_token_id)
    db.session.flush()
    return actor


def issue_token(user: User, name: str | None = None) -> tuple[ApiToken, str]:
    """Create an API token for `user`; the plain token is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user=user, token_hash=hash_token(token), name=name)
    db.session.add(row)
    db.session.flush()
    return row, token


def revoke_own_token(actor: User, token_id: int) -> ApiToken:
    """Revoke one of the actor's API tokens (of a lost phone, say); another's is as unknown as a missing one."""
    row = db.session.get(ApiToken, token_id) if token_id <= ID_MAX else None
    if row is None or row.user_id != actor.id:
        raise NotFound(_l("Token not found."))
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def update_profile(
    user: User, *, name: str | None = None, locale: str | None = None, username: str | None = None
) -> User:
    """Change the user's display name, interface language (`id` or `en`) or login name; None leaves it as it is.

    A login name is set or changed, never removed (422 for one that is not a login name, 409 for one another
    account has, also when taken at the same moment).
    """
    if name is not None:
        user.name = clean_name(name)
    if locale is not None:
        user.locale = locale
    if username is not None:
        wanted = clean_username(username)
        if wanted != user.username:
            user.username = free_username(wanted)
            try:
                with db.session.begin_nested():
                    db.session.flush()
            except IntegrityError:  # taken at the same moment by another request
                taken = str(_l("This login name is taken. Choose another."))
                raise Conflict(taken, {"username": [taken]}) from None
    return user


# The token with its user, in one query built once (SQLAlchemy compiles it once and keeps it in its compiled
# cache). Read on every API request, never kept between requests, so a revoked token is refused at once.
_TOKEN_AND_USER = (
    select(ApiToken.id, ApiToken.token_hash, ApiToken.revoked_at, User)
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def user_from_bearer(header: str) -> User:
    """The user a bearer token belongs to; Unauthorized for a bad, unknown or revoked token."""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise Unauthorized(_l("The API token is not valid."))
    token_hash = hash_token(token)
    found = db.session.execute(_TOKEN_AND_USER, {"token_hash": token_hash}).first()
    if found is None:
        raise Unauthorized(_l("The API token is not valid."))
    token_id, found_hash, revoked_at, user = found
    if revoked_at is not None or not hmac.compare_digest(found_hash, token_hash) or not user.active:
        raise Unauthorized(_l("The API token is not valid."))
    g.api_token_id = token_id  # the token itself is read again only to revoke it (accounts.api)
    return user


def _bearer_user(req) -> User | None:
    """The user an API request's bearer token names; None without one, Unauthorized for a bad one.

    Refused once: the 401 answer asks again who the request is (for its language), and
    the request is then anonymous.
    """
    if not bearer_request(req) or g.get("bearer_refused"):
        return None
    try:
        return user_from_bearer(req.headers["Authorization"])
    except Unauthorized:
        g.bearer_refused = True
        raise


@login_manager.user_loader
def _load_user(session_token: str) -> User | None:
    # Never for a bearer API request: it brings no session or remember-me cookie (core.extensions.Request).
    return db.session.scalar(select(User).where(User.session_token == session_token, User.active.is_(True)))


@login_manager.request_loader
def _load_user_from_request(req) -> User | None:
    return _bearer_user(req)


@login_manager.unauthorized_handler
def _unauthorized():
    if request.path.startswith("/api/"):
        raise Unauthorized()
    flash(str(_l("Please log in first.")), "warning")
    return redirect(url_for("accounts.login", next=request.full_path if request.query_string else request.path))


def signed_in_user() -> User | None:
    """The user this request is signed in as, by session or bearer token, or None: for views and API handlers."""
    return current_user._get_current_object() if current_user.is_authenticated else None


def require_signed_in(actor: User | None) -> User:
    """`actor` when signed in, else 401: for services, which are given the acting user."""
    if actor is None or not actor.is_authenticated:
        raise Unauthorized()
    return actor


def require_login() -> User:
    """The signed-in user, or Unauthorized: for views and API handlers (services take their actor)."""
    user = signed_in_user()
    if user is None:
        raise Unauthorized()
    return user


def authorize_admin(actor: User | None) -> User:
    """The actor when they are the district admin; Unauthorized without an actor, Forbidden otherwise."""
    if actor is None or not actor.is_authenticated:
        raise Unauthorized()
    if not actor.is_admin:
        raise Forbidden()
    return actor


def require_admin() -> User:
    """The signed-in district admin, or Unauthorized or Forbidden: for views and API handlers."""
    return authorize_admin(signed_in_user())


def count_users() -> int:
    return db.session.scalar(select(func.count(User.id))) or 0
