"""The issue's story: a chili harvest over-subscribed and shared out by the group's rule (pro rata, then first
come first served), the buyers told by WhatsApp-ready messages, the money given back or credited, the makers
paid by the contribution split; and a harvest bigger than its pre-orders, whose rest is on normal sale."""

from decimal import Decimal

from tests.books import assert_books_balance, ledger_problems, stock_problems
from tests.harvests.helpers import announce, buyers, ok, post, pre_order, preordered, record
from tests.market import API, body_of, counters, placed


def test_an_over_subscribed_harvest_is_shared_out_pro_rata(app, client, market):
    harvest = announce(client, market, deposit_percent="20")  # 10-14 kg, cap 80 % of 10 = 8 kg, Rp45.000
    assert (harvest["cap"], harvest["left"], harvest["unit_price"]) == ("8", "8", 45000)
    assert harvest["week_label"] == "minggu depan" and harvest["label"] == "Pre-order: panen minggu depan"
    a, b, c, late = buyers(app, 4)
    first = pre_order(client, harvest, a, "3", key="a-1")
    assert (first["status"], first["total"], first["deposit"]) == ("placed", 135000, 27000)
    pre_order(client, harvest, b, "3", key="b-1")
    pre_order(client, harvest, c, "2", key="c-1")
    # The cap is reached: a later buyer is refused, and told what is left.
    refused = pre_order(client, harvest, late, "1", key="late-1", status=409)
    assert refused["errors"]["quantity"] == ["Paling banyak 0."]
    assert preordered(app, harvest["id"]) == 8
    listed = ok(client.get(f"{API}/harvests"))
    assert [(h["id"], h["left"]) for h in listed["items"]] == [(harvest["id"], "0")]

    # A pays the deposit; the harvest comes in short: 5.5 kg for 8 pre-ordered.
    post(client, f"/orders/{first['order_id']}/payments", market.lead, {"method": "cash", "amount": 27000}, status=201)
    done = record(client, market, harvest, [(market.siti, "3"), (market.ani, "2.5")], key="panen-1")
    assert (done["status"], done["harvested"]) == ("harvested", "5.5")
    got = {p["buyer_id"]: (p["filled"], p["status"], p["total"], p["paid"]) for p in done["pre_orders"]}
    # Exact shares 2.0625, 2.0625, 1.375: the thousandth left goes to the earlier of the two ties.
    assert got[a.id] == ("2.063", "part_filled", 92835, 27000)  # the deposit counts towards what A gets
    assert got[b.id] == ("2.062", "part_filled", 92790, 0)
    assert got[c.id] == ("1.375", "part_filled", 61875, 0)
    on_hand, reserved = counters(app, market.cabai_a)
    assert reserved - Decimal(0) >= Decimal("5.5")  # every kilo harvested is set aside for the pre-orders

    # The buyers are told, in Indonesian, what they get and when.
    messages = {m["buyer_id"]: m for m in done["messages"]}
    assert messages[a.id]["whatsapp_url"].startswith(f"https://wa.me/{a.user.phone[1:]}?text=")
    assert "2,063 kg" in messages[a.id]["text"] and "uang muka" in messages[a.id]["text"].lower()
    assert "Anda mendapat 1,375 kg dari 2 kg" in messages[c.id]["text"]

    # A's order goes on as usual: packed, handed over with what is owed, completed; Siti's lot filled it.
    order = post(client, f"/orders/{first['order_id']}/ready", market.lead, {}, status=200)
    assert order["status"] == "ready"
    post(
        client, f"/orders/{first['order_id']}/complete", market.lead, {"payment": {"amount": 92835 - 27000}}, status=200
    )
    balances = ok(client.get(f"{API}/groups/{market.tani.id}/balances", headers=market.lead.headers))
    earned = {row["member_id"]: row["earned"] for row in balances["members"]}
    assert earned[market.siti.id] == 92835 and earned.get(market.ani.id, 0) == 0
    assert stock_problems(app) == [] and ledger_problems(app) == []
    assert_books_balance(app)


def test_a_short_harvest_first_come_first_served_refunds_those_who_got_less_or_nothing(app, client, market):
    harvest = announce(client, market, variant_id=market.tomat, shortfall_rule="first_come", deposit_percent="50")
    a, b, c = buyers(app, 3, prefix="Dapur")
    pre_order(client, harvest, a, "4")
    pb = pre_order(client, harvest, b, "3", payment_method="transfer")
    pc = pre_order(client, harvest, c, "1")
    assert pb["deposit"] == 6002  # 50 % of Rp12.003, half a rupiah up
    post(client, f"/orders/{pb['order_id']}/payments", market.lead, {"method": "transfer", "amount": 6002}, status=201)
    post(client, f"/orders/{pc['order_id']}/payments", market.lead, {"method": "cash", "amount": 2001}, status=201)

    done = record(client, market, harvest, [(market.ani, "5")])
    got = {p["buyer_id"]: p for p in done["pre_orders"]}
    assert (got[a.id]["filled"], got[a.id]["status"]) == ("4", "filled")
    # B gets 1 kg of 3, worth less than the deposit paid: the deposit is given back and the kilo is a new order.
    assert (got[b.id]["filled"], got[b.id]["status"], got[b.id]["refunded"]) == ("1", "part_filled", 6002)
    assert got[b.id]["order_id"] != pb["order_id"] and got[b.id]["total"] == 4001 and got[b.id]["paid"] == 0
    # C gets nothing: the order is cancelled, what was paid is given back.
    assert (got[c.id]["filled"], got[c.id]["status"], got[c.id]["refunded"]) == ("0", "unfilled", 2001)
    assert got[c.id]["order_status"] == "cancelled"
    old_b = ok(client.get(f"{API}/orders/{pb['order_id']}", headers=b.headers))
    assert (old_b["status"], old_b["refunded"]) == ("cancelled", 6002)
    texts = {m["buyer_id"]: m["text"] for m in done["messages"]}
    assert "Rp6.002" in texts[b.id] and "dikembalikan" in texts[b.id]
    assert "dibatalkan" in texts[c.id] and "Rp2.001" in texts[c.id]
    assert stock_problems(app) == [] and ledger_problems(app) == []

    # Recording it twice changes nothing: 409; the buyer's list shows the pre-order and its harvest.
    record(client, market, harvest, [(market.ani, "5")], status=409)
    mine = ok(client.get(f"{API}/me/pre-orders", headers=c.headers))
    assert [(p["id"], p["status"], p["harvest"]["status"]) for p in mine["items"]] == [
        (pc["id"], "unfilled", "harvested")
    ]


def test_a_harvest_bigger_than_its_pre_orders_fills_them_all_and_the_rest_is_on_sale(app, client, market):
    before = counters(app, market.cabai_b)
    harvest = announce(client, market, variant_id=market.cabai_b, shortfall_rule="first_come")
    a, b = buyers(app, 2, prefix="Toko")
    pa, pb = pre_order(client, harvest, a, "2"), pre_order(client, harvest, b, "1.5")
    done = record(client, market, harvest, [(market.siti, "6"), (market.ani, "4")])
    assert {p["status"] for p in done["pre_orders"]} == {"filled"}
    on_hand, reserved = counters(app, market.cabai_b)
    assert on_hand - before[0] == 10 and reserved - before[1] == Decimal("3.5")
    # The 6.5 kg left are free stock: a buyer checks out 6 kg of them at once.
    order = placed(client, market.buyer, body_of((market.cabai_b, "6")))
    assert order["orders"][0]["total"] == 6 * 30000
    # Both pre-orders complete; the harvest is then done.
    for pre, owed in ((pa, 60000), (pb, 45000)):
        post(client, f"/orders/{pre['order_id']}/ready", market.lead, {}, status=200)
        post(client, f"/orders/{pre['order_id']}/complete", market.lead, {"payment": {"amount": owed}}, status=200)
    assert ok(client.get(f"{API}/harvests/{harvest['id']}"))["status"] == "done"
    assert stock_problems(app) == [] and ledger_problems(app) == []
