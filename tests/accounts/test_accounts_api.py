"""The accounts API: register, log in and out, bearer tokens, /me, and the error shape."""

import hashlib

import pytest
from sqlalchemy import text

from accounts.models import ApiToken, User
from core.extensions import db
from tests.factories import (
    PASSWORD,
    assert_error,
    bearer,
    count,
    fetch,
    login,
    make_group,
    make_member,
    make_token,
    make_user,
    rows,
)

API = "/api/v1"


def register(client, **overrides):
    body = {"email": "siti@example.test", "password": "rahasia-123", "name": "Siti Aminah"}
    body.update(overrides)
    return client.post(f"{API}/auth/register", json=body)


# --- register -----------------------------------------------------------------


def test_register_creates_account_with_201(app, client):
    response = register(client, phone="0812-3456-7890")

    assert response.status_code == 201, response.json
    body = response.json
    assert body["email"] == "siti@example.test"
    assert body["name"] == "Siti Aminah"
    assert body["phone"] == "+6281234567890"
    assert body["is_admin"] is False
    assert isinstance(body["id"], int)
    stored = fetch(app, User, body["id"])
    assert stored.email == "siti@example.test"
    assert stored.phone == "+6281234567890"


def test_register_stores_password_hashed_and_never_returns_it(app, client):
    response = register(client, password="kata-sandi-rahasia")

    assert response.status_code == 201
    raw = response.get_data(as_text=True)
    assert "kata-sandi-rahasia" not in raw
    assert "password" not in response.json
    assert "password_hash" not in response.json
    assert "session_token" not in response.json
    stored = fetch(app, User, response.json["id"])
    assert stored.password_hash != "kata-sandi-rahasia"
    assert "kata-sandi-rahasia" not in stored.password_hash
    with app.app_context():
        assert db.session.get(User, stored.id).check_password("kata-sandi-rahasia")


def test_register_lowercases_email(app, client):
    response = register(client, email="  Siti.Aminah@Example.TEST ")

    assert response.status_code == 201
    assert response.json["email"] == "siti.aminah@example.test"


def test_register_refuses_duplicate_email_with_409(app, client):
    assert register(client).status_code == 201
    before = rows(app, User)

    response = register(client, name="Someone Else")

    assert_error(response, 409, "email")
    assert rows(app, User) == before


def test_register_refuses_duplicate_email_in_other_case_with_409(app, client):
    assert register(client, email="siti@example.test").status_code == 201
    before = rows(app, User)

    response = register(client, email="SITI@Example.Test")

    assert_error(response, 409, "email")
    assert rows(app, User) == before


def test_register_refuses_duplicate_phone_with_409(app, client):
    assert register(client, phone="081234567890").status_code == 201
    before = rows(app, User)

    response = register(client, email="other@example.test", phone="+62 812-3456-7890")

    assert_error(response, 409, "phone")
    assert rows(app, User) == before


@pytest.mark.parametrize("password", ["", "a", "1234567", "seven77"])
def test_register_refuses_password_under_8_characters_with_422(app, client, password):
    response = register(client, password=password)

    assert_error(response, 422, "password")
    assert count(app, User) == 0


def test_register_refuses_overlong_password_with_422(app, client):
    response = register(client, password="x" * 257)

    assert_error(response, 422, "password")
    assert count(app, User) == 0


@pytest.mark.parametrize(
    "email",
    [
        "siti",
        "siti@",
        "@example.test",
        "siti@example",
        "siti@@example.test",
        "siti aminah@example.test",
        "siti@.example.test",
        "siti@example.test.",
        "x" * 250 + "@example.test",
    ],
)
def test_register_refuses_malformed_email_with_422(app, client, email):
    response = register(client, email=email)

    assert_error(response, 422, "email")
    assert count(app, User) == 0


@pytest.mark.parametrize("name", ["", "   ", "\t\n", "x" * 20_000, "y" * 121])
def test_register_refuses_empty_or_overlong_name_with_422(app, client, name):
    response = register(client, name=name)

    assert_error(response, 422, "name")
    assert count(app, User) == 0


def test_register_refuses_missing_fields_with_422(app, client):
    response = client.post(f"{API}/auth/register", json={})

    body = assert_error(response, 422, "password", "name")  # e-mail or phone: the service asks for one of them
    assert "json" not in body["errors"]
    assert count(app, User) == 0


def test_register_refuses_malformed_phone_with_422(app, client):
    response = register(client, phone="12345")

    assert_error(response, 422, "phone")
    assert count(app, User) == 0


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", "Siti\x00Aminah"),
        ("name", "Siti\x07"),
        ("name", "\x00"),
        ("email", "siti\x00@example.test"),
        ("email", "siti@exa\x1bmple.test"),
    ],
)
def test_register_refuses_control_characters_with_422(app, client, field, value):
    response = register(client, **{field: value})

    assert_error(response, 422, field)
    assert count(app, User) == 0


@pytest.mark.parametrize("name", ["Siti Aminah 😊", "Ñoño", "ꦱꦶꦠꦶ", "Dewi Sartika-Wijayakusuma", "李小龍"])
def test_register_accepts_unicode_names(app, client, name):
    response = register(client, name=name)

    assert response.status_code == 201, response.json
    assert response.json["name"] == name
    assert fetch(app, User, response.json["id"]).name == name
    me = client.post(f"{API}/auth/login", json={"email": "siti@example.test", "password": "rahasia-123"})
    assert me.status_code == 200
    assert client.get(f"{API}/me").json["name"] == name


def test_register_collapses_whitespace_in_name(app, client):
    response = register(client, name="  Siti    Aminah  ")

    assert response.status_code == 201
    assert response.json["name"] == "Siti Aminah"


# --- login and logout ---------------------------------------------------------


def test_login_with_email_sets_session(app, client):
    user = make_user(app, email="wahyu@example.test")

    response = client.post(f"{API}/auth/login", json={"email": "wahyu@example.test", "password": PASSWORD})

    assert response.status_code == 200, response.json
    assert response.json["id"] == user.id
    assert "password_hash" not in response.json
    me = client.get(f"{API}/me")
    assert me.status_code == 200
    assert me.json["id"] == user.id


def test_login_email_is_case_insensitive(app, client):
    user = make_user(app, email="wahyu@example.test")

    response = client.post(f"{API}/auth/login", json={"email": " Wahyu@EXAMPLE.test", "password": PASSWORD})

    assert response.status_code == 200
    assert response.json["id"] == user.id


@pytest.mark.parametrize(
    "phone",
    ["081234567890", "0812-3456-7890", "6281234567890", "62 812 3456 7890", "+6281234567890", "+62 812-3456-7890"],
)
def test_login_with_phone_in_any_form(app, client, phone):
    user = make_user(app, phone="+6281234567890")

    response = client.post(f"{API}/auth/login", json={"phone": phone, "password": PASSWORD})

    assert response.status_code == 200, response.json
    assert response.json["id"] == user.id
    assert client.get(f"{API}/me").json["id"] == user.id


def test_login_refuses_wrong_password_with_401_in_error_shape(app, client):
    make_user(app, email="wahyu@example.test")

    response = client.post(f"{API}/auth/login", json={"email": "wahyu@example.test", "password": "salah-salah"})

    assert_error(response, 401)
    assert_error(client.get(f"{API}/me"), 401)


def test_login_refuses_unknown_email_and_phone_with_the_same_401(app, client):
    make_user(app, email="wahyu@example.test", phone="+6281234567890")

    wrong_password = client.post(f"{API}/auth/login", json={"email": "wahyu@example.test", "password": "salah-salah"})
    unknown_email = client.post(f"{API}/auth/login", json={"email": "nobody@example.test", "password": PASSWORD})
    unknown_phone = client.post(f"{API}/auth/login", json={"phone": "0813-0000-1111", "password": PASSWORD})

    for response in (wrong_password, unknown_email, unknown_phone):
        assert_error(response, 401)
    assert unknown_email.json["message"] == wrong_password.json["message"] == unknown_phone.json["message"]


def test_login_refuses_deactivated_user_with_401(app, client):
    user = make_user(app)
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()

    response = client.post(f"{API}/auth/login", json={"email": user.email, "password": PASSWORD})

    assert_error(response, 401)


def test_login_with_control_characters_in_email_is_401(app, client):
    make_user(app, email="wahyu@example.test")

    response = client.post(f"{API}/auth/login", json={"email": "wahyu\x00@example.test", "password": PASSWORD})

    assert_error(response, 401)
    assert_error(client.post(f"{API}/auth/login", json={"phone": "0812\x00", "password": PASSWORD}), 401)
    assert_error(client.get(f"{API}/me"), 401)


def test_login_without_email_or_phone_is_422(app, client):
    response = client.post(f"{API}/auth/login", json={"password": PASSWORD})

    assert_error(response, 422, "email")


def test_login_without_password_is_422(app, client):
    user = make_user(app)

    response = client.post(f"{API}/auth/login", json={"email": user.email})

    assert_error(response, 422, "password")


def test_logout_ends_the_session_with_204(app, client):
    user = make_user(app)
    login(client, user)
    assert client.get(f"{API}/me").status_code == 200

    response = client.post(f"{API}/auth/logout")

    assert response.status_code == 204
    assert response.get_data() == b""
    assert_error(client.get(f"{API}/me"), 401)


# --- bearer tokens --------------------------------------------------------------


def test_token_from_credentials_works_as_bearer(app, client, make_client):
    user = make_user(app)

    response = client.post(f"{API}/auth/token", json={"email": user.email, "password": PASSWORD, "name": "HP Siti"})

    assert response.status_code == 201, response.json
    token = response.json["token"]
    assert isinstance(response.json["id"], int)
    fresh = make_client()
    me = fresh.get(f"{API}/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.json["id"] == user.id
    assert_error(fresh.get(f"{API}/me"), 401)


def test_token_from_phone_credentials_works(app, client, make_client):
    user = make_user(app, phone="+6281234567890")

    response = client.post(f"{API}/auth/token", json={"phone": "0812 3456 7890", "password": PASSWORD})

    assert response.status_code == 201
    assert make_client().get(f"{API}/me", headers=bearer(response.json["token"])).json["id"] == user.id


def test_token_request_with_wrong_password_is_401_and_issues_nothing(app, client):
    user = make_user(app)

    response = client.post(f"{API}/auth/token", json={"email": user.email, "password": "salah-salah"})

    assert_error(response, 401)
    assert count(app, ApiToken) == 0


@pytest.mark.parametrize("name", ["HP\x00Siti", "x" * 121])
def test_token_refuses_bad_name_with_422(app, client, name):
    user = make_user(app)

    response = client.post(f"{API}/auth/token", json={"email": user.email, "password": PASSWORD, "name": name})

    assert_error(response, 422, "name")
    assert count(app, ApiToken) == 0


def test_token_keeps_its_device_name(app, client):
    user = make_user(app)

    response = client.post(f"{API}/auth/token", json={"email": user.email, "password": PASSWORD, "name": "HP Siti"})

    assert fetch(app, ApiToken, response.json["id"]).name == "HP Siti"


def test_token_is_stored_only_as_its_hash(app, client):
    user = make_user(app)

    response = client.post(f"{API}/auth/token", json={"email": user.email, "password": PASSWORD})

    token = response.json["token"]
    with app.app_context():
        stored = [dict(r._mapping) for r in db.session.execute(text("SELECT * FROM api_tokens"))]
    assert len(stored) == 1
    assert stored[0]["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    for value in stored[0].values():
        assert token not in str(value)
        assert token[len("pk_") :] not in str(value)


def test_delete_token_revokes_the_bearer_token(app, client, make_client):
    user = make_user(app)
    token = make_token(app, user)
    api_client = make_client()
    assert api_client.get(f"{API}/me", headers=bearer(token)).status_code == 200

    response = api_client.delete(f"{API}/auth/token", headers=bearer(token))

    assert response.status_code == 204
    assert_error(api_client.get(f"{API}/me", headers=bearer(token)), 401)
    assert_error(make_client().get(f"{API}/me", headers=bearer(token)), 401)
    [row] = rows(app, ApiToken)
    assert row["revoked_at"] is not None


def test_delete_token_without_a_token_is_404(app, client):
    user = make_user(app)
    login(client, user)

    response = client.delete(f"{API}/auth/token")

    assert_error(response, 404)


def test_delete_token_anonymously_is_401(app, client):
    assert_error(client.delete(f"{API}/auth/token"), 401)


def test_revoking_own_token_by_id_stops_it(app, client, make_client):
    user = make_user(app)
    lost = make_token(app, user)
    current = make_token(app, user)
    lost_id = next(r["id"] for r in rows(app, ApiToken) if r["token_hash"] == hashlib.sha256(lost.encode()).hexdigest())

    response = make_client().delete(f"{API}/auth/tokens/{lost_id}", headers=bearer(current))

    assert response.status_code == 204
    assert_error(make_client().get(f"{API}/me", headers=bearer(lost)), 401)
    assert make_client().get(f"{API}/me", headers=bearer(current)).status_code == 200


def test_revoking_another_users_token_is_404_and_leaves_it_working(app, client, make_client):
    owner = make_user(app)
    other = make_user(app)
    owners_token = make_token(app, owner)
    others_token = make_token(app, other)
    owners_id = next(
        r["id"] for r in rows(app, ApiToken) if r["token_hash"] == hashlib.sha256(owners_token.encode()).hexdigest()
    )
    before = rows(app, ApiToken)

    response = make_client().delete(f"{API}/auth/tokens/{owners_id}", headers=bearer(others_token))

    assert_error(response, 404)
    assert rows(app, ApiToken) == before
    assert make_client().get(f"{API}/me", headers=bearer(owners_token)).json["id"] == owner.id


@pytest.mark.parametrize("token_id", ["999999", "2147483648", "99999999999999999999"])
def test_revoking_unknown_token_id_is_404(app, client, make_client, token_id):
    user = make_user(app)
    token = make_token(app, user)
    before = rows(app, ApiToken)

    assert_error(make_client().delete(f"{API}/auth/tokens/{token_id}", headers=bearer(token)), 404)
    assert rows(app, ApiToken) == before


def test_tampered_token_is_401_even_on_a_public_endpoint(app, client):
    user = make_user(app)
    token = make_token(app, user)
    last = token[-1]
    tampered = token[:-1] + ("A" if last != "A" else "B")
    middle = len(token) // 2
    tampered_middle = token[:middle] + ("x" if token[middle] != "x" else "y") + token[middle + 1 :]

    assert client.get(f"{API}/groups").status_code == 200
    assert_error(client.get(f"{API}/groups", headers=bearer(tampered)), 401)
    assert_error(client.get(f"{API}/groups", headers=bearer(tampered_middle)), 401)
    assert_error(client.get(f"{API}/me", headers=bearer(tampered)), 401)


def test_tampered_token_is_401_even_with_a_session_cookie(app, client):
    user = make_user(app)
    token = make_token(app, user)
    login(client, user)

    response = client.get(f"{API}/me", headers=bearer(token[:-1] + ("A" if token[-1] != "A" else "B")))

    assert_error(response, 401)
    assert client.get(f"{API}/me").status_code == 200  # the session itself is untouched


def test_bearer_token_wins_over_session_cookie(app, client):
    cookie_user = make_user(app)
    token_user = make_user(app)
    token = make_token(app, token_user)
    login(client, cookie_user)

    assert client.get(f"{API}/me", headers=bearer(token)).json["id"] == token_user.id
    assert client.delete(f"{API}/auth/token", headers=bearer(token)).status_code == 204
    assert_error(client.get(f"{API}/me", headers=bearer(token)), 401)
    assert client.get(f"{API}/me").json["id"] == cookie_user.id


def test_revoked_token_is_401_even_on_a_public_endpoint(app, client, make_client):
    user = make_user(app)
    token = make_token(app, user)
    assert make_client().delete(f"{API}/auth/token", headers=bearer(token)).status_code == 204

    assert_error(make_client().get(f"{API}/groups", headers=bearer(token)), 401)


@pytest.mark.parametrize(
    "header",
    [
        "Basic {token}",
        "Token {token}",
        "{token}",
        "Bearer",
        "Bearer ",
        "Bearer pk_",
        "Bearer not-a-token",
        "Bearer pk_" + "a" * 300,
    ],
)
def test_non_bearer_or_malformed_authorization_is_401(app, client, header):
    user = make_user(app)
    token = make_token(app, user)

    response = client.get(f"{API}/groups", headers={"Authorization": header.format(token=token)})

    assert_error(response, 401)


def test_token_of_deactivated_user_is_401(app, client):
    user = make_user(app)
    token = make_token(app, user)
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()

    assert_error(client.get(f"{API}/me", headers=bearer(token)), 401)


# --- /me ----------------------------------------------------------------------


def test_me_requires_login(app, client):
    assert_error(client.get(f"{API}/me"), 401)


def test_me_lists_memberships(app, client):
    user = make_user(app)
    led = make_group(app, user, name="KUB Jahit Melati")
    other_lead = make_user(app)
    joined = make_group(app, other_lead, name="Poktan Sumber Rejeki", kind="farmer")
    as_member = make_member(app, joined, name=user.name, user=user, role="treasurer")
    left = make_group(app, other_lead, name="Poktan Lama")
    make_member(app, left, name=user.name, user=user, active=False)
    login(client, user)

    response = client.get(f"{API}/me")

    assert response.status_code == 200
    memberships = sorted(response.json["memberships"], key=lambda m: m["group_id"])
    assert [{k: m[k] for k in ("group_id", "member_id", "role")} for m in memberships] == [
        {"group_id": led.id, "member_id": led.coordinator_member_id, "role": "coordinator"},
        {"group_id": joined.id, "member_id": as_member.id, "role": "treasurer"},
    ]


def test_me_has_no_memberships_for_a_new_user(app, client):
    user = make_user(app)
    login(client, user)

    assert client.get(f"{API}/me").json["memberships"] == []


def test_patch_me_changes_locale(app, client):
    user = make_user(app)
    login(client, user)

    response = client.patch(f"{API}/me", json={"locale": "en"})

    assert response.status_code == 200, response.json
    assert response.json["locale"] == "en"
    assert fetch(app, User, user.id).locale == "en"
    assert client.get(f"{API}/me").json["locale"] == "en"


def test_patch_me_changes_name(app, client):
    user = make_user(app)
    login(client, user)

    response = client.patch(f"{API}/me", json={"name": "ꦱꦶꦠꦶ Aminah"})

    assert response.status_code == 200
    assert fetch(app, User, user.id).name == "ꦱꦶꦠꦶ Aminah"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"locale": "fr"}, "locale"),
        ({"locale": 1}, "locale"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 20_000}, "name"),
        ({"name": "Siti\x00"}, "name"),
        ({"is_admin": True}, "is_admin"),
        ({"email": "new@example.test"}, "email"),
    ],
)
def test_patch_me_refuses_bad_input_with_422_and_changes_nothing(app, client, body, field):
    user = make_user(app)
    login(client, user)
    before = rows(app, User)

    response = client.patch(f"{API}/me", json=body)

    assert_error(response, 422, field)
    assert rows(app, User) == before


def test_patch_me_anonymously_is_401(app, client):
    assert_error(client.patch(f"{API}/me", json={"locale": "en"}), 401)


# --- the error shape ----------------------------------------------------------


def test_malformed_json_body_is_400_in_error_shape(app, client):
    response = client.post(
        f"{API}/auth/register", data='{"email": "siti@example.test", "password": ', content_type="application/json"
    )

    assert_error(response, 400)
    assert count(app, User) == 0


def test_json_array_instead_of_object_is_422(app, client):
    response = client.post(
        f"{API}/auth/register", json=[{"email": "siti@example.test", "password": "rahasia-123", "name": "Siti"}]
    )

    assert_error(response, 422)
    assert count(app, User) == 0


@pytest.mark.parametrize("body", ['"just a string"', "42", "null", "true"])
def test_json_scalar_instead_of_object_is_422(app, client, body):
    response = client.post(f"{API}/auth/register", data=body, content_type="application/json")

    assert_error(response, 422)
    assert count(app, User) == 0


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", 12345),
        ("email", ["siti@example.test"]),
        ("password", 12345678),
        ("phone", 81234567890),
        ("name", {"first": "Siti"}),
        ("name", None),
    ],
)
def test_register_refuses_wrong_types_with_422_naming_the_field(app, client, field, value):
    response = register(client, **{field: value})

    assert_error(response, 422, field)
    assert count(app, User) == 0


def test_register_refuses_unknown_fields_with_422(app, client):
    response = register(client, is_admin=True)

    assert_error(response, 422, "is_admin")
    assert count(app, User) == 0


def test_register_without_json_content_type_is_422_and_creates_nothing(app, client):
    response = client.post(
        f"{API}/auth/register",
        data="email=siti@example.test&password=rahasia-123&name=Siti",
        content_type="application/x-www-form-urlencoded",
    )

    assert_error(response, 422, "password", "name")
    assert count(app, User) == 0


def test_unknown_route_under_api_is_404_json(app, client):
    response = client.get(f"{API}/no-such-thing")

    assert_error(response, 404)


def test_wrong_method_under_api_is_405_json(app, client):
    response = client.put(f"{API}/auth/login", json={})

    assert_error(response, 405)
    assert "POST" in response.headers["Allow"]


def test_body_larger_than_2_mib_is_413_json(app, client):
    huge = '{"email": "siti@example.test", "password": "rahasia-123", "name": "' + "x" * (2 * 1024 * 1024 + 10) + '"}'

    response = client.post(f"{API}/auth/register", data=huge, content_type="application/json")

    assert_error(response, 413)
    assert count(app, User) == 0


def test_error_messages_follow_accept_language(app, client):
    english = client.get(f"{API}/me", headers={"Accept-Language": "en"})
    indonesian = client.get(f"{API}/me", headers={"Accept-Language": "id"})

    assert_error(english, 401)
    assert_error(indonesian, 401)
    assert english.json["message"] == "Please log in first."
    assert english.json["status"] == indonesian.json["status"] == "Unauthorized"


@pytest.mark.parametrize(
    "body",
    ["[" * 100_000 + "]" * 100_000, '{"name": ' + "9" * 5000 + "}"],
    ids=["nested-100000-deep", "5000-digit-integer"],
)
def test_unreadable_json_bodies_are_400_not_500(client, body):
    for path in ("/api/v1/auth/register", "/api/v1/groups", "/api/v1/checkouts"):
        response = client.post(path, data=body, content_type="application/json")
        assert response.status_code in (400, 401), (path, response.status_code)
        assert response.json["code"] == response.status_code
