"""Form fields render no attribute whose value is None (autofocus="None" still focuses), and the intake form
focuses the first input still to fill."""

import re

import pytest

from tests.marketplace.test_marketplace_pages import page_login
from tests.pages import html

FORM_PAGES = [
    "/groups/{tani}/intake",
    "/groups/{tani}/stock",
    "/groups/{tani}/products/new",
    "/products/{product}/edit",
    "/groups/{tani}/edit",
    "/groups/{tani}/members",
    "/groups/{tani}/members/{siti}/edit",
    "/groups/{tani}/payouts",
    "/groups/{tani}/savings",
    "/groups/{tani}/work-logs",
    "/groups/{tani}/settlements",
    "/groups/{tani}/shu",
    "/groups/{tani}/revenue",
    "/groups/new",
    "/login",
    "/register",
    "/join",
]


def autofocused(body: str) -> list[str]:
    """The names of the inputs and selects that take the focus."""
    return [
        re.search(r'name="([^"]+)"', tag).group(1)
        for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", body)
        if re.search(r"\sautofocus[\s>=]", tag)
    ]


@pytest.mark.parametrize("path", FORM_PAGES)
def test_no_field_renders_an_attribute_valued_none(client, market, path):
    if path not in ("/login", "/register", "/join"):
        page_login(client, market.lead.user)
    response = client.get(
        path.format(tani=market.tani.id, product=market.cabai_product, siti=market.siti.id), follow_redirects=True
    )
    assert response.status_code == 200, path
    body = html(response)
    assert '="None"' not in body, re.findall(r'\w+="None"', body)
    assert len(autofocused(body)) <= 1


def test_the_intake_form_starts_at_the_member_then_keeps_member_and_product_and_starts_at_the_quantity(client, market):
    page_login(client, market.lead.user)
    fresh = html(client.get(f"/groups/{market.tani.id}/intake"))
    assert autofocused(fresh) == ["member_id"]
    chosen = html(client.get(f"/groups/{market.tani.id}/intake?member_id={market.siti.id}"))
    assert autofocused(chosen) == ["variant_id"]
    again = html(client.get(f"/groups/{market.tani.id}/intake?member_id={market.siti.id}&variant_id={market.cabai_a}"))
    assert autofocused(again) == ["quantity"]
    assert re.search(
        r'name="quantity"[^>]*placeholder="misalnya 2,5"|placeholder="misalnya 2,5"[^>]*name="quantity"', again
    )


def test_a_refused_intake_focuses_nothing_but_marks_the_field(client, market):
    page_login(client, market.lead.user)
    form = {"member_id": str(market.siti.id), "variant_id": str(market.cabai_a), "quantity": "banyak", "unit": ""}
    body = html(client.post(f"/groups/{market.tani.id}/intake", data=form))
    assert autofocused(body) == []
    assert re.search(r'aria-invalid="true"[^>]*name="quantity"|name="quantity"[^>]*aria-invalid="true"', body)
