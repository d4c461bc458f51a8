"""Pages that read across the domains: a member's earnings, a group's revenue dashboard, the district overview,
and what waits on the home page of a coordinator, a treasurer and the district admin (groups.home)."""

from flask import Flask

from groups import home as home_page


def init_app(app: Flask) -> None:
    from dashboards import views

    app.register_blueprint(views.bp)
    home_page.register_section(app, views.home_section)
