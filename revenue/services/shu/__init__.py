"""SHU (sisa hasil usaha): a year's group fund surplus shared by configured percentages.

A group that adopts SHU sets, per year, the percent of the surplus for each part:

- `reserve` (cadangan), `management` (pengurus), `education` (pendidikan) and
  `social` (sosial) go to accounts of the group (`shu_reserve`, ...);
- `services` (jasa usaha) is shared among members in proportion to their
  transactions in the year: what their sales earned them, the sale earnings
  credited to them in that year (WIB) less what refunds made in it took back
  (a member's year never counts below nothing), and their pool shares in groups that
  split equally or by work (whose sales credit the pool, not members). As on
  statements, a settlement's pool shares belong to its period: they count in
  the year its period ends, also when the settlement is made in January;
- `capital` (jasa modal) is shared among members in proportion to their savings
  at the end of the year. A group that records no savings has no basis for it,
  so the capital part stays with the reserve (the report says so).

Each percent is 0 to 100 with at most 2 decimals and together they total
exactly 100. The surplus defaults to the group fund's balance at the end of the
year (from the ledger, with the same rule: what a settlement of a December
period gave the fund counts in December), or what the fund holds now if that is
less, since the fund cannot give what it no longer has, and never more than
MAX_AMOUNT (the ceiling of any one amount); a surplus may be given instead,
never above that.

Exact as everywhere else: each member gets the floor of their exact share of a
part (split_among_members with no fund percent, over the part's exact amount);
management, education and social get the floor of theirs; the reserve gets
everything left, so the parts sum to the surplus.

A plan is a draft until the coordinator accepts it. Drafting the same year
again before acceptance replaces the draft (the ShuPlan row is mutable until
then; its allocation is computed afresh whenever the report is read). Accepting
books it once, as one balanced entry: the group fund debited by the surplus,
each member's account credited with their parts (which they can then be paid
out), and the group's SHU accounts with the rest; the members' parts are kept
as ShuAllocation rows. An accepted plan is final: a second acceptance or a new
draft for that year is refused (409). A year is accepted only after it ends.

An acceptance takes the group's books lock (revenue.lock_group_books) before it
checks the fund, as a refund after completion does before it takes earnings
back and a settlement before it shares the pool: so the fund it checks is the
fund it spends, and a refund that commits first leaves the acceptance refusing
(409, draft it again) rather than spending what the fund no longer holds.

The modules: years (this year and a year's bounds on the WIB clock), allocation
(sharing a surplus by the percentages), books (what the ledger says: the fund,
members' transactions, a draft computed and an accepted plan as booked, and the
check of `flask ledger check`), drafting (drafting and accepting) and reading
(plans and their report). What the API and pages use is named here; the clock
the clock it reads is `shu.years.current_year`.
"""

from revenue.services.shu import years
from revenue.services.shu.allocation import GROUP_PARTS, PARTS, Allocation, MemberShare, allocate, shu_account
from revenue.services.shu.books import (
    basis_points_of,
    booked,
    check_shu,
    compute,
    credit_balance,
    fund_available,
    fund_balance,
    transactions_in,
)
from revenue.services.shu.drafting import accept, draft
from revenue.services.shu.reading import find_plan, get_plan_or_404, plans, report, viewable_plan

__all__ = [
    "GROUP_PARTS",
    "PARTS",
    "Allocation",
    "MemberShare",
    "accept",
    "allocate",
    "basis_points_of",
    "booked",
    "check_shu",
    "compute",
    "credit_balance",
    "draft",
    "find_plan",
    "fund_available",
    "fund_balance",
    "get_plan_or_404",
    "plans",
    "report",
    "shu_account",
    "transactions_in",
    "viewable_plan",
    "years",
]
