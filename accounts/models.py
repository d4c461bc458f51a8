"""Users and their API tokens."""

import re
import secrets
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from core.errors import ValidationFailed
from core.extensions import db
from core.types import UtcDateTime, utcnow
from core.validation import NAME_MAX_LENGTH

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 256
EMAIL_MAX_LENGTH = 254
USERNAME_MIN_LENGTH = 3
USERNAME_MAX_LENGTH = 30
# A login name begins with a letter, so it never reads as a phone number, and has no @, so never as an e-mail.
USERNAME_PATTERN = re.compile(rf"[a-z][a-z0-9._]{{{USERNAME_MIN_LENGTH - 1},{USERNAME_MAX_LENGTH - 1}}}")


def check_password_rules(password) -> None:
    """Raise ValidationFailed unless the password is acceptable."""
    if not isinstance(password, str) or len(password) < PASSWORD_MIN_LENGTH:
        raise ValidationFailed(errors={"password": [str(_l("Use at least %(n)d characters.", n=PASSWORD_MIN_LENGTH))]})
    if len(password) > PASSWORD_MAX_LENGTH:
        raise ValidationFailed(errors={"password": [str(_l("That password is too long."))]})


def new_session_token() -> str:
    """A fresh value for `User.session_token`: random, never reused."""
    return secrets.token_urlsafe(24)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    # A short login name ("siti.a") for one of a household's members who share a phone: stored lower-cased.
    username: Mapped[str | None] = mapped_column(String(USERNAME_MAX_LENGTH), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    # What the session and remember-me cookies name the user by (get_id). Replaced on logout, on a password
    # change and by "log out everywhere", so every cookie made before no longer signs anyone in.
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    tokens: Mapped[list["ApiToken"]] = relationship(back_populates="user")

    def get_id(self) -> str:
        return self.session_token

    @property
    def is_active(self) -> bool:
        return self.active

    def set_password(self, password: str) -> None:
        check_password_rules(password)
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)
        self.session_token = new_session_token()

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email or self.phone or self.username}>"


class ApiToken(db.Model):
    """A bearer token for the API; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(NAME_MAX_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")
