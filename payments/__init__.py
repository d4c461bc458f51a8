"""Payments: cash and transfer, slips, the Stripe provider and its webhooks, refunds and reversals.

It sits above marketplace and tells marketplace's order views what they show of money
(marketplace.order_payments), registering payments.order_money in init_app.
"""

from flask import Flask

from core import ledger
from core.extensions import api as rest_api
from core.extensions import csrf
from marketplace import order_payments
from payments import api, views
from payments.order_money import PaymentsOfOrders
from payments.services import books, deposits


def init_app(app: Flask) -> None:
    csrf.exempt(api.blp)
    rest_api.register_blueprint(api.blp)
    app.register_blueprint(views.bp)
    order_payments.register(app, PaymentsOfOrders())
    ledger.register_check(books.check_books)
    ledger.register_check(deposits.check_kept)
