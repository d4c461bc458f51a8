"""The inventory API's stock: contributions, adjustments, the ledger, who sees whose lots, and alerts."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from inventory.models import Lot
from tests.books import stock_problems
from tests.factories import assert_error, fetch, make_member
from tests.inventory.api_world import (  # noqa: F401 (fixtures; media_dir is autouse)
    API,
    WIB,
    adjust,
    contribute,
    contributed,
    counters,
    create_product,
    media_dir,
    reserve,
    sell,
    snapshot,
    stocked,
    world,
)

# --- the whole flow: contributions, stock, ledger, adjustments --------------------------------------


def test_contributions_stock_movements_and_adjustments_flow(app, client, world, stocked):
    lead, group = world.lead.headers, world.group
    siti_lot, ani_lot = stocked.siti_lot, stocked.ani_lot
    assert siti_lot == {
        "id": siti_lot["id"],
        "group_id": group.id,
        "variant_id": stocked.a,
        "product_id": stocked.product["id"],
        "product_name": "Cabai rawit",
        "label": "Grade A",
        "unit": "kg",
        "member_id": world.siti.id,
        "quantity": "2.5",
        "remaining": "2.5",
        "sold": "0",
        "written_off": "0",
        "found": "0",
        "returned": "0",
        "grade": "A",
        "received_at": stocked.received.astimezone(UTC).isoformat(),
        "best_before": None,
        "note": None,
    }
    assert (ani_lot["quantity"], ani_lot["remaining"]) == ("0.5", "0.5")  # 5 ons is 0.5 kg

    stock = client.get(f"{API}/groups/{group.id}/stock", headers=lead).json
    assert stock["total"] == 2
    row_a = next(r for r in stock["items"] if r["variant_id"] == stocked.a)
    assert row_a == {
        "variant_id": stocked.a,
        "product_id": stocked.product["id"],
        "product_name": "Cabai rawit",
        "product_status": "active",
        "label": "Grade A",
        "unit": "kg",
        "active": True,
        "on_hand": "3",
        "reserved": "0",
        "available": "3",
        "low_stock_threshold": None,
    }

    ledger = client.get(f"{API}/groups/{group.id}/movements", headers=lead).json
    assert ledger["total"] == 2
    newest, oldest = ledger["items"]
    assert (
        oldest["kind"],
        oldest["on_hand_delta"],
        oldest["reserved_delta"],
        oldest["lot_id"],
        oldest["reason"],
        oldest["actor_id"],
    ) == ("intake", "2.5", "0", siti_lot["id"], None, world.lead.id)
    assert (newest["kind"], newest["on_hand_delta"], newest["lot_id"]) == ("intake", "0.5", ani_lot["id"])
    assert oldest["created_at"].endswith("+00:00")

    spoiled = adjust(client, group, lead, variant_id=stocked.a, quantity="-0.3", reason="spoilage", note="busuk")
    assert spoiled.status_code == 201, spoiled.json
    [move] = spoiled.json["movements"]
    assert (move["kind"], move["reason"], move["on_hand_delta"], move["lot_id"], move["note"]) == (
        "adjustment",
        "spoilage",
        "-0.3",
        siti_lot["id"],
        "busuk",
    )  # from the oldest lot first
    assert counters(app, stocked.a) == ("2.7", "0")

    counted = adjust(client, group, lead, variant_id=stocked.a, counted="2.5", reason="count")
    assert counted.status_code == 201, counted.json
    assert [m["on_hand_delta"] for m in counted.json["movements"]] == ["-0.2"]
    assert counters(app, stocked.a) == ("2.5", "0")

    returned = adjust(client, group, lead, variant_id=stocked.a, quantity="0.5", reason="return")
    assert returned.status_code == 201, returned.json
    [back] = returned.json["movements"]
    assert (back["kind"], back["on_hand_delta"], back["lot_id"]) == ("return", "0.5", ani_lot["id"])
    assert counters(app, stocked.a) == ("3", "0")

    sell(app, stocked.a, "1.5")  # first in, first out: from Siti's lot

    lots = {
        lot["member_id"]: lot
        for lot in client.get(f"{API}/groups/{group.id}/contributions", headers=lead).json["items"]
    }
    assert {
        k: lots[world.siti.id][k] for k in ("quantity", "remaining", "sold", "written_off", "found", "returned")
    } == {"quantity": "2.5", "remaining": "0.5", "sold": "1.5", "written_off": "0.5", "found": "0", "returned": "0"}
    assert {
        k: lots[world.ani.id][k] for k in ("quantity", "remaining", "sold", "written_off", "found", "returned")
    } == {"quantity": "0.5", "remaining": "1", "sold": "0", "written_off": "0", "found": "0", "returned": "0.5"}
    assert counters(app, stocked.a) == ("1.5", "0")
    assert stock_problems(app) == []
    assert client.get(f"{API}/groups/{group.id}/movements?variant_id={stocked.a}", headers=lead).json["total"] == 7
    assert client.get(f"{API}/groups/{group.id}/movements?variant_id={stocked.b}", headers=lead).json["total"] == 0


def test_contribution_in_kodi_into_a_pcs_product_counts_pieces(app, client, world):
    product = create_product(
        client,
        world.group,
        world.lead.headers,
        name="Kemeja batik",
        kind="garment",
        unit="pcs",
        variants=None,
        unit_price=125000,
    )

    lot = contributed(
        client,
        world.group,
        world.lead.headers,
        product["variants"][0]["id"],
        world.siti.id,
        2,
        unit="kodi",
        best_before="2031-01-01",
        note="jahitan rapi",
    )

    assert (lot["quantity"], lot["unit"], lot["best_before"], lot["note"]) == (
        "40",
        "pcs",
        "2031-01-01",
        "jahitan rapi",
    )


def test_contribution_without_received_at_is_received_now(app, client, world, stocked):
    lot = contributed(client, world.group, world.lead.headers, stocked.b, world.ani.id, "1")

    received = datetime.fromisoformat(lot["received_at"])
    assert abs(received - datetime.now(WIB)) < timedelta(minutes=5)


def test_adjust_named_lot_takes_from_that_lot(app, client, world, stocked):
    response = adjust(
        client,
        world.group,
        world.lead.headers,
        variant_id=stocked.a,
        quantity="-0.2",
        reason="damage",
        lot_id=stocked.ani_lot["id"],
    )

    assert response.status_code == 201, response.json
    assert [m["lot_id"] for m in response.json["movements"]] == [stocked.ani_lot["id"]]
    assert fetch(app, Lot, stocked.ani_lot["id"]).remaining == Decimal("0.3")
    assert fetch(app, Lot, stocked.siti_lot["id"]).remaining == Decimal("2.5")


def test_spoilage_across_lots_writes_one_movement_per_lot(app, client, world, stocked):
    response = adjust(client, world.group, world.lead.headers, variant_id=stocked.a, quantity="-2.7", reason="spoilage")

    assert response.status_code == 201, response.json
    assert [(m["lot_id"], m["on_hand_delta"]) for m in response.json["movements"]] == [
        (stocked.siti_lot["id"], "-2.5"),
        (stocked.ani_lot["id"], "-0.2"),
    ]
    assert counters(app, stocked.a) == ("0.3", "0")
    assert stock_problems(app) == []


def test_count_that_matches_changes_nothing(app, client, world, stocked):
    before = snapshot(app)

    response = adjust(client, world.group, world.lead.headers, variant_id=stocked.a, counted="3", reason="count")

    assert response.status_code == 201
    assert response.json == {"movements": []}
    assert snapshot(app) == before


# --- bad contributions and adjustments change nothing -------------------------------------------------


@pytest.mark.parametrize(
    "quantity",
    [
        "-1",
        -1,
        "0",
        0,
        "abc",
        2.5,
        1.0,
        10**12,
        "1000000000000",
        "1.2345",
        None,
        True,
        "",
        " ",
        "1e3",
        "NaN",
        "Infinity",
        "1,5",
        [1],
        {"value": "1"},
    ],
)
def test_contribution_refuses_bad_quantity_with_422(app, client, world, stocked, quantity):
    before = snapshot(app)

    response = contribute(client, world.group, world.lead.headers, stocked.a, world.siti.id, quantity)

    assert_error(response, 422, "quantity")
    assert snapshot(app) == before


def test_contribution_refuses_fractional_pieces_with_422(app, client, world):
    product = create_product(
        client,
        world.group,
        world.lead.headers,
        name="Kemeja batik",
        kind="garment",
        unit="pcs",
        variants=None,
        unit_price=125000,
    )
    variant_id = product["variants"][0]["id"]
    before = snapshot(app)

    fraction = contribute(client, world.group, world.lead.headers, variant_id, world.siti.id, "1.5")
    half_lusin = contribute(client, world.group, world.lead.headers, variant_id, world.siti.id, "0.5", unit="lusin")

    assert_error(fraction, 422, "quantity")
    assert_error(half_lusin, 422, "quantity")
    assert snapshot(app) == before


def test_contribution_refuses_another_groups_variant_member_or_unit_without_leaking(app, client, world, stocked):
    theirs = create_product(
        client, world.other_group, world.other_lead.headers, name="Gula aren rahasia", variants=None, unit_price=20000
    )
    their_variant = theirs["variants"][0]["id"]
    before = snapshot(app)

    variant = contribute(client, world.group, world.lead.headers, their_variant, world.siti.id, "1")
    member = contribute(client, world.group, world.lead.headers, stocked.a, world.other_member.id, "1")
    unknown_variant = contribute(client, world.group, world.lead.headers, 2_147_483_648, world.siti.id, "1")

    assert_error(variant, 422, "variant_id")
    assert "Gula" not in variant.get_data(as_text=True)
    assert_error(member, 422, "member_id")
    assert "Wati" not in member.get_data(as_text=True)
    assert_error(unknown_variant, 422, "variant_id")
    assert snapshot(app) == before


@pytest.mark.parametrize(
    "extra, field",
    [
        ({"unit": "bakul"}, "unit"),
        ({"unit": "liter"}, "unit"),  # does not convert to kg
        ({"unit": "g", "quantity": "0.1"}, "unit"),  # 0.0001 kg: more than 3 places
        ({"received_at": "kemarin"}, "received_at"),
        ({"received_at": "2999-01-01T00:00:00+07:00"}, "received_at"),
        ({"received_at": "1999-01-01T00:00:00+07:00"}, "received_at"),
        ({"best_before": "31/12/2026"}, "best_before"),
        ({"grade": "x" * 21}, "grade"),
        ({"note": "x" * 501}, "note"),
        ({"note": "busuk\x00"}, "note"),
        ({"variant_id": "1"}, "variant_id"),
        ({"member_id": None}, "member_id"),
        ({"lot_id": 1}, "lot_id"),
    ],
)
def test_contribution_refuses_bad_fields_with_422(app, client, world, stocked, extra, field):
    body = {"variant_id": stocked.a, "member_id": world.siti.id, "quantity": "1", **extra}
    before = snapshot(app)

    response = client.post(f"{API}/groups/{world.group.id}/contributions", json=body, headers=world.lead.headers)

    assert_error(response, 422, field)
    assert snapshot(app) == before


def test_contribution_from_inactive_member_is_422(app, client, world, stocked):
    former = make_member(app, world.group, name="Bu Darmi", active=False)
    before = snapshot(app)

    response = contribute(client, world.group, world.lead.headers, stocked.a, former.id, "1")

    assert_error(response, 422, "member_id")
    assert snapshot(app) == before


def test_contribution_refuses_json_array_and_malformed_json(app, client, world, stocked):
    before = snapshot(app)
    url = f"{API}/groups/{world.group.id}/contributions"

    array = client.post(
        url, json=[{"variant_id": stocked.a, "member_id": world.siti.id, "quantity": "1"}], headers=world.lead.headers
    )
    broken = client.post(
        url, data='{"variant_id": 1, "quantity": "1"', content_type="application/json", headers=world.lead.headers
    )

    assert_error(array, 422)
    assert_error(broken, 400)
    assert snapshot(app) == before


def test_adjusting_below_zero_is_409_and_changes_nothing(app, client, world, stocked):
    before = snapshot(app)

    response = adjust(
        client, world.group, world.lead.headers, variant_id=stocked.a, quantity="-3.001", reason="spoilage"
    )

    assert_error(response, 409, "quantity")
    assert snapshot(app) == before


def test_adjusting_below_reserved_is_409_and_changes_nothing(app, client, world, stocked):
    reserve(app, stocked.a, "2")
    before = snapshot(app)

    spoiled = adjust(client, world.group, world.lead.headers, variant_id=stocked.a, quantity="-1.5", reason="spoilage")
    counted = adjust(client, world.group, world.lead.headers, variant_id=stocked.a, counted="1", reason="count")

    assert_error(spoiled, 409, "quantity")
    assert_error(counted, 409, "quantity")
    assert snapshot(app) == before
    assert counters(app, stocked.a) == ("3", "2")


def test_adjusting_a_named_lot_beyond_what_it_holds_is_409(app, client, world, stocked):
    before = snapshot(app)

    response = adjust(
        client,
        world.group,
        world.lead.headers,
        variant_id=stocked.a,
        quantity="-1",
        reason="damage",
        lot_id=stocked.ani_lot["id"],
    )

    assert_error(response, 409)
    assert snapshot(app) == before


def test_return_of_a_variant_nobody_contributed_is_409(app, client, world, stocked):
    before = snapshot(app)

    response = adjust(client, world.group, world.lead.headers, variant_id=stocked.b, quantity="1", reason="return")

    assert_error(response, 409)
    assert snapshot(app) == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({"reason": "theft", "quantity": "-1"}, "reason"),
        ({"reason": "", "quantity": "-1"}, "reason"),
        ({"quantity": "-1"}, "reason"),
        ({"reason": "spoilage", "quantity": "0.5"}, "quantity"),  # spoilage takes away
        ({"reason": "return", "quantity": "-0.5"}, "quantity"),  # a return brings back
        ({"reason": "spoilage", "quantity": -0.3}, "quantity"),
        ({"reason": "spoilage", "quantity": "abc"}, "quantity"),
        ({"reason": "spoilage", "quantity": "-1.2345"}, "quantity"),
        ({"reason": "return", "quantity": 10**12}, "quantity"),
        ({"reason": "return", "quantity": "99999999.999"}, "quantity"),  # past the most a variant may hold
        ({"reason": "spoilage"}, "quantity"),
        ({"reason": "count", "counted": "2", "quantity": "-1"}, "counted"),
        ({"reason": "count", "counted": "-1"}, "counted"),
        ({"reason": "count", "counted": 2.5}, "counted"),
        ({"reason": "spoilage", "quantity": "-1", "note": "x" * 501}, "note"),
        ({"reason": "spoilage", "quantity": "-1", "lot_id": "1"}, "lot_id"),
        ({"reason": "spoilage", "quantity": "-1", "extra": 1}, "extra"),
    ],
)
def test_adjustment_refuses_bad_input_with_422(app, client, world, stocked, body, field):
    before = snapshot(app)

    response = adjust(client, world.group, world.lead.headers, variant_id=stocked.a, **body)

    assert_error(response, 422, field)
    assert snapshot(app) == before


def test_adjustment_refuses_another_groups_variant_and_lot(app, client, world, stocked):
    theirs = create_product(client, world.other_group, world.other_lead.headers, variants=None, unit_price=1000)
    their_variant = theirs["variants"][0]["id"]
    their_lot = contributed(
        client, world.other_group, world.other_lead.headers, their_variant, world.other_member.id, "4"
    )
    before = snapshot(app)

    variant = adjust(
        client, world.group, world.lead.headers, variant_id=their_variant, quantity="-1", reason="spoilage"
    )
    lot = adjust(
        client,
        world.group,
        world.lead.headers,
        variant_id=stocked.a,
        quantity="-1",
        reason="spoilage",
        lot_id=their_lot["id"],
    )
    other_variants_lot = adjust(
        client,
        world.group,
        world.lead.headers,
        variant_id=stocked.b,
        quantity="-1",
        reason="spoilage",
        lot_id=stocked.siti_lot["id"],
    )

    assert_error(variant, 422, "variant_id")
    assert_error(lot, 422, "lot_id")
    assert_error(other_variants_lot, 422, "lot_id")
    assert snapshot(app) == before


# --- who sees whose contributions ---------------------------------------------------------------------


def test_member_sees_only_their_own_contributions(app, client, world, stocked):
    own = contributed(client, world.group, world.lead.headers, stocked.b, world.plain.member_id, "1.25")
    elsewhere = make_member(app, world.other_group, name="Rina Wulandari", user=world.plain.user)
    theirs = create_product(client, world.other_group, world.other_lead.headers, variants=None, unit_price=9000)
    other_lot = contributed(
        client, world.other_group, world.other_lead.headers, theirs["variants"][0]["id"], elsewhere.id, "2"
    )
    url = f"{API}/groups/{world.group.id}/contributions"

    listed = client.get(url, headers=world.plain.headers)
    assert listed.status_code == 200
    assert [lot["id"] for lot in listed.json["items"]] == [own["id"]]
    assert listed.json["total"] == 1
    assert client.get(f"{url}?member_id={world.plain.member_id}", headers=world.plain.headers).json["total"] == 1
    assert_error(client.get(f"{url}?member_id={world.siti.id}", headers=world.plain.headers), 403)

    mine = client.get(f"{API}/me/contributions", headers=world.plain.headers)
    assert mine.status_code == 200
    assert {lot["id"] for lot in mine.json["items"]} == {own["id"], other_lot["id"]}
    assert mine.json["total"] == 2
    assert {lot["group_id"] for lot in mine.json["items"]} == {world.group.id, world.other_group.id}
    assert client.get(f"{API}/me/contributions", headers=world.lead.headers).json["total"] == 0


def test_coordinator_and_treasurer_see_everyones_contributions_and_filter_by_member(app, client, world, stocked):
    url = f"{API}/groups/{world.group.id}/contributions"
    for who in (world.lead, world.treasurer):
        assert client.get(url, headers=who.headers).json["total"] == 2
        only_ani = client.get(f"{url}?member_id={world.ani.id}", headers=who.headers).json
        assert [lot["id"] for lot in only_ani["items"]] == [stocked.ani_lot["id"]]
    assert_error(client.get(f"{url}?member_id={world.other_member.id}", headers=world.lead.headers), 422, "member_id")
    assert_error(client.get(f"{url}?member_id=abc", headers=world.lead.headers), 422, "member_id")


def test_contributions_page_through(app, client, world, stocked):
    for _ in range(3):
        contributed(client, world.group, world.lead.headers, stocked.b, world.siti.id, "1")

    page = client.get(f"{API}/groups/{world.group.id}/contributions?per_page=2&page=3", headers=world.lead.headers)

    assert page.json["total"] == 5 and page.json["page"] == 3 and page.json["per_page"] == 2
    assert [lot["id"] for lot in page.json["items"]] == [stocked.siti_lot["id"]]  # the oldest comes last


# --- alerts ----------------------------------------------------------------------------------------


def test_alerts_list_low_stock_and_lots_near_or_past_best_before(app, client, world):
    today = datetime.now(WIB).date()
    product = create_product(
        client,
        world.group,
        world.lead.headers,
        variants=[
            {"label": "A", "unit_price": 45000, "low_stock_threshold": "5"},
            {"label": "B", "unit_price": 30000, "low_stock_threshold": "1"},
        ],
    )
    a, b = (v["id"] for v in product["variants"])
    expiring = contributed(
        client,
        world.group,
        world.lead.headers,
        a,
        world.siti.id,
        "2",
        best_before=(today + timedelta(days=1)).isoformat(),
    )
    expired = contributed(
        client,
        world.group,
        world.lead.headers,
        b,
        world.ani.id,
        "3",
        best_before=(today - timedelta(days=1)).isoformat(),
    )
    contributed(
        client,
        world.group,
        world.lead.headers,
        b,
        world.ani.id,
        "1",
        best_before=(today + timedelta(days=30)).isoformat(),
    )

    for who in (world.lead, world.treasurer, world.admin):
        body = client.get(f"{API}/groups/{world.group.id}/alerts", headers=who.headers).json
        assert [(row["variant_id"], row["available"], row["low_stock_threshold"]) for row in body["low_stock"]] == [
            (a, "2", "5")
        ]
        assert [lot["id"] for lot in body["expiring"]] == [expiring["id"]]
        assert [lot["id"] for lot in body["expired"]] == [expired["id"]]
