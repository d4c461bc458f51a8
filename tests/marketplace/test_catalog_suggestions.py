"""A catalog search that finds nothing offers the catalog's nearest names, each a link that runs that search."""

from difflib import SequenceMatcher
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape

from marketplace import suggestions
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


def test_kept_nearest_names_follow_every_change_to_the_names(app, client, market):
    def suggested():
        return client.get("/api/v1/products", query_string={"q": "kabaii"}).json["suggestions"]

    assert suggested() == ["Cabai rawit"]
    create_product(
        client, market.tani, market.lead.headers, name="Cabai besar", kind="produce", unit="kg", unit_price=20000
    )
    assert suggested() == ["Cabai besar", "Cabai rawit"]
    hidden = client.patch(
        f"/api/v1/products/{market.cabai_product}", json={"status": "hidden"}, headers=market.lead.headers
    )
    assert hidden.status_code == 200
    assert suggested() == ["Cabai besar"]


@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(st.text("abcikrt", min_size=1, max_size=7), min_size=1, max_size=3),
    names=st.lists(st.lists(st.text("abcikrt ", min_size=1, max_size=7), min_size=1, max_size=4), max_size=12),
)
def test_a_name_scores_the_mean_of_each_words_best_ratio(words, names):
    names = [" ".join(parts) for parts in names if " ".join(parts).strip()]

    def score(name):  # the definition, word against word
        parts = name.split()
        return sum(max(SequenceMatcher(None, w, p).ratio() for p in parts) for w in words) / len(words)

    ranked = sorted((-score(n), n.lower(), n) for n in dict.fromkeys(names) if score(n) >= suggestions.CUTOFF)
    with patch.object(suggestions, "_names", lambda asked: list(dict.fromkeys(names))):
        assert suggestions._nearest(words) == tuple(n for _s, _k, n in ranked[: suggestions.SHOWN])
