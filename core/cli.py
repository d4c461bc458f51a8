"""Command-line tasks: flask create-admin, flask seed-demo; stock and orders tasks come from their domains."""
import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from core.auth import User, clean_email, register_user
from core.errors import AppError
from core.extensions import db


@click.command("create-admin")
@with_appcontext
@click.option("--email", required=True, help="E-mail the admin logs in with.")
@click.option("--name", default="Admin Kabupaten", show_default=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="At least 8 characters (asked for when not given).")
def create_admin(email: str, name: str, password: str) -> None:
    """Create a district admin, or make an existing account one."""
    try:
        user = db.session.scalar(select(User).where(User.email == clean_email(email)))
        if user is None:
            user = register_user(email=email, password=password, name=name)
            action = "created"
        else:
            user.set_password(password)
            action = "promoted"
    except AppError as exc:
        details = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in exc.errors.items())
        raise click.ClickException(f"{exc.message} {details}".strip()) from None
    user.is_admin = True
    db.session.commit()
    click.echo(f"Admin {action}: {user.email}")


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Load the Blitar demo groups, members and logins (safe to run again)."""
    from demo import seed

    summary = seed()
    db.session.commit()
    for line in summary:
        click.echo(line)


ledger_cli = AppGroup("ledger", help="The books.")


@ledger_cli.command("check")
def ledger_check() -> None:
    """Prove every journal entry balances and each order's payments and refunds agree with the books."""
    from core.ledger import check_all

    problems = check_all()
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) in the books.")
    click.echo("The books balance.")


def register(app: Flask) -> None:
    from inventory.cli import stock_cli
    import marketplace.payments  # noqa: F401  (registers its checks of the books)
    from marketplace.cli import orders_cli

    app.cli.add_command(create_admin)
    app.cli.add_command(seed_demo)
    app.cli.add_command(stock_cli)
    app.cli.add_command(orders_cli)
    app.cli.add_command(ledger_cli)
