"""An API request with a bearer token is that token's user alone: no session or remember-me cookie is read
for it, mixed with it or set by it."""
from tests.factories import bearer, login, make_token, make_user

API = "/api/v1"


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

    response = client.post(f"{API}/auth/login", json={"email": user.email, "password": user.password},
                           headers=bearer(token))

    assert _set_cookies(response) == []
    assert client.get(f"{API}/me").status_code == 401


def test_a_bad_token_with_a_session_cookie_is_refused_and_sets_no_cookie(app, client):
    user = make_user(app)
    login(client, user)

    response = client.get(f"{API}/me", headers=bearer("pk_not-a-token"))

    assert response.status_code == 401
    assert _set_cookies(response) == []
    assert client.get(f"{API}/me").json["id"] == user.id
