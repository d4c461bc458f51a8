"""flask orders expire: expire unpaid card orders past their payment window."""

import click
from flask.cli import AppGroup

from core.extensions import db
from marketplace.services import expire_orders

orders_cli = AppGroup("orders", help="Order tasks.")


@orders_cli.command("expire")
def expire() -> None:
    """Expire unpaid card orders past their payment window (CARD_PAYMENT_WINDOW_MINUTES) and release their stock."""
    total = 0
    while True:  # expire_orders takes at most a few hundred at a time
        count = expire_orders()
        db.session.commit()
        total += count
        if count == 0:
            break
    click.echo(f"{total} order(s) expired.")
