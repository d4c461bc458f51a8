"""The public catalog under gunicorn against a bare Flask endpoint serving a precomputed page of the same size.

    .venv/bin/python bench/catalog.py [--seconds 8] [--rounds 4] [--clients 8] [--threads 1] [--only sqlite|postgresql] [--cache 5,0]

10,000 products of 40 groups (produce, garment, processed; 1-3 variants each,
some without stock, some hidden) are written straight into a temporary SQLite
file and, when reachable, a scratch PostgreSQL database, keeping the stock
books (a lot and an intake movement behind every unit on hand). gunicorn (2
workers, gthread of one thread each unless --threads says) serves
bench/serve.py: the real app and the baseline in the same processes. The
benchmark's threads ask for

- the catalog API: GET /api/v1/products?kind=produce&in_stock=true&sort=price_asc&page=N
- the catalog page: GET /catalog?kind=produce&in_stock=1&sort=price_asc&page=N

with N going round pages 1-10, and for the baseline
(GET /_baseline/body/<name>), which answers the real page 1's bytes, stored
before the run. Each row is measured with the catalog cache at its default
(CATALOG_CACHE_SECONDS=5) and turned off (0). Printed: requests per second,
p50 and p99 latency, each as a ratio to the baseline (higher is better; the
goal is 0.5).
"""

import argparse
import random
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select

from accounts.models import User
from bench.common import make_app
from bench.loadgen import Server, compare, cpu_note, fetch, load_arguments, on_each_database, print_rows, row
from core.extensions import db
from core.text import fold
from core.types import utcnow
from groups.models import Group, GroupKind, Member, Role
from inventory import services as inv
from inventory.models import Lot, Movement, MovementKind, Product, ProductKind, ProductStatus, Stock, Variant

PRODUCTS = 10_000
GROUPS = 40
PAGES = 10
VILLAGES = [
    "Sumberejo",
    "Gembongan",
    "Karangbendo",
    "Kalipucung",
    "Sanankulon",
    "Ponggok",
    "Bacem",
    "Kademangan",
    "Wlingi",
    "Talun",
]
WORDS = {
    ProductKind.produce: [
        "Cabai rawit",
        "Cabé merah",
        "Tomat",
        "Terong ungu",
        "Belimbing",
        "Jagung manis",
        "Kacang panjang",
        "Bayam",
        "Kangkung",
        "Pepaya",
        "Nanas",
        "Salak",
    ],
    ProductKind.garment: ["Daster batik", "Seragam SD", "Kemeja batik", "Mukena", "Jilbab", "Tas anyaman"],
    ProductKind.processed: ["Gula kelapa", "Keripik tempe", "Sambal pecel", "Kopi bubuk", "Emping", "Madu"],
}
LABELS = ["Grade A", "Grade B", "Grade C"]


def seed(app, seed_value: int = 11) -> dict:
    """PRODUCTS products written in bulk; every unit on hand has its lot and intake movement."""
    rng = random.Random(seed_value)
    now = utcnow()
    with app.app_context():
        user = User(email="bench@pasar.test", name="Bench")
        user.set_password("bench-password")
        db.session.add(user)
        db.session.flush()
        groups, members = [], {}
        for i in range(GROUPS):
            kind = GroupKind.business if i % 3 == 0 else GroupKind.farmer
            group = Group(
                name=f"Kelompok {i + 1}",
                kind=kind,
                village=VILLAGES[i % len(VILLAGES)],
                district="Ponggok",
                verified=True,
                created_by_id=user.id,
            )
            db.session.add(group)
            groups.append(group)
        db.session.flush()
        for group in groups:
            member = Member(group_id=group.id, name="Anggota", role=Role.member)
            db.session.add(member)
            db.session.flush()
            members[group.id] = member.id
        kinds = [ProductKind.produce] * 5 + [ProductKind.garment] * 2 + [ProductKind.processed] * 3
        products = []
        for i in range(PRODUCTS):
            kind = rng.choice(kinds)
            name = f"{rng.choice(WORDS[kind])} {i + 1}"
            status = ProductStatus.hidden if rng.random() < 0.02 else ProductStatus.active
            created = now - timedelta(days=rng.uniform(0, 365))
            products.append(
                {
                    "group_id": groups[i % GROUPS].id,
                    "name": name,
                    "search_name": fold(name),
                    "kind": kind,
                    "unit": "pcs" if kind == ProductKind.garment else "kg",
                    "description": f"{name} dari anggota kelompok.",
                    "status": status,
                    "created_at": created,
                    "updated_at": created,
                }
            )
        db.session.execute(insert(Product), products)
        product_rows = db.session.execute(select(Product.id, Product.group_id).order_by(Product.id)).all()
        variants = []
        for product_id, group_id in product_rows:
            for label in LABELS[: rng.choice((1, 1, 2, 3))]:
                variants.append(
                    {
                        "product_id": product_id,
                        "group_id": group_id,
                        "label": label,
                        "unit_price": rng.randrange(5_000, 150_000, 500),
                        "active": rng.random() > 0.05,
                        "created_at": now,
                    }
                )
        db.session.execute(insert(Variant), variants)
        variant_rows = db.session.execute(select(Variant.id, Variant.group_id).order_by(Variant.id)).all()
        stock, lots = [], []
        for variant_id, group_id in variant_rows:
            quantity = Decimal(rng.randrange(1, 200)) if rng.random() < 0.6 else Decimal(0)
            stock.append({"variant_id": variant_id, "on_hand": quantity, "reserved": Decimal(0)})
            if quantity:
                lots.append(
                    {
                        "group_id": group_id,
                        "variant_id": variant_id,
                        "member_id": members[group_id],
                        "quantity": quantity,
                        "remaining": quantity,
                        "received_at": now,
                        "created_at": now,
                    }
                )
        db.session.execute(insert(Stock), stock)
        db.session.execute(insert(Lot), lots)
        lot_rows = db.session.execute(select(Lot.id, Lot.group_id, Lot.variant_id, Lot.quantity)).all()
        db.session.execute(
            insert(Movement),
            [
                {
                    "group_id": g,
                    "variant_id": v,
                    "kind": MovementKind.intake,
                    "lot_id": lot_id,
                    "on_hand_delta": q,
                    "reserved_delta": Decimal(0),
                    "created_at": now,
                }
                for lot_id, g, v, q in lot_rows
            ],
        )
        db.session.commit()
        problems = inv.stock_check()
        if problems:
            raise SystemExit(f"the seeded books disagree: {problems[:3]}")
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:  # statistics for the planner, as autovacuum would gather them
                conn.exec_driver_sql("ANALYZE")
        return {"products": db.session.scalar(select(func.count(Product.id))), "variants": len(variant_rows)}


API_PATH = "/api/v1/products?kind=produce&in_stock=true&sort=price_asc&page={n}"
PAGE_PATH = "/catalog?kind=produce&in_stock=1&sort=price_asc&page={n}"


def bench_database(name: str, url: str, args) -> list[str]:
    app = make_app(url)
    counts = seed(app)
    print(f"{name}: {counts['products']:,} products, {counts['variants']:,} variants seeded", flush=True)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if args.in_process:
        in_process(name, url, args.in_process, args.pages)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        bodies = Path(tmp)
        (bodies / "instance").mkdir()
        for cache in args.cache:
            with Server(url, bodies, args.threads, CATALOG_CACHE_SECONDS=cache) as server:
                endpoints = [("api", "GET /api/v1/products", API_PATH)]
                status, _ = fetch(server.port, "GET", PAGE_PATH.format(n=1))
                if status == 200:
                    endpoints.append(("page", "GET /catalog", PAGE_PATH))
                else:
                    print(f"{name}: /catalog answered {status}: the page is not there yet, only the API is measured")
                for body_name, label, path in endpoints:
                    rows.append(
                        measure(
                            name,
                            f"{label} cache={cache}s",
                            server.port,
                            server.process.pid,
                            bodies,
                            body_name,
                            path,
                            args,
                        )
                    )
    return rows


def measure(database, label, port, pid, bodies: Path, body_name, path, args) -> str:
    status, body = fetch(port, "GET", path.format(n=1))
    if status != 200:
        raise SystemExit(f"{path.format(n=1)} answered {status}: {body[:300]!r}")
    (bodies / f"{body_name}.body").write_bytes(body)
    (bodies / f"{body_name}.type").write_text("application/json" if body_name == "api" else "text/html; charset=utf-8")

    for n in range(10 * args.pages):  # each on a fresh connection, so that every worker has every page warm
        fetch(port, "GET", path.format(n=n % args.pages + 1))

    def real(client, n):
        return "GET", path.format(n=(client + n) % args.pages + 1), None, {}

    def baseline(client, n):
        return "GET", f"/_baseline/body/{body_name}", None, {}

    real_run, base_run = compare(port, real, baseline, args.seconds, args.clients, args.rounds, server_pid=pid)
    line = row(database, label, real_run, base_run)
    cpu = cpu_note(real_run, base_run)
    print(line, f"  ({len(body):,} bytes{'; ' + cpu if cpu else ''})", flush=True)
    return line


def in_process(name: str, url: str, count: int, pages: int) -> None:
    """CPU time of a kept page answered in this process, the API's and the catalog page's, for a visitor
    without cookies, against a bare Flask app answering the same bytes; the test client's own share is in
    all three. The app is configured as deployed (CSRF and rate limits on), with pages kept for an hour so
    that every request is a kept one."""
    from flask import Flask, Response

    from app import create_app
    from config import Config

    class Deployed(Config):
        SQLALCHEMY_DATABASE_URI = url
        SECRET_KEY = "bench-in-process"
        CATALOG_CACHE_SECONDS = 3600

    client = create_app(Deployed).test_client(use_cookies=False)
    bodies: dict[str, Response] = {}
    bare = Flask("baseline")
    bare.add_url_rule(
        "/body/<name>", "body", lambda name: Response(bodies[name].data, content_type=bodies[name].content_type)
    )
    bare_client = bare.test_client(use_cookies=False)

    def cpu_ms(get, path) -> float:
        for n in range(pages):
            assert get(path.format(n=n + 1)).status_code == 200
        rounds = []
        for _ in range(5):
            started = time.process_time()
            for n in range(count):
                get(path.format(n=n % pages + 1))
            rounds.append((time.process_time() - started) * 1000 / count)
        return min(rounds)

    for body_name, label, path in (("api", "GET /api/v1/products", API_PATH), ("page", "GET /catalog", PAGE_PATH)):
        bodies[body_name] = client.get(path.format(n=1))
        baseline = cpu_ms(bare_client.get, f"/body/{body_name}")
        real = cpu_ms(client.get, path)
        print(
            f"{name}: in process, CPU ms a kept request (least of 5 rounds of {count}): {label} {real:.3f}, "
            f"bare Flask {baseline:.3f}, ratio {baseline / real:.2f}",
            flush=True,
        )


def main() -> None:
    parser = load_arguments(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]))
    parser.add_argument(
        "--cache",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[5, 0],
        help="CATALOG_CACHE_SECONDS values to measure with (default 5,0)",
    )
    parser.add_argument("--pages", type=int, default=PAGES, help="how many pages the clients go round")
    parser.add_argument(
        "--in-process",
        type=int,
        default=0,
        metavar="N",
        help="first time N kept requests of each endpoint in this process (test client)",
    )
    args = parser.parse_args()
    print_rows("catalog", args, on_each_database(bench_database, args, "bench_catalog"))


if __name__ == "__main__":
    main()
