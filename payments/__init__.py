"""Payments: cash and transfer, slips, the Stripe provider and its webhooks, refunds and reversals."""
from flask import Flask

from core import ledger
from core.extensions import api as rest_api
from core.extensions import csrf


def init_app(app: Flask) -> None:
    from payments import api
    from payments.services import books

    csrf.exempt(api.blp)
    rest_api.register_blueprint(api.blp)
    ledger.register_check(books.check_books)
