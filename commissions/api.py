"""Made-to-order jobs API: the buyer's request, the group's quotes, acceptance, the work shared out, finished
pieces, deliveries, and the lists."""

from flask_smorest.error_handler import ErrorSchema

from accounts.services import require_login
from commissions import services
from commissions.models import CommissionPieces
from commissions.schemas import (
    AcceptIn,
    AssignmentChangeIn,
    AssignmentIn,
    AssignmentOut,
    CommissionIn,
    CommissionListQuery,
    CommissionOut,
    DeliveryIn,
    DeliveryOut,
    DueJobOut,
    MyAssignmentOut,
    NoteIn,
    PiecesIn,
    PiecesOut,
    QuoteIn,
)
from core.blueprint import Blueprint, require_json_body
from core.extensions import db
from core.pagination import page_of, paginate
from core.quantity import format_quantity
from groups.services import get_group_or_404
from marketplace.api import order_view
from marketplace.schemas import IdempotencyHeaders
from payments.schemas import CardPartIn, CardPaymentOut
from payments.services import common

blp = Blueprint("commissions_api", __name__, url_prefix="/api/v1", description="Made-to-order jobs")

_REPLAYED = {
    "Idempotent-Replayed": {
        "description": "`true` when a retry got the first record back",
        "schema": {"type": "string"},
    }
}
_NOT_NOW = "Not allowed from the job's current status, given in `errors.status`, or more than is left"


def _answer(commission, status: int = 200):
    db.session.commit()
    user = require_login()
    return services.commission_view(commission, user), status


@blp.route("/groups/<int:group_id>/commissions", methods=["POST"])
@blp.arguments(CommissionIn)
@blp.response(201, CommissionOut)
@blp.alt_response(409, schema=ErrorSchema, description="The group does not take orders yet")
def request_commission(data, group_id):
    """Ask a group to make something (any signed-in buyer): lines of a variant of the group or a description,
    each with a quantity, a wanted date and a note."""
    require_json_body()
    buyer = require_login()
    group = get_group_or_404(group_id)
    commission = services.request_commission(
        buyer,
        group,
        title=data.get("title"),
        lines=data.get("lines"),
        description=data.get("description"),
        wanted_date=data.get("wanted_date"),
        note=data.get("note"),
    )
    return _answer(commission, 201)


@blp.route("/groups/<int:group_id>/commissions", methods=["GET"])
@blp.arguments(CommissionListQuery, location="query")
@blp.response(200, page_of(CommissionOut))
def group_commissions(args, group_id):
    """A group's jobs, newest first (coordinator, treasurer)."""
    user = require_login()
    query = services.group_commissions_query(user, get_group_or_404(group_id), args.get("status"))
    result = paginate(query, args["page"], args["per_page"])
    result["items"] = [services.commission_view(c, user) for c in result["items"]]
    return result


@blp.route("/groups/<int:group_id>/commissions/due", methods=["GET"])
@blp.response(200, DueJobOut(many=True))
def due_commissions(group_id):
    """The group's jobs at work by due date, those at risk first: pieces left per day left, and a job due with
    pieces left before all (coordinator, treasurer)."""
    user = require_login()
    return services.due_jobs(user, get_group_or_404(group_id))


@blp.route("/me/commissions", methods=["GET"])
@blp.arguments(CommissionListQuery, location="query")
@blp.response(200, page_of(CommissionOut))
def my_commissions(args):
    """The jobs you asked groups for, newest first."""
    user = require_login()
    result = paginate(services.buyer_commissions_query(user), args["page"], args["per_page"])
    result["items"] = [services.commission_view(c, user) for c in result["items"]]
    return result


@blp.route("/me/commission-assignments", methods=["GET"])
@blp.response(200, MyAssignmentOut(many=True))
def my_assignments():
    """The pieces you were given to make, in every group you belong to, with what remains."""
    return services.my_assignments(require_login())


@blp.route("/commissions/<int:commission_id>", methods=["GET"])
@blp.response(200, CommissionOut)
def get_commission(commission_id):
    """One job: its lines, quotes, deposit, orders, progress per line and history; who makes what for the
    group's members. The buyer, the group's members and the district admin see it."""
    user = require_login()
    return services.commission_view(services.get_commission_or_404(user, commission_id), user)


@blp.route("/commissions/<int:commission_id>/quotes", methods=["POST"])
@blp.arguments(QuoteIn)
@blp.response(201, CommissionOut)
@blp.alt_response(409, schema=ErrorSchema, description=_NOT_NOW)
def quote_commission(data, commission_id):
    """Quote the job, or revise the quote (coordinator): a unit price per line, each line named as a variant of
    the group, a due date, a deposit as `deposit_percent` or `deposit_amount`, and whether a cancellation
    refunds or keeps it."""
    require_json_body()
    actor = require_login()
    commission = services.get_commission_or_404(actor, commission_id)
    services.quote(actor, commission, **data)
    return _answer(commission, 201)


@blp.route("/commissions/<int:commission_id>/accept", methods=["POST"])
@blp.arguments(AcceptIn)
@blp.response(200, CommissionOut)
@blp.alt_response(409, schema=ErrorSchema, description="An outdated revision, or another revision accepted")
def accept_commission(data, commission_id):
    """Accept a revision of the quote (the buyer): the job's order is made, confirmed, at the quoted prices, for
    the due date; the deposit is owed on it. Accepting the same revision again answers as the first time."""
    require_json_body()
    actor = require_login()
    commission = services.get_commission_or_404(actor, commission_id)
    services.accept(
        actor,
        commission,
        revision=data.get("revision"),
        fulfilment=data.get("fulfilment"),
        payment_method=data.get("payment_method"),
    )
    return _answer(commission)


@blp.route("/commissions/<int:commission_id>/card-payment", methods=["POST"])
@blp.arguments(CardPartIn)
@blp.response(201, CardPaymentOut)
@blp.alt_response(409, schema=ErrorSchema, description="Nothing of it is owed (the deposit is paid, say)")
@blp.alt_response(503, schema=ErrorSchema, description="Card payments are not configured")
def start_card_payment(data, commission_id):
    """Pay your job by card (the buyer; anyone else's job is 404): `{"pay": "deposit"}` what is left of the
    deposit, `{"pay": "all"}` everything the job's open orders still owe (after a delivery, the rest). A Stripe
    PaymentIntent in IDR, answered as a checkout's card payment is; confirm it with
    `POST /checkouts/{checkout_id}/card-payment/confirm`. The same request again while the payment is open
    returns it, so a double tap never pays twice. The orders are paid when Stripe's signed webhook arrives."""
    require_json_body()
    actor = require_login()
    commission = services.get_commission_or_404(actor, commission_id)
    answer = services.start_card_payment(actor, commission, data.get("pay"))
    db.session.commit()
    return answer, 201


@blp.route("/commissions/<int:commission_id>/decline", methods=["POST"])
@blp.arguments(NoteIn)
@blp.response(200, CommissionOut)
@blp.alt_response(409, schema=ErrorSchema, description=_NOT_NOW)
def decline_commission(data, commission_id):
    """Decline: the buyer a quote, the coordinator a request."""
    actor = require_login()
    commission = services.get_commission_or_404(actor, commission_id)
    return _answer(services.decline(actor, commission, data.get("note")))


@blp.route("/commissions/<int:commission_id>/cancel", methods=["POST"])
@blp.arguments(NoteIn)
@blp.response(200, CommissionOut)
@blp.alt_response(409, schema=ErrorSchema, description=_NOT_NOW)
def cancel_commission(data, commission_id):
    """Cancel the job (the buyer while nothing is paid, or the coordinator): its open orders are cancelled, the
    money paid refunded or, up to the deposit, kept as the accepted quote said."""
    actor = require_login()
    commission = services.get_commission_or_404(actor, commission_id)
    return _answer(services.cancel(actor, commission, data.get("note")))


@blp.route("/commissions/<int:commission_id>/assignments", methods=["POST"])
@blp.arguments(AssignmentIn)
@blp.response(201, AssignmentOut)
@blp.alt_response(409, schema=ErrorSchema, description=_NOT_NOW)
def assign(data, commission_id):
    """Give a member of the group pieces of a line to make (coordinator); never more than the line ordered."""
    require_json_body()
    actor = require_login()
    commission = services.get_commission_or_404(actor, commission_id)
    assignment = services.assign(
        actor, commission, line_id=data.get("line_id"), member_id=data.get("member_id"), pieces=data.get("pieces")
    )
    db.session.commit()
    return services.assignment_view(assignment), 201


@blp.route("/commission-assignments/<int:assignment_id>", methods=["PATCH"])
@blp.arguments(AssignmentChangeIn)
@blp.response(200, AssignmentOut)
@blp.alt_response(409, schema=ErrorSchema, description=_NOT_NOW)
def change_assignment(data, assignment_id):
    """Change an assignment's pieces (coordinator) while its line is unfinished: never below what the member
    handed in, never above what the line has left."""
    require_json_body()
    actor = require_login()
    assignment = services.get_assignment_or_404(actor, assignment_id)
    assignment = services.change_assignment(actor, assignment, pieces=data.get("pieces"))
    db.session.commit()
    return services.assignment_view(assignment)


@blp.route("/commission-assignments/<int:assignment_id>/pieces", methods=["POST"])
@blp.arguments(IdempotencyHeaders, location="headers")
@blp.arguments(PiecesIn)
@blp.response(201, PiecesOut, headers=_REPLAYED)
@blp.alt_response(409, schema=ErrorSchema, description=_NOT_NOW)
def record_pieces(headers, data, assignment_id):
    """Record finished pieces a member handed in (coordinator): her lot, set aside at once for the job's order.
    A retry with the same `Idempotency-Key` and body returns the first record."""
    require_json_body()
    actor = require_login()
    assignment = services.get_assignment_or_404(actor, assignment_id)
    retry = common.retry_of(headers.get("idempotency_key"), data)
    row, created = services.record_pieces(
        actor, assignment, quantity=data.get("quantity"), retry=retry, note=data.get("note")
    )
    db.session.commit()
    return _pieces_view(row), 201, ({} if created else {"Idempotent-Replayed": "true"})


def _pieces_view(row: CommissionPieces) -> dict:
    assignment = services.get_assignment_or_404(require_login(), row.assignment_id)
    return {
        "id": row.id,
        "assignment_id": row.assignment_id,
        "lot_id": row.lot_id,
        "order_line_id": row.order_line_id,
        "quantity": format_quantity(row.quantity),
        "assignment": services.assignment_view(assignment),
    }


@blp.route("/commissions/<int:commission_id>/deliveries", methods=["POST"])
@blp.arguments(DeliveryIn)
@blp.response(201, DeliveryOut)
@blp.alt_response(409, schema=ErrorSchema, description=_NOT_NOW)
def deliver(data, commission_id):
    """Deliver finished pieces (coordinator), in part (`lines`) or all that are made: the delivery is an order,
    packed (`ready`), then handed over and completed like any order. Money already paid stays with the part
    that can hold it; when neither can, 409 (deliver more at once)."""
    actor = require_login()
    commission = services.get_commission_or_404(actor, commission_id)
    order = services.deliver(actor, commission, data.get("lines"))
    db.session.commit()
    return {"order": order_view(order, actor), "commission": services.commission_view(commission, actor)}, 201
