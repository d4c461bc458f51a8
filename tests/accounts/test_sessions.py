"""Sessions end on the server: a cookie copied before a logout, a password change or "log out everywhere" no
longer signs anyone in, on pages or the API; "keep me logged in" is a choice, for at most 30 days."""

import re
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest

from accounts import throttle
from accounts.models import ApiToken, User
from tests.factories import (
    PASSWORD,
    assert_error,
    bearer,
    fetch,
    login,
    make_group,
    make_member,
    make_token,
    make_user,
    rows,
)
from tests.pages import html, t

API = "/api/v1"
NEW_PASSWORD = "kata-sandi-baru-9"
CSRF_TOKEN = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


def page_login(client, user, remember=False):
    data = {"login": user.email, "password": user.password}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 302, html(response)[:500]
    return response


def cookie(client, name: str) -> str:
    found = client.get_cookie(name)
    assert found is not None, f"no {name} cookie"
    return found.value


def with_cookies(make_client, **cookies):
    """A new browser holding copies of `cookies`, as someone who copied them would."""
    browser = make_client()
    for name, value in cookies.items():
        browser.set_cookie(name, value)
    return browser


def signed_in(client) -> bool:
    """Whether `client` opens a page for members and the API as a signed-in user."""
    page = client.get("/me/groups").status_code
    api = client.get(f"{API}/me").status_code
    assert (page, api) in ((200, 200), (302, 401)), (page, api)
    return page == 200


def token_works(make_client, token: str) -> bool:
    return make_client().get(f"{API}/me", headers=bearer(token)).status_code == 200


@pytest.fixture
def treasury(app, db):
    """A coordinator (who logs in on a browser), their group and a member with a balance of nothing."""
    lead = make_user(app, name="Bu Ketua")
    group = make_group(app, lead)
    member = make_member(app, group, name="Siti Aminah")
    return lead, group, member


# --- logging out ends the session on the server -------------------------------------------------------------


def test_a_session_cookie_copied_before_logout_no_longer_opens_pages_or_the_api(app, client, make_client, treasury):
    lead, group, member = treasury
    page_login(client, lead)
    copied = cookie(client, "session")
    assert with_cookies(make_client, session=copied).get(f"/groups/{group.id}/payouts").status_code == 200

    client.post("/logout")

    thief = with_cookies(make_client, session=copied)
    page = thief.get(f"/groups/{group.id}/payouts")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    payout = thief.post(
        f"{API}/groups/{group.id}/payouts", json={"member_id": member.id, "amount": 1000, "method": "cash"}
    )
    assert_error(payout, 401)
    assert not signed_in(thief)


def test_a_remember_me_cookie_copied_before_logout_no_longer_signs_in(app, client, make_client, treasury):
    lead, group, _member = treasury
    page_login(client, lead, remember=True)
    copied = cookie(client, "remember_token")
    assert signed_in(with_cookies(make_client, remember_token=copied))

    client.post("/logout")

    thief = with_cookies(make_client, remember_token=copied)
    assert not signed_in(thief)
    assert thief.get(f"/groups/{group.id}/payouts").status_code == 302


def test_an_api_logout_ends_the_session_cookie_it_was_sent_with(app, client, make_client):
    user = make_user(app)
    login(client, user)
    copied = cookie(client, "session")

    assert client.post(f"{API}/auth/logout").status_code == 204

    assert_error(with_cookies(make_client, session=copied).get(f"{API}/me"), 401)


def test_logging_out_ends_every_browser_session_of_the_account_but_no_api_token(app, client, make_client):
    """A session is the account's session token: logging out replaces it, so other browsers log in again."""
    user = make_user(app)
    token = make_token(app, user)
    other = make_client()
    page_login(other, user)
    page_login(client, user)

    client.post("/logout")

    assert not signed_in(client) and not signed_in(other)
    assert token_works(make_client, token)


def test_logging_in_again_after_logout_works_and_the_old_cookie_stays_dead(app, client, make_client):
    user = make_user(app)
    page_login(client, user)
    copied = cookie(client, "session")
    client.post("/logout")

    page_login(client, user)

    assert signed_in(client)
    assert not signed_in(with_cookies(make_client, session=copied))


# --- keep me logged in --------------------------------------------------------------------------------------


def test_keep_me_logged_in_is_unticked_on_the_login_page(app, client):
    page = html(client.get("/login"))

    [checkbox] = re.findall(r'<input[^>]*name="remember"[^>]*>', page)
    assert "checked" not in checkbox


def test_a_login_without_keep_me_logged_in_sets_no_remember_cookie(app, client):
    user = make_user(app)

    response = page_login(client, user)

    assert not any(h.startswith("remember_token=") for h in response.headers.getlist("Set-Cookie"))
    assert client.get_cookie("remember_token") is None


def test_an_api_login_sets_no_remember_cookie(app, client):
    response = login(client, make_user(app))

    assert not any(h.startswith("remember_token=") for h in response.headers.getlist("Set-Cookie"))


def test_a_remember_cookie_lasts_at_most_30_days(app, client):
    user = make_user(app)

    response = page_login(client, user, remember=True)

    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_token=")]
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", header).group(1))
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30, minutes=1)


# --- changing the password through the API ------------------------------------------------------------------


def change(client, current=PASSWORD, new=NEW_PASSWORD, headers=None):
    return client.post(
        f"{API}/auth/password", json={"current_password": current, "new_password": new}, headers=headers or {}
    )


def can_log_in(make_client, user, password) -> bool:
    response = make_client().post(f"{API}/auth/login", json={"email": user.email, "password": password})
    return response.status_code == 200


def test_changing_the_password_keeps_this_session_and_ends_every_other_session_and_token(app, client, make_client):
    user = make_user(app)
    old_token = make_token(app, user)
    other = make_client()
    page_login(other, user, remember=True)
    remembered = cookie(other, "remember_token")
    login(client, user)
    copied = cookie(client, "session")

    response = change(client)

    assert response.status_code == 204
    assert signed_in(client)
    assert not signed_in(other)
    assert not signed_in(with_cookies(make_client, remember_token=remembered))
    assert not signed_in(with_cookies(make_client, session=copied))
    assert not token_works(make_client, old_token)
    assert can_log_in(make_client, user, NEW_PASSWORD) and not can_log_in(make_client, user, PASSWORD)


def test_changing_the_password_with_a_token_keeps_that_token_only(app, client, make_client):
    user = make_user(app)
    used, other_token = make_token(app, user), make_token(app, user)
    page_login(client, user)

    response = change(make_client(), headers=bearer(used))

    assert response.status_code == 204
    assert token_works(make_client, used)
    assert not token_works(make_client, other_token)
    assert not signed_in(client)


def test_changing_the_password_keeps_a_remembered_browser_remembered(app, client, make_client):
    user = make_user(app)
    page_login(client, user, remember=True)

    response = client.post(f"{API}/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})

    assert response.status_code == 204
    renewed = cookie(client, "remember_token")
    assert signed_in(with_cookies(make_client, remember_token=renewed))


def test_a_wrong_current_password_is_422_and_changes_nothing(app, client, make_client):
    user = make_user(app)
    token = make_token(app, user)
    other = make_client()
    page_login(other, user)
    login(client, user)
    before = rows(app, User), rows(app, ApiToken)

    response = change(client, current="not-my-password")

    assert_error(response, 422, "current_password")
    assert (rows(app, User), rows(app, ApiToken)) == before
    assert signed_in(other) and token_works(make_client, token)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"current_password": PASSWORD, "new_password": "short"}, "new_password"),
        ({"current_password": PASSWORD, "new_password": "x" * 257}, "new_password"),
        ({"current_password": PASSWORD}, "new_password"),
        ({"new_password": NEW_PASSWORD}, "current_password"),
        ({"current_password": PASSWORD, "new_password": 12345678}, "new_password"),
        ({"current_password": ["x"], "new_password": NEW_PASSWORD}, "current_password"),
        ({"current_password": "\u0000" * 300, "new_password": NEW_PASSWORD}, "current_password"),
        ({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "extra": 1}, "extra"),
    ],
)
def test_a_bad_password_change_is_422_naming_the_field_and_changes_nothing(app, client, body, field):
    user = make_user(app)
    login(client, user)
    before = rows(app, User)

    response = client.post(f"{API}/auth/password", json=body)

    assert_error(response, 422, field)
    assert rows(app, User) == before
    assert signed_in(client)


def test_a_new_password_is_checked_as_at_registration(app, client):
    user = make_user(app)
    login(client, user)

    response = change(client, new="ñ" * 7)

    assert_error(response, 422, "new_password")


def test_a_unicode_new_password_works(app, client, make_client):
    user = make_user(app)
    login(client, user)

    assert change(client, new="kata sandi rahasia ✓ 中文").status_code == 204

    assert can_log_in(make_client, user, "kata sandi rahasia ✓ 中文")


def test_guessing_the_current_password_is_rate_limited(app, client, make_client, monkeypatch):
    """A session left open on a shared phone must not become a way to guess the password: the guesses count
    against the account as wrong logins do, and it waits as after them."""
    user = make_user(app)
    login(client, user)

    answers = [change(client, current=f"guess-{n:04d}").status_code for n in range(12)]

    assert 429 in answers and set(answers) <= {422, 429}
    assert not can_log_in(make_client, user, PASSWORD)  # the account waits, whichever path guessed
    later = time.time() + app.config["LOGIN_LONGEST_WAIT_SECONDS"] + 1
    monkeypatch.setattr(throttle, "clock", lambda: later)
    assert can_log_in(make_client, user, PASSWORD)


def test_changing_the_password_anonymously_is_401(app, client):
    make_user(app)

    assert_error(change(client), 401)


# --- log out everywhere through the API ---------------------------------------------------------------------


def test_logging_out_everywhere_ends_every_session_and_revokes_every_token(app, client, make_client):
    user = make_user(app)
    used, other_token = make_token(app, user), make_token(app, user)
    browser = make_client()
    page_login(browser, user, remember=True)
    remembered = cookie(browser, "remember_token")

    response = make_client().post(f"{API}/auth/logout-everywhere", headers=bearer(used))

    assert response.status_code == 204
    assert not token_works(make_client, used) and not token_works(make_client, other_token)
    assert not signed_in(browser)
    assert not signed_in(with_cookies(make_client, remember_token=remembered))
    assert all(row["revoked_at"] is not None for row in rows(app, ApiToken))
    assert can_log_in(make_client, user, PASSWORD)  # the password stays


def test_logging_out_everywhere_by_cookie_logs_out_this_browser_too(app, client, make_client):
    user, bystander = make_user(app), make_user(app)
    bystanders_token = make_token(app, bystander)
    login(client, user)
    copied = cookie(client, "session")

    assert client.post(f"{API}/auth/logout-everywhere").status_code == 204

    assert not signed_in(client)
    assert not signed_in(with_cookies(make_client, session=copied))
    assert token_works(make_client, bystanders_token)  # another user's token is untouched


def test_logging_out_everywhere_anonymously_is_401(app, client):
    assert_error(client.post(f"{API}/auth/logout-everywhere"), 401)


# --- the account page ---------------------------------------------------------------------------------------


def csrf(response) -> str:
    return CSRF_TOKEN.search(html(response)).group(1)


@pytest.mark.parametrize("locale", ["id", "en"])
def test_the_account_page_offers_a_password_change_and_logging_out_everywhere(app, client, locale):
    user = make_user(app)
    page_login(client, user)
    client.get(f"/lang/{locale}")

    page = html(client.get("/account"))

    assert t(app, "Change your password", locale) in page
    assert t(app, "Log out everywhere", locale) in page
    assert 'action="/account/logout-everywhere"' in page
    assert t(app, "My account", locale) in html(client.get("/me/groups"))  # linked from every page


def test_the_account_page_needs_a_login(app, client):
    response = client.get("/account")

    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_changing_the_password_on_the_page_keeps_this_browser_and_logs_out_the_others(app, client, make_client):
    user = make_user(app)
    token = make_token(app, user)
    other = make_client()
    page_login(other, user)
    page_login(client, user)

    response = client.post(
        "/account",
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD},
        follow_redirects=True,
    )

    assert t(app, "Your password is changed. Every other phone and computer is logged out.") in html(response)
    assert signed_in(client) and not signed_in(other)
    assert not token_works(make_client, token)
    assert can_log_in(make_client, user, NEW_PASSWORD)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"current_password": "not-it-at-all", "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD},
            "That is not your current password.",
        ),
        (
            {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD + "x"},
            "The two new passwords are not the same.",
        ),
    ],
)
def test_a_refused_password_change_on_the_page_says_why_and_changes_nothing(app, client, data, message):
    user = make_user(app)
    page_login(client, user)
    before = fetch(app, User, user.id)

    response = client.post("/account", data=data)

    assert response.status_code == 200
    assert t(app, message) in html(response)
    assert fetch(app, User, user.id) == before
    assert signed_in(client)


def test_a_too_short_new_password_on_the_page_is_refused(app, client):
    user = make_user(app)
    page_login(client, user)
    before = fetch(app, User, user.id)

    response = client.post(
        "/account", data={"current_password": PASSWORD, "new_password": "pendek", "new_password_again": "pendek"}
    )

    assert response.status_code == 200
    assert t(app, "Field must be between %(min)d and %(max)d characters long.", min=8, max=256) in html(response)
    assert fetch(app, User, user.id) == before


def test_logging_out_everywhere_on_the_page(app, client, make_client):
    user = make_user(app)
    token = make_token(app, user)
    other = make_client()
    page_login(other, user, remember=True)
    page_login(client, user)

    response = client.post("/account/logout-everywhere", follow_redirects=True)

    assert t(app, "You have logged out on every phone and computer.") in html(response)
    assert not signed_in(client) and not signed_in(other)
    assert not token_works(make_client, token)
