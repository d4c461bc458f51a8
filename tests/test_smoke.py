from groups.models import Member
from tests.factories import count, login, make_group, make_user


def test_coordinator_adds_member_through_api(app, client):
    user = make_user(app)
    group = make_group(app, user)
    login(client, user)
    response = client.post(f"/api/v1/groups/{group.id}/members", json={"name": "Siti", "phone": "0812-3456-7890"})
    assert response.status_code == 201, response.json
    assert response.json["phone"] == "+6281234567890"
    assert count(app, Member) == 2


def test_database_is_empty_between_tests(app, client):
    assert count(app, Member) == 0
