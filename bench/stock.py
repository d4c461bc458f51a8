"""Reservation throughput of the stock service against a raw-SQL baseline, on SQLite and PostgreSQL.

    .venv/bin/python bench/stock.py [--seconds 5] [--workers 8] [--only sqlite|postgresql]

Eight worker threads reserve one unit per transaction, committing each, (a) all
on one hot variant and (b) spread over 1,000 variants. The service is
`inventory.services.reserve()`; the baseline does the same guarded
`UPDATE stock ... WHERE on_hand - reserved >= :q` plus `INSERT INTO
stock_movements` per transaction through the same engine. Both are measured in
the same run, interleaved, and the service is printed as a ratio of the
baseline. The goal is a ratio of at least 0.5.
"""

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text

from bench.common import POSTGRES_URL, make_app, postgres_reachable
from core.extensions import db
from core.types import utcnow
from groups.models import Group, GroupKind, Member
from inventory import services as inv
from inventory.models import Lot, Movement, MovementKind, Product, ProductKind, Stock, Variant
from tests.databases import scratch_database

SPREAD = 1000
STOCK = Decimal(10_000_000)  # per variant: far more than any run reserves
ONE = Decimal(1)

BASELINE_UPDATE = text("UPDATE stock SET reserved = reserved + :q WHERE variant_id = :v AND on_hand - reserved >= :q")
BASELINE_INSERT = text(
    "INSERT INTO stock_movements (group_id, variant_id, kind, on_hand_delta, reserved_delta, "
    "created_at) VALUES (:g, :v, 'reservation', 0, :q, CURRENT_TIMESTAMP)"
)


def seed(app) -> tuple[int, list[int], int]:
    """One group with a hot variant and SPREAD others, each stocked through a lot; returns their ids."""
    with app.app_context():
        group = Group(name="Bench", kind=GroupKind.business, village="Sumberejo", district="Sanankulon")
        member = Member(group=group, name="Anggota")
        db.session.add_all([group, member])
        db.session.flush()
        product = Product(group_id=group.id, name="Daster", kind=ProductKind.garment, unit="pcs")
        db.session.add(product)
        db.session.flush()
        variants = [
            Variant(product_id=product.id, group_id=group.id, label=f"v{i}", unit_price=50000)
            for i in range(SPREAD + 1)
        ]
        db.session.add_all(variants)
        db.session.flush()
        ids = [v.id for v in variants]
        now = utcnow()
        db.session.execute(insert(Stock), [{"variant_id": i, "on_hand": STOCK, "reserved": Decimal(0)} for i in ids])
        lots = [
            Lot(
                group_id=group.id,
                variant_id=i,
                member_id=member.id,
                quantity=STOCK,
                remaining=STOCK,
                received_at=now,
                created_at=now,
            )
            for i in ids
        ]
        db.session.add_all(lots)
        db.session.flush()
        db.session.execute(
            insert(Movement),
            [
                {
                    "group_id": group.id,
                    "variant_id": lot.variant_id,
                    "kind": MovementKind.intake,
                    "lot_id": lot.id,
                    "on_hand_delta": STOCK,
                    "reserved_delta": Decimal(0),
                    "created_at": now,
                }
                for lot in lots
            ],
        )
        db.session.commit()
        return ids[0], ids[1:], group.id


def run_service(app, picks, deadline) -> int:
    """One worker: reserve() then commit, one unit per transaction, until the deadline."""
    done = 0
    with app.test_request_context("/", method="POST"):
        while time.perf_counter() < deadline:
            inv.reserve([inv.StockLine(picks[done % len(picks)], ONE)])
            db.session.commit()
            done += 1
    return done


def run_baseline(app, picks, deadline, group_id) -> int:
    """One worker: the same guarded UPDATE and INSERT in raw SQL, one transaction each."""
    done = 0
    milli = int(ONE * 1000)  # quantities are stored as thousandths
    with app.test_request_context("/", method="POST"):  # the same BEGIN IMMEDIATE on SQLite
        engine = db.engine
        while time.perf_counter() < deadline:
            variant = picks[done % len(picks)]
            with engine.begin() as conn:
                if conn.execute(BASELINE_UPDATE, {"q": milli, "v": variant}).rowcount != 1:
                    raise RuntimeError("baseline ran out of stock")
                conn.execute(BASELINE_INSERT, {"g": group_id, "v": variant, "q": milli})
            done += 1
    return done


def measure(app, mode, variants, seconds, workers, group_id) -> int:
    """Operations completed by `workers` threads in `seconds`."""
    rng = random.Random(7)
    picks = [[rng.choice(variants) for _ in range(4096)] for _ in range(workers)]
    counts = [0] * workers
    errors: list[BaseException] = []
    deadline = time.perf_counter() + seconds

    def work(i):
        try:
            counts[i] = (
                run_service(app, picks[i], deadline)
                if mode == "service"
                else run_baseline(app, picks[i], deadline, group_id)
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return int(sum(counts) / elapsed * seconds)


def bench_database(name, url, seconds, workers, rounds) -> list[tuple]:
    app = make_app(url)
    hot, spread, group_id = seed(app)
    rows = []
    for scenario, variants in (("1 hot variant", [hot]), (f"{SPREAD:,} variants", spread)):
        for mode in ("service", "baseline"):  # warm up connections and caches
            measure(app, mode, variants, 0.3, workers, group_id)
        totals = {"service": 0, "baseline": 0}
        for _ in range(rounds):  # interleaved, so drift on a noisy machine hits both alike
            for mode in ("service", "baseline"):
                totals[mode] += measure(app, mode, variants, seconds / rounds, workers, group_id)
        service, baseline = totals["service"] / seconds, totals["baseline"] / seconds
        rows.append((name, scenario, service, baseline, service / baseline))
    with app.app_context():
        problems = inv.stock_check()
        if problems:
            raise SystemExit(f"{name}: the books disagree after the run: {problems[:3]}")
        db.session.remove()
        db.engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement, split over the rounds")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2, help="service/baseline alternations per measurement")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()

    rows = []
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            rows += bench_database("SQLite", f"sqlite:///{tmp}/bench.db", args.seconds, args.workers, args.rounds)
    if args.only in (None, "postgresql"):
        if postgres_reachable(POSTGRES_URL):
            with scratch_database(POSTGRES_URL, f"bench_{os.getpid()}") as url:
                rows += bench_database("PostgreSQL", url, args.seconds, args.workers, args.rounds)
        else:
            print(f"PostgreSQL not reachable at {POSTGRES_URL}: skipped")

    print(f"\nreservations per second, {args.workers} workers, one reservation per transaction")
    print(f"{'database':<11} {'scenario':<15} {'service':>9} {'baseline':>9} {'ratio':>6}")
    for name, scenario, service, baseline, ratio in rows:
        flag = "" if ratio >= 0.5 else "  below the 0.5 goal"
        print(f"{name:<11} {scenario:<15} {service:>9.0f} {baseline:>9.0f} {ratio:>6.2f}{flag}")


if __name__ == "__main__":
    main()
