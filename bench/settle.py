"""Settling a period of 100,000 completed order lines, against one SQL aggregate over the same rows.

    .venv/bin/python bench/settle.py [--lines 100000] [--members 20] [--repeat 2] [--only sqlite|postgresql]

One group, a month of completed orders of five lines each, accrued exactly as
`revenue.services.accrual.accrue_sale` does (its own `split_sale` computes every part)
but written in bulk: per order one accrual entry with its postings, and an
Earning row per part. Two methods:

- `contribution` (10 % to the fund): each line's net is credited to the one or
  two members whose lots supplied it, so every statement lists every sale line;
- `work` (10 % to the fund): every line's net goes to the pool, which the
  settlement shares by the work each member logged in the month.

The measured operation is the real `revenue.services.settlements.settle()` for the month,
committed: the pool shared, each member's statement summed, proven against the
ledger and frozen. It runs in a process that has settled once before (a small
group of 50 lines in the same database, timed and printed on its own): a
process's first settle also compiles and plans its statements, a one-off cost
that does not grow with the lines. The baseline is one SQL aggregate
over the same rows in the same run, `SELECT member_id, SUM(amount) FROM earnings
GROUP BY member_id` (the best of --repeat runs). Goal: settle within 3x of the
baseline. Peak memory of the settle is traced with tracemalloc in one more,
untimed run (Python allocations only: the database's own memory is not
counted).

SQLite runs in a temporary file; PostgreSQL in a scratch database beside
BENCH_POSTGRES_URL, skipped when unreachable. Each settle starts on a fresh copy
of the month (the same rows again in a new database), so every run settles the
same thing.
"""

import argparse
import os
import random
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text

from accounts.models import User
from bench.common import POSTGRES_URL, make_app, postgres_reachable
from core import ledger
from core.extensions import db
from core.formatting import WIB
from groups.models import Group, GroupKind, Member, Role
from revenue.models import Earning, SplitMethod, SplitPolicy, Statement, WorkLog
from revenue.services import accrual as revenue
from revenue.services import settlements
from tests.databases import scratch_database

LINES_PER_ORDER = 5
PRICES = [12345, 35000, 45000, 85000, 150000, 4001]
BATCH = 5000
WARM_UP_LINES = 50  # the small group settled first in each process (settle_warm_up)


def seed(
    app, method: SplitMethod, lines: int, members: int, start: date, end: date, name: str = "KUB Bench"
) -> tuple[int, int]:
    """A group, its coordinator and members, a policy, and `lines` completed order lines in the period, written
    in bulk as accrue_sale would write them. Returns (group id, coordinator's user id)."""
    rng = random.Random(11)
    with app.app_context():
        user = User(email=f"ketua.{name.lower().replace(' ', '.')}@example.test", name="Bu Ratna")
        user.set_password("rahasia-123")
        group = Group(name=name, kind=GroupKind.business, village="Sumberejo", district="Sanankulon")
        db.session.add_all([user, group])
        db.session.flush()
        joined = datetime.combine(start, clock(0), tzinfo=WIB) - timedelta(days=365)
        people = [
            Member(
                group_id=group.id,
                user_id=user.id if i == 0 else None,
                name=f"Anggota {i}",
                role=Role.coordinator if i == 0 else Role.member,
                joined_at=joined,
            )
            for i in range(members)
        ]
        db.session.add_all(people)
        policy_at = datetime.combine(start, clock(0), tzinfo=WIB) - timedelta(days=1)
        policy = SplitPolicy(
            group_id=group.id,
            version=1,
            method=method,
            fund_basis_points=1000,
            created_by_id=user.id,
            created_at=policy_at,
        )
        db.session.add(policy)
        db.session.flush()
        member_ids = [m.id for m in people]
        keys = [ledger.PAYMENTS_CLEARING, revenue.GROUP_FUND, revenue.POOL] + [
            revenue.member_account(m) for m in member_ids
        ]
        accounts = {key: ledger.account(group.id, key).id for key in keys}
        if method == SplitMethod.work:
            db.session.add_all(
                [
                    WorkLog(
                        group_id=group.id,
                        member_id=m,
                        day=start + timedelta(days=i % 28),
                        units=Decimal(rng.randint(1, 400)) / 4,
                        created_by_id=user.id,
                    )
                    for i, m in enumerate(member_ids)
                ]
            )
        db.session.commit()
        group_id, user_id = group.id, user.id

        span = (
            datetime.combine(end + timedelta(days=1), clock(0), tzinfo=WIB)
            - datetime.combine(start, clock(0), tzinfo=WIB)
        ).total_seconds()
        first = datetime.combine(start, clock(0), tzinfo=WIB).astimezone(UTC)
        entry_id, posting_id, earning_id = (
            db.session.scalar(select(func.coalesce(func.max(model.id), 0)))
            for model in (ledger.JournalEntry, ledger.Posting, Earning)
        )
        line_id = earning_id  # line and lot numbers only need to be distinct
        orders = lines // LINES_PER_ORDER
        entries, postings, earnings = [], [], []
        for order_id in range(1, orders + 1):
            made = first + timedelta(seconds=span * order_id / (orders + 1))
            sale_lines = []
            for _ in range(LINES_PER_ORDER):
                line_id += 1
                price, quantity = rng.choice(PRICES), rng.randint(1, 6)
                suppliers = rng.sample(member_ids, 2 if rng.random() < 0.3 else 1)
                split = [quantity] if len(suppliers) == 1 else [quantity - 1 or 1, 1]
                lots = [
                    revenue.LotShare(member_id=m, lot_id=line_id * 2 + i, quantity=Decimal(q), weight=q * 1000 * price)
                    for i, (m, q) in enumerate(zip(suppliers, split))
                ]
                sale_lines.append(
                    revenue.SaleLine(
                        line_id=line_id, product_name=f"Produk {price}", total=sum(q for q in split) * price, lots=lots
                    )
                )
            paid = sum(line.total for line in sale_lines)
            parts = revenue.split_sale(sale_lines, fees=0, refunded=0, method=method, fund_percent=Fraction(1000, 100))
            entry_id += 1
            entries.append(
                {
                    "id": entry_id,
                    "group_id": group_id,
                    "kind": "accrual",
                    "source": "order",
                    "source_id": order_id,
                    "memo": f"order {order_id} completed",
                    "created_at": made,
                }
            )
            sums = {ledger.PAYMENTS_CLEARING: paid}
            for part in parts:
                sums[part.account] = sums.get(part.account, 0) - part.amount
            for key, amount in sums.items():
                if amount:
                    posting_id += 1
                    postings.append(
                        {"id": posting_id, "entry_id": entry_id, "account_id": accounts[key], "amount": amount}
                    )
            for part in parts:
                if part.amount == 0 and part.gross == 0:
                    continue
                earning_id += 1
                earnings.append(
                    {
                        "id": earning_id,
                        "group_id": group_id,
                        "order_id": order_id,
                        "order_line_id": part.line.line_id if part.line else None,
                        "product_name": part.line.product_name if part.line else None,
                        "account": part.account,
                        "member_id": part.member_id,
                        "lot_id": part.lot.lot_id if part.lot else None,
                        "quantity": part.lot.quantity if part.lot else None,
                        "amount": part.amount,
                        "gross": part.gross,
                        "fee_share": part.fee_share,
                        "refund_share": part.refund_share,
                        "kind": "sale",
                        "policy_id": policy.id,
                        "entry_id": entry_id,
                        "created_at": made,
                    }
                )
            if len(earnings) >= BATCH or order_id == orders:
                # Core inserts of the tables: one executemany each (the ORM would split rows by their None values)
                db.session.execute(ledger.JournalEntry.__table__.insert(), entries)
                db.session.execute(ledger.Posting.__table__.insert(), postings)
                db.session.execute(Earning.__table__.insert(), earnings)
                entries, postings, earnings = [], [], []
        if db.engine.dialect.name == "postgresql":
            for table in ("journal_entries", "journal_postings", "earnings"):
                db.session.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )
            db.session.execute(text("ANALYZE"))
        db.session.commit()
        if db.engine.dialect.name == "sqlite":
            db.session.execute(text("ANALYZE"))
            db.session.commit()
    return group_id, user_id


def baseline(app, repeat: int) -> float:
    """The best time of the one aggregate over the same rows."""
    best = float("inf")
    with app.app_context():
        for _ in range(repeat):
            started = time.perf_counter()
            rows = db.session.execute(text("SELECT member_id, SUM(amount) FROM earnings GROUP BY member_id")).all()
            best = min(best, time.perf_counter() - started)
            assert rows
            db.session.rollback()
    return best


def settle_warm_up(app, group_id: int, user_id: int, start: date, end: date) -> float:
    """settle() a small group's period, committed, in the process that then settles the big one: the first
    settle a process makes also compiles its statements (SQLAlchemy) and plans them (the database), once per
    process and whatever the number of lines. Returns its seconds."""
    with app.test_request_context("/", method="POST"):
        coordinator = db.session.get(User, user_id)
        group = db.session.get(Group, group_id)
        db.session.commit()
        started = time.perf_counter()
        settlements.settle(coordinator, group, start.isoformat(), end.isoformat())
        db.session.commit()
        return time.perf_counter() - started


def settle_once(app, group_id: int, user_id: int, start: date, end: date, trace: bool) -> tuple[float, int, dict]:
    """settle() for the period, committed: (seconds, peak bytes traced or 0, what it made). Tracing slows Python
    down, so a traced run is not timed."""
    with app.test_request_context("/", method="POST"):
        coordinator = db.session.get(User, user_id)
        group = db.session.get(Group, group_id)
        db.session.commit()  # these reads are not the settle's
        if trace:
            tracemalloc.start()
        started = time.perf_counter()
        settlement = settlements.settle(coordinator, group, start.isoformat(), end.isoformat())
        db.session.commit()
        elapsed = time.perf_counter() - started
        peak = 0
        if trace:
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        mine = Statement.settlement_id == settlement.id
        made = {
            "statements": db.session.scalar(select(func.count()).select_from(Statement).where(mine)),
            "detail_mb": (db.session.scalar(select(func.sum(func.length(Statement.detail))).where(mine)) or 0) / 1e6,
            "sale_lines": db.session.scalar(
                select(func.count())
                .select_from(Earning)
                .where(Earning.group_id == group_id, Earning.kind == "sale", Earning.member_id.is_not(None))
            ),
            "pool_shares": db.session.scalar(
                select(func.count())
                .select_from(Earning)
                .where(Earning.group_id == group_id, Earning.kind == "pool_share")
            ),
            "shared_by": settlement.shared_by.value if settlement.shared_by else None,
        }
        problems = settlements.check_settlements()
        if problems:
            raise SystemExit(f"the settlement does not agree with the books: {problems[:3]}")
    return elapsed, peak, made


def bench_database(name: str, make_url, args) -> list[tuple]:
    today = datetime.now(WIB).date()
    end = today - timedelta(days=1)
    start = end - timedelta(days=29)
    rows = []
    for method in (SplitMethod.contribution, SplitMethod.work):
        times, peaks, bases = [], [], []
        for run in range(args.repeat + 1):  # the last run traces memory
            trace = run == args.repeat
            with make_url(f"{method.value}_{run}") as url:
                app = make_app(url)
                started = time.perf_counter()
                group_id, user_id = seed(app, method, args.lines, args.members, start, end)
                small = seed(app, method, WARM_UP_LINES, 3, start, end, name="KUB Pemanasan")
                print(f"{name} {method.value}: seeded in {time.perf_counter() - started:.0f} s", flush=True)
                base = baseline(app, args.repeat)
                first = settle_warm_up(app, *small, start, end)
                elapsed, peak, made = settle_once(app, group_id, user_id, start, end, trace)
                base = min(base, baseline(app, args.repeat))
                with app.app_context():
                    earnings_rows = db.session.scalar(select(func.count()).select_from(Earning))
                    db.session.remove()
                    db.engine.dispose()
            if trace:
                peaks.append(peak)
            else:
                times.append(elapsed)
                print(
                    f"{name} {method.value}: settle {elapsed:.3f} s, baseline {base:.4f} s (the process's first "
                    f"settle, of {WARM_UP_LINES} lines: {first:.3f} s)",
                    flush=True,
                )
            bases.append(base)
        best, base = min(times), min(bases)
        rows.append((name, method.value, args.lines, earnings_rows, made, best, base, best / base, max(peaks)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=100_000, help="completed order lines in the month")
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument(
        "--repeat",
        type=int,
        default=2,
        help="timed settles (each on a fresh copy of the month), and baseline runs each",
    )
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()

    rows = []
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:

            def sqlite_url(suffix, _tmp=tmp):
                from contextlib import nullcontext

                return nullcontext(f"sqlite:///{_tmp}/{suffix}.db")

            rows += bench_database("SQLite", sqlite_url, args)
    if args.only in (None, "postgresql"):
        if postgres_reachable(POSTGRES_URL):
            rows += bench_database(
                "PostgreSQL", lambda suffix: scratch_database(POSTGRES_URL, f"bench_{os.getpid()}_{suffix}"), args
            )
        else:
            print(f"PostgreSQL not reachable at {POSTGRES_URL}: skipped")

    print(
        f"\nsettle() of one month against SELECT member_id, SUM(amount) FROM earnings GROUP BY member_id "
        f"({args.members} members, best of {args.repeat})"
    )
    print(
        f"{'database':<11} {'method':<13} {'lines':>7} {'earnings':>8} {'stmts':>5} {'detail MB':>9} "
        f"{'settle s':>8} {'base s':>7} {'ratio':>6} {'peak MB':>7}"
    )
    for name, method, lines, earnings_rows, made, best, base, ratio, peak in rows:
        flag = "" if ratio <= 3 else "  above the 3x goal"
        print(
            f"{name:<11} {method:<13} {lines:>7,} {earnings_rows:>8,} {made['statements']:>5} "
            f"{made['detail_mb']:>9.1f} {best:>8.3f} {base:>7.3f} {ratio:>6.1f} {peak / 1e6:>7.1f}{flag}"
        )


if __name__ == "__main__":
    main()
