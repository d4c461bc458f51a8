"""The public catalog under gunicorn against a bare Flask endpoint serving a precomputed page of the same size.

    .venv/bin/python bench/catalog.py [--seconds 6] [--clients 8] [--only sqlite|postgresql] [--cache 5,0]

10,000 products of 40 groups (produce, garment, processed; 1-3 variants each,
some without stock, some hidden) are written straight into a temporary SQLite
file and, when reachable, a scratch PostgreSQL database, keeping the stock
books (a lot and an intake movement behind every unit on hand). gunicorn (2
workers, gthread) serves bench/serve.py: the real app and the baseline in the
same processes. The benchmark's threads ask for

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
import os
import random
import sys
import tempfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select  # noqa: E402

from bench.loadgen import HEADER, Run, Server, drive, fetch, row  # noqa: E402
from bench.common import POSTGRES_URL, make_app, postgres_reachable  # noqa: E402
from core.auth import User  # noqa: E402
from core.extensions import db  # noqa: E402
from core.text import fold  # noqa: E402
from core.types import utcnow  # noqa: E402
from groups.models import Group, GroupKind, Member, Role  # noqa: E402
from inventory import services as inv  # noqa: E402
from inventory.models import Lot, Movement, MovementKind, Product, ProductKind, ProductStatus, Stock, Variant  # noqa: E402
from tests.databases import scratch_database  # noqa: E402

PRODUCTS = 10_000
GROUPS = 40
PAGES = 10
VILLAGES = ["Sumberejo", "Gembongan", "Karangbendo", "Kalipucung", "Sanankulon", "Ponggok", "Bacem", "Kademangan",
            "Wlingi", "Talun"]
WORDS = {
    ProductKind.produce: ["Cabai rawit", "Cabé merah", "Tomat", "Terong ungu", "Belimbing", "Jagung manis",
                          "Kacang panjang", "Bayam", "Kangkung", "Pepaya", "Nanas", "Salak"],
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
            group = Group(name=f"Kelompok {i + 1}", kind=kind, village=VILLAGES[i % len(VILLAGES)],
                          district="Ponggok", verified=True, created_by_id=user.id)
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
            products.append({"group_id": groups[i % GROUPS].id, "name": name, "search_name": fold(name),
                             "kind": kind, "unit": "pcs" if kind == ProductKind.garment else "kg",
                             "description": f"{name} dari anggota kelompok.", "status": status,
                             "created_at": created, "updated_at": created})
        db.session.execute(insert(Product), products)
        product_rows = db.session.execute(select(Product.id, Product.group_id).order_by(Product.id)).all()
        variants = []
        for product_id, group_id in product_rows:
            for label in LABELS[:rng.choice((1, 1, 2, 3))]:
                variants.append({"product_id": product_id, "group_id": group_id, "label": label,
                                 "unit_price": rng.randrange(5_000, 150_000, 500), "active": rng.random() > 0.05,
                                 "created_at": now})
        db.session.execute(insert(Variant), variants)
        variant_rows = db.session.execute(select(Variant.id, Variant.group_id).order_by(Variant.id)).all()
        stock, lots = [], []
        for variant_id, group_id in variant_rows:
            quantity = Decimal(rng.randrange(1, 200)) if rng.random() < 0.6 else Decimal(0)
            stock.append({"variant_id": variant_id, "on_hand": quantity, "reserved": Decimal(0)})
            if quantity:
                lots.append({"group_id": group_id, "variant_id": variant_id, "member_id": members[group_id],
                             "quantity": quantity, "remaining": quantity, "received_at": now, "created_at": now})
        db.session.execute(insert(Stock), stock)
        db.session.execute(insert(Lot), lots)
        lot_rows = db.session.execute(select(Lot.id, Lot.group_id, Lot.variant_id, Lot.quantity)).all()
        db.session.execute(insert(Movement), [
            {"group_id": g, "variant_id": v, "kind": MovementKind.intake, "lot_id": lot_id, "on_hand_delta": q,
             "reserved_delta": Decimal(0), "created_at": now} for lot_id, g, v, q in lot_rows])
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
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        bodies = Path(tmp)
        (bodies / "instance").mkdir()
        for cache in args.cache:
            with Server(url, bodies, CATALOG_CACHE_SECONDS=cache) as server:
                endpoints = [("api", "GET /api/v1/products", API_PATH)]
                status, _ = fetch(server.port, "GET", PAGE_PATH.format(n=1))
                if status == 200:
                    endpoints.append(("page", "GET /catalog", PAGE_PATH))
                else:
                    print(f"{name}: /catalog answered {status}: the page is not there yet, only the API is measured")
                for body_name, label, path in endpoints:
                    rows.append(measure(name, f"{label} cache={cache}s", server.port, server.process.pid, bodies,
                                        body_name, path, args))
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

    (real_run, real_cpu), (base_run, base_cpu) = compare_with_cpu(port, pid, real, baseline, args)
    line = row(database, label, real_run, base_run)
    cpu = (f"; server CPU a request {real_cpu:.2f} / {base_cpu:.2f} ms, ratio {base_cpu / real_cpu:.2f}"
           if real_cpu and base_cpu else "")
    print(line, f"  ({len(body):,} bytes{cpu})", flush=True)
    return line


def compare_with_cpu(port, pid, real, baseline, args) -> tuple[tuple[Run, float | None], tuple[Run, float | None]]:
    """loadgen.compare, also taking the server's CPU time a request (ms) for each side (None where unknown).

    On a machine shared with other work the throughput ratio swings with the other load and
    with how the kept-alive connections happen to fall between the two workers (each held by
    one process for the whole of a round); the CPU the server spends on a request does not.
    """
    drive(port, real, 1.0, args.clients, 200)
    drive(port, baseline, 1.0, args.clients, 200)
    runs, cpu = (Run(), Run()), [0.0, 0.0]
    for _ in range(args.rounds):
        for side, request_for in enumerate((real, baseline)):
            before = server_cpu(pid)
            runs[side].add(drive(port, request_for, args.seconds / args.rounds, args.clients, 200))
            after = server_cpu(pid)
            cpu[side] = None if before is None or after is None or cpu[side] is None else cpu[side] + after - before
    return tuple((run, spent * 1000 / len(run.latencies) if spent and run.latencies else None)
                 for run, spent in zip(runs, cpu))


def server_cpu(pid: int) -> float | None:
    """CPU seconds used so far by gunicorn (`pid`) and its workers, from Linux's /proc; None where unknown."""
    try:
        pids = [str(pid)]
        for task in os.listdir(f"/proc/{pid}/task"):
            pids += Path(f"/proc/{pid}/task/{task}/children").read_text().split()
        total = 0
        for each in pids:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="per endpoint, split over the rounds")
    parser.add_argument("--clients", type=int, default=8, help="load threads, each with a keep-alive connection")
    parser.add_argument("--rounds", type=int, default=2, help="real/baseline alternations per measurement")
    parser.add_argument("--cache", type=lambda s: [int(x) for x in s.split(",")], default=[5, 0],
                        help="CATALOG_CACHE_SECONDS values to measure with (default 5,0)")
    parser.add_argument("--pages", type=int, default=PAGES, help="how many pages the clients go round")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()

    rows = []
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            rows += bench_database("SQLite", f"sqlite:///{tmp}/bench.db", args)
    if args.only in (None, "postgresql"):
        if postgres_reachable(POSTGRES_URL):
            with scratch_database(POSTGRES_URL, f"bench_catalog_{os.getpid()}") as url:
                rows += bench_database("PostgreSQL", url, args)
        else:
            print(f"PostgreSQL not reachable at {POSTGRES_URL}: skipped")

    print(f"\ncatalog under gunicorn (2 workers), {args.clients} keep-alive clients; "
          "ratios: throughput real/baseline, latency baseline/real")
    print(HEADER)
    for line in rows:
        print(line)


if __name__ == "__main__":
    main()
