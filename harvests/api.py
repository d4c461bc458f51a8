"""Harvest pre-orders API: a harvest announced, the lists (the group's, the public one of harvests open for
pre-orders, the buyer's pre-orders), pre-ordering and cancelling, closing, cancelling and recording a harvest."""

from flask_login import current_user
from flask_smorest.error_handler import ErrorSchema

from accounts.services import require_login
from core.blueprint import Blueprint, require_json_body
from core.extensions import db
from core.pagination import page_of, paginate
from groups.services import get_group_or_404
from harvests import services
from harvests.schemas import (
    EligibleLotOut,
    HarvestIn,
    HarvestListQuery,
    HarvestNoteIn,
    HarvestOut,
    HarvestRecordIn,
    MyPreOrderOut,
    OpenHarvestQuery,
    PreOrderIn,
    PreOrderOut,
)
from marketplace.schemas import IdempotencyHeaders
from payments.schemas import CardPartIn, CardPaymentOut
from payments.services import common

blp = Blueprint("harvests_api", __name__, url_prefix="/api/v1", description="Harvest pre-orders")

_REPLAYED = {
    "Idempotent-Replayed": {
        "description": "`true` when a retry got the first result back",
        "schema": {"type": "string"},
    }
}
_NOT_NOW = "Not allowed from the harvest's current status, given in `errors.status`, or above the cap"


def _viewer():
    return current_user if current_user.is_authenticated else None


@blp.route("/groups/<int:group_id>/harvests", methods=["POST"])
@blp.arguments(HarvestIn)
@blp.response(201, HarvestOut)
def announce(data, group_id):
    """Announce a harvest the group expects (coordinator): a variant, the quantity as a range, the week, the rule
    a shortfall is shared out by; the price (the variant's by default), the cap as a percent of the low end (80
    by default) and the deposit asked of each pre-order (none by default)."""
    require_json_body()
    actor = require_login()
    harvest = services.announce(actor, get_group_or_404(group_id), **data)
    db.session.commit()
    return services.harvest_view(harvest, actor), 201


@blp.route("/groups/<int:group_id>/harvests", methods=["GET"])
@blp.arguments(HarvestListQuery, location="query")
@blp.response(200, page_of(HarvestOut))
def group_harvests(args, group_id):
    """A group's harvests, the latest week first (its members; the coordinator and treasurer see the
    pre-orders)."""
    user = require_login()
    query = services.group_harvests_query(user, get_group_or_404(group_id), args.get("status"))
    result = paginate(query, args["page"], args["per_page"])
    result["items"] = [services.harvest_view(h, user) for h in result["items"]]
    return result


@blp.route("/harvests", methods=["GET"])
@blp.arguments(OpenHarvestQuery, location="query")
@blp.response(200, page_of(HarvestOut))
def open_harvests(args):
    """Harvests open for pre-orders, for the catalog (public): of verified groups, the nearest week first, each
    with its label and what is left to pre-order."""
    query = services.open_harvests_query(args.get("group_id"), args.get("product_id"))
    result = paginate(query, args["page"], args["per_page"])
    result["items"] = [services.harvest_view(h, _viewer()) for h in result["items"]]
    return result


@blp.route("/harvests/<int:harvest_id>", methods=["GET"])
@blp.response(200, HarvestOut)
def get_harvest(harvest_id):
    """One harvest (public for a verified group); its pre-orders, lots and messages for the coordinator and
    treasurer."""
    return services.harvest_view(services.visible_harvest_or_404(_viewer(), harvest_id), _viewer())


@blp.route("/harvests/<int:harvest_id>/pre-orders", methods=["POST"])
@blp.arguments(IdempotencyHeaders, location="headers")
@blp.arguments(PreOrderIn)
@blp.response(201, PreOrderOut, headers=_REPLAYED)
@blp.alt_response(409, schema=ErrorSchema, description=_NOT_NOW)
def pre_order(headers, data, harvest_id):
    """Pre-order (any signed-in buyer): never above what the cap has left (409 with what is left). The order is
    confirmed at the harvest's price for the group's first open day of the harvest's week, paid in cash or by
    transfer; the deposit, if the harvest asks one, is owed on it. A retry with the same `Idempotency-Key` and
    body returns the first pre-order; another body with that key is a 422."""
    require_json_body()
    buyer = require_login()
    harvest = services.visible_harvest_or_404(buyer, harvest_id)
    retry = common.retry_of(headers.get("idempotency_key"), {**data, "harvest_id": harvest.id})
    row, created = services.pre_order(
        buyer,
        harvest,
        quantity=data.get("quantity"),
        fulfilment=data.get("fulfilment"),
        payment_method=data.get("payment_method"),
        retry=retry,
    )
    db.session.commit()
    return services.pre_order_view(row), 201, ({} if created else {"Idempotent-Replayed": "true"})


@blp.route("/pre-orders/<int:pre_order_id>/cancel", methods=["POST"])
@blp.arguments(HarvestNoteIn)
@blp.response(200, PreOrderOut)
@blp.alt_response(409, schema=ErrorSchema, description="The harvest is in, or a deposit is paid (the buyer)")
def cancel_pre_order(data, pre_order_id):
    """Cancel a pre-order before the harvest: the buyer while nothing is paid on it, or the group's coordinator,
    who gives back what was paid. Its quantity is free to pre-order again."""
    actor = require_login()
    row = services.get_pre_order_or_404(actor, pre_order_id)
    services.cancel_pre_order(actor, row, data.get("note"))
    db.session.commit()
    return services.pre_order_view(row)


@blp.route("/pre-orders/<int:pre_order_id>/card-payment", methods=["POST"])
@blp.arguments(CardPartIn)
@blp.response(201, CardPaymentOut)
@blp.alt_response(409, schema=ErrorSchema, description="Nothing of it is owed (no deposit asked, or it is paid)")
@blp.alt_response(503, schema=ErrorSchema, description="Card payments are not configured")
def start_card_payment(data, pre_order_id):
    """Pay your pre-order by card (the buyer; anyone else's is 404): `{"pay": "deposit"}` what is left of the
    deposit the harvest asks, before the harvest; `{"pay": "all"}` everything its order still owes. A Stripe
    PaymentIntent in IDR, answered as a checkout's card payment is; confirm it with
    `POST /checkouts/{checkout_id}/card-payment/confirm`. The same request again while the payment is open
    returns it. The order is paid when Stripe's signed webhook arrives."""
    require_json_body()
    actor = require_login()
    row = services.get_pre_order_or_404(actor, pre_order_id)
    answer = services.start_card_payment(actor, row, data.get("pay"))
    db.session.commit()
    return answer, 201


@blp.route("/me/pre-orders", methods=["GET"])
@blp.arguments(HarvestListQuery, location="query")
@blp.response(200, page_of(MyPreOrderOut))
def my_pre_orders(args):
    """Your pre-orders, newest first, each with its harvest."""
    user = require_login()
    result = paginate(services.buyer_pre_orders_query(user), args["page"], args["per_page"])
    result["items"] = [services.my_pre_order_view(p) for p in result["items"]]
    return result


@blp.route("/harvests/<int:harvest_id>/close", methods=["POST"])
@blp.arguments(HarvestNoteIn)
@blp.response(200, HarvestOut)
@blp.alt_response(409, schema=ErrorSchema, description=_NOT_NOW)
def close(data, harvest_id):
    """Close the harvest for pre-orders (coordinator); it is awaited."""
    actor = require_login()
    harvest = services.visible_harvest_or_404(actor, harvest_id)
    services.close(actor, harvest, data.get("note"))
    db.session.commit()
    return services.harvest_view(harvest, actor)


@blp.route("/harvests/<int:harvest_id>/cancel", methods=["POST"])
@blp.arguments(HarvestNoteIn)
@blp.response(200, HarvestOut)
@blp.alt_response(409, schema=ErrorSchema, description=_NOT_NOW)
def cancel(data, harvest_id):
    """Cancel the harvest (coordinator) before it is recorded: every pre-order waiting is cancelled with its
    order and what was paid on it given back."""
    actor = require_login()
    harvest = services.visible_harvest_or_404(actor, harvest_id)
    services.cancel_harvest(actor, harvest, data.get("note"))
    db.session.commit()
    return services.harvest_view(harvest, actor)


@blp.route("/harvests/<int:harvest_id>/record", methods=["POST"])
@blp.arguments(IdempotencyHeaders, location="headers")
@blp.arguments(HarvestRecordIn)
@blp.response(201, HarvestOut, headers=_REPLAYED)
@blp.alt_response(409, schema=ErrorSchema, description="Recorded already, or cancelled")
def record(headers, data, harvest_id):
    """Record the harvest in (coordinator): each member's quantity becomes her lot (`lots`), or the lots taken in
    already through the stock intake are named (`from_lots`, of each only part if need be; the choice is
    `GET /harvests/{id}/eligible-lots`). The pre-orders are filled in the order placed; a shortfall is shared out
    by the harvest's rule, an order that got less shrinks (or is cancelled) and what was paid beyond it is given
    back. The answer has, per pre-order, a WhatsApp-ready message for the buyer. What is left over is free stock
    on sale. Recorded already: 409; a lot of another group, of another variant, taken in before the harvest was
    announced, part of a harvest already or not free: 422 naming it; a retry with the same `Idempotency-Key` and
    body returns the first result."""
    require_json_body()
    actor = require_login()
    harvest = services.visible_harvest_or_404(actor, harvest_id)
    retry = common.retry_of(headers.get("idempotency_key"), data)
    harvest, created = services.record_harvest(
        actor, harvest, lots=data.get("lots"), from_lots=data.get("from_lots"), retry=retry
    )
    db.session.commit()
    return services.harvest_view(harvest, actor), 201, ({} if created else {"Idempotent-Replayed": "true"})


@blp.route("/harvests/<int:harvest_id>/eligible-lots", methods=["GET"])
@blp.response(200, EligibleLotOut(many=True))
def eligible_lots(harvest_id):
    """The lots the harvest may be recorded from (`from_lots`), first received first (coordinator and
    treasurer): of the group and the harvest's variant, received since it was announced, part of no harvest,
    each with its free units. Empty once the harvest is recorded or cancelled."""
    actor = require_login()
    harvest = services.visible_harvest_or_404(actor, harvest_id)
    return services.eligible_lots_view(actor, harvest)
