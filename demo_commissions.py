"""The demo's made-to-order job: a primary school orders 120 uniforms from the KUB in four sizes. Quoted and accepted,
its 30 % deposit paid by transfer, the work shared among three members, some pieces handed in and a first part
delivered and completed; the rest is still being sewn. Made through the same services as the pages, once, each
step on the clock at its own moment over the last ten days in Blitar (core.types.clock_at), so the job's history
reads as a real one: asked for ten days ago, quoted the next day, and so on up to yesterday's delivery."""

from datetime import timedelta

from sqlalchemy import select

import demo_catalog
from accounts.models import User
from accounts.services import register_user
from commissions import services as jobs
from commissions.models import Commission
from commissions.services.records import orders_of
from core.extensions import db
from core.types import clock_at
from demo_calendar import at
from groups.models import Group
from inventory.models import Product, Variant
from marketplace import services as market
from marketplace.models import PaymentMethod
from payments.services import recorded

SCHOOL = ("sdn.sumberejo1@pasar.test", "SDN Sumberejo 1", "0813-3000-2203")  # a buyer of demo_history too
TITLE = "Seragam SD Negeri Sumberejo 1, tahun ajaran baru"
PRODUCT = "Seragam sekolah SD"
# size: (ordered, quoted price per piece)
SIZES = {"S": (30, 80000), "M": (35, 85000), "L": (30, 90000), "XL": (25, 95000)}
# who sews what: (size, member, pieces)
WORK = [
    ("S", "Siti Aminah", 30),
    ("M", "Nur Hidayah", 35),
    ("L", "Endang Lestari", 30),
    ("XL", "Siti Aminah", 10),
    ("XL", "Endang Lestari", 15),
]
# pieces handed in: (days ago, hour, size, member, pieces)
HANDED_IN = [
    (6, 15, "S", "Siti Aminah", 12),
    (5, 14, "M", "Nur Hidayah", 10),
    (4, 16, "S", "Siti Aminah", 18),
    (3, 15, "M", "Nur Hidayah", 10),
    (2, 13, "L", "Endang Lestari", 10),
]
DELIVERED = {"S": 30, "M": 20}  # the first part, handed over and paid
DUE_IN_DAYS = 24


def seed(password: str) -> str:
    """The job, when it is not there yet; a line for the seed's summary."""
    group = demo_catalog.group_named(demo_catalog.KUB)
    school = db.session.scalar(select(User).where(User.email == SCHOOL[0]))
    if school is None:
        school = register_user(email=SCHOOL[0], password=password, name=SCHOOL[1], phone=SCHOOL[2])
    summary = f"school       {SCHOOL[0]} / {password}  (a made-to-order job at {group.name})"
    found = select(Commission.id).where(Commission.group_id == group.id, Commission.title == TITLE)
    if db.session.scalar(found) is not None:
        return summary
    coordinator = demo_catalog.coordinator_of(group)
    variants = _variants(group)
    today = market.today_wib()

    def on(days_ago: int, hour: int, minute: int = 0):
        return clock_at(at(today - timedelta(days=days_ago), hour, minute))

    with on(10, 9, 15):
        commission = jobs.request_commission(
            school,
            group,
            title=TITLE,
            description="Kemeja putih dan celana/rok merah untuk siswa kelas 1-6.",
            wanted_date=today + timedelta(days=DUE_IN_DAYS + 7),
            note="Bordir nama sekolah di saku kiri.",
            lines=[{"variant_id": variants[size], "quantity": str(spec[0])} for size, spec in SIZES.items()],
        )
        db.session.flush()
    line_of = {line.variant_id: line for line in commission.lines}
    with on(9, 10, 30):
        quote = jobs.quote(
            coordinator,
            commission,
            lines=[{"line_id": line_of[variants[size]].id, "unit_price": spec[1]} for size, spec in SIZES.items()],
            due_date=_open_day(today + timedelta(days=DUE_IN_DAYS)),
            deposit_percent="30",
            deposit_on_cancel="keep",
            note="Harga termasuk bordir nama sekolah.",
        )
        db.session.flush()
    with on(8, 8, 5):
        jobs.accept(school, commission, revision=quote.revision, payment_method="transfer")
        db.session.flush()
    [order] = orders_of(commission)
    with on(7, 11, 20):
        recorded.record_payment(
            coordinator, order, recorded.OfflinePayment(PaymentMethod.transfer, quote.deposit, reference="BRI SDN 0001")
        )
        db.session.flush()
    members = demo_catalog.members_by_name(group)
    assignments = {}
    with on(7, 13):
        for size, maker, pieces in WORK:
            assignments[size, maker] = jobs.assign(
                coordinator,
                commission,
                line_id=line_of[variants[size]].id,
                member_id=members[maker].id,
                pieces=str(pieces),
            )
        db.session.flush()
    for days_ago, hour, size, maker, pieces in HANDED_IN:
        with on(days_ago, hour):
            jobs.record_pieces(coordinator, assignments[size, maker], quantity=str(pieces))
            db.session.flush()
    with on(1, 10):
        part = jobs.deliver(
            coordinator,
            commission,
            [{"line_id": line_of[variants[size]].id, "quantity": str(n)} for size, n in DELIVERED.items()],
        )
        db.session.flush()
    with on(1, 14, 30):
        recorded.complete_at_handover(coordinator, part, part.total - part.paid)
        db.session.flush()
    return summary


def _open_day(day):
    """The day, or the next the KUB is open (it rests on Sunday)."""
    return day + timedelta(days=1) if day.weekday() == 6 else day


def _variants(group: Group) -> dict[str, int]:
    rows = db.session.execute(
        select(Variant.label, Variant.id)
        .join(Product, Product.id == Variant.product_id)
        .where(Product.group_id == group.id, Product.name == PRODUCT)
    )
    return dict(rows.all())
