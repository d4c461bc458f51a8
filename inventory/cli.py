"""flask stock check: prove the stock books."""

import click
from flask.cli import AppGroup

from inventory.services import stock_check

stock_cli = AppGroup("stock", help="Shared stock tasks.")


@stock_cli.command("check")
def check() -> None:
    """Prove counters equal the sum of movements and lots add up to on-hand; exit 1 on any mismatch."""
    problems = stock_check()
    if problems:
        for line in problems:
            click.echo(f"MISMATCH {line}")
        click.echo(f"{len(problems)} mismatch(es) found.")
        raise SystemExit(1)
    click.echo("Stock books agree: counters equal movements, lots equal on-hand.")
