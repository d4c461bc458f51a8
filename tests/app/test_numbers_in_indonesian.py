"""Pages in Indonesian show quantities with a decimal comma (1,5 kg beside Rp45.000) and days as "6 Des 2026",
never as ISO dates; in English a quantity has a decimal point."""

import re
from types import SimpleNamespace

import pytest

from tests.market import body_of, contribute, create_product, moved, placed, sold
from tests.marketplace.test_marketplace_pages import page_login
from tests.pages import html

ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def visible_text(body: str) -> str:
    """What a reader sees: no tags (so no attribute values such as an input's ISO value), no style."""
    body = re.sub(r"<style.*?</style>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


@pytest.fixture
def world(app, client, market, make_client):
    """The plain member (who has an account) gave 3,5 kg of aubergine; the buyer bought 1,5 kg of it (completed)
    and has an order of 1,5 kg of chilli packed for pickup and 0,5 kg of tomatoes in the cart."""
    terong = create_product(
        client, market.tani, market.lead.headers, name="Terong ungu", kind="produce", unit="kg", unit_price=7500
    )["variants"][0]["id"]
    contribute(client, market.tani, market.lead.headers, terong, SimpleNamespace(id=market.plain.member_id), "3.5")
    sold(client, market.buyer, market.lead, (terong, "1.5"))
    [order] = placed(client, market.buyer, body_of((market.cabai_a, "1.5")))["orders"]
    moved(client, order["id"], "confirm", market.lead)
    moved(client, order["id"], "ready", market.lead)

    def browser(who):
        signed = make_client()
        page_login(signed, who.user)
        return signed

    buyer = browser(market.buyer)
    buyer.post("/cart/add", data={"variant_id": str(market.tomat), "quantity": "0,5"})
    return SimpleNamespace(
        order=order["id"], terong=terong, buyer=buyer, lead=browser(market.lead), member=browser(market.plain)
    )


def pages(market, world) -> list[tuple[object, str, list[str]]]:
    """(who, page, quantities it must show with a comma)."""
    tani = market.tani.id
    return [
        (world.buyer, "/cart", ["0,5 kg"]),
        (world.buyer, "/checkout", ["0,5 kg"]),
        (world.buyer, f"/orders/{world.order}", ["1,5 kg"]),
        (world.buyer, "/catalog", ["tersedia 2 kg"]),
        (world.lead, f"/groups/{tani}/orders", ["1,5 kg"]),
        (world.lead, f"/groups/{tani}/packing", ["1,5 kg"]),
        (world.lead, f"/groups/{tani}/stock", ["2 kg"]),
        (world.lead, f"/groups/{tani}/movements", ["-1,5", "+3,5"]),
        (world.lead, f"/groups/{tani}/dashboard", []),
        (world.lead, f"/groups/{tani}/revenue", ["1,5 kg"]),
        (world.lead, f"/groups/{tani}/members/{market.plain.member_id}/statement", ["1,5 kg"]),
        (world.lead, f"/groups/{tani}/members/{market.plain.member_id}/statement?print=1", ["1,5 kg"]),
        (world.member, "/me/contributions", ["3,5", "1,5"]),
        (world.member, "/me/earnings", ["3,5 kg", "1,5 kg"]),
    ]


def test_every_page_in_indonesian_shows_decimal_commas_and_no_iso_dates(market, world):
    for who, path, quantities in pages(market, world):
        response = who.get(path)
        assert response.status_code == 200, path
        text = visible_text(html(response))
        assert not ISO_DAY.search(text), (path, ISO_DAY.search(text).group(0))
        for quantity in quantities:
            assert quantity in text, (path, quantity)
        for wrong in ("0.5 kg", "1.5 kg", "3.5 kg", "-1.5", "+3.5"):
            assert wrong not in text, (path, wrong)


def test_in_english_the_same_pages_use_a_decimal_point(market, world):
    for who in (world.buyer, world.lead, world.member):
        assert who.get("/lang/en").status_code == 302
    for who, path, quantities in pages(market, world):
        text = visible_text(html(who.get(path)))
        assert not ISO_DAY.search(text), path
        for quantity in quantities:
            if "," in quantity and "tersedia" not in quantity:
                assert quantity.replace(",", ".") in text, (path, quantity)


def test_the_cart_keeps_a_typed_decimal_comma_in_its_input(world):
    body = html(world.buyer.get("/cart"))
    assert re.search(r'name="quantity" value="0,5"', body)


def test_flash_messages_name_quantities_with_a_comma(market, world):
    response = world.buyer.post("/cart/add", data={"variant_id": str(market.tomat), "quantity": "1.25"})
    assert response.status_code == 302
    body = html(world.buyer.get("/cart"))
    assert "1,75 kg Tomat" in visible_text(body)  # 0,5 + 1,25 in the cart
