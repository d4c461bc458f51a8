"""Where a cold catalog request's time goes: N cold searches and N cold listings in this process under cProfile.

    .venv/bin/python bench/catalog.py --products 10000 --profile 200 --measure none [--only sqlite]

Run by bench/catalog.py on each database it seeds (`--profile N`; `--measure none` skips the
HTTP rows). The app is configured as deployed (CSRF and rate limits on) with the catalog cache
off (CATALOG_CACHE_SECONDS=0), so every request builds its page; a visitor without cookies asks
through the test client, half the API and half the page, the same addresses as the benchmark's
cold rows. After a few requests to warm the process, the requests are profiled; printed are
the functions with the most cumulative time, then those with the most time of their own.
"""

import cProfile
import io
import pstats
import time

from app import create_app
from bench.catalog_seed import listing_addresses, search_addresses
from config import Config

TOP = 30
WARM_UP = 20


def profile(url: str, count: int, products: int, listed: dict, top: int = TOP) -> None:
    """Profile `count` cold searches and `count` cold listings against the catalog at `url` of `products`
    products (`listed`: what it lists in stock, from bench/catalog_seed.py's seed()), and print it."""

    class Deployed(Config):
        SQLALCHEMY_DATABASE_URI = url
        SECRET_KEY = "bench-profile"
        CATALOG_CACHE_SECONDS = 0

    client = create_app(Deployed).test_client(use_cookies=False)

    def get(path):
        response = client.get(path)
        return response.status_code, response.data

    for what, addresses in (
        ("search", _alternate(search_addresses(listed, "api", 7), search_addresses(listed, "page", 8))),
        ("listing", _alternate(listing_addresses(get, "api", 9), listing_addresses(get, "page", 10))),
    ):
        for address in addresses[:WARM_UP]:
            get(address)
        chosen = [addresses[(WARM_UP + i) % len(addresses)] for i in range(count)]
        profiler = cProfile.Profile()
        started, cpu = time.perf_counter(), time.process_time()
        profiler.enable()
        for address in chosen:
            status, body = get(address)
            if status != 200:
                raise SystemExit(f"{address} answered {status}: {body[:300]!r}")
        profiler.disable()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(
            f"\nprofile of {count} cold {what} requests (API and page alternately), {products:,} products, "
            f"{url.split(':')[0]}: {wall * 1000 / count:.2f} ms wall, {cpu * 1000 / count:.2f} ms CPU a request "
            "(under the profiler)"
        )
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(top)
            print(f"-- by {order} --")
            print(out.getvalue().split("\n\n", 2)[-1].rstrip())


def _alternate(first: list[str], second: list[str]) -> list[str]:
    return [address for pair in zip(first, second) for address in pair]
