"""What the rules of made-to-order jobs share: finding a job and who may see or move it, its moves recorded as
events, reading text, dates and quantities from a request, and the job's orders."""

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from accounts.models import User
from accounts.services import require_signed_in
from commissions.models import Commission, CommissionEvent, CommissionLine, CommissionQuote, CommissionStatus
from core.database import lock_row
from core.errors import Conflict, NotFound, field_error
from core.extensions import db
from core.types import utcnow
from core.validation import optional_text, row_by_id
from groups.models import Group, Role
from groups.services import authorize, membership
from inventory import services as stock
from marketplace import services as market
from marketplace.models import Order

TITLE_MAX_LENGTH = 120
TEXT_MAX_LENGTH = 2000
NOTE_MAX_LENGTH = 500
LINE_TEXT_MAX_LENGTH = 200
MAX_LINES = 50
MAX_DAYS_AHEAD = 366

# Which status may follow which.
TRANSITIONS: dict[CommissionStatus, tuple[CommissionStatus, ...]] = {
    CommissionStatus.requested: (CommissionStatus.quoted, CommissionStatus.declined, CommissionStatus.cancelled),
    CommissionStatus.quoted: (
        CommissionStatus.quoted,  # a revision
        CommissionStatus.accepted,
        CommissionStatus.declined,
        CommissionStatus.cancelled,
    ),
    CommissionStatus.accepted: (CommissionStatus.in_production, CommissionStatus.cancelled),
    CommissionStatus.in_production: (CommissionStatus.ready, CommissionStatus.completed, CommissionStatus.cancelled),
    CommissionStatus.ready: (CommissionStatus.completed, CommissionStatus.cancelled),
    CommissionStatus.completed: (),
    CommissionStatus.declined: (),
    CommissionStatus.cancelled: (),
}
WORKING = (CommissionStatus.accepted, CommissionStatus.in_production, CommissionStatus.ready)


def status_label(status: CommissionStatus) -> str:
    return {
        CommissionStatus.requested: _("requested"),
        CommissionStatus.quoted: _("quoted"),
        CommissionStatus.accepted: _("accepted"),
        CommissionStatus.in_production: _("in production"),
        CommissionStatus.ready: _("ready"),
        CommissionStatus.completed: _("completed"),
        CommissionStatus.declined: _("declined"),
        CommissionStatus.cancelled: _("cancelled"),
    }[CommissionStatus(status)]


class JobTransitionNotAllowed(Conflict):
    def __init__(self, commission: Commission, to: CommissionStatus):
        super().__init__(
            _l(
                "This job is %(status)s and cannot become %(to)s.",
                status=status_label(commission.status),
                to=status_label(to),
            ),
            {"status": [commission.status.value]},
        )


def role_in(commission: Commission, user: User) -> Role | None:
    """The user's role in the job's group, None when not an active member of it."""
    member = membership(db.session.get(Group, commission.group_id), user)
    return member.role if member is not None else None


def can_view(commission: Commission, user: User) -> bool:
    """The buyer, the group's members (they make it) and the district admin see a job."""
    return commission.buyer_id == user.id or user.is_admin or role_in(commission, user) is not None


def get_commission_or_404(actor: User | None, commission_id) -> Commission:
    """A job the actor may see; anyone else's is as unknown as a missing one. 401 without an actor."""
    user = require_signed_in(actor)
    commission = row_by_id(Commission, commission_id)
    if commission is None or not can_view(commission, user):
        raise NotFound(_l("Job not found."))
    return commission


def require_coordinator(actor: User, commission: Commission) -> None:
    """403 unless the actor coordinates the job's group (the buyer and members may see it, not change it)."""
    authorize(actor, db.session.get(Group, commission.group_id), Role.coordinator)


def lock_commission(commission: Commission) -> Commission:
    """Re-read the job under a row lock (PostgreSQL; SQLite writers hold the database lock): every change to its
    assignments, pieces and deliveries is made under it, so two coordinators at once take turns."""
    return lock_row(commission)


def move(commission: Commission, to: CommissionStatus, actor_id: int | None, note: str | None = None) -> None:
    if to not in TRANSITIONS[commission.status]:
        raise JobTransitionNotAllowed(commission, to)
    db.session.add(
        CommissionEvent(
            commission_id=commission.id,
            actor_id=actor_id,
            from_status=commission.status,
            to_status=to,
            note=note,
            created_at=utcnow(),
        )
    )
    commission.status = to
    commission.updated_at = utcnow()


text = optional_text


def day(value, field: str, *, required: bool = False) -> date | None:
    """A day from today to MAX_DAYS_AHEAD days ahead."""
    if value in (None, ""):
        if required:
            raise field_error(field, _("This field is required."))
        return None
    try:
        found = value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        raise field_error(field, _("Use a date such as 2026-11-28.")) from None
    today = market.today_wib()
    if not today <= found <= today + timedelta(days=MAX_DAYS_AHEAD):
        raise field_error(field, _("Choose a day from today to %(n)d days ahead.", n=MAX_DAYS_AHEAD))
    return found


def quantity_of(group: Group, variant, value, field: str) -> Decimal:
    """A quantity as the variant's unit allows (any exact quantity without a variant)."""
    if variant is None:  # a description until the group quotes: the unit is not known yet
        unit = replace(stock.resolve_unit(group, "pcs"), whole=False)
    else:
        unit = stock.resolve_unit(group, variant.product.unit)
    return stock.quantity_in(value, unit, field)


def accepted_quote(commission: Commission) -> CommissionQuote | None:
    if commission.accepted_revision is None:
        return None
    return next((q for q in commission.quotes if q.revision == commission.accepted_revision), None)


def latest_quote(commission: Commission) -> CommissionQuote | None:
    return commission.quotes[-1] if commission.quotes else None


def orders_of(commission: Commission) -> list[Order]:
    """The job's orders: the one made at acceptance and the deliveries split off it."""
    if commission.checkout_id is None:
        return []
    return list(db.session.scalars(select(Order).where(Order.checkout_id == commission.checkout_id).order_by(Order.id)))


def line_of(commission: Commission, line_id, field: str = "line_id") -> CommissionLine:
    line = next((line for line in commission.lines if isinstance(line_id, int) and line.id == line_id), None)
    if line is None:
        raise field_error(field, _("No such line in this job."))
    return line
