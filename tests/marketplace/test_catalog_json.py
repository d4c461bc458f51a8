"""The catalog API's answer is written out field by field (marketplace.schemas.catalog_page_out) for speed: it must
be what the documented schema (ProductPage) dumps, for every page the catalog can build."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from groups.models import Group
from inventory import services as inv
from marketplace.catalog import catalog_page
from marketplace.catalog_api import _catalog_json
from marketplace.schemas import ProductPage, catalog_page_out
from tests.factories import make_group, make_member, make_user
from tests.stock_helpers import acting

texts = st.text(max_size=20)
moments = st.one_of(
    st.none(),
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1)),
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)),
)
quantities = st.decimals(min_value=Decimal("-1000"), max_value=Decimal("100000"), places=3, allow_nan=False)
variants = st.fixed_dictionaries(
    {
        "id": st.integers(1, 10**9),
        "product_id": st.integers(1, 10**9),
        "label": texts,
        "unit_price": st.integers(0, 10**9),
        "active": st.just(True),
        "available": quantities,
    }
)
groups = st.fixed_dictionaries(
    {
        "id": st.integers(1, 10**9),
        "name": texts,
        "village": texts,
        "district": texts,
        "verified": st.booleans(),
    }
)
photos = st.one_of(st.none(), st.just("/media/products/ab12.webp"))
cards = st.fixed_dictionaries(
    {
        "id": st.integers(1, 10**9),
        "name": texts,
        "kind": st.sampled_from(["produce", "processed", "garment"]),
        "unit": texts,
        "description": st.one_of(st.none(), texts),
        "status": st.just("active"),
        "group_id": st.integers(1, 10**9),
        "group": groups,
        "photo_url": photos,
        "thumb_url": photos,
        "variants": st.lists(variants, max_size=4),
        "min_price": st.one_of(st.none(), st.integers(0, 10**9)),
        "created_at": moments,
        "updated_at": moments,
    }
)
pages = st.fixed_dictionaries(
    {
        "items": st.lists(cards, max_size=5),
        "page": st.integers(1, 1000),
        "per_page": st.integers(1, 100),
        "total": st.integers(0, 10**6),
    },
    optional={"suggestions": st.lists(texts, max_size=5)},
)


@settings(max_examples=300, deadline=None)
@given(pages)
def test_the_written_out_answer_is_the_schemas_dump(page):
    assert catalog_page_out(page) == ProductPage().dump(page)


@settings(max_examples=200, deadline=None)
@given(pages)
def test_the_answers_bytes_are_the_json_jsonify_would_write(app, page):
    with app.test_request_context("/api/v1/products"):
        written = _catalog_json(page)
        assert json.loads(written) == json.loads(app.json.dumps(ProductPage().dump(page)))
    assert written.endswith(b"\n")


def test_the_catalogs_own_pages_dump_the_same(app, client, db):
    lead = make_user(app)
    group = make_group(app, lead, name="KUB Batik Sekar", village="Kemirigede")
    member = make_member(app, group, name="Sumiati")
    with acting(app, lead) as signed_in:
        the_group = db.session.get(Group, group.id)
        for n, quantity in enumerate(["2.5", "0.125", None]):
            product = inv.create_product(
                signed_in,
                the_group,
                name=f"Kain batik {n}",
                kind="garment",
                unit="pcs" if quantity is None else "kg",
                description=None if n else "Tulis halus",
                variants=[{"label": "M", "unit_price": 12500}, {"label": "L", "unit_price": 13000}],
            )
            if quantity:
                inv.receive_contribution(
                    signed_in, the_group, variant_id=product.variants[0].id, member_id=member.id, quantity=quantity
                )
            db.session.commit()
    for args in ({}, {"q": "batik", "sort": "price_asc"}, {"q": "tidak ada"}, {"in_stock": True, "per_page": 1}):
        with app.test_request_context("/api/v1/products"):
            page = catalog_page(**args)
            assert catalog_page_out(page) == ProductPage().dump(page), args
    answer = client.get("/api/v1/products?q=batik&sort=name").json
    assert [item["name"] for item in answer["items"]] == ["Kain batik 0", "Kain batik 1", "Kain batik 2"]
    assert answer["items"][0]["variants"][0]["available"] == "2.5"
    assert answer["items"][1]["description"] is None
    later = datetime.fromisoformat(answer["items"][0]["created_at"])
    assert abs(later.replace(tzinfo=later.tzinfo or UTC) - datetime.now(UTC)) < timedelta(hours=1)
