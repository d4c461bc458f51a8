"""Pages that read across the domains: a member's earnings, a group's revenue dashboard, the district overview."""

from flask import Flask


def init_app(app: Flask) -> None:
    from dashboards import views

    app.register_blueprint(views.bp)
