"""Command-line tasks: create-admin and seed-demo."""

from sqlalchemy import func, select

from accounts.models import User
from core.extensions import db
from groups.models import Group, Member, Role
from inventory.models import Lot, Movement, Product, Variant
from inventory.services import stock_check
from marketplace.models import Checkout, Order, OrderEvent, OrderLine, OrderLineLot, OrderStatus, PaymentMethod
from revenue.models import Payout


def test_create_admin_makes_a_district_admin(app, db):
    result = app.test_cli_runner().invoke(
        args=["create-admin", "--email", "Admin@Blitar.test", "--password", "kabupaten-1"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "admin@blitar.test"))
        assert user.is_admin and user.check_password("kabupaten-1")


def test_create_admin_refuses_a_short_password(app, db):
    result = app.test_cli_runner().invoke(args=["create-admin", "--email", "a@b.test", "--password", "short"])
    assert result.exit_code != 0
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 0


def test_create_admin_promotes_an_existing_account(app, db):
    runner = app.test_cli_runner()
    runner.invoke(args=["create-admin", "--email", "a@b.test", "--password", "first-pass-1"])
    result = runner.invoke(args=["create-admin", "--email", "a@b.test", "--password", "second-pass-2"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        users = db.session.scalars(select(User)).all()
        assert len(users) == 1 and users[0].check_password("second-pass-2")


def _counts(app):
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (
                User,
                Group,
                Member,
                Product,
                Variant,
                Lot,
                Movement,
                Checkout,
                Order,
                OrderLine,
                OrderLineLot,
                OrderEvent,
            )
        )


def test_seed_demo_is_idempotent_and_matches_the_readme(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    counts = _counts(app)
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert _counts(app) == counts
    with app.app_context():
        groups = {g.name: g for g in db.session.scalars(select(Group))}
        assert len(groups) == 3
        sizes = {name: sum(1 for m in g.members if m.active) for name, g in groups.items()}
        assert sizes == {"KUB Jahit Sumberejo": 6, "Kelompok Tani Cabai Makmur": 8, "Kelompok Tani Belimbing Sari": 8}
        assert groups["KUB Jahit Sumberejo"].village == "Sumberejo"
        assert groups["KUB Jahit Sumberejo"].district == "Sanankulon"
        assert {g.district for n, g in groups.items() if n != "KUB Jahit Sumberejo"} == {"Ponggok"}
        for group in groups.values():
            assert sum(1 for m in group.members if m.role == Role.coordinator and m.user_id) == 1
    readme = app.root_path + "/README.md"
    text = open(readme, encoding="utf-8").read()
    client = app.test_client()
    for login in (
        "admin@pasar.test",
        "pembeli@pasar.test",
        "kub.sumberejo@pasar.test",
        "cabai.ponggok@pasar.test",
        "belimbing.ponggok@pasar.test",
        "0812-3300-0102",
    ):
        assert login in text, f"README does not give the demo login {login}"
        response = client.post("/api/v1/auth/login", json={"email": login, "password": "pasar-demo"})
        assert response.status_code == 200, (login, response.json)
        client.post("/api/v1/auth/logout")
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "admin@pasar.test")).is_admin
        names = set(db.session.scalars(select(Product.name)))
        assert {"Cabai rawit merah", "Belimbing", "Gula kelapa", "Seragam sekolah SD", "Daster batik"} <= names
        labels = {v.label for v in db.session.scalars(select(Variant).join(Product).where(Product.name == "Belimbing"))}
        assert labels == {"Grade A", "Grade B"}
        assert db.session.scalar(select(func.count(Lot.id))) >= 15
        assert stock_check() == []


def test_seed_demo_leaves_the_demo_buyer_orders_in_every_status(app, db):
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["seed-demo"])
        assert result.exit_code == 0, result.output
    with app.app_context():
        buyer = db.session.scalar(select(User).where(User.email == "pembeli@pasar.test"))
        orders = db.session.scalars(select(Order).order_by(Order.id)).all()
        assert {o.buyer_id for o in orders} == {buyer.id}
        assert {o.status for o in orders} == set(OrderStatus)
        assert {o.group_id for o in orders} == set(db.session.scalars(select(Group.id)))
        for order in orders:
            history = [e.to_status for e in order.events]
            assert history[0] == OrderStatus.placed and history[-1] == order.status
        expired = next(o for o in orders if o.status == OrderStatus.expired)
        assert expired.payment_method == PaymentMethod.card and expired.events[-1].actor_id is None
        packed = [o for o in orders if o.status in (OrderStatus.ready, OrderStatus.completed)]
        assert packed and all(line.allocations for o in packed for line in o.lines)
        assert stock_check() == []
    check = runner.invoke(args=["stock", "check"])
    assert check.exit_code == 0, check.output


def test_seed_demo_pays_members_part_of_what_they_earned_once(app, db):
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["seed-demo"])
        assert result.exit_code == 0, result.output
    client = app.test_client()
    client.post("/api/v1/auth/login", json={"email": "0812-3300-0102", "password": "pasar-demo"})
    mine = client.get("/api/v1/me/earnings").json
    assert [(m["name"], m["earned"], m["paid_out"], m["balance"]) for m in mine] == [
        ("Siti Aminah", 255000, 100000, 155000)
    ]  # 3 uniforms she sewed at Rp85.000; Rp100.000 paid in cash
    with app.app_context():
        assert db.session.scalar(select(func.count(Payout.id))) == 2
    books = runner.invoke(args=["ledger", "check"])
    assert books.exit_code == 0, books.output
