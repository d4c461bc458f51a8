"""Who may call each inventory and product endpoint, and what the OpenAPI document says of them."""

import io

import pytest

from core.extensions import db
from groups.models import Member
from tests.books import stock_problems
from tests.factories import assert_error
from tests.inventory.api_world import (  # noqa: F401 (fixtures; media_dir is autouse)
    API,
    adjust,
    headers_of,
    media_dir,
    member_with_account,
    png_bytes,
    product_body,
    snapshot,
    stocked,
    world,
)

# --- permissions, endpoint by endpoint ----------------------------------------------------------------


def _requests(world, stocked):
    """Each endpoint as (name, method, url, keyword arguments) for the test client."""
    group = world.group.id
    product = stocked.product["id"]
    return {
        "create_product": ("post", f"{API}/groups/{group}/products", {"json": product_body(name="Terong ungu")}),
        "patch_product": ("patch", f"{API}/products/{product}", {"json": {"name": "Cabai rawit super"}}),
        "add_variant": ("post", f"{API}/products/{product}/variants", {"json": {"label": "C", "unit_price": 1}}),
        "patch_variant": ("patch", f"{API}/variants/{stocked.b}", {"json": {"unit_price": 31000}}),
        "upload_photo": (
            "post",
            f"{API}/products/{product}/photo",
            {
                "content_type": "multipart/form-data",
                "data": lambda: {"photo": (io.BytesIO(png_bytes()), "a.png", "image/png")},
            },
        ),
        "define_unit": ("post", f"{API}/groups/{group}/units", {"json": {"code": "bakul"}}),
        "contribute": (
            "post",
            f"{API}/groups/{group}/contributions",
            {"json": {"variant_id": stocked.a, "member_id": world.siti.id, "quantity": "1"}},
        ),
        "adjust": (
            "post",
            f"{API}/groups/{group}/adjustments",
            {"json": {"variant_id": stocked.a, "quantity": "-0.1", "reason": "damage"}},
        ),
        "stock": ("get", f"{API}/groups/{group}/stock", {}),
        "movements": ("get", f"{API}/groups/{group}/movements", {}),
        "alerts": ("get", f"{API}/groups/{group}/alerts", {}),
        "contributions": ("get", f"{API}/groups/{group}/contributions", {}),
        "my_contributions": ("get", f"{API}/me/contributions", {}),
        "units": ("get", f"{API}/groups/{group}/units", {}),
        "catalog": ("get", f"{API}/products", {}),
        "product": ("get", f"{API}/products/{product}", {}),
    }


WRITES = [
    "create_product",
    "patch_product",
    "add_variant",
    "patch_variant",
    "upload_photo",
    "define_unit",
    "contribute",
    "adjust",
]
WHO = ["anonymous", "buyer", "member", "other_coordinator", "treasurer", "admin", "coordinator"]
OK = {"post": 201, "patch": 200, "get": 200}
EXPECTED = {
    **{
        name: {
            "anonymous": 401,
            "buyer": 403,
            "member": 403,
            "other_coordinator": 403,
            "treasurer": 403,
            "admin": 403,
            "coordinator": "ok",
        }
        for name in WRITES
    },
    **{
        name: {
            "anonymous": 401,
            "buyer": 403,
            "member": 403,
            "other_coordinator": 403,
            "treasurer": "ok",
            "admin": "ok",
            "coordinator": "ok",
        }
        for name in ("stock", "movements", "alerts")
    },
    "contributions": {
        "anonymous": 401,
        "buyer": 403,
        "member": "ok",
        "other_coordinator": 403,
        "treasurer": "ok",
        "admin": "ok",
        "coordinator": "ok",
    },
    "my_contributions": {"anonymous": 401, **dict.fromkeys(WHO[1:], "ok")},
    **{name: dict.fromkeys(WHO, "ok") for name in ("units", "catalog", "product")},
}


@pytest.mark.parametrize("endpoint, who", [(e, w) for e in EXPECTED for w in WHO])
def test_who_may_call_each_endpoint(app, client, world, stocked, endpoint, who):
    method, url, kwargs = _requests(world, stocked)[endpoint]
    kwargs = {k: v() if callable(v) else v for k, v in kwargs.items()}
    before = snapshot(app)

    response = getattr(client, method)(url, headers=headers_of(world, who), **kwargs)

    expected = EXPECTED[endpoint][who]
    if expected == "ok":
        ok = 200 if endpoint == "upload_photo" else OK[method]  # a photo replaces; it creates no resource
        assert response.status_code == ok, (endpoint, who, response.status_code, response.json)
    else:
        assert_error(response, expected)
    if expected != "ok" or method == "get":
        assert snapshot(app) == before
    assert stock_problems(app) == []


@pytest.mark.parametrize("who", ["member", "buyer", "other_coordinator"])
def test_private_reads_do_not_leak_stock_to_others(app, client, world, stocked, who):
    for path in ("stock", "movements", "alerts", "contributions"):
        response = client.get(f"{API}/groups/{world.group.id}/{path}", headers=headers_of(world, who))
        if who == "member" and path == "contributions":
            assert response.json["items"] == []  # Rina gave nothing yet
            continue
        assert_error(response, 403)
        assert "Cabai" not in response.get_data(as_text=True)


def test_deactivated_coordinator_can_no_longer_change_stock(app, client, world, stocked):
    former = member_with_account(app, world.group, "coordinator")
    with app.app_context():
        db.session.get(Member, former.member_id).active = False
        db.session.commit()
    before = snapshot(app)

    response = adjust(client, world.group, former.headers, variant_id=stocked.a, quantity="-1", reason="spoilage")

    assert_error(response, 403)
    assert snapshot(app) == before


def test_inventory_endpoints_are_in_the_openapi_document(client):
    paths = client.get(f"{API}/openapi.json").json["paths"]
    for path, method in [
        ("/groups/{group_id}/products", "post"),
        ("/products", "get"),
        ("/products/{product_id}", "get"),
        ("/products/{product_id}", "patch"),
        ("/products/{product_id}/variants", "post"),
        ("/variants/{variant_id}", "patch"),
        ("/products/{product_id}/photo", "post"),
        ("/groups/{group_id}/units", "get"),
        ("/groups/{group_id}/units", "post"),
        ("/groups/{group_id}/contributions", "post"),
        ("/groups/{group_id}/contributions", "get"),
        ("/groups/{group_id}/stock", "get"),
        ("/groups/{group_id}/adjustments", "post"),
        ("/groups/{group_id}/movements", "get"),
        ("/groups/{group_id}/alerts", "get"),
        ("/me/contributions", "get"),
    ]:
        operation = paths[f"{API}{path}"][method]
        assert operation.get("summary"), f"{method.upper()} {path} has no summary"
