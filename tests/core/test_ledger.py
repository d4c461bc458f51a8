"""The books: balanced entries only, nothing edited away, and a check that finds what does not agree."""

from decimal import Decimal
from fractions import Fraction

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from core import ledger
from core.extensions import db
from core.money import MAX_AMOUNT
from marketplace.models import Order
from payments.models import Payment, Refund
from tests.books import ledger_check, ledger_problems
from tests.factories import make_group, make_user
from tests.payments.test_payments_api import new_order, paid, refunded

APPEND_ONLY = ("journal_entries", "journal_postings", "payments", "refunds")


@pytest.fixture
def group_id(app, db):
    return make_group(app, make_user(app)).id


def entry_count() -> int:
    return db.session.scalar(select(func.count(ledger.JournalEntry.id)))


def raw(statement: str, **params) -> None:
    """Run SQL behind the services' back, on the session's own connection, and commit it."""
    db.session.execute(text(statement), params)
    db.session.commit()


def refused(statement: str) -> None:
    """The database refuses `statement` as append-only; the transaction is rolled back."""
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(statement))
    db.session.rollback()


# --- post and reverse -------------------------------------------------------------------------

REFUSED_POSTINGS = [
    {ledger.CASH: 1000, ledger.PAYMENTS_CLEARING: -999},
    [(ledger.CASH, 1000), (ledger.BANK, 1000), (ledger.PAYMENTS_CLEARING, -1999)],
    {ledger.CASH: 1000},
    {ledger.CASH: 1000, ledger.BANK: 0},
    {ledger.CASH: 0, ledger.BANK: 0},
    {},
    {ledger.CASH: 10.5, ledger.PAYMENTS_CLEARING: -10.5},
    {ledger.CASH: 1000.0, ledger.PAYMENTS_CLEARING: -1000.0},
    {ledger.CASH: Decimal(1000), ledger.PAYMENTS_CLEARING: Decimal(-1000)},
    {ledger.CASH: Fraction(1000), ledger.PAYMENTS_CLEARING: Fraction(-1000)},
    {ledger.CASH: "1000", ledger.PAYMENTS_CLEARING: "-1000"},
    {ledger.CASH: True, ledger.PAYMENTS_CLEARING: -1},
    {ledger.CASH: MAX_AMOUNT + 1, ledger.PAYMENTS_CLEARING: -(MAX_AMOUNT + 1)},
]


def test_post_refuses_unbalanced_single_or_non_integer_entries_and_writes_nothing(app, group_id):
    with app.app_context():
        for postings in REFUSED_POSTINGS:
            with pytest.raises(ledger.LedgerError):
                ledger.post(group_id, "payment", postings)
        db.session.flush()
        assert entry_count() == 0
        assert db.session.scalar(select(func.count(ledger.Account.id))) == 0


def test_post_appends_a_balanced_entry_and_opens_its_accounts(app, group_id):
    with app.app_context():
        entry = ledger.post(
            group_id,
            "payment",
            {ledger.CASH: 25000, ledger.PAYMENTS_CLEARING: -25000},
            source="payment",
            source_id=7,
            memo="order 7",
        )
        ledger.post(group_id, "payment", [(ledger.BANK, 5000), (ledger.CASH, 5000), (ledger.PAYMENTS_CLEARING, -10000)])
        db.session.commit()

        assert sorted((p.account.key, p.amount) for p in entry.postings) == [
            (ledger.CASH, 25000),
            (ledger.PAYMENTS_CLEARING, -25000),
        ]
        assert ledger.balances(group_id) == {ledger.BANK: 5000, ledger.CASH: 30000, ledger.PAYMENTS_CLEARING: -35000}
        assert ledger.balance(group_id, ledger.CASH) == 30000
        assert ledger.balance(group_id, "never_used") == 0
        assert ledger.source_postings("payment", [7], ledger.CASH) == {7: 25000}
        assert ledger.check_all() == []


def test_a_reversal_mirrors_its_entry_and_an_entry_is_reversed_once(app, group_id):
    with app.app_context():
        entry = ledger.post(
            group_id, "payment", {ledger.CASH: 25000, ledger.PAYMENTS_CLEARING: -25000}, source="payment", source_id=7
        )
        db.session.flush()

        mirror = ledger.reverse(entry, memo="salah catat")
        db.session.commit()

        assert mirror.reverses_id == entry.id and mirror.kind == "reversal"
        assert (mirror.source, mirror.source_id) == ("payment", 7)
        assert sorted((p.account.key, p.amount) for p in mirror.postings) == [
            (ledger.CASH, -25000),
            (ledger.PAYMENTS_CLEARING, 25000),
        ]
        assert ledger.balances(group_id) == {ledger.CASH: 0, ledger.PAYMENTS_CLEARING: 0}
        assert ledger.source_postings("payment", [7]) == {7: 0}
        assert ledger.check_all() == []

        ledger.reverse(db.session.get(ledger.JournalEntry, entry.id))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
        assert entry_count() == 2


def test_an_account_is_opened_once_per_group_and_key(app, group_id):
    other = make_group(app, make_user(app)).id
    with app.app_context():
        for gid in (group_id, group_id, other):
            ledger.post(gid, "payment", {ledger.CASH: 1, ledger.PAYMENTS_CLEARING: -1})
        db.session.commit()
        keys = db.session.execute(
            select(ledger.Account.group_id, ledger.Account.key).order_by(ledger.Account.group_id, ledger.Account.key)
        ).all()
        assert [tuple(k) for k in keys] == [
            (group_id, ledger.CASH),
            (group_id, ledger.PAYMENTS_CLEARING),
            (other, ledger.CASH),
            (other, ledger.PAYMENTS_CLEARING),
        ]
        assert ledger.balance(group_id, ledger.CASH) == 2 and ledger.balance(other, ledger.CASH) == 1


# --- nothing is edited away ---------------------------------------------------------------------


@pytest.fixture
def paid_and_refunded(app, client, market):
    """An order of Rp90.000 paid in cash and by transfer, part of it refunded: rows in every money table."""
    order = new_order(client, market)
    paid(client, order["id"], market.lead, {"method": "cash", "amount": 50000})
    paid(client, order["id"], market.lead, {"method": "transfer", "amount": 40000, "reference": "BRI 1"})
    refunded(client, order["id"], market.lead, {"amount": 15000, "reason": "Cabai layu"})
    return order["id"]


def test_money_tables_refuse_update_and_delete(app, paid_and_refunded):
    with app.app_context():
        before = {table: db.session.scalar(text(f"SELECT count(*) FROM {table}")) for table in APPEND_ONLY}
        assert all(before.values())
        for table in APPEND_ONLY:
            refused(f"UPDATE {table} SET id = id")
            refused(f"DELETE FROM {table}")
            refused(f"DELETE FROM {table} WHERE id = (SELECT max(id) FROM {table})")
        for statement in (
            "UPDATE journal_postings SET amount = amount + 1",
            "UPDATE payments SET amount = 1",
            "UPDATE refunds SET reason = 'lain'",
            "UPDATE journal_entries SET group_id = group_id",
        ):
            refused(statement)
        assert {table: db.session.scalar(text(f"SELECT count(*) FROM {table}")) for table in APPEND_ONLY} == before
    assert ledger_problems(app) == []


# --- the check --------------------------------------------------------------------------------


def test_books_are_clean_after_payments_and_refunds_and_balance_per_account(app, paid_and_refunded, market):
    with app.app_context():
        assert ledger.check_all() == []
        assert ledger.balances(market.tani.id) == {
            ledger.CASH: 50000 - 15000,
            ledger.BANK: 40000,
            ledger.PAYMENTS_CLEARING: -90000,
            ledger.REFUNDS: 15000,
        }
        assert sum(ledger.balances(market.tani.id).values()) == 0
        unbalanced = db.session.execute(
            select(ledger.Posting.entry_id, func.sum(ledger.Posting.amount), func.count(ledger.Posting.id)).group_by(
                ledger.Posting.entry_id
            )
        ).all()
        assert len(unbalanced) == 3 == entry_count()
        assert all(total == 0 and postings >= 2 for _, total, postings in unbalanced)


def test_cash_payment_then_refund_move_the_right_accounts(app, client, market):
    order = new_order(client, market)

    paid(client, order["id"], market.lead, {"method": "cash", "amount": 60000})
    with app.app_context():
        assert ledger.balances(market.tani.id) == {ledger.CASH: 60000, ledger.PAYMENTS_CLEARING: -60000}
    refunded(client, order["id"], market.lead, {"amount": 25000, "reason": "Kurang timbang"})
    with app.app_context():
        assert ledger.balances(market.tani.id) == {
            ledger.CASH: 35000,
            ledger.PAYMENTS_CLEARING: -60000,
            ledger.REFUNDS: 25000,
        }
        payment = db.session.scalar(select(Payment))
        refund = db.session.scalar(select(Refund))
        assert ledger.source_postings("payment", [payment.id], ledger.CASH) == {payment.id: 60000}
        assert ledger.source_postings("refund", [refund.id], ledger.CASH) == {refund.id: -25000}
        assert ledger.balances(market.jahit.id) == {}  # another group's books are untouched
    assert ledger_problems(app) == []


def test_the_check_finds_an_order_sum_changed_behind_its_back(app, paid_and_refunded):
    for column, by in (("paid", -1), ("refunded", 1), ("refunded", -1), ("card_fees", 1)):
        with app.app_context():
            raw(f"UPDATE orders SET {column} = {column} + :by WHERE id = :id", by=by, id=paid_and_refunded)

        found = ledger_problems(app)

        assert found and all(p.startswith(f"order {paid_and_refunded}:") for p in found), (column, found)
        with app.app_context():
            raw(f"UPDATE orders SET {column} = {column} - :by WHERE id = :id", by=by, id=paid_and_refunded)
        assert ledger_problems(app) == []


def test_the_check_finds_an_unbalanced_posting_inserted_behind_its_back(app, paid_and_refunded):
    with app.app_context():
        entry = db.session.scalar(select(ledger.JournalEntry).order_by(ledger.JournalEntry.id))
        [account_id] = [p.account_id for p in entry.postings if p.account.key == ledger.PAYMENTS_CLEARING]
        entry_id, payment_id = entry.id, entry.source_id
        raw("INSERT INTO journal_postings (entry_id, account_id, amount) VALUES (:e, :a, 5)", e=entry_id, a=account_id)

    found = ledger_problems(app)

    assert f"entry {entry_id}: postings sum to 5, not 0" in found
    assert f"payment {payment_id}: of 50000 has 49995 in the books" in found  # nor does its payment agree


def test_the_check_finds_an_entry_without_postings(app, paid_and_refunded, market):
    with app.app_context():
        raw(
            "INSERT INTO journal_entries (group_id, kind, created_at) VALUES (:g, 'payment', CURRENT_TIMESTAMP)",
            g=market.tani.id,
        )
        lonely = db.session.scalar(select(func.max(ledger.JournalEntry.id)))

    assert f"entry {lonely}: has 0 posting(s)" in ledger_problems(app)


def test_the_check_finds_a_reversal_that_does_not_mirror(app, group_id):
    with app.app_context():
        entry = ledger.post(group_id, "payment", {ledger.CASH: 1000, ledger.PAYMENTS_CLEARING: -1000})
        db.session.flush()
        ledger.post(group_id, "reversal", {ledger.CASH: -900, ledger.PAYMENTS_CLEARING: 900}, reverses_id=entry.id)
        db.session.commit()

        found = [str(p) for p in ledger.check_all()]

    assert len(found) == 1 and f"does not mirror entry {entry.id}" in found[0]


def test_flask_ledger_check_exits_0_when_the_books_balance(app, paid_and_refunded):
    result = ledger_check(app)

    assert result.exit_code == 0, result.output
    assert "The books balance." in result.output


def test_flask_ledger_check_fails_listing_each_problem(app, paid_and_refunded):
    with app.app_context():
        raw("UPDATE orders SET paid = paid - 100 WHERE id = :id", id=paid_and_refunded)
        expected = [str(p) for p in ledger.check_all()]
        assert expected

    result = ledger_check(app)

    assert result.exit_code != 0
    for problem in expected:
        assert problem in result.output
    assert f"{len(expected)} problem(s) in the books" in result.output
    assert "The books balance." not in result.output
    with app.app_context():
        assert db.session.get(Order, paid_and_refunded).paid == 90000 - 100  # the check only reads
