"""Reading stock: counters, the movement ledger, lots with what became of them, alerts.

Coordinators and treasurers (and the district admin) see a group's stock; a
member sees only their own contributions.
"""

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, literal_column, select

from core.errors import Forbidden
from core.extensions import db
from core.formatting import WIB
from groups.models import Group, Member, Role
from groups.services import authorize, membership
from inventory.models import Lot, Movement, MovementKind, Product, ProductStatus, Stock, Variant
from inventory.services.contributions import get_member_in_group
from inventory.services.products import get_variant_in_group


def stock_rows(viewer, group: Group) -> list[tuple[Variant, Stock]]:
    """Every variant of the group with its counters, for coordinators and treasurers."""
    authorize(viewer, group, Role.coordinator, Role.treasurer, allow_admin=True)
    rows = db.session.execute(
        select(Variant, Stock)
        .join(Stock, Stock.variant_id == Variant.id)
        .join(Product)
        .where(Variant.group_id == group.id)
        .order_by(func.lower(Product.name), Variant.id)
    )
    return [(variant, stock) for variant, stock in rows]


def stock_query(viewer, group: Group):
    """The group's variants as (variant, stock, product) rows to page through, for coordinators and treasurers."""
    authorize(viewer, group, Role.coordinator, Role.treasurer, allow_admin=True)
    return (
        select(Variant, Stock, Product)
        .join(Stock, Stock.variant_id == Variant.id)
        .join(Product, Product.id == Variant.product_id)
        .where(Variant.group_id == group.id)
        .order_by(func.lower(Product.name), Variant.id)
    )


def movements_query(viewer, group: Group, variant_id=None):
    """The group's stock ledger, newest first, of one variant or all (coordinators and treasurers)."""
    authorize(viewer, group, Role.coordinator, Role.treasurer, allow_admin=True)
    query = select(Movement).where(Movement.group_id == group.id)
    if variant_id is not None:
        get_variant_in_group(group, variant_id)
        query = query.where(Movement.variant_id == variant_id)
    return query.order_by(Movement.id.desc())


def lot_history(lot_ids: list[int]) -> dict[int, dict[str, Decimal]]:
    """Per lot: units sold, written off (spoilage, damage, a count that found less), found by a count, returned."""
    history: dict[int, dict[str, Decimal]] = defaultdict(
        lambda: {"sold": Decimal(0), "written_off": Decimal(0), "found": Decimal(0), "returned": Decimal(0)}
    )
    if not lot_ids:
        return history
    adds = Movement.on_hand_delta > literal_column("0")  # one literal, so SELECT and GROUP BY match
    rows = db.session.execute(
        select(Movement.lot_id, Movement.kind, adds, func.sum(Movement.on_hand_delta))
        .where(Movement.lot_id.in_(lot_ids), Movement.kind != MovementKind.intake)
        .group_by(Movement.lot_id, Movement.kind, adds)
    )
    for lot_id, kind, adds, total in rows:
        total = Decimal(total or 0)
        if kind == MovementKind.sale:
            history[lot_id]["sold"] += -total
        elif kind == MovementKind.return_:
            history[lot_id]["returned"] += total
        elif adds:
            history[lot_id]["found"] += total
        else:
            history[lot_id]["written_off"] += -total
    return history


def lot_units(lot_ids) -> dict[int, str]:
    """The unit each lot is counted in (its product's), by lot id: what a statement's quantities are in."""
    ids = {lot_id for lot_id in lot_ids if lot_id is not None}
    if not ids:
        return {}
    rows = db.session.execute(
        select(Lot.id, Product.unit)
        .join(Variant, Variant.id == Lot.variant_id)
        .join(Product, Product.id == Variant.product_id)
        .where(Lot.id.in_(ids))
    )
    return dict(rows.all())


def lots_query(viewer, group: Group, member_id=None):
    """Lots of the group: coordinators and treasurers (and the district admin) see all, a member their own."""
    own = membership(group, viewer)
    privileged = (viewer.is_authenticated and viewer.is_admin) or (
        own is not None and own.role in (Role.coordinator, Role.treasurer)
    )
    if not privileged:
        if own is None:
            authorize(viewer, group, Role.coordinator, Role.treasurer)  # raises: not signed in, or not in this group
        if member_id is not None and member_id != own.id:
            raise Forbidden(_l("Members see only their own contributions."))
        member_id = own.id
    elif member_id is not None:
        get_member_in_group(group, member_id, active=False)
    query = select(Lot).where(Lot.group_id == group.id)
    if member_id is not None:
        query = query.where(Lot.member_id == member_id)
    return query.order_by(Lot.received_at.desc(), Lot.id.desc())


def my_lots(user) -> list[Lot]:
    """Every lot the user gave, across the groups they belong to."""
    return list(
        db.session.scalars(
            select(Lot)
            .join(Member, Member.id == Lot.member_id)
            .where(Member.user_id == user.id)
            .order_by(Lot.received_at.desc(), Lot.id.desc())
            .limit(500)
        )
    )


def my_lots_query(user):
    """Every lot the user gave, across their groups, newest first, to page through."""
    return (
        select(Lot)
        .join(Member, Member.id == Lot.member_id)
        .where(Member.user_id == user.id)
        .order_by(Lot.received_at.desc(), Lot.id.desc())
    )


def alerts(viewer, group: Group, today: date | None = None) -> dict:
    """What needs a coordinator's eye: variants under their low-stock threshold, lots near or past best-before."""
    authorize(viewer, group, Role.coordinator, Role.treasurer, allow_admin=True)
    today = today or datetime.now(WIB).date()
    days = current_app.config.get("BEST_BEFORE_WARNING_DAYS", 3)
    low = db.session.execute(
        select(Variant, Stock)
        .join(Stock, Stock.variant_id == Variant.id)
        .join(Product)
        .where(
            Variant.group_id == group.id,
            Variant.active.is_(True),
            Product.status != ProductStatus.archived,
            Variant.low_stock_threshold.is_not(None),
            Stock.on_hand - Stock.reserved < Variant.low_stock_threshold,
        )
        .order_by(Variant.id)
    ).all()
    expiring = db.session.scalars(
        select(Lot)
        .where(
            Lot.group_id == group.id,
            Lot.remaining > 0,
            Lot.best_before.is_not(None),
            Lot.best_before <= today + timedelta(days=days),
        )
        .order_by(Lot.best_before, Lot.id)
    ).all()
    return {
        "low_stock": [(v, s) for v, s in low],
        "expiring": [lot for lot in expiring if lot.best_before >= today],
        "expired": [lot for lot in expiring if lot.best_before < today],
    }
