"""Groups (kelompok tani, KUB), their members and the invitations members log in with."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import User
from core.extensions import db
from core.types import StrEnumType, UtcDateTime, utcnow
from core.validation import NAME_MAX_LENGTH
from groups.opening import DEFAULT_OPEN_DAYS

# Seven flags, Monday to Sunday, at least one day open (groups.opening).
OPEN_DAYS_CHECK = (
    "length(open_days) = 7 AND replace(replace(open_days, '0', ''), '1', '') = '' AND open_days <> '0000000'"
)


class GroupKind(StrEnum):
    farmer = "farmer"  # kelompok tani
    business = "business"  # kelompok usaha bersama (KUB)


class Role(StrEnum):
    coordinator = "coordinator"  # ketua / koordinator
    treasurer = "treasurer"  # bendahara
    member = "member"  # anggota


class Group(db.Model):
    __tablename__ = "groups"
    __table_args__ = (
        UniqueConstraint("name", "village", name="uq_group_name_village"),
        CheckConstraint(OPEN_DAYS_CHECK, name="open_days"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    kind: Mapped[GroupKind] = mapped_column(StrEnumType(GroupKind, "group_kind"))
    village: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), index=True)
    district: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    pickup_point: Mapped[str | None] = mapped_column(String(255))
    pickup_hours: Mapped[str | None] = mapped_column(String(255))
    # The days buyers may pick up or have goods delivered, Monday to Sunday: "1111110" is Monday to Saturday.
    open_days: Mapped[str] = mapped_column(String(7), default=DEFAULT_OPEN_DAYS, server_default=DEFAULT_OPEN_DAYS)
    # Where buyers send a bank transfer (shown with the order's reference).
    bank_name: Mapped[str | None] = mapped_column(String(100))
    bank_account_number: Mapped[str | None] = mapped_column(String(40))
    bank_account_holder: Mapped[str | None] = mapped_column(String(NAME_MAX_LENGTH))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    members: Mapped[list["Member"]] = relationship(back_populates="group", order_by="Member.id")

    def __repr__(self) -> str:
        return f"<Group {self.id} {self.name!r}>"


class Member(db.Model):
    """A person in a group; an account (user) is optional."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("group_id", "user_id", name="uq_member_group_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    role: Mapped[Role] = mapped_column(StrEnumType(Role, "member_role"), default=Role.member)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    deactivated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    group: Mapped[Group] = relationship(back_populates="members")
    user: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Member {self.id} {self.name!r} of group {self.group_id}>"


class Invitation(db.Model):
    """A one-time code with which a member without an account sets a password."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    member: Mapped[Member] = relationship()


# --- the revenue split ---------------------------------------------------------------------
