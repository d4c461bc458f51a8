"""The public catalog under gunicorn against a bare Flask endpoint serving a precomputed page of the same size.

    .venv/bin/python bench/catalog.py [--products 1000,10000,100000] [--seconds 8] [--rounds 4] [--clients 8]
        [--threads 1] [--only sqlite|postgresql] [--cache 5,0] [--measure search,listing,warm] [--profile N]

For each number of products (default 10,000), a district's catalog is written in bulk
(bench/catalog_seed.py: products / 250 groups in ten villages, 1-3 variants each, some
without stock, some hidden, names from word lists and "produk <n>") into a temporary
SQLite file and, when reachable, a scratch PostgreSQL database, keeping the stock books.
gunicorn (2 workers, gthread of one thread each unless --threads says) serves
bench/serve.py: the real app and the baseline in the same processes. Measured, API and
page each:

- cold search: each request a query not asked before in the run, three of four
  `produk <n>` (n random) and one of four in words ("cabai", "cabe", "kaos merah"):
  GET /api/v1/products?q=...&in_stock=true&per_page=50 and GET /catalog?q=...&in_stock=1;
- cold filtered listing: kind, in stock, price sort (ascending or descending) at a
  random page, each address not asked before while the run has unused ones:
  GET /api/v1/products?kind=K&in_stock=true&sort=S&page=N and GET /catalog?kind=K&in_stock=1&sort=S&page=N;
- warm catalog (only with the cache on): kind=produce, in stock, price_asc, pages 1-10 going round.

Each with the catalog cache off (CATALOG_CACHE_SECONDS=0) and on (5). The baseline
(GET /_baseline/body/<name>) answers the bytes of a real answer, stored before the run:
page 1 for the warm rows, the median-sized of the first fifteen answers of the stream
for the cold ones. Printed: requests per second, p50 and p99 latency, each as a ratio
to the baseline (higher is better), the server's CPU a request, and at the end one
table with a row per size, database and endpoint.
"""

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from bench.catalog_profile import profile
from bench.catalog_seed import check_books, listing_addresses, search_addresses, seed
from bench.common import make_app
from bench.loadgen import Server, compare, cpu_note, fetch, load_arguments, on_each_database, row
from core.extensions import db
from marketplace.listing import CatalogListing

PRODUCTS = 10_000
PAGES = 10
WARM_API = "/api/v1/products?kind=produce&in_stock=true&sort=price_asc&page={n}"
WARM_PAGE = "/catalog?kind=produce&in_stock=1&sort=price_asc&page={n}"
ENDPOINTS = {"api": "GET /api/v1/products", "page": "GET /catalog"}


def after_seed(app) -> None:
    """Called once after the bulk insert, before the books are checked and the server starts: the seeding wrote
    its rows inside `marketplace.listing.bulk_load()`, which rebuilt the catalog's listing and search index at its
    end, so nothing is left to do but to say what the listing holds."""
    with app.app_context():
        listed = db.session.scalar(select(func.count()).select_from(CatalogListing))
    print(f"  the catalog's listing holds {listed:,} products", flush=True)


def seed_catalog(app, products: int, name: str) -> dict:
    """The catalog written, `after_seed` run and the books checked, each timed and printed; what it lists in
    stock (bench/catalog_seed.py's seed())."""
    started = time.perf_counter()
    counts = seed(app, products)
    inserted = time.perf_counter()
    after_seed(app)
    hooked = time.perf_counter()
    check_books(app)
    checked = time.perf_counter()
    print(
        f"{name}: {counts['products']:,} products of {counts['groups']} groups, {counts['variants']:,} variants "
        f"seeded in {hooked - started:.1f} s (bulk insert {inserted - started:.1f} s, after_seed "
        f"{hooked - inserted:.1f} s); books checked in {checked - hooked:.1f} s",
        flush=True,
    )
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return counts


class Stream:
    """Addresses handed out one at a time to every load thread, in order, going round when all are used."""

    def __init__(self, addresses: list[str]):
        self.addresses, self.counter, self.sent = addresses, itertools.count(), 0
        last, gaps = {}, []
        for i, address in enumerate(addresses + addresses):
            if address in last:
                gaps.append(i - last[address] - 1)
            last[address] = i
        self.gap = min(gaps)  # the fewest other requests between two of one address

    def next(self) -> str:
        n = next(self.counter)  # one step under the GIL: no two threads get the same n
        self.sent = max(self.sent, n + 1)
        return self.addresses[n % len(self.addresses)]

    def note(self) -> str:
        distinct = len(set(self.addresses[: self.sent]))
        if distinct == self.sent:
            return f"{self.sent:,} requests, none repeated"
        return f"{self.sent:,} requests of {distinct:,} addresses, a repeat after {self.gap:,} others or more"


def bench_database(name: str, url: str, args) -> list[dict]:
    results = []
    for products in args.products:
        app = make_app(url)
        listed = seed_catalog(app, products, name)
        if args.in_process:
            in_process(name, url, args.in_process, args.pages, listed)
        if args.profile:
            profile(url, args.profile, products, listed)
        results += bench_size(name, url, products, listed, args)
    return results


def bench_size(name: str, url: str, products: int, listed: dict, args) -> list[dict]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        bodies = Path(tmp)
        (bodies / "instance").mkdir()
        for cache in args.cache:
            with Server(url, bodies, args.threads, CATALOG_CACHE_SECONDS=cache) as server:
                status, _ = fetch(server.port, "GET", WARM_PAGE.format(n=1))
                endpoints = ["api", "page"] if status == 200 else ["api"]
                if status != 200:
                    print(f"{name}: /catalog answered {status}: the page is not there yet, only the API is measured")
                mode = "off" if cache <= 0 else "on"
                for endpoint in endpoints:
                    where = (name, products, endpoint, server, bodies, args)
                    if "search" in args.measure:
                        stream = Stream(search_addresses(listed, endpoint, seed_value=cache * 10 + 1))
                        results.append(measure(*where, "search", mode, stream))
                    if "listing" in args.measure:
                        stream = Stream(
                            listing_addresses(
                                lambda path: fetch(server.port, "GET", path), endpoint, seed_value=cache * 10 + 2
                            )
                        )
                        results.append(measure(*where, "listing", mode, stream))
                    if "warm" in args.measure and cache > 0:
                        path = WARM_API if endpoint == "api" else WARM_PAGE
                        stream = Stream([path.format(n=n % args.pages + 1) for n in range(args.pages)])
                        results.append(measure(*where, "listing", "warm", stream))
    return results


def measure(database, products, endpoint, server, bodies: Path, args, what, mode, stream: Stream) -> dict:
    """One row: the stream's addresses against the baseline answering a real answer's bytes."""
    body_name = f"{endpoint}-{what}-{mode}"
    if mode == "warm":
        sample = [fetch(server.port, "GET", stream.addresses[0])[1]]
        for address in stream.addresses * 10:  # each on a fresh connection: every worker has every page warm
            fetch(server.port, "GET", address)
    else:
        sample = []
        for _ in range(15):  # the stream's first answers: each worker warm, and the baseline's size
            address = stream.next()
            status, body = fetch(server.port, "GET", address)
            if status != 200:
                raise SystemExit(f"{address} answered {status}: {body[:300]!r}")
            sample.append(body)
    body = sorted(sample, key=len)[len(sample) // 2]
    (bodies / f"{body_name}.body").write_bytes(body)
    (bodies / f"{body_name}.type").write_text("application/json" if endpoint == "api" else "text/html; charset=utf-8")

    def real(client, n):
        return "GET", stream.next(), None, {}

    def baseline(client, n):
        return "GET", f"/_baseline/body/{body_name}", None, {}

    real_run, base_run = compare(
        server.port, real, baseline, args.seconds, args.clients, args.rounds, server_pid=server.process.pid
    )
    label = f"{ENDPOINTS[endpoint]} {what} {'warm' if mode == 'warm' else 'cold, cache ' + mode}"
    line = row(database, label, real_run, base_run)
    cpu = cpu_note(real_run, base_run)
    note = "" if mode == "warm" else f"; {stream.note()}"
    print(f"{line}  ({products:,} products; {len(body):,} bytes{'; ' + cpu if cpu else ''}{note})", flush=True)
    return {
        "products": products,
        "database": database,
        "endpoint": f"{what} {endpoint}",
        "mode": mode,
        "ratio": real_run.throughput / base_run.throughput,
        "cpu": (real_run.cpu_ms, base_run.cpu_ms),
        "line": line,
    }


def summary(results: list[dict]) -> None:
    """One row per size, database and endpoint: the throughput ratios and the server's CPU a request."""
    print(
        "\nthroughput ratio real/baseline; server CPU a request, real / baseline, with the cache off (else with it on)"
    )
    print(
        f"{'products':>9} {'database':<11} {'endpoint':<14} {'cold, off':>9} {'cold, on':>9} {'warm':>6}  "
        f"{'server CPU ms':>15}"
    )
    table: dict[tuple, dict] = {}
    for r in results:
        table.setdefault((r["products"], r["database"], r["endpoint"]), {})[r["mode"]] = r
    for (products, database, endpoint), modes in table.items():
        cells = [_ratio(modes[m]["ratio"]) if m in modes else "-" for m in ("off", "on", "warm")]
        cpu = next((modes[m]["cpu"] for m in ("off", "on", "warm") if m in modes and None not in modes[m]["cpu"]), None)
        cpu_cell = f"{cpu[0]:.2f} / {cpu[1]:.2f}" if cpu else "-"
        print(f"{products:>9,} {database:<11} {endpoint:<14} {cells[0]:>9} {cells[1]:>9} {cells[2]:>6}  {cpu_cell:>15}")


def _ratio(value: float) -> str:
    return f"{value:.2f}" if value >= 0.095 else f"{value:.2g}"  # two figures for the small ones


def in_process(name: str, url: str, count: int, pages: int, listed: dict) -> None:
    """CPU time of a request answered in this process, for a visitor without cookies, against a bare Flask app
    answering the same bytes; the test client's own share is in each. A kept page of the API and of the catalog
    page (pages kept an hour, so every request is a kept one), and the least a cold request costs: a search
    finding one product with the cache off (`produk <n>`, each once). The app is configured as deployed (CSRF and
    rate limits on)."""
    from flask import Flask, Response

    from app import create_app
    from config import Config

    def client(seconds: int):
        class Deployed(Config):
            SQLALCHEMY_DATABASE_URI = url
            SECRET_KEY = "bench-in-process"
            CATALOG_CACHE_SECONDS = seconds

        return create_app(Deployed).test_client(use_cookies=False)

    bodies: dict[str, Response] = {}
    bare = Flask("baseline")
    bare.add_url_rule(
        "/body/<name>", "body", lambda name: Response(bodies[name].data, content_type=bodies[name].content_type)
    )
    bare_client = bare.test_client(use_cookies=False)

    def cpu_ms(get, paths: list[str]) -> float:
        for path in paths[:pages]:
            assert get(path).status_code == 200
        rounds, asked = [], itertools.count(pages)
        for _ in range(5):
            started = time.process_time()
            for _ in range(count):
                get(paths[next(asked) % len(paths)])
            rounds.append((time.process_time() - started) * 1000 / count)
        return min(rounds)

    numbers = listed["in_stock"][: pages + 5 * count]
    one = [f"/api/v1/products?q=produk%20{n}&in_stock=true&per_page=50" for n in numbers]
    cold, kept = client(0), client(3600)  # the cold one first: a kept answer would be given to it as well
    for body_name, what, asking, paths in (
        ("one", "a cold search finding one product, API", cold, one),
        ("api", f"a kept {ENDPOINTS['api']}", kept, [WARM_API.format(n=n + 1) for n in range(pages)]),
        ("page", f"a kept {ENDPOINTS['page']}", kept, [WARM_PAGE.format(n=n + 1) for n in range(pages)]),
    ):
        bodies[body_name] = asking.get(paths[0])
        baseline = cpu_ms(bare_client.get, [f"/body/{body_name}"])
        real = cpu_ms(asking.get, paths)
        print(
            f"{name}: in process, CPU ms a request (least of 5 rounds of {count}): {what} {real:.3f}, "
            f"bare Flask {baseline:.3f}, ratio {baseline / real:.2f}",
            flush=True,
        )


def number_list(text: str) -> list[int]:
    return [int(x.replace("_", "")) for x in text.split(",")]


def main() -> None:
    parser = load_arguments(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]))
    parser.add_argument(
        "--products", type=number_list, default=[PRODUCTS], help="products to seed, or a list: 1000,10000,100000"
    )
    parser.add_argument(
        "--cache", type=number_list, default=[5, 0], help="CATALOG_CACHE_SECONDS values to measure with (default 5,0)"
    )
    parser.add_argument(
        "--measure",
        type=lambda s: set(s.split(",")),
        default={"search", "listing", "warm"},
        help="what to measure: search, listing, warm (default all three)",
    )
    parser.add_argument("--pages", type=int, default=PAGES, help="how many pages the warm rows go round")
    parser.add_argument(
        "--in-process",
        type=int,
        default=0,
        metavar="N",
        help="first time N kept requests of each endpoint in this process (test client)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="first profile N cold searches and N cold listings in this process (bench/catalog_profile.py)",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    results = on_each_database(bench_database, args, "bench_catalog")
    print(
        f"\ncatalog under gunicorn (2 workers of {args.threads} thread{'s' * (args.threads > 1)}), "
        f"{args.clients} keep-alive clients, {args.seconds:g} s in {args.rounds} rounds a row; "
        f"{time.perf_counter() - started:.0f} s in all"
    )
    for r in results:
        print(f"{r['products']:>7,} {r['line']}")
    summary(results)


if __name__ == "__main__":
    main()
