"""Text responses go out compressed when the client accepts it; files, errors and small bodies as they are.
The site's icon is a real, small, cached image."""

import gzip

import brotli
import pytest

from marketplace import catalog
from tests.market import API
from tests.marketplace.test_marketplace_pages import page_login

GZIP = {"Accept-Encoding": "gzip"}


@pytest.fixture(autouse=True)
def _no_kept_pages():
    catalog.clear_cache()
    yield
    catalog.clear_cache()


def test_a_page_asked_with_gzip_comes_back_gzip_and_decompresses_to_the_same_html(client, market):
    plain = client.get("/catalog")
    packed = client.get("/catalog", headers=GZIP)
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.vary and "Accept-Encoding" in plain.vary
    assert int(packed.headers["Content-Length"]) == len(packed.get_data()) < len(plain.get_data()) / 2
    assert gzip.decompress(packed.get_data()) == plain.get_data()


def test_brotli_is_preferred_when_the_client_takes_both(client, market):
    plain = client.get("/")
    packed = client.get("/", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.headers["Content-Encoding"] == "br"
    assert brotli.decompress(packed.get_data()) == plain.get_data()


def test_a_client_that_asks_for_nothing_gets_the_page_as_it_is(client, market):
    response = client.get("/catalog", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in response.headers
    assert b"<!doctype html>" in response.get_data()


def test_the_kept_catalog_page_is_the_same_compressed_or_not(app, client, market):
    app.config["CATALOG_CACHE_SECONDS"] = 60
    try:
        first = gzip.decompress(client.get("/catalog", headers=GZIP).get_data())
        kept = client.get("/catalog").get_data()  # served from the visitor's kept page
        again = gzip.decompress(client.get("/catalog", headers=GZIP).get_data())
    finally:
        app.config["CATALOG_CACHE_SECONDS"] = 0
    assert first == kept == again


def test_api_json_is_compressed_and_still_reads_as_json(client, market):
    plain = client.get(f"{API}/products")
    packed = client.get(f"{API}/products", headers=GZIP)
    assert packed.headers["Content-Encoding"] == "gzip" and packed.mimetype == "application/json"
    assert gzip.decompress(packed.get_data()) == plain.get_data()


def test_errors_and_small_bodies_are_not_compressed(client, market):
    missing = client.get("/groups/999999", headers=GZIP)
    assert missing.status_code == 404 and "Content-Encoding" not in missing.headers
    small = client.get(f"{API}/groups/{market.tani.id}/members", headers=GZIP)  # a 401 in the error shape
    assert "Content-Encoding" not in small.headers


def test_a_csv_download_is_compressed_whole(app, client, market, monkeypatch):
    monkeypatch.setitem(app.config, "COMPRESS_MIN_SIZE", 0)  # a new group's statement is short
    path = f"{API}/groups/{market.tani.id}/members/{market.ani.id}/statement?format=csv"
    plain = client.get(path, headers=market.lead.headers)
    packed = client.get(path, headers={**market.lead.headers, **GZIP})
    assert plain.status_code == 200 and plain.mimetype == "text/csv"
    assert packed.headers["Content-Encoding"] == "gzip" and "attachment" in packed.headers["Content-Disposition"]
    assert gzip.decompress(packed.get_data()) == plain.get_data()


def test_a_file_keeps_its_etag_and_is_not_compressed(client):
    first = client.get("/favicon.ico", headers=GZIP)
    assert first.status_code == 200 and "Content-Encoding" not in first.headers
    etag = first.headers["ETag"]
    again = client.get("/favicon.ico", headers={**GZIP, "If-None-Match": etag})
    assert again.status_code == 304


def test_favicon_is_a_small_cached_icon_and_pages_link_to_it(client):
    response = client.get("/favicon.ico")
    body = response.get_data()
    assert response.status_code == 200 and response.mimetype == "image/x-icon"
    assert body[:4] == b"\x00\x00\x01\x00" and len(body) < 4096  # an ICO file, a few KB
    assert response.cache_control.max_age >= 24 * 60 * 60
    page = client.get("/").get_data(as_text=True)
    assert '<link rel="icon" href="/favicon.ico"' in page


def test_streamed_responses_are_left_streaming(app):
    assert app.config["COMPRESS_STREAMS"] is False
    assert set(app.config["COMPRESS_MIMETYPES"]) == {
        "text/html",
        "application/json",
        "text/css",
        "application/javascript",
        "text/csv",
    }


def test_a_signed_in_page_is_compressed_too(client, market):
    page_login(client, market.buyer.user)
    plain = client.get("/orders")
    packed = client.get("/orders", headers=GZIP)
    assert packed.headers["Content-Encoding"] == "gzip"
    assert packed.headers["Cache-Control"] == plain.headers["Cache-Control"] == "private, no-store"
    assert gzip.decompress(packed.get_data()).count(b"<main>") == 1
