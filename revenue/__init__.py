"""The revenue split: split policies, accrual, work logs, settlements, statements, payouts, savings and SHU.

It takes plain sale lines (revenue.services.accrual.SaleLine) and knows no orders.
"""

from flask import Flask

from core.extensions import api as rest_api
from core.extensions import csrf


def init_app(app: Flask) -> None:
    from revenue.api import payouts as payouts_api
    from revenue.api import policy as policy_api
    from revenue.api import settlements as settlements_api
    from revenue.views import payouts as payouts_views
    from revenue.views import settlements as settlements_views

    for blp in (policy_api.blp, settlements_api.blp, payouts_api.blp):
        csrf.exempt(blp)
        rest_api.register_blueprint(blp)
    app.register_blueprint(settlements_views.bp)
    app.register_blueprint(payouts_views.bp)
