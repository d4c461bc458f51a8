"""What SQLAlchemy's execution path costs a checkout statement, against the driver's own cursor.

    .venv/bin/python bench/statement.py [--count 20000] [--only sqlite|postgresql]

Checkout's writes run as Core statements built once (`insert(...).returning(...)`,
a guarded `UPDATE ... RETURNING`) on the session's connection, where engine events
see them. The baseline runs the same SQL text with the same values on the DBAPI
cursor of that connection, with no events. Both insert a checkout row and move
a stock row (checkout's seed), one statement at a time in one transaction, rolled back at the end.
Printed: microseconds a statement each way, their ratio (driver/SQLAlchemy: higher
is better), and what the difference comes to over a checkout's eight statements.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import bindparam, insert, update

from bench.checkout import seed
from bench.common import make_app
from bench.loadgen import on_each_database
from core.extensions import db
from core.types import utcnow
from inventory.models import Stock
from marketplace.models import Checkout, PaymentMethod

CHECKOUT_STATEMENTS = 8  # token, variants, checkout, orders, lines, events, stock, movements


def _statements():
    checkouts, stock = Checkout.__table__, Stock.__table__
    add_checkout = insert(checkouts).returning(checkouts.c.id)
    move = (
        update(stock)
        .where(stock.c.variant_id == bindparam("v"))
        .values(reserved=stock.c.reserved + 0)
        .returning(stock.c.variant_id)
    )
    return add_checkout, move


def _in_transaction(run, count: int) -> float:
    """Seconds a statement, `count` runs in a transaction of their own, rolled back after."""
    with db.engine.connect() as connection:
        with connection.begin() as transaction:
            started = time.perf_counter()
            for _ in range(count):
                run(connection)
            spent = time.perf_counter() - started
            transaction.rollback()
    return spent / count


def bench_database(name: str, url: str, args) -> list[str]:
    app = make_app(url)
    setup = seed(app)
    variant_id = int(next(iter(setup["variants"])))
    add_checkout, move = _statements()
    values = {
        "buyer_id": setup["buyer_id"],
        "idempotency_key": None,
        "request_hash": "bench",
        "total": 195000,
        "payment_method": PaymentMethod.cash,
        "created_at": utcnow(),
    }
    rows = []
    with app.app_context():
        dialect = db.engine.dialect
        for label, statement, params in (
            ("INSERT ... RETURNING", add_checkout, values),
            ("UPDATE ... RETURNING", move, {"v": variant_id}),
        ):
            compiled = statement.compile(dialect=dialect, column_keys=list(params))
            bound = compiled.construct_params(params)
            sql = compiled.string
            if dialect.paramstyle in ("qmark", "numeric", "format"):
                raw_params = tuple(_plain(bound[key]) for key in compiled.positiontup)
            else:
                raw_params = {key: _plain(value) for key, value in bound.items()}

            def driver(connection, sql=sql, raw_params=raw_params):
                cursor = connection.connection.dbapi_connection.cursor()
                cursor.execute(sql, raw_params)
                cursor.fetchone()
                cursor.close()

            def alchemy(connection, statement=statement, params=params):
                connection.execute(statement, params).first()

            ours, theirs = [], []
            for _ in range(3):  # interleaved, the least of three each
                ours.append(_in_transaction(alchemy, args.count))
                theirs.append(_in_transaction(driver, args.count))
            ours, theirs = min(ours), min(theirs)
            rows.append(
                f"{name:<11} {label:<22} SQLAlchemy {ours * 1e6:6.1f} us  driver {theirs * 1e6:6.1f} us  "
                f"ratio {theirs / ours:4.2f}  x{CHECKOUT_STATEMENTS} statements: "
                f"{(ours - theirs) * CHECKOUT_STATEMENTS * 1e3:.2f} ms"
            )
    return rows


def _plain(value):
    """A value as the driver takes it (the column types' own conversions are not needed here)."""
    if hasattr(value, "value") and not isinstance(value, (int, str)):  # an enum: stored by name
        return value.name
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    for line in on_each_database(bench_database, args, "bench_statement"):
        print(line)


if __name__ == "__main__":
    main()
