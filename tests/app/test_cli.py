"""Command-line tasks: create-admin (seed-demo: tests/app/test_demo.py)."""

from sqlalchemy import func, select

from accounts.models import User


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
