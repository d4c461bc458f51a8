"""Shared stock: products and variants, units, lots (members' contributions), the stock ledger, reservations."""

from flask import Flask

from core.extensions import api as rest_api
from core.extensions import csrf


def init_app(app: Flask) -> None:
    from inventory import api, cli, views

    csrf.exempt(api.blp)
    rest_api.register_blueprint(api.blp)
    app.register_blueprint(views.bp)
    app.cli.add_command(cli.stock_cli)
