"""Groups are who they say: one name per district as names read, a new bank account needs verifying again, and
the district admin's queue of groups waiting (API and pages)."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import update

from accounts.models import User
from core.errors import Forbidden, Unauthorized
from core.extensions import db
from core.types import utcnow
from groups import services, verification
from groups.models import Group, Member
from tests.factories import (
    assert_error,
    bearer,
    fetch,
    make_group,
    make_token,
    make_user,
    rows,
)
from tests.pages import html, t

API = "/api/v1"
BANK = {"bank_name": "BRI", "bank_account_number": "0123-01-000456-50-1", "bank_account_holder": "KUB Jahit Sumberejo"}


def actor(app, **user_kwargs):
    user = make_user(app, **user_kwargs)
    return SimpleNamespace(user=user, headers=bearer(make_token(app, user)), id=user.id)


def group_body(**overrides):
    body = {"name": "KUB Jahit Sumberejo", "kind": "business", "village": "Sumberejo", "district": "Sanankulon"}
    return {**body, **overrides}


def snapshot(app):
    return {"groups": rows(app, Group), "members": rows(app, Member)}


@pytest.fixture
def real(app, db):
    """The real KUB Jahit Sumberejo, verified, with its bank account; its coordinator holds a token."""
    lead = actor(app, name="Bu Ratna", phone="+6281234500001")
    group = make_group(app, lead.user, name="KUB Jahit Sumberejo", village="Sumberejo", district="Sanankulon", **BANK)
    return SimpleNamespace(group=group, lead=lead)


def page_login(client, user):
    assert client.post("/login", data={"login": user.email, "password": user.password}).status_code == 302


# --- one name per district, as names read -----------------------------------------------


@pytest.mark.parametrize(
    "name, village, district",
    [
        ("KUB Jahit Sumberejo", "Sumberej0", "Sanankulon"),  # the impostor of the report, another "village"
        ("KUB Jahit Sumberej0", "Sumberejo", "Sanankulon"),
        ("kub jahit sumberejo", "Bendosari", "SANANKULON"),
        ("KUB  Jahit  Sumbérejo", "Bendosari", " Sanankulon "),
        ("KUB Jah1t Sumberejo", "Bendosari", "Sanankulon"),
        ("KUB JahIt SumbereJo", "Bendosari", "Sanankul0n"),
        ("K.U.B. Jahit Sumber-ejo", "Bendosari", "Sanankulon"),
        ("КUB Jаhit Sumberejo", "Bendosari", "Sanankulon"),  # Cyrillic К and а
    ],
)
def test_a_look_alike_name_in_the_district_is_refused_with_422(app, client, real, name, village, district):
    impostor = actor(app)
    before = snapshot(app)

    response = client.post(
        f"{API}/groups",
        json=group_body(name=name, village=village, district=district, **BANK),
        headers=impostor.headers,
    )

    body = assert_error(response, 422, "name")
    assert "kecamatan" in body["errors"]["name"][0]  # Indonesian first
    assert snapshot(app) == before


def test_the_message_is_indonesian_by_default(app, client, real):
    impostor = actor(app)

    response = client.post(
        f"{API}/groups", json=group_body(name="KUB Jahit Sumberej0", village="Bendosari"), headers=impostor.headers
    )

    assert_error(response, 422, "name")
    message = "A group with this name, or one that looks like it, already exists in this district. Choose another."
    assert response.json["errors"]["name"] == [t(app, message, raw=True)]
    assert t(app, message, raw=True) != message  # translated


def test_the_same_name_in_another_district_is_allowed(app, client, real):
    other = actor(app)

    response = client.post(
        f"{API}/groups", json=group_body(village="Bendosari", district="Kanigoro"), headers=other.headers
    )

    assert response.status_code == 201, response.json
    assert response.json["verified"] is False


def test_renaming_to_a_look_alike_is_refused(app, client, real):
    lead = actor(app)
    other = make_group(app, lead.user, name="KUB Tenun Sumberejo", village="Bendosari", district="Sanankulon")
    before = snapshot(app)

    response = client.patch(f"{API}/groups/{other.id}", json={"name": "KUB JAHIT SUMBEREJ0"}, headers=lead.headers)

    assert_error(response, 422, "name")
    assert snapshot(app) == before


def test_a_group_may_respell_its_own_name_and_take_one_that_differs(app, client, real):
    lead = actor(app)
    other = make_group(app, lead.user, name="KUB Tenun Sumberejo", village="Bendosari", district="Sanankulon")

    itself = client.patch(
        f"{API}/groups/{real.group.id}", json={"name": "KUB JAHIT Sumberejo"}, headers=real.lead.headers
    )
    differs = client.patch(f"{API}/groups/{other.id}", json={"name": "KUB Jahit Sumber3jo"}, headers=lead.headers)
    elsewhere = client.patch(
        f"{API}/groups/{other.id}", json={"name": "KUB Jahit Sumberejo", "district": "Kanigoro"}, headers=lead.headers
    )

    assert itself.status_code == 200, itself.json
    assert differs.status_code == 200, differs.json  # 3 is not read as e
    assert elsewhere.status_code == 200, elsewhere.json
    assert fetch(app, Group, other.id).name_key == fetch(app, Group, real.group.id).name_key


def test_moving_into_a_district_with_a_look_alike_is_refused(app, client, real):
    lead = actor(app)
    other = make_group(app, lead.user, name="KUB Jahit Sumberej0", village="Sumberejo", district="Kanigoro")
    before = snapshot(app)

    response = client.patch(f"{API}/groups/{other.id}", json={"district": "sanankulon"}, headers=lead.headers)

    assert_error(response, 422, "name")
    assert snapshot(app) == before


def test_the_database_refuses_a_look_alike_written_past_the_check(app, client, real, monkeypatch):
    """Two requests at once both pass the check; the unique index refuses the second with the same 422."""
    monkeypatch.setattr(services.profiles, "_check_name_reads_apart", lambda *args, **kwargs: None)
    impostor = actor(app)
    before = snapshot(app)

    response = client.post(
        f"{API}/groups", json=group_body(name="KUB Jahit Sumberej0", village="Bendosari"), headers=impostor.headers
    )

    assert_error(response, 422, "name")
    assert snapshot(app) == before


def test_the_group_form_refuses_a_look_alike_with_422_in_both_languages(app, client, real):
    impostor = make_user(app)
    page_login(client, impostor)
    form = {**group_body(name="KUB Jahit Sumberej0", village="Bendosari"), "kind": "business"}

    response = client.post("/groups/new", data=form)
    client.get("/lang/en")
    english = client.post("/groups/new", data=form)

    message = "A group with this name, or one that looks like it, already exists in this district. Choose another."
    assert response.status_code == 422 and t(app, message) in html(response)
    assert english.status_code == 422 and t(app, message, "en") in html(english)
    assert len(rows(app, Group)) == 1


# --- a new bank account needs verifying again ----------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"bank_account_number": "9999-01-000456-50-1"},
        {"bank_name": "BNI"},
        {"bank_account_holder": "Pak Penipu"},
        {"bank_account_number": None},
    ],
)
def test_changing_a_verified_groups_bank_account_withdraws_its_verification(app, client, real, change):
    before = utcnow()

    response = client.patch(f"{API}/groups/{real.group.id}", json=change, headers=real.lead.headers)

    assert response.status_code == 200, response.json
    assert response.json["verified"] is False
    assert response.json["verification_withdrawn_reason"] == "bank_account"
    stored = fetch(app, Group, real.group.id)
    assert (stored.verified, stored.verified_at, stored.verified_by_id) == (False, None, None)
    assert stored.verification_withdrawn_at >= before
    assert stored.verification_withdrawn_reason == "bank_account"


@pytest.mark.parametrize(
    "change",
    [
        {"bank_account_number": "0123 01 000456 50 1"},  # the same digits, grouped otherwise
        {"bank_account_holder": "kub jahit  SUMBEREJO"},
        {"bank_name": "BRI", "pickup_point": "Balai desa", "description": "Seragam sekolah"},
        {"name": "KUB Jahit Sumberejo Makmur"},
    ],
)
def test_other_changes_keep_the_verification(app, client, real, change):
    response = client.patch(f"{API}/groups/{real.group.id}", json=change, headers=real.lead.headers)

    assert response.status_code == 200, response.json
    assert response.json["verified"] is True
    assert fetch(app, Group, real.group.id).verification_withdrawn_at is None


def test_a_group_waiting_already_records_no_withdrawal_for_a_new_account(app, client):
    lead = actor(app)
    group = make_group(app, lead.user, verified=False, **BANK)

    response = client.patch(f"{API}/groups/{group.id}", json={"bank_name": "BNI"}, headers=lead.headers)

    assert response.status_code == 200
    stored = fetch(app, Group, group.id)
    assert (stored.verified, stored.verification_withdrawn_at, stored.verification_withdrawn_reason) == (
        False,
        None,
        None,
    )


def test_the_admin_withdrawing_is_recorded_as_the_admins(app, client, real):
    admin = actor(app, admin=True)

    response = client.post(f"{API}/groups/{real.group.id}/verify", json={"verified": False}, headers=admin.headers)

    assert response.status_code == 200
    assert response.json["verification_withdrawn_reason"] == "admin"
    assert response.json["verification_withdrawn_at"] is not None


def test_verifying_an_account_the_admin_did_not_see_is_refused_with_409(app, client, real):
    admin = actor(app, admin=True)
    seen = dict(BANK)
    client.patch(f"{API}/groups/{real.group.id}", json={"bank_account_number": "777"}, headers=real.lead.headers)
    before = snapshot(app)

    stale = client.post(f"{API}/groups/{real.group.id}/verify", json={"verified": True, **seen}, headers=admin.headers)
    fresh = {**seen, "bank_account_number": "777"}
    assert_error(stale, 409, "bank_account_number")
    assert snapshot(app) == before
    response = client.post(
        f"{API}/groups/{real.group.id}/verify", json={"verified": True, **fresh}, headers=admin.headers
    )

    assert response.status_code == 200, response.json
    assert response.json["verified"] is True


def test_the_coordinator_is_told_on_the_page_that_the_group_needs_verifying_again(app, client, real):
    with app.app_context():
        email = db.session.get(User, real.lead.id).email
    page_login(client, SimpleNamespace(email=email, password="rahasia-123"))
    page = client.get(f"/groups/{real.group.id}/edit")
    form = {
        "name": "KUB Jahit Sumberejo",
        "kind": "business",
        "village": "Sumberejo",
        "district": "Sanankulon",
        **BANK,
        "bank_account_number": "0999-888",
    }
    assert page.status_code == 200

    response = client.post(f"/groups/{real.group.id}/edit", data=form, follow_redirects=True)

    assert response.status_code == 200
    body = html(response)
    notice = (
        "The bank account changed, so the district admin must verify the group again. Until then buyers cannot "
        "order from the group; orders placed before go on as they are."
    )
    assert t(app, notice) in body
    assert 'id="unverified"' in body
    assert fetch(app, Group, real.group.id).verified is False


# --- the district admin's queue ------------------------------------------------------------


@pytest.fixture
def queue(app, db, real):
    """Three groups waiting: the oldest founded 3 days ago, one founded yesterday, and the real group, verified
    long ago, whose bank account changed just now (so it waits the shortest). One verified group not waiting."""
    admin = actor(app, admin=True)
    lead = actor(app, name="Pak Harjo", phone="+6281234500002")
    now = utcnow()
    oldest = make_group(app, lead.user, name="Poktan Lama", district="Ponggok", verified=False, bank_name="BCA")
    newer = make_group(app, lead.user, name="Poktan Baru", district="Sanankulon", verified=False)
    make_group(app, lead.user, name="Poktan Sudah", verified=True)
    with app.app_context():
        for group_id, days in ((oldest.id, 3), (newer.id, 1), (real.group.id, 30)):
            db.session.execute(update(Group).where(Group.id == group_id).values(created_at=now - timedelta(days=days)))
        db.session.commit()
    return SimpleNamespace(admin=admin, lead=lead, oldest=oldest, newer=newer, real=real)


def withdraw_by_bank_change(app, client, real):
    response = client.patch(f"{API}/groups/{real.group.id}", json={"bank_name": "BNI"}, headers=real.lead.headers)
    assert response.status_code == 200 and response.json["verified"] is False


def test_the_queue_lists_groups_waiting_the_longest_first_with_their_contacts(app, client, queue):
    withdraw_by_bank_change(app, client, queue.real)

    response = client.get(f"{API}/groups/waiting", headers=queue.admin.headers)

    assert response.status_code == 200, response.json
    body = response.json
    assert [g["name"] for g in body["items"]] == ["Poktan Lama", "Poktan Baru", "KUB Jahit Sumberejo"]
    assert body["total"] == 3
    real = body["items"][2]
    assert real["bank_name"] == "BNI" and real["bank_account_number"] == BANK["bank_account_number"]
    assert real["verification_withdrawn_reason"] == "bank_account"
    assert real["coordinators"] == [
        {"name": "Bu Ratna", "phone": "+6281234500001", "email": queue.real.lead.user.email}
    ]
    assert body["items"][0]["waiting_since"] < body["items"][1]["waiting_since"] < real["waiting_since"]
    only = client.get(f"{API}/groups/waiting?district=PONGGOK", headers=queue.admin.headers).json
    assert [g["name"] for g in only["items"]] == ["Poktan Lama"]


@pytest.mark.parametrize("who", ["coordinator", "outsider", "anonymous"])
def test_only_the_district_admin_sees_the_queue(app, client, queue, who):
    headers = {"coordinator": queue.lead.headers, "outsider": actor(app).headers, "anonymous": {}}[who]

    response = client.get(f"{API}/groups/waiting", headers=headers)

    assert_error(response, 401 if who == "anonymous" else 403)
    assert client.get("/admin/groups/waiting", headers=headers).status_code in (302, 401, 403)


def test_the_queue_refuses_a_bad_query_with_422(app, client, queue):
    for query in ("page=0", "per_page=1000", "district=" + "x" * 500):
        assert_error(client.get(f"{API}/groups/waiting?{query}", headers=queue.admin.headers), 422)
    assert_error(
        client.get(f"{API}/groups/waiting", query_string={"district": "a\x00"}, headers=queue.admin.headers), 422
    )


def test_the_admin_verifies_from_the_queue_page(app, client, queue):
    withdraw_by_bank_change(app, client, queue.real)
    with app.app_context():
        admin_email = db.session.get(User, queue.admin.id).email
    page_login(client, SimpleNamespace(email=admin_email, password="rahasia-123"))

    page = client.get("/admin/groups/waiting")

    assert page.status_code == 200
    body = html(page)
    assert body.index("Poktan Lama") < body.index("Poktan Baru") < body.index("KUB Jahit Sumberejo")
    assert "Poktan Sudah" not in body
    for shown in (
        "Sumberejo",
        "Sanankulon",
        "Ponggok",
        "BNI",
        BANK["bank_account_number"],
        "Bu Ratna",
        "0812-3450-0001",
    ):
        assert shown in body, shown
    verify = client.post(
        f"/groups/{queue.real.group.id}/verify",
        data={"verified": "1", "next": "/admin/groups/waiting", **BANK, "bank_name": "BNI"},
    )
    assert verify.status_code == 302 and verify.headers["Location"] == "/admin/groups/waiting"
    assert fetch(app, Group, queue.real.group.id).verified is True
    after = html(client.get("/admin/groups/waiting"))
    assert f'id="g{queue.real.group.id}"' not in after and f'id="g{queue.oldest.id}"' in after
    client.get("/lang/en")
    assert t(app, "Groups waiting for verification", "en") in html(client.get("/admin/groups/waiting"))


def test_a_verify_button_for_an_account_changed_since_verifies_nothing(app, client, queue):
    with app.app_context():
        admin_email = db.session.get(User, queue.admin.id).email
    page_login(client, SimpleNamespace(email=admin_email, password="rahasia-123"))
    shown = html(client.get("/admin/groups/waiting"))
    assert "Poktan Baru" in shown
    changed = client.patch(
        f"{API}/groups/{queue.newer.id}", json={"bank_account_number": "5555"}, headers=queue.lead.headers
    )
    assert changed.status_code == 200

    response = client.post(
        f"/groups/{queue.newer.id}/verify",
        data={"verified": "1", "bank_name": "", "bank_account_number": "", "bank_account_holder": ""},
        follow_redirects=True,
    )

    assert response.status_code == 200
    assert t(app, "The group changed its bank account after you looked at it. Check it again, then verify.") in html(
        response
    )
    assert fetch(app, Group, queue.newer.id).verified is False


def test_the_waiting_groups_query_is_for_the_admin_only(app, queue):
    with app.app_context():
        with pytest.raises(Forbidden):
            verification.waiting_groups_query(db.session.get(User, queue.lead.id))
        with pytest.raises(Unauthorized):
            verification.waiting_groups_query(None)
