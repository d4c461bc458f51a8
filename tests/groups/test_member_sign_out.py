"""A coordinator logs a member who lost their phone out of every device: on the member's page and through the
API; only their own group's coordinator may, and only a member with an account."""

import re

import pytest

from accounts.models import ApiToken, User
from tests.factories import PASSWORD, assert_error, make_group, make_member, make_user, rows
from tests.groups.test_groups_api import actor, coordinated_group, member_with_account
from tests.pages import html, t

API = "/api/v1"


def signed_in(client) -> bool:
    return client.get(f"{API}/me").status_code == 200


def token_works(make_client, token_headers) -> bool:
    return make_client().get(f"{API}/me", headers=token_headers).status_code == 200


def browser_of(make_client, user, remember=True):
    browser = make_client()
    data = {"login": user.email, "password": user.password, **({"remember": "y"} if remember else {})}
    assert browser.post("/login", data=data).status_code == 302
    return browser


def sign_out(client, group_id, member_id, headers):
    return client.post(f"{API}/groups/{group_id}/members/{member_id}/sign-out", headers=headers)


@pytest.fixture
def lost_phone(app, db, make_client):
    """A group, its coordinator, and a member logged in on a phone (remembered) and holding a token."""
    group, lead = coordinated_group(app)
    person = member_with_account(app, group)
    phone = browser_of(make_client, person.user)
    return group, lead, person, phone


def snapshot(app):
    return rows(app, User), rows(app, ApiToken)


# --- through the API ------------------------------------------------------------------------------------------


def test_a_coordinator_logs_a_member_out_of_every_device(app, client, make_client, lost_phone):
    group, lead, person, phone = lost_phone
    remembered = phone.get_cookie("remember_token").value
    lead_browser = browser_of(make_client, lead.user)

    response = sign_out(client, group.id, person.member_id, lead.headers)

    assert response.status_code == 204 and response.get_data() == b""
    assert not signed_in(phone)
    copy = make_client()
    copy.set_cookie("remember_token", remembered)
    assert not signed_in(copy)
    assert not token_works(make_client, person.headers)
    assert token_works(make_client, lead.headers) and signed_in(lead_browser)  # the coordinator's own stay
    login = make_client().post(f"{API}/auth/login", json={"email": person.user.email, "password": PASSWORD})
    assert login.status_code == 200  # the password stays: they log in again


def test_a_coordinator_of_another_group_cannot_log_a_member_out(app, client, make_client, lost_phone):
    group, _lead, person, phone = lost_phone
    _other_group, stranger = coordinated_group(app)
    before = snapshot(app)

    assert_error(sign_out(client, group.id, person.member_id, stranger.headers), 403)

    assert snapshot(app) == before
    assert signed_in(phone) and token_works(make_client, person.headers)


def test_another_groups_member_through_ones_own_group_is_404(app, client, make_client, lost_phone):
    group, _lead, person, phone = lost_phone
    other_group, stranger = coordinated_group(app)
    before = snapshot(app)

    assert_error(sign_out(client, other_group.id, person.member_id, stranger.headers), 404)

    assert snapshot(app) == before
    assert signed_in(phone)


@pytest.mark.parametrize("role", ["member", "treasurer"])
def test_only_the_coordinator_may_log_a_member_out(app, client, lost_phone, role):
    group, _lead, person, phone = lost_phone
    colleague = member_with_account(app, group, role=role)
    before = snapshot(app)

    assert_error(sign_out(client, group.id, person.member_id, colleague.headers), 403)

    assert snapshot(app) == before
    assert signed_in(phone)


def test_logging_a_member_out_anonymously_is_401(app, client, lost_phone):
    group, _lead, person, phone = lost_phone

    assert_error(sign_out(client, group.id, person.member_id, {}), 401)

    assert signed_in(phone)


def test_a_member_without_an_account_cannot_be_logged_out(app, client, lost_phone):
    group, lead, _person, _phone = lost_phone
    plain = make_member(app, group, name="Mbah Sumi")
    before = snapshot(app)

    assert_error(sign_out(client, group.id, plain.id, lead.headers), 409)

    assert snapshot(app) == before


def test_an_inactive_member_is_not_the_coordinators_to_log_out(app, client, make_client, db):
    group, lead = coordinated_group(app)
    former = actor(app)
    record = make_member(app, group, name="Bu Lastri", user=former.user, active=False)

    assert_error(sign_out(client, group.id, record.id, lead.headers), 409)

    assert token_works(make_client, former.headers)


@pytest.mark.parametrize("member_id", [0, 999_999, 2**31, 2**63, 10**30])
def test_logging_out_an_unknown_member_is_404(app, client, lost_phone, member_id):
    group, lead, _person, _phone = lost_phone

    assert_error(sign_out(client, group.id, member_id, lead.headers), 404)


def test_logging_out_a_member_of_an_unknown_group_is_404(app, client, lost_phone):
    _group, lead, person, _phone = lost_phone

    assert_error(sign_out(client, 999_999, person.member_id, lead.headers), 404)


# --- on the member's page -------------------------------------------------------------------------------------

CSRF_TOKEN = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


@pytest.mark.parametrize("locale", ["id", "en"])
def test_the_member_page_offers_logging_out_with_a_page_that_asks_first(app, make_client, lost_phone, locale):
    group, lead, person, phone = lost_phone
    coordinator = browser_of(make_client, lead.user, remember=False)
    coordinator.get(f"/lang/{locale}")
    address = f"/groups/{group.id}/members/{person.member_id}/sign-out"

    member_page = html(coordinator.get(f"/groups/{group.id}/members/{person.member_id}/edit"))
    asking = coordinator.get(address)

    assert f'href="{address}"' in member_page
    assert asking.status_code == 200
    assert t(app, "Yes, log them out", locale) in html(asking)
    assert '<form method="post"' in html(asking) and 'name="csrf_token"' in html(asking)
    assert signed_in(phone)  # asking changes nothing


def test_confirming_on_the_page_logs_the_member_out(app, make_client, lost_phone):
    group, lead, person, phone = lost_phone
    coordinator = browser_of(make_client, lead.user, remember=False)
    name = f"Anggota {person.id}"

    response = coordinator.post(f"/groups/{group.id}/members/{person.member_id}/sign-out", follow_redirects=True)

    assert t(app, "%(name)s is logged out on every phone and computer.", name=name) in html(response)
    assert not signed_in(phone)
    assert not token_works(make_client, person.headers)


def test_a_member_without_an_account_has_no_button_and_the_page_says_why(app, make_client, lost_phone):
    group, lead, _person, _phone = lost_phone
    plain = make_member(app, group, name="Mbah Sumi")
    coordinator = browser_of(make_client, lead.user, remember=False)
    address = f"/groups/{group.id}/members/{plain.id}/sign-out"

    assert address not in html(coordinator.get(f"/groups/{group.id}/members/{plain.id}/edit"))
    response = coordinator.get(address, follow_redirects=True)
    assert t(app, "This member has no account, so there is nothing to log out.") in html(response)


def test_another_groups_coordinator_gets_403_on_the_page_and_nothing_changes(app, make_client, lost_phone):
    group, _lead, person, phone = lost_phone
    stranger = make_user(app)
    make_group(app, stranger)
    browser = browser_of(make_client, stranger, remember=False)
    before = snapshot(app)

    for method in (browser.get, browser.post):
        assert method(f"/groups/{group.id}/members/{person.member_id}/sign-out").status_code == 403

    assert snapshot(app) == before
    assert signed_in(phone)


def test_a_plain_member_gets_403_on_the_page(app, make_client, lost_phone):
    group, _lead, person, phone = lost_phone
    colleague = member_with_account(app, group)
    browser = browser_of(make_client, colleague.user, remember=False)

    assert browser.post(f"/groups/{group.id}/members/{person.member_id}/sign-out").status_code == 403
    assert signed_in(phone)


def test_the_page_with_a_wrong_csrf_token_asks_again_and_changes_nothing(app, make_client, lost_phone):
    """With CSRF checks on (as in production) a post without the form's token logs no one out."""
    group, lead, person, phone = lost_phone
    coordinator = browser_of(make_client, lead.user, remember=False)
    address = f"/groups/{group.id}/members/{person.member_id}/sign-out"
    before = snapshot(app)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = coordinator.post(address, data={"csrf_token": "forged"})
        token = CSRF_TOKEN.search(html(coordinator.get(address))).group(1)
        assert snapshot(app) == before and signed_in(phone)
        assert coordinator.post(address, data={"csrf_token": token}).status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False

    assert response.status_code in (200, 400)
    assert not signed_in(phone)
