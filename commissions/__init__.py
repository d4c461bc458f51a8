"""Made-to-order jobs (*pesanan khusus*): a buyer's request, the group's quotes, the work shared out among its
members, finished pieces as their lots, deliveries in part or in full. A job accepted is carried by an ordinary
marketplace order, so payments, completion and the revenue split take it like any other sale.

It sits above payments (a cancelled job refunds or keeps its deposit through payments) and below the pages over
several domains.
"""

from flask import Flask

from commissions import api, services
from core.extensions import api as rest_api
from core.extensions import csrf
from marketplace.signals import order_moved


def init_app(app: Flask) -> None:
    csrf.exempt(api.blp)
    rest_api.register_blueprint(api.blp)
    order_moved.connect(services.on_order_moved)
