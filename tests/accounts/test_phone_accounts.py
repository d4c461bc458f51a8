"""Buyers register and log in with a phone number and a password, e-mail optional; each phone number and each
e-mail names one account."""

import pytest

from accounts.models import User
from core.extensions import db
from tests.factories import PASSWORD, assert_error, count, make_user, rows
from tests.marketplace.test_marketplace_pages import add, checkout_form
from tests.pages import html, t

API = "/api/v1"


def register(client, **body):
    return client.post(f"{API}/auth/register", json={"password": PASSWORD, "name": "Bu Sulastri", **body})


def test_register_by_phone_without_email_then_log_in_with_that_phone(app, client):
    response = register(client, phone="0813-5555-0101")

    assert response.status_code == 201, response.json
    assert response.json["email"] is None
    assert response.json["phone"] == "+6281355550101"
    client.post(f"{API}/auth/logout")
    me = client.post(f"{API}/auth/login", json={"phone": "62 813 5555 0101", "password": PASSWORD})
    assert me.status_code == 200, me.json
    assert me.json["id"] == response.json["id"]
    token = client.post(f"{API}/auth/token", json={"phone": "081355550101", "password": PASSWORD})
    assert token.status_code == 201, token.json


def test_register_with_neither_phone_nor_email_is_422(app, client):
    for body in ({}, {"email": None, "phone": None}, {"phone": ""}):
        assert_error(register(client, **body), 422, "phone", "email")
    assert count(app, User) == 0


@pytest.mark.parametrize("again", ["0813-5555-0101", "+6281355550101", "62 813 5555 0101"])
def test_a_phone_number_names_one_account(app, client, again):
    make_user(app, email=None, phone="+6281355550101")

    body = assert_error(register(client, phone=again), 409, "phone")

    assert "email" not in body["errors"]
    assert count(app, User) == 1


def test_an_email_names_one_account_whatever_its_case(app, client):
    make_user(app, email="sulastri@example.test")

    assert_error(register(client, email=" Sulastri@EXAMPLE.test "), 409, "email")
    assert count(app, User) == 1


def test_register_page_makes_a_phone_account_without_email(app, client):
    response = client.post(
        "/register", data={"name": "Bu Sulastri", "phone": "0813-5555-0101", "email": "", "password": PASSWORD}
    )

    assert response.status_code == 302, html(response)
    assert [(u["phone"], u["email"]) for u in rows(app, User)] == [("+6281355550101", None)]
    client.post("/logout")
    response = client.post("/login", data={"login": "0813 5555 0101", "password": PASSWORD})
    assert response.status_code == 302


def test_register_page_asks_for_a_phone_or_an_email_in_indonesian(app, client):
    page = html(client.post("/register", data={"name": "Bu Sulastri", "password": PASSWORD}))

    assert t(app, "Enter a phone number or an e-mail address: you will log in with it.") in page
    assert count(app, User) == 0


def test_register_page_refuses_a_phone_that_has_an_account(app, client):
    make_user(app, email=None, phone="+6281355550101")

    page = html(client.post("/register", data={"name": "Bu Sulastri", "phone": "0813-5555-0101", "password": PASSWORD}))

    assert t(app, "An account with this phone number already exists.") in page
    assert count(app, User) == 1


def test_a_phone_buyer_without_email_checks_out_on_the_pages(app, client, market):
    client.post("/register", data={"name": "Bu Sulastri", "phone": "0813-5555-0101", "password": PASSWORD})
    add(client, market.tomat, "2")

    response = client.post("/checkout", data=checkout_form(client))

    assert response.status_code == 302, html(response)
    confirmation = client.get(response.headers["Location"])
    assert confirmation.status_code == 200
    assert "Tomat" in html(confirmation)
    assert "0813-5555-0101" in html(client.get("/account"))


# --- one's own login name, changed later ------------------------------------------------------


def test_a_login_name_can_be_set_and_changed_later_through_the_api_and_logs_in(app, client):
    user = make_user(app, email=None, phone="+6281355550199")
    client.post(f"{API}/auth/login", json={"phone": "081355550199", "password": PASSWORD})

    for name in ("sumi", "Sumiati.W"):
        response = client.patch(f"{API}/me", json={"username": name})
        assert response.status_code == 200, response.json
        assert response.json["username"] == name.lower()
    client.post(f"{API}/auth/logout")
    assert client.post(f"{API}/auth/login", json={"username": "sumi", "password": PASSWORD}).status_code == 401
    me = client.post(f"{API}/auth/login", json={"username": "sumiati.w", "password": PASSWORD})
    assert me.status_code == 200 and me.json["id"] == user.id


def test_a_bad_or_taken_login_name_changes_nothing(app, client):
    other = make_user(app, email="lain@pasar.test")
    with app.app_context():
        db.session.get(User, other.id).username = "siti.a"
        db.session.commit()
    user = make_user(app, email=None, phone="+6281355550198")
    client.post(f"{API}/auth/login", json={"phone": "081355550198", "password": PASSWORD})

    for bad, status in (("siti.a", 409), ("SITI.A", 409), ("a b", 422), ("", 422), (12, 422), ("x" * 300, 422)):
        assert_error(client.patch(f"{API}/me", json={"username": bad}), status, "username")
    assert [u["username"] for u in rows(app, User) if u["id"] == user.id] == [None]


def test_the_account_page_sets_the_login_name_in_indonesian(app, client):
    user = make_user(app, email=None, phone="+6281355550197")
    client.post(f"{API}/auth/login", json={"phone": "081355550197", "password": PASSWORD})

    page = html(client.get("/account"))
    assert "Nama login" in page
    taken = client.post("/account/login-name", data={"username": "a b"})
    assert taken.status_code == 422 and "Nama login" in html(taken)
    done = client.post("/account/login-name", data={"username": "sumiati"}, follow_redirects=True)
    assert "Nama login Anda sekarang sumiati." in html(done)
    assert [u["username"] for u in rows(app, User) if u["id"] == user.id] == ["sumiati"]
