"""The HTML pages, driven through the test client: accounts, groups, members, invitations, errors."""

import importlib.util
import re
from contextlib import contextmanager
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from markupsafe import escape
from sqlalchemy import func, select

import config
from accounts.models import User
from app import create_app
from config import TestConfig
from core.extensions import api, db, limiter
from core.phone import display_phone
from groups.models import Group, GroupKind, Invitation, Member, Role
from tests.factories import PASSWORD, make_group, make_member, make_user
from tests.pages import html, t

CODE = re.compile(r'<p class="code">([A-Z2-9]{4}-[A-Z2-9]{4})</p>')
CSRF_TOKEN = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


# --- helpers --------------------------------------------------------------------


def page_login(client, login: str, password: str = PASSWORD, **kwargs):
    return client.post("/login", data={"login": login, "password": password}, **kwargs)


def logged_in(client) -> bool:
    response = client.get("/me/groups")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def csrf_token(response) -> str:
    match = CSRF_TOKEN.search(html(response))
    assert match, "the page carries no csrf_token"
    return match.group(1)


def set_cookie(response, name: str) -> str:
    """The Set-Cookie header that sets `name`."""
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    assert headers, f"no {name} cookie in {response.headers.getlist('Set-Cookie')}"
    return headers[-1]


def get_member(app, member_id: int) -> Member:
    with app.app_context():
        member = db.session.get(Member, member_id)
        db.session.expunge(member)
        return member


def get_group(app, group_id: int) -> Group:
    with app.app_context():
        group = db.session.get(Group, group_id)
        db.session.expunge(group)
        return group


def phone_forms(phone: str) -> set[str]:
    """Every way a page might show `phone`: +6281234567890, 0812-3456-7890, 081234567890."""
    return {phone, display_phone(phone), "0" + phone.removeprefix("+62")}


def count_of(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@contextmanager
def side_app(config_class):
    """A second app on the same database, for settings the shared app must not change.

    The extensions are module-level objects; flask-smorest's Api and the limiter
    keep the last app's state on themselves, so put it back afterwards.
    """
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


@pytest.fixture
def coordinator(app, db):
    return make_user(app, email="ketua@blitar.test", name="Bu Sri", phone="+6281111111111")


@pytest.fixture
def group(app, coordinator):
    return make_group(app, coordinator, name="KUB Jahit Melati")


# --- log in, register, log out ----------------------------------------------------


@pytest.mark.parametrize(
    "login", ["ketua@blitar.test", "  KETUA@Blitar.test ", "0811-1111-1111", "+62 811 1111 1111", "6281111111111"]
)
def test_login_page_accepts_email_or_phone(app, client, coordinator, login):
    assert client.get("/login").status_code == 200
    response = page_login(client, login)
    assert response.status_code == 302
    assert response.headers["Location"] == "/me/groups"
    assert logged_in(client)


@pytest.mark.parametrize(
    "login,password",
    [
        ("ketua@blitar.test", "salah-sandi-1"),
        ("0811-1111-1111", "salah-sandi-1"),
        ("nobody@blitar.test", PASSWORD),
        ("0899-0000-0000", PASSWORD),
    ],
)
def test_login_page_with_wrong_credentials_shows_an_error_and_stays_logged_out(
    app, client, coordinator, login, password
):
    response = page_login(client, login, password)
    assert response.status_code == 200
    assert t(app, "Wrong e-mail, phone number, login name or password.") in html(response)
    assert not logged_in(client)


def test_login_page_with_a_missing_field_shows_a_field_error(app, client, coordinator):
    response = client.post("/login", data={"login": "ketua@blitar.test"})
    assert response.status_code == 200
    assert 'class="field-error"' in html(response)
    assert not logged_in(client)


@pytest.mark.parametrize("target", ["/groups/new", "/me/groups?page=2"])
def test_login_returns_to_a_same_site_next(app, client, coordinator, target):
    response = page_login(client, "ketua@blitar.test", query_string={"next": target})
    assert response.headers["Location"] == target
    client.post("/logout")
    response = client.post("/login", data={"login": "ketua@blitar.test", "password": PASSWORD, "next": target})
    assert response.headers["Location"] == target


UNSAFE_NEXT = [
    "https://evil.example",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "/\t/evil.example",
    "/\r\nSet-Cookie: a=1",
    "/%0d%0aSet-Cookie:%20a=1\r\n",
    " //evil.example",
]


@pytest.mark.parametrize("target", UNSAFE_NEXT)
def test_login_ignores_a_next_that_leaves_the_site(app, client, coordinator, target):
    page = client.get("/login", query_string={"next": target})
    assert page.status_code == 200
    response = page_login(client, "ketua@blitar.test", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/me/groups"
    # Already logged in: the login page sends the user on, still never off the site.
    again = client.get("/login", query_string={"next": target})
    assert again.status_code == 302
    assert again.headers["Location"] == "/me/groups"


@pytest.mark.parametrize("target", UNSAFE_NEXT)
def test_language_switch_ignores_a_next_that_leaves_the_site(app, client, target):
    response = client.get("/lang/en", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_language_switch_returns_to_a_same_site_next(app, client):
    response = client.get("/lang/en", query_string={"next": "/login?x=1"})
    assert response.headers["Location"] == "/login?x=1"


def test_register_page_creates_an_account_and_logs_in(app, client):
    assert client.get("/register").status_code == 200
    response = client.post(
        "/register",
        data={
            "name": "  Siti   Aminah ",
            "email": "Siti@Blitar.test",
            "phone": "0812 3456 7890",
            "password": "rahasia-456",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/me/groups"
    assert logged_in(client)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "siti@blitar.test"))
        assert (user.name, user.phone) == ("Siti Aminah", "+6281234567890")
        assert user.check_password("rahasia-456")


def test_register_page_refuses_a_short_password(app, client):
    response = client.post("/register", data={"name": "Siti", "email": "siti@blitar.test", "password": "pendek1"})
    assert response.status_code == 200
    body = html(response)
    assert re.search(
        r'<input[^>]*aria-invalid="true"[^>]*name="password"|<input[^>]*name="password"[^>]*aria-invalid', body
    )
    assert 'class="field-error"' in body
    assert count_of(app, User) == 0
    assert not logged_in(client)


def test_register_page_refuses_a_taken_email_beside_the_field(app, client, coordinator):
    response = client.post("/register", data={"name": "Lain", "email": "KETUA@blitar.test", "password": "rahasia-456"})
    assert response.status_code == 200
    assert t(app, "An account with this e-mail already exists.") in html(response)
    assert count_of(app, User) == 1
    assert not logged_in(client)


def test_register_page_refuses_a_bad_phone(app, client):
    response = client.post(
        "/register", data={"name": "Siti", "email": "siti@blitar.test", "phone": "12345", "password": "rahasia-456"}
    )
    assert response.status_code == 200
    assert t(app, "Enter an Indonesian phone number, such as 0812-3456-7890.") in html(response)
    assert count_of(app, User) == 0


def test_logout_is_post_only(app, client, coordinator):
    page_login(client, "ketua@blitar.test")
    response = client.get("/logout")
    assert response.status_code == 405
    assert response.mimetype == "text/html"
    assert "POST" in response.headers["Allow"]
    assert t(app, "That method is not allowed here.") in html(response)
    assert logged_in(client)
    response = client.post("/logout")
    assert response.status_code == 302
    assert not logged_in(client)


# --- groups -----------------------------------------------------------------------

GROUP_FORM = {
    "name": "Poktan Sido Makmur",
    "kind": "farmer",
    "village": "Sumberejo",
    "district": "Sanankulon",
    "description": "Padi dan cabai",
    "pickup_point": "Balai desa",
    "pickup_hours": "Sabtu 07.00-10.00",
}


def test_starting_a_group_needs_a_login(app, client):
    response = client.get("/groups/new")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/groups/new")


def test_user_creates_a_group_and_becomes_its_coordinator(app, client, coordinator):
    page_login(client, "ketua@blitar.test")
    assert client.get("/groups/new").status_code == 200
    response = client.post("/groups/new", data=GROUP_FORM)
    assert response.status_code == 302
    with app.app_context():
        group = db.session.scalar(select(Group))
        assert response.headers["Location"] == f"/groups/{group.id}/members"
        assert (group.name, group.kind, group.village, group.pickup_point) == (
            "Poktan Sido Makmur",
            GroupKind.farmer,
            "Sumberejo",
            "Balai desa",
        )
        assert group.created_by_id == coordinator.id
        (lead,) = group.members
        assert (lead.user_id, lead.role, lead.active, lead.phone) == (
            coordinator.id,
            Role.coordinator,
            True,
            "+6281111111111",
        )
    assert "Poktan Sido Makmur" in html(client.get("/me/groups"))


def test_creating_a_group_with_missing_fields_shows_errors_and_creates_nothing(app, client, coordinator):
    page_login(client, "ketua@blitar.test")
    response = client.post("/groups/new", data={**GROUP_FORM, "village": "", "kind": "pabrik"})
    assert response.status_code == 200
    assert html(response).count('class="field-error"') == 2
    assert count_of(app, Group) == 0


def test_creating_a_group_twice_in_one_village_is_refused(app, client, coordinator):
    page_login(client, "ketua@blitar.test")
    client.post("/groups/new", data=GROUP_FORM)
    response = client.post("/groups/new", data={**GROUP_FORM, "name": "poktan sido makmur"})
    assert response.status_code == 409
    assert t(app, "A group with this name already exists in this village.") in html(response)
    assert count_of(app, Group) == 1


def test_coordinator_edits_the_group(app, client, coordinator, group):
    page_login(client, "ketua@blitar.test")
    page = client.get(f"/groups/{group.id}/edit")
    assert page.status_code == 200
    assert 'value="KUB Jahit Melati"' in html(page)
    response = client.post(
        f"/groups/{group.id}/edit", data={**GROUP_FORM, "name": "KUB Jahit Mawar", "kind": "business"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/groups/{group.id}"
    saved = get_group(app, group.id)
    assert (saved.name, saved.kind, saved.pickup_hours) == ("KUB Jahit Mawar", GroupKind.business, "Sabtu 07.00-10.00")
    assert "KUB Jahit Mawar" in html(client.get(f"/groups/{group.id}"))


def test_coordinator_cannot_edit_another_groups_profile(app, client, group):
    other = make_user(app, email="lain@blitar.test")
    make_group(app, other, name="Poktan Lain")
    page_login(client, "lain@blitar.test")
    assert client.get(f"/groups/{group.id}/edit").status_code == 403
    response = client.post(f"/groups/{group.id}/edit", data={**GROUP_FORM, "name": "Dibajak"})
    assert response.status_code == 403
    assert response.mimetype == "text/html"
    saved = get_group(app, group.id)
    assert (saved.name, saved.pickup_point) == ("KUB Jahit Melati", None)


def test_plain_member_cannot_edit_the_group(app, client, group):
    user = make_user(app, email="anggota@blitar.test")
    make_member(app, group, name="Anggota", user=user)
    page_login(client, "anggota@blitar.test")
    assert client.get(f"/groups/{group.id}/edit").status_code == 403
    assert client.post(f"/groups/{group.id}/edit", data=GROUP_FORM).status_code == 403
    assert get_group(app, group.id).name == "KUB Jahit Melati"


@pytest.mark.parametrize(
    "path", ["/groups/{id}", "/groups/{id}/edit", "/groups/{id}/members", "/groups/{id}/members/1/edit"]
)
@pytest.mark.parametrize("group_id", [999999, 2**31, 2**63, 10**30])
def test_an_unknown_or_huge_group_id_is_404_not_500(app, client, coordinator, path, group_id):
    page_login(client, "ketua@blitar.test")
    response = client.get(path.format(id=group_id))
    assert response.status_code == 404
    assert response.mimetype == "text/html"


@pytest.mark.parametrize("page", ["\u00b2", "-1", "0", "abc", "99999999999999999999999", "1.5", ""])
def test_home_page_tolerates_any_page_argument(app, client, group, page):
    response = client.get("/", query_string={"page": page})
    assert response.status_code == 200
    assert "KUB Jahit Melati" in html(response)


def test_home_page_lists_and_searches_groups(app, client, coordinator, group):
    make_group(app, coordinator, name="Poktan Sido Makmur", kind="farmer", village="Kalipucung")
    body = html(client.get("/"))
    assert "KUB Jahit Melati" in body and "Poktan Sido Makmur" in body
    body = html(client.get("/", query_string={"q": "kalipucung"}))
    assert "Poktan Sido Makmur" in body and "KUB Jahit Melati" not in body
    body = html(client.get("/", query_string={"kind": "business"}))
    assert "KUB Jahit Melati" in body and "Poktan Sido Makmur" not in body


# --- members ----------------------------------------------------------------------


def test_coordinator_adds_a_member_with_the_phone_in_plus62_form(app, client, group):
    page_login(client, "ketua@blitar.test")
    response = client.post(
        f"/groups/{group.id}/members",
        data={"name": "Siti Aminah", "phone": "0812-3456-7890", "email": "", "role": "member"},
    )
    assert response.status_code == 200  # the invitation code, shown once, to send to her
    assert CODE.search(html(response)) and 'href="https://wa.me/6281234567890?text=' in html(response)
    assert t(app, "%(name)s was added.", name="Siti Aminah") in html(response)
    with app.app_context():
        member = db.session.scalar(select(Member).where(Member.name == "Siti Aminah"))
        assert (member.phone, member.role, member.active, member.user_id) == ("+6281234567890", Role.member, True, None)
    body = html(client.get(f"/groups/{group.id}/members"))
    assert "Siti Aminah" in body and display_phone("+6281234567890") in body


def test_adding_a_member_with_a_bad_phone_shows_the_field_error(app, client, group):
    page_login(client, "ketua@blitar.test")
    response = client.post(f"/groups/{group.id}/members", data={"name": "Siti", "phone": "0812", "role": "member"})
    assert response.status_code == 200
    assert t(app, "Enter an Indonesian phone number, such as 0812-3456-7890.") in html(response)
    assert count_of(app, Member) == 1


def test_plain_member_sees_the_list_without_phone_numbers(app, client, group):
    make_member(app, group, name="Siti Aminah", phone="+6281234567890", email="siti@blitar.test")
    user = make_user(app, email="anggota@blitar.test", phone="+6285700000001")
    make_member(app, group, name="Anggota Biasa", phone="+6285700000001", user=user)
    page_login(client, "anggota@blitar.test")
    response = client.get(f"/groups/{group.id}/members")
    assert response.status_code == 200
    body = html(response)
    assert "Siti Aminah" in body and "Bu Sri" in body and "Anggota Biasa" in body
    for phone in ("+6281234567890", "+6281111111111", "+6285700000001"):
        for shown in phone_forms(phone):
            assert shown not in body
    assert "siti@blitar.test" not in body and "ketua@blitar.test" not in body and "tel:" not in body
    assert f'action="/groups/{group.id}/members#add"' not in body
    assert "/invite" not in body


def test_plain_member_cannot_add_a_member(app, client, group):
    user = make_user(app, email="anggota@blitar.test")
    make_member(app, group, name="Anggota Biasa", user=user)
    page_login(client, "anggota@blitar.test")
    response = client.post(f"/groups/{group.id}/members", data={"name": "Penyusup", "role": "coordinator"})
    assert response.status_code == 403
    response = client.post(f"/groups/{group.id}/members", data={"name": ""})
    assert response.status_code == 403
    assert count_of(app, Member) == 2


def test_outsider_gets_403_on_the_members_page(app, client, group):
    make_member(app, group, name="Siti Aminah", phone="+6281234567890")
    make_user(app, email="luar@blitar.test")
    page_login(client, "luar@blitar.test")
    response = client.get(f"/groups/{group.id}/members")
    assert response.status_code == 403
    assert "Siti Aminah" not in html(response)
    assert not any(shown in html(response) for shown in phone_forms("+6281234567890"))
    assert client.post(f"/groups/{group.id}/members", data={"name": "Penyusup", "role": "member"}).status_code == 403
    assert count_of(app, Member) == 2


def test_inactive_member_is_an_outsider(app, client, group):
    user = make_user(app, email="mantan@blitar.test")
    make_member(app, group, name="Mantan", user=user, active=False)
    page_login(client, "mantan@blitar.test")
    assert client.get(f"/groups/{group.id}/members").status_code == 403


def test_anonymous_visitor_is_sent_to_login_from_the_members_page(app, client, group):
    response = client.get(f"/groups/{group.id}/members")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next=/groups/{group.id}/members"


def test_district_admin_sees_members_with_contacts(app, client, group):
    make_member(app, group, name="Siti Aminah", phone="+6281234567890")
    make_user(app, email="admin@blitar.test", admin=True)
    page_login(client, "admin@blitar.test")
    response = client.get(f"/groups/{group.id}/members")
    assert response.status_code == 200
    assert display_phone("+6281234567890") in html(response)
    assert f'action="/groups/{group.id}/members#add"' not in html(response)


def _member_form(member_name: str, phone: str = "", role: str = "member", active: bool = True, email: str = ""):
    data = {"name": member_name, "phone": phone, "email": email, "role": role}
    if active:
        data["active"] = "y"
    return data


def test_coordinator_deactivates_a_member_who_stays_in_the_database(app, client, group):
    siti = make_member(app, group, name="Siti Aminah", phone="+6281234567890")
    page_login(client, "ketua@blitar.test")
    page = client.get(f"/groups/{group.id}/members/{siti.id}/edit")
    assert page.status_code == 200
    assert 'value="Siti Aminah"' in html(page)
    response = client.post(
        f"/groups/{group.id}/members/{siti.id}/edit", data=_member_form("Siti Aminah", "+6281234567890", active=False)
    )
    assert response.status_code == 302
    member = get_member(app, siti.id)
    assert member.active is False and member.deactivated_at is not None
    assert (member.name, member.phone) == ("Siti Aminah", "+6281234567890")
    assert count_of(app, Member) == 2
    body = html(client.get(f"/groups/{group.id}/members"))
    assert "Siti Aminah" in body and 'class="badge off"' in body
    # Reactivating brings the same record back.
    client.post(f"/groups/{group.id}/members/{siti.id}/edit", data=_member_form("Siti Aminah", "0812 3456 7890"))
    member = get_member(app, siti.id)
    assert member.active is True and member.deactivated_at is None


@pytest.mark.parametrize("change", [{"active": False}, {"role": "member"}, {"role": "treasurer"}])
def test_deactivating_or_demoting_the_last_coordinator_is_refused(app, client, coordinator, group, change):
    page_login(client, "ketua@blitar.test")
    data = _member_form(
        "Bu Sri Wahyuni",
        "+6281111111111",
        role=change.get("role", "coordinator"),
        active=change.get("active", True),
        email="ketua@blitar.test",
    )
    response = client.post(f"/groups/{group.id}/members/{group.coordinator_member_id}/edit", data=data)
    assert response.status_code == 200
    assert t(app, "A group needs at least one active coordinator. Appoint another first.") in html(response)
    lead = get_member(app, group.coordinator_member_id)
    assert (lead.active, lead.role, lead.name, lead.deactivated_at) == (True, Role.coordinator, "Bu Sri", None)
    assert logged_in(client)
    assert client.get(f"/groups/{group.id}/edit").status_code == 200


def test_a_second_coordinator_lets_the_first_step_down(app, client, coordinator, group):
    make_member(app, group, name="Pak Budi", role="coordinator")
    page_login(client, "ketua@blitar.test")
    response = client.post(
        f"/groups/{group.id}/members/{group.coordinator_member_id}/edit",
        data=_member_form("Bu Sri", "+6281111111111", role="member", email="ketua@blitar.test"),
    )
    assert response.status_code == 302
    assert get_member(app, group.coordinator_member_id).role == Role.member
    assert client.get(f"/groups/{group.id}/edit").status_code == 403


def test_coordinator_cannot_edit_another_groups_member(app, client, group):
    siti = make_member(app, group, name="Siti Aminah")
    other = make_user(app, email="lain@blitar.test")
    other_group = make_group(app, other, name="Poktan Lain")
    page_login(client, "lain@blitar.test")
    assert client.get(f"/groups/{group.id}/members/{siti.id}/edit").status_code == 403
    response = client.post(f"/groups/{group.id}/members/{siti.id}/edit", data=_member_form("Dibajak", active=False))
    assert response.status_code == 403
    # Through their own group's address the member is simply unknown.
    response = client.post(
        f"/groups/{other_group.id}/members/{siti.id}/edit", data=_member_form("Dibajak", active=False)
    )
    assert response.status_code == 404
    member = get_member(app, siti.id)
    assert (member.name, member.active) == ("Siti Aminah", True)


# --- invitations ------------------------------------------------------------------


def _invite(client, group, member_id):
    response = client.post(f"/groups/{group.id}/members/{member_id}/invite")
    assert response.status_code == 200, html(response)
    match = CODE.search(html(response))
    assert match, html(response)
    return response, match.group(1)


def test_invitation_code_lets_a_member_join_and_later_log_in_by_phone(app, client, make_client, group):
    siti = make_member(app, group, name="Siti Aminah", phone="+6281234567890")
    page_login(client, "ketua@blitar.test")
    response, code = _invite(client, group, siti.id)
    body = html(response)
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    assert 'href="https://wa.me/6281234567890?text=' in body
    assert code in re.search(r'href="(https://wa\.me/[^"]+)"', body).group(1)
    assert f"/join?code={code}" in body
    assert "WIB" in body  # the expiry, in Blitar's time

    member_client = make_client()
    assert member_client.get("/join", query_string={"code": code}).status_code == 200
    response = member_client.post("/join", data={"code": code, "phone": "", "password": "kata-sandi-baru"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/me/groups"
    assert "KUB Jahit Melati" in html(member_client.get("/me/groups"))
    with app.app_context():
        member = db.session.get(Member, siti.id)
        assert member.user is not None
        assert (member.user.phone, member.user.email, member.user.name) == ("+6281234567890", None, "Siti Aminah")
        assert db.session.scalar(select(Invitation.used_at)) is not None

    later = make_client()
    response = page_login(later, "0812 3456 7890", "kata-sandi-baru")
    assert response.status_code == 302 and response.headers["Location"] == "/me/groups"
    assert "KUB Jahit Melati" in html(later.get("/me/groups"))

    # The code works once.
    again = make_client().post("/join", data={"code": code, "phone": "0857 1111 2222", "password": "kata-sandi-lain"})
    assert again.status_code == 200
    assert t(app, "This invitation code is not valid or has expired.") in html(again)
    assert count_of(app, User) == 2


def test_invitation_code_is_read_without_case_or_dash(app, client, make_client, group):
    siti = make_member(app, group, name="Siti Aminah", phone="+6281234567890")
    page_login(client, "ketua@blitar.test")
    _, code = _invite(client, group, siti.id)
    response = make_client().post(
        "/join", data={"code": " " + code.lower().replace("-", " ") + " ", "password": "kata-sandi-baru"}
    )
    assert response.status_code == 302


def test_joining_with_a_short_or_missing_password_creates_no_account(app, client, make_client, group):
    siti = make_member(app, group, name="Siti Aminah", phone="+6281234567890")
    page_login(client, "ketua@blitar.test")
    _, code = _invite(client, group, siti.id)
    member_client = make_client()
    for password in ("pendek", ""):
        response = member_client.post("/join", data={"code": code, "password": password})
        assert response.status_code == 200
        assert 'class="field-error"' in html(response)
    assert count_of(app, User) == 1
    assert get_member(app, siti.id).user_id is None
    assert not logged_in(member_client)


def test_a_new_invitation_code_cancels_the_old_one(app, client, make_client, group):
    siti = make_member(app, group, name="Siti Aminah", phone="+6281234567890")
    page_login(client, "ketua@blitar.test")
    _, first = _invite(client, group, siti.id)
    _, second = _invite(client, group, siti.id)
    member_client = make_client()
    response = member_client.post("/join", data={"code": first, "password": "kata-sandi-baru"})
    assert response.status_code == 200
    assert count_of(app, User) == 1
    assert member_client.post("/join", data={"code": second, "password": "kata-sandi-baru"}).status_code == 302


def test_only_the_coordinator_can_make_an_invitation_code(app, client, group):
    siti = make_member(app, group, name="Siti Aminah", phone="+6281234567890")
    user = make_user(app, email="anggota@blitar.test")
    make_member(app, group, name="Anggota Biasa", user=user)
    page_login(client, "anggota@blitar.test")
    response = client.post(f"/groups/{group.id}/members/{siti.id}/invite")
    assert response.status_code == 403
    assert CODE.search(html(response)) is None
    assert count_of(app, Invitation) == 0


def test_my_groups_lists_the_users_active_groups(app, client, coordinator, group):
    other = make_user(app, email="lain@blitar.test")
    farm = make_group(app, other, name="Poktan Sido Makmur")
    gone = make_group(app, other, name="Poktan Lama")
    make_member(app, farm, name="Bu Sri", user=coordinator)
    make_member(app, gone, name="Bu Sri", user=coordinator, active=False)
    make_group(app, other, name="Poktan Orang Lain")
    page_login(client, "ketua@blitar.test")
    response = client.get("/me/groups")
    assert response.status_code == 200
    body = html(response)
    assert "KUB Jahit Melati" in body and "Poktan Sido Makmur" in body
    assert "Poktan Lama" not in body and "Poktan Orang Lain" not in body
    assert f'href="/groups/{group.id}/members"' in body and f'href="/groups/{farm.id}/members"' in body


def test_my_groups_needs_a_login(app, client):
    response = client.get("/me/groups")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/me/groups"


# --- verification -----------------------------------------------------------------


def test_district_admin_verifies_a_group(app, client, coordinator):
    group = make_group(app, coordinator, name="KUB Jahit Melati", verified=False)
    admin = make_user(app, email="admin@blitar.test", admin=True)
    page_login(client, "admin@blitar.test")
    page = client.get(f"/groups/{group.id}")
    assert page.status_code == 200
    assert f'action="/groups/{group.id}/verify"' in html(page)
    assert re.search(r'name="verified"[^>]*value="1"|value="1"[^>]*name="verified"', html(page))
    response = client.post(f"/groups/{group.id}/verify", data={"verified": "1"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/groups/{group.id}"
    saved = get_group(app, group.id)
    assert saved.verified is True and saved.verified_by_id == admin.id and saved.verified_at is not None
    page = html(client.get(f"/groups/{group.id}"))
    assert re.search(r'name="verified"[^>]*value="0"|value="0"[^>]*name="verified"', page)
    client.post(f"/groups/{group.id}/verify", data={"verified": "0"})
    saved = get_group(app, group.id)
    assert saved.verified is False and saved.verified_at is None


def test_non_admin_cannot_verify_a_group(app, client, coordinator):
    group = make_group(app, coordinator, name="KUB Jahit Melati", verified=False)
    page_login(client, "ketua@blitar.test")
    assert f'action="/groups/{group.id}/verify"' not in html(client.get(f"/groups/{group.id}"))
    response = client.post(f"/groups/{group.id}/verify", data={"verified": "1"})
    assert response.status_code == 403
    assert get_group(app, group.id).verified is False


# --- error pages --------------------------------------------------------------------

NOT_FOUND = "The page or item was not found."
PO_FILE = Path(config.__file__).parent / "translations" / "id" / "LC_MESSAGES" / "messages.po"


def test_unknown_page_is_a_404_page_in_indonesian_by_default(app, client):
    with open(PO_FILE, "rb") as po:
        indonesian = read_po(po)[NOT_FOUND].string
    assert indonesian and indonesian != NOT_FOUND, "the 404 message has no Indonesian translation"
    response = client.get("/tidak-ada")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    body = html(response)
    assert '<html lang="id">' in body
    assert f"404 · {escape(indonesian)}" in body
    assert NOT_FOUND not in body


def test_unknown_page_is_in_english_after_choosing_english(app, client):
    assert client.get("/lang/en").status_code == 302
    response = client.get("/tidak-ada")
    assert response.status_code == 404
    body = html(response)
    assert '<html lang="en">' in body
    assert f"404 · {NOT_FOUND}" in body


def test_unknown_api_path_answers_in_the_json_error_shape(app, client):
    response = client.get("/api/v1/tidak-ada")
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert set(response.json) == {"code", "status", "message", "errors"}
    assert response.json["code"] == 404 and response.json["status"] == "Not Found"


@pytest.fixture
def boom_app(database_url):
    """An app of its own with routes that fail, so the shared app keeps its routes fixed."""

    class BoomConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url

    with side_app(BoomConfig) as boom:

        def explode():
            db.session.add(Group(name="Hantu", kind=GroupKind.farmer, village="X", district="Y"))
            db.session.flush()
            raise RuntimeError("kaboom secret detail")

        boom.add_url_rule("/boom", "boom", explode)
        boom.add_url_rule("/api/v1/boom", "api_boom", explode)
        yield boom


def test_unexpected_error_is_a_500_page_without_a_traceback(app, db, boom_app):
    response = boom_app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    body = html(response)
    assert t(app, "Something went wrong on our side. Please try again later.") in body
    assert "Traceback" not in body and "kaboom" not in body and "RuntimeError" not in body
    assert count_of(app, Group) == 0


def test_unexpected_api_error_is_json_500_without_a_traceback(app, db, boom_app):
    response = boom_app.test_client().get("/api/v1/boom", headers={"Accept-Language": "en"})
    assert response.status_code == 500
    assert response.mimetype == "application/json"
    assert response.json == {
        "code": 500,
        "status": "Internal Server Error",
        "message": "Something went wrong on our side. Please try again later.",
        "errors": {},
    }
    raw = html(response)
    assert "Traceback" not in raw and "kaboom" not in raw
    assert count_of(app, Group) == 0


def test_a_body_over_the_size_limit_is_refused_with_413(app, client, coordinator):
    too_big = app.config["MAX_CONTENT_LENGTH"] + 1
    response = client.post("/login", data={"login": "x" * too_big, "password": PASSWORD})
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert t(app, "The request is too large.") in html(response)
    assert not logged_in(client)
    response = client.post("/api/v1/auth/login", data=b"{" + b" " * too_big + b"}", content_type="application/json")
    assert response.status_code == 413
    assert response.json["code"] == 413


# --- CSRF -----------------------------------------------------------------------------


@pytest.fixture
def csrf_app(database_url):
    class CsrfConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        WTF_CSRF_ENABLED = True

    with side_app(CsrfConfig) as csrf_app:
        yield csrf_app


def test_login_form_without_csrf_token_is_refused(app, db, csrf_app, coordinator):
    browser = csrf_app.test_client()
    response = page_login(browser, "ketua@blitar.test")
    assert response.status_code == 400
    assert t(app, "The request is malformed.") in html(response)
    assert not logged_in(browser)
    token = csrf_token(browser.get("/login"))
    response = browser.post(
        "/login", data={"login": "ketua@blitar.test", "password": PASSWORD, "csrf_token": "x" + token}
    )
    assert response.status_code == 400
    response = browser.post("/login", data={"login": "ketua@blitar.test", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert logged_in(browser)


def test_register_form_without_csrf_token_is_refused(app, db, csrf_app):
    browser = csrf_app.test_client()
    data = {"name": "Siti", "email": "siti@blitar.test", "password": "rahasia-456"}
    assert browser.post("/register", data=data).status_code == 400
    assert count_of(app, User) == 0
    token = csrf_token(browser.get("/register"))
    assert browser.post("/register", data={**data, "csrf_token": token}).status_code == 302
    assert count_of(app, User) == 1


def test_add_member_form_without_csrf_token_is_refused(app, db, csrf_app, group):
    browser = csrf_app.test_client()
    token = csrf_token(browser.get("/login"))
    browser.post("/login", data={"login": "ketua@blitar.test", "password": PASSWORD, "csrf_token": token})
    data = {"name": "Siti Aminah", "phone": "0812-3456-7890", "role": "member"}
    assert browser.post(f"/groups/{group.id}/members", data=data).status_code == 400
    assert count_of(app, Member) == 1
    token = csrf_token(browser.get(f"/groups/{group.id}/members"))
    assert browser.post(f"/groups/{group.id}/members", data={**data, "csrf_token": token}).status_code == 200
    assert count_of(app, Member) == 2


def test_logout_and_invite_without_csrf_token_are_refused(app, db, csrf_app, group):
    siti = make_member(app, group, name="Siti Aminah", phone="+6281234567890")
    browser = csrf_app.test_client()
    token = csrf_token(browser.get("/login"))
    browser.post("/login", data={"login": "ketua@blitar.test", "password": PASSWORD, "csrf_token": token})
    assert browser.post(f"/groups/{group.id}/members/{siti.id}/invite").status_code == 400
    assert count_of(app, Invitation) == 0
    assert browser.post("/logout").status_code == 400
    assert logged_in(browser)
    token = csrf_token(browser.get(f"/groups/{group.id}/members"))
    assert browser.post("/logout", data={"csrf_token": token}).status_code == 302
    assert not logged_in(browser)


# --- cookies and headers ----------------------------------------------------------------


def test_a_remember_me_cookie_alone_still_logs_in_and_no_cookie_makes_no_session(app, client, coordinator):
    response = client.get("/")
    assert "Set-Cookie" not in response.headers and t(app, "Log in") in html(response)
    client.post("/login", data={"login": "ketua@blitar.test", "password": PASSWORD, "remember": "y"})
    client.delete_cookie("session")
    assert logged_in(client)
    assert "Keluar" in html(client.get("/"))


def test_session_cookie_is_httponly_and_samesite_lax(app, client, coordinator):
    response = client.post("/login", data={"login": "ketua@blitar.test", "password": PASSWORD, "remember": "y"})
    for name in ("session", "remember_token"):
        cookie = set_cookie(response, name)
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    page = client.get("/me/groups")
    assert "no-store" in page.headers["Cache-Control"]


def _load_production_config(monkeypatch, database_url):
    """config.Config as a production host reads it (APP_ENV=production, nothing else set)."""
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "production-test-secret")
    monkeypatch.setenv("DATABASE_URL", database_url)
    for name in ("SESSION_COOKIE_SECURE", "REDIS_URL", "TRUSTED_PROXIES", "RATELIMIT_ENABLED"):
        monkeypatch.delenv(name, raising=False)
    spec = importlib.util.spec_from_file_location("config_as_in_production", config.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Config


def test_production_cookies_are_secure(app, db, coordinator, monkeypatch, database_url):
    production = _load_production_config(monkeypatch, database_url)
    assert production.SESSION_COOKIE_SECURE is True and production.REMEMBER_COOKIE_SECURE is True
    with side_app(production) as prod:
        assert prod.config["WTF_CSRF_ENABLED"] is True and not prod.testing
        browser = prod.test_client()
        token = csrf_token(browser.get("/login", base_url="https://localhost"))
        # Over HTTPS, Flask-WTF also wants a same-site Referer, as a browser sends.
        response = browser.post(
            "/login",
            base_url="https://localhost",
            headers={"Referer": "https://localhost/login"},
            data={"login": "ketua@blitar.test", "password": PASSWORD, "remember": "y", "csrf_token": token},
        )
        assert response.status_code == 302
        for name in ("session", "remember_token"):
            cookie = set_cookie(response, name)
            assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_refuses_to_start_without_a_secret_key(monkeypatch, database_url):
    production = _load_production_config(monkeypatch, database_url)
    monkeypatch.delenv("SECRET_KEY")
    spec = importlib.util.spec_from_file_location("config_without_secret", config.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert production.SECRET_KEY and module.Config.SECRET_KEY is None
    with pytest.raises(RuntimeError):
        create_app(module.Config)


@pytest.mark.parametrize("member_id", [2**31, 2**63, 10**30])
def test_a_huge_member_id_is_404_not_500(app, client, group, member_id):
    page_login(client, "ketua@blitar.test")
    assert client.get(f"/groups/{group.id}/members/{member_id}/edit").status_code == 404
    assert client.post(f"/groups/{group.id}/members/{member_id}/invite").status_code == 404


NUL = "Siti\x00Aminah"


def test_a_nul_character_in_any_form_is_a_4xx_or_a_form_error_never_a_500(app, client, make_client, group):
    """PostgreSQL cannot store NUL: every page must refuse it before the database sees it."""
    siti = make_member(app, group, name="Siti Aminah", phone="+6281234567890")
    anonymous = make_client()
    answers = {
        "home q": anonymous.get("/", query_string={"q": NUL}),
        "home kind": anonymous.get("/", query_string={"kind": NUL}),
        "login email": page_login(anonymous, "ketua\x00@blitar.test"),
        "login phone": page_login(anonymous, "0811\x001111111"),
        "login password": page_login(anonymous, "ketua@blitar.test", "rahasia\x00123"),
        "register": anonymous.post(
            "/register",
            data={"name": NUL, "email": "s\x00@blitar.test", "phone": "0812\x00", "password": "rahasia\x00456"},
        ),
        "join": anonymous.post("/join", data={"code": "ABCD\x00EFGH", "phone": "0812\x00", "password": "x\x00" * 5}),
        "lang next": anonymous.get("/lang/en", query_string={"next": "/\x00"}),
    }
    page_login(client, "ketua@blitar.test")
    answers |= {
        "new group": client.post(
            "/groups/new", data={**GROUP_FORM, "name": NUL, "village": "Desa\x00", "description": "a\x00b"}
        ),
        "edit group": client.post(f"/groups/{group.id}/edit", data={**GROUP_FORM, "pickup_point": "Balai\x00"}),
        "add member": client.post(
            f"/groups/{group.id}/members",
            data={"name": NUL, "phone": "0812\x003456", "email": "a\x00@b.test", "role": "member"},
        ),
        "edit member": client.post(
            f"/groups/{group.id}/members/{siti.id}/edit", data=_member_form(NUL, "0812-3456-7890", email="s\x00@b.test")
        ),
        "verify": client.post(f"/groups/{group.id}/verify", data={"verified": "\x00"}),
    }
    for what, response in answers.items():
        assert response.status_code < 500, (what, response.status_code)
    assert count_of(app, User) == 1 and count_of(app, Group) == 1 and count_of(app, Member) == 2
    assert get_member(app, siti.id).name == "Siti Aminah"
    assert get_group(app, group.id).pickup_point is None


def test_a_logged_in_user_links_their_account_with_an_invitation_code(app, client, make_client, group):
    siti = make_member(app, group, name="Siti Aminah", phone="+6281234567890")
    account = make_user(app, email="siti@blitar.test", name="Siti A.")
    page_login(client, "ketua@blitar.test")
    _, code = _invite(client, group, siti.id)
    browser = make_client()
    page_login(browser, "siti@blitar.test")
    page = browser.get("/join", query_string={"code": code})
    assert 'name="password"' not in html(page)
    response = browser.post("/join", data={"code": code})
    assert response.status_code == 302
    assert get_member(app, siti.id).user_id == account.id
    assert count_of(app, User) == 2
    assert "KUB Jahit Melati" in html(browser.get("/me/groups"))


def test_an_inactive_account_cannot_log_in(app, client, coordinator):
    with app.app_context():
        db.session.get(User, coordinator.id).active = False
        db.session.commit()
    response = page_login(client, "ketua@blitar.test")
    assert response.status_code == 200
    assert t(app, "Wrong e-mail, phone number, login name or password.") in html(response)
    assert not logged_in(client)


def test_too_many_login_attempts_get_a_429_page(app, client, coordinator):
    for _ in range(5):
        assert page_login(client, "ketua@blitar.test", "salah-sandi-1").status_code == 200
    response = page_login(client, "ketua@blitar.test")
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    assert int(response.headers["Retry-After"]) > 0
    assert t(app, "Too many attempts. Please wait a moment and try again.") in html(response)
    assert not logged_in(client)


def test_limits_for_every_request_are_refused_since_only_limits_on_views_are_checked(database_url):
    class EveryRequest(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        RATELIMIT_DEFAULT = "100 per minute"

    with pytest.raises(RuntimeError, match="RATELIMIT_DEFAULT"):
        with side_app(EveryRequest):
            pass


def test_what_people_type_is_escaped_on_every_page(app, client, coordinator):
    script = "<script>alert(1)</script>"
    page_login(client, "ketua@blitar.test")
    client.post("/groups/new", data={**GROUP_FORM, "name": "KUB " + script, "description": script})
    with app.app_context():
        group_id = db.session.scalar(select(Group.id))
    client.post(f"/groups/{group_id}/members", data={"name": "Siti " + script, "role": "member"})
    for path in ("/", f"/groups/{group_id}", f"/groups/{group_id}/members", "/me/groups", f"/groups/{group_id}/edit"):
        body = html(client.get(path))
        assert "<script>" not in body, path
        assert "&lt;script&gt;" in body, path
