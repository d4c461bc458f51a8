"""Work logs: pieces sewn or hours worked per member per day, for sharing the pool by work.

Work is logged for a day that has come, at most a year back, never on a settled
day; a log made by mistake is corrected by a log of the opposite units, once.
"""

from datetime import date, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from core.extensions import db
from core.quantity import QuantityError, format_quantity, parse_quantity
from core.validation import ID_MAX, has_control_chars, row_by_id
from groups.models import Group, Member, Role
from groups.services import authorize, membership
from revenue.models import WorkLog
from revenue.services.settlements import periods
from revenue.services.settlements.periods import errors_of, lock_group, read_day, refuse_settled_day

MAX_DAYS_BACK = 366  # work is logged for at most a year back


NOTE_MAX_LENGTH = 500


def _read_note(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or has_control_chars(value, allow="\n\r\t"):
        raise ValidationFailed(errors={"note": [_("Not a valid text.")]})
    value = value.strip()
    if len(value) > NOTE_MAX_LENGTH:
        raise ValidationFailed(errors={"note": [_("Use at most %(n)d characters.", n=NOTE_MAX_LENGTH)]})
    return value or None


def _read_id(value, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= ID_MAX:
        raise ValidationFailed(errors={field: [_("Not a valid id.")]})
    return value


def _active_member(group: Group, value, field: str = "member_id") -> Member:
    member_id = _read_id(value, field)
    member = db.session.get(Member, member_id)
    if member is None or member.group_id != group.id:
        raise ValidationFailed(errors={field: [_("No such member in this group.")]})
    if not member.active:
        raise ValidationFailed(errors={field: [_("This member is inactive.")]})
    return member


def _work_day(value) -> date:
    day = read_day(value, "date")
    today = periods.today_wib()
    if day > today:
        raise ValidationFailed(errors={"date": [_("Work cannot be logged for a day that has not come yet.")]})
    if day < today - timedelta(days=MAX_DAYS_BACK):
        raise ValidationFailed(errors={"date": [_("Work can be logged for at most %(n)d days back.", n=MAX_DAYS_BACK)]})
    return day


def _units(value) -> Decimal:
    try:
        return parse_quantity(value)
    except QuantityError:
        raise ValidationFailed(
            errors={
                "units": [_('Give the units as a number above zero with at most 3 decimals, such as "12" or "1.5".')]
            }
        ) from None


def log_work(actor, group: Group, *, member_id=None, units=None, day=None, note=None) -> WorkLog:
    """Record work a member did on a day (pieces sewn, hours), for sharing the pool by work (coordinator,
    treasurer).

    `units` is above zero with at most 3 decimals; `day` a date or "YYYY-MM-DD" (its
    errors are on `date`, as the API names it). Every bad value is reported at once.
    """
    authorize(actor, group, Role.coordinator, Role.treasurer)
    found: dict = {}
    errors: dict = {}
    errors_of(found, errors, "member", lambda: _active_member(group, member_id))
    errors_of(found, errors, "units", lambda: _units(units))
    errors_of(found, errors, "day", lambda: _work_day(day))
    errors_of(found, errors, "note", lambda: _read_note(note))
    if errors:
        raise ValidationFailed(errors=errors)
    lock_group(group)
    refuse_settled_day(group, found["day"], "date")
    log = WorkLog(
        group_id=group.id,
        member_id=found["member"].id,
        day=found["day"],
        units=found["units"],
        note=found["note"],
        created_by_id=actor.id,
    )
    db.session.add(log)
    db.session.flush()
    return log


def get_work_log_or_404(group: Group, log_id) -> WorkLog:
    """The group's work log; another group's is as unknown as a missing one (404)."""
    log = row_by_id(WorkLog, log_id)
    if log is None or log.group_id != group.id:
        raise NotFound(_l("Work log not found."))
    return log


def reverse_work_log(actor, group: Group, log_id, note=None) -> WorkLog:
    """Correct a work log made by mistake (coordinator, treasurer): a row with the opposite units, once; never on
    a settled day."""
    authorize(actor, group, Role.coordinator, Role.treasurer)
    note = _read_note(note)
    original = get_work_log_or_404(group, log_id)
    if original.reverses_id is not None:
        raise Conflict(_l("This is a correction; it cannot be corrected again."))
    lock_group(group)
    if db.session.scalar(select(WorkLog.id).where(WorkLog.reverses_id == original.id)) is not None:
        raise Conflict(_l("This work log was corrected already."))
    refuse_settled_day(group, original.day, "date")
    correction = WorkLog(
        group_id=group.id,
        member_id=original.member_id,
        day=original.day,
        units=-original.units,
        note=note,
        reverses_id=original.id,
        created_by_id=actor.id,
    )
    db.session.add(correction)
    db.session.flush()
    return correction


def work_logs_query(
    viewer, group: Group, start: date | None = None, end: date | None = None, member_id: int | None = None
):
    """The group's work logs, newest day first (coordinator, treasurer); a member sees their own."""
    try:
        authorize(viewer, group, Role.coordinator, Role.treasurer)
    except Forbidden:
        own = membership(group, viewer)
        if own is None or (member_id is not None and member_id != own.id):
            raise
        member_id = own.id
    query = select(WorkLog).where(WorkLog.group_id == group.id)
    if start is not None:
        query = query.where(WorkLog.day >= start)
    if end is not None:
        query = query.where(WorkLog.day <= end)
    if member_id is not None:
        query = query.where(WorkLog.member_id == member_id)
    return query.order_by(WorkLog.day.desc(), WorkLog.id.desc())


def work_log_views(logs: list[WorkLog]) -> list[dict]:
    """Work logs as the API and pages show them: with the member's name and whether each was corrected."""
    ids = [log.id for log in logs]
    names = (
        dict(
            db.session.execute(
                select(Member.id, Member.name).where(Member.id.in_({log.member_id for log in logs}))
            ).all()
        )
        if logs
        else {}
    )
    corrected = (
        dict(db.session.execute(select(WorkLog.reverses_id, WorkLog.id).where(WorkLog.reverses_id.in_(ids))).all())
        if ids
        else {}
    )
    return [
        {
            "id": log.id,
            "group_id": log.group_id,
            "member_id": log.member_id,
            "member_name": names.get(log.member_id),
            "units": format_quantity(log.units),
            "date": log.day,
            "note": log.note,
            "reverses_id": log.reverses_id,
            "reversed_by_id": corrected.get(log.id),
            "created_by_id": log.created_by_id,
            "created_at": log.created_at,
        }
        for log in logs
    ]


def work_in(group_id: int, start: date, end: date) -> dict[int, Decimal]:
    """Each member's units logged in the period (corrections subtracted)."""
    rows = db.session.execute(
        select(WorkLog.member_id, func.sum(WorkLog.units))
        .where(WorkLog.group_id == group_id, WorkLog.day >= start, WorkLog.day <= end)
        .group_by(WorkLog.member_id)
    )
    return {member_id: Decimal(total) for member_id, total in rows if total is not None}
