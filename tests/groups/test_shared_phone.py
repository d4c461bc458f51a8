"""Two members of one household on one phone: each has their own login, the second by a login name, and the join
page says what to do when the phone already has an account or the code is for another person."""

import pytest
from markupsafe import escape

from accounts.models import User
from groups.models import Invitation, Member
from tests.factories import PASSWORD, assert_error, count, fetch, make_group, make_member, make_user, rows
from tests.market import actor
from tests.pages import html, t

API = "/api/v1"
SITI_PHONE = "+6281233000102"


@pytest.fixture()
def household(app):
    """Siti has an account on her phone and is a member; Sumiati, her sister, is a member on Siti's phone."""
    lead = actor(app, name="Bu Ratna")
    group = make_group(app, lead.user, name="KUB Jahit Melati")
    siti = make_user(app, email=None, phone=SITI_PHONE, name="Siti Aminah")
    make_member(app, group, name="Siti Aminah", phone=SITI_PHONE, user=siti)
    sumiati = make_member(app, group, name="Sumiati", phone=SITI_PHONE)
    return group, lead, siti, sumiati


def invite(client, group, lead, member_id) -> str:
    response = client.post(f"{API}/groups/{group.id}/members/{member_id}/invitation", headers=lead.headers)
    assert response.status_code == 201, response.json
    return response.json["code"]


def test_joining_on_a_phone_with_an_account_asks_for_a_login_name(app, client, household):
    group, lead, _siti, sumiati = household
    code = invite(client, group, lead, sumiati.id)

    page = html(client.post("/join", data={"code": code, "password": "sandi-sumi-1"}))

    assert (
        t(
            app,
            "An account with this phone number already exists. If it is yours, log in first, then use the code. "
            "If you share this phone, choose a login name for your own account.",
        )
        in page
    )
    assert t(app, "Choose a login name for your own account on this shared phone.") in page
    assert 'name="username"' in page
    assert count(app, User) == 2


def test_the_second_person_on_a_phone_joins_with_a_login_name_and_logs_in_with_it(app, client, household):
    group, lead, siti, sumiati = household
    code = invite(client, group, lead, sumiati.id)

    response = client.post("/join", data={"code": code, "password": "sandi-sumi-1", "username": "Sumi.A"})

    assert response.status_code == 302, html(response)
    [account] = [u for u in rows(app, User) if u["id"] != siti.id and u["id"] != lead.id]
    assert (account["username"], account["phone"], account["email"]) == ("sumi.a", None, None)
    assert fetch(app, Member, sumiati.id).user_id == account["id"]
    assert fetch(app, Member, sumiati.id).phone == SITI_PHONE  # both member records keep the household's phone
    client.post("/logout")
    assert client.post("/login", data={"login": "SUMI.A", "password": "sandi-sumi-1"}).status_code == 302
    client.post("/logout")
    assert client.post("/login", data={"login": "0812-3300-0102", "password": PASSWORD}).status_code == 302


def test_logged_in_with_another_persons_code_the_page_offers_to_log_out(app, client, household):
    group, lead, _siti, sumiati = household
    code = invite(client, group, lead, sumiati.id)
    assert client.post("/login", data={"login": "081233000102", "password": PASSWORD}).status_code == 302

    page = html(client.post("/join", data={"code": code}))

    explained = t(
        app,
        "Your account is already a member of this group. This code is for %(name)s: if %(name)s uses this phone "
        "too, log out so that %(name)s can join with their own login.",
        name="Sumiati",
    )
    assert explained in page
    assert t(app, "Log out so that they can join") in page
    assert f'name="next" value="/join?code={code}"' in page
    out = client.post("/logout", data={"next": f"/join?code={code}"})
    assert out.headers["Location"] == f"/join?code={code}"
    assert str(escape(code)) in html(client.get(out.headers["Location"]))
    assert fetch(app, Member, sumiati.id).user_id is None


def test_a_coordinator_gives_a_login_name_with_the_code(app, client, household):
    group, lead, _siti, _sumiati = household
    response = client.post(
        f"{API}/groups/{group.id}/members",
        json={"name": "Wati", "phone": "0812-3300-0102", "username": "wati"},
        headers=lead.headers,
    )
    assert response.status_code == 201, response.json
    invitation = response.json["invitation"]
    assert invitation["username"] == "wati"
    assert "wati" in invitation["whatsapp_url"]

    joined = client.post(f"{API}/auth/invitations/accept", json={"code": invitation["code"], "password": "sandi-wati"})

    assert joined.status_code == 201, joined.json
    assert (joined.json["username"], joined.json["phone"]) == ("wati", None)
    client.post(f"{API}/auth/logout")
    login = client.post(f"{API}/auth/login", json={"username": "wati", "password": "sandi-wati"})
    assert login.status_code == 200 and login.json["username"] == "wati"


def test_the_member_edit_page_makes_a_code_with_a_login_name(app, client, household):
    group, lead, _siti, sumiati = household
    with app.app_context():
        email = fetch(app, User, lead.id).email
    client.post("/login", data={"login": email, "password": PASSWORD})
    assert 'name="username"' in html(client.get(f"/groups/{group.id}/members/{sumiati.id}/edit"))

    page = html(client.post(f"/groups/{group.id}/members/{sumiati.id}/invite", data={"username": "sumi"}))

    assert t(app, "Login name: %(username)s", username="sumi") in page
    assert [i["username"] for i in rows(app, Invitation)] == ["sumi"]


@pytest.mark.parametrize(
    "username",
    ["ab", "x" * 31, "siti a", "0812330001", "+6281233000102", "siti@example.test", "siti-a", "sïti", "1abc"],
)
def test_a_login_name_that_could_read_as_something_else_is_refused(app, client, username):
    response = client.post(
        f"{API}/auth/register",
        json={"phone": "0813-5555-0101", "username": username, "password": PASSWORD, "name": "Sri"},
    )

    assert_error(response, 422, "username")
    assert count(app, User) == 0


def test_a_login_name_names_one_account_whatever_its_case(app, client):
    first = client.post(
        f"{API}/auth/register",
        json={"phone": "0813-5555-0101", "username": "siti.a", "password": PASSWORD, "name": "Siti"},
    )
    assert first.status_code == 201, first.json
    again = client.post(
        f"{API}/auth/register",
        json={"phone": "0813-5555-0102", "username": "SITI.A", "password": PASSWORD, "name": "Siti"},
    )

    assert_error(again, 409, "username")
    assert count(app, User) == 1


def test_a_login_name_already_taken_is_refused_when_the_code_is_used(app, client, household):
    group, lead, _siti, sumiati = household
    client.post(
        f"{API}/auth/register",
        json={"phone": "0813-5555-0101", "username": "sumi", "password": PASSWORD, "name": "Sri"},
    )
    client.post(f"{API}/auth/logout")

    response = client.post(f"{API}/groups/{group.id}/members/{sumiati.id}/invitation", headers=lead.headers)
    assert response.status_code == 201
    code = response.json["code"]
    taken = client.post(
        f"{API}/auth/invitations/accept", json={"code": code, "password": "sandi-sumi-1", "username": "sumi"}
    )

    assert_error(taken, 409, "username")
    assert fetch(app, Member, sumiati.id).user_id is None
