"""The made-to-order journey, on phones in Indonesian without JavaScript: a school asks the KUB for uniforms in two
sizes, Bu Sri quotes them with a 30 % deposit, the school accepts, the deposit is paid by transfer, the work goes to
two members, Siti hands in six pieces, a first part is delivered and handed over for the cash owed, and Siti sees
what she has left to sew."""

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from commissions.models import Commission, CommissionAssignment, CommissionStatus
from core.extensions import db
from core.phone import normalize_phone
from groups.models import Group
from inventory import services as inv
from marketplace.models import Order, OrderStatus
from marketplace.services import today_wib
from tests.e2e.journey import assert_fits_and_speaks_indonesian, indonesian, log_in, phone
from tests.factories import make_group, make_member, make_user
from tests.stock_helpers import acting

NAMES = (
    "KUB Jahit Sumberejo",
    "Sri Wahyuni",
    "Siti Aminah",
    "Rina Wati",
    "SDN Sumberejo 1",
    "Seragam SD",
    "Sumberejo",
    "Sanankulon",
    "pcs",
)
TITLE = "Seragam SD kelas 1"


@pytest.fixture
def kub(app, db):
    """A verified sewing group with its uniform in sizes S and M, two members who sew (Siti logs in by phone), and a
    school with an account."""
    lead = make_user(app, name="Sri Wahyuni", phone=normalize_phone("0812-3300-0101"))
    group = make_group(app, lead, name="KUB Jahit Sumberejo", pickup_point="Balai Desa Sumberejo")
    siti_user = make_user(app, name="Siti Aminah", phone=normalize_phone("0812-3300-0102"))
    siti = make_member(app, group, name="Siti Aminah", user=siti_user)
    rina = make_member(app, group, name="Rina Wati")
    school = make_user(app, name="SDN Sumberejo 1", phone=normalize_phone("0813-5500-0001"))
    with acting(app, lead) as coordinator:
        product = inv.create_product(
            coordinator,
            db.session.get(Group, group.id),
            name="Seragam SD",
            kind="garment",
            unit="pcs",
            variants=[{"label": "S", "unit_price": 70000}, {"label": "M", "unit_price": 72000}],
        )
        sizes = {v.label: v.id for v in product.variants}
        db.session.commit()
    return SimpleNamespace(group=group, lead=lead, siti=siti, rina=rina, school=school, sizes=sizes)


def test_a_school_orders_uniforms_made_to_order_from_request_to_the_first_delivery(app, live_server, browser, kub):
    server = live_server
    with phone(browser, javascript=False) as buyer, phone(browser, javascript=False) as lead:

        def looks_right(page):
            assert_fits_and_speaks_indonesian(page, NAMES)

        job_url = the_school_asks_for_two_sizes(app, buyer, server, kub, looks_right)
        the_coordinator_quotes(lead, server, job_url, looks_right)
        the_school_accepts(app, buyer, job_url, looks_right)
        the_deposit_is_recorded(app, lead, job_url, looks_right)
        the_work_goes_to_two_members(app, lead, job_url, kub, looks_right)
        pieces_are_handed_in_and_a_part_delivered(app, lead, job_url, kub, looks_right)
    with phone(browser, javascript=False) as member:
        the_member_sees_what_she_has_left(member, server, looks_right)


def the_school_asks_for_two_sizes(app, page, server, kub, looks_right) -> str:
    log_in(page, server, "0813-5500-0001")
    page.goto(f"{server}/groups/{kub.group.id}/shop")
    looks_right(page)
    page.click(f"main a:has-text('{indonesian('Made-to-order request')}')")
    page.wait_for_url(f"{server}/groups/{kub.group.id}/commissions/new")
    looks_right(page)
    page.fill("input[name=title]", TITLE)
    page.select_option("select[name='lines-0-variant_id']", str(kub.sizes["S"]))
    page.fill("input[name='lines-0-quantity']", "10")
    page.select_option("select[name='lines-1-variant_id']", str(kub.sizes["M"]))
    page.fill("input[name='lines-1-quantity']", "8")
    page.fill("textarea[name=note]", "Bordir nama sekolah di dada kiri")
    page.click(f"main button:has-text('{indonesian('Send the request')}')")
    page.wait_for_selector(".flash.success")
    looks_right(page)
    assert re.search(r"/commissions/\d+$", page.url)
    return page.url


def the_coordinator_quotes(page, server, job_url, looks_right):
    log_in(page, server, "0812-3300-0101")
    looks_right(page)  # her home lists the request to quote
    page.click(f"ul.todo a:has-text('{indonesian('made-to-order request to quote')}')")
    looks_right(page)
    page.click(f"a.rowlink:has-text('{TITLE}')")
    page.wait_for_url(job_url)
    looks_right(page)
    page.fill("input[name='lines-0-unit_price']", "70000")
    page.fill("input[name='lines-1-unit_price']", "72000")
    page.fill("input[name=due_date]", (today_wib() + timedelta(days=21)).isoformat())
    page.fill("input[name=deposit_percent]", "30")
    page.click(f"main button:has-text('{indonesian('Send the quote')}')")
    page.wait_for_selector(".flash.success")
    looks_right(page)
    assert "Rp1.276.000" in page.inner_text("#quote")  # 10 x 70.000 + 8 x 72.000


def the_school_accepts(app, page, job_url, looks_right):
    page.goto(job_url)
    looks_right(page)
    quote = page.inner_text("#quote")
    assert "Rp382.800" in quote  # 30 % of Rp1.276.000
    page.check("input[name=payment_method][value=transfer]")
    page.click(f"main button:has-text('{indonesian('Accept revision %(n)d') % {'n': 1}}')")
    page.wait_for_selector(".flash.success")
    looks_right(page)
    with app.app_context():
        commission = db.session.scalar(select(Commission))
        assert (commission.status, commission.accepted_revision) == (CommissionStatus.accepted, 1)


def the_deposit_is_recorded(app, page, job_url, looks_right):
    page.goto(job_url)
    page.click(f"main a:has-text('{indonesian('Record the deposit')}')")
    page.wait_for_url(re.compile(r".*/orders/\d+#record-payment"))
    looks_right(page)
    page.check("input[name=method][value=transfer]")
    page.fill("input[name=amount]", "382.800")
    page.fill("input[name=reference]", "BRI 0001")
    page.click(f"main button:has-text('{indonesian('Record payment')}')")
    page.wait_for_selector(".flash.success")
    looks_right(page)
    with app.app_context():
        assert db.session.scalar(select(Order.paid)) == 382800


def the_work_goes_to_two_members(app, page, job_url, kub, looks_right):
    page.goto(job_url)
    looks_right(page)
    for member, size, pieces in ((kub.siti, "S", "10"), (kub.rina, "M", "8")):
        page.select_option("select[name=member_id]", str(member.id))
        page.select_option("select[name=line_id]", label=f"Seragam SD – {size} (pcs)")
        page.fill("input[name=pieces]", pieces)
        page.click(f"#assign button:has-text('{indonesian('Assign')}')")
        page.wait_for_selector(".flash.success")
        looks_right(page)
    with app.app_context():
        assert db.session.query(CommissionAssignment).count() == 2
        assert db.session.scalar(select(Commission.status)) == CommissionStatus.in_production


def pieces_are_handed_in_and_a_part_delivered(app, page, job_url, kub, looks_right):
    with app.app_context():
        siti = db.session.scalar(select(CommissionAssignment).where(CommissionAssignment.member_id == kub.siti.id))
    page.fill(f"input[name='p{siti.id}-quantity']", "6")
    page.click(f"form[action$='/commission-assignments/{siti.id}/pieces'] button")
    page.wait_for_selector(".flash.success")
    looks_right(page)
    assert "6 / 10" in page.inner_text("#progress")  # made of ordered, size S
    page.fill("input[name='lines-0-quantity']", "6")
    page.click(f"#deliver button:has-text('{indonesian('Deliver these pieces')}')")
    page.wait_for_url(re.compile(r".*/orders/\d+$"))
    page.wait_for_selector(".flash.success")
    looks_right(page)
    # the part holds the deposit (Rp420.000 of S is more than it): the cash owed is the rest
    page.click(f"main button:has-text('{indonesian('Receive cash %(amount)s & complete') % {'amount': 'Rp37.200'}}')")
    page.wait_for_selector(".flash.success")
    looks_right(page)
    with app.app_context():
        part = db.session.scalar(select(Order).where(Order.status == OrderStatus.completed))
        assert (part.total, part.paid) == (420000, 420000)
        assert db.session.scalar(select(Commission.status)) == CommissionStatus.in_production
    page.goto(job_url)
    looks_right(page)


def the_member_sees_what_she_has_left(page, server, looks_right):
    log_in(page, server, "0812-3300-0102")
    looks_right(page)
    page.click(f"main ul.todo a:has-text('{indonesian('pieces left to make')}')")
    page.wait_for_url(f"{server}/me/commission-assignments")
    looks_right(page)
    mine = page.inner_text("main table")
    assert TITLE in mine and "Rina" not in mine
    assert re.search(r"10\s+6\s+4", " ".join(mine.split()))  # assigned, handed in, remaining
    assert page.locator(f"header a:has-text('{indonesian('My sewing')}')").count() == 1
