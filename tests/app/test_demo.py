"""The demo (`flask seed-demo`) on an empty database: its logins, a catalog with photos, two months of history
with the earlier one settled, today's orders, and books that check clean; loaded once for this module."""

import io
from datetime import timedelta
from types import SimpleNamespace

import pytest
from PIL import Image
from sqlalchemy import func, select

import demo_commissions
from accounts.models import User
from commissions.models import Commission, CommissionPieces
from core.extensions import db as _db
from core.extensions import limiter
from core.formatting import WIB
from core.ledger import check_all
from demo_calendar import month_name, months
from groups.models import Group, Member, Role
from harvests.models import Harvest
from inventory.models import Lot, Movement, Product, Variant
from inventory.photos import MAX_UPLOAD_BYTES
from inventory.services import stock_check
from marketplace.models import (
    Checkout,
    Order,
    OrderEvent,
    OrderKind,
    OrderLine,
    OrderLineLot,
    OrderStatus,
    PaymentMethod,
)
from marketplace.services import today_wib
from payments.models import Payment, Refund
from revenue.models import Payout, Saving, Settlement, Statement
from revenue.services.settlements import day_start as _start
from tests.conftest import _wipe

LOGINS = (
    "admin@pasar.test",
    "pembeli@pasar.test",
    "kub.sumberejo@pasar.test",
    "cabai.ponggok@pasar.test",
    "belimbing.ponggok@pasar.test",
    "0812-3300-0102",
    "sumiati",
)
COUNTED = (User, Group, Member, Product, Variant, Lot, Movement, Checkout, Order, OrderLine, OrderLineLot, OrderEvent,
           Payment, Refund, Payout, Saving, Settlement, Statement)  # fmt: skip


@pytest.fixture(scope="module")
def demo(app, tmp_path_factory):
    """The demo loaded once into the empty database, its photos in a folder of this run; wiped at the end."""
    media = tmp_path_factory.mktemp("media")
    saved = app.config.get("MEDIA_DIR")
    app.config["MEDIA_DIR"] = str(media)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    yield SimpleNamespace(runner=runner, output=result.output, media=media, today=today_wib())
    app.config["MEDIA_DIR"] = saved
    _wipe(app)


def _counts(app) -> tuple[int, ...]:
    with app.app_context():
        return tuple(_db.session.scalar(select(func.count()).select_from(model)) for model in COUNTED)


def _login(app, login: str):
    with app.app_context():
        limiter.reset()  # as the `db` fixture does between tests
    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"email": login, "password": "pasar-demo"})
    assert response.status_code == 200, (login, response.json)
    return client


def test_seed_demo_is_idempotent_and_matches_the_readme(app, demo):
    counts = _counts(app)
    again = demo.runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0, again.output
    assert _counts(app) == counts
    with app.app_context():
        groups = {g.name: g for g in _db.session.scalars(select(Group))}
        assert len(groups) == 3
        sizes = {name: sum(1 for m in g.members if m.active) for name, g in groups.items()}
        assert sizes == {"KUB Jahit Sumberejo": 6, "Kelompok Tani Cabai Makmur": 8, "Kelompok Tani Belimbing Sari": 8}
        assert groups["KUB Jahit Sumberejo"].village == "Sumberejo"
        assert groups["KUB Jahit Sumberejo"].district == "Sanankulon"
        assert {g.district for n, g in groups.items() if n != "KUB Jahit Sumberejo"} == {"Ponggok"}
        for group in groups.values():
            assert sum(1 for m in group.members if m.role == Role.coordinator and m.user_id) == 1
        assert _db.session.scalar(select(User).where(User.email == "admin@pasar.test")).is_admin
    text = open(app.root_path + "/README.md", encoding="utf-8").read()
    for login in LOGINS:
        assert login in text, f"README does not give the demo login {login}"
        _login(app, login).post("/api/v1/auth/logout")


def test_seed_demo_lists_30_products_across_the_groups_each_with_a_photo(app, demo):
    with app.app_context():
        products = _db.session.scalars(select(Product)).all()
        assert len(products) >= 30
        per_group = {}
        for product in products:
            per_group[product.group_id] = per_group.get(product.group_id, 0) + 1
        assert len(per_group) == 3 and min(per_group.values()) >= 10
        assert {"Cabai rawit merah", "Belimbing", "Gula kelapa", "Seragam sekolah SD", "Daster batik"} <= {
            p.name for p in products
        }
        assert sum(1 for p in products if len(p.variants) > 1) >= 15  # grades and sizes
        labels = {
            v.label for v in _db.session.scalars(select(Variant).join(Product).where(Product.name == "Belimbing"))
        }
        assert labels == {"Grade A", "Grade B"}
        assert all(p.photo for p in products)
        names = [p.photo for p in products]
    for name in names:
        for file in (demo.media / f"{name}.webp", demo.media / f"{name}-thumb.webp"):
            data = file.read_bytes()
            assert 0 < len(data) < MAX_UPLOAD_BYTES
            with Image.open(io.BytesIO(data)) as image:
                assert image.format == "WEBP"
    client = app.test_client()
    response = client.get(f"/media/products/{names[0]}.webp")
    assert response.status_code == 200 and response.mimetype == "image/webp"


def test_seed_demo_dates_two_months_of_sales_before_this_one(app, demo):
    first, second = months(demo.today)
    after = (second + timedelta(days=40)).replace(day=1)
    with app.app_context():
        completed = _db.session.execute(
            select(Order, OrderEvent.created_at)
            .join(OrderEvent, OrderEvent.order_id == Order.id)
            .where(OrderEvent.to_status == OrderStatus.completed)
        ).all()
        done = [moment.astimezone(WIB).date() for _order, moment in completed]
        assert sum(1 for day in done if first <= day < second) >= 30
        assert sum(1 for day in done if second <= day < after) >= 30
        # The history's sales (from stock); the made-to-order job of the last ten days may begin in the month before.
        history = select(Order).where(Order.created_at < _start(after), Order.kind == OrderKind.stock)
        orders = _db.session.scalars(history).all()
        assert {o.payment_method for o in orders} == {PaymentMethod.cash, PaymentMethod.transfer}
        assert sum(1 for o in orders if o.status == OrderStatus.cancelled) >= 3
        assert _db.session.scalar(select(func.count(Refund.id)).where(Refund.created_at < _start(after))) >= 3
        assert len({o.buyer_id for o in orders}) >= 5
        for order in orders:  # each step on its own day and hour, in order, none in the future
            moments = [e.created_at for e in order.events]
            assert moments == sorted(moments) and moments[0] >= _start(first) and moments[-1] < _start(after)
            assert order.status in (OrderStatus.completed, OrderStatus.cancelled)
        makers = _db.session.execute(
            select(Lot.group_id, func.count(func.distinct(Lot.member_id)))
            .where(Lot.received_at < _start(after))
            .group_by(Lot.group_id)
        ).all()
        assert len(makers) == 3 and min(count for _group, count in makers) >= 4


def test_seed_demo_settles_the_earlier_month_with_statements_payouts_and_savings(app, demo):
    first, second = months(demo.today)
    with app.app_context():
        settlements = _db.session.scalars(select(Settlement)).all()
        assert len(settlements) == 3
        assert {(s.period_start, s.period_end) for s in settlements} == {(first, second - timedelta(days=1))}
        for settlement in settlements:
            assert settlement.created_at.astimezone(WIB).date() > settlement.period_end
            sold = [s for s in settlement.statements if s.sales > 0]
            assert len(sold) >= 4
            assert all(s.closing == s.opening + s.sales + s.pool_share + s.shu - s.refunds - s.payouts for s in sold)
            assert any(s.fund_deductions > 0 for s in sold)  # the group fund's share of each sale
        paid = _db.session.scalars(select(Payout)).all()
        assert any(_start(first) <= p.created_at < _start(second) for p in paid)  # in the settled month
        assert sum(1 for p in paid if p.created_at >= _start(second)) >= 10  # after it was settled
        assert {"cash"} < {p.method.value for p in paid} <= {"cash", "transfer", "ewallet"}
        assert _db.session.scalar(select(func.count(Saving.id)).where(Saving.amount > 0)) >= 10
        kub = _db.session.scalar(select(Group).where(Group.name == "KUB Jahit Sumberejo"))
        settled = next(s for s in settlements if s.group_id == kub.id)
    coordinator = _login(app, "kub.sumberejo@pasar.test")
    page = coordinator.get(f"/groups/{kub.id}/settlements/{settled.id}")
    assert page.status_code == 200 and "Siti Aminah" in page.get_data(as_text=True)
    revenue = coordinator.get(f"/groups/{kub.id}/revenue").get_data(as_text=True)
    assert month_name(first) in revenue and month_name(second) in revenue
    admin = _login(app, "admin@pasar.test").get("/admin/overview").get_data(as_text=True)
    assert month_name(first) in admin and month_name(second) in admin


def test_seed_demo_leaves_books_and_stock_that_check_clean(app, demo):
    with app.app_context():
        assert check_all() == []
        assert stock_check() == []
    for command in (["ledger", "check"], ["stock", "check"]):
        result = demo.runner.invoke(args=command)
        assert result.exit_code == 0, result.output


def test_seed_demo_leaves_todays_orders_of_the_demo_buyer_in_every_status(app, demo):
    with app.app_context():
        buyer = _db.session.scalar(select(User).where(User.email == "pembeli@pasar.test"))
        orders = _db.session.scalars(
            select(Order).join(Checkout).where(Checkout.idempotency_key.like("demo-order-%")).order_by(Order.id)
        ).all()
        assert {o.buyer_id for o in orders} == {buyer.id}
        assert {o.status for o in orders} == set(OrderStatus)
        assert {o.group_id for o in orders} == set(_db.session.scalars(select(Group.id)))
        for order in orders:
            history = [e.to_status for e in order.events]
            assert history[0] == OrderStatus.placed and history[-1] == order.status
            assert order.created_at.astimezone(WIB).date() == demo.today
        expired = next(o for o in orders if o.status == OrderStatus.expired)
        assert expired.payment_method == PaymentMethod.card and expired.events[-1].actor_id is None
        packed = [o for o in orders if o.status in (OrderStatus.ready, OrderStatus.completed)]
        assert packed and all(line.allocations for o in packed for line in o.lines)
        assert _db.session.scalar(select(func.count(Order.id)).where(Order.buyer_id == buyer.id)) > len(orders)


def test_a_member_who_logs_in_by_phone_sees_what_she_earned_and_was_paid(app, demo):
    client = _login(app, "0812-3300-0102")
    mine = client.get("/api/v1/me/earnings").json
    assert [m["name"] for m in mine] == ["Siti Aminah"]
    earned, paid, balance = mine[0]["earned"], mine[0]["paid_out"], mine[0]["balance"]
    assert earned > paid > 0 and balance == earned - paid
    with app.app_context():
        assert (
            _db.session.scalar(select(func.count(Payout.id)).where(Payout.idempotency_key.like("demo-payout-_"))) == 2
        )
    with app.app_context():
        kub = _db.session.scalar(select(Group.id).where(Group.name == "KUB Jahit Sumberejo"))
    statement = client.get(f"/groups/{kub}/my-statement", follow_redirects=True)
    assert statement.status_code == 200
    assert "Siti Aminah" in statement.get_data(as_text=True)


def test_a_member_on_a_shared_phone_logs_in_with_her_login_name_and_sees_her_own_earnings(app, demo):
    client = _login(app, "sumiati")
    assert [m["name"] for m in client.get("/api/v1/me/earnings").json] == ["Sumiati"]
    with app.app_context():
        siti = _db.session.scalar(select(Member).where(Member.name == "Siti Aminah"))
        sumiati = _db.session.scalar(select(Member).where(Member.name == "Sumiati"))
        assert siti.phone == sumiati.phone and siti.user_id != sumiati.user_id


def test_the_demo_job_and_harvest_unfold_over_the_last_days_in_wib(app, demo):
    with app.app_context():
        job = _db.session.scalar(select(Commission).where(Commission.title == demo_commissions.TITLE))
        steps = [(e.created_at.astimezone(WIB), e.to_status.value) for e in job.events]
        assert [status for _moment, status in steps] == ["requested", "quoted", "accepted", "in_production"]
        assert steps[0][0].date() == demo.today - timedelta(days=10)
        moments = [moment for moment, _status in steps]
        pieces = [p.created_at.astimezone(WIB) for p in _db.session.scalars(select(CommissionPieces))]
        paid = [
            p.created_at.astimezone(WIB) for p in _db.session.scalars(select(Payment)) if p.order_id in job_orders(job)
        ]
        assert len({m.date() for m in pieces}) >= 4 and len(paid) == 2  # the deposit, then the part delivered
        every = moments + pieces + paid
        assert moments == sorted(moments) and max(every).date() < demo.today and min(every) == moments[0]
        harvest = _db.session.scalar(select(Harvest))
        announced = harvest.events[0].created_at.astimezone(WIB)
        placed = sorted(p.created_at.astimezone(WIB) for p in harvest.pre_orders)
        assert announced.date() == demo.today - timedelta(days=5)
        assert announced < placed[0] and placed[-1].date() < demo.today and len({m.date() for m in placed}) == 3


def job_orders(job) -> set[int]:
    return set(_db.session.scalars(select(Order.id).where(Order.checkout_id == job.checkout_id)))
