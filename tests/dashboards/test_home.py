"""The home page of a coordinator, a treasurer and the district admin: what waits, with its numbers, each a link.

The situation is made as people make it (checkouts and each step through the API); the counts are read by
dashboards.home in a few GROUP BY queries, whatever the number of groups.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import event, update

from accounts.models import User
from core.extensions import db
from dashboards import home
from groups.models import Group
from inventory.models import Variant
from marketplace.services import today_wib
from tests.factories import make_group
from tests.market import body_of, placed, sold
from tests.market import moved as step
from tests.marketplace.test_marketplace_pages import page_login
from tests.pages import html, t


def seed(app, client, market) -> dict:
    """Poktan Sumber Rejeki with one order of each kind of work, a variant running low, a member owed money,
    and last month not settled."""
    m = market
    today = today_wib()
    [new] = placed(client, m.buyer, body_of((m.tomat, "1")))["orders"]  # placed, cash: to confirm
    [due] = placed(client, m.buyer, body_of((m.tomat, "1"), date=today.isoformat()))["orders"]
    step(client, due["id"], "confirm", m.lead)  # confirmed for today: to pack
    later = (today + timedelta(days=2)).isoformat()
    [transfer] = placed(client, m.other_buyer, body_of((m.tomat, "2"), payment="transfer", date=later))["orders"]
    step(client, transfer["id"], "confirm", m.lead)  # a transfer not yet received: to record, not to pack
    [packed] = placed(client, m.other_buyer, body_of((m.cabai_b, "1"), date=later))["orders"]
    step(client, packed["id"], "confirm", m.lead)
    step(client, packed["id"], "ready", m.lead)  # cash taken at handover: to record
    sold(client, m.buyer, m.lead, (m.cabai_a, "1"))  # Siti's chilli sold: she is owed her share
    with app.app_context():
        db.session.execute(update(Variant).where(Variant.id == m.cabai_b).values(low_stock_threshold=Decimal(5)))
        long_ago = datetime.now(UTC) - timedelta(days=70)
        db.session.execute(update(Group).where(Group.id == m.tani.id).values(created_at=long_ago))
        db.session.commit()
    return {"new": new, "due": due, "transfer": transfer, "packed": packed}


def work_of(app, person) -> list[home.GroupWork]:
    with app.test_request_context("/"):
        user = db.session.get(User, person.id)
        return home.group_work(user)


def test_group_work_counts_what_waits_in_each_group(app, client, market):
    orders = seed(app, client, market)
    [tani] = [w for w in work_of(app, market.lead) if w.group.id == market.tani.id]
    assert (tani.new_orders, tani.to_pack, tani.to_record, tani.low_stock) == (1, 1, 2, 1)
    assert tani.owed_by_buyers == orders["transfer"]["total"] + orders["packed"]["total"]
    assert tani.unsettled_month == (today_wib().replace(day=1) - timedelta(days=1)).replace(day=1)
    assert tani.members_owed == 1 and tani.owed_to_members > 0
    [treasurers] = work_of(app, market.treasurer)  # the treasurer keeps the books: the same numbers
    assert (treasurers.new_orders, treasurers.to_record, treasurers.members_owed) == (1, 2, 1)
    [jahit] = work_of(app, market.jahit_lead)  # another group's coordinator sees only their own, with nothing
    assert jahit.group.id == market.jahit.id and not jahit.waiting
    assert work_of(app, market.plain) == []  # an ordinary member has no such work


def test_group_work_reads_a_few_queries_whatever_the_number_of_groups(app, client, market):
    seed(app, client, market)
    for n in range(5):
        make_group(app, market.lead.user, name=f"Poktan Tambahan {n}")
    statements = []

    def seen(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            work = work_of(app, market.lead)
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
    assert len(work) == 6
    # the user, the groups, orders, made-to-order jobs, low stock, settlements, balances, harvests (the due list of
    # jobs at work is read only for a group that has one)
    assert len(statements) <= 8, statements


def test_coordinators_home_lists_the_work_as_large_links(app, client, market):
    seed(app, client, market)
    page_login(client, market.lead.user)
    page = html(client.get("/me/groups"))
    queue = f"/groups/{market.tani.id}/orders"
    assert f'href="{queue}?status=placed"><strong>1</strong> {t(app, "new order to confirm")}' in page
    assert f'href="{queue}?status=to_pack"><strong>1</strong> {t(app, "order to pack today")}' in page
    assert f'href="{queue}?status=owed"><strong>2</strong> {t(app, "payment to record")}' in page
    assert f'href="/groups/{market.tani.id}/dashboard"><strong>1</strong> {t(app, "product running low")}' in page
    assert f'href="/groups/{market.tani.id}/settlements"><strong>1</strong>' in page
    assert f'href="/groups/{market.tani.id}/payouts"><strong>1</strong> {t(app, "member to pay out")}' in page
    assert "pesanan baru untuk dikonfirmasi" in page and 'class="todo"' in page


def test_queue_filters_of_the_home_links_show_those_orders(app, client, market):
    orders = seed(app, client, market)
    page_login(client, market.lead.user)

    def listed(status):
        page = html(client.get(f"/groups/{market.tani.id}/orders?status={status}"))
        return {o["id"] for o in orders.values() if f'href="/orders/{o["id"]}"' in page}

    assert listed("to_pack") == {orders["due"]["id"]}
    assert listed("owed") == {orders["transfer"]["id"], orders["packed"]["id"]}
    assert listed("placed") == {orders["new"]["id"]}


def test_every_order_row_is_one_large_link(app, client, market):
    orders = seed(app, client, market)
    page_login(client, market.lead.user)
    page = html(client.get(f"/groups/{market.tani.id}/orders"))
    for order in (orders["new"], orders["due"], orders["packed"]):
        assert f'<a class="rowlink" href="/orders/{order["id"]}">' in page
    packing = html(client.get(f"/groups/{market.tani.id}/packing"))
    assert f'<a class="rowlink" href="/orders/{orders["due"]["id"]}">' in packing
    client.post("/logout", data={})
    page_login(client, market.buyer.user)
    mine = html(client.get("/orders"))
    assert mine.count('<tr class="rowlink">') >= 3
    css = client.get(next(part for part in page.split('"') if part.startswith("/static/site")))
    assert b"a.rowlink::after" in css.data and b"min-height:44px" in css.data


def test_the_admin_lands_on_the_district_and_the_groups_waiting(app, client, market):
    waiting = make_group(app, market.lead.user, name="KUB Batik Baru", verified=False)
    page_login(client, market.admin.user)
    page = html(client.get("/me/groups"))
    assert t(app, "You are not in any group yet.") not in page
    assert t(app, "District overview") in page and 'href="/admin/overview"' in page
    assert 'href="/admin/groups/waiting"><strong>1</strong>' in page
    assert f'href="/groups/{waiting.id}"' in page and "KUB Batik Baru" in page
    assert "menunggu verifikasi" in page


def test_a_buyer_sees_no_work_on_the_home_page(app, client, market):
    page_login(client, market.buyer.user)
    page = html(client.get("/me/groups"))
    assert 'class="todo"' not in page and t(app, "You are not in any group yet.") in page


def test_revenue_page_links_to_payouts_periods_and_each_members_statement(app, client, market):
    seed(app, client, market)
    page_login(client, market.lead.user)
    tani = market.tani.id
    page = html(client.get(f"/groups/{tani}/revenue"))
    assert f'href="/groups/{tani}/payouts"' in page and f'href="/groups/{tani}/settlements"' in page
    assert f'href="/groups/{tani}/members/{market.siti.id}/statement"' in page
    members = html(client.get(f"/groups/{tani}/members"))
    assert f'<a class="tap" href="/groups/{tani}/members/{market.siti.id}/statement">' in members
    assert client.get(f"/groups/{tani}/members/{market.siti.id}/statement").status_code == 200


def test_the_admin_reads_revenue_without_statement_links(app, client, market):
    seed(app, client, market)
    page_login(client, market.admin.user)
    tani = market.tani.id
    page = html(client.get(f"/groups/{tani}/revenue"))
    assert f'href="/groups/{tani}/payouts"' in page
    assert "/statement" not in page and f'href="/groups/{tani}/settlements"' not in page
