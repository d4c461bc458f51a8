"""A price caps at MAX_UNIT_PRICE (Rp1.000.000.000 a unit) on every way in: a product or variant made or changed
through the API or the pages is refused with a 422 naming the field, and nothing changes."""

import pytest

from core.money import MAX_UNIT_PRICE
from tests.factories import assert_error, login
from tests.inventory.api_world import (  # noqa: F401 (fixtures; media_dir is autouse)
    API,
    create_product,
    media_dir,
    product_body,
    snapshot,
    world,
)
from tests.pages import html, t

ABOVE = [MAX_UNIT_PRICE + 1, str(MAX_UNIT_PRICE + 1), "Rp1.000.000.001", 10**13, 10**15, "1" + "0" * 18]


def at_most(app) -> str:
    return t(app, "At most %(amount)s.", locale="en", raw=True, amount="Rp1.000.000.000")


def test_a_price_at_the_ceiling_is_accepted(client, world):
    body = create_product(client, world.group, world.lead.headers, variants=None, unit_price=MAX_UNIT_PRICE)
    assert body["variants"][0]["unit_price"] == MAX_UNIT_PRICE


@pytest.mark.parametrize("price", ABOVE)
def test_a_price_above_the_ceiling_is_422_on_create_and_changes_nothing(app, client, world, price):
    before = snapshot(app)
    in_variant = client.post(
        f"{API}/groups/{world.group.id}/products",
        headers={**world.lead.headers, "Accept-Language": "en"},
        json=product_body(variants=[{"label": "A", "unit_price": 1000}, {"label": "B", "unit_price": price}]),
    )
    default = client.post(
        f"{API}/groups/{world.group.id}/products",
        headers={**world.lead.headers, "Accept-Language": "en"},
        json=product_body(variants=None, unit_price=price),
    )
    assert assert_error(in_variant, 422, "variants.1.unit_price")["errors"]["variants.1.unit_price"] == [at_most(app)]
    assert assert_error(default, 422, "unit_price")["errors"]["unit_price"] == [at_most(app)]
    assert snapshot(app) == before


@pytest.mark.parametrize("price", [MAX_UNIT_PRICE + 1, 10**15])
def test_a_price_above_the_ceiling_is_422_on_every_change_and_changes_nothing(app, client, world, price):
    single = create_product(client, world.group, world.lead.headers, variants=None, unit_price=5000)
    several = create_product(client, world.group, world.lead.headers)
    before = snapshot(app)
    headers = world.lead.headers
    refused = [
        (client.patch(f"{API}/products/{single['id']}", headers=headers, json={"unit_price": price}), "unit_price"),
        (
            client.post(
                f"{API}/products/{several['id']}/variants", headers=headers, json={"label": "C", "unit_price": price}
            ),
            "unit_price",
        ),
        (
            client.patch(f"{API}/variants/{several['variants'][0]['id']}", headers=headers, json={"unit_price": price}),
            "unit_price",
        ),
    ]
    for response, field in refused:
        assert_error(response, 422, field)
    assert snapshot(app) == before


def test_the_product_page_refuses_a_price_above_the_ceiling_beside_its_row(app, client, world):
    login(client, world.lead.user)
    before = snapshot(app)
    response = client.post(
        f"/groups/{world.group.id}/products/new",
        data={
            "name": "Emas",
            "kind": "processed",
            "unit": "pcs",
            "variants-0-label": "A",
            "variants-0-unit_price": "1.000.000.001",
        },
    )
    assert response.status_code == 200
    assert t(app, "At most %(amount)s.", amount="Rp1.000.000.000") in html(response)
    assert snapshot(app) == before
