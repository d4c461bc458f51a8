"""The work of a job: pieces shared out among the group's members, finished pieces handed in (each an intake of
that member's lot, set aside at once for the job's order), and deliveries in part or in full."""

from collections import defaultdict
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from accounts.models import User
from accounts.services import require_signed_in
from commissions.models import (
    Commission,
    CommissionAssignment,
    CommissionLine,
    CommissionPieces,
    CommissionStatus,
)
from commissions.services import records as r
from core.errors import Conflict, NotFound, ValidationFailed, field_error
from core.extensions import db
from core.formatting import format_qty
from core.idempotency import replayed
from core.quantity import format_quantity
from core.types import utcnow
from core.validation import row_by_id
from groups.models import Group, Member
from inventory import services as stock
from marketplace import services as market
from marketplace.models import Order, OrderKind, OrderStatus
from marketplace.services.ahead import SETTING_ASIDE

ASSIGNING = (CommissionStatus.accepted, CommissionStatus.in_production)
DELIVERED = (OrderStatus.ready, OrderStatus.completed)


def _assigned(commission: Commission) -> list[CommissionAssignment]:
    return list(
        db.session.scalars(
            select(CommissionAssignment)
            .where(CommissionAssignment.commission_id == commission.id)
            .order_by(CommissionAssignment.id)
            .execution_options(populate_existing=True)
        )
    )


def _too_many(line: CommissionLine, others: Decimal) -> Conflict:
    room = line.quantity - others
    return Conflict(
        _l("Only %(n)s pieces of this line are left to assign.", n=format_qty(room)),
        {"pieces": [_("At most %(n)s.", n=format_qty(room))]},
    )


def assign(actor: User, commission: Commission, *, line_id, member_id, pieces) -> CommissionAssignment:
    """Give a member of the job's group pieces of a line to make (coordinator). The pieces assigned on a line
    never add up to more than it ordered: checked under the job's row lock, so two coordinators at once take
    turns. The job goes into production with its first assignment."""
    r.require_coordinator(actor, commission)
    commission = r.lock_commission(commission)
    if commission.status not in ASSIGNING:
        raise Conflict(
            _l("Work is shared out once a quote is accepted and until every piece is made."),
            {"status": [commission.status.value]},
        )
    group = db.session.get(Group, commission.group_id)
    line = r.line_of(commission, line_id)
    member = stock.get_member_in_group(group, member_id)
    variant = stock.get_variant_in_group(group, line.variant_id)
    pieces = r.quantity_of(group, variant, pieces, "pieces")
    existing = _assigned(commission)
    if any(a.commission_line_id == line.id and a.member_id == member.id for a in existing):
        raise Conflict(_l("This member already has pieces of this line: change that assignment instead."))
    others = sum((a.pieces for a in existing if a.commission_line_id == line.id), Decimal(0))
    if others + pieces > line.quantity:
        raise _too_many(line, others)
    assignment = CommissionAssignment(
        commission_id=commission.id,
        commission_line_id=line.id,
        member_id=member.id,
        pieces=pieces,
        done=Decimal(0),
        created_by_id=actor.id,
    )
    db.session.add(assignment)
    if commission.status == CommissionStatus.accepted:
        r.move(commission, CommissionStatus.in_production, actor.id)
    db.session.flush()
    return assignment


def get_assignment_or_404(actor: User | None, assignment_id) -> CommissionAssignment:
    """An assignment of a job the actor may see; 404 otherwise."""
    user = require_signed_in(actor)
    assignment = row_by_id(CommissionAssignment, assignment_id)
    if assignment is None:
        raise NotFound(_l("Assignment not found."))
    commission = db.session.get(Commission, assignment.commission_id)
    if not r.can_view(commission, user) or (commission.buyer_id == user.id and r.role_in(commission, user) is None):
        raise NotFound(_l("Assignment not found."))
    return assignment


def change_assignment(actor: User, assignment: CommissionAssignment, *, pieces) -> CommissionAssignment:
    """Change how many pieces a member makes (coordinator), while the line is unfinished: never below what she
    handed in already, never above what the line has left."""
    commission = db.session.get(Commission, assignment.commission_id)
    r.require_coordinator(actor, commission)
    commission = r.lock_commission(commission)
    if commission.status not in ASSIGNING:
        raise Conflict(_l("This job's work can no longer be changed."), {"status": [commission.status.value]})
    group = db.session.get(Group, commission.group_id)
    existing = _assigned(commission)
    assignment = next(a for a in existing if a.id == assignment.id)
    line = assignment.line
    variant = stock.get_variant_in_group(group, line.variant_id)
    pieces = r.quantity_of(group, variant, pieces, "pieces") if pieces not in (0, "0") else Decimal(0)
    on_line = [a for a in existing if a.commission_line_id == line.id]
    if sum((a.done for a in on_line), Decimal(0)) >= line.quantity:
        raise Conflict(_l("Every piece of this line is made; its assignments stay as they are."))
    if pieces < assignment.done:
        raise Conflict(
            _l("She handed in %(n)s pieces already.", n=format_qty(assignment.done)),
            {"pieces": [_("At least %(n)s.", n=format_qty(assignment.done))]},
        )
    others = sum((a.pieces for a in on_line if a.id != assignment.id), Decimal(0))
    if others + pieces > line.quantity:
        raise _too_many(line, others)
    assignment.pieces = pieces
    assignment.updated_at = utcnow()
    db.session.flush()
    return assignment


def _find_pieces(assignment_id: int, key: str) -> CommissionPieces | None:
    return db.session.scalar(
        select(CommissionPieces).where(
            CommissionPieces.assignment_id == assignment_id, CommissionPieces.idempotency_key == key
        )
    )


def record_pieces(actor: User, assignment: CommissionAssignment, *, quantity, retry=None, note=None):
    """Finished pieces a member handed in against her assignment (coordinator), at most what she has left to
    make: an intake of her lot through the stock ledger, set aside and reserved at once for the job's order
    line. Returns (pieces, created). The same Idempotency-Key with the same request returns the first record;
    two coordinators recording the same pieces at once take turns under the job's lock, so they are counted
    once, or the second is refused."""
    commission = db.session.get(Commission, assignment.commission_id)
    r.require_coordinator(actor, commission)
    key = retry.key if retry else None
    if key and (found := _find_pieces(assignment.id, key)) is not None:
        return replayed(found, retry.fingerprint), False
    commission = r.lock_commission(commission)
    if key and (found := _find_pieces(assignment.id, key)) is not None:
        return replayed(found, retry.fingerprint), False
    if commission.status not in ASSIGNING:
        raise Conflict(_l("This job takes no more pieces."), {"status": [commission.status.value]})
    assignment = next(a for a in _assigned(commission) if a.id == assignment.id)
    group = db.session.get(Group, commission.group_id)
    line = assignment.line
    variant = stock.get_variant_in_group(group, line.variant_id)
    quantity = r.quantity_of(group, variant, quantity, "quantity")
    left = assignment.pieces - assignment.done
    if quantity > left:
        raise Conflict(
            _l("Only %(n)s pieces of this assignment are left to hand in.", n=format_qty(left)),
            {"quantity": [_("At most %(n)s.", n=format_qty(left))]},
        )
    order_line = _line_with_room(commission, variant.id, quantity)
    lot = stock.receive_contribution(
        actor,
        group,
        variant_id=variant.id,
        member_id=assignment.member_id,
        quantity=quantity,
        note=r.text(note, "note", r.NOTE_MAX_LENGTH) or f"{commission.title[:100]} (job {commission.id})",
    )
    market.set_aside(actor, order_line, lot, quantity)
    row = CommissionPieces(
        assignment_id=assignment.id,
        lot_id=lot.id,
        order_line_id=order_line.id,
        quantity=quantity,
        idempotency_key=key,
        request_hash=retry.fingerprint if key else None,
        recorded_by_id=actor.id,
        created_at=utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        found = _find_pieces(assignment.id, key) if key else None
        if found is None:
            raise
        return replayed(found, retry.fingerprint), False
    assignment.done += quantity
    assignment.updated_at = utcnow()
    db.session.flush()
    if all(_done_on(commission, line) >= line.quantity for line in commission.lines):
        r.move(commission, CommissionStatus.ready, actor.id)
    db.session.flush()
    return row, True


def _done_on(commission: Commission, line: CommissionLine) -> Decimal:
    return sum((a.done for a in _assigned(commission) if a.commission_line_id == line.id), Decimal(0))


def _open_order(commission: Commission) -> Order | None:
    """The job's order still waiting for its goods (what is not yet delivered)."""
    found = [o for o in r.orders_of(commission) if o.status in SETTING_ASIDE]
    return found[0] if found else None


def _line_with_room(commission: Commission, variant_id: int, quantity: Decimal):
    order = _open_order(commission)
    if order is not None:
        for line in order.lines:
            if line.variant_id == variant_id and line.quantity - market.set_aside_total(line) >= quantity:
                return line
    raise Conflict(_l("The job's order has no room left for these pieces."))


def deliver(actor: User, commission: Commission, lines=None) -> Order:
    """Deliver finished pieces (coordinator): `lines` [{line_id, quantity}] of the job's lines, or without
    them every piece made and not yet delivered. All the open order: it is packed as it is; a part: it is split
    off the order (marketplace.split_order: the money paid stays on the side that can hold it) and packed. The
    delivery then goes ready -> completed like any order (handover with the cash owed, etc.)."""
    r.require_coordinator(actor, commission)
    commission = r.lock_commission(commission)
    if commission.status not in (CommissionStatus.in_production, CommissionStatus.ready):
        raise Conflict(_l("This job has nothing to deliver."), {"status": [commission.status.value]})
    order = _open_order(commission)
    if order is None:
        raise Conflict(_l("Everything of this job was delivered already."))
    order = market.lock_order(order)
    by_variant = {line.variant_id: line for line in order.lines}
    wanted: dict[int, Decimal] = {}
    if lines is None:
        for line in order.lines:
            ready = market.set_aside_total(line)
            if ready:
                wanted[line.id] = ready
    else:
        if not isinstance(lines, list) or not lines:
            raise field_error("lines", _("Name at least one line and its quantity."))
        group = db.session.get(Group, commission.group_id)
        errors = {}
        for i, sent in enumerate(lines):
            try:
                if not isinstance(sent, dict):
                    raise field_error(f"lines.{i}", _("Not a valid line."))
                line = r.line_of(commission, sent.get("line_id"), f"lines.{i}.line_id")
                variant = stock.get_variant_in_group(group, line.variant_id)
                quantity = r.quantity_of(group, variant, sent.get("quantity"), f"lines.{i}.quantity")
                order_line = by_variant.get(line.variant_id)
                ready = market.set_aside_total(order_line) if order_line else Decimal(0)
                if order_line is None or order_line.id in wanted or quantity > ready:
                    raise field_error(
                        f"lines.{i}.quantity",
                        _("Only %(n)s finished pieces wait to be delivered.", n=format_qty(ready)),
                    )
                wanted[order_line.id] = quantity
            except ValidationFailed as exc:
                errors.update(exc.errors or {})
        if errors:
            raise ValidationFailed(errors=errors)
    if not wanted:
        raise Conflict(_l("No finished pieces wait to be delivered."))
    whole = all(wanted.get(line.id) == line.quantity for line in order.lines)
    part = order if whole else market.split_order(actor, order, wanted).part
    market.mark_ready(actor, part)
    db.session.flush()
    return part


def on_order_moved(order: Order, to: OrderStatus, actor_id: int | None) -> None:
    """marketplace.signals.order_moved: a job's order completed may complete the job; a job's order is cancelled
    only with its job (commissions.cancel), never on its own."""
    if order.kind != OrderKind.made_to_order:
        return
    commission = db.session.scalar(select(Commission).where(Commission.checkout_id == order.checkout_id))
    if commission is None:
        return
    if to == OrderStatus.cancelled and commission.status != CommissionStatus.cancelled:
        raise Conflict(_l("This order is a made-to-order job's: cancel the job instead."))
    if to == OrderStatus.completed and commission.status in (CommissionStatus.in_production, CommissionStatus.ready):
        commission = r.lock_commission(commission)  # after the order's lock, as every completion takes them
        others = [o for o in r.orders_of(commission) if o.id != order.id]
        if all(o.status in (OrderStatus.completed, OrderStatus.cancelled) for o in others):
            r.move(commission, CommissionStatus.completed, actor_id)


def progress(commission: Commission) -> list[dict]:
    """Per line: ordered, assigned, made (handed in) and delivered (packed or handed over)."""
    assigned, done = defaultdict(Decimal), defaultdict(Decimal)
    for a in _assigned(commission):
        assigned[a.commission_line_id] += a.pieces
        done[a.commission_line_id] += a.done
    delivered = defaultdict(Decimal)
    for order in r.orders_of(commission):
        if order.status in DELIVERED:
            for line in order.lines:
                delivered[line.variant_id] += line.quantity
    return [
        {
            "line_id": line.id,
            "variant_id": line.variant_id,
            "ordered": format_quantity(line.quantity),
            "assigned": format_quantity(assigned[line.id]),
            "done": format_quantity(done[line.id]),
            "delivered": format_quantity(delivered[line.variant_id]) if line.variant_id else "0",
        }
        for line in commission.lines
    ]


def member_of(assignment: CommissionAssignment) -> Member:
    return db.session.get(Member, assignment.member_id)
