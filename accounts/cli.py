"""Account commands: flask create-admin."""

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from accounts.models import User
from accounts.services import clean_email, register_user
from core.errors import AppError
from core.extensions import db


@click.command("create-admin")
@with_appcontext
@click.option("--email", required=True, help="E-mail the admin logs in with.")
@click.option("--name", default="Admin Kabupaten", show_default=True)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="At least 8 characters (asked for when not given).",
)
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
