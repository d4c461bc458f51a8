"""A harvest recorded from lots taken in already: the coordinator took the members' picking in as usual, through
the ordinary stock intake, and names those lots rather than the quantities.

A lot may count when it is of the group and of the harvest's variant, was received since the harvest was
announced, is part of no harvest yet, and has free units: what it still holds less what is set aside for orders
not yet packed. Of each lot the harvest counts its free units, or fewer when the coordinator says so. The lots are
read under their row locks, in id order, after the harvest's: two coordinators naming the same lot at once for
two harvests take turns, and the second finds it taken (a lot is part of one harvest at most, by a unique index
too).
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from core.errors import ValidationFailed, field_error
from core.extensions import db
from core.formatting import format_qty
from core.quantity import MAX_QUANTITY, format_quantity
from groups.models import Group, Member, Role
from groups.services import authorize
from harvests.models import Harvest, HarvestLot
from harvests.services import records as r
from inventory import services as stock
from inventory.models import Lot, Variant
from marketplace import services as market

MAX_LOTS = 200


@dataclass(frozen=True)
class Chosen:
    """A lot named for the harvest, and how much of it (None: all its free units)."""

    lot_id: int
    quantity: Decimal | None


@dataclass(frozen=True)
class Eligible:
    """A lot the harvest may be recorded from, with its member's name and its free units."""

    lot: Lot
    member_name: str
    free: Decimal


def read_chosen(group: Group, variant: Variant, sent) -> list[Chosen]:
    """The lots named in a request (`from_lots`: each a lot id and, if only part of it, a quantity), or a 422
    keyed by where each problem is (`from_lots.<n>.quantity`)."""
    if not isinstance(sent, list) or not sent:
        raise field_error("from_lots", _("Choose at least one lot."))
    if len(sent) > MAX_LOTS:
        raise field_error("from_lots", _("At most %(n)d lines.", n=MAX_LOTS))
    chosen, errors, seen = [], {}, set()
    for i, row in enumerate(sent):
        try:
            if not isinstance(row, dict):
                raise field_error(f"from_lots.{i}", _("Not a valid line."))
            lot_id = stock.check_id(row.get("lot_id"), f"from_lots.{i}.lot_id")
            if lot_id in seen:
                raise field_error(f"from_lots.{i}.lot_id", _("Each lot once."))
            seen.add(lot_id)
            quantity = row.get("quantity")
            if quantity not in (None, ""):
                quantity = r.quantity_of(group, variant, quantity, f"from_lots.{i}.quantity")
            else:
                quantity = None
            chosen.append(Chosen(lot_id, quantity))
        except ValidationFailed as exc:
            errors.update(exc.errors or {})
    if errors:
        raise ValidationFailed(errors=errors)
    return chosen


def _since(harvest: Harvest) -> datetime:
    return harvest.created_at


def _used(lot_ids) -> set[int]:
    ids = set(lot_ids)
    if not ids:
        return set()
    return set(db.session.scalars(select(HarvestLot.lot_id).where(HarvestLot.lot_id.in_(ids))))


def _free(lots: list[Lot]) -> dict[int, Decimal]:
    held = market.held_in_lots(lot.id for lot in lots)
    return {lot.id: lot.remaining - held.get(lot.id, Decimal(0)) for lot in lots}


def eligible_lots(harvest: Harvest) -> list[Eligible]:
    """The lots the harvest may be recorded from, first received first (for the record page)."""
    lots = list(
        db.session.scalars(
            select(Lot)
            .where(
                Lot.group_id == harvest.group_id,
                Lot.variant_id == harvest.variant_id,
                Lot.received_at >= _since(harvest),
                Lot.remaining > 0,
                Lot.id.not_in(select(HarvestLot.lot_id)),
            )
            .order_by(Lot.received_at, Lot.id)
            .limit(MAX_LOTS)
        )
    )
    free = _free(lots)
    names = dict(
        db.session.execute(select(Member.id, Member.name).where(Member.id.in_({lot.member_id for lot in lots}))).all()
    )
    return [Eligible(lot, names.get(lot.member_id, ""), free[lot.id]) for lot in lots if free[lot.id] > 0]


def take(harvest: Harvest, chosen: list[Chosen]) -> list[tuple[Lot, Decimal]]:
    """The lots chosen, locked in id order, each with what the harvest counts of it; a 422 naming each lot that
    may not count (another group's or variant's, received before the harvest was announced, part of a harvest
    already, or without that much free). Call it with the harvest locked."""
    where = {c.lot_id: i for i, c in enumerate(chosen)}
    query = select(Lot).where(Lot.id.in_(where)).order_by(Lot.id).execution_options(populate_existing=True)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    found = {lot.id: lot for lot in db.session.scalars(query)}
    used = _used(found)
    free = _free(list(found.values()))
    counted, errors = {}, {}
    for c in chosen:
        i = where[c.lot_id]
        lot = found.get(c.lot_id)
        if lot is None or lot.group_id != harvest.group_id:
            errors[f"from_lots.{i}.lot_id"] = [_("No such lot in this group.")]
        elif lot.variant_id != harvest.variant_id:
            errors[f"from_lots.{i}.lot_id"] = [_("This lot is of another product than the harvest.")]
        elif lot.received_at < _since(harvest):
            errors[f"from_lots.{i}.lot_id"] = [_("This lot was taken in before the harvest was announced.")]
        elif lot.id in used:
            errors[f"from_lots.{i}.lot_id"] = [_("This lot is part of a harvest already.")]
        elif free[lot.id] <= 0:
            errors[f"from_lots.{i}.lot_id"] = [_("Nothing of this lot is free: it is sold or set aside for orders.")]
        elif c.quantity is not None and c.quantity > free[lot.id]:
            errors[f"from_lots.{i}.quantity"] = [_("At most %(n)s.", n=format_qty(free[lot.id]))]
        else:
            counted[c.lot_id] = c.quantity if c.quantity is not None else free[lot.id]
    if errors:
        raise ValidationFailed(errors=errors)
    if sum(counted.values(), Decimal(0)) > MAX_QUANTITY:
        raise field_error("from_lots", _("The harvest comes to more than the most one stock may hold."))
    return [(found[c.lot_id], counted[c.lot_id]) for c in chosen]


def eligible_lots_view(actor, harvest: Harvest) -> list[dict]:
    """What a coordinator or treasurer may record the harvest from (empty once it is recorded or cancelled)."""
    authorize(actor, db.session.get(Group, harvest.group_id), Role.coordinator, Role.treasurer)
    if harvest.status not in r.OPEN:
        return []
    return [
        {
            "lot_id": e.lot.id,
            "member_id": e.lot.member_id,
            "member_name": e.member_name,
            "quantity": format_quantity(e.lot.quantity),
            "free": format_quantity(e.free),
            "grade": e.lot.grade,
            "received_at": e.lot.received_at,
        }
        for e in eligible_lots(harvest)
    ]
