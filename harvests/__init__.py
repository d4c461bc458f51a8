"""Harvest pre-orders (*pesan sebelum panen*): a harvest a farmer group expects, buyers' pre-orders against it up
to a cap, and the harvest in: the members' lots set aside for the pre-orders, a shortfall shared out by the
group's rule. A pre-order is carried by an ordinary marketplace order, so payments, completion and the revenue
split take it like any other sale.

It sits above payments (money given back on a pre-order goes through payments' refunds), beside commissions,
and below the pages over several domains.
"""

from flask import Flask

from core.extensions import api as rest_api
from core.extensions import csrf
from harvests import api, services, views
from marketplace.signals import order_moved


def init_app(app: Flask) -> None:
    csrf.exempt(api.blp)
    rest_api.register_blueprint(api.blp)
    order_moved.connect(services.on_order_moved)
    # The product page's label of a harvest open for pre-orders (templates/harvests/_product_label.html).
    app.add_template_global(services.product_labels, "harvest_labels")
    app.register_blueprint(views.bp)
    # The product page's pre-order form (its key makes a double tap one pre-order) and the catalog cards' badge.
    app.add_template_global(views.common.new_key, "harvest_form_key")
    app.add_template_global(views.common.open_harvest_products, "harvest_products")
