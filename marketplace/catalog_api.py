"""The public product API: the catalog (`GET /products`) and one product (`GET /products/{id}`).

Its routes are on marketplace's API blueprint (marketplace.api.blp), so paths and
operations are as they were; one product keeps the tag of the products and stock
API, beside the coordinator's product endpoints in inventory.api. Catalog pages are
built and kept a few seconds in marketplace.catalog.
"""

import orjson
from flask import current_app, request
from flask_login import current_user

from groups.services import get_group_or_404
from inventory import services as stock
from inventory.api import blp as inventory_blp
from inventory.api import product_view
from inventory.schemas import ProductOut
from marketplace.api import blp
from marketplace.catalog import CacheFreshness, cached_rendering
from marketplace.catalog_cache import LruCache
from marketplace.schemas import CatalogQuery, ProductPage, catalog_page_out


@blp.route("/products", methods=["GET"])
@blp.arguments(CatalogQuery(), location="query")  # an instance: webargs would build one per request from a class
@blp.response(200, ProductPage)
def list_products(args):
    """The public catalog: active products with their active variants and what is available.

    `q` matches every word in the name, whatever the case and accents, or another
    spelling of it ("cabe" finds "cabai"), or a word near a mistyped one; `sort` is
    `name` (the default), `newest`, `price_asc` or `price_desc` (by the lowest
    variant price), or `relevance` (the closest matches first). Availability may be
    up to CATALOG_CACHE_SECONDS old; checkout always checks the live stock.
    """
    # The JSON is kept with the cached page: a kept page is answered without serializing it again.
    current = CacheFreshness()
    body = cached_rendering(_catalog_json, **args, current=current)
    if current:
        _response_cache.put({(request.script_root, request.query_string): (current, body)})
    return current_app.response_class(body, mimetype="application/json")


# A catalog page's answer, whole, by the address it was asked by (photo URLs follow the script root), while
# the pages it shows are current (marketplace.catalog.CacheFreshness): asked again, it is answered before the query
# is parsed again. The answer is the same for everyone (a bad token is refused before this, by
# core._check_bearer).
RESPONSE_CACHE_SIZE = 256
_response_cache = LruCache(RESPONSE_CACHE_SIZE)


@blp.before_request
def _cached_catalog_response():
    if request.endpoint == "marketplace_api.list_products":
        [kept] = _response_cache.get([(request.script_root, request.query_string)])
        if kept is not None and kept[0]:
            return current_app.response_class(kept[1], mimetype="application/json")
    return None


def _catalog_json(page: dict) -> bytes:
    """A catalog page as @blp.response would answer it: as the documented schema dumps it
    (marketplace.schemas.catalog_page_out), then its JSON with the keys sorted, as jsonify writes it. Written by
    orjson: a listing of 50 cards took Python's encoder about 0.5 ms, a tenth of a cold request (bench/README.md);
    text stays UTF-8 rather than \\u escapes, the same JSON."""
    return orjson.dumps(catalog_page_out(page), option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)


@blp.route("/products/<int:product_id>", methods=["GET"], tags=[inventory_blp.name])
@blp.response(200, ProductOut)
def get_product(product_id):
    """One product: public while active; hidden and archived ones only for the group's coordinator and treasurer."""
    product, manager = stock.get_visible_product(current_user, product_id)
    return product_view(product, get_group_or_404(product.group_id), manager)
