"""How many members a group may add: one limit per group (MEMBER_ADD_RATE_LIMIT), shared by the API and the
members page.

Only an addition counts against it (the handler calls `count_addition` once it is made): an outsider's refused
requests, a form with mistakes or a duplicate cannot use up a group's allowance. Beyond it the answer is a 429.
"""

from flask import current_app, g, request

from core.extensions import limiter

SCOPE = "member-additions"


def _group_key() -> str:
    return f"group:{request.view_args['group_id']}"


def _limit() -> str:
    return current_app.config["MEMBER_ADD_RATE_LIMIT"]


def count_addition() -> None:
    """Count this request's member against its group's limit."""
    g.member_added = True


def _added(_response) -> bool:
    return g.get("member_added", False)


member_additions = limiter.shared_limit(_limit, scope=SCOPE, key_func=_group_key, methods=["POST"], deduct_when=_added)
