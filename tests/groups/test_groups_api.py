"""The groups API: groups, members, roles and invitations; who may see and change what."""

from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import pytest

from accounts.models import User
from core.extensions import db
from core.types import utcnow
from groups.models import Group, Invitation, Member
from tests.factories import (
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
PHONE = "+6281234567890"


def group_body(**overrides):
    body = {"name": "KUB Jahit Melati", "kind": "business", "village": "Sumberejo", "district": "Sanankulon"}
    body.update(overrides)
    return body


def actor(app, **user_kwargs):
    """A user with an API token: (user record, auth headers)."""
    user = make_user(app, **user_kwargs)
    return SimpleNamespace(user=user, headers=bearer(make_token(app, user)), id=user.id)


def coordinated_group(app, **group_kwargs):
    """A group with its coordinator (who holds a token)."""
    lead = actor(app)
    group = make_group(app, lead.user, **group_kwargs)
    return group, lead


def member_with_account(app, group, role="member"):
    """A member of `group` who has an account and a token."""
    person = actor(app)
    record = make_member(
        app, group, name=f"Anggota {person.id}", user=person.user, role=role, phone=None, email=person.user.email
    )
    person.member_id = record.id
    return person


def snapshot(app):
    return {
        "groups": rows(app, Group),
        "members": rows(app, Member),
        "invitations": rows(app, Invitation),
        "users": rows(app, User),
    }


# --- creating groups ----------------------------------------------------------


def test_create_group_returns_201_and_caller_becomes_coordinator(app, client):
    founder = actor(app)

    response = client.post(f"{API}/groups", json=group_body(pickup_point="Balai desa"), headers=founder.headers)

    assert response.status_code == 201, response.json
    body = response.json
    assert body["name"] == "KUB Jahit Melati"
    assert body["kind"] == "business"
    assert body["village"] == "Sumberejo"
    assert body["district"] == "Sanankulon"
    assert body["pickup_point"] == "Balai desa"
    assert body["verified"] is False
    assert body["member_count"] == 1
    me = client.get(f"{API}/me", headers=founder.headers).json
    [membership] = me["memberships"]
    assert membership["group_id"] == body["id"]
    assert membership["role"] == "coordinator"
    lead = fetch(app, Member, membership["member_id"])
    assert lead.user_id == founder.id
    assert lead.group_id == body["id"]
    assert lead.active is True


def test_create_group_with_session_login(app, client):
    user = make_user(app)
    login(client, user)

    response = client.post(f"{API}/groups", json=group_body(kind="farmer", name="Poktan Sumber Rejeki"))

    assert response.status_code == 201
    assert response.json["kind"] == "farmer"
    assert count(app, Group) == 1


def test_create_group_anonymously_is_401_and_creates_nothing(app, client):
    response = client.post(f"{API}/groups", json=group_body())

    assert_error(response, 401)
    assert count(app, Group) == 0
    assert count(app, Member) == 0


@pytest.mark.parametrize("kind", ["shop", "Farmer", "", None, 1])
def test_create_group_refuses_unknown_kind_with_422(app, client, kind):
    founder = actor(app)

    response = client.post(f"{API}/groups", json=group_body(kind=kind), headers=founder.headers)

    assert_error(response, 422, "kind")
    assert count(app, Group) == 0
    assert count(app, Member) == 0


@pytest.mark.parametrize("missing", ["name", "kind", "village", "district"])
def test_create_group_refuses_missing_field_with_422(app, client, missing):
    founder = actor(app)
    body = group_body()
    del body[missing]

    response = client.post(f"{API}/groups", json=body, headers=founder.headers)

    assert_error(response, 422, missing)
    assert count(app, Group) == 0


def test_create_group_with_empty_body_names_every_required_field(app, client):
    founder = actor(app)

    response = client.post(f"{API}/groups", json={}, headers=founder.headers)

    assert_error(response, 422, "name", "kind", "village", "district")
    assert count(app, Group) == 0


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", 12345),
        ("name", "   "),
        ("name", "x" * 20_000),
        ("village", ""),
        ("district", ["Sanankulon"]),
        ("description", "x" * 2001),
        ("pickup_point", 7),
        ("verified", True),
        ("id", 5),
    ],
)
def test_create_group_refuses_bad_field_with_422(app, client, field, value):
    founder = actor(app)

    response = client.post(f"{API}/groups", json=group_body(**{field: value}), headers=founder.headers)

    assert_error(response, 422, field)
    assert count(app, Group) == 0
    assert count(app, Member) == 0


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", "KUB\x00Jahit"),
        ("village", "\x00"),
        ("district", "Sanan\x1bkulon"),
        ("description", "Menjahit\x00"),
        ("pickup_point", "Balai\x00desa"),
    ],
)
def test_create_group_refuses_control_characters_with_422(app, client, field, value):
    founder = actor(app)

    response = client.post(f"{API}/groups", json=group_body(**{field: value}), headers=founder.headers)

    assert_error(response, 422, field)
    assert count(app, Group) == 0


def test_group_description_keeps_line_breaks(app, client):
    founder = actor(app)

    response = client.post(
        f"{API}/groups", json=group_body(description="Baris satu\nBaris dua\tdan tab"), headers=founder.headers
    )

    assert response.status_code == 201
    assert fetch(app, Group, response.json["id"]).description == "Baris satu\nBaris dua\tdan tab"


def test_create_group_refuses_json_array_with_422(app, client):
    founder = actor(app)

    response = client.post(f"{API}/groups", json=[group_body()], headers=founder.headers)

    assert_error(response, 422)
    assert count(app, Group) == 0


def test_create_group_refuses_malformed_json_with_400(app, client):
    founder = actor(app)

    response = client.post(
        f"{API}/groups",
        data='{"name": "KUB", "kind": "business",',
        headers=founder.headers,
        content_type="application/json",
    )

    assert_error(response, 400)
    assert count(app, Group) == 0


def test_create_group_refuses_duplicate_name_in_same_village_with_409(app, client):
    founder = actor(app)
    assert client.post(f"{API}/groups", json=group_body(), headers=founder.headers).status_code == 201
    other = actor(app)
    before = snapshot(app)

    response = client.post(
        f"{API}/groups", json=group_body(name="kub jahit MELATI", village="SUMBEREJO"), headers=other.headers
    )

    assert_error(response, 409, "name")
    assert snapshot(app) == before


def test_create_group_refuses_duplicate_non_ascii_name_in_other_case_with_409(app, client):
    founder = actor(app)
    assert client.post(f"{API}/groups", json=group_body(name="Poktan Ñoño"), headers=founder.headers).status_code == 201
    before = snapshot(app)

    response = client.post(f"{API}/groups", json=group_body(name="poktan ñoño"), headers=founder.headers)

    assert_error(response, 409, "name")
    assert snapshot(app) == before


def test_create_group_allows_same_name_in_another_district(app, client):
    founder = actor(app)
    assert client.post(f"{API}/groups", json=group_body(), headers=founder.headers).status_code == 201

    response = client.post(
        f"{API}/groups", json=group_body(village="Kalipucung", district="Kanigoro"), headers=founder.headers
    )

    assert response.status_code == 201
    assert count(app, Group) == 2


@pytest.mark.parametrize("name", ["KUB Jahit Siti Aminah 😊", "Ñoño Tani", "ꦏꦸꦧ꧀ ꦗꦲꦶꦠ꧀"])
def test_create_group_accepts_unicode_names(app, client, name):
    founder = actor(app)

    response = client.post(f"{API}/groups", json=group_body(name=name), headers=founder.headers)

    assert response.status_code == 201
    assert client.get(f"{API}/groups/{response.json['id']}").json["name"] == name


# --- listing and reading groups -----------------------------------------------


def test_list_groups_has_pagination_shape(app, client):
    lead = make_user(app)
    for name in ("Poktan Anggrek", "KUB Bunga", "Poktan Cempaka"):
        make_group(app, lead, name=name)

    response = client.get(f"{API}/groups")

    assert response.status_code == 200
    body = response.json
    assert set(body) == {"items", "page", "per_page", "total"}
    assert body["page"] == 1
    assert body["per_page"] == 50
    assert body["total"] == 3
    assert [g["name"] for g in body["items"]] == ["KUB Bunga", "Poktan Anggrek", "Poktan Cempaka"]
    assert all(g["member_count"] == 1 for g in body["items"])


def test_list_groups_pages_through(app, client):
    lead = make_user(app)
    for i in range(5):
        make_group(app, lead, name=f"Kelompok {i}")

    first = client.get(f"{API}/groups?per_page=2&page=1").json
    third = client.get(f"{API}/groups?per_page=2&page=3").json
    beyond = client.get(f"{API}/groups?per_page=2&page=9").json

    assert [g["name"] for g in first["items"]] == ["Kelompok 0", "Kelompok 1"]
    assert [g["name"] for g in third["items"]] == ["Kelompok 4"]
    assert beyond["items"] == []
    assert first["total"] == third["total"] == beyond["total"] == 5
    assert third["per_page"] == 2 and third["page"] == 3


def test_list_groups_counts_only_active_members(app, client):
    group, _lead = coordinated_group(app)
    make_member(app, group, name="Aktif")
    make_member(app, group, name="Keluar", active=False)

    [item] = client.get(f"{API}/groups").json["items"]

    assert item["member_count"] == 2


def test_list_groups_shows_verified_first(app, client):
    lead = make_user(app)
    make_group(app, lead, name="A Belum", verified=False)
    make_group(app, lead, name="Z Sudah", verified=True)

    names = [g["name"] for g in client.get(f"{API}/groups").json["items"]]

    assert names == ["Z Sudah", "A Belum"]


@pytest.mark.parametrize(
    "query, field",
    [
        ("per_page=101", "per_page"),
        ("per_page=0", "per_page"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("kind=shop", "kind"),
        ("q=" + "x" * 500, "q"),
    ],
)
def test_list_groups_refuses_bad_query_with_422(app, client, query, field):
    response = client.get(f"{API}/groups?{query}")

    assert_error(response, 422, field)


@pytest.mark.parametrize("field", ["q", "village", "district"])
def test_list_groups_refuses_control_characters_in_query_with_422(app, client, field):
    coordinated_group(app)

    response = client.get(f"{API}/groups", query_string={field: "Sumber\x00ejo"})

    assert_error(response, 422, field)


def test_list_groups_search_takes_percent_and_underscore_literally(app, client):
    lead = make_user(app)
    percent = make_group(app, lead, name="KUB 100% Jahit")
    underscore = make_group(app, lead, name="Poktan_Makmur")
    make_group(app, lead, name="KUB Biasa")

    def ids(q):
        response = client.get(f"{API}/groups", query_string={"q": q})
        assert response.status_code == 200
        return {g["id"] for g in response.json["items"]}

    assert ids("%") == {percent.id}
    assert ids("_") == {underscore.id}
    assert ids("100%") == {percent.id}
    assert ids("\\") == set()
    assert ids("/") == set()


def test_list_groups_accepts_per_page_100(app, client):
    response = client.get(f"{API}/groups?per_page=100")

    assert response.status_code == 200
    assert response.json["per_page"] == 100


def test_list_groups_filters_by_q_kind_and_village(app, client):
    lead = make_user(app)
    melati = make_group(app, lead, name="KUB Jahit Melati", kind="business", village="Sumberejo", district="Sanankulon")
    rejeki = make_group(
        app, lead, name="Poktan Sumber Rejeki", kind="farmer", village="Kalipucung", district="Sanankulon"
    )
    makmur = make_group(app, lead, name="Poktan Makmur", kind="farmer", village="Sumberejo", district="Kanigoro")

    def ids(query):
        response = client.get(f"{API}/groups?{query}")
        assert response.status_code == 200, response.json
        assert response.json["total"] == len(response.json["items"])
        return {g["id"] for g in response.json["items"]}

    assert ids("q=jahit") == {melati.id}
    assert ids("q=SUMBER") == {melati.id, rejeki.id, makmur.id}  # name or village
    assert ids("q=kanigoro") == {makmur.id}  # district
    assert ids("q=tidak-ada") == set()
    assert ids("kind=farmer") == {rejeki.id, makmur.id}
    assert ids("kind=business") == {melati.id}
    assert ids("village=sumberejo") == {melati.id, makmur.id}
    assert ids("village=Sumber") == set()  # exact village, not a prefix
    assert ids("kind=farmer&village=Sumberejo") == {makmur.id}
    assert ids("district=Sanankulon&q=poktan") == {rejeki.id}


def test_get_group_is_public(app, client):
    group, _lead = coordinated_group(app, name="KUB Jahit Melati")

    response = client.get(f"{API}/groups/{group.id}")

    assert response.status_code == 200
    assert response.json["id"] == group.id
    assert response.json["name"] == "KUB Jahit Melati"
    assert "members" not in response.json


@pytest.mark.parametrize("group_id", ["999999", "2147483648", "99999999999999999999"])
def test_get_unknown_group_is_404(app, client, group_id):
    coordinated_group(app)

    assert_error(client.get(f"{API}/groups/{group_id}"), 404)


# --- changing groups ----------------------------------------------------------


def test_coordinator_patches_group(app, client):
    group, lead = coordinated_group(app)

    response = client.patch(
        f"{API}/groups/{group.id}",
        headers=lead.headers,
        json={
            "description": "Menjahit seragam sekolah",
            "pickup_hours": "Senin-Jumat 08-15",
            "name": "KUB Jahit Mawar",
        },
    )

    assert response.status_code == 200, response.json
    assert response.json["name"] == "KUB Jahit Mawar"
    stored = fetch(app, Group, group.id)
    assert stored.name == "KUB Jahit Mawar"
    assert stored.description == "Menjahit seragam sekolah"
    assert stored.pickup_hours == "Senin-Jumat 08-15"


def test_coordinator_sets_the_bank_account_buyers_transfer_to(app, client):
    group, lead = coordinated_group(app)

    response = client.patch(
        f"{API}/groups/{group.id}",
        headers=lead.headers,
        json={
            "bank_name": "  BRI Unit Srengat ",
            "bank_account_number": " 0123-01-000456.50 1 ",
            "bank_account_holder": "KUB Jahit Melati",
        },
    )

    assert response.status_code == 200, response.json
    assert (response.json["bank_name"], response.json["bank_account_number"], response.json["bank_account_holder"]) == (
        "BRI Unit Srengat",
        "0123-01-000456.50 1",
        "KUB Jahit Melati",
    )
    public = client.get(f"{API}/groups/{group.id}").json
    assert public["bank_account_number"] == "0123-01-000456.50 1"
    stored = fetch(app, Group, group.id)
    assert (stored.bank_name, stored.bank_account_holder) == ("BRI Unit Srengat", "KUB Jahit Melati")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"bank_account_number": "0123 4567 89x"}, "bank_account_number"),
        ({"bank_account_number": "-0123"}, "bank_account_number"),
        ({"bank_account_number": "０１２３"}, "bank_account_number"),
        ({"bank_account_number": "1" * 41}, "bank_account_number"),
        ({"bank_name": "B" * 101}, "bank_name"),
        ({"bank_name": "BRI\nUnit"}, "bank_name"),
        ({"bank_account_holder": "H" * 121}, "bank_account_holder"),
        ({"bank_account_holder": 5}, "bank_account_holder"),
    ],
)
def test_patch_group_refuses_a_bad_bank_account_with_422(app, client, body, field):
    group, lead = coordinated_group(app)
    before = snapshot(app)

    response = client.patch(f"{API}/groups/{group.id}", headers=lead.headers, json=body)

    assert_error(response, 422, field)
    assert snapshot(app) == before


def test_coordinator_clears_optional_group_field_with_null(app, client):
    group, lead = coordinated_group(app, description="Lama")

    response = client.patch(f"{API}/groups/{group.id}", headers=lead.headers, json={"description": None})

    assert response.status_code == 200
    assert fetch(app, Group, group.id).description is None


def test_coordinator_of_another_group_cannot_patch_group(app, client):
    group, _lead = coordinated_group(app)
    _other_group, other_lead = coordinated_group(app)
    before = snapshot(app)

    response = client.patch(f"{API}/groups/{group.id}", headers=other_lead.headers, json={"name": "Diambil alih"})

    assert_error(response, 403)
    assert snapshot(app) == before


@pytest.mark.parametrize("role", ["member", "treasurer"])
def test_non_coordinator_member_cannot_patch_group(app, client, role):
    group, _lead = coordinated_group(app)
    person = member_with_account(app, group, role=role)
    before = snapshot(app)

    response = client.patch(f"{API}/groups/{group.id}", headers=person.headers, json={"name": "Diambil alih"})

    assert_error(response, 403)
    assert snapshot(app) == before


def test_deactivated_coordinator_cannot_patch_group(app, client):
    group, _lead = coordinated_group(app)
    former = member_with_account(app, group, role="coordinator")
    with app.app_context():
        db.session.get(Member, former.member_id).active = False
        db.session.commit()
    before = snapshot(app)

    response = client.patch(f"{API}/groups/{group.id}", headers=former.headers, json={"name": "Diambil alih"})

    assert_error(response, 403)
    assert snapshot(app) == before


def test_anonymous_patch_group_is_401(app, client):
    group, _lead = coordinated_group(app)
    before = snapshot(app)

    response = client.patch(f"{API}/groups/{group.id}", json={"name": "Diambil alih"})

    assert_error(response, 401)
    assert snapshot(app) == before


def test_patch_unknown_group_is_404(app, client):
    _group, lead = coordinated_group(app)

    assert_error(client.patch(f"{API}/groups/999999", headers=lead.headers, json={"name": "X"}), 404)


def test_patch_group_to_a_taken_name_in_the_village_is_409(app, client):
    lead = actor(app)
    make_group(app, lead.user, name="KUB Jahit Melati", village="Sumberejo")
    group = make_group(app, lead.user, name="KUB Jahit Mawar", village="Sumberejo")
    before = snapshot(app)

    response = client.patch(f"{API}/groups/{group.id}", headers=lead.headers, json={"name": "kub jahit melati"})

    assert_error(response, 409, "name")
    assert snapshot(app) == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "shop"}, "kind"),
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"name": 5}, "name"),
        ({"village": "   "}, "village"),
        ({"verified": True}, "verified"),
        ({"created_by_id": 1}, "created_by_id"),
    ],
)
def test_patch_group_refuses_bad_input_with_422(app, client, body, field):
    group, lead = coordinated_group(app)
    before = snapshot(app)

    response = client.patch(f"{API}/groups/{group.id}", headers=lead.headers, json=body)

    assert_error(response, 422, field)
    assert snapshot(app) == before


# --- verifying groups ---------------------------------------------------------


def test_district_admin_verifies_group(app, client):
    group, _lead = coordinated_group(app)
    admin = actor(app, admin=True)

    response = client.post(f"{API}/groups/{group.id}/verify", headers=admin.headers, json={"verified": True})

    assert response.status_code == 200, response.json
    assert response.json["verified"] is True
    assert response.json["verified_at"] is not None
    stored = fetch(app, Group, group.id)
    assert stored.verified is True
    assert stored.verified_by_id == admin.id
    assert client.get(f"{API}/groups?verified=true").json["total"] == 1


def test_district_admin_withdraws_verification(app, client):
    group, _lead = coordinated_group(app)
    admin = actor(app, admin=True)
    client.post(f"{API}/groups/{group.id}/verify", headers=admin.headers, json={"verified": True})

    response = client.post(f"{API}/groups/{group.id}/verify", headers=admin.headers, json={"verified": False})

    assert response.status_code == 200
    stored = fetch(app, Group, group.id)
    assert stored.verified is False
    assert stored.verified_at is None
    assert stored.verified_by_id is None


@pytest.mark.parametrize("who", ["coordinator", "member", "outsider"])
def test_only_district_admin_may_verify_group(app, client, who):
    group, lead = coordinated_group(app)
    headers = {
        "coordinator": lambda: lead.headers,
        "member": lambda: member_with_account(app, group).headers,
        "outsider": lambda: actor(app).headers,
    }[who]()
    before = snapshot(app)

    response = client.post(f"{API}/groups/{group.id}/verify", headers=headers, json={"verified": True})

    assert_error(response, 403)
    assert snapshot(app) == before


def test_anonymous_verify_is_401(app, client):
    group, _lead = coordinated_group(app)
    before = snapshot(app)

    assert_error(client.post(f"{API}/groups/{group.id}/verify", json={"verified": True}), 401)
    assert snapshot(app) == before


@pytest.mark.parametrize("body", [{"verified": "yes"}, {"verified": 1}, {"verified": "true"}, {}])
def test_verify_refuses_non_boolean_with_422(app, client, body):
    group, _lead = coordinated_group(app)
    admin = actor(app, admin=True)
    before = snapshot(app)

    response = client.post(f"{API}/groups/{group.id}/verify", headers=admin.headers, json=body)

    assert_error(response, 422, "verified")
    assert snapshot(app) == before


def test_verify_unknown_group_is_404(app, client):
    admin = actor(app, admin=True)

    assert_error(client.post(f"{API}/groups/424242/verify", headers=admin.headers, json={"verified": True}), 404)


# --- adding members -----------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    ["0812-3456-7890", "62 812 3456 7890", "+62 812-3456-7890", "081234567890", "+6281234567890", "(0812) 3456.7890"],
)
def test_coordinator_adds_member_with_phone_in_any_form(app, client, phone):
    group, lead = coordinated_group(app)

    response = client.post(
        f"{API}/groups/{group.id}/members", headers=lead.headers, json={"name": "Siti Aminah", "phone": phone}
    )

    assert response.status_code == 201, response.json
    body = response.json
    assert body["phone"] == PHONE
    assert body["role"] == "member"
    assert body["active"] is True
    assert "has_account" not in body
    assert body["invitation"]["code"]
    assert body["group_id"] == group.id
    stored = fetch(app, Member, body["id"])
    assert stored.phone == PHONE
    assert stored.user_id is None


@pytest.mark.parametrize(
    "phone", ["12345", "+1 202 555 0100", "abc", "0812", "08123456789012345678901", "+62 812 abc", "62"]
)
def test_add_member_refuses_malformed_phone_with_422(app, client, phone):
    group, lead = coordinated_group(app)
    before = snapshot(app)

    response = client.post(
        f"{API}/groups/{group.id}/members", headers=lead.headers, json={"name": "Siti Aminah", "phone": phone}
    )

    assert_error(response, 422, "phone")
    assert snapshot(app) == before


@pytest.mark.parametrize("role", ["ketua", "Coordinator", "admin", "", None, 3])
def test_add_member_refuses_unknown_role_with_422(app, client, role):
    group, lead = coordinated_group(app)
    before = snapshot(app)

    response = client.post(
        f"{API}/groups/{group.id}/members", headers=lead.headers, json={"name": "Siti Aminah", "role": role}
    )

    assert_error(response, 422, "role")
    assert snapshot(app) == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "  "}, "name"),
        ({"name": 42}, "name"),
        ({"name": "x" * 20_000}, "name"),
        ({"name": "Siti", "email": "bukan-email"}, "email"),
        ({"name": "Siti", "active": False}, "active"),
        ({"name": "Siti", "user_id": 1}, "user_id"),
    ],
)
def test_add_member_refuses_bad_input_with_422(app, client, body, field):
    group, lead = coordinated_group(app)
    before = snapshot(app)

    response = client.post(f"{API}/groups/{group.id}/members", headers=lead.headers, json=body)

    assert_error(response, 422, field)
    assert snapshot(app) == before


@pytest.mark.parametrize(
    "field, value", [("name", "Siti\x00"), ("email", "siti\x00@example.test"), ("phone", "0812\x003456\x007890")]
)
def test_add_member_refuses_control_characters_with_422(app, client, field, value):
    group, lead = coordinated_group(app)
    before = snapshot(app)

    response = client.post(
        f"{API}/groups/{group.id}/members", headers=lead.headers, json={"name": "Siti Aminah", field: value}
    )

    assert_error(response, 422, field)
    assert snapshot(app) == before


@pytest.mark.parametrize("role", ["coordinator", "treasurer", "member"])
def test_add_member_with_each_role(app, client, role):
    group, lead = coordinated_group(app)

    response = client.post(
        f"{API}/groups/{group.id}/members", headers=lead.headers, json={"name": "Siti Aminah", "role": role}
    )

    assert response.status_code == 201
    assert fetch(app, Member, response.json["id"]).role == role


def test_add_member_without_account_or_contact(app, client):
    group, lead = coordinated_group(app)

    response = client.post(f"{API}/groups/{group.id}/members", headers=lead.headers, json={"name": "Mbah Karto"})

    assert response.status_code == 201
    assert response.json["phone"] is None
    assert response.json["email"] is None
    assert response.json["invitation"] is None
    assert "has_account" not in response.json
    assert count(app, Invitation) == 0


def test_add_member_refuses_duplicate_name_and_phone_with_409(app, client):
    group, lead = coordinated_group(app)
    first = client.post(
        f"{API}/groups/{group.id}/members",
        headers=lead.headers,
        json={"name": "Siti Aminah", "phone": "0812-3456-7890"},
    )
    assert first.status_code == 201
    before = snapshot(app)

    again = client.post(
        f"{API}/groups/{group.id}/members",
        headers=lead.headers,
        json={"name": "siti aminah", "phone": "+62 812 3456 7890"},
    )

    assert_error(again, 409, "name")
    assert snapshot(app) == before
    with app.app_context():
        assert db.session.query(Member).filter_by(group_id=group.id, phone=PHONE).count() == 1


def test_add_member_refuses_duplicate_name_without_phone_with_409(app, client):
    group, lead = coordinated_group(app)
    assert (
        client.post(f"{API}/groups/{group.id}/members", headers=lead.headers, json={"name": "Mbah Karto"}).status_code
        == 201
    )
    before = snapshot(app)

    again = client.post(f"{API}/groups/{group.id}/members", headers=lead.headers, json={"name": "Mbah Karto"})

    assert_error(again, 409)
    assert snapshot(app) == before


def test_add_member_allows_same_name_with_another_phone(app, client):
    group, lead = coordinated_group(app)
    client.post(
        f"{API}/groups/{group.id}/members",
        headers=lead.headers,
        json={"name": "Siti Aminah", "phone": "0812-3456-7890"},
    )

    response = client.post(
        f"{API}/groups/{group.id}/members",
        headers=lead.headers,
        json={"name": "Siti Aminah", "phone": "0813-3456-7890"},
    )

    assert response.status_code == 201
    assert count(app, Member) == 3


def test_add_member_refuses_duplicate_email_with_409(app, client):
    group, lead = coordinated_group(app)
    client.post(
        f"{API}/groups/{group.id}/members",
        headers=lead.headers,
        json={"name": "Siti Aminah", "email": "siti@example.test"},
    )
    before = snapshot(app)

    response = client.post(
        f"{API}/groups/{group.id}/members", headers=lead.headers, json={"name": "Siti A.", "email": "SITI@example.test"}
    )

    assert_error(response, 409, "email")
    assert snapshot(app) == before


def test_add_member_refuses_an_account_already_in_the_group_with_409(app, client):
    group, lead = coordinated_group(app)
    before = snapshot(app)

    response = client.post(
        f"{API}/groups/{group.id}/members", headers=lead.headers, json={"name": "Saya Lagi", "email": lead.user.email}
    )

    assert_error(response, 409, "email")
    assert snapshot(app) == before


def test_add_member_refuses_account_of_a_deactivated_member_with_409(app, client):
    group, lead = coordinated_group(app)
    person = member_with_account(app, group)
    patched = client.patch(
        f"{API}/groups/{group.id}/members/{person.member_id}", headers=lead.headers, json={"active": False}
    )
    assert patched.status_code == 200
    before = snapshot(app)

    response = client.post(
        f"{API}/groups/{group.id}/members",
        headers=lead.headers,
        json={"name": "Kembali Lagi", "email": person.user.email},
    )

    assert_error(response, 409, "email")
    assert snapshot(app) == before


def test_patch_member_email_to_an_active_members_email_is_409(app, client):
    group, lead = coordinated_group(app)
    person = member_with_account(app, group)
    siti = make_member(app, group, name="Siti Aminah")
    before = snapshot(app)

    response = client.patch(
        f"{API}/groups/{group.id}/members/{siti.id}", headers=lead.headers, json={"email": person.user.email}
    )

    assert_error(response, 409, "email")
    assert snapshot(app) == before


def test_patch_inactive_member_email_to_an_accounts_email_links_nothing(app, client):
    group, lead = coordinated_group(app)
    person = member_with_account(app, group)
    siti = make_member(app, group, name="Siti Aminah", active=False)

    response = client.patch(
        f"{API}/groups/{group.id}/members/{siti.id}", headers=lead.headers, json={"email": person.user.email}
    )

    assert response.status_code == 200, response.json
    assert response.json["has_account"] is False
    assert fetch(app, Member, siti.id).user_id is None


@pytest.mark.parametrize("role", ["member", "treasurer"])
def test_non_coordinator_cannot_add_member(app, client, role):
    group, _lead = coordinated_group(app)
    person = member_with_account(app, group, role=role)
    before = snapshot(app)

    response = client.post(f"{API}/groups/{group.id}/members", headers=person.headers, json={"name": "Siti"})

    assert_error(response, 403)
    assert snapshot(app) == before


def test_coordinator_of_another_group_cannot_add_member(app, client):
    group, _lead = coordinated_group(app)
    _other, other_lead = coordinated_group(app)
    before = snapshot(app)

    response = client.post(f"{API}/groups/{group.id}/members", headers=other_lead.headers, json={"name": "Siti"})

    assert_error(response, 403)
    assert snapshot(app) == before


def test_anonymous_add_member_is_401(app, client):
    group, _lead = coordinated_group(app)
    before = snapshot(app)

    assert_error(client.post(f"{API}/groups/{group.id}/members", json={"name": "Siti"}), 401)
    assert snapshot(app) == before


def test_add_member_to_unknown_group_is_404(app, client):
    _group, lead = coordinated_group(app)
    before = snapshot(app)

    assert_error(client.post(f"{API}/groups/777777/members", headers=lead.headers, json={"name": "Siti"}), 404)
    assert snapshot(app) == before


# --- listing members ----------------------------------------------------------


def _members_setup(app):
    group, lead = coordinated_group(app)
    make_member(app, group, name="Siti Aminah", phone=PHONE, email="siti@example.test")
    treasurer = member_with_account(app, group, role="treasurer")
    plain = member_with_account(app, group, role="member")
    return group, lead, treasurer, plain


@pytest.mark.parametrize("who", ["coordinator", "treasurer"])
def test_coordinator_and_treasurer_see_members_with_contacts(app, client, who):
    group, lead, treasurer, _plain = _members_setup(app)
    headers = lead.headers if who == "coordinator" else treasurer.headers

    response = client.get(f"{API}/groups/{group.id}/members", headers=headers)

    assert response.status_code == 200, response.json
    body = response.json
    assert set(body) == {"items", "page", "per_page", "total"}
    assert body["total"] == 4
    siti = next(m for m in body["items"] if m["name"] == "Siti Aminah")
    assert siti["phone"] == PHONE
    assert siti["email"] == "siti@example.test"
    assert siti["has_account"] is False


def test_plain_member_sees_members_without_contacts(app, client):
    group, _lead, _treasurer, plain = _members_setup(app)

    response = client.get(f"{API}/groups/{group.id}/members", headers=plain.headers)

    assert response.status_code == 200
    items = response.json["items"]
    assert len(items) == 4
    assert "Siti Aminah" in {m["name"] for m in items}
    assert {m["role"] for m in items} == {"coordinator", "treasurer", "member"}
    assert all(m["phone"] is None and m["email"] is None for m in items)
    assert PHONE not in response.get_data(as_text=True)
    assert "siti@example.test" not in response.get_data(as_text=True)


def test_plain_member_sees_one_member_without_contacts(app, client):
    group, _lead, _treasurer, plain = _members_setup(app)
    siti_id = next(r["id"] for r in rows(app, Member) if r["name"] == "Siti Aminah")

    response = client.get(f"{API}/groups/{group.id}/members/{siti_id}", headers=plain.headers)

    assert response.status_code == 200
    assert response.json["name"] == "Siti Aminah"
    assert response.json["phone"] is None
    assert response.json["email"] is None


def test_district_admin_sees_members_with_contacts(app, client):
    group, _lead, _treasurer, _plain = _members_setup(app)
    admin = actor(app, admin=True)

    response = client.get(f"{API}/groups/{group.id}/members", headers=admin.headers)

    assert response.status_code == 200
    assert PHONE in {m["phone"] for m in response.json["items"]}


@pytest.mark.parametrize("who", ["outsider", "other_coordinator", "deactivated_member"])
def test_people_outside_the_group_cannot_list_members(app, client, who):
    group, _lead, _treasurer, _plain = _members_setup(app)
    if who == "outsider":
        headers = actor(app).headers
    elif who == "other_coordinator":
        headers = coordinated_group(app)[1].headers
    else:
        former = member_with_account(app, group)
        with app.app_context():
            db.session.get(Member, former.member_id).active = False
            db.session.commit()
        headers = former.headers

    assert_error(client.get(f"{API}/groups/{group.id}/members", headers=headers), 403)
    siti_id = next(r["id"] for r in rows(app, Member) if r["name"] == "Siti Aminah")
    assert_error(client.get(f"{API}/groups/{group.id}/members/{siti_id}", headers=headers), 403)


def test_anonymous_cannot_list_members(app, client):
    group, _lead, _treasurer, _plain = _members_setup(app)

    response = client.get(f"{API}/groups/{group.id}/members")

    assert_error(response, 401)
    assert PHONE not in response.get_data(as_text=True)


def test_members_list_pages(app, client):
    group, lead = coordinated_group(app)
    for i in range(4):
        make_member(app, group, name=f"Anggota {i}")

    body = client.get(f"{API}/groups/{group.id}/members?per_page=2&page=2", headers=lead.headers).json

    assert body["total"] == 5
    assert body["page"] == 2 and body["per_page"] == 2
    assert len(body["items"]) == 2
    assert_error(client.get(f"{API}/groups/{group.id}/members?per_page=101", headers=lead.headers), 422, "per_page")


def test_list_members_of_unknown_group_is_404(app, client):
    _group, lead = coordinated_group(app)

    assert_error(client.get(f"{API}/groups/55555/members", headers=lead.headers), 404)


# --- changing members ---------------------------------------------------------


def test_coordinator_changes_member_role(app, client):
    group, lead = coordinated_group(app)
    person = member_with_account(app, group)

    response = client.patch(
        f"{API}/groups/{group.id}/members/{person.member_id}", headers=lead.headers, json={"role": "treasurer"}
    )

    assert response.status_code == 200, response.json
    assert response.json["role"] == "treasurer"
    assert fetch(app, Member, person.member_id).role == "treasurer"
    memberships = client.get(f"{API}/me", headers=person.headers).json["memberships"]
    assert memberships[0]["role"] == "treasurer"


def test_coordinator_changes_member_contact(app, client):
    group, lead = coordinated_group(app)
    siti = make_member(app, group, name="Siti Aminah")

    response = client.patch(
        f"{API}/groups/{group.id}/members/{siti.id}",
        headers=lead.headers,
        json={"phone": "62 812 3456 7890", "name": "Siti Aminah Rahayu"},
    )

    assert response.status_code == 200
    stored = fetch(app, Member, siti.id)
    assert stored.phone == PHONE
    assert stored.name == "Siti Aminah Rahayu"


def test_coordinator_deactivates_and_reactivates_member(app, client):
    group, lead = coordinated_group(app)
    person = member_with_account(app, group)

    off = client.patch(
        f"{API}/groups/{group.id}/members/{person.member_id}", headers=lead.headers, json={"active": False}
    )

    assert off.status_code == 200
    assert off.json["active"] is False
    stored = fetch(app, Member, person.member_id)
    assert stored.active is False
    assert stored.deactivated_at is not None
    assert client.get(f"{API}/me", headers=person.headers).json["memberships"] == []
    assert client.get(f"{API}/groups/{group.id}").json["member_count"] == 1
    listed = client.get(f"{API}/groups/{group.id}/members", headers=lead.headers).json
    assert person.member_id in {m["id"] for m in listed["items"]}  # kept, only inactive

    on = client.patch(
        f"{API}/groups/{group.id}/members/{person.member_id}", headers=lead.headers, json={"active": True}
    )

    assert on.status_code == 200
    stored = fetch(app, Member, person.member_id)
    assert stored.active is True
    assert stored.deactivated_at is None


@pytest.mark.parametrize(
    "body", [{"active": False}, {"role": "member"}, {"role": "treasurer"}, {"role": "member", "active": False}]
)
def test_last_active_coordinator_cannot_step_down_409(app, client, body):
    group, lead = coordinated_group(app)
    make_member(app, group, name="Mantan Ketua", role="coordinator", active=False)
    before = snapshot(app)

    response = client.patch(
        f"{API}/groups/{group.id}/members/{group.coordinator_member_id}", headers=lead.headers, json=body
    )

    assert_error(response, 409)
    assert snapshot(app) == before


def test_coordinator_steps_down_once_another_is_appointed(app, client):
    group, lead = coordinated_group(app)
    successor = member_with_account(app, group, role="coordinator")

    response = client.patch(
        f"{API}/groups/{group.id}/members/{group.coordinator_member_id}", headers=lead.headers, json={"active": False}
    )

    assert response.status_code == 200
    assert fetch(app, Member, group.coordinator_member_id).active is False
    assert fetch(app, Member, successor.member_id).role == "coordinator"
    # The former coordinator has no power left.
    assert_error(client.patch(f"{API}/groups/{group.id}", headers=lead.headers, json={"name": "X"}), 403)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"active": "yes"}, "active"),
        ({"active": 1}, "active"),
        ({"active": None}, "active"),
        ({"role": "ketua"}, "role"),
        ({"name": 12}, "name"),
        ({"name": ""}, "name"),
        ({"phone": "12345"}, "phone"),
        ({"email": "siti@"}, "email"),
        ({"group_id": 2}, "group_id"),
    ],
)
def test_patch_member_refuses_bad_input_with_422(app, client, body, field):
    group, lead = coordinated_group(app)
    siti = make_member(app, group, name="Siti Aminah")
    before = snapshot(app)

    response = client.patch(f"{API}/groups/{group.id}/members/{siti.id}", headers=lead.headers, json=body)

    assert_error(response, 422, field)
    assert snapshot(app) == before


def test_patch_member_into_a_duplicate_is_409(app, client):
    group, lead = coordinated_group(app)
    make_member(app, group, name="Siti Aminah", phone=PHONE)
    other = make_member(app, group, name="Siti Aminah", phone="+6281300001111")
    before = snapshot(app)

    response = client.patch(
        f"{API}/groups/{group.id}/members/{other.id}", headers=lead.headers, json={"phone": "0812-3456-7890"}
    )

    assert_error(response, 409)
    assert snapshot(app) == before


def test_members_are_never_deleted(app, client):
    group, lead = coordinated_group(app)
    siti = make_member(app, group, name="Siti Aminah")
    before = snapshot(app)

    response = client.delete(f"{API}/groups/{group.id}/members/{siti.id}", headers=lead.headers)

    assert_error(response, 405)
    assert "DELETE" not in response.headers.get("Allow", "")
    assert snapshot(app) == before


def test_member_of_another_group_is_404_under_this_group(app, client):
    group, lead = coordinated_group(app)
    other_group, _other_lead = coordinated_group(app)
    stranger = make_member(app, other_group, name="Orang Lain")
    before = snapshot(app)

    patched = client.patch(
        f"{API}/groups/{group.id}/members/{stranger.id}", headers=lead.headers, json={"name": "Dibajak"}
    )
    read = client.get(f"{API}/groups/{group.id}/members/{stranger.id}", headers=lead.headers)
    invited = client.post(f"{API}/groups/{group.id}/members/{stranger.id}/invitation", headers=lead.headers)

    assert_error(patched, 404)
    assert_error(read, 404)
    assert_error(invited, 404)
    assert snapshot(app) == before


@pytest.mark.parametrize("member_id", ["999999", "2147483648", "99999999999999999999"])
def test_unknown_member_id_is_404(app, client, member_id):
    group, lead = coordinated_group(app)
    before = snapshot(app)

    assert_error(client.get(f"{API}/groups/{group.id}/members/{member_id}", headers=lead.headers), 404)
    assert_error(
        client.patch(f"{API}/groups/{group.id}/members/{member_id}", headers=lead.headers, json={"name": "X"}), 404
    )
    assert snapshot(app) == before


def test_coordinator_of_another_group_cannot_patch_member(app, client):
    group, _lead = coordinated_group(app)
    siti = make_member(app, group, name="Siti Aminah")
    _other_group, other_lead = coordinated_group(app)
    before = snapshot(app)

    for body in ({"name": "Dibajak"}, {"active": False}, {"role": "coordinator"}):
        response = client.patch(f"{API}/groups/{group.id}/members/{siti.id}", headers=other_lead.headers, json=body)
        assert_error(response, 403)
    assert snapshot(app) == before


@pytest.mark.parametrize("role", ["member", "treasurer"])
def test_non_coordinator_cannot_patch_member(app, client, role):
    group, _lead = coordinated_group(app)
    person = member_with_account(app, group, role=role)
    before = snapshot(app)

    response = client.patch(
        f"{API}/groups/{group.id}/members/{person.member_id}", headers=person.headers, json={"role": "coordinator"}
    )

    assert_error(response, 403)
    assert snapshot(app) == before


def test_anonymous_patch_member_is_401(app, client):
    group, _lead = coordinated_group(app)
    siti = make_member(app, group, name="Siti Aminah")
    before = snapshot(app)

    assert_error(client.patch(f"{API}/groups/{group.id}/members/{siti.id}", json={"active": False}), 401)
    assert snapshot(app) == before


# --- invitations --------------------------------------------------------------


def invite(client, group, lead, member_id):
    response = client.post(f"{API}/groups/{group.id}/members/{member_id}/invitation", headers=lead.headers)
    assert response.status_code == 201, response.json
    return response.json


def accept(client, code, password="sandi-baru-1", **extra):
    return client.post(f"{API}/auth/invitations/accept", json={"code": code, "password": password, **extra})


def test_an_invitation_through_the_api_may_give_a_login_name_and_bad_names_change_nothing(app, client):
    group, lead = coordinated_group(app, name="KUB Jahit Melati")
    sumiati = make_member(app, group, name="Sumiati", phone=PHONE)
    url = f"{API}/groups/{group.id}/members/{sumiati.id}/invitation"

    for bad in ({"username": "a b"}, {"username": 12}, {"username": "x" * 300}, ["sumiati"]):
        before = rows(app, Invitation)
        assert_error(client.post(url, json=bad, headers=lead.headers), 422)
        assert rows(app, Invitation) == before

    body = client.post(url, json={"username": "Sumiati"}, headers=lead.headers)
    assert body.status_code == 201, body.json
    assert body.json["username"] == "sumiati"
    accepted = accept(client, body.json["code"], phone=PHONE)
    assert accepted.status_code in (200, 201), accepted.json
    login = client.post(f"{API}/auth/login", json={"username": "sumiati", "password": "sandi-baru-1"})
    assert login.status_code == 200, login.json


def test_coordinator_issues_invitation(app, client):
    group, lead = coordinated_group(app, name="KUB Jahit Melati")
    siti = make_member(app, group, name="Siti Aminah", phone=PHONE)

    body = invite(client, group, lead, siti.id)

    assert set(body) == {"code", "username", "expires_at", "join_url", "whatsapp_url"}
    code = body["code"]
    assert len(code) == 9 and code[4] == "-"
    assert code.replace("-", "").isalnum() and code.upper() == code
    assert body["whatsapp_url"].startswith("https://wa.me/6281234567890?")
    text = parse_qs(urlparse(body["whatsapp_url"]).query)["text"][0]
    assert code in text
    assert "Siti Aminah" in text
    assert body["join_url"].endswith(f"/join?code={code}")
    [stored] = rows(app, Invitation)
    assert stored["member_id"] == siti.id
    assert stored["code_hash"] != code and code not in stored["code_hash"]
    assert stored["used_at"] is None and stored["revoked_at"] is None


def test_invitation_accepted_makes_an_account_that_logs_in_by_phone(app, client, make_client):
    group, lead = coordinated_group(app)
    siti = make_member(app, group, name="Siti Aminah", phone=PHONE)
    code = invite(client, group, lead, siti.id)["code"]
    users_before = count(app, User)

    newcomer = make_client()
    response = accept(newcomer, code, password="sandi-baru-1")

    assert response.status_code == 201, response.json
    assert response.json["phone"] == PHONE
    assert response.json["email"] is None
    assert count(app, User) == users_before + 1
    stored = fetch(app, Member, siti.id)
    assert stored.user_id == response.json["id"]
    assert newcomer.get(f"{API}/me").status_code == 200  # signed in straight away

    phone_client = make_client()
    login_response = phone_client.post(
        f"{API}/auth/login", json={"phone": "0812-3456-7890", "password": "sandi-baru-1"}
    )
    assert login_response.status_code == 200, login_response.json
    memberships = phone_client.get(f"{API}/me").json["memberships"]
    assert [{k: m[k] for k in ("group_id", "member_id", "role")} for m in memberships] == [
        {"group_id": group.id, "member_id": siti.id, "role": "member"}
    ]
    listed = client.get(f"{API}/groups/{group.id}/members/{siti.id}", headers=lead.headers).json
    assert listed["has_account"] is True


def test_invitation_code_works_only_once(app, client, make_client):
    group, lead = coordinated_group(app)
    siti = make_member(app, group, name="Siti Aminah", phone=PHONE)
    code = invite(client, group, lead, siti.id)["code"]
    assert accept(make_client(), code).status_code == 201
    before = snapshot(app)

    again = accept(make_client(), code, password="sandi-lain-22")

    assert_error(again, 404)
    assert snapshot(app) == before


def test_new_invitation_revokes_the_old_code(app, client, make_client):
    group, lead = coordinated_group(app)
    siti = make_member(app, group, name="Siti Aminah", phone=PHONE)
    old = invite(client, group, lead, siti.id)["code"]
    new = invite(client, group, lead, siti.id)["code"]
    assert old != new
    before = snapshot(app)

    assert_error(accept(make_client(), old), 404)
    assert snapshot(app) == before
    assert accept(make_client(), new).status_code == 201
    assert fetch(app, Member, siti.id).user_id is not None


@pytest.mark.parametrize(
    "transform",
    [str.lower, lambda c: c.replace("-", ""), lambda c: c.lower().replace("-", ""), lambda c: f"  {c[:2]} {c[2:]} "],
)
def test_invitation_code_ignores_case_dash_and_spaces(app, client, make_client, transform):
    group, lead = coordinated_group(app)
    siti = make_member(app, group, name="Siti Aminah", phone=PHONE)
    code = invite(client, group, lead, siti.id)["code"]

    response = accept(make_client(), transform(code))

    assert response.status_code == 201, response.json
    assert fetch(app, Member, siti.id).user_id == response.json["id"]


@pytest.mark.parametrize("code", ["ABCD-EFGH", "ABC", "ABCD-EFGH-JKLM", "😊😊😊😊-😊😊😊😊", "ꦱꦶꦠꦶꦱꦶꦠꦶ"])
def test_unknown_invitation_code_is_404_and_creates_nothing(app, client, make_client, code):
    group, lead = coordinated_group(app)
    siti = make_member(app, group, name="Siti Aminah", phone=PHONE)
    invite(client, group, lead, siti.id)
    before = snapshot(app)

    response = accept(make_client(), code)

    assert_error(response, 404)
    assert snapshot(app) == before


@pytest.mark.parametrize("code", ["", None, 12345678, "x" * 41])
def test_malformed_invitation_code_is_422(app, client, code):
    before = snapshot(app)

    response = accept(client, code)

    assert_error(response, 422, "code")
    assert snapshot(app) == before


def test_expired_invitation_code_is_404(app, client, make_client):
    group, lead = coordinated_group(app)
    siti = make_member(app, group, name="Siti Aminah", phone=PHONE)
    code = invite(client, group, lead, siti.id)["code"]
    with app.app_context():
        db.session.query(Invitation).update({"expires_at": utcnow() - timedelta(minutes=1)})
        db.session.commit()
    before = snapshot(app)

    assert_error(accept(make_client(), code), 404)
    assert snapshot(app) == before


def test_invitation_expires_after_configured_days(app, client):
    group, lead = coordinated_group(app)
    siti = make_member(app, group, name="Siti Aminah", phone=PHONE)

    invite(client, group, lead, siti.id)

    [stored] = rows(app, Invitation)
    expires_at = fetch(app, Invitation, stored["id"]).expires_at
    expected = utcnow() + timedelta(days=app.config["INVITATION_DAYS"])
    assert abs((expires_at - expected).total_seconds()) < 60


def test_invitation_for_member_who_has_an_account_is_409(app, client):
    group, lead = coordinated_group(app)
    person = member_with_account(app, group)
    before = snapshot(app)

    response = client.post(f"{API}/groups/{group.id}/members/{person.member_id}/invitation", headers=lead.headers)

    assert_error(response, 409)
    assert snapshot(app) == before


def test_invitation_for_inactive_member_is_409(app, client):
    group, lead = coordinated_group(app)
    gone = make_member(app, group, name="Sudah Keluar", phone=PHONE, active=False)
    before = snapshot(app)

    response = client.post(f"{API}/groups/{group.id}/members/{gone.id}/invitation", headers=lead.headers)

    assert_error(response, 409)
    assert snapshot(app) == before


def test_code_of_member_deactivated_after_invitation_stops_working(app, client, make_client):
    group, lead = coordinated_group(app)
    siti = make_member(app, group, name="Siti Aminah", phone=PHONE)
    code = invite(client, group, lead, siti.id)["code"]
    client.patch(f"{API}/groups/{group.id}/members/{siti.id}", headers=lead.headers, json={"active": False})
    before = snapshot(app)

    assert_error(accept(make_client(), code), 404)
    assert snapshot(app) == before


@pytest.mark.parametrize("who", ["member", "treasurer", "other_coordinator", "outsider"])
def test_only_the_groups_coordinator_may_issue_invitations(app, client, who):
    group, _lead = coordinated_group(app)
    siti = make_member(app, group, name="Siti Aminah", phone=PHONE)
    if who in ("member", "treasurer"):
        headers = member_with_account(app, group, role=who).headers
    elif who == "other_coordinator":
        headers = coordinated_group(app)[1].headers
    else:
        headers = actor(app).headers
    before = snapshot(app)

    response = client.post(f"{API}/groups/{group.id}/members/{siti.id}/invitation", headers=headers)

    assert_error(response, 403)
    assert snapshot(app) == before


def test_anonymous_cannot_issue_invitation(app, client):
    group, _lead = coordinated_group(app)
    siti = make_member(app, group, name="Siti Aminah", phone=PHONE)

    assert_error(client.post(f"{API}/groups/{group.id}/members/{siti.id}/invitation"), 401)
    assert count(app, Invitation) == 0


@pytest.mark.parametrize("password", ["", "1234567", "pendek"])
def test_accept_invitation_refuses_short_password_with_422(app, client, make_client, password):
    group, lead = coordinated_group(app)
    siti = make_member(app, group, name="Siti Aminah", phone=PHONE)
    code = invite(client, group, lead, siti.id)["code"]
    before = snapshot(app)

    response = accept(make_client(), code, password=password)

    assert_error(response, 422, "password")
    assert snapshot(app) == before
    # The code is still good for a proper password.
    assert accept(make_client(), code, password="sandi-baru-1").status_code == 201


def test_accept_invitation_without_password_is_422(app, client, make_client):
    group, lead = coordinated_group(app)
    siti = make_member(app, group, name="Siti Aminah", phone=PHONE)
    code = invite(client, group, lead, siti.id)["code"]
    before = snapshot(app)

    response = make_client().post(f"{API}/auth/invitations/accept", json={"code": code})

    assert_error(response, 422, "password")
    assert snapshot(app) == before


def test_accept_invitation_for_member_without_phone_needs_one(app, client, make_client):
    group, lead = coordinated_group(app)
    karto = make_member(app, group, name="Mbah Karto")
    code = invite(client, group, lead, karto.id)["code"]
    before = snapshot(app)

    missing = accept(make_client(), code)
    malformed = accept(make_client(), code, phone="12345")

    assert_error(missing, 422, "phone")
    assert_error(malformed, 422, "phone")
    assert snapshot(app) == before
    response = accept(make_client(), code, phone="0857 1234 5678")
    assert response.status_code == 201
    assert fetch(app, Member, karto.id).phone == "+6285712345678"


def test_accept_invitation_refuses_phone_that_has_an_account_with_409(app, client, make_client):
    group, lead = coordinated_group(app)
    make_user(app, phone=PHONE)
    siti = make_member(app, group, name="Siti Aminah", phone=PHONE)
    code = invite(client, group, lead, siti.id)["code"]
    before = snapshot(app)

    response = accept(make_client(), code)

    assert_error(response, 409, "phone")
    assert snapshot(app) == before


def test_signed_in_user_accepts_invitation_into_their_account(app, client, make_client):
    group, lead = coordinated_group(app)
    siti = make_member(app, group, name="Siti Aminah", phone=PHONE)
    code = invite(client, group, lead, siti.id)["code"]
    existing = make_user(app, email="siti@example.test")
    siti_client = make_client()
    login(siti_client, existing)
    users_before = count(app, User)

    response = siti_client.post(f"{API}/auth/invitations/accept", json={"code": code})

    assert response.status_code == 201, response.json
    assert response.json["id"] == existing.id
    assert count(app, User) == users_before
    assert fetch(app, Member, siti.id).user_id == existing.id


def test_signed_in_member_cannot_accept_a_second_membership_in_the_same_group(app, client):
    group, lead = coordinated_group(app)
    siti = make_member(app, group, name="Siti Aminah", phone=PHONE)
    code = invite(client, group, lead, siti.id)["code"]
    before = snapshot(app)

    response = client.post(f"{API}/auth/invitations/accept", json={"code": code}, headers=lead.headers)

    assert_error(response, 409)
    assert snapshot(app) == before


def test_accept_invitation_refuses_unknown_fields_with_422(app, client, make_client):
    group, lead = coordinated_group(app)
    siti = make_member(app, group, name="Siti Aminah", phone=PHONE)
    code = invite(client, group, lead, siti.id)["code"]
    before = snapshot(app)

    response = accept(make_client(), code, role="coordinator")

    assert_error(response, 422, "role")
    assert snapshot(app) == before


def test_accepted_password_is_stored_hashed(app, client, make_client):
    group, lead = coordinated_group(app)
    siti = make_member(app, group, name="Siti Aminah", phone=PHONE)
    code = invite(client, group, lead, siti.id)["code"]

    response = accept(make_client(), code, password="sandi-rahasia-baru")

    stored = fetch(app, User, response.json["id"])
    assert "sandi-rahasia-baru" not in stored.password_hash
    assert "sandi-rahasia-baru" not in response.get_data(as_text=True)
