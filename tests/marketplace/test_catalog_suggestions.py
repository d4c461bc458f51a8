"""A catalog search that finds nothing offers the catalog's nearest names, each a link that runs that search."""

from markupsafe import escape

from tests.factories import make_group
from tests.market import actor, create_product
from tests.pages import html, t


def test_a_word_too_far_to_be_a_typo_offers_cabai_rawit_as_a_search_link(app, client, market):
    page = html(client.get("/catalog?q=kabaii"))
    assert t(app, "No products found. Try another word or fewer filters.") in page
    assert "Mungkin maksud Anda:" in page
    assert '<a class="tap" href="/catalog?q=Cabai+rawit">Cabai rawit</a>' in page
    assert "Daster batik" not in page[page.index('id="suggestions"') :]
    found = html(client.get("/catalog?q=Cabai+rawit"))
    assert 'id="suggestions"' not in found and "Cabai rawit" in found


def test_a_search_near_no_name_offers_nothing(app, client, market):
    page = html(client.get("/catalog?q=zzzz"))
    assert t(app, "No products found. Try another word or fewer filters.") in page
    assert 'id="suggestions"' not in page


def test_an_unverified_groups_names_are_not_suggested(app, client, market):
    lead = actor(app, name="Pak Wiryo")
    group = make_group(app, lead.user, name="Poktan Menunggu", verified=False)
    create_product(client, group, lead.headers, name="Cabe keriting", kind="produce", unit="kg", unit_price=30000)
    page = html(client.get("/catalog?q=kabaii"))
    assert "Cabai rawit" in page and str(escape("Cabe keriting")) not in page


def test_the_api_names_the_nearest_names_only_when_a_search_finds_nothing(app, client, market):
    missed = client.get("/api/v1/products", query_string={"q": "kabaii"})
    assert missed.status_code == 200 and missed.json["items"] == [] and missed.json["total"] == 0
    assert missed.json["suggestions"] == ["Cabai rawit"]
    found = client.get("/api/v1/products", query_string={"q": "cabe"})
    assert [item["name"] for item in found.json["items"]] == ["Cabai rawit"]
    assert "suggestions" not in found.json
    assert client.get("/api/v1/products", query_string={"q": "zzzz"}).json["suggestions"] == []
