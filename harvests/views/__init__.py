"""Harvest pre-order pages: the coordinator's (the group's harvests, announcing one, a harvest with its
pre-orders, closing, cancelling and recording it) and the buyer's (pre-ordering, her pre-orders, cancelling one).

One blueprint (`harvests`, in common). Every page calls the same services as the API (harvests.services), which
check the rules and who may act; views commit once.
"""

from harvests.views import buyer, coordinator, paying
from harvests.views.common import bp

__all__ = ["bp", "buyer", "coordinator", "paying"]
