"""The issue's story end to end through the API: a school orders 120 uniforms in five sizes, pays a 30 % deposit,
three members sew them, they are delivered in two parts, and each member earns exactly her pieces' share."""

from tests.books import ledger_problems, stock_problems
from tests.commissions.helpers import SIZES, line_of, ok, post, quote_job, request_job, uniforms
from tests.market import API


def test_a_school_orders_120_uniforms_delivered_in_two_parts(app, client, market):
    job = uniforms(app, client, market)
    commission = request_job(client, job)
    assert commission["status"] == "requested"
    assert sum(int(line["quantity"]) for line in commission["lines"]) == 120
    cid = commission["id"]

    # A first quote, then a revision at a lower price for size S; the first can no longer be accepted.
    first = quote_job(client, job, commission, prices={"S": 71000})
    assert first["status"] == "quoted" and [q["revision"] for q in first["quotes"]] == [1]
    quoted = quote_job(client, job, commission)
    assert [q["revision"] for q in quoted["quotes"]] == [1, 2]
    total = sum(q * price for q, price in SIZES.values())
    assert quoted["quotes"][-1]["total"] == total == 8_895_000
    deposit = quoted["quotes"][-1]["deposit"]
    assert deposit == 2_668_500  # 30 %
    outdated = post(client, f"/commissions/{cid}/accept", job.school, {"revision": 1})
    assert outdated.status_code == 409

    accepted = post(client, f"/commissions/{cid}/accept", job.school, {"revision": 2}, status=200)
    again = post(client, f"/commissions/{cid}/accept", job.school, {"revision": 2}, status=200)
    assert accepted["status"] == again["status"] == "accepted"
    assert len(again["orders"]) == 1
    [order] = accepted["orders"]
    assert (order["status"], order["total"], order["paid"]) == ("confirmed", total, 0)
    shown = ok(client.get(f"{API}/orders/{order['id']}", headers=job.school.headers))
    assert (shown["kind"], shown["status"], len(shown["lines"])) == ("made_to_order", "confirmed", 5)

    # The 30 % deposit, by transfer, recorded by the coordinator.
    post(client, f"/orders/{order['id']}/payments", job.lead, {"method": "transfer", "amount": deposit}, status=201)
    assert ok(client.get(f"{API}/commissions/{cid}", headers=job.school.headers))["deposit"] == {
        "amount": deposit,
        "paid": deposit,
        "on_cancel": "refund",
    }

    # Work shared out: Sari S 30 + M 10, Rina M 20 + L 25, Dewi XL 20 + XXL 15.
    plan = [
        (job.sari_id, "S", 30),
        (job.sari_id, "M", 10),
        (job.rina.id, "M", 20),
        (job.rina.id, "L", 25),
        (job.dewi.id, "XL", 20),
        (job.dewi.id, "XXL", 15),
    ]
    assignments = {}
    for member_id, size, pieces in plan:
        made = post(
            client,
            f"/commissions/{cid}/assignments",
            job.lead,
            {"line_id": line_of(job, commission, size), "member_id": member_id, "pieces": str(pieces)},
            status=201,
        )
        assignments[member_id, size] = made["id"]
    over = post(
        client,
        f"/commissions/{cid}/assignments",
        job.lead,
        {"line_id": line_of(job, commission, "S"), "member_id": job.rina.id, "pieces": "1"},
    )
    assert over.status_code == 409 and "pieces" in over.json["errors"]

    # Sari sees her own work.
    mine = ok(client.get(f"{API}/me/commission-assignments", headers=job.sari.headers))
    assert sorted((a["variant_name"], a["pieces"], a["remaining"]) for a in mine) == [
        ("Seragam SD M", "10", "10"),
        ("Seragam SD S", "30", "30"),
    ]

    def hand_in(member_id, size, pieces, key):
        post(
            client,
            f"/commission-assignments/{assignments[member_id, size]}/pieces",
            job.lead,
            {"quantity": str(pieces)},
            key=key,
            status=201,
        )

    hand_in(job.sari_id, "S", 30, "s-1")
    hand_in(job.sari_id, "M", 10, "m-1")
    hand_in(job.rina.id, "M", 20, "m-2")
    hand_in(job.rina.id, "L", 10, "l-1")
    now = ok(client.get(f"{API}/commissions/{cid}", headers=job.school.headers))
    assert now["status"] == "in_production"
    assert "assignments" not in now  # the buyer sees progress, not who sews what
    progress = {p["line_id"]: (p["ordered"], p["done"], p["delivered"]) for p in now["progress"]}
    assert progress[line_of(job, commission, "S")] == ("30", "30", "0")
    assert progress[line_of(job, commission, "L")] == ("25", "10", "0")
    assert stock_problems(app) == []

    # First delivery: the 70 pieces made. Worth more than the deposit, it keeps the order (and its payment).
    first_delivery = post(client, f"/commissions/{cid}/deliveries", job.lead, {}, status=201)
    part = first_delivery["order"]
    assert part["id"] == order["id"] and part["status"] == "ready"
    part_total = 30 * 70000 + 30 * 72000 + 10 * 75000
    assert (part["total"], part["paid"]) == (part_total, deposit)
    rest = next(o for o in first_delivery["commission"]["orders"] if o["id"] != order["id"])
    assert (rest["status"], rest["total"], rest["paid"]) == ("confirmed", total - part_total, 0)
    owed = part_total - deposit
    done = post(client, f"/orders/{part['id']}/complete", job.lead, {"payment": {"amount": owed}}, status=200)
    assert done["status"] == "completed"

    # The rest: Rina's last 15 of L, Dewi's XL and XXL; then everything that is left is delivered.
    hand_in(job.rina.id, "L", 15, "l-2")
    hand_in(job.dewi.id, "XL", 20, "xl-1")
    hand_in(job.dewi.id, "XXL", 15, "xxl-1")
    assert ok(client.get(f"{API}/commissions/{cid}", headers=job.lead.headers))["status"] == "ready"
    second = post(client, f"/commissions/{cid}/deliveries", job.lead, {}, status=201)
    assert second["order"]["id"] == rest["id"] and second["order"]["status"] == "ready"
    post(client, f"/orders/{rest['id']}/complete", job.lead, {"payment": {"amount": rest["total"]}}, status=200)
    final = ok(client.get(f"{API}/commissions/{cid}", headers=job.school.headers))
    assert final["status"] == "completed"
    assert {p["delivered"] for p in final["progress"]} == {str(q) for q, _p in SIZES.values()}
    assert sum(o["paid"] for o in final["orders"]) == total

    # Each member earned exactly her pieces' share (the contribution split, no fund percent).
    balances = ok(client.get(f"{API}/groups/{job.group.id}/balances", headers=job.lead.headers))
    earned = {row["member_id"]: row["earned"] for row in balances["members"]}
    assert earned[job.sari_id] == 30 * 70000 + 10 * 72000
    assert earned[job.rina.id] == 20 * 72000 + 25 * 75000
    assert earned[job.dewi.id] == 20 * 78000 + 15 * 80000
    sari_sees = ok(client.get(f"{API}/me/earnings", headers=job.sari.headers))
    assert [row["earned"] for row in sari_sees if row["group_id"] == job.group.id] == [30 * 70000 + 10 * 72000]
    assert stock_problems(app) == []
    assert ledger_problems(app) == []
