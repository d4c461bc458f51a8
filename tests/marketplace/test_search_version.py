"""Every write that changes what the catalog shows moves the catalog's version on, in its own transaction, and
the listing follows it; a quantity that stays above zero moves nothing."""

import pytest
from sqlalchemy import text, update

from core.extensions import db
from groups.models import Group
from groups.verification import set_group_verified
from inventory import services as inv
from inventory.models import Product, Stock, Variant
from marketplace.listing import CatalogListing
from tests.market import API, body_of, moved, placed
from tests.stock_helpers import acting


@pytest.fixture
def version(app, market):
    """The catalog's version as committed (the test wipe keeps its row)."""

    def read() -> int:
        with app.app_context():
            return db.session.execute(text("SELECT version FROM catalog_versions WHERE id = 1")).scalar()

    return read


def listing_of(app, product_id):
    with app.app_context():
        row = db.session.get(CatalogListing, product_id)
        return None if row is None else (row.min_price, bool(row.in_stock), row.search_text)


def write(app, market, change, user=None):
    """`change(actor)` made and committed as a coordinator (or `user`) would."""
    with acting(app, user or market.lead.user) as actor:
        change(actor)
        db.session.commit()


def product(market):
    return db.session.get(Product, market.cabai_product)


WRITES = {
    "rename": lambda m: lambda a: inv.update_product(a, product(m), name="Cabai rawit merah"),
    "description": lambda m: lambda a: inv.update_product(a, product(m), description="Pedas"),
    "hide": lambda m: lambda a: inv.update_product(a, product(m), status="hidden"),
    "kind": lambda m: lambda a: inv.update_product(a, product(m), kind="processed"),
    "price": lambda m: lambda a: inv.update_variant(a, db.session.get(Variant, m.cabai_b), unit_price=1000),
    "variant off": lambda m: lambda a: inv.update_variant(a, db.session.get(Variant, m.cabai_b), active=False),
    "variant label": lambda m: lambda a: inv.update_variant(a, db.session.get(Variant, m.cabai_b), label="Super"),
    "new variant": lambda m: lambda a: inv.add_variant(a, product(m), label="Grade C", unit_price=20000),
}


@pytest.mark.parametrize("kind", list(WRITES))
def test_a_write_to_what_a_card_shows_moves_the_version_on(app, market, version, kind):
    before = version()
    write(app, market, WRITES[kind](market))
    assert version() > before


def test_a_price_change_reaches_the_listing_and_the_catalog(app, client, market, version):
    write(app, market, WRITES["price"](market))
    assert listing_of(app, market.cabai_product)[0] == 1000
    [card] = client.get(f"{API}/products", query_string={"q": "rawit"}).json["items"]
    assert min(v["unit_price"] for v in card["variants"]) == 1000
    assert [c["name"] for c in client.get(f"{API}/products?sort=price_asc").json["items"]][0] == "Cabai rawit"


def test_hiding_a_product_takes_it_out_of_the_search_at_once(app, client, market, version):
    assert [c["name"] for c in client.get(f"{API}/products?q=cabai").json["items"]] == ["Cabai rawit"]
    before = version()
    write(app, market, WRITES["hide"](market))
    assert version() > before and listing_of(app, market.cabai_product) is None
    body = client.get(f"{API}/products?q=cabai").json
    assert (body["items"], body["total"]) == ([], 0)


def test_a_group_losing_verification_leaves_the_catalog_and_moves_the_version(app, client, market, version):
    before = version()
    write(app, market, lambda a: set_group_verified(a, db.session.get(Group, market.tani.id), False), market.admin.user)
    assert version() > before and listing_of(app, market.cabai_product) is None
    assert [c["name"] for c in client.get(f"{API}/products").json["items"]] == ["Daster batik"]
    again = version()
    write(app, market, lambda a: set_group_verified(a, db.session.get(Group, market.tani.id), True), market.admin.user)
    assert version() > again and listing_of(app, market.cabai_product) is not None


def test_a_group_moving_village_moves_its_rows_and_the_version(app, client, market, version):
    before = version()
    with app.app_context():
        db.session.get(Group, market.tani.id).village = "Kalipucung"
        db.session.commit()
    assert version() > before
    names = [c["name"] for c in client.get(f"{API}/products?village=kalipucung&sort=name").json["items"]]
    assert names == ["Cabai rawit", "Tomat"]


def test_stock_crossing_zero_by_checkout_and_by_cancel_moves_the_version(app, client, market, version):
    before = version()
    checkout = placed(client, market.buyer, body_of((market.daster, "3")))  # all three: sold out
    assert version() > before
    daster = db_product_of(app, market.daster)
    assert listing_of(app, daster)[1] is False
    assert client.get(f"{API}/products?in_stock=true&kind=garment").json["total"] == 0
    sold_out = version()
    moved(client, checkout["orders"][0]["id"], "cancel", market.buyer, reason="Salah pesan")
    assert version() > sold_out and listing_of(app, daster)[1] is True
    assert client.get(f"{API}/products?in_stock=true&kind=garment").json["total"] == 1


def test_a_quantity_that_stays_above_zero_moves_nothing(app, client, market, version):
    before = version()
    placed(client, market.buyer, body_of((market.tomat, "1")))  # 10 kg, 9 left
    with app.app_context():
        db.session.execute(update(Stock).where(Stock.variant_id == market.tomat).values(on_hand=Stock.on_hand + 5000))
        db.session.commit()
    write(app, market, lambda a: inv.update_variant(a, db.session.get(Variant, market.tomat), low_stock_threshold="2"))
    assert version() == before


def test_a_write_rolled_back_moves_nothing(app, market, version):
    before = version()
    with acting(app, market.lead.user) as actor:
        WRITES["hide"](market)(actor)
        db.session.flush()
        db.session.rollback()
    assert version() == before and listing_of(app, market.cabai_product) is not None


def db_product_of(app, variant_id) -> int:
    with app.app_context():
        return db.session.get(Variant, variant_id).product_id
