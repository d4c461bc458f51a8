"""Marketplace pages: catalog, storefronts, cart, checkout, orders, the coordinator's queue and packing list.

Each view parses the form, calls the cart or a service in marketplace.services
(which holds every rule and checks the caller's role), commits once, and
redirects. A page's buttons follow the order's status, but the services check
again on every action. One blueprint (`marketplace`), its pages in a module each.
"""

from marketplace.views import cards, cart, catalog, checkout, orders
from marketplace.views.common import bp

__all__ = ["bp", "cards", "cart", "catalog", "checkout", "orders"]
