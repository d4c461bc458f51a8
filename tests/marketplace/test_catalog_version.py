"""The catalog's kept pages are keyed by its version: a write that changes what is listed shows on the next request
of every process, and with Redis the processes keep one copy of each page."""

import json
import pickle
import time
import urllib.request
import uuid

import pytest
import redis

from core.extensions import db
from inventory.models import Variant
from marketplace import catalog, catalog_cache, catalog_version
from tests.market import body_of, placed
from tests.serve_process import another_process

API = "/api/v1"
LOCAL_REDIS = "redis://127.0.0.1:6379/0"
KEPT = 3600  # seconds a page may be kept: longer than any test, so only the version can make a change show


@pytest.fixture(autouse=True)
def fresh_cache(app, monkeypatch):
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", KEPT)
    monkeypatch.setattr(catalog, "in_background", lambda work: work())
    catalog.clear_cache()
    app.extensions.pop("catalog_shared_pages", None)
    yield
    catalog.clear_cache()
    app.extensions.pop("catalog_shared_pages", None)


def bump(app) -> None:
    with app.app_context():
        db.session.execute(db.text("UPDATE catalog_versions SET version = version + 1"))
        db.session.commit()


def product_of(app, variant_id: int) -> int:
    with app.app_context():
        return db.session.get(Variant, variant_id).product_id


def names(body: dict) -> list[str]:
    return sorted(item["name"] for item in body["items"])


def get_json(base: str, path: str) -> dict:
    with urllib.request.urlopen(base + path, timeout=30) as response:
        return json.load(response)


def get_text(base: str, path: str) -> str:
    with urllib.request.urlopen(base + path, timeout=30) as response:
        return response.read().decode()


def send(base: str, method: str, path: str, headers: dict, body: dict) -> int:
    request = urllib.request.Request(
        base + path,
        method=method,
        data=json.dumps(body).encode(),
        headers={**headers, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def test_a_kept_page_is_given_while_the_version_stands_and_built_again_when_it_moves(app, client, market, monkeypatch):
    built = []
    real_build = catalog._build
    monkeypatch.setattr(catalog, "_build", lambda *args: built.append(args) or real_build(*args))
    first = client.get(f"{API}/products?sort=name")
    assert client.get(f"{API}/products?sort=name").json == first.json
    assert len(built) == 1

    bump(app)
    assert client.get(f"{API}/products?sort=name").json == first.json
    assert len(built) == 2


def test_the_version_is_read_once_a_transaction(app, market):
    with app.app_context():
        first = catalog.catalog_version()
        db.session.execute(db.text("SELECT 1"))
        assert catalog.catalog_version() == first
        db.session.commit()
        with db.engine.begin() as other:
            other.exec_driver_sql("UPDATE catalog_versions SET version = version + 1")
        assert catalog.catalog_version() == first + 1


def test_a_kept_answer_is_checked_against_the_latest_version_even_when_its_connection_is_lost(
    app, client, market, monkeypatch
):
    built = []
    real_build = catalog._build
    monkeypatch.setattr(catalog, "_build", lambda *args: built.append(args) or real_build(*args))
    first = client.get(f"{API}/products?sort=name").json
    assert client.get(f"{API}/products?sort=name").json == first and len(built) == 1  # kept, checked on its own
    with app.app_context():
        url = db.engine.url.render_as_string(hide_password=False)
        held = catalog_version._held.connections[url]  # this thread's connection, kept for the next check
        held.dbapi_connection.close()  # as when the database ends it: the next check fails on it, then asks the session
        bump(app)
    assert client.get(f"{API}/products?sort=name").json == first and len(built) == 2  # built again: it moved
    assert client.get(f"{API}/products?sort=name").json == first and len(built) == 2  # a new connection since
    assert url in catalog_version._held.connections
    bump(app)
    client.get(f"{API}/products?sort=name")
    assert len(built) == 3


def test_a_change_made_through_one_process_shows_on_the_next_request_of_another(app, client, market, database_url):
    listed = f"{API}/products?in_stock=true&per_page=50"
    with another_process(database_url, CATALOG_CACHE_SECONDS=KEPT) as writer:
        with another_process(database_url, CATALOG_CACHE_SECONDS=KEPT) as reader:
            changes = [
                ("Daster batik", lambda: patch(app, writer, market.jahit_lead, market.daster, {"status": "hidden"})),
                ("Cabai rawit", lambda: patch(app, writer, market.lead, market.cabai_a, {"status": "archived"})),
                ("Tomat", lambda: placed(client, market.buyer, body_of((market.tomat, "10")))),  # the last 10 kg
            ]
            for name, change in changes:
                for base in (reader, writer):  # both processes keep the listing as it is
                    assert name in names(get_json(base, listed))
                    assert name in get_text(base, "/catalog?in_stock=1")
                change()
                assert name not in names(get_json(reader, listed)), f"{name} still listed by another process"
                assert name not in get_text(reader, "/catalog?in_stock=1")
                assert name not in names(get_json(writer, listed))


def patch(app, base: str, who, variant_id: int, body: dict) -> None:
    product_id = product_of(app, variant_id)
    assert send(base, "PATCH", f"{API}/products/{product_id}", who.headers, body) == 200


@pytest.fixture
def shared_redis():
    """A prefix of this test's own in the local Redis, emptied after."""
    connection = redis.Redis.from_url(LOCAL_REDIS, socket_connect_timeout=1)
    try:
        connection.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis answers at {LOCAL_REDIS}")
    prefix = f"test:{uuid.uuid4().hex}:"
    yield connection, prefix
    keys = list(connection.scan_iter(match=f"{prefix}*"))
    if keys:
        connection.delete(*keys)
    connection.close()


def test_with_redis_a_page_built_by_one_process_is_given_by_another(app, market, database_url, shared_redis):
    connection, prefix = shared_redis
    settings = {"CATALOG_CACHE_SECONDS": KEPT, "CATALOG_CACHE_STORAGE": LOCAL_REDIS, "CATALOG_CACHE_PREFIX": prefix}
    with another_process(database_url, **settings) as first, another_process(database_url, **settings) as second:
        assert "Tomat" in names(get_json(first, f"{API}/products?sort=name"))
        [stored] = [key for key in connection.scan_iter(match=f"{prefix}*") if not key.endswith(b":building")]
        built_at, page = pickle.loads(connection.get(stored))
        page["items"][0]["name"] = "Dari Redis"  # what only the shared copy says
        connection.set(stored, pickle.dumps((built_at, page)), keepttl=True)

        assert "Dari Redis" in names(get_json(second, f"{API}/products?sort=name"))
        bump(app)  # a new version: the shared copy is no longer asked for
        assert "Dari Redis" not in names(get_json(second, f"{API}/products?sort=name"))


def test_without_redis_pages_are_built_here_and_the_site_answers(app, client, market):
    app.config["CATALOG_CACHE_STORAGE"] = "redis://127.0.0.1:1/0"  # nothing listens there
    try:
        started = time.monotonic()
        response = client.get(f"{API}/products")
        assert response.status_code == 200 and response.json["total"] == 3
        assert time.monotonic() - started < 5
        with app.app_context():
            assert isinstance(catalog_cache.shared_pages(), catalog_cache.SharedPages)
    finally:
        app.config["CATALOG_CACHE_STORAGE"] = "process"
