"""Page weights: the bytes of each main page's body on the wire, uncompressed, gzip and Brotli.

Run against a database with the demo loaded (`flask db upgrade && flask seed-demo`):

    DATABASE_URL=sqlite:////tmp/pasar.db PYTHONPATH=. .venv/bin/python bench/page_weights.py

It signs in as the demo buyer (who fills a cart) and the demo coordinator with the test client,
asks each page three times (Accept-Encoding: identity, gzip, br) and prints a Markdown table.
"""

import re
import sys

from app import create_app
from config import Config
from demo import DEMO_PASSWORD

BUYER = "pembeli@pasar.test"
COORDINATOR = "kub.sumberejo@pasar.test"
ENCODINGS = ("identity", "gzip", "br")


class WeighConfig(Config):
    WTF_CSRF_ENABLED = False  # the script posts the forms without reading their tokens first
    RATELIMIT_ENABLED = False
    CATALOG_CACHE_SECONDS = 0


def sign_in(app, login: str):
    client = app.test_client()
    response = client.post("/login", data={"login": login, "password": DEMO_PASSWORD})
    if response.status_code != 302:
        sys.exit(f"cannot sign in as {login}: is the demo loaded in DATABASE_URL?")
    return client


def weigh(client, path: str) -> dict[str, int]:
    """The body's length in bytes for each encoding (what the client receives, before it decompresses)."""
    sizes = {}
    for encoding in ENCODINGS:
        response = client.get(path, headers={"Accept-Encoding": encoding})
        if response.status_code != 200:
            sys.exit(f"{path}: {response.status_code}")
        got = response.headers.get("Content-Encoding", "identity")
        sizes[encoding] = len(response.get_data()) if got == encoding else -1
    return sizes


def main() -> None:
    app = create_app(WeighConfig)
    visitor = app.test_client()
    buyer = sign_in(app, BUYER)
    catalog = visitor.get("/catalog").get_data(as_text=True)
    product_path = re.search(r'href="(/products/\d+)"', catalog).group(1)
    variant_ids = re.findall(r'name="variant_id" value="(\d+)"', catalog)[:2]
    for variant_id in variant_ids:
        buyer.post("/cart/add", data={"variant_id": variant_id, "quantity": "1"})
    coordinator = sign_in(app, COORDINATOR)
    rows = [
        ("`/` (groups), visitor", visitor, "/"),
        ("`/catalog`, visitor", visitor, "/catalog"),
        (f"a product (`{product_path}`), visitor", visitor, product_path),
        ("the cart (2 lines), buyer", buyer, "/cart"),
        ("checkout, buyer", buyer, "/checkout"),
        ("coordinator's home (`/me/groups`)", coordinator, "/me/groups"),
    ]
    print("| page | uncompressed | gzip | br |")
    print("|---|--:|--:|--:|")
    for name, client, path in rows:
        sizes = weigh(client, path)
        plain = sizes["identity"]

        def cell(n, plain=plain):
            return "not compressed" if n < 0 else f"{n:,} B ({n / plain:.0%})"

        print(f"| {name} | {plain:,} B | {cell(sizes['gzip'])} | {cell(sizes['br'])} |")


if __name__ == "__main__":
    main()
