"""An API request with a bearer token is that token's user alone: no session or remember-me cookie is read
for it, mixed with it or set by it."""

import subprocess
import sys
from pathlib import Path

from tests.factories import bearer, login, make_token, make_user

API = "/api/v1"
ROOT = Path(__file__).resolve().parents[2]


def _set_cookies(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def test_a_bearer_request_sets_no_cookie_even_with_a_session_cookie(app, client):
    cookie_user, token_user = make_user(app), make_user(app)
    token = make_token(app, token_user)
    login(client, cookie_user)

    response = client.get(f"{API}/me", headers=bearer(token))

    assert response.json["id"] == token_user.id
    assert _set_cookies(response) == []
    assert client.get(f"{API}/me").json["id"] == cookie_user.id  # the session goes on beside it, untouched


def test_a_bearer_request_does_not_read_a_remember_me_cookie(app, client):
    cookie_user, token_user = make_user(app), make_user(app)
    token = make_token(app, token_user)
    client.post("/login", data={"login": cookie_user.email, "password": cookie_user.password, "remember": "y"})
    assert client.get_cookie("remember_token") is not None
    client.delete_cookie("session")  # only the remember-me cookie is left

    response = client.get(f"{API}/me", headers=bearer(token))

    assert response.json["id"] == token_user.id
    assert _set_cookies(response) == []  # a remember-me login would have made a session


def test_a_login_sent_with_a_bearer_token_makes_no_session(app, client):
    user, token_user = make_user(app), make_user(app)
    token = make_token(app, token_user)

    response = client.post(
        f"{API}/auth/login", json={"email": user.email, "password": user.password}, headers=bearer(token)
    )

    assert _set_cookies(response) == []
    assert client.get(f"{API}/me").status_code == 401


def test_a_bad_token_with_a_session_cookie_is_refused_and_sets_no_cookie(app, client):
    user = make_user(app)
    login(client, user)

    response = client.get(f"{API}/me", headers=bearer("pk_not-a-token"))

    assert response.status_code == 401
    assert _set_cookies(response) == []
    assert client.get(f"{API}/me").json["id"] == user.id


def test_a_bad_token_beside_a_remember_me_cookie_is_refused_and_sets_no_cookie(app, client):
    user = make_user(app)
    client.post("/login", data={"login": user.email, "password": user.password, "remember": "y"})
    client.delete_cookie("session")

    response = client.get(f"{API}/me", headers=bearer("pk_not-a-token"))

    assert response.status_code == 401
    assert response.json["code"] == 401
    assert _set_cookies(response) == []


def test_a_logout_sent_with_a_bearer_token_leaves_the_browser_logged_in(app, client):
    user, token_user = make_user(app), make_user(app)
    token = make_token(app, token_user)
    client.post("/login", data={"login": user.email, "password": user.password, "remember": "y"})

    response = client.post(f"{API}/auth/logout", headers=bearer(token))

    assert response.status_code == 204
    assert _set_cookies(response) == []
    assert client.get(f"{API}/me").json["id"] == user.id


FIRST_REQUEST = """
import sys
from config import TestConfig
from app import create_app

class Config(TestConfig):
    SQLALCHEMY_DATABASE_URI = sys.argv[1]

response = create_app(Config).test_client().get("/api/v1/me", headers={"Authorization": "Bearer " + sys.argv[2]})
print(response.status_code, response.get_json()["id"])
"""


def test_a_new_process_whose_first_request_is_a_bearer_request_answers_it(app):
    """The token's user is made without the ORM's loading: in a new process no ORM query has run before."""
    user = make_user(app)
    token = make_token(app, user)

    done = subprocess.run(
        [sys.executable, "-c", FIRST_REQUEST, app.config["SQLALCHEMY_DATABASE_URI"], token],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.stdout.split() == ["200", str(user.id)], done.stderr[-2000:]
