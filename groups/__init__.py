"""Groups (kelompok tani, KUB): their members, roles, verification and invitations."""

from flask import Flask

from core.extensions import api as rest_api
from core.extensions import csrf


def init_app(app: Flask) -> None:
    from groups import api, views

    csrf.exempt(api.blp)
    rest_api.register_blueprint(api.blp)
    app.register_blueprint(views.bp)
