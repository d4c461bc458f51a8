"""With the cache off, a search's or listing's total is kept by the catalog's version: every change shows in it."""

from core.extensions import db
from inventory.models import Variant
from marketplace import catalog
from tests.market import body_of, placed

API = "/api/v1"
ASKED = {
    "listed": {},
    "in stock": {"in_stock": "true"},
    "a search": {"q": "a"},
    "a search in stock": {"q": "a", "in_stock": "true"},
}


def totals(client) -> dict[str, int]:
    found = {}
    for name, query in ASKED.items():
        response = client.get(f"{API}/products", query_string={**query, "per_page": 1})  # full: the total is counted
        assert response.status_code == 200, response.json
        found[name] = response.json["total"]
    return found


def test_a_kept_total_follows_every_change_to_what_is_listed(app, client, market):
    assert app.config["CATALOG_CACHE_SECONDS"] == 0
    catalog.clear_cache()
    assert totals(client) == totals(client) == {"listed": 3, "in stock": 3, "a search": 3, "a search in stock": 3}

    def patch(who, product_id, body):
        response = client.patch(f"{API}/products/{product_id}", json=body, headers=who.headers)
        assert response.status_code == 200, response.json

    with app.app_context():
        daster = db.session.get(Variant, market.daster).product_id
    patch(market.jahit_lead, daster, {"status": "hidden"})
    assert totals(client) == {"listed": 2, "in stock": 2, "a search": 2, "a search in stock": 2}
    placed(client, market.buyer, body_of((market.tomat, "10")))  # the last 10 kg: Tomat is sold out
    assert totals(client) == {"listed": 2, "in stock": 1, "a search": 2, "a search in stock": 1}
    patch(market.lead, market.cabai_product, {"name": "Cengis"})  # no longer holds an "a"
    assert totals(client) == {"listed": 2, "in stock": 1, "a search": 1, "a search in stock": 0}
