"""Payouts: money the group hands a member from what it owes them (their balance).

A member's balance is the credit balance of their ledger account `member:<id>`
(sales earnings, pool shares and SHU parts credited, less refunds taken back
and payouts made). A payout is one balanced journal entry, the member's account
debited and the money account credited, and a Payout row naming that entry.
It never exceeds the balance: the member's row is locked (SELECT ... FOR NO KEY
UPDATE on PostgreSQL; on SQLite a writing request already holds the database's
write lock) before the balance is read, so two payouts at once are taken one after
the other and the second sees the first.

Retries are safe as for order payments: the same Idempotency-Key with the same
body returns the first payout; with another body it is refused (422). A payout
recorded by mistake is corrected by a reversing payout (negative, `reverses_id`)
and the reversal of its journal entry, once; nothing is edited away.

Nobody records a payout to themself: another officer of the group must do it.

A payout is not checked against the group's cash or bank account in the
ledger, on purpose. DESIGN.md's invariants bound a payout by the member's
balance (what the group owes them), and every rupiah of it is still accounted
for as a balanced entry; no invariant asks a money account to stay above zero.
Those accounts do not hold all the group's money either: nothing records the
cash or bank balance a group had before it used the app, cash taken to the bank
or drawn from it, or the card processor paying the group's card money (the
`card` account) into its bank account. A member whose earnings came from card
sales is paid by transfer from a `bank` account the ledger never saw filled,
and a group that banked its takings pays cash it drew again. A check there would
refuse real payouts with nothing in the app to put right; the treasurer counts
the cash box and the bank statement, and the ledger shows what left each.
"""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from accounts.models import User
from accounts.services import clean_phone
from core import ledger
from core.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_error
from core.extensions import db
from core.idempotency import KEY_MAX_LENGTH, read_key, replayed, request_fingerprint  # noqa: F401  (payout_api, savings)
from core.money import format_rupiah
from core.validation import ID_MAX, optional_text, read_rupiah, row_by_id
from groups.models import Group, Member, Role
from groups.services import authorize, membership
from revenue.models import Payout, PayoutMethod
from revenue.services.accrual import member_account

REFERENCE_MAX_LENGTH = 100
REASON_MAX_LENGTH = 500

# Where the money comes from. E-wallet top-ups (GoPay, OVO, DANA...) are paid from the group's bank account.
MONEY_ACCOUNTS = {PayoutMethod.cash: ledger.CASH, PayoutMethod.transfer: ledger.BANK, PayoutMethod.ewallet: ledger.BANK}


# --- reading input (shared with savings) ----------------------------------------------------


def read_amount(value, field: str = "amount") -> int:
    """A whole rupiah amount above zero and at most MAX_AMOUNT, or a 422 on `field`."""
    return read_rupiah(value, field, positive=True)


NOT_SENT = object()  # a field the client left out of its body, told apart from one it sent as null


def sent_fingerprint(values: dict) -> tuple[str, dict]:
    """(the fingerprint a retry under the same Idempotency-Key must match, the values as the rules read them).

    The fingerprint is of the body as it was sent: a field left out (NOT_SENT) is not
    in it, a field sent as null is. The rules read a field left out as None.
    """
    sent = {name: value for name, value in values.items() if value is not NOT_SENT}
    return request_fingerprint(sent), {name: sent.get(name) for name in values}


def find_keyed(model, group: Group, key: str):
    """The group's row of `model` (Payout, Saving) recorded under an Idempotency-Key."""
    return db.session.scalar(select(model).where(model.group_id == group.id, model.idempotency_key == key))


def insert_keyed(model, group: Group, key: str | None, fingerprint: str, write) -> tuple:
    """Run `write` (it books and flushes a new row of `model`) in a savepoint; returns (row, created).

    A twin sent at the same moment with the same key, whose row was inserted first,
    makes the unique index refuse this one: the savepoint is undone, leaving the
    transaction usable, and the twin's row is the answer.
    """
    try:
        with db.session.begin_nested():
            return write(), True
    except IntegrityError:
        existing = find_keyed(model, group, key) if key else None
        if existing is None:
            raise
        return replayed(existing, fingerprint), False


def read_fields(readers: dict) -> tuple[dict, dict]:
    """Run every reader (name -> a function reading one field); (what was read, the errors of all that failed).

    Every bad field is reported at once, not only the first.
    """
    found: dict = {}
    errors: dict = {}
    for name, read in readers.items():
        try:
            found[name] = read()
        except ValidationFailed as exc:
            errors.update(exc.errors)
    return found, errors


def member_in_group(group: Group, member_id, field: str = "member_id") -> Member:
    """A member of `group` named in a request body, or a 422 on `field`."""
    if isinstance(member_id, bool) or not isinstance(member_id, int) or not 0 < member_id <= ID_MAX:
        raise field_error(field, _("Not a valid id."))
    member = db.session.get(Member, member_id)
    if member is None or member.group_id != group.id:
        raise field_error(field, _("No such member in this group."))
    return member


def lock_member(member: Member) -> Member:
    """Re-read the member under a row lock (PostgreSQL; SQLite writers hold the database lock).

    FOR NO KEY UPDATE: it keeps two payouts (or withdrawals) of one member apart,
    yet lets other transactions insert rows that refer to the member (earnings,
    SHU allocations), which would otherwise wait on it and could deadlock.
    """
    query = select(Member).where(Member.id == member.id).execution_options(populate_existing=True)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(key_share=True)
    return db.session.scalar(query)


def not_to_oneself(member: Member, actor: User) -> None:
    """An officer never records money paid to themself: 403."""
    if member.user_id is not None and member.user_id == actor.id:
        raise Forbidden(_l("Another officer must record your payout."))


def member_balance(group_id: int, member_id: int) -> int:
    """What the group owes the member: the credit balance of their account."""
    return -int(ledger.balance(group_id, member_account(member_id)))  # PostgreSQL sums BIGINT as numeric


# --- payouts ----------------------------------------------------------------------------------

METHOD_CHOICES = ", ".join(m.value for m in PayoutMethod)


def _read_payout(group: Group, member_id, amount, method, reference, phone) -> dict:
    """The payout's fields, every bad one reported at once (422)."""
    found, errors = read_fields(
        {
            "member": lambda: member_in_group(group, member_id),
            "amount": lambda: read_amount(amount),
            "method": lambda: _read_method(method),
            "reference": lambda: optional_text(reference, "reference", REFERENCE_MAX_LENGTH),
            "phone": lambda: clean_phone(phone) if phone not in (None, "") else None,
        }
    )
    if found.get("method") == PayoutMethod.ewallet and "phone" not in errors and not found.get("phone"):
        errors["phone"] = [_("Give the e-wallet's phone number.")]
    if errors:
        raise ValidationFailed(errors=errors)
    return found


def _read_method(value) -> PayoutMethod:
    try:
        return PayoutMethod(value)
    except ValueError:
        raise field_error("method", _("Choose one of: %(choices)s.", choices=METHOD_CHOICES)) from None


def pay_out(
    actor,
    group: Group,
    *,
    member_id=NOT_SENT,
    amount=NOT_SENT,
    method=NOT_SENT,
    reference=NOT_SENT,
    phone=NOT_SENT,
    idempotency_key=None,
) -> tuple[Payout, bool]:
    """Record money paid to a member from their balance (coordinator, treasurer); returns (payout, created).

    Cash comes out of the group's cash, a transfer out of its bank account, and
    an e-wallet top-up out of its bank account too (e-wallets are topped up by
    bank transfer); `phone` is the e-wallet's number. More than the member's
    balance is refused (409). The values are as the page or the client sent them:
    every bad one is reported at once (422).
    """
    authorize(actor, group, Role.coordinator, Role.treasurer)
    key = read_key(idempotency_key)
    fingerprint, values = sent_fingerprint(
        {"member_id": member_id, "amount": amount, "method": method, "reference": reference, "phone": phone}
    )
    if key and (existing := find_keyed(Payout, group, key)) is not None:
        return replayed(existing, fingerprint), False
    fields = _read_payout(group, **values)
    not_to_oneself(fields["member"], actor)
    member = lock_member(fields["member"])
    if key and (existing := find_keyed(Payout, group, key)) is not None:  # a twin sent at once went first
        return replayed(existing, fingerprint), False
    amount = fields["amount"]
    balance = member_balance(group.id, member.id)
    if amount > balance:
        raise Conflict(
            _l("%(name)s's balance is %(balance)s.", name=member.name, balance=format_rupiah(balance)),
            {"amount": [_("At most %(balance)s.", balance=format_rupiah(max(balance, 0)))]},
        )
    method = fields["method"]

    def write() -> Payout:
        entry = ledger.post(
            group.id,
            "payout",
            {member_account(member.id): amount, MONEY_ACCOUNTS[method]: -amount},
            source="payout",
            actor_id=actor.id,
            memo=f"payout to member {member.id} ({method.value})",
        )
        db.session.flush()
        payout = Payout(
            group_id=group.id,
            member_id=member.id,
            amount=amount,
            method=method,
            reference=fields["reference"],
            phone=fields["phone"],
            entry_id=entry.id,
            idempotency_key=key,
            request_hash=fingerprint if key else None,
            created_by_id=actor.id,
        )
        db.session.add(payout)
        db.session.flush()
        return payout

    return insert_keyed(Payout, group, key, fingerprint, write)


def reverse_payout(actor, group: Group, payout_id, reason) -> Payout:
    """Correct a payout recorded by mistake (coordinator, treasurer): a reversing payout and the reversal of its
    entry, once."""
    authorize(actor, group, Role.coordinator, Role.treasurer)
    reason = optional_text(reason, "reason", REASON_MAX_LENGTH)
    if not reason:
        raise field_error("reason", _("Say what was wrong with this payout."))
    original = get_payout_or_404(group, payout_id)
    if original.reverses_id is not None:
        raise Conflict(_l("This is a correction; it cannot be corrected again."))
    member = db.session.get(Member, original.member_id)
    not_to_oneself(member, actor)
    lock_member(member)
    if db.session.scalar(select(Payout.id).where(Payout.reverses_id == original.id)) is not None:
        raise Conflict(_l("This payout was corrected already."))
    entry = ledger.reverse(
        db.session.get(ledger.JournalEntry, original.entry_id),
        actor_id=actor.id,
        memo=f"payout {original.id} corrected: {reason}"[:500],
    )
    db.session.flush()
    correction = Payout(
        group_id=group.id,
        member_id=original.member_id,
        amount=-original.amount,
        method=original.method,
        reference=reason[:REFERENCE_MAX_LENGTH],
        phone=original.phone,
        reverses_id=original.id,
        entry_id=entry.id,
        created_by_id=actor.id,
    )
    db.session.add(correction)
    db.session.flush()
    return correction


def get_payout_or_404(group: Group, payout_id) -> Payout:
    """The group's payout; another group's is as unknown as a missing one (404)."""
    payout = row_by_id(Payout, payout_id)
    if payout is None or payout.group_id != group.id:
        raise NotFound(_l("Payout not found."))
    return payout


# --- reading ------------------------------------------------------------------------------------


def payouts_query(viewer, group: Group, member_id=None):
    """The group's payouts and corrections, newest first (coordinator, treasurer, admin); a member sees their own."""
    try:
        authorize(viewer, group, Role.coordinator, Role.treasurer, allow_admin=True)
    except Forbidden:
        own = membership(group, viewer)
        if own is None or (member_id is not None and member_id != own.id):
            raise
        member_id = own.id
    query = select(Payout).where(Payout.group_id == group.id)
    if member_id is not None:
        query = query.where(Payout.member_id == member_id)
    return query.order_by(Payout.id.desc())


def payout_views(payouts: list[Payout]) -> list[dict]:
    """Payouts as the API and pages show them: with the member's name and whether each was corrected."""
    ids = [p.id for p in payouts]
    names = (
        dict(
            db.session.execute(
                select(Member.id, Member.name).where(Member.id.in_({p.member_id for p in payouts}))
            ).all()
        )
        if payouts
        else {}
    )
    corrected = (
        dict(db.session.execute(select(Payout.reverses_id, Payout.id).where(Payout.reverses_id.in_(ids))).all())
        if ids
        else {}
    )
    return [
        {
            "id": p.id,
            "group_id": p.group_id,
            "member_id": p.member_id,
            "member_name": names.get(p.member_id),
            "amount": p.amount,
            "method": p.method.value,
            "reference": p.reference,
            "phone": p.phone,
            "reverses_id": p.reverses_id,
            "reversed_by_id": corrected.get(p.id),
            "entry_id": p.entry_id,
            "created_by_id": p.created_by_id,
            "created_at": p.created_at,
        }
        for p in payouts
    ]


def payout_view(payout: Payout) -> dict:
    """A payout as the API shows it once recorded, with the member's balance after it."""
    view = payout_views([payout])[0]
    view["balance"] = member_balance(payout.group_id, payout.member_id)
    return view


# --- the books ----------------------------------------------------------------------------------


def check_payouts() -> list[ledger.Problem]:
    """Each payout's entry debits the member's account by its amount and credits its money account."""
    problems = []
    for payout in db.session.scalars(select(Payout).order_by(Payout.id)):
        entry = db.session.get(ledger.JournalEntry, payout.entry_id)
        got = sorted((p.account.key, p.amount) for p in entry.postings) if entry else []
        expected = sorted(
            [(member_account(payout.member_id), payout.amount), (MONEY_ACCOUNTS[payout.method], -payout.amount)]
        )
        if entry is None or entry.group_id != payout.group_id or got != expected:
            problems.append(ledger.Problem(f"payout {payout.id}", f"of {payout.amount} has {got} in the books"))
    twice = db.session.execute(select(Payout.entry_id).group_by(Payout.entry_id).having(func.count() > 1)).all()
    for (entry_id,) in twice:
        problems.append(ledger.Problem(f"entry {entry_id}", "belongs to more than one payout"))
    return problems


ledger.register_check(check_payouts)
