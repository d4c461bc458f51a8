"""The stock pages, driven through the test client: stock and adjustments, the ledger, contributions, dashboard."""

import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from accounts.models import User
from core.extensions import db
from core.formatting import WIB, format_wib
from groups.models import Group
from inventory import services as inv
from inventory.models import Lot, Movement, Variant
from tests.books import stock_problems
from tests.inventory.pages_world import (
    acting_as,
    contribute,
    inventory_rows,
    page_login,
    selected,
    stock_of,
    world,  # noqa: F401 (fixture)
)
from tests.pages import html, t

# --- stock and adjustments ------------------------------------------------------------


def test_stock_page_shows_counters_with_units_and_highlights_low_stock(app, client, world):
    contribute(app, world, world.siti, world.cabai_a, "2")
    contribute(app, world, world.ani, world.cabai_b, "7.25")
    with app.test_request_context("/", method="POST"):
        inv.reserve([inv.StockLine(world.cabai_b, Decimal("1.25"), "order:1")])
        db.session.commit()
    page_login(client, "ketua@blitar.test")
    body = html(client.get(f"/groups/{world.group.id}/stock"))
    row_a = re.search(r'<tr class="low">(.*?)</tr>', body, re.DOTALL).group(1)
    assert "Cabai rawit – A (kg)" in row_a and t(app, "low stock") in row_a and "2 kg" in row_a
    row_b = re.search(r"<tr>\s*<td><strong>Cabai rawit – B \(kg\)(.*?)</tr>", body, re.DOTALL).group(1)
    assert ">7,25<" in row_b and ">1,25<" in row_b and "6 kg" in row_b
    assert body.count('class="low"') == 1


def test_spoilage_takes_stock_away_from_the_oldest_lot(app, client, world):
    first = contribute(app, world, world.siti, world.cabai_a, "3")
    contribute(app, world, world.ani, world.cabai_a, "4")
    page_login(client, "ketua@blitar.test")
    response = client.post(
        f"/groups/{world.group.id}/stock",
        data={"variant_id": str(world.cabai_a), "reason": "spoilage", "quantity": "-1,5", "note": "busuk"},
    )
    assert response.status_code == 302, html(response)
    assert stock_of(app, world.cabai_a) == (Decimal("5.5"), Decimal(0))
    with app.app_context():
        assert db.session.get(Lot, first).remaining == Decimal("1.5")
    body = html(client.get(response.headers["Location"]))
    assert t(app, "Stock of %(product)s changed by %(change)s.", product="Cabai rawit – A (kg)", change="-1,5") in body
    assert stock_problems(app) == []


def test_a_count_records_the_difference_from_what_was_counted(app, client, world):
    contribute(app, world, world.siti, world.daster_std, "10")
    page_login(client, "ketua@blitar.test")
    response = client.post(
        f"/groups/{world.group.id}/stock", data={"variant_id": str(world.daster_std), "reason": "count", "counted": "8"}
    )
    assert response.status_code == 302, html(response)
    assert stock_of(app, world.daster_std) == (Decimal(8), Decimal(0))
    response = client.post(
        f"/groups/{world.group.id}/stock", data={"variant_id": str(world.daster_std), "reason": "count", "counted": "8"}
    )
    assert t(app, "Nothing changed: the count matches the stock.") in html(client.get(response.headers["Location"]))
    assert stock_problems(app) == []


def test_a_return_goes_back_to_the_named_lot(app, client, world):
    siti_lot = contribute(app, world, world.siti, world.cabai_a, "3")
    contribute(app, world, world.ani, world.cabai_a, "4")
    page_login(client, "ketua@blitar.test")
    page = html(client.get(f"/groups/{world.group.id}/stock"))
    assert f'value="{siti_lot}"' in page  # open lots to choose from
    response = client.post(
        f"/groups/{world.group.id}/stock",
        data={"variant_id": str(world.cabai_a), "reason": "return", "quantity": "0.5", "lot_id": str(siti_lot)},
    )
    assert response.status_code == 302, html(response)
    with app.app_context():
        assert db.session.get(Lot, siti_lot).remaining == Decimal("3.5")
    assert stock_problems(app) == []


@pytest.mark.parametrize(
    "data",
    [
        {"reason": "spoilage", "quantity": "-5"},
        {"reason": "damage", "quantity": "-2.001"},
        {"reason": "count", "counted": "0.5"},  # below what orders hold
    ],
)
def test_an_adjustment_below_zero_or_below_reservations_shows_the_error_and_changes_nothing(app, client, world, data):
    contribute(app, world, world.siti, world.cabai_a, "2")
    with app.test_request_context("/", method="POST"):
        inv.reserve([inv.StockLine(world.cabai_a, Decimal(1), "order:7")])
        db.session.commit()
    before = inventory_rows(app)
    page_login(client, "ketua@blitar.test")
    response = client.post(f"/groups/{world.group.id}/stock", data={"variant_id": str(world.cabai_a), **data})
    assert response.status_code == 200
    body = html(response)
    assert t(app, "Stock cannot go below zero or below what orders hold.") in body
    assert 'class="field-error"' in body
    assert inventory_rows(app) == before
    assert stock_problems(app) == []


@pytest.mark.parametrize(
    "data,message",
    [
        ({"reason": "spoilage", "quantity": "2"}, "Spoilage and damage take stock away: send a negative quantity."),
        ({"reason": "return", "quantity": "-1"}, "A return brings goods back: send a positive quantity."),
        ({"reason": "rotten", "quantity": "-1"}, "Choose spoilage, damage, count or return."),
        ({"reason": "spoilage", "quantity": "-0.5", "variant": "daster"}, "%(unit)s takes whole numbers only."),
        ({"reason": "spoilage", "quantity": "-1", "lot": "other"}, "No such lot of this variant in this group."),
    ],
)
def test_a_wrong_adjustment_shows_the_rule_and_changes_nothing(app, client, world, data, message):
    contribute(app, world, world.siti, world.cabai_a, "2")
    b_lot = contribute(app, world, world.siti, world.cabai_b, "2")
    contribute(app, world, world.siti, world.daster_std, "2")
    before = inventory_rows(app)
    page_login(client, "ketua@blitar.test")
    data = dict(data)
    variant = world.daster_std if data.pop("variant", None) == "daster" else world.cabai_a
    if data.pop("lot", None):
        data["lot_id"] = str(b_lot)  # a lot of another variant
    response = client.post(f"/groups/{world.group.id}/stock", data={"variant_id": str(variant), **data})
    assert response.status_code == 200
    assert t(app, message, unit="pcs") in html(response)
    assert inventory_rows(app) == before


def test_the_books_stay_clean_after_a_day_of_intake_and_corrections(app, client, world):
    page_login(client, "ketua@blitar.test")
    intake = f"/groups/{world.group.id}/intake"
    for member, variant, quantity in [
        (world.siti, world.cabai_a, "2.5"),
        (world.ani, world.cabai_a, "4"),
        (world.siti, world.daster_std, "12"),
        (world.ani, world.cabai_b, "abc"),
        (world.stranger, world.cabai_b, "1"),
        (world.ani, world.daster_std, "1.5"),
    ]:
        client.post(intake, data={"member_id": str(member.id), "variant_id": str(variant), "quantity": quantity})
    stock = f"/groups/{world.group.id}/stock"
    for data in [
        {"variant_id": world.cabai_a, "reason": "spoilage", "quantity": "-3"},
        {"variant_id": world.cabai_a, "reason": "damage", "quantity": "-10"},
        {"variant_id": world.daster_std, "reason": "count", "counted": "11"},
        {"variant_id": world.daster_std, "reason": "return", "quantity": "2"},
    ]:
        client.post(stock, data={k: str(v) for k, v in data.items()})
    assert stock_of(app, world.cabai_a) == (Decimal("3.5"), Decimal(0))
    assert stock_of(app, world.daster_std) == (Decimal(13), Decimal(0))
    assert stock_of(app, world.cabai_b) == (Decimal(0), Decimal(0))
    assert stock_problems(app) == []


# --- the ledger -----------------------------------------------------------------------


def test_ledger_lists_movements_with_times_in_wib(app, client, world):
    lot = contribute(app, world, world.siti, world.cabai_a, "5")
    contribute(app, world, world.ani, world.cabai_b, "1")
    with acting_as(app, world.lead) as get:
        inv.adjust(
            get(User, world.lead.id),
            get(Group, world.group.id),
            variant_id=world.cabai_a,
            reason="spoilage",
            quantity="-0.5",
            note="busuk",
        )
    with app.app_context():
        moves = db.session.scalars(
            select(Movement).where(Movement.variant_id == world.cabai_a).order_by(Movement.id)
        ).all()
        with app.test_request_context("/"), force_locale("id"):
            shown = [format_wib(m.created_at) for m in moves]
    page_login(client, "ketua@blitar.test")
    body = html(client.get(f"/groups/{world.group.id}/movements", query_string={"variant_id": world.cabai_a}))
    for when in shown:
        assert when in body and when.endswith(" WIB")
    assert t(app, "Contribution") in body and t(app, "spoilage") in body
    assert "+5" in body and "-0,5" in body and "busuk" in body
    assert f"#{lot} · Siti Aminah" in body
    assert "Ani Rahayu" not in body  # the filter shows one variant
    assert "Ani Rahayu" in html(client.get(f"/groups/{world.group.id}/movements"))
    assert selected(body, "variant_id") == str(world.cabai_a)


def test_ledger_is_paginated(app, client, world):
    for _ in range(55):
        contribute(app, world, world.ani, world.daster_std, "1")
    page_login(client, "ketua@blitar.test")
    first = html(client.get(f"/groups/{world.group.id}/movements"))
    assert first.count("Daster batik") >= 50
    assert f'href="/groups/{world.group.id}/movements?page=2' in first
    second = html(client.get(f"/groups/{world.group.id}/movements", query_string={"page": "2"}))
    assert second.count(">+1<") == 5


# --- my contributions -----------------------------------------------------------------


def test_a_member_sees_only_their_own_contributions(app, client, world):
    mine = contribute(app, world, world.siti, world.cabai_a, "3")
    contribute(app, world, world.ani, world.cabai_b, "7")
    with acting_as(app, world.lead) as get:
        inv.adjust(
            get(User, world.lead.id),
            get(Group, world.group.id),
            variant_id=world.cabai_a,
            reason="spoilage",
            quantity="-0.5",
        )
        inv.reserve([inv.StockLine(world.cabai_a, Decimal(1), "order:1")])
        inv.consume(inv.StockLine(world.cabai_a, Decimal(1), "line:1"))
    page_login(client, "siti@blitar.test")
    response = client.get("/me/contributions")
    assert response.status_code == 200
    body = html(response)
    assert "Cabai rawit – A (kg)" in body and f"#{mine}" in body and "KUB Jahit Melati" in body
    assert "Cabai rawit – B" not in body and ">7 kg<" not in body
    row = re.search(rf"· #{mine}</span>.*?</tr>", body, re.DOTALL).group(0)
    assert ">3 kg<" in row and ">1,5<" in row and ">1<" in row and ">0,5<" in row  # given, left, sold, written off
    assert 'href="/me/contributions"' in body  # in the header


def test_contributions_page_is_empty_for_a_buyer(app, client, world):
    contribute(app, world, world.siti, world.cabai_a, "3")
    page_login(client, "pembeli@blitar.test")
    body = html(client.get("/me/contributions"))
    assert "Cabai rawit" not in body
    assert (
        t(app, "You have not handed in anything yet. When your coordinator records what you bring, it shows here.")
        in body
    )


# --- the dashboard --------------------------------------------------------------------


def test_dashboard_shows_a_low_stock_variant_and_a_lot_past_best_before(app, client, world):
    today = datetime.now(WIB).date()
    old = contribute(app, world, world.siti, world.cabai_a, "2", best_before=(today - timedelta(days=2)).isoformat())
    soon = contribute(app, world, world.ani, world.cabai_b, "9", best_before=(today + timedelta(days=1)).isoformat())
    contribute(app, world, world.ani, world.daster_std, "9", best_before=(today + timedelta(days=60)).isoformat())
    page_login(client, "ketua@blitar.test")
    body = html(client.get(f"/groups/{world.group.id}/dashboard"))
    low = body.split(t(app, "Low stock"))[1].split("</table>")[0]
    assert "Cabai rawit – A (kg)" in low and ">2<" in low and "5 kg" in low
    assert "Cabai rawit – B" not in low
    past = body.split(t(app, "Past best-before"))[1].split("</table>")[0]
    assert f"#{old}" in past and "Siti Aminah" in past
    near = body.split(t(app, "Near best-before"))[1].split("</table>")[0]
    assert f"#{soon}" in near and "Ani Rahayu" in near
    assert "Daster" not in body.split(t(app, "Low stock"))[1]
    for link in ("products", "intake", "stock", "movements", "members"):
        assert f'href="/groups/{world.group.id}/{link}"' in body


def test_dashboard_says_when_nothing_needs_attention(app, client, world):
    contribute(app, world, world.siti, world.cabai_a, "20")
    page_login(client, "ketua@blitar.test")
    body = html(client.get(f"/groups/{world.group.id}/dashboard"))
    assert (
        t(app, "Nothing needs attention: no stock below its threshold, no goods near their best-before date.") in body
    )


def test_what_people_type_is_escaped_on_inventory_pages(app, client, world):
    script = "<script>alert(1)</script>"
    page_login(client, "ketua@blitar.test")
    client.post(
        f"/groups/{world.group.id}/products/new",
        data={
            "name": "Keripik " + script,
            "kind": "processed",
            "unit": "pcs",
            "variants-0-label": "L" + script,
            "variants-0-unit_price": "5000",
            "variants-0-low_stock_threshold": "10",
        },
    )
    with app.app_context():
        variant_id = db.session.scalar(select(Variant.id).where(Variant.label == "L" + script))
    assert variant_id
    client.post(
        f"/groups/{world.group.id}/intake",
        data={
            "member_id": str(world.siti.id),
            "variant_id": str(variant_id),
            "quantity": "3",
            "grade": "<b>A",
            "note": script,
        },
    )
    for path in ("products", "intake", "stock", "movements", "dashboard"):
        body = html(client.get(f"/groups/{world.group.id}/{path}"))
        assert "<script>" not in body and "&lt;script&gt;" in body, path


@pytest.mark.parametrize("variant_id", ["other", "99999999999", "abc", "-1", "0"])
def test_ledger_filter_with_a_strange_variant_is_a_clear_answer_not_a_500(app, client, world, variant_id):
    with acting_as(app, world.other_lead) as get:
        other = (
            inv.create_product(
                get(User, world.other_lead.id),
                get(Group, world.other_group.id),
                name="Belimbing",
                kind="produce",
                unit="kg",
                unit_price="12000",
            )
            .variants[0]
            .id
        )
    page_login(client, "ketua@blitar.test")
    response = client.get(
        f"/groups/{world.group.id}/movements",
        query_string={"variant_id": str(other) if variant_id == "other" else variant_id},
    )
    assert response.status_code in (200, 404, 422)
    assert "Belimbing" not in html(response)
