"""The stock ledger: the one place stock counters change.

Holding stock for orders (reserve, Reservation), giving it back (release) and
taking sold units out of stock and out of lots first in, first out (consume),
with the guarded SQL and movement rows behind them, which contributions and
adjustments use too.
"""

import functools
from collections import defaultdict
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, case, insert, select, update
from sqlalchemy.exc import OperationalError

from core.errors import Conflict, NotFound
from core.extensions import db
from core.formatting import format_qty
from core.quantity import Quantity, QuantityError, format_quantity, parse_quantity
from core.types import utcnow
from inventory.models import Lot, Movement, MovementKind, Stock, Variant
from inventory.services.records import (
    MAX_LINES,
    InsufficientStock,
    LotDraw,
    StockLine,
    check_id,
    field_error,
    is_postgresql,
    quantity_message,
)
from inventory.units import BUILTIN_UNITS

# --- the ledger: the one place stock counters change ------------------------------------


def lock_stock(variant_ids) -> dict[int, Stock]:
    """Lock the variants' stock rows in id order (PostgreSQL; SQLite writers hold the database lock)."""
    ids = sorted(set(variant_ids))
    query = select(Stock).where(Stock.variant_id.in_(ids)).order_by(Stock.variant_id)
    if is_postgresql():
        query = query.with_for_update()
    rows = db.session.scalars(query.execution_options(populate_existing=True)).all()
    return {row.variant_id: row for row in rows}


# The hot path's statements are built once, as Core statements: building an ORM update per
# call and its bulk-update bookkeeping cost several times the SQL itself (bench/stock.py).
_stock, _variants, _movements = Stock.__table__, Variant.__table__, Movement.__table__


def _qty(name: str):
    return bindparam(name, type_=Quantity())


_GUARDED_UPDATE = (
    update(_stock)
    .where(
        _stock.c.variant_id == bindparam("line_variant"),
        _stock.c.reserved + _qty("reserved_change") >= 0,
        _stock.c.on_hand + _qty("on_hand_change") >= _stock.c.reserved + _qty("reserved_change"),
    )
    .values(on_hand=_stock.c.on_hand + _qty("on_hand_change"), reserved=_stock.c.reserved + _qty("reserved_change"))
)

# A reservation or release movement; its group is read from the variant in the same statement.
_RECORD_LINE = insert(_movements).from_select(
    ["group_id", "variant_id", "kind", "on_hand_delta", "reserved_delta", "reference", "actor_id", "created_at"],
    select(
        _variants.c.group_id,
        _variants.c.id,
        bindparam("line_kind", type_=_movements.c.kind.type),
        _qty("on_hand_change"),
        _qty("reserved_change"),
        bindparam("line_reference", type_=_movements.c.reference.type),
        bindparam("line_actor", type_=_movements.c.actor_id.type),
        bindparam("moved_at", type_=_movements.c.created_at.type),
    ).where(_variants.c.id == bindparam("line_variant")),
)


def guarded_update(variant_id: int, on_hand_delta: Decimal, reserved_delta: Decimal) -> bool:
    """Move the counters if and only if they stay within bounds; False when they would not (or no such stock)."""
    result = db.session.execute(
        _GUARDED_UPDATE,
        {"line_variant": variant_id, "on_hand_change": on_hand_delta, "reserved_change": reserved_delta},
    )
    return result.rowcount == 1


def _record_lines(lines: list[StockLine], kind: MovementKind, sign: int, actor_id: int | None) -> None:
    """Append one reservation or release movement per line."""
    now = utcnow()
    db.session.execute(
        _RECORD_LINE,
        [
            {
                "line_variant": line.variant_id,
                "line_kind": kind,
                "on_hand_change": Decimal(0),
                "reserved_change": sign * line.quantity,
                "line_reference": line.reference,
                "line_actor": actor_id,
                "moved_at": now,
            }
            for line in lines
        ],
    )


def record_movements(rows: list[dict]) -> None:
    """Append movement rows (one INSERT for the lot)."""
    if rows:
        now = utcnow()
        db.session.execute(
            insert(Movement),
            [{"created_at": now, "on_hand_delta": Decimal(0), "reserved_delta": Decimal(0), **row} for row in rows],
        )


def forget_counters() -> None:
    """Counters were changed in SQL: let the session read them again."""
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, (Stock, Lot)):
            db.session.expire(obj)


def _variant_groups(variant_ids) -> dict[int, int]:
    rows = db.session.execute(select(Variant.id, Variant.group_id).where(Variant.id.in_(set(variant_ids))))
    return dict(rows.all())


def available(variant_ids) -> dict[int, Decimal]:
    """What buyers can order of each variant now: on hand less reserved (0 for a variant with no stock row)."""
    rows = db.session.execute(
        select(Stock.variant_id, Stock.on_hand, Stock.reserved).where(Stock.variant_id.in_(set(variant_ids)))
    )
    found = {vid: on_hand - reserved for vid, on_hand, reserved in rows}
    return {vid: found.get(vid, Decimal(0)) for vid in variant_ids}


def _check_positive(lines: list[StockLine]) -> None:
    """Each line holds an exact Decimal quantity: positive, finite, at most 3 places; a 422 otherwise."""
    for line in lines:
        check_id(line.variant_id, "variant_id")
        if not isinstance(line.quantity, Decimal):
            raise field_error("quantity", _("The quantity must be more than zero."))
        try:
            parse_quantity(line.quantity)
        except QuantityError as exc:
            raise field_error("quantity", quantity_message(exc, BUILTIN_UNITS["pcs"])) from None


def _restore_reserved(lines: list[StockLine], sign: int) -> None:
    """Undo `reserved` changes already made for `lines`, so a refused call leaves the transaction as it was."""
    for line in lines:
        db.session.execute(
            update(Stock)
            .where(Stock.variant_id == line.variant_id)
            .values(reserved=Stock.reserved + sign * line.quantity)
            .execution_options(synchronize_session=False)
        )


# Reserving variants: with more than one, their stock rows locked first in id order (PostgreSQL); then one
# guarded UPDATE for all of them that names the rows it moved, and their movements. Each statement is built once
# per number of variants, so SQLAlchemy compiles it once and keeps it in its compiled cache.
@functools.cache
def _lock_in_order(count: int):
    """Lock the stock rows of `count` variants (`variant_0`...), in id order."""
    return (
        select(_stock.c.variant_id)
        .where(_stock.c.variant_id.in_([bindparam(f"variant_{i}") for i in range(count)]))
        .order_by(_stock.c.variant_id)
        .with_for_update()
    )


@functools.cache
def _reserve_each(count: int):
    """UPDATE stock SET reserved = reserved + q(variant) for `count` variants (`variant_0`, `quantity_0`...), each
    only where available, returning the variants it moved."""
    wanted = case(*((_stock.c.variant_id == bindparam(f"variant_{i}"), _qty(f"quantity_{i}")) for i in range(count)))
    return (
        update(_stock)
        .where(
            _stock.c.variant_id.in_([bindparam(f"variant_{i}") for i in range(count)]),
            _stock.c.on_hand >= _stock.c.reserved + wanted,
        )
        .values(reserved=_stock.c.reserved + wanted)
        .returning(_stock.c.variant_id)
    )


@functools.cache
def _record_each(count: int):
    """A reservation movement for each of `count` variants, one per variant, in one INSERT ... SELECT."""

    def each(name: str, type_):
        return case(
            *(
                (_variants.c.id == bindparam(f"variant_{i}"), bindparam(f"{name}_{i}", type_=type_))
                for i in range(count)
            )
        )

    return insert(_movements).from_select(
        ["group_id", "variant_id", "kind", "on_hand_delta", "reserved_delta", "reference", "actor_id", "created_at"],
        select(
            _variants.c.group_id,
            _variants.c.id,
            bindparam("line_kind", type_=_movements.c.kind.type),
            _qty("on_hand_change"),
            each("quantity", Quantity()),
            each("reference", _movements.c.reference.type),
            bindparam("line_actor", type_=_movements.c.actor_id.type),
            bindparam("moved_at", type_=_movements.c.created_at.type),
        )
        .where(_variants.c.id.in_([bindparam(f"variant_{i}") for i in range(count)]))
        .order_by(_variants.c.id),
    )


class Reservation:
    """Stock to hold, checked and its statements' parameters built before it is held.

    A writer builds it before it takes SQLite's write lock (see core.reads_first) and
    holds it inside, where only its SQL then runs; `reserve()` does both at once.
    """

    def __init__(self, lines: list[StockLine], actor_id: int | None = None):
        if len(lines) > MAX_LINES:
            raise field_error("lines", _("At most %(n)d lines at once.", n=MAX_LINES))
        _check_positive(lines)
        self.lines = sorted(lines, key=lambda line: line.variant_id)
        self.actor_id = actor_id
        self.requested: dict[int, Decimal] = defaultdict(Decimal)
        for line in self.lines:
            self.requested[line.variant_id] += line.quantity
        self.params: dict = {}
        for i, (variant_id, quantity) in enumerate(self.requested.items()):
            self.params[f"variant_{i}"], self.params[f"quantity_{i}"] = variant_id, quantity
        # A line per variant (a checkout's): their movements in one statement.
        self.one_each = len(self.requested) == len(self.lines)
        if self.one_each:
            self.params.update(line_kind=MovementKind.reservation, on_hand_change=Decimal(0), line_actor=actor_id)

    def hold(self, references: dict[int, str] | None = None, connection=None) -> None:
        """Hold the stock, all or nothing: InsufficientStock lists every short variant.

        `references` gives a variant's movement its reference when that is known only
        now (the id of an order line just written), in place of its line's own.
        `connection` is the session's, when the caller has it in hand. A refused hold
        leaves the counters as they were, so it may be tried again.
        """
        if not self.lines:
            return
        requested, params = self.requested, self.params
        connection = connection or db.session.connection()
        if len(requested) > 1 and connection.dialect.name == "postgresql":
            connection.execute(_lock_in_order(len(requested)), params)
        # An unknown variant has no stock row: nothing moves for it, so it is short.
        moved = set(connection.execute(_reserve_each(len(requested)), params).scalars())
        short = requested.keys() - moved
        if short:
            _restore_reserved([StockLine(vid, requested[vid]) for vid in moved], -1)
            have = available(short)
            raise InsufficientStock(
                [
                    {
                        "variant_id": vid,
                        "requested": format_quantity(requested[vid]),
                        "available": format_quantity(have[vid]),
                    }
                    for vid in sorted(short)
                ]
            )
        references = references or {}
        if self.one_each:
            for i, line in enumerate(self.lines):
                params[f"reference_{i}"] = references.get(line.variant_id, line.reference)
            connection.execute(_record_each(len(self.lines)), {**params, "moved_at": utcnow()})
        else:
            _record_lines(
                [
                    StockLine(line.variant_id, line.quantity, references.get(line.variant_id, line.reference))
                    for line in self.lines
                ],
                MovementKind.reservation,
                1,
                self.actor_id,
            )
        forget_counters()


class StockBusy(Conflict):
    """Another transaction holds a stock row that was not to be waited for."""


LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock refused by NOWAIT
_LOCK_WITHOUT_WAITING = (
    select(_stock.c.variant_id)
    .where(_stock.c.variant_id.in_(bindparam("variant_ids", expanding=True)))
    .order_by(_stock.c.variant_id)
    .with_for_update(nowait=True)
)


def lock_without_waiting(variant_ids) -> None:
    """Lock the variants' stock rows in id order, or raise StockBusy at once when another transaction holds one.

    PostgreSQL only (SQLite writers hold the database lock), and inside a savepoint:
    there a refused lock ends the transaction, and rolling back to the savepoint saves it.
    """
    try:
        db.session.execute(_LOCK_WITHOUT_WAITING, {"variant_ids": sorted(set(variant_ids))})
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise StockBusy() from exc
        raise


def reserve(lines: list[StockLine], actor_id: int | None = None) -> None:
    """Hold stock for `lines`, all or nothing: InsufficientStock lists every short variant."""
    Reservation(lines, actor_id).hold()


def release(lines: list[StockLine], actor_id: int | None = None) -> None:
    """Give held stock back to what buyers can order (a cancelled or expired order)."""
    if not lines:
        return
    _check_positive(lines)
    ordered = sorted(lines, key=lambda line: line.variant_id)
    if len({line.variant_id for line in ordered}) > 1 and is_postgresql():
        lock_stock(line.variant_id for line in ordered)
    done: list[StockLine] = []
    for line in ordered:
        if not guarded_update(line.variant_id, Decimal(0), -line.quantity):
            _restore_reserved(done, 1)
            raise Conflict(
                _l("Cannot release more than is reserved."),
                {"lines": [{"variant_id": line.variant_id, "requested": format_quantity(line.quantity)}]},
            )
        done.append(line)
    _record_lines(ordered, MovementKind.release, -1, actor_id)
    forget_counters()


def _fifo_lots(variant_id: int) -> list[Lot]:
    query = select(Lot).where(Lot.variant_id == variant_id, Lot.remaining > 0).order_by(Lot.received_at, Lot.id)
    if is_postgresql():
        query = query.with_for_update()
    return list(db.session.scalars(query.execution_options(populate_existing=True)))


def _named_lots(lot_ids) -> dict[int, Lot]:
    query = select(Lot).where(Lot.id.in_(sorted(set(lot_ids)))).order_by(Lot.id)
    if is_postgresql():
        query = query.with_for_update()
    return {lot.id: lot for lot in db.session.scalars(query.execution_options(populate_existing=True))}


def draw_lots(
    variant_id: int,
    quantity: Decimal,
    lot: Lot | None = None,
    *,
    first: list[tuple[int, Decimal]] | None = None,
    held: dict[int, Decimal] | None = None,
) -> list[tuple[Lot, Decimal]]:
    """Which lots `quantity` comes out of: the named lot, or first in, first out.

    `first` names lots (and how much of each) to draw before the others: units set aside for this very line.
    `held` says how much of a lot is kept for other lines: first in, first out passes those units by.
    """
    draws: list[tuple[Lot, Decimal]] = []
    left = quantity
    if first:
        named = _named_lots(lot_id for lot_id, _q in first)
        for lot_id, wanted in first:
            candidate = named.get(lot_id)
            if candidate is None or candidate.variant_id != variant_id or left <= 0:
                continue
            already = sum((take for drawn, take in draws if drawn.id == lot_id), Decimal(0))
            take = min(candidate.remaining - already, wanted, left)
            if take > 0:
                draws.append((candidate, take))
                left -= take
    lots = [lot] if lot is not None else (_fifo_lots(variant_id) if left > 0 else [])
    held = held or {}
    for candidate in lots:
        if left <= 0:
            break
        already = sum((take for drawn, take in draws if drawn.id == candidate.id), Decimal(0))
        free = candidate.remaining - already - (held.get(candidate.id, Decimal(0)) if lot is None else Decimal(0))
        take = min(free, left)
        if take > 0:
            draws.append((candidate, take))
            left -= take
    if left > 0:
        raise Conflict(
            _l("The lots hold less than that."),
            {"quantity": [_("Only %(n)s left in the lots.", n=format_qty(quantity - left))]},
        )
    merged: dict[int, tuple[Lot, Decimal]] = {}
    for candidate, take in draws:
        merged[candidate.id] = (candidate, merged.get(candidate.id, (candidate, Decimal(0)))[1] + take)
    draws = list(merged.values())
    for candidate, take in draws:
        result = db.session.execute(
            update(Lot)
            .where(Lot.id == candidate.id, Lot.remaining >= take)
            .values(remaining=Lot.remaining - take)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise Conflict(_l("The lot changed meanwhile; try again."))
    return draws


def consume(
    line: StockLine,
    actor_id: int | None = None,
    from_reserved: bool = True,
    *,
    lots: list[tuple[int, Decimal]] | None = None,
    held: dict[int, Decimal] | None = None,
) -> list[LotDraw]:
    """Take sold units out of stock and out of lots, first in first out; returns whose lots supplied them.

    By default the units must have been reserved (an order being packed). `lots` (lot id, quantity) are drawn
    before first in, first out: the units set aside for this line; `held` (lot id to quantity) are units of
    lots kept for other lines, which first in, first out passes by.
    """
    _check_positive([line])
    quantity = line.quantity
    stock = lock_stock([line.variant_id]).get(line.variant_id)
    if stock is None:
        raise NotFound(_l("No stock for that variant."))
    reserved_delta = -quantity if from_reserved else Decimal(0)
    if not guarded_update(line.variant_id, -quantity, reserved_delta):
        raise InsufficientStock(
            [
                {
                    "variant_id": line.variant_id,
                    "requested": format_quantity(quantity),
                    "available": format_quantity(stock.reserved if from_reserved else stock.available),
                }
            ]
        )
    draws = draw_lots(line.variant_id, quantity, first=lots, held=held)
    group_id = _variant_groups([line.variant_id])[line.variant_id]
    record_movements(
        [
            {
                "group_id": group_id,
                "variant_id": line.variant_id,
                "kind": MovementKind.sale,
                "lot_id": lot.id,
                "on_hand_delta": -take,
                "reserved_delta": -take if from_reserved else Decimal(0),
                "reference": line.reference,
                "actor_id": actor_id,
            }
            for lot, take in draws
        ]
    )
    forget_counters()
    return [LotDraw(lot.id, lot.member_id, take) for lot, take in draws]
