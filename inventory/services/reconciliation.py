"""Proving the stock books: counters equal the sum of movements, and lots add up to what is on hand."""

from decimal import Decimal

from sqlalchemy import func, select

from core.extensions import db
from core.quantity import format_quantity
from inventory.models import Lot, Movement, Stock


def stock_check() -> list[str]:
    """Prove the books: counters equal the sum of movements, lots add up to on-hand. Returns the mismatches."""
    problems: list[str] = []
    sums = {
        vid: (Decimal(on or 0), Decimal(res or 0))
        for vid, on, res in db.session.execute(
            select(Movement.variant_id, func.sum(Movement.on_hand_delta), func.sum(Movement.reserved_delta)).group_by(
                Movement.variant_id
            )
        )
    }
    lots = {
        vid: Decimal(total or 0)
        for vid, total in db.session.execute(select(Lot.variant_id, func.sum(Lot.remaining)).group_by(Lot.variant_id))
    }
    for stock in db.session.scalars(select(Stock).order_by(Stock.variant_id)):
        on_hand, reserved = sums.get(stock.variant_id, (Decimal(0), Decimal(0)))
        if stock.on_hand != on_hand:
            problems.append(
                f"variant {stock.variant_id}: on_hand {format_quantity(stock.on_hand)} "
                f"but movements sum to {format_quantity(on_hand)}"
            )
        if stock.reserved != reserved:
            problems.append(
                f"variant {stock.variant_id}: reserved {format_quantity(stock.reserved)} "
                f"but movements sum to {format_quantity(reserved)}"
            )
        if lots.get(stock.variant_id, Decimal(0)) != stock.on_hand:
            problems.append(
                f"variant {stock.variant_id}: lots hold {format_quantity(lots.get(stock.variant_id, 0))} "
                f"but on_hand is {format_quantity(stock.on_hand)}"
            )
    per_lot = {
        lot_id: Decimal(total or 0)
        for lot_id, total in db.session.execute(
            select(Movement.lot_id, func.sum(Movement.on_hand_delta))
            .where(Movement.lot_id.is_not(None))
            .group_by(Movement.lot_id)
        )
    }
    for lot in db.session.scalars(select(Lot).order_by(Lot.id)):
        if per_lot.get(lot.id, Decimal(0)) != lot.remaining:
            problems.append(
                f"lot {lot.id}: remaining {format_quantity(lot.remaining)} "
                f"but its movements sum to {format_quantity(per_lot.get(lot.id, 0))}"
            )
    return problems
