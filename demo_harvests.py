"""The demo's harvest pre-orders: Kelompok Tani Cabai Makmur announces next week's chili harvest and three demo
buyers pre-order against it, one paying the deposit by transfer; all through the services, as the pages do, each
step on the clock at its own moment over the last days in Blitar (core.types.clock_at): announced five days ago,
the pre-orders coming in the days after."""

from datetime import timedelta

from sqlalchemy import select

from accounts.models import User
from core.extensions import db
from core.types import clock_at
from demo_calendar import at
from groups.models import Group, Member, Role
from harvests import services as harvests
from harvests.models import Harvest
from inventory.models import Product, Variant
from marketplace import services as market
from marketplace.models import Order, PaymentMethod
from payments.services import common, recorded

GROUP = "Kelompok Tani Cabai Makmur"
PRODUCT, VARIANT = "Cabai rawit merah", "Grade A"
HARVEST = dict(
    expected_low="40",
    expected_high="60",
    shortfall_rule="pro_rata",
    cap_percent="80",
    deposit_percent="20",
    note="Panen raya cabai rawit; dipetik Senin pagi, siap diambil di gudang kelompok.",
)
ANNOUNCED = (5, 7, 30)  # days ago, hour, minute
# (buyer's e-mail, quantity in kg, payment, the key of the pre-order, deposit paid by transfer, days ago, hour)
PRE_ORDERS = [
    ("warung.tin@pasar.test", "15", "transfer", "demo-preorder-1", True, 4, 8),
    ("agus.pasarlegi@pasar.test", "10", "cash", "demo-preorder-2", False, 3, 16),
    ("pembeli@pasar.test", "5", "cash", "demo-preorder-3", False, 2, 19),
]
DEPOSIT_HOURS_LATER = 3


def _coordinator(group: Group) -> User:
    return db.session.scalar(
        select(User)
        .join(Member, Member.user_id == User.id)
        .where(Member.group_id == group.id, Member.role == Role.coordinator)
    )


def seed() -> str:
    """Announce the harvest and place its pre-orders, once: a group that has a harvest already is left as it is."""
    group = db.session.scalar(select(Group).where(Group.name == GROUP))
    if group is None or db.session.scalar(select(Harvest.id).where(Harvest.group_id == group.id).limit(1)):
        return "none new"
    variant_id = db.session.scalar(
        select(Variant.id)
        .join(Product, Product.id == Variant.product_id)
        .where(Product.group_id == group.id, Product.name == PRODUCT, Variant.label == VARIANT)
    )
    if variant_id is None:
        return "none new (no chili to harvest)"
    coordinator = _coordinator(group)
    today = market.today_wib()

    def moment(days_ago: int, hour: int, minute: int = 0):
        return at(today - timedelta(days=days_ago), hour, minute)

    with clock_at(moment(*ANNOUNCED)):
        harvest = harvests.announce(
            coordinator, group, variant_id=variant_id, week=today + timedelta(days=7), **HARVEST
        )
        db.session.flush()
    placed = 0
    for email, quantity, paying, key, deposit, days_ago, hour in PRE_ORDERS:
        buyer = db.session.scalar(select(User).where(User.email == email))
        if buyer is None:
            continue
        body = {"quantity": quantity, "fulfilment": None, "payment_method": paying}
        with clock_at(moment(days_ago, hour)):
            row, created = harvests.pre_order(
                buyer, harvest, **body, retry=common.retry_of(key, {**body, "harvest_id": harvest.id})
            )
            db.session.flush()
        placed += created
        if created and deposit:
            with clock_at(moment(days_ago, hour + DEPOSIT_HOURS_LATER)):
                view = harvests.pre_order_view(row)
                recorded.record_payment(
                    coordinator,
                    db.session.get(Order, row.order_id),
                    recorded.OfflinePayment(PaymentMethod.transfer, view["deposit"], reference="Uang muka, BRI 2201"),
                )
                db.session.flush()
    return f"1 chili harvest announced for next week, {placed} pre-orders (one deposit paid by transfer)"
