"""The public product API: the catalog (GET /products) and one product (GET /products/{id}) of two groups."""

import pytest

from tests.factories import assert_error
from tests.inventory.api_world import API, contributed, create_product, headers_of, media_dir, reserve, world  # noqa: F401 (fixtures; media_dir is autouse)

# --- the catalog ------------------------------------------------------------------------------------


@pytest.fixture
def catalog(app, client, world):
    """Products of two groups: some in stock, one hidden, one archived, one with its only variant inactive."""
    lead, other = world.lead.headers, world.other_lead.headers
    made = {}
    for group, headers, name, kind in [
        (world.group, lead, "Cabai rawit", "produce"),
        (world.group, lead, "Keripik tempe", "processed"),
        (world.group, lead, "Kemeja batik", "garment"),
        (world.other_group, other, "Cabai merah besar", "produce"),
        (world.other_group, other, "Gula 100% aren", "processed"),
        (world.group, lead, "Sayur disembunyikan", "produce"),
        (world.group, lead, "Sayur lama", "produce"),
        (world.group, lead, "Tomat tanpa varian", "produce"),
    ]:
        made[name] = create_product(client, group, headers, name=name, kind=kind, variants=None, unit_price=10000)
    contributed(client, world.group, lead, made["Cabai rawit"]["variants"][0]["id"], world.siti.id, "2")
    contributed(
        client, world.other_group, other, made["Gula 100% aren"]["variants"][0]["id"], world.other_member.id, "1"
    )
    for name, status in (("Sayur disembunyikan", "hidden"), ("Sayur lama", "archived")):
        assert (
            client.patch(f"{API}/products/{made[name]['id']}", json={"status": status}, headers=lead).status_code == 200
        )
    assert (
        client.patch(
            f"{API}/variants/{made['Tomat tanpa varian']['variants'][0]['id']}", json={"active": False}, headers=lead
        ).status_code
        == 200
    )
    return made


def names(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [p["name"] for p in response.json["items"]]


def test_catalog_lists_active_products_by_name_with_group_and_available(app, client, world, catalog):
    response = client.get(f"{API}/products")

    assert names(response) == ["Cabai merah besar", "Cabai rawit", "Gula 100% aren", "Kemeja batik", "Keripik tempe"]
    body = response.json
    assert (body["total"], body["page"], body["per_page"]) == (5, 1, 50)
    rawit = next(p for p in body["items"] if p["name"] == "Cabai rawit")
    assert rawit["group"] == {"id": world.group.id, "name": "KUB Tani Makmur", "village": "Sumberejo", "verified": True}
    [variant] = rawit["variants"]
    assert variant["available"] == "2" and variant["unit_price"] == 10000
    assert not {"on_hand", "reserved", "low_stock_threshold"} & set(variant)  # the group's business


def test_catalog_shows_only_active_variants(app, client, world, catalog):
    rawit = catalog["Cabai rawit"]
    assert (
        client.post(
            f"{API}/products/{rawit['id']}/variants",
            json={"label": "Grade B", "unit_price": 8000},
            headers=world.lead.headers,
        ).status_code
        == 201
    )
    assert (
        client.patch(
            f"{API}/variants/{rawit['variants'][0]['id']}", json={"active": False}, headers=world.lead.headers
        ).status_code
        == 200
    )

    [listed] = list(client.get(f"{API}/products?q=rawit").json["items"])

    assert [v["label"] for v in listed["variants"]] == ["Grade B"]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("q=CABAI", ["Cabai merah besar", "Cabai rawit"]),
        ("q=100%25", ["Gula 100% aren"]),  # % is searched for, not a wildcard
        ("q=_", []),
        ("kind=garment", ["Kemeja batik"]),
        ("in_stock=true", ["Cabai rawit", "Gula 100% aren"]),
        ("village=kalipucung", ["Cabai merah besar", "Gula 100% aren"]),
        ("q=cabai&in_stock=true", ["Cabai rawit"]),
    ],
)
def test_catalog_filters(app, client, world, catalog, query, expected):
    assert names(client.get(f"{API}/products?{query}")) == expected


def test_catalog_filters_by_group_and_pages_through(app, client, world, catalog):
    assert names(client.get(f"{API}/products?group_id={world.other_group.id}")) == [
        "Cabai merah besar",
        "Gula 100% aren",
    ]
    second = client.get(f"{API}/products?per_page=2&page=2")
    assert names(second) == ["Gula 100% aren", "Kemeja batik"]
    assert second.json["total"] == 5
    assert names(client.get(f"{API}/products?per_page=2&page=4")) == []


def test_catalog_in_stock_leaves_out_what_orders_hold(app, client, world, catalog):
    reserve(app, catalog["Cabai rawit"]["variants"][0]["id"], "2")

    assert names(client.get(f"{API}/products?in_stock=true")) == ["Gula 100% aren"]
    assert client.get(f"{API}/products?q=rawit").json["items"][0]["variants"][0]["available"] == "0"


@pytest.mark.parametrize(
    "query, field",
    [
        ("kind=shop", "kind"),
        ("per_page=101", "per_page"),
        ("page=0", "page"),
        ("group_id=abc", "group_id"),
        ("group_id=2147483648", "group_id"),
        ("in_stock=maybe", "in_stock"),
        ("q=" + "x" * 121, "q"),
        ("q=cabai%00", "q"),
        ("village=%1b", "village"),
    ],
)
def test_catalog_refuses_bad_query_with_422(app, client, world, catalog, query, field):
    assert_error(client.get(f"{API}/products?{query}"), 422, field)


def test_hidden_and_archived_products_leave_the_catalog_and_are_404_to_the_public(app, client, world, catalog):
    for name in ("Sayur disembunyikan", "Sayur lama"):
        product_id = catalog[name]["id"]
        for who in ("anonymous", "buyer", "member", "other_coordinator", "admin"):
            assert_error(client.get(f"{API}/products/{product_id}", headers=headers_of(world, who)), 404)
        for who in ("coordinator", "treasurer"):
            response = client.get(f"{API}/products/{product_id}", headers=headers_of(world, who))
            assert response.status_code == 200, (who, response.json)
            assert "on_hand" in response.json["variants"][0]


def test_product_page_is_public_and_shows_counters_only_to_its_managers(app, client, world, catalog):
    product_id = catalog["Cabai rawit"]["id"]

    public = client.get(f"{API}/products/{product_id}")
    own = client.get(f"{API}/products/{product_id}", headers=world.lead.headers)

    assert public.status_code == 200
    assert public.json["variants"][0]["available"] == "2"
    assert "on_hand" not in public.json["variants"][0]
    assert own.json["variants"][0]["on_hand"] == "2"
    for product_id in ("999999", "0", "2147483648", "99999999999999999999"):
        assert_error(client.get(f"{API}/products/{product_id}"), 404)
