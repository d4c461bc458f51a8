"""The marketplace: the catalog, the cart, checkout, the order lifecycle and the expiry of unpaid orders."""
from flask import Flask, g, request

from core.extensions import api as rest_api
from core.extensions import csrf, db
from marketplace import api, catalog_api, cli, views  # noqa: F401 (catalog_api: its routes are on api.blp)
from marketplace.services import expire_opportunistically

# Requests that show or take stock: before them, unpaid card orders past their window give their stock back.
EXPIRY_SWEEP_PATHS = ("/api/v1/orders", "/api/v1/checkouts", "/api/v1/products")


def init_app(app: Flask) -> None:
    csrf.exempt(api.blp)
    rest_api.register_blueprint(api.blp)
    app.register_blueprint(views.bp)
    app.cli.add_command(cli.orders_cli)

    @app.before_request
    def _expire_unpaid_orders():
        # Cheap: at most once a minute per process does it query; `flask orders expire` does the same from cron.
        if not request.path.startswith(EXPIRY_SWEEP_PATHS):
            return
        if app.testing and not app.config.get("EXPIRE_IN_REQUESTS"):
            return
        _sweep_expired_orders(app, expire_opportunistically)


def _sweep_expired_orders(app: Flask, expire_opportunistically) -> None:
    """Run the opportunistic expiry sweep in a transaction of its own; a failure is logged, never the request's."""
    g.write_transaction = True  # SQLite: the sweep may write, so it begins IMMEDIATE even in a GET
    try:
        expire_opportunistically()
        # Only when the sweep ran is there a session (and maybe a transaction) to end.
        if db.session.registry.has() and db.session().in_transaction():
            db.session.commit()
    except Exception:
        db.session.rollback()
        app.logger.exception("expiring unpaid card orders failed")
    finally:
        g.pop("write_transaction", None)
