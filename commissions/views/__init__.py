"""Made-to-order pages: the buyer's request, her jobs and a job's page; the group's jobs, quotes, the work
shared out, finished pieces and deliveries; a member's own assignments.

Each view parses a form, calls the same service as the API (commissions.services, which checks the caller's
role), commits once, and redirects; a refused form shows the page again with its errors. One blueprint
(`commissions`), its pages in a module each.
"""

from commissions.views import jobs, paying, work
from commissions.views.common import bp

__all__ = ["bp", "jobs", "paying", "work"]
