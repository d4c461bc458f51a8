"""Groups (kelompok tani, KUB), their members and the invitations members log in with."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, event, inspect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import USERNAME_MAX_LENGTH, User
from core.extensions import db
from core.text import KEY_MAX_LENGTH, name_key
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


class VerificationWithdrawal(StrEnum):
    """Why a verified group was made to wait for the district admin again."""

    bank_account = "bank_account"  # its bank account changed
    admin = "admin"  # the district admin withdrew it


class Group(db.Model):
    """A group; it sells (its goods in the catalog, checkout, transfers to its account) only while verified."""

    __tablename__ = "groups"
    __table_args__ = (
        UniqueConstraint("name", "village", name="uq_group_name_village"),
        # One name per district, as names read to the eye (core.text.name_key): no look-alike of a group.
        Index("uq_groups_district_name_key", "district_key", "name_key", unique=True),
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
    # When and why verification was last withdrawn; the group waits for the admin from then (waiting_since).
    verification_withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    verification_withdrawn_reason: Mapped[VerificationWithdrawal | None] = mapped_column(
        StrEnumType(VerificationWithdrawal, "verification_withdrawal")
    )
    # The name and the district as they read (core.text.name_key), kept in step by the listener below.
    name_key: Mapped[str] = mapped_column(String(KEY_MAX_LENGTH), default="", server_default="")
    district_key: Mapped[str] = mapped_column(String(KEY_MAX_LENGTH), default="", server_default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    members: Mapped[list["Member"]] = relationship(back_populates="group", order_by="Member.id")

    @property
    def waiting_since(self) -> datetime:
        """Since when an unverified group waits for the district admin: its founding, or the last withdrawal."""
        return self.verification_withdrawn_at or self.created_at

    def __repr__(self) -> str:
        return f"<Group {self.id} {self.name!r}>"


@event.listens_for(Group, "before_insert")
def _key_new_group(_mapper, _connection, group: Group) -> None:
    group.name_key, group.district_key = name_key(group.name), name_key(group.district)


@event.listens_for(Group, "before_update")
def _key_renamed_group(_mapper, _connection, group: Group) -> None:
    # Only on a change of name or district: a key the migration set apart (a look-alike found then) stays so.
    state = inspect(group)
    if state.attrs.name.history.has_changes() or state.attrs.district.history.has_changes():
        _key_new_group(_mapper, _connection, group)


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
    # The login name the coordinator gave the person (for a phone shared in a household); they may choose another.
    username: Mapped[str | None] = mapped_column(String(USERNAME_MAX_LENGTH))

    member: Mapped[Member] = relationship()


# --- the revenue split ---------------------------------------------------------------------
