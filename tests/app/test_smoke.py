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


def test_openapi_document_lists_the_foundation_endpoints(client):
    spec = client.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    for path, method in [
        ("/api/v1/auth/register", "post"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/logout", "post"),
        ("/api/v1/auth/token", "post"),
        ("/api/v1/me", "get"),
        ("/api/v1/groups", "post"),
        ("/api/v1/groups", "get"),
        ("/api/v1/groups/{group_id}", "get"),
        ("/api/v1/groups/{group_id}", "patch"),
        ("/api/v1/groups/{group_id}/members", "get"),
        ("/api/v1/groups/{group_id}/members", "post"),
        ("/api/v1/groups/{group_id}/members/{member_id}", "patch"),
    ]:
        assert method in paths[path], f"{method.upper()} {path} missing from the OpenAPI document"
    page = spec["components"]["schemas"]["GroupPage"]["properties"]
    assert set(page) == {"items", "page", "per_page", "total"}


def test_interactive_docs_are_served_without_a_cdn(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert b"/api/v1/docs/assets/swagger-ui-bundle.js" in page.data
    assert b"cdn." not in page.data
    asset = client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000
