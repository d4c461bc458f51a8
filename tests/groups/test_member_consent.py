"""Adding someone to a group needs their consent and reveals nothing: an e-mail or phone never links an account,
the answer is the same whether or not an account has it, the person joins by entering the invitation code, and a
group adds members at a limited pace."""

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest

from accounts.models import User
from core.extensions import db
from core.types import utcnow
from groups.models import Invitation, Member
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
)
from tests.pages import html, t

API = "/api/v1"
CODE = re.compile(r'<p class="code">([A-Z2-9]{4}-[A-Z2-9]{4})</p>')
FLASH = re.compile(r'<div class="flash ([a-z]+)" role="status">([^<]*)</div>')


def coordinated_group(app, name="KUB Jahit Sumberejo", email=None):
    """A group with its coordinator, who holds a token."""
    lead = make_user(app, email=email, name="Bu Sri")
    group = make_group(app, lead, name=name)
    return SimpleNamespace(id=group.id, lead=lead, headers=bearer(make_token(app, lead)))


def add(client, group, **body):
    return client.post(f"{API}/groups/{group.id}/members", headers=group.headers, json=body)


def memberships(app, user) -> list[int]:
    with app.app_context():
        return [m.group_id for m in db.session.query(Member).filter_by(user_id=user.id)]


def comparable(body: dict) -> dict:
    """An add answer without what differs between any two additions: ids, times, the contact, the code."""
    view = {k: v for k, v in body.items() if k not in ("id", "group_id", "joined_at", "email", "phone")}
    if view.get("invitation"):
        view["invitation"] = sorted(view["invitation"])
    return view


# --- an e-mail or phone never links an account -----------------------------------------------


def test_adding_the_admins_email_does_not_link_the_admin(app, client):
    """The reported attack: a coordinator of their own group names the district admin's e-mail."""
    admin = make_user(app, email="admin@pasar.test", name="Admin Kabupaten", admin=True)
    group = coordinated_group(app, name="Kelompok Penyusup")

    response = add(client, group, name="x", email="admin@pasar.test")

    assert response.status_code == 201, response.json
    assert "has_account" not in response.json
    assert fetch(app, Member, response.json["id"]).user_id is None
    assert memberships(app, admin) == []
    admin_client = app.test_client()
    login(admin_client, admin)
    assert admin_client.get(f"{API}/me").json["memberships"] == []


def test_adding_an_accounts_phone_does_not_link_it(app, client):
    siti = make_user(app, email="siti@example.test", phone="+6281234567890")
    group = coordinated_group(app)

    response = add(client, group, name="Siti Aminah", phone="0812-3456-7890", role="coordinator")

    assert response.status_code == 201, response.json
    assert fetch(app, Member, response.json["id"]).user_id is None
    assert memberships(app, siti) == []


@pytest.mark.parametrize(
    "existing, unknown",
    [
        ({"email": "admin@pasar.test"}, {"email": "tidak-ada@pasar.test"}),
        ({"phone": "0812-3456-7890"}, {"phone": "0857-1111-2222"}),
    ],
)
def test_the_answer_is_the_same_whether_or_not_an_account_exists(app, client, existing, unknown):
    make_user(app, email="admin@pasar.test", phone="+6281234567890", admin=True)
    first, second = coordinated_group(app, name="KUB Satu"), coordinated_group(app, name="KUB Dua")

    known = add(client, first, name="x", **existing)
    stranger = add(client, second, name="x", **unknown)

    assert known.status_code == stranger.status_code == 201
    assert comparable(known.json) == comparable(stranger.json)
    assert set(known.json["invitation"]) == {"code", "username", "expires_at", "join_url", "whatsapp_url"}
    assert known.json["invitation"]["code"] != stranger.json["invitation"]["code"]
    assert [fetch(app, Member, r.json["id"]).user_id for r in (known, stranger)] == [None, None]
    assert count(app, Invitation) == 2


def test_the_page_answers_the_same_whether_or_not_an_account_exists(app, make_client):
    make_user(app, email="admin@pasar.test", admin=True)
    first, second = coordinated_group(app, name="KUB Satu"), coordinated_group(app, name="KUB Dua")
    answers = []
    for group, email in ((first, "admin@pasar.test"), (second, "tidak-ada@pasar.test")):
        browser = make_client()
        login(browser, group.lead)
        answers.append(
            browser.post(f"/groups/{group.id}/members", data={"name": "x", "email": email, "role": "member"})
        )

    known, stranger = answers
    assert known.status_code == stranger.status_code == 200
    flashes = [FLASH.findall(html(r)) for r in answers]
    assert flashes[0] == flashes[1] == [("success", t(app, "%(name)s was added.", name="x"))]
    assert CODE.search(html(known)) and CODE.search(html(stranger))
    # The pages differ in the code, the group, the minute of expiry and the browser's CSRF token only.
    varying = re.compile(
        r"[A-Z2-9]{4}-[A-Z2-9]{4}|text=[^\"]+|KUB (Satu|Dua)|/groups/\d+|\d\d[:.]\d\d|csrf_token\" value=\"[^\"]+"
    )
    normalized = [varying.sub("", html(r)) for r in answers]
    assert normalized[0] == normalized[1]
    with app.app_context():
        assert db.session.query(Member).filter(Member.name == "x", Member.user_id.is_not(None)).count() == 0


def test_changing_a_members_email_to_an_accounts_does_not_link_it(app, client):
    siti = make_user(app, email="siti@example.test")
    group = coordinated_group(app)
    member = make_member(app, group, name="Siti Aminah")

    response = client.patch(
        f"{API}/groups/{group.id}/members/{member.id}", headers=group.headers, json={"email": "siti@example.test"}
    )

    assert response.status_code == 200, response.json
    assert response.json["has_account"] is False
    assert fetch(app, Member, member.id).user_id is None
    assert memberships(app, siti) == []


def test_registering_with_a_members_email_does_not_link_the_member(app, client):
    group = coordinated_group(app)
    member = make_member(app, group, name="Siti Aminah", email="siti@example.test")

    response = client.post(
        f"{API}/auth/register", json={"email": "siti@example.test", "password": PASSWORD, "name": "Bukan Siti"}
    )

    assert response.status_code == 201, response.json
    assert fetch(app, Member, member.id).user_id is None
    assert memberships(app, SimpleNamespace(id=response.json["id"])) == []


# --- the person consents by entering the code ---------------------------------------------------


def test_the_invitee_accepts_after_logging_in_and_is_linked(app, client, make_client):
    siti = make_user(app, email="siti@example.test", name="Siti Aminah")
    group = coordinated_group(app)
    added = add(client, group, name="Bu Siti", email="siti@example.test", role="treasurer").json
    siti_client = make_client()
    login(siti_client, siti)
    assert siti_client.get(f"{API}/me").json["memberships"] == []

    response = siti_client.post(f"{API}/auth/invitations/accept", json={"code": added["invitation"]["code"]})

    assert response.status_code == 201, response.json
    assert response.json["id"] == siti.id
    assert [(m["group_id"], m["member_id"], m["role"]) for m in response.json["memberships"]] == [
        (group.id, added["id"], "treasurer")
    ]
    assert fetch(app, Member, added["id"]).user_id == siti.id
    listed = client.get(f"{API}/groups/{group.id}/members/{added['id']}", headers=group.headers).json
    assert listed["has_account"] is True


def test_the_invitee_accepts_on_the_join_page_after_logging_in(app, client, make_client):
    siti = make_user(app, email="siti@example.test", name="Siti Aminah")
    group = coordinated_group(app)
    coordinator_browser = make_client()
    login(coordinator_browser, group.lead)
    page = coordinator_browser.post(
        f"/groups/{group.id}/members", data={"name": "Bu Siti", "email": "siti@example.test", "role": "member"}
    )
    code = CODE.search(html(page)).group(1)
    assert f"/join?code={code}" in html(page)
    browser = make_client()

    join_page = browser.get("/join", query_string={"code": code})
    assert "/login?next=" in html(join_page)  # someone with an account logs in first
    login(browser, siti)
    assert 'name="password"' not in html(browser.get("/join", query_string={"code": code}))
    response = browser.post("/join", data={"code": code}, follow_redirects=True)

    assert response.status_code == 200
    assert t(app, "You joined the group with your account.") in html(response)
    assert "KUB Jahit Sumberejo" in html(response)
    assert memberships(app, siti) == [group.id]
    assert count(app, User) == 2


def test_someone_without_an_account_joins_with_the_code_and_a_password(app, client, make_client):
    group = coordinated_group(app)
    added = add(client, group, name="Mbah Karto", phone="0857-1234-5678").json

    response = make_client().post(
        f"{API}/auth/invitations/accept", json={"code": added["invitation"]["code"], "password": "sandi-baru-1"}
    )

    assert response.status_code == 201, response.json
    assert response.json["phone"] == "+6285712345678"
    assert fetch(app, Member, added["id"]).user_id == response.json["id"]


@pytest.mark.parametrize("wrong", ["ABCD-EFGH", "", "x" * 41, None])
def test_another_user_cannot_accept_with_a_wrong_code(app, client, make_client, wrong):
    siti = make_user(app, email="siti@example.test")
    other = make_user(app, email="lain@example.test")
    group = coordinated_group(app)
    added = add(client, group, name="Bu Siti", email="siti@example.test").json
    other_client = make_client()
    login(other_client, other)

    response = other_client.post(f"{API}/auth/invitations/accept", json={"code": wrong})

    assert_error(response, 404 if wrong == "ABCD-EFGH" else 422)
    assert fetch(app, Member, added["id"]).user_id is None
    assert memberships(app, other) == []
    siti_client = make_client()
    login(siti_client, siti)
    assert (
        siti_client.post(f"{API}/auth/invitations/accept", json={"code": added["invitation"]["code"]}).status_code
        == 201
    )


def test_an_invitation_nobody_accepts_leaves_the_member_unlinked(app, client, make_client):
    siti = make_user(app, email="siti@example.test")
    group = coordinated_group(app)
    added = add(client, group, name="Bu Siti", email="siti@example.test").json
    with app.app_context():
        db.session.query(Invitation).update({"expires_at": utcnow() - timedelta(minutes=1)})
        db.session.commit()
    siti_client = make_client()
    login(siti_client, siti)

    assert_error(siti_client.post(f"{API}/auth/invitations/accept", json={"code": added["invitation"]["code"]}), 404)
    assert fetch(app, Member, added["id"]).user_id is None


# --- a group adds members at a limited pace -------------------------------------------------------


def test_member_creation_is_limited_per_group(app, client):
    assert app.config["MEMBER_ADD_RATE_LIMIT"] == "30 per hour"
    group, other = coordinated_group(app, name="KUB Satu"), coordinated_group(app, name="KUB Dua")
    answers = [add(client, group, name=f"Anggota {n}", phone=f"0857-1000-{n:04d}").status_code for n in range(30)]
    assert answers == [201] * 30
    members_before = count(app, Member)

    refused = add(client, group, name="Anggota 31", email="satu@example.test")

    assert_error(refused, 429)
    assert count(app, Member) == members_before
    assert add(client, other, name="Anggota lain").status_code == 201  # another group has its own allowance


def test_the_page_and_the_api_share_a_groups_limit(app, client, make_client, monkeypatch):
    monkeypatch.setitem(app.config, "MEMBER_ADD_RATE_LIMIT", "2 per hour")
    group = coordinated_group(app)
    browser = make_client()
    login(browser, group.lead)
    assert add(client, group, name="Siti").status_code == 201
    assert browser.post(f"/groups/{group.id}/members", data={"name": "Tini", "role": "member"}).status_code == 302

    page = browser.post(f"/groups/{group.id}/members", data={"name": "Ani", "role": "member"})
    api = add(client, group, name="Ani")

    assert page.status_code == 429
    assert t(app, "Too many attempts. Please wait a moment and try again.") in html(page)
    assert_error(api, 429)
    assert count(app, Member) == 3


def test_refused_or_mistaken_additions_do_not_use_up_the_limit(app, client, make_client, monkeypatch):
    monkeypatch.setitem(app.config, "MEMBER_ADD_RATE_LIMIT", "2 per hour")
    group = coordinated_group(app)
    outsider = make_user(app, email="luar@example.test")
    outsider_headers = bearer(make_token(app, outsider))
    anonymous = make_client()
    for _ in range(3):
        assert_error(client.post(f"{API}/groups/{group.id}/members", headers=outsider_headers, json={"name": "x"}), 403)
        assert anonymous.post(f"/groups/{group.id}/members", data={"name": "x", "role": "member"}).status_code == 302
        assert_error(add(client, group, name="Siti", phone="12"), 422)

    assert [add(client, group, name=name).status_code for name in ("Siti", "Siti", "Tini")] == [201, 409, 201]
    assert_error(add(client, group, name="Ani"), 429)
