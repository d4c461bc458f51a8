"""Accounts: users, passwords, sessions and API tokens; the login and register pages and API."""

from flask import Flask

from core.extensions import api as rest_api
from core.extensions import csrf


def init_app(app: Flask) -> None:
    from accounts import api, cli, views

    csrf.exempt(api.blp)  # JSON only: SameSite cookies and the JSON content type stand in for a token
    rest_api.register_blueprint(api.blp)
    app.register_blueprint(views.bp)
    app.cli.add_command(cli.create_admin)
