"""Checkout under gunicorn against a bare Flask endpoint making the same stock writes in raw SQL.

    .venv/bin/python bench/checkout.py [--seconds 8] [--rounds 4] [--clients 8] [--threads 1] [--only sqlite|postgresql] [--parts N]

Two groups with three variants (two of one group, one of the other) and stock
far larger than any run takes, written straight into a temporary SQLite file
and, when reachable, a scratch PostgreSQL database (a lot and an intake
movement behind every unit). gunicorn (2 workers, gthread of one thread each
unless --threads says) serves bench/serve.py. The benchmark's threads send

- the real checkout: POST /api/v1/checkouts with a bearer token, three lines of
  one unit each, cash, pickup: validation, one order per group, guarded
  reservations, order lines, events, the JSON answer;
- the baseline: POST /_baseline/checkout with the same body, which makes only
  the writes, in raw SQL in one transaction: three guarded stock updates,
  three movement rows and one order row.

Printed: checkouts per second, p50 and p99 latency, each as a ratio to the
baseline (higher is better; the goal is 0.5), and the server's CPU time a
request (gunicorn and its workers), which moves less with other load on the
machine. The run ends with `stock_check()` on what both wrote.

With `--parts N`, before the HTTP run: N checkouts through the app in this
process, one at a time, and the CPU time each takes, in all and in its parts
(token lookup, placing, reading the variants, reserving, committing,
building and dumping the answer), the least of five rounds.
"""

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select

from accounts.models import User
from accounts.services import issue_token
from bench.common import make_app
from bench.loadgen import Server, compare, cpu_note, load_arguments, on_each_database, print_rows, row
from core.extensions import db
from core.types import utcnow
from groups.models import Group, GroupKind, Member, Role
from inventory import services as inv
from inventory.models import Lot, Movement, MovementKind, Product, ProductKind, Stock, Variant
from marketplace.models import Checkout, Order, PaymentMethod

STOCK = Decimal(10_000_000)
HELD = "write lock held"


def seed(app) -> dict:
    """Two groups, three variants with STOCK each (through lots), a buyer with a token, a checkout row for the baseline."""
    now = utcnow()
    with app.app_context():
        buyer = User(email="pembeli@pasar.test", name="Bu Ratna")
        buyer.set_password("bench-password")
        db.session.add(buyer)
        variants = []
        for name, village, product_name, labels in (
            ("KUB Jahit Sumberejo", "Sumberejo", "Daster batik", ("Biru", "Cokelat")),
            ("Kelompok Tani Cabai", "Gembongan", "Cabai rawit", ("Grade A",)),
        ):
            group = Group(name=name, kind=GroupKind.business, village=village, district="Ponggok", verified=True)
            member = Member(group=group, name="Anggota", role=Role.member)
            db.session.add_all([group, member])
            db.session.flush()
            product = Product(group_id=group.id, name=product_name, kind=ProductKind.garment, unit="pcs")
            db.session.add(product)
            db.session.flush()
            for label in labels:
                variant = Variant(product_id=product.id, group_id=group.id, label=label, unit_price=65000)
                db.session.add(variant)
                db.session.flush()
                db.session.execute(
                    insert(Stock), [{"variant_id": variant.id, "on_hand": STOCK, "reserved": Decimal(0)}]
                )
                lot = Lot(
                    group_id=group.id,
                    variant_id=variant.id,
                    member_id=member.id,
                    quantity=STOCK,
                    remaining=STOCK,
                    received_at=now,
                    created_at=now,
                )
                db.session.add(lot)
                db.session.flush()
                db.session.execute(
                    insert(Movement),
                    [
                        {
                            "group_id": group.id,
                            "variant_id": variant.id,
                            "kind": MovementKind.intake,
                            "lot_id": lot.id,
                            "on_hand_delta": STOCK,
                            "reserved_delta": Decimal(0),
                            "created_at": now,
                        }
                    ],
                )
                variants.append(variant)
        _, token = issue_token(buyer, "bench")
        checkout = Checkout(
            buyer_id=buyer.id, request_hash="bench-baseline", total=0, payment_method=PaymentMethod.cash
        )
        db.session.add(checkout)
        db.session.commit()
        return {
            "token": token,
            "buyer_id": buyer.id,
            "checkout_id": checkout.id,
            "variants": {str(v.id): [v.group_id, v.unit_price] for v in variants},
        }


def _body(setup: dict) -> bytes:
    return json.dumps(
        {
            "lines": [{"variant_id": int(v), "quantity": "1"} for v in setup["variants"]],
            "fulfilment": {"method": "pickup"},
            "payment_method": "cash",
        }
    ).encode()


def parts(name: str, app, setup: dict, count: int) -> None:
    """CPU time per checkout made through the app in this process, in all and in its parts."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    import accounts.services
    import marketplace.api
    from marketplace.services import checkout
    from payments.services import details as payment_details

    timed = [
        (accounts.services, "user_from_bearer", "token lookup"),
        (marketplace.api.services, "place", "place_checkout"),
        (checkout, "_clean_lines", "  of which reading the variants"),
        (inv.Reservation, "hold", "  of which holding the stock"),
        (Session, "commit", "commits"),
        (marketplace.api, "checkout_view", "checkout_view (the answer)"),
        (marketplace.api, "_CHECKOUT_OUT", "dumping the answer"),
        (payment_details, "payment_details", "payment_details (none when new)"),
    ]
    spent: dict[str, float] = defaultdict(float)

    # The write lock (SQLite; on PostgreSQL the rows' locks): from the first INSERT, UPDATE or DELETE
    # to the end of the commit, in wall time.
    writing: dict[str, float] = {}

    def first_write(_conn, _cursor, statement, *_args):
        if "at" not in writing and statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            writing["at"] = time.perf_counter()

    def timer(fn, label):
        def run(*args, **kwargs):
            started = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[label] += time.process_time() - started
                if label == "commits" and "at" in writing:
                    spent[HELD] += time.perf_counter() - writing.pop("at")

        return run

    originals = [(owner, attr, getattr(owner, attr)) for owner, attr, _ in timed]
    for (owner, attr, label), (_, _, fn) in zip(timed, originals):
        setattr(owner, attr, timer(fn, label))
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", first_write)
    client, body = app.test_client(), _body(setup)
    headers = {"Authorization": f"Bearer {setup['token']}", "Content-Type": "application/json"}
    rounds = []
    try:
        for _ in range(6):  # the first warms up
            spent.clear()
            started = time.process_time()
            for _ in range(count):
                response = client.post("/api/v1/checkouts", data=body, headers=headers)
                assert response.status_code == 201, response.get_data(as_text=True)
            rounds.append((time.process_time() - started, dict(spent)))
    finally:
        for owner, attr, fn in originals:
            setattr(owner, attr, fn)
        event.remove(engine, "before_cursor_execute", first_write)
    total, best = min(rounds[1:], key=lambda item: item[0])
    print(f"{name}: in process, CPU ms per checkout (least of 5 rounds of {count}): {total / count * 1000:.2f}")
    for _, _, label in timed:
        print(f"  {label:<40} {best.get(label, 0) / count * 1000:6.2f}  {best.get(label, 0) / total:4.0%}")
    print(f"  {HELD:<40} {best.get(HELD, 0) / count * 1000:6.2f}  (wall time, first write to end of commit)")


def bench_database(name: str, url: str, args) -> list[str]:
    app = make_app(url)
    setup = seed(app)
    if args.parts:
        parts(name, app, setup, args.parts)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        bodies = Path(tmp)
        (bodies / "instance").mkdir()
        (bodies / "checkout.json").write_text(json.dumps(setup))
        body = _body(setup)
        headers = {"Authorization": f"Bearer {setup['token']}", "Content-Type": "application/json"}

        def real(client, n):
            return "POST", "/api/v1/checkouts", body, headers

        def baseline(client, n):
            return "POST", "/_baseline/checkout", body, headers

        with Server(url, bodies, args.threads) as server:
            real_run, base_run = compare(
                server.port,
                real,
                baseline,
                args.seconds,
                args.clients,
                args.rounds,
                expect=201,
                server_pid=server.process.pid,
            )
        line = row(name, "POST /api/v1/checkouts", real_run, base_run)
        cpu = cpu_note(real_run, base_run)
        print(line, f"  ({cpu})" if cpu else "", flush=True)
        rows.append(line)
    with app.app_context():
        problems = inv.stock_check()
        orders = db.session.scalar(select(func.count(Order.id)))
        if problems:
            raise SystemExit(f"{name}: the books disagree after the run: {problems[:3]}")
        print(f"{name}: {orders:,} orders written, stock books agree", flush=True)
        db.session.remove()
        db.engine.dispose()
    return rows


def main() -> None:
    parser = load_arguments(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]))
    parser.add_argument(
        "--parts",
        type=int,
        default=0,
        metavar="N",
        help="first time N checkouts in this process, in all and in their parts",
    )
    args = parser.parse_args()

    print_rows("3-line checkout", args, on_each_database(bench_database, args, "bench_checkout"))


if __name__ == "__main__":
    main()
