"""The books' check of settlements (`flask ledger check`): what each settlement shared and froze still holds."""

from datetime import timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from core import ledger
from core.extensions import db
from core.ledger import JournalEntry
from revenue.models import Earning, Settlement, Statement
from revenue.services.accrual import POOL
from revenue.services.settlements import statements
from revenue.services.settlements.statements import member_balances_at


def check_settlements() -> list[ledger.Problem]:
    """Each settlement's entry moves its pool to its Earning rows, each frozen statement's sale lines still come
    to its frozen figures, and its closing balance is the member's balance in the books at the period's end;
    every Earning carries its entry's moment (periods find sales by it)."""
    problems = []
    for settlement in db.session.scalars(select(Settlement).order_by(Settlement.id)):
        what = f"settlement {settlement.id}"
        if settlement.entry_id is not None:
            entry = db.session.get(JournalEntry, settlement.entry_id)
            postings = {p.account.key: p.amount for p in entry.postings}
            earned = {}
            for account, amount in db.session.execute(
                select(Earning.account, func.sum(Earning.amount))
                .where(Earning.entry_id == entry.id, Earning.kind == "pool_share")
                .group_by(Earning.account)
            ):
                if amount:
                    earned[account] = -int(amount)
            expected = {POOL: settlement.pool_amount, **earned}
            if entry.group_id != settlement.group_id or postings != expected:
                problems.append(
                    ledger.Problem(
                        what,
                        f"shares {settlement.pool_amount} but its entry {entry.id} "
                        f"posts {postings}, its earning rows say {earned}",
                    )
                )
        members = dict(
            db.session.execute(
                select(Statement.member_id, Statement.closing).where(Statement.settlement_id == settlement.id)
            ).all()
        )
        frozen = {
            member_id: (lines, sales, fees, fund)
            for member_id, lines, sales, fees, fund in db.session.execute(
                select(
                    Statement.member_id,
                    Statement.sale_lines,
                    Statement.sales,
                    Statement.fees,
                    Statement.fund_deductions,
                ).where(Statement.settlement_id == settlement.id, Statement.sale_lines.is_not(None))
            )
        }
        if frozen:
            sums = statements.sale_sums(settlement.group_id, settlement.period_start, settlement.period_end, frozen)
            found = {
                member_id: (int(count), int(amount), int(fees), int(fund))
                for member_id, count, amount, fees, fund in sums
            }
            for member_id, figures in sorted(frozen.items()):
                if found.get(member_id, (0, 0, 0, 0)) != figures:
                    problems.append(
                        ledger.Problem(
                            f"{what}, member {member_id}",
                            f"statement froze sale lines {figures} (lines, amount, fees, "
                            f"fund), the earnings now say {found.get(member_id)}",
                        )
                    )
        if members:
            books = member_balances_at(settlement.group_id, [settlement.period_end + timedelta(days=1)], members)
            for member_id, closing in sorted(members.items()):
                at_end = books.get(member_id, [0])[0]
                if closing != at_end:
                    problems.append(
                        ledger.Problem(
                            f"{what}, member {member_id}", f"statement closes at {closing}, the books say {at_end}"
                        )
                    )
    for earning_id, entry_id in db.session.execute(
        select(Earning.id, JournalEntry.id)
        .join(JournalEntry, JournalEntry.id == Earning.entry_id)
        .where(Earning.created_at != JournalEntry.created_at)
        .order_by(Earning.id)
        .limit(20)
    ):
        problems.append(
            ledger.Problem(
                f"earning {earning_id}",
                f"is not stamped with the moment of its entry {entry_id}, so periods would misplace it",
            )
        )
    other = aliased(Settlement)
    overlaps = db.session.execute(
        select(Settlement.id, Settlement.group_id).join(
            other,
            and_(
                other.group_id == Settlement.group_id,
                other.id != Settlement.id,
                other.period_start <= Settlement.period_end,
                other.period_end >= Settlement.period_start,
            ),
        )
    )
    for settlement_id, group_id in overlaps:
        problems.append(ledger.Problem(f"settlement {settlement_id}", f"overlaps another of group {group_id}"))
    return problems


ledger.register_check(check_settlements)
