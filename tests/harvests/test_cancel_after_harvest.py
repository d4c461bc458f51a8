"""A pre-order the harvest gave goods to, cancelled before its order is packed: by the buyer while nothing is
paid, or by the coordinator, from the pre-order or from the order's own page. The deposit is given back (a
harvest's terms keep none) and booked, the goods set aside for it go back on sale, and the buyer's message says
so."""

from decimal import Decimal

from tests.books import assert_books_balance, ledger_problems, stock_problems
from tests.harvests.helpers import announce, buyers, ok, post, pre_order, record, snapshot
from tests.harvests.test_harvest_pages import page_login
from tests.market import API, body_of, counters, placed
from tests.pages import html, t


def _harvested(app, client, market, deposit="20"):
    """Cabai Grade B: A pre-orders 2 kg and pays the 20 % deposit, B 1 kg and pays nothing; 5 kg come in."""
    harvest = announce(client, market, variant_id=market.cabai_b, shortfall_rule="first_come", deposit_percent=deposit)
    a, b = buyers(app, 2, prefix="Warung")
    pa, pb = pre_order(client, harvest, a, "2"), pre_order(client, harvest, b, "1")
    post(client, f"/orders/{pa['order_id']}/payments", market.lead, {"method": "cash", "amount": 12000}, status=201)
    record(client, market, harvest, [(market.siti, "5")])
    return harvest, a, b, pa, pb


def _pre_order(client, market, harvest, pre_order_id) -> dict:
    done = ok(client.get(f"{API}/harvests/{harvest['id']}", headers=market.lead.headers))
    return next(p for p in done["pre_orders"] if p["id"] == pre_order_id)


def test_the_coordinator_cancels_a_filled_pre_orders_order_and_the_deposit_and_goods_come_back(app, client, market):
    harvest, a, _b, pa, _pb = _harvested(app, client, market)
    on_hand, reserved = counters(app, market.cabai_b)
    cancelled = post(client, f"/orders/{pa['order_id']}/cancel", market.lead, {"reason": "pembeli batal"}, status=200)
    assert (cancelled["status"], cancelled["paid"], cancelled["refunded"]) == ("cancelled", 12000, 12000)
    row = _pre_order(client, market, harvest, pa["id"])
    assert (row["status"], row["filled"], row["refunded"]) == ("cancelled", "2", 12000)
    # The 2 kg set aside for it are free stock again: a buyer checks them out with the rest.
    assert counters(app, market.cabai_b) == (on_hand, reserved - 2)
    free = on_hand - (reserved - 2)
    order = placed(client, market.buyer, body_of((market.cabai_b, str(free))))
    assert order["orders"][0]["total"] == int(free * 30000)
    # The buyer is told, in Indonesian, that it is cancelled and the deposit given back.
    message = next(
        m
        for m in ok(client.get(f"{API}/harvests/{harvest['id']}", headers=market.lead.headers))["messages"]
        if m["buyer_id"] == a.id
    )
    assert message["status"] == "cancelled"
    assert "dibatalkan" in message["text"] and "Rp12.000" in message["text"] and "dikembalikan" in message["text"]
    assert stock_problems(app) == [] and ledger_problems(app) == []
    assert_books_balance(app)


def test_the_buyer_cancels_a_filled_pre_order_before_paying_and_the_goods_go_back_on_sale(app, client, market):
    harvest, _a, b, _pa, pb = _harvested(app, client, market)
    on_hand, reserved = counters(app, market.cabai_b)
    done = post(client, f"/pre-orders/{pb['id']}/cancel", b, {}, status=200)
    assert (done["status"], done["order_status"], done["refunded"]) == ("cancelled", "cancelled", 0)
    assert counters(app, market.cabai_b) == (on_hand, reserved - 1)
    post(client, f"/pre-orders/{pb['id']}/cancel", b, {}, status=409)  # once
    assert stock_problems(app) == [] and ledger_problems(app) == []


def test_a_buyer_who_paid_a_deposit_asks_the_group_and_the_coordinator_gives_it_back(app, client, market):
    harvest, a, _b, pa, _pb = _harvested(app, client, market)
    before, stock_before = snapshot(app, harvest["id"]), counters(app, market.cabai_b)
    refused = post(client, f"/orders/{pa['order_id']}/cancel", a, {"reason": "tidak jadi"}, status=409)
    assert refused["message"] == t(
        app, "A deposit is paid on this pre-order: ask the group to cancel it and give it back."
    )
    post(client, f"/pre-orders/{pa['id']}/cancel", a, {}, status=409)
    assert snapshot(app, harvest["id"]) == before and counters(app, market.cabai_b) == stock_before
    assert _pre_order(client, market, harvest, pa["id"])["status"] == "filled"
    done = post(client, f"/pre-orders/{pa['id']}/cancel", market.lead, {"note": "pindah rumah"}, status=200)
    assert (done["status"], done["refunded"]) == ("cancelled", 12000)
    order = ok(client.get(f"{API}/orders/{pa['order_id']}", headers=a.headers))
    assert (order["status"], order["refunded"]) == ("cancelled", 12000)
    assert stock_problems(app) == [] and ledger_problems(app) == []


def test_a_part_filled_pre_order_cancelled_gives_back_its_credited_deposit(app, client, market):
    harvest = announce(client, market, variant_id=market.cabai_b, shortfall_rule="pro_rata", deposit_percent="10")
    (a,) = buyers(app, 1, prefix="Kantin")
    pa = pre_order(client, harvest, a, "4")
    post(client, f"/orders/{pa['order_id']}/payments", market.lead, {"method": "cash", "amount": 12000}, status=201)
    done = record(client, market, harvest, [(market.ani, "2")])
    (row,) = done["pre_orders"]
    assert (row["status"], row["filled"], row["paid"], row["refunded"]) == ("part_filled", "2", 12000, 0)
    cancelled = post(client, f"/orders/{row['order_id']}/cancel", market.lead, {"reason": "batal"}, status=200)
    assert cancelled["refunded"] == 12000
    assert _pre_order(client, market, harvest, pa["id"])["refunded"] == 12000
    # Its only pre-order's order is cancelled: the harvest is done.
    assert ok(client.get(f"{API}/harvests/{harvest['id']}"))["status"] == "done"
    assert stock_problems(app) == [] and ledger_problems(app) == []


def test_a_packed_pre_order_is_not_cancelled(app, client, market):
    harvest, _a, b, _pa, pb = _harvested(app, client, market)
    post(client, f"/orders/{pb['order_id']}/ready", market.lead, {}, status=200)
    post(client, f"/pre-orders/{pb['id']}/cancel", market.lead, {}, status=409)
    assert _pre_order(client, market, harvest, pb["id"])["status"] == "filled"
    assert counters(app, market.cabai_b)[1] >= Decimal(0)


def test_the_coordinator_cancels_a_filled_pre_order_on_its_confirmation_page(app, client, market):
    harvest, a, _b, pa, _pb = _harvested(app, client, market)
    page_login(client, market.lead)
    page = html(client.get(f"/harvests/{harvest['id']}"))
    assert f'href="/pre-orders/{pa["id"]}/cancel"' in page
    confirm = html(client.get(f"/pre-orders/{pa['id']}/cancel"))
    assert t(app, "What the harvest set aside for it goes back on sale. This cannot be undone.") in confirm
    assert t(app, "What was paid on it is given back.") in confirm
    done = client.post(f"/pre-orders/{pa['id']}/cancel", data={"note": ""})
    assert done.status_code == 302
    page = html(client.get(f"/harvests/{harvest['id']}"))
    assert t(app, "The pre-order is cancelled.") in page
    assert f'href="/pre-orders/{pa["id"]}/cancel"' not in page
    page_login(client, a)
    mine = html(client.get("/me/pre-orders"))
    assert t(app, "given back %(amount)s", amount="Rp12.000") in mine
