"""The login throttle: one count per account and one per address, shared by every login path and every process,
with a wait that grows with the failures, and answers that tell nothing about who has an account."""

import os
import uuid
from contextlib import contextmanager

import pytest
import redis
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from accounts import services, throttle
from accounts.models import ApiToken
from accounts.throttle import LoginFailure
from app import create_app
from config import TestConfig
from core.extensions import api, db, limiter
from tests.factories import PASSWORD, assert_error, count, make_user
from tests.live_server import at_once
from tests.pages import html, t

API = "/api/v1"
WRONG = "salah-sandi-1"
LOCAL_REDIS = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def quick_unknown_accounts(app, monkeypatch):
    """An unknown account's password is checked against a dummy hash made as the test users' are (quickly)."""
    with app.app_context():
        monkeypatch.setattr(services, "_DUMMY_HASH", generate_password_hash("x", app.config["PASSWORD_HASH_METHOD"]))


@pytest.fixture
def clock(monkeypatch):
    moved = Clock()
    monkeypatch.setattr(throttle, "clock", moved)
    return moved


def from_address(address: str) -> dict:
    return {"environ_overrides": {"REMOTE_ADDR": address}}


def api_login(client, login: str, password: str = WRONG, address: str = "127.0.0.1"):
    field = "email" if "@" in login else "phone"
    return client.post(f"{API}/auth/login", json={field: login, "password": password}, **from_address(address))


def api_token(client, login: str, password: str = WRONG, address: str = "127.0.0.1"):
    field = "email" if "@" in login else "phone"
    return client.post(f"{API}/auth/token", json={field: login, "password": password}, **from_address(address))


def page_login(client, login: str, password: str = WRONG, address: str = "127.0.0.1"):
    return client.post("/login", data={"login": login, "password": password}, **from_address(address))


def page_join(client, code: str = "ABCD-EFGH", address: str = "127.0.0.1"):
    return client.post(
        "/join", data={"code": code, "phone": "0812-9999-0001", "password": "sandi-baru-1"}, **from_address(address)
    )


def api_join(client, code: str = "ABCD-EFGH", address: str = "127.0.0.1"):
    body = {"code": code, "password": "sandi-baru-1", "phone": "0812-9999-0001"}
    return client.post(f"{API}/auth/invitations/accept", json=body, **from_address(address))


def assert_limited(response, seconds: int | None = None) -> None:
    """The one answer while an account or address must wait: 429, Retry-After, the usual shape or page."""
    assert response.status_code == 429, (response.status_code, response.get_data(as_text=True)[:300])
    waited = int(response.headers["Retry-After"])
    assert waited >= 1
    if seconds is not None:
        assert waited == seconds
    if response.is_json:
        assert_error(response, 429)
    else:
        assert response.mimetype == "text/html"


# --- one account ---------------------------------------------------------------------


def test_an_account_waits_after_5_failures_and_twice_as_long_after_each_more(app, client, clock):
    user = make_user(app)
    for _ in range(5):
        assert_error(api_login(client, user.email), 401)

    assert_limited(api_login(client, user.email), 1)
    assert_limited(api_login(client, user.email, PASSWORD), 1)  # the right password waits too
    assert_error(client.get(f"{API}/me"), 401)
    for seconds in (1, 2, 4, 8):
        clock.advance(seconds - 0.5)
        assert_limited(api_login(client, user.email))
        clock.advance(0.5)
        assert_error(api_login(client, user.email), 401)
        assert_limited(api_login(client, user.email), seconds * 2)


def test_the_wait_grows_to_15_minutes_and_no_longer(app, client, clock):
    user = make_user(app)
    waits = []
    for _ in range(17):
        response = api_login(client, user.email)
        if response.status_code == 429:
            waits.append(int(response.headers["Retry-After"]))
            clock.advance(waits[-1])
            assert_error(api_login(client, user.email), 401)
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]


def test_a_success_clears_the_account_s_count(app, client, clock):
    user = make_user(app)
    for _ in range(5):
        assert_error(api_login(client, user.email), 401)
    clock.advance(1)
    assert api_login(client, user.email, PASSWORD).status_code == 200
    client.post(f"{API}/auth/logout")
    for _ in range(5):
        assert_error(api_login(client, user.email), 401)
    assert_limited(api_login(client, user.email), 1)


def test_an_account_s_count_is_forgotten_after_a_quiet_day(app, client, clock):
    user = make_user(app)
    for _ in range(7):
        clock.advance(60)
        assert_error(api_login(client, user.email), 401)
    assert_limited(api_login(client, user.email))
    clock.advance(24 * 60 * 60)
    for _ in range(5):
        assert_error(api_login(client, user.email), 401)


def test_another_address_for_the_same_account_waits_as_well(app, client, make_client, clock):
    user = make_user(app, phone="+6281234567890")
    for _ in range(5):
        assert_error(api_login(client, user.email, address="10.1.1.1"), 401)
    other = make_client()
    assert_limited(api_login(other, user.email, PASSWORD, address="10.2.2.2"), 1)
    assert_limited(page_login(other, user.email, PASSWORD, address="2001:db8::7"), 1)
    assert_limited(api_token(other, user.email, PASSWORD, address="192.0.2.9"), 1)
    assert count(app, ApiToken) == 0


@pytest.mark.parametrize(
    ("typed", "same"),
    [
        ("Siti@Example.TEST ", "siti@example.test"),
        ("0812-3456-7890", "+6281234567890"),
        ("62 812 3456 7890", "081234567890"),
    ],
)
def test_every_way_of_writing_one_login_counts_alike(app, client, clock, typed, same):
    for _ in range(5):
        api_login(client, typed)
    assert_limited(api_login(client, same))


def test_a_success_by_phone_clears_the_count_of_the_account_s_e_mail_too(app, client, clock):
    user = make_user(app, phone="+6281234567890")
    for _ in range(4):
        assert_error(api_login(client, user.email), 401)
    assert api_login(client, "0812-3456-7890", PASSWORD).status_code == 200
    client.post(f"{API}/auth/logout")
    for _ in range(5):
        assert_error(api_login(client, user.email), 401)
    assert_limited(api_login(client, user.email))


# --- every login path ------------------------------------------------------------------


def test_every_login_path_shares_the_account_s_count(app, client, clock):
    user = make_user(app)
    assert page_login(client, user.email).status_code == 200  # the form again, with the message
    assert_error(api_login(client, user.email), 401)
    assert_error(api_token(client, user.email), 401)
    assert page_login(client, user.email).status_code == 200
    assert_error(api_token(client, user.email), 401)

    assert_limited(api_login(client, user.email, PASSWORD), 1)
    assert_limited(api_token(client, user.email, PASSWORD), 1)
    page = page_login(client, user.email, PASSWORD)
    assert_limited(page, 1)
    assert t(app, "Too many attempts. Please wait a moment and try again.") in html(page)
    assert_error(client.get(f"{API}/me"), 401)
    assert count(app, ApiToken) == 0


def test_every_path_shares_the_address_s_count_join_and_invitations_included(app, client, clock):
    tries = [
        lambda n: page_login(client, f"orang{n}@contoh.test"),
        lambda n: api_login(client, f"orang{n}@contoh.test"),
        lambda n: api_token(client, f"orang{n}@contoh.test"),
        lambda n: page_join(client),
        lambda n: api_join(client),
    ]
    for n in range(20):
        assert tries[n % len(tries)](n).status_code in (200, 401, 404), n
    for attempt in tries:
        assert_limited(attempt(99), 1)
    user = make_user(app)
    assert_limited(api_login(client, user.email, PASSWORD), 1)
    assert api_login(client, user.email, PASSWORD, address="10.9.9.9").status_code == 200


def test_a_wrong_invitation_code_is_counted_on_the_address_and_the_page_says_wait(app, client, clock):
    for _ in range(20):
        assert page_join(client).status_code == 200  # the form again: the code is not valid
    page = page_join(client)
    assert_limited(page, 1)
    assert t(app, "Too many attempts. Please wait a moment and try again.") in html(page)
    assert_limited(api_join(client), 1)
    assert_error(api_join(client, address="10.3.3.3"), 404)


def test_one_address_waits_after_20_failures_on_any_accounts(app, client, clock):
    for n in range(20):
        assert_error(api_login(client, f"tebak{n}@contoh.test", address="10.4.4.4"), 401)
    assert_limited(api_login(client, "lain@contoh.test", address="10.4.4.4"), 1)
    assert_error(api_login(client, "lain@contoh.test", address="10.5.5.5"), 401)


def test_one_ipv6_host_is_one_address_whatever_its_last_64_bits(app, client, clock):
    for n in range(20):
        assert_error(api_login(client, f"tebak{n}@contoh.test", address=f"2001:db8:1:2::{n + 1:x}"), 401)
    assert_limited(api_login(client, "lain@contoh.test", address="2001:db8:1:2:ffff::1"), 1)
    assert_error(api_login(client, "lain@contoh.test", address="2001:db8:1:3::1"), 401)


def test_a_success_takes_its_attempt_back_from_the_address(app, client, clock):
    user = make_user(app)
    for n in range(19):
        assert_error(api_login(client, f"tebak{n}@contoh.test"), 401)
    for _ in range(3):
        assert api_login(client, user.email, PASSWORD).status_code == 200
        client.post(f"{API}/auth/logout")
    assert_error(api_login(client, "tebak99@contoh.test"), 401)
    assert_limited(api_login(client, "tebak100@contoh.test"), 1)


# --- nothing told about who has an account ----------------------------------------------


def _answers(client, login: str, address: str) -> list[tuple]:
    seen = []
    for _ in range(8):
        response = api_login(client, login, address=address)
        seen.append((response.status_code, response.headers.get("Retry-After"), response.get_data()))
    page = page_login(client, login, address=address)
    seen.append((page.status_code, page.headers.get("Retry-After"), page.get_data()))
    return seen


def test_unknown_and_known_accounts_are_counted_and_answered_alike(app, make_client, clock):
    known = make_user(app, email="ada@contoh.test")
    assert known.email == "ada@contoh.test"
    for known_login, unknown_login in (("ada@contoh.test", "tidak.ada@contoh.test"), ("ada@contoh.test", "tiada")):
        known_answers = _answers(make_client(), known_login, "10.6.6.6")
        unknown_answers = _answers(make_client(), unknown_login, "10.7.7.7")
        assert known_answers == unknown_answers
        assert [status for status, _, _ in known_answers] == [401] * 5 + [429] * 4
        clock.advance(24 * 60 * 60)


def test_the_counters_name_no_login_or_address(app, client, clock):
    api_login(client, "rahasia@contoh.test", address="10.8.8.8")
    with app.app_context():
        keys = db.session.scalars(select(LoginFailure.key)).all()
    assert len(keys) == 2
    assert all(len(key) == 64 and set(key) <= set("0123456789abcdef") for key in keys)


# --- every process -----------------------------------------------------------------------


@contextmanager
def another_app(config_class):
    """A second app, as a second process would have; the module-level extensions are put back afterwards."""
    saved = {ext: dict(vars(ext)) for ext in (api, limiter)}
    other = create_app(config_class)
    try:
        yield other
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
        for ext, state in saved.items():
            vars(ext).clear()
            vars(ext).update(state)


def test_two_processes_on_one_database_share_the_counts(app, client, clock):
    user = make_user(app)

    class SecondProcess(TestConfig):
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]

    with another_app(SecondProcess) as second:
        other = second.test_client()
        for n in range(5):
            assert_error(api_login(client if n % 2 else other, user.email), 401)
        assert_limited(api_login(client, user.email, PASSWORD), 1)
        assert_limited(api_login(other, user.email, PASSWORD), 1)
        clock.advance(1)
        assert api_login(other, user.email, PASSWORD).status_code == 200
        assert_error(api_login(client, user.email), 401)  # the success cleared the count in both


@pytest.mark.parametrize(
    ("guesses", "one_account", "refused"),
    [(12, True, 7), (26, False, 6)],  # one account has 5 free failures; one address 20
)
def test_guesses_sent_at_once_are_all_counted(app, server, clock, guesses, one_account, refused):
    import http.client
    import json

    host, port = server

    def guess(i, go):
        connection = http.client.HTTPConnection(host, port, timeout=60)
        go()
        body = json.dumps(
            {"email": "sasaran@contoh.test" if one_account else f"sasaran{i}@contoh.test", "password": WRONG}
        )
        connection.request("POST", f"{API}/auth/login", body, {"Content-Type": "application/json"})
        status = connection.getresponse().status
        connection.close()
        return status

    statuses = at_once(guesses, guess)
    assert sorted(statuses) == [401] * (guesses - refused) + [429] * refused


@pytest.fixture
def redis_url():
    """The local Redis (REDIS_URL, else 127.0.0.1:6379), with a key prefix of this test's own, emptied after."""
    connection = redis.Redis.from_url(LOCAL_REDIS, socket_connect_timeout=1)
    try:
        connection.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis answers at {LOCAL_REDIS}")
    prefix = f"test:{uuid.uuid4().hex}:"
    yield LOCAL_REDIS, prefix
    keys = list(connection.scan_iter(match=f"{prefix}*"))
    if keys:
        connection.delete(*keys)
    connection.close()


def test_with_redis_two_processes_share_the_counts_and_the_database_keeps_none(app, clock, redis_url):
    url, prefix = redis_url
    user = make_user(app)

    class RedisProcess(TestConfig):
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
        LOGIN_THROTTLE_STORAGE = url
        LOGIN_THROTTLE_PREFIX = prefix

    with another_app(RedisProcess) as first, another_app(RedisProcess) as second:
        one, two = first.test_client(), second.test_client()
        for n in range(5):
            assert_error(api_login(one if n % 2 else two, user.email), 401)
        assert_limited(api_login(one, user.email, PASSWORD), 1)
        assert_limited(api_token(two, user.email, PASSWORD, address="10.1.2.3"), 1)
        clock.advance(1)
        assert_error(api_login(one, user.email), 401)
        assert_limited(api_login(two, user.email), 2)
        clock.advance(2)
        assert api_login(two, user.email, PASSWORD).status_code == 200  # clears the account, takes its try back
        for _ in range(5):
            assert_error(api_login(one, user.email), 401)
        assert_limited(api_login(one, user.email), 1)
        for n in range(9):
            assert_error(api_login(two, f"tebak{n}@contoh.test"), 401)
        assert_limited(api_login(one, "lain@contoh.test"), 1)  # 20 failures from 127.0.0.1 in all
    assert count(app, LoginFailure) == 0
    keys = redis.Redis.from_url(url).keys(f"{prefix}*")
    assert len(keys) == 11  # the user's account, 127.0.0.1 and the nine guessed accounts; nothing refused is kept


def test_sign_ups_keep_their_own_limit_per_address(app, client):
    for n in range(10):
        body = {"email": f"baru{n}@contoh.test", "password": "rahasia-123", "name": "Siti"}
        assert client.post(f"{API}/auth/register", json=body).status_code == 201
    body = {"email": "baru99@contoh.test", "password": "rahasia-123", "name": "Siti"}
    assert_limited(client.post(f"{API}/auth/register", json=body))


def test_a_refused_attempt_keeps_no_row(app, client, clock):
    for n in range(20):
        assert_error(api_login(client, f"tebak{n}@contoh.test"), 401)
    kept = count(app, LoginFailure)
    for n in range(20, 40):
        assert_limited(api_login(client, f"tebak{n}@contoh.test"))
    assert count(app, LoginFailure) == kept == 21


def test_with_redis_unreachable_logins_go_on_counted_in_the_database(app, clock):
    """Redis named but down: no 500; the database keeps the counts until Redis answers again."""
    user = make_user(app)

    class RedisDown(TestConfig):
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
        LOGIN_THROTTLE_STORAGE = "redis://127.0.0.1:1/0"  # nothing listens on port 1
        LOGIN_THROTTLE_PREFIX = "test:down:"

    with another_app(RedisDown) as down:
        client = down.test_client()
        for _ in range(5):
            assert_error(api_login(client, user.email), 401)
        assert_limited(api_login(client, user.email, PASSWORD), 1)
        clock.advance(1)
        assert api_login(client, user.email, PASSWORD).status_code == 200
    assert count(app, LoginFailure) == 1  # the address's failures; the success cleared the account's
