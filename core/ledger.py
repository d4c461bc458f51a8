"""The books: a double-entry journal of whole rupiah, per group.

Every movement of money is one journal entry whose postings sum to zero: a
positive amount debits an account, a negative one credits it. Entries and
postings are appended, never edited (the database refuses UPDATE and DELETE);
a mistake is corrected by a reversing entry. Accounts belong to a group and are
named by a key: the money accounts (`cash`, `bank`, `card`), `payments_clearing`
(buyers' money not yet shared out), `card_fees`, `refunds`, and per member
`member:<id>:...` accounts for the revenue split.

`check_journals()` proves every entry balances; the domains add their own checks
that their records (payments, refunds) agree with the entries made for them.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.appendonly import make_append_only
from core.extensions import db
from core.money import MAX_AMOUNT
from core.types import UtcDateTime, utcnow

# The accounts every group's books use; the revenue split adds member and fund accounts.
CASH = "cash"  # kas tunai: cash the group holds
BANK = "bank"  # the group's bank account
CARD = "card"  # card money held by the card processor for the group
PAYMENTS_CLEARING = "payments_clearing"  # buyers' payments not yet shared out
CARD_FEES = "card_fees"
REFUNDS = "refunds"
MONEY_ACCOUNTS = {"cash": CASH, "transfer": BANK, "card": CARD}


class LedgerError(ValueError):
    """A journal entry that would not balance, or that names no accounts."""


class Account(db.Model):
    """A named account in one group's books."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (UniqueConstraint("group_id", "key", name="uq_ledger_accounts_group_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    key: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Account {self.group_id}:{self.key}>"


class JournalEntry(db.Model):
    """One balanced movement of money, with what caused it (`source`, `source_id`)."""

    __tablename__ = "journal_entries"
    __table_args__ = (Index("ix_journal_entries_source", "source", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str | None] = mapped_column(String(32))
    source_id: Mapped[int | None] = mapped_column(BigInteger)
    memo: Mapped[str | None] = mapped_column(Text)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"), unique=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)

    postings: Mapped[list["Posting"]] = relationship(back_populates="entry", order_by="Posting.id")


class Posting(db.Model):
    """One side of an entry: a debit (positive) or credit (negative) to an account."""

    __tablename__ = "journal_postings"
    __table_args__ = (CheckConstraint("amount <> 0", name="amount_not_zero"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)

    entry: Mapped[JournalEntry] = relationship(back_populates="postings")
    account: Mapped[Account] = relationship()


make_append_only(JournalEntry.__table__)
make_append_only(Posting.__table__)


def account(group_id: int, key: str, member_id: int | None = None) -> Account:
    """The group's account named `key`, opened on first use (safe when two requests open it at once)."""
    found = db.session.scalar(select(Account).where(Account.group_id == group_id, Account.key == key))
    if found is not None:
        return found
    try:
        with db.session.begin_nested():
            found = Account(group_id=group_id, key=key, member_id=member_id)
            db.session.add(found)
    except IntegrityError:  # opened meanwhile by another transaction
        found = db.session.scalar(select(Account).where(Account.group_id == group_id, Account.key == key))
    return found


def post(
    group_id: int,
    kind: str,
    postings: dict[str, int] | list[tuple[str, int]],
    *,
    source: str | None = None,
    source_id: int | None = None,
    memo: str | None = None,
    actor_id: int | None = None,
    reverses_id: int | None = None,
) -> JournalEntry:
    """Append one balanced entry: `postings` maps account keys to signed amounts summing to zero."""
    items = list(postings.items()) if isinstance(postings, dict) else list(postings)
    items = [(key, amount) for key, amount in items if amount != 0]
    for _key, amount in items:
        if isinstance(amount, bool) or not isinstance(amount, int) or abs(amount) > MAX_AMOUNT:
            raise LedgerError("posting amounts are whole rupiah integers")
    if len(items) < 2:
        raise LedgerError("an entry moves money between at least two accounts")
    if sum(amount for _key, amount in items) != 0:
        raise LedgerError(f"entry does not balance: {items!r}")
    entry = JournalEntry(
        group_id=group_id,
        kind=kind,
        source=source,
        source_id=source_id,
        memo=memo,
        actor_id=actor_id,
        reverses_id=reverses_id,
        created_at=utcnow(),
    )
    for key, amount in items:
        entry.postings.append(Posting(account=account(group_id, key), amount=amount))
    db.session.add(entry)
    return entry


def reverse(entry: JournalEntry, *, memo: str | None = None, actor_id: int | None = None) -> JournalEntry:
    """Undo an entry by appending its mirror image; an entry can be reversed once (unique index)."""
    return post(
        entry.group_id,
        "reversal",
        [(p.account.key, -p.amount) for p in entry.postings],
        source=entry.source,
        source_id=entry.source_id,
        memo=memo,
        actor_id=actor_id,
        reverses_id=entry.id,
    )


def balance(group_id: int, key: str) -> int:
    """The account's balance: debits minus credits."""
    return (
        db.session.scalar(
            select(func.coalesce(func.sum(Posting.amount), 0))
            .join(Account)
            .where(Account.group_id == group_id, Account.key == key)
        )
        or 0
    )


def balances(group_id: int) -> dict[str, int]:
    """Every account of the group with its balance."""
    rows = db.session.execute(
        select(Account.key, func.coalesce(func.sum(Posting.amount), 0))
        .join(Posting, Posting.account_id == Account.id, isouter=True)
        .where(Account.group_id == group_id)
        .group_by(Account.key)
        .order_by(Account.key)
    )
    return {key: int(total) for key, total in rows}


def source_postings(source: str, source_ids, key: str | None = None, kind: str | None = None) -> dict[int, int]:
    """For each source id, the sum of its entries' postings (to account `key`, in entries of `kind`, if given)."""
    query = (
        select(JournalEntry.source_id, func.sum(Posting.amount))
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .where(JournalEntry.source == source, JournalEntry.source_id.in_(list(source_ids)))
        .group_by(JournalEntry.source_id)
    )
    if kind is not None:
        query = query.where(JournalEntry.kind == kind)
    if key is not None:
        query = query.join(Account, Account.id == Posting.account_id).where(Account.key == key)
    return {source_id: int(total) for source_id, total in db.session.execute(query)}


_CHECKS: list = []


def register_check(check) -> None:
    """Add a domain's check (a function returning Problems) to `flask ledger check`."""
    if check not in _CHECKS:
        _CHECKS.append(check)


def check_all() -> list["Problem"]:
    """Every journal balances, and every domain's records agree with the books."""
    problems = check_journals()
    for check in _CHECKS:
        problems.extend(check())
    return problems


@dataclass
class Problem:
    what: str
    detail: str

    def __str__(self) -> str:
        return f"{self.what}: {self.detail}"


def check_journals() -> list[Problem]:
    """Every entry has at least two postings that sum to zero, in one group's accounts; reversals mirror."""
    problems: list[Problem] = []
    sums: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    rows = db.session.execute(
        select(Posting.entry_id, Posting.amount, Account.group_id, JournalEntry.group_id)
        .join(Account, Account.id == Posting.account_id)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
    )
    for entry_id, amount, account_group, entry_group in rows:
        sums[entry_id][0] += amount
        sums[entry_id][1] += 1
        if account_group != entry_group:
            problems.append(Problem(f"entry {entry_id}", "posts to another group's account"))
    for entry_id in db.session.scalars(select(JournalEntry.id)):
        total, count = sums.get(entry_id, (0, 0))
        if count < 2:
            problems.append(Problem(f"entry {entry_id}", f"has {count} posting(s)"))
        elif total != 0:
            problems.append(Problem(f"entry {entry_id}", f"postings sum to {total}, not 0"))
    for entry in db.session.scalars(select(JournalEntry).where(JournalEntry.reverses_id.is_not(None))):
        original = db.session.get(JournalEntry, entry.reverses_id)
        mirror = sorted((p.account_id, -p.amount) for p in original.postings)
        if sorted((p.account_id, p.amount) for p in entry.postings) != mirror:
            problems.append(Problem(f"entry {entry.id}", f"does not mirror entry {original.id} it reverses"))
    return problems
