"""Members' savings (simpanan), for groups that keep them; the basis of SHU's jasa modal.

A deposit is cash the member hands the group: cash debited, the member's
savings account `savings:<id>` credited. A withdrawal is the reverse and never
exceeds what the member has saved: like a payout, the member's row is locked
(SELECT ... FOR NO KEY UPDATE on PostgreSQL; SQLite writers hold the database's
write lock) before their savings are read, so two withdrawals at once are taken
one after the other and the second sees the first. Each is a Saving row
(positive for a deposit, negative for a withdrawal) naming its journal entry.

Retries are safe as for payouts: the same Idempotency-Key with the same body
returns the first saving, with another body it is refused (422), and twins sent
at the same moment make one row (the key is unique per group).
"""

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from core import ledger
from core.errors import Conflict, ValidationFailed
from core.extensions import db
from core.money import format_rupiah
from core.validation import optional_text
from groups.models import Group, Member, Role
from groups.services import authorize
from revenue.models import Saving
from revenue.services.payouts import (
    NOT_SENT,
    field_error,
    find_keyed,
    insert_keyed,
    lock_member,
    member_in_group,
    read_amount,
    read_fields,
    read_key,
    replayed,
    sent_fingerprint,
)

NOTE_MAX_LENGTH = 500
KINDS = ("deposit", "withdrawal")


def savings_account(member_id: int) -> str:
    """The ledger account of a member's savings."""
    return f"savings:{member_id}"


def member_savings(group_id: int, member_id: int) -> int:
    """What the member has saved with the group: the credit balance of their savings account."""
    return -int(ledger.balance(group_id, savings_account(member_id)))  # PostgreSQL sums BIGINT as numeric


def record_saving(
    actor, group: Group, *, member_id=NOT_SENT, amount=NOT_SENT, kind=NOT_SENT, note=NOT_SENT, idempotency_key=None
) -> tuple[Saving, bool]:
    """Record a member's deposit or withdrawal of savings, in cash (coordinator, treasurer); returns (saving,
    created).

    `kind` is deposit or withdrawal. Retry-safe like a payout: the same Idempotency-Key with the same values
    returns the first saving, with other values it is refused (422).
    """
    authorize(actor, group, Role.coordinator, Role.treasurer)
    key = read_key(idempotency_key)
    fingerprint, values = sent_fingerprint({"member_id": member_id, "amount": amount, "kind": kind, "note": note})
    if key and (existing := find_keyed(Saving, group, key)) is not None:
        return replayed(existing, fingerprint), False
    found = _read_saving(group, **values)
    member = lock_member(found["member"])
    if key and (existing := find_keyed(Saving, group, key)) is not None:  # a twin sent at once went first
        return replayed(existing, fingerprint), False
    amount = found["amount"]
    account = savings_account(member.id)
    if found["kind"] == "withdrawal":
        saved = member_savings(group.id, member.id)
        if amount > saved:
            raise Conflict(
                _l("%(name)s has %(saved)s in savings.", name=member.name, saved=format_rupiah(saved)),
                {"amount": [_("At most %(saved)s.", saved=format_rupiah(max(saved, 0)))]},
            )
        postings, signed = {account: amount, ledger.CASH: -amount}, -amount
    else:
        postings, signed = {ledger.CASH: amount, account: -amount}, amount

    def write() -> Saving:
        entry = ledger.post(
            group.id,
            "saving",
            postings,
            source="saving",
            actor_id=actor.id,
            memo=f"savings {found['kind']} of member {member.id}",
        )
        db.session.flush()
        saving = Saving(
            group_id=group.id,
            member_id=member.id,
            amount=signed,
            note=found["note"],
            entry_id=entry.id,
            idempotency_key=key,
            request_hash=fingerprint if key else None,
            created_by_id=actor.id,
        )
        db.session.add(saving)
        db.session.flush()
        return saving

    return insert_keyed(Saving, group, key, fingerprint, write)


def _read_saving(group: Group, member_id, amount, kind, note) -> dict:
    """The saving's fields, every bad one reported at once (422)."""
    found, errors = read_fields(
        {
            "member": lambda: member_in_group(group, member_id),
            "amount": lambda: read_amount(amount),
            "kind": lambda: _read_kind(kind),
            "note": lambda: optional_text(note, "note", NOTE_MAX_LENGTH),
        }
    )
    if "member" in found and found.get("kind") == "deposit" and not found["member"].active:
        errors["member_id"] = [_("This member is inactive.")]
    if errors:
        raise ValidationFailed(errors=errors)
    return found


def _read_kind(value) -> str:
    if value not in KINDS:
        raise field_error("kind", _("Choose deposit or withdrawal."))
    return value


def keeps_savings(group_id: int) -> bool:
    """Whether the group has ever recorded savings."""
    return db.session.scalar(select(Saving.id).where(Saving.group_id == group_id).limit(1)) is not None


def savings_before(group_id: int, moment: datetime) -> dict[int, int]:
    """Each member's savings just before `moment` (members who never saved are left out)."""
    rows = db.session.execute(
        select(Saving.member_id, func.sum(Saving.amount))
        .where(Saving.group_id == group_id, Saving.created_at < moment)
        .group_by(Saving.member_id)
    )
    return {member_id: int(total) for member_id, total in rows}


def savings_totals(viewer, group: Group) -> dict:
    """Per member: deposits, withdrawals and savings now (coordinator, treasurer, admin)."""
    authorize(viewer, group, Role.coordinator, Role.treasurer, allow_admin=True)
    deposits = dict(
        db.session.execute(
            select(Saving.member_id, func.sum(Saving.amount))
            .where(Saving.group_id == group.id, Saving.amount > 0)
            .group_by(Saving.member_id)
        ).all()
    )
    withdrawals = dict(
        db.session.execute(
            select(Saving.member_id, func.sum(Saving.amount))
            .where(Saving.group_id == group.id, Saving.amount < 0)
            .group_by(Saving.member_id)
        ).all()
    )
    members = db.session.scalars(select(Member).where(Member.group_id == group.id).order_by(Member.id)).all()
    rows = []
    for member in members:
        put_in, taken = int(deposits.get(member.id) or 0), -int(withdrawals.get(member.id) or 0)
        rows.append(
            {
                "member_id": member.id,
                "name": member.name,
                "active": member.active,
                "deposits": put_in,
                "withdrawals": taken,
                "balance": put_in - taken,
            }
        )
    return {"group_id": group.id, "members": rows, "total": sum(r["balance"] for r in rows)}


def saving_view(saving: Saving) -> dict:
    """A deposit or withdrawal as the API shows it, with the member's savings after it."""
    return {
        "id": saving.id,
        "group_id": saving.group_id,
        "member_id": saving.member_id,
        "kind": "deposit" if saving.amount > 0 else "withdrawal",
        "amount": abs(saving.amount),
        "note": saving.note,
        "entry_id": saving.entry_id,
        "created_by_id": saving.created_by_id,
        "created_at": saving.created_at,
        "balance": member_savings(saving.group_id, saving.member_id),
    }


def recent_savings(group: Group, limit: int = 50) -> list[Saving]:
    """The group's latest deposits and withdrawals, newest first."""
    return list(
        db.session.scalars(select(Saving).where(Saving.group_id == group.id).order_by(Saving.id.desc()).limit(limit))
    )


def check_savings() -> list[ledger.Problem]:
    """Each saving's entry moves its amount between cash and the member's savings account."""
    problems = []
    for saving in db.session.scalars(select(Saving).order_by(Saving.id)):
        entry = db.session.get(ledger.JournalEntry, saving.entry_id)
        got = sorted((p.account.key, p.amount) for p in entry.postings) if entry else []
        expected = sorted([(ledger.CASH, saving.amount), (savings_account(saving.member_id), -saving.amount)])
        if entry is None or entry.group_id != saving.group_id or got != expected:
            problems.append(ledger.Problem(f"saving {saving.id}", f"of {saving.amount} has {got} in the books"))
    return problems


ledger.register_check(check_savings)
