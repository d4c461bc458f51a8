"""Inventory pages: products, intake, stock, ledger, my contributions, the coordinator's dashboard.

One blueprint (`inventory`, in common), its pages in a module each: products (the list, adding and
editing, photos) and stock (intake, the stock and its corrections, the ledger, a member's own
contributions, the dashboard).
"""

from inventory.views import products, stock
from inventory.views.common import bp

__all__ = ["bp", "products", "stock"]
