"""A group's opening days: Monday to Saturday unless the coordinator says otherwise, on the API and the page."""

from datetime import date

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from groups.models import Group
from groups.opening import clean_open_days, describe, next_open_day
from tests.factories import assert_error, bearer, fetch, make_group, make_token, make_user
from tests.marketplace.test_marketplace_pages import page_login
from tests.pages import html, t

API = "/api/v1"
GROUP = {"name": "KUB Jahit Mawar", "kind": "business", "village": "Sumberejo", "district": "Sanankulon"}


@pytest.fixture
def lead(app, db):
    user = make_user(app, email="ketua@kub.test", name="Sri Wahyuni")
    return user, bearer(make_token(app, user))


def test_a_new_group_is_open_monday_to_saturday(client, lead):
    _user, headers = lead
    created = client.post(f"{API}/groups", json=GROUP, headers=headers)
    assert created.status_code == 201 and created.json["open_days"] == [1, 2, 3, 4, 5, 6]
    assert client.get(f"{API}/groups/{created.json['id']}").json["open_days"] == [1, 2, 3, 4, 5, 6]


def test_the_coordinator_sets_the_open_days_and_a_patch_without_them_keeps_them(app, client, lead):
    _user, headers = lead
    created = client.post(f"{API}/groups", json={**GROUP, "open_days": [5, 1, 3]}, headers=headers).json
    assert created["open_days"] == [1, 3, 5]
    assert fetch(app, Group, created["id"]).open_days == "1010100"
    changed = client.patch(f"{API}/groups/{created['id']}", json={"open_days": [7]}, headers=headers)
    assert changed.status_code == 200 and changed.json["open_days"] == [7]
    kept = client.patch(f"{API}/groups/{created['id']}", json={"pickup_hours": "Minggu pagi"}, headers=headers)
    assert kept.json["open_days"] == [7]


@pytest.mark.parametrize(
    "days", [[], [0], [8], ["1"], [True], "1234560", None, [1.5], {"1": 1}, [1, 2, 3, 4, 5, 6, 7, 1]]
)
def test_bad_open_days_are_refused_and_change_nothing(app, client, lead, days):
    _user, headers = lead
    created = client.post(f"{API}/groups", json=GROUP, headers=headers).json
    response = client.patch(f"{API}/groups/{created['id']}", json={"open_days": days}, headers=headers)
    assert_error(response, 422, "open_days")
    assert fetch(app, Group, created["id"]).open_days == "1111110"


def test_the_service_reads_weekdays_in_any_order_and_refuses_none():
    assert clean_open_days([7, "1", 1]) == "1000001"
    for bad in ([], [0], ["x"], "1111110", None, [True]):
        with pytest.raises(Exception) as refused:
            clean_open_days(bad)
        assert refused.value.code == 422


def test_the_database_refuses_a_group_open_on_no_day(app, lead):
    user, _headers = lead
    group = make_group(app, user)
    with app.app_context():
        for bad in ("0000000", "111111", "11a1110"):
            with pytest.raises(IntegrityError):
                db.session.execute(update(Group).where(Group.id == group.id).values(open_days=bad))
                db.session.flush()
            db.session.rollback()


def test_the_group_page_edits_the_open_days_with_checkboxes(app, client, lead):
    user, _headers = lead
    group = make_group(app, user, name="KUB Jahit Melati", open_days="1111110")
    page_login(client, user)
    page = html(client.get(f"/groups/{group.id}/edit"))
    assert page.count('type="checkbox"') == 7 and page.count("checked") == 6
    assert t(app, "Open days") in page
    assert 'name="open_days_shown" type="hidden" value="1"' in page
    form = {**GROUP, "name": "KUB Jahit Melati", "open_days": ["6", "7"], "open_days_shown": "1"}
    response = client.post(f"/groups/{group.id}/edit", data=form)
    assert response.status_code == 302
    assert fetch(app, Group, group.id).open_days == "0000011"
    assert "Sabtu, Minggu" in html(client.get(f"/groups/{group.id}"))

    refused = client.post(f"/groups/{group.id}/edit", data={**form, "open_days": []})
    assert refused.status_code == 422
    assert t(app, "Choose at least one day on which the group is open.") in html(refused)
    assert fetch(app, Group, group.id).open_days == "0000011"


def test_a_group_form_sent_without_its_day_boxes_leaves_the_days_as_they_are(app, client, lead):
    user, _headers = lead
    group = make_group(app, user, name="KUB Jahit Melati", open_days="0000011")
    page_login(client, user)
    response = client.post(f"/groups/{group.id}/edit", data={**GROUP, "name": "KUB Jahit Melati"})
    assert response.status_code == 302
    assert fetch(app, Group, group.id).open_days == "0000011"


def test_a_new_group_on_the_page_starts_monday_to_saturday(app, client, lead):
    user, _headers = lead
    page_login(client, user)
    page = html(client.get("/groups/new"))
    assert page.count('type="checkbox"') == 7 and page.count("checked") == 6


def test_open_days_read_as_people_say_them(app):
    with app.test_request_context("/"):
        assert describe("1111110") == "Senin–Sabtu"
        assert describe("1111111") == t(app, "every day")
        assert describe("1010100") == "Senin, Rabu, Jumat"


def test_the_next_open_day_is_one_every_group_shares():
    sunday = date(2026, 12, 6)
    assert next_open_day(["1111110"], sunday, date(2026, 12, 31)) == date(2026, 12, 7)
    assert next_open_day(["1111110", "0010000"], sunday, date(2026, 12, 31)) == date(2026, 12, 9)
    assert next_open_day(["1000000", "0100000"], sunday, date(2026, 12, 31)) is None
