"""Work logs, settlements and members' statements.

Under the `equal` and `work` methods a completed order's net revenue goes to
the group pool; a settlement closes a period and shares out what the pool holds
then, equally among the members active in the period or by the work they logged
in it. Exact as everywhere: each member gets the floor of their exact share
(`split_among_members` with no fund percent) and the group fund gets what is
left. It is one balanced entry (pool debited, members and fund credited) with
an Earning row (kind `pool_share`) for each part. What is shared is the pool as
the ledger holds it at settlement, sales completed after the period's end
included. Under `work`, a period in which nobody logged work is shared equally
(the settlement says so); under `contribution` the pool is normally empty, and
what an earlier policy left in it is shared equally. A pool short after refunds
of sales shared earlier is carried to the next settlement, never taken from
members.

A settlement also freezes every member's statement for its period: opening
balance, sales, pool share, SHU, refunds, payouts and closing balance, with the
group fund's deductions and card fees taken before their sales, and every line
behind them. The closing balance computed from those records must equal the
balance of the member's ledger account at the period's end; a settlement that
would not prove so is refused. A live statement for any range is built the same
way. A frozen statement keeps its small lists (refunds, pool shares, SHU,
payouts) and the count and sums of its sale lines; the sale lines themselves are
the member's sale earnings of the period, which can no longer change (earnings
are appended, never edited, and booked at the moment they are made, so never
into a period that has ended), read and checked against the frozen figures when
the statement is shown, and by `flask ledger check`.

Periods are WIB dates. Money belongs to a day by the moment its journal entry
was made (completion, refund, payout, SHU), except a settlement's pool shares,
which belong to the settlement's period: they are what the period's sales
earned. Only a period that has ended can be settled (its last day before
today), so nothing can still be added to it; periods of a group never overlap,
and work cannot be logged or corrected on a settled day.

The modules: periods (days on the WIB clock, the periods a group settles),
worklogs, settling (sharing the pool, freezing statements), statements (each
member's figures and their proof), reading (statements and settlements as the
API and pages show them) and checks (`flask ledger check`). What the pages, the
API and SHU use is named here.
"""

from revenue.services.settlements import checks, periods, statements  # noqa: F401 (checks: registers the books' check)
from revenue.services.settlements.checks import check_settlements
from revenue.services.settlements.periods import (
    FIRST_DAY,
    day_start,
    lock_group,
    read_day,
    settlement_covering,
    today_wib,
    wib_day,
)
from revenue.services.settlements.reading import (
    CSV_COLUMNS,
    default_range,
    frozen_statement,
    get_settlement_or_404,
    live_statement,
    read_range,
    settlement_note,
    settlement_views,
    settlements_query,
    statement_csv,
    statement_viewer,
)
from revenue.services.settlements.settling import members_active_in, read_period, settle, settlement_balances
from revenue.services.settlements.statements import (
    SALE_COLUMNS,
    BooksDisagree,
    StatementTotals,
    attributed_before,
    member_balances_at,
    milli_text,
    prove,
    sale_line_objects,
    sale_lines_json,
    sale_sums,
    statement_totals,
)
from revenue.services.settlements.worklogs import (
    MAX_DAYS_BACK,
    NOTE_MAX_LENGTH,
    get_work_log_or_404,
    log_work,
    reverse_work_log,
    work_in,
    work_log_views,
    work_logs_query,
)

__all__ = [
    "BooksDisagree",
    "CSV_COLUMNS",
    "FIRST_DAY",
    "MAX_DAYS_BACK",
    "NOTE_MAX_LENGTH",
    "SALE_COLUMNS",
    "StatementTotals",
    "attributed_before",
    "check_settlements",
    "day_start",
    "default_range",
    "frozen_statement",
    "get_settlement_or_404",
    "get_work_log_or_404",
    "live_statement",
    "lock_group",
    "log_work",
    "member_balances_at",
    "members_active_in",
    "milli_text",
    "periods",
    "prove",
    "read_day",
    "read_period",
    "read_range",
    "reverse_work_log",
    "sale_line_objects",
    "sale_lines_json",
    "sale_sums",
    "settle",
    "settlement_balances",
    "settlement_covering",
    "settlement_note",
    "settlement_views",
    "settlements_query",
    "statement_csv",
    "statement_totals",
    "statement_viewer",
    "statements",
    "today_wib",
    "wib_day",
    "work_in",
    "work_log_views",
    "work_logs_query",
]
