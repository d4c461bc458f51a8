"""A job from request to acceptance, and its end: the buyer asks, the group quotes (and may revise), the buyer
accepts a revision (the order is made) or declines; either side may cancel, the deposit then refunded or kept
as the accepted quote said."""

from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from accounts.models import User
from accounts.services import require_signed_in
from commissions.models import (
    Commission,
    CommissionEvent,
    CommissionLine,
    CommissionQuote,
    CommissionQuoteLine,
    CommissionStatus,
    DepositOnCancel,
)
from commissions.services import records as r
from core.errors import Conflict, Forbidden, ValidationFailed, field_error
from core.extensions import db
from core.money import MAX_AMOUNT, MAX_UNIT_PRICE, format_rupiah
from core.types import utcnow
from core.validation import read_rupiah
from groups.models import Group, Role
from groups.services import membership
from inventory import services as stock
from marketplace import services as market
from marketplace.models import OrderKind, OrderStatus
from payments.services import card, deposits
from payments.services.refunds import refund_held
from revenue.services.accrual import parse_percent


def request_commission(buyer: User, group: Group, *, title, lines, description=None, wanted_date=None, note=None):
    """A buyer asks the group to make something: lines of a variant of the group or a description, each with a
    quantity (large ones allowed), a wanted date and a note. Only a verified group takes orders."""
    buyer = require_signed_in(buyer)
    if not group.verified:
        raise Conflict(_l("This group does not take orders yet."))
    title = r.text(title, "title", r.TITLE_MAX_LENGTH, required=True)
    description = r.text(description, "description", r.TEXT_MAX_LENGTH)
    note = r.text(note, "note", r.NOTE_MAX_LENGTH)
    wanted_date = r.day(wanted_date, "wanted_date")
    if not isinstance(lines, list) or not lines:
        raise field_error("lines", _("Add at least one line."))
    if len(lines) > r.MAX_LINES:
        raise field_error("lines", _("At most %(n)d lines.", n=r.MAX_LINES))
    made, errors, seen = [], {}, set()
    for i, line in enumerate(lines):
        try:
            if not isinstance(line, dict):
                raise field_error(f"lines.{i}", _("Not a valid line."))
            variant = None
            if line.get("variant_id") is not None:
                variant = stock.get_variant_in_group(group, line.get("variant_id"), f"lines.{i}.variant_id")
                if variant.id in seen:
                    raise field_error(f"lines.{i}.variant_id", _("Each variant once: add the quantities together."))
                seen.add(variant.id)
            text = r.text(line.get("description"), f"lines.{i}.description", r.LINE_TEXT_MAX_LENGTH)
            if variant is None and text is None:
                raise field_error(f"lines.{i}", _("Name a product variant or describe what you want."))
            quantity = r.quantity_of(group, variant, line.get("quantity"), f"lines.{i}.quantity")
            made.append(CommissionLine(variant_id=variant.id if variant else None, description=text, quantity=quantity))
        except ValidationFailed as exc:
            errors.update(exc.errors or {})
    if errors:
        raise ValidationFailed(errors=errors)
    commission = Commission(
        group_id=group.id,
        buyer_id=buyer.id,
        title=title,
        description=description,
        wanted_date=wanted_date,
        note=note,
        status=CommissionStatus.requested,
        lines=made,
    )
    db.session.add(commission)
    db.session.flush()
    db.session.add(
        CommissionEvent(
            commission_id=commission.id,
            actor_id=buyer.id,
            from_status=None,
            to_status=CommissionStatus.requested,
            created_at=utcnow(),
        )
    )
    db.session.flush()
    return commission


def _deposit(total: int, percent, amount) -> tuple[int, int | None]:
    """(deposit in rupiah, basis points when given as a percent)."""
    if percent not in (None, "") and amount not in (None, ""):
        raise field_error("deposit_amount", _("Give the deposit as a percent or as an amount, not both."))
    if percent not in (None, ""):
        try:
            basis_points = parse_percent(percent)
        except ValueError:
            raise field_error("deposit_percent", _("Give a percent from 0 to 100 with at most 2 decimals.")) from None
        exact = Decimal(total) * basis_points / Decimal(10000)
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP)), basis_points
    if amount in (None, ""):
        return 0, None
    deposit = read_rupiah(amount, "deposit_amount")
    if deposit > total:
        raise field_error("deposit_amount", _("At most %(amount)s.", amount=format_rupiah(total)))
    return deposit, None


def quote(
    actor: User,
    commission: Commission,
    *,
    lines,
    due_date,
    deposit_percent=None,
    deposit_amount=None,
    deposit_on_cancel="refund",
    note=None,
) -> CommissionQuote:
    """The group's answer (coordinator): a unit price per line, each line named as a variant of the group, a due
    date and a deposit (a percent of the total or an amount) with what happens to it on cancellation. A quote
    made while one stands is its next revision."""
    r.require_coordinator(actor, commission)
    commission = r.lock_commission(commission)
    if CommissionStatus.quoted not in r.TRANSITIONS[commission.status]:
        raise r.JobTransitionNotAllowed(commission, CommissionStatus.quoted)
    group = db.session.get(Group, commission.group_id)
    due_date = r.day(due_date, "due_date", required=True)
    note = r.text(note, "note", r.NOTE_MAX_LENGTH)
    try:
        on_cancel = DepositOnCancel(deposit_on_cancel)
    except ValueError:
        raise field_error("deposit_on_cancel", _("Choose refund or keep.")) from None
    if not isinstance(lines, list) or not lines:
        raise field_error("lines", _("Give a price for every line."))
    priced: dict[int, tuple] = {}
    errors: dict = {}
    for i, sent in enumerate(lines):
        try:
            if not isinstance(sent, dict):
                raise field_error(f"lines.{i}", _("Not a valid line."))
            line = r.line_of(commission, sent.get("line_id"), f"lines.{i}.line_id")
            if line.id in priced:
                raise field_error(f"lines.{i}.line_id", _("Each line once."))
            variant_id = sent.get("variant_id", line.variant_id)
            if variant_id is None:
                raise field_error(f"lines.{i}.variant_id", _("Name the product variant this line is made as."))
            variant = stock.get_variant_in_group(group, variant_id, f"lines.{i}.variant_id")
            r.quantity_of(group, variant, line.quantity, f"lines.{i}.quantity")
            price = read_rupiah(sent.get("unit_price"), f"lines.{i}.unit_price", ceiling=MAX_UNIT_PRICE)
            total = market.line_total(price, line.quantity)
            if total > MAX_AMOUNT:
                raise field_error(f"lines.{i}.unit_price", _("At most %(amount)s.", amount=format_rupiah(MAX_AMOUNT)))
            priced[line.id] = (variant, price, total)
        except ValidationFailed as exc:
            errors.update(exc.errors or {})
    if errors:
        raise ValidationFailed(errors=errors)
    missing = [line.id for line in commission.lines if line.id not in priced]
    if missing:
        raise field_error(
            "lines", _("Give a price for every line (missing: %(ids)s).", ids=", ".join(map(str, missing)))
        )
    variants = [variant.id for variant, _p, _t in priced.values()]
    if len(set(variants)) != len(variants):
        raise field_error("lines", _("Each line is made as a different variant."))
    total = sum(t for _v, _p, t in priced.values())
    if total > MAX_AMOUNT:
        raise field_error("lines", _("At most %(amount)s.", amount=format_rupiah(MAX_AMOUNT)))
    deposit, basis_points = _deposit(total, deposit_percent, deposit_amount)
    revision = (r.latest_quote(commission).revision if commission.quotes else 0) + 1
    made = CommissionQuote(
        commission_id=commission.id,
        revision=revision,
        due_date=due_date,
        total=total,
        deposit=deposit,
        deposit_basis_points=basis_points,
        deposit_on_cancel=on_cancel,
        note=note,
        created_by_id=actor.id,
        created_at=utcnow(),
        lines=[
            CommissionQuoteLine(commission_line_id=line_id, variant_id=v.id, unit_price=p, total=t)
            for line_id, (v, p, t) in sorted(priced.items())
        ],
    )
    db.session.add(made)
    r.move(commission, CommissionStatus.quoted, actor.id, f"revision {revision}")
    db.session.flush()
    db.session.expire(commission, ["quotes"])
    return made


def accept(buyer: User, commission: Commission, *, revision, fulfilment=None, payment_method="cash"):
    """The buyer accepts revision `revision` of the quote: the job's order is made (one, at the quoted prices,
    `confirmed`), and the deposit is owed on it. Accepting the revision already accepted answers as before;
    an outdated revision, or any once another was accepted, is a 409."""
    buyer = require_signed_in(buyer)
    if commission.buyer_id != buyer.id:
        raise Forbidden(_l("Only the buyer who asked may accept the quote."))
    commission = r.lock_commission(commission)
    if isinstance(revision, bool) or not isinstance(revision, int):
        raise field_error("revision", _("Give the number of the quote's revision."))
    if commission.accepted_revision is not None:
        if commission.accepted_revision == revision:
            return commission  # accepted already: the same answer
        raise Conflict(_l("Another revision of this quote was accepted."), {"revision": [str(revision)]})
    if commission.status != CommissionStatus.quoted:
        raise r.JobTransitionNotAllowed(commission, CommissionStatus.accepted)
    latest = r.latest_quote(commission)
    if revision != latest.revision:
        raise Conflict(
            _l("This quote was revised: revision %(n)d is the one standing.", n=latest.revision),
            {"revision": [_("Accept revision %(n)d.", n=latest.revision)]},
        )
    group = db.session.get(Group, commission.group_id)
    if not group.verified:
        raise Conflict(_l("This group does not take orders yet."))
    if latest.due_date < market.today_wib():
        raise Conflict(_l("The quote's due date has passed; ask the group for a new quote."))
    method, address, order_note = market.read_fulfilment(fulfilment, "pickup")
    paying = card.payment_method_of(payment_method)
    lines_by_id = {line.id: line for line in commission.lines}
    order_lines = []
    for quoted in latest.lines:
        line = lines_by_id[quoted.commission_line_id]
        line.variant_id = quoted.variant_id  # the line is made as the variant the accepted quote named
        variant = stock.get_variant_in_group(group, quoted.variant_id)
        order_lines.append((variant, line.quantity, quoted.unit_price))
    order = market.place_without_stock(
        buyer,
        buyer,
        group,
        OrderKind.made_to_order,
        order_lines,
        fulfilment_method=method,
        fulfilment_date=latest.due_date,
        payment_method=paying,
        address=address,
        note=order_note or commission.title[:500],
    )
    commission.checkout_id = order.checkout_id
    commission.accepted_revision = revision
    r.move(commission, CommissionStatus.accepted, buyer.id, f"revision {revision}; order {order.id}")
    db.session.flush()
    return commission


def decline(actor: User, commission: Commission, note=None) -> Commission:
    """The buyer declines a quote, or the group's coordinator declines a request (or withdraws its quote)."""
    actor = require_signed_in(actor)
    note = r.text(note, "note", r.NOTE_MAX_LENGTH)
    if commission.buyer_id == actor.id:
        allowed = (CommissionStatus.quoted,)
    else:
        r.require_coordinator(actor, commission)
        allowed = (CommissionStatus.requested, CommissionStatus.quoted)
    commission = r.lock_commission(commission)
    if commission.status not in allowed:
        raise r.JobTransitionNotAllowed(commission, CommissionStatus.declined)
    r.move(commission, CommissionStatus.declined, actor.id, note)
    db.session.flush()
    return commission


def cancel(actor: User, commission: Commission, note=None) -> Commission:
    """Cancel the job: the buyer or the group's coordinator. Its open orders are cancelled (what was set aside
    for them goes back to the group's stock, still the members' lots) and the money paid on them is refunded,
    or kept up to the deposit when the accepted quote said so (the group fund's income). Money is given back
    or kept by the coordinator: a buyer cancels only while nothing is paid. A packed order is handed over
    first (409)."""
    actor = require_signed_in(actor)
    note = r.text(note, "note", r.NOTE_MAX_LENGTH)
    is_buyer = commission.buyer_id == actor.id
    if not is_buyer:
        r.require_coordinator(actor, commission)
    commission = r.lock_commission(commission)
    if CommissionStatus.cancelled not in r.TRANSITIONS[commission.status]:
        raise r.JobTransitionNotAllowed(commission, CommissionStatus.cancelled)
    orders = r.orders_of(commission)
    if any(o.status == OrderStatus.ready for o in orders):
        raise Conflict(_l("A delivery of this job is packed: hand it over first, then cancel the rest."))
    # Only the open orders are locked: a packed one is never cancelled, and its completion locks it, then the job.
    open_orders = [market.lock_order(o) for o in orders if o.status in (OrderStatus.placed, OrderStatus.confirmed)]
    if any(o.status not in (OrderStatus.placed, OrderStatus.confirmed) for o in open_orders):
        raise Conflict(_l("A delivery of this job is packed: hand it over first, then cancel the rest."))
    held = sum(o.paid - o.refunded for o in open_orders)
    if held and is_buyer:
        member = membership(db.session.get(Group, commission.group_id), actor)
        if member is None or member.role != Role.coordinator:
            raise Conflict(
                _l("%(amount)s is paid on this job: ask the group to cancel it.", amount=format_rupiah(held))
            )
    r.move(commission, CommissionStatus.cancelled, actor.id, note)
    quote = r.accepted_quote(commission)
    keep_left = quote.deposit if quote and quote.deposit_on_cancel == DepositOnCancel.keep else 0
    reason = note or _("Made-to-order job cancelled")
    for order in open_orders:
        market.cancel(actor, order, note)
        money = order.paid - order.refunded
        kept = min(money, keep_left)
        keep_left -= kept
        if kept:
            deposits.keep_paid(actor, order, kept, reason)
        if money - kept:
            refund_held(actor, order, money - kept, reason)  # card money back through the gateway
    db.session.flush()
    return commission
