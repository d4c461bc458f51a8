"""The kernel's command: flask ledger check, over the checks each domain registers with core.ledger."""

import click
from flask.cli import AppGroup

from core.ledger import check_all

ledger_cli = AppGroup("ledger", help="The books.")


@ledger_cli.command("check")
def ledger_check() -> None:
    """Prove every journal entry balances and each order's payments and refunds agree with the books."""
    problems = check_all()
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) in the books.")
    click.echo("The books balance.")
