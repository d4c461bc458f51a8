"""Made-to-order jobs (*pesanan khusus*): a buyer's request, the group's quotes, the work shared out among its
members, finished pieces as their lots, deliveries in part or in full. A job accepted is carried by an ordinary
marketplace order, so payments, completion and the revenue split take it like any other sale.

It sits above payments (a cancelled job refunds or keeps its deposit through payments) and below the pages over
several domains.
"""

from flask import Flask

from commissions import api, services, views
from core.extensions import api as rest_api
from core.extensions import csrf
from groups import home as home_page
from marketplace.signals import order_moved


def init_app(app: Flask) -> None:
    csrf.exempt(api.blp)
    rest_api.register_blueprint(api.blp)
    app.register_blueprint(views.bp)
    home_page.register_section(app, views.work.home_section)
    order_moved.connect(services.on_order_moved)
