"""The marketplace: the catalog, the cart, checkout, the order lifecycle and the expiry of unpaid orders."""

from flask import Flask

from core.extensions import api as rest_api
from core.extensions import csrf
from inventory import references
from marketplace import api, catalog_api, cli, listing, views  # noqa: F401 (catalog_api: its routes are on api.blp; listing: its tables)


def init_app(app: Flask) -> None:
    csrf.exempt(api.blp)
    rest_api.register_blueprint(api.blp)
    app.register_blueprint(views.bp)
    references.register_kind(app, "order_line", views.orders.order_line_references)
    app.cli.add_command(cli.orders_cli)
