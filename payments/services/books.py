"""The ledger check for payments: each order's sums agree with its payment and refund rows, and each row has
its journal entry. payments registers it with core.ledger, so `flask ledger check` runs it."""

from sqlalchemy import func, select

from core import ledger
from core.extensions import db
from marketplace.models import Order
from payments.models import Payment, Refund


def check_books() -> list[ledger.Problem]:
    """Each order's paid, refunded and card fees equal its payment and refund rows, and each row has its entry."""
    problems: list[ledger.Problem] = []
    sums = {
        order_id: (paid, fees)
        for order_id, paid, fees in db.session.execute(
            select(Payment.order_id, func.sum(Payment.amount), func.sum(Payment.fee)).group_by(Payment.order_id)
        )
    }
    refunds = dict(db.session.execute(select(Refund.order_id, func.sum(Refund.amount)).group_by(Refund.order_id)).all())
    for order_id, paid, refunded, card_fees in db.session.execute(
        select(Order.id, Order.paid, Order.refunded, Order.card_fees)
    ):
        row_paid, row_fees = sums.get(order_id, (0, 0))
        if (paid, card_fees) != (int(row_paid or 0), int(row_fees or 0)):
            problems.append(
                ledger.Problem(
                    f"order {order_id}",
                    f"paid {paid} and card fees {card_fees}, its payments say {row_paid} and {row_fees}",
                )
            )
        if refunded != int(refunds.get(order_id, 0) or 0):
            problems.append(
                ledger.Problem(f"order {order_id}", f"refunded {refunded}, its refunds say {refunds.get(order_id, 0)}")
            )
    payments = {p.id: p for p in db.session.scalars(select(Payment))}
    cleared = ledger.source_postings("payment", payments, ledger.PAYMENTS_CLEARING)
    fees = ledger.source_postings("payment", payments, ledger.CARD_FEES)
    for payment_id, payment in payments.items():
        if cleared.get(payment_id, 0) != -payment.amount:
            problems.append(
                ledger.Problem(
                    f"payment {payment_id}", f"of {payment.amount} has {-cleared.get(payment_id, 0)} in the books"
                )
            )
        if fees.get(payment_id, 0) != payment.fee:
            problems.append(
                ledger.Problem(f"payment {payment_id}", f"fee {payment.fee} has {fees.get(payment_id, 0)} in the books")
            )
    refund_rows = {r.id: r for r in db.session.scalars(select(Refund))}
    booked = ledger.source_postings("refund", refund_rows, ledger.REFUNDS, kind="refund")
    for refund_id, refund in refund_rows.items():
        if booked.get(refund_id, 0) != refund.amount:
            problems.append(
                ledger.Problem(f"refund {refund_id}", f"of {refund.amount} has {booked.get(refund_id, 0)} in the books")
            )
    return problems
