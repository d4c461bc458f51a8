"""Search that forgives spelling: other spellings from marketplace/spelling.txt, mistakes, and the relevance order."""

import os

import pytest

from core.extensions import db
from groups.models import Group
from inventory import services as inv
from inventory.models import Product
from marketplace import catalog, catalog_version, search
from tests.factories import make_group, make_user
from tests.stock_helpers import acting

API = "/api/v1"


def listed(app, *names_and_kinds) -> dict[str, int]:
    """Products of one verified group, each with one priced variant; ids by name."""
    lead = make_user(app)
    group = make_group(app, lead, name="KUB Sumber Makmur", village="Sumberejo")
    ids = {}
    for name in names_and_kinds:
        with acting(app, lead) as signed_in:
            product = inv.create_product(
                signed_in, db.session.get(Group, group.id), name=name, kind="produce", unit="kg", unit_price=10000
            )
            db.session.commit()
            ids[name] = product.id
    return ids


def found(client, q, sort="relevance") -> list[str]:
    response = client.get(f"{API}/products", query_string={"q": q, "sort": sort})
    assert response.status_code == 200, response.json
    return [item["name"] for item in response.json["items"]]


@pytest.mark.parametrize(
    "name, q",
    [
        ("Cabai rawit", "cabe"),
        ("Cabe keriting", "cabai"),
        ("Lombok ijo", "cabai"),
        ("Belimbing manis", "blimbing"),
        ("Blimbing wuluh", "belimbing"),
        ("Tomat merah", "tomato"),
        ("Tomato cherry", "tomat"),
        ("Bawang merah Nganjuk", "brambang"),
        ("Brambang super", "bawang merah"),
        ("Telur ayam kampung", "telor"),
        ("Telor asin", "telur"),
        ("Kaus batik", "kaos"),
        ("Kaos oblong", "kaus"),
        ("Celana panjang", "clana"),
        ("Sarung tenun", "sarong"),
        ("Beras merah", "uwos"),
        ("Jilbab segi empat", "kerudung"),
    ],
)
def test_a_common_spelling_finds_its_product(app, client, db, name, q):
    listed(app, name, "Daster batik")
    assert found(client, q) == [name]


@pytest.mark.parametrize(
    "name, q",
    [
        ("Kangkung", "kangkug"),  # a letter left out
        ("Tomat", "tomta"),  # two letters swapped
        ("Belimbing", "belimbimg"),  # a letter mistyped
        ("Semangka", "semagkaa"),  # two edits in a long word
        ("Cabai rawit", "cabai rawti"),  # in the second word
    ],
)
def test_a_mistyped_word_finds_the_product(app, client, db, name, q):
    listed(app, name, "Daster batik")
    assert found(client, q) == [name]


def test_near_words_follow_the_names_the_catalog_lists(app, client, db):
    lead = make_user(app)
    group_id = make_group(app, lead, name="KUB Sumber Makmur").id
    with acting(app, lead) as signed_in:
        group = db.session.get(Group, group_id)
        inv.create_product(signed_in, group, name="Daster batik", kind="garment", unit="pcs", unit_price=85000)
        product_id = inv.create_product(
            signed_in, group, name="Terong ungu", kind="produce", unit="kg", unit_price=9000
        ).id
        db.session.commit()
    assert found(client, "tomta") == []

    def rename(name):
        with acting(app, lead) as signed_in:
            inv.update_product(signed_in, db.session.get(Product, product_id), name=name)
            db.session.commit()

    rename("Tomat merah")
    assert found(client, "tomta") == ["Tomat merah"]
    assert found(client, "tomta merah") == ["Tomat merah"]  # another search of the same word
    rename("Terong ungu")
    assert found(client, "tomta") == [] and found(client, "tomta ungu") == []


def test_a_word_in_most_names_is_tested_on_what_the_other_words_find(app, client, db):
    listed(app, "Kaos produk 101", "Kaos produk 102", "Kaos produk 203", "Daster produk 104", "Sarung tenun")
    with app.test_request_context():
        version = (app.config["SQLALCHEMY_DATABASE_URI"], catalog_version.catalog_version())
        assert [term.common for term in search.search_terms("produk 101", version)] == [True, False]
        assert [term.common for term in search.search_terms("daster produk", version)] == [False, True]
        assert [term.common for term in search.search_terms("produk", version)] == [False]  # nothing else to look up
    assert found(client, "produk 101", "name") == ["Kaos produk 101"]
    assert found(client, "daster produk", "name") == ["Daster produk 104"]
    assert found(client, "kaos produk", "name") == ["Kaos produk 101", "Kaos produk 102", "Kaos produk 203"]
    assert found(client, "produk 10", "name") == ["Daster produk 104", "Kaos produk 101", "Kaos produk 102"]
    assert found(client, "produk 20", "relevance") == ["Kaos produk 203"]


def test_a_short_or_numbered_word_is_never_taken_for_a_mistake(app, client, db):
    listed(app, "Kopi 250 g", "Kopi 260 g", "Gula")
    assert found(client, "kopi 250") == ["Kopi 250 g"]
    assert found(client, "gla") == []  # one edit from "gula", but too short to be guessed at
    assert found(client, "gulu") == ["Gula"]  # four letters: a mistake
    assert found(client, "gu") == ["Gula"]  # short words are found inside names, as ever


def test_relevance_puts_whole_words_first_then_inside_words_other_spellings_and_mistakes(app, client, db):
    listed(app, "Lombok ijo", "Cabe merah", "Keripik cabaimu", "Cabai rawit", "Sambal", "Cabai hijau")
    # "cabai": a whole word (by name), inside a word, then the other spellings (by name)
    assert found(client, "cabai") == ["Cabai hijau", "Cabai rawit", "Keripik cabaimu", "Cabe merah", "Lombok ijo"]
    assert found(client, "cabai", sort="name") == [
        "Cabai hijau",
        "Cabai rawit",
        "Cabe merah",
        "Keripik cabaimu",
        "Lombok ijo",
    ]


def test_relevance_puts_a_near_word_after_the_word_itself(app, client, db):
    listed(app, "Tomat", "Tomato", "Tomas")
    # "tomas" is a name's own word: found as it is; "tomat" is no spelling of it and no mistake is looked for
    assert found(client, "tomas") == ["Tomas"]
    assert found(client, "tomta") == ["Tomat", "Tomato"]  # a near word, "tomato" by its other spelling tomat
    listed_more = found(client, "tomat")
    assert listed_more == ["Tomat", "Tomato"]


def test_the_spelling_file_is_read_again_when_it_changes(app, client, db, tmp_path, monkeypatch):
    listed(app, "Tiwul manis")
    spelling = tmp_path / "spelling.txt"
    spelling.write_text("# a group per line\n", encoding="utf-8")
    os.utime(spelling, (1, 1))
    monkeypatch.setitem(app.config, "SEARCH_SPELLING_FILE", str(spelling))
    assert found(client, "gaplek") == []
    spelling.write_text("# a group per line\ntiwul, gaplek\n", encoding="utf-8")
    os.utime(spelling, (1, 2))  # a new modification time, however fast the test runs
    assert found(client, "gaplek") == ["Tiwul manis"]


def test_the_spelling_file_reads_groups_of_spellings():
    groups = search.read_spellings(search.SPELLING_FILE)
    assert groups[("cabe",)] == ("cabai", "lombok")
    assert groups[("brambang",)] == ("bawang merah",)
    assert "brambang" in groups[("bawang", "merah")]


def test_edit_distance_counts_a_swap_as_one_and_stops_at_its_limit():
    assert search.edit_distance("tomta", "tomat", 1) == 1
    assert search.edit_distance("kangkug", "kangkung", 2) == 1
    assert search.edit_distance("cabe", "cabai", 1) == 2  # more than the limit: limit + 1
    assert search.edit_distance("abc", "abcdef", 2) == 3


def test_a_search_with_no_results_offers_the_nearest_names_from_the_vocabulary(app, client, db):
    listed(app, "Cabai rawit", "Daster batik")
    body = client.get(f"{API}/products", query_string={"q": "kabaii"}).json
    assert body["total"] == 0
    with app.test_request_context("/catalog"):
        assert catalog.catalog_page(q="kabaii")["suggestions"] == ["Cabai rawit"]
