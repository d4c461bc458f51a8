"""Money on the pages: the order's payment section, the coordinator's payment, refund and handover forms,
transfer slips, the card payment page, and the group's bank account."""

import io
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from flask_babel import force_locale, gettext
from markupsafe import Markup
from PIL import Image

from core.errors import ValidationFailed
from core.extensions import db
from groups.models import Group
from marketplace import catalog
from marketplace import services as market
from marketplace.models import Order, OrderStatus
from payments.models import CardPayment, CardPaymentStatus, Payment, Refund
from payments.providers import StartedPayment, StripeProvider, order_reference
from payments.services import recorded, refunds
from payments.slips import slip_dir
from tests.factories import make_member, make_user
from tests.marketplace.test_marketplace_pages import market_setup, page_login, place, status_of  # noqa: F401  (fixture)
from tests.pages import html

STAR_2KG = 36000  # two kilos of star fruit at Rp18.000


@pytest.fixture(autouse=True)
def _fresh_catalog():
    catalog.clear_cache()
    yield
    catalog.clear_cache()


@pytest.fixture
def media(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_DIR", str(tmp_path))
    return tmp_path


def t(app, message: str, locale: str = "id", **params) -> str:
    """`message` as a template in `locale` shows it: the translation as it is, the values escaped."""
    with app.test_request_context("/"), force_locale(locale):
        return str(Markup(gettext(message)) % params) if params else gettext(message)


class _Forms(HTMLParser):
    """The page's forms by action: the values their inputs would send (checked radios only, no files)."""

    def __init__(self):
        super().__init__()
        self.forms: dict[str, dict] = {}
        self._current = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._current = self.forms.setdefault(attrs.get("action"), {})
        elif self._current is not None and tag == "input" and attrs.get("name"):
            if attrs.get("type") in ("radio", "checkbox") and "checked" not in attrs or attrs.get("type") == "file":
                return
            self._current[attrs["name"]] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def forms_of(body: str) -> dict[str, dict]:
    parser = _Forms()
    parser.feed(body)
    return parser.forms


def order_forms(client, order_id) -> dict[str, dict]:
    page = client.get(f"/orders/{order_id}")
    assert page.status_code == 200, html(page)
    return forms_of(html(page))


def photo(fmt="PNG", size=(60, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 220, 240)).save(buffer, fmt)
    return buffer.getvalue()


def sums(app, order_id) -> tuple[int, int]:
    with app.app_context():
        order = db.session.get(Order, order_id)
        return order.paid, order.refunded


def count(app, model, **where) -> int:
    with app.app_context():
        return db.session.query(model).filter_by(**where).count()


def set_bank(
    app, group_id, name="BRI Unit Srengat", number="0123-01-000456-50-1", holder="Kelompok Tani Belimbing Sari"
):
    with app.app_context():
        group = db.session.get(Group, group_id)
        group.bank_name, group.bank_account_number, group.bank_account_holder = name, number, holder
        db.session.commit()


@pytest.fixture
def star_order(app, market_setup):
    """A cash order of 2 kg star fruit (Rp36.000) from the Belimbing group."""
    (order_id,) = place(app, market_setup.buyer, [(market_setup.star[0], "2")])
    return order_id


@pytest.fixture
def lead(app, make_client, market_setup):
    client = make_client()
    page_login(client, market_setup.belimbing.user)
    return client


@pytest.fixture
def buyer(app, make_client, market_setup):
    client = make_client()
    page_login(client, market_setup.buyer)
    return client


def pack(lead, order_id):
    for action in ("confirm", "ready"):
        assert lead.post(f"/orders/{order_id}/{action}").status_code == 302


# --- recording payments ---------------------------------------------------------------------


def test_coordinator_records_cash_in_part_then_in_full(app, lead, star_order):
    form = order_forms(lead, star_order)[f"/orders/{star_order}/payment"]
    assert form["amount"] == str(STAR_2KG) and form["method"] == "cash" and form["idempotency_key"]
    assert form["received_at"] == market.today_wib().isoformat()

    response = lead.post(f"/orders/{star_order}/payment", data={**form, "amount": "10.000", "reference": "kuitansi 7"})
    assert response.status_code == 302
    assert sums(app, star_order) == (10000, 0)
    body = html(lead.get(f"/orders/{star_order}"))
    assert t(app, "partly paid") in body and "Rp10.000" in body and "Rp26.000" in body and "kuitansi 7" in body
    assert (
        t(
            app,
            "Recorded: %(amount)s by %(method)s for order #%(id)d.",
            amount="Rp10.000",
            method=t(app, "cash"),
            id=star_order,
        )
        in body
    )

    form = forms_of(body)[f"/orders/{star_order}/payment"]
    assert form["amount"] == "26000"
    assert lead.post(f"/orders/{star_order}/payment", data=form).status_code == 302
    assert sums(app, star_order) == (STAR_2KG, 0)
    body = html(lead.get(f"/orders/{star_order}"))
    assert t(app, "paid in full") in body
    assert f'action="/orders/{star_order}/payment"' not in body  # nothing owed: no form
    with app.app_context():
        received = [p.received_at for p in db.session.query(Payment).filter_by(order_id=star_order)]
    assert all(abs(moment - received[0]) < timedelta(minutes=5) for moment in received)  # today means now


def test_payment_on_an_earlier_day(app, lead, star_order):
    form = order_forms(lead, star_order)[f"/orders/{star_order}/payment"]
    day = market.today_wib() - timedelta(days=2)
    assert lead.post(f"/orders/{star_order}/payment", data={**form, "received_at": day.isoformat()}).status_code == 302
    with app.app_context():
        payment = db.session.query(Payment).filter_by(order_id=star_order).one()
        assert payment.received_at.astimezone(market.WIB).date() == day


def test_overpayment_is_refused_with_a_message_and_nothing_recorded(app, lead, star_order):
    form = order_forms(lead, star_order)[f"/orders/{star_order}/payment"]
    response = lead.post(f"/orders/{star_order}/payment", data={**form, "amount": "50000"})
    assert response.status_code == 409
    body = html(response)
    assert t(app, "Only %(owed)s is owed on this order.", owed="Rp36.000") in body
    assert t(app, "At most %(owed)s.", owed="Rp36.000") in body  # beside the amount field
    assert 'value="50000"' in body  # what was typed stays in the form
    assert sums(app, star_order) == (0, 0) and count(app, Payment) == 0


@pytest.mark.parametrize(
    "amount, message",
    [
        ("abc", "Give a whole rupiah amount, such as 12500."),
        ("0", "The amount must be more than zero."),
        ("12,50", "Give a whole rupiah amount, such as 12500."),
    ],
)
def test_a_bad_amount_is_shown_beside_the_field(app, lead, star_order, amount, message):
    form = order_forms(lead, star_order)[f"/orders/{star_order}/payment"]
    response = lead.post(f"/orders/{star_order}/payment", data={**form, "amount": amount})
    assert response.status_code == 422
    assert t(app, message) in html(response)
    assert count(app, Payment) == 0


def test_a_double_submit_with_the_same_key_records_once(app, lead, star_order):
    form = order_forms(lead, star_order)[f"/orders/{star_order}/payment"]
    first = lead.post(f"/orders/{star_order}/payment", data={**form, "amount": "20000"})
    second = lead.post(f"/orders/{star_order}/payment", data={**form, "amount": "20000"}, follow_redirects=True)
    assert first.status_code == 302 and second.status_code == 200
    assert t(app, "This payment was already recorded.") in html(second)
    assert count(app, Payment) == 1 and sums(app, star_order) == (20000, 0)
    # The same key with other values is refused, and the form gets a new key.
    third = lead.post(f"/orders/{star_order}/payment", data={**form, "amount": "5000"})
    assert third.status_code == 422
    assert t(app, "This form was already sent with other values. Check the payments below, then try again.") in html(
        third
    )
    assert forms_of(html(third))[f"/orders/{star_order}/payment"]["idempotency_key"] != form["idempotency_key"]
    assert count(app, Payment) == 1


def test_treasurer_records_payments_but_does_not_hand_over(app, make_client, market_setup, star_order):
    keeper = make_user(app, name="Bu Sulastri")
    make_member(app, market_setup.belimbing.group, name="Bu Sulastri", role="treasurer", user=keeper)
    client = make_client()
    page_login(client, keeper)
    lead = make_client()
    page_login(lead, market_setup.belimbing.user)
    pack(lead, star_order)
    forms = order_forms(client, star_order)
    assert f"/orders/{star_order}/handover" not in forms and f"/orders/{star_order}/complete" not in forms
    assert client.post(f"/orders/{star_order}/payment", data=forms[f"/orders/{star_order}/payment"]).status_code == 302
    assert sums(app, star_order) == (STAR_2KG, 0)
    assert client.post(f"/orders/{star_order}/handover", data={"amount": "1"}).status_code == 403


# --- transfer slips -------------------------------------------------------------------------


def test_transfer_with_a_slip_photo(app, lead, star_order, media):
    form = order_forms(lead, star_order)[f"/orders/{star_order}/payment"]
    response = lead.post(
        f"/orders/{star_order}/payment",
        data={**form, "method": "transfer", "reference": "BRI 0931", "slip": (io.BytesIO(photo("JPEG")), "slip.jpg")},
    )
    assert response.status_code == 302, html(response)
    with app.app_context():
        payment = db.session.query(Payment).filter_by(order_id=star_order).one()
        assert payment.method == "transfer" and payment.reference == "BRI 0931"
        stored = media / "payments" / payment.slip_name
        assert stored.is_file() and stored.read_bytes()[8:12] == b"WEBP"  # re-encoded, whatever came in
        assert slip_dir() == media / "payments"
    assert list((media / "payments").iterdir()) == [stored]
    body = html(lead.get(f"/orders/{star_order}"))
    assert f'href="/orders/{star_order}/payments/{payment.id}/slip"' in body


@pytest.mark.parametrize("upload", [b"%PDF-1.4 not a photo", photo("GIF"), b""])
def test_a_slip_that_is_not_a_photo_is_refused(app, lead, star_order, media, upload):
    form = order_forms(lead, star_order)[f"/orders/{star_order}/payment"]
    response = lead.post(
        f"/orders/{star_order}/payment", data={**form, "method": "transfer", "slip": (io.BytesIO(upload), "slip.png")}
    )
    if not upload:  # an empty file field is no slip: the payment is recorded without one
        assert response.status_code == 302
        assert count(app, Payment, slip_name=None) == 1
        return
    assert response.status_code == 422
    body = html(response)
    assert (
        t(app, "That file is not a photo we can read. Use JPEG, PNG or WebP.") in body
        or t(app, "Use a JPEG, PNG or WebP photo.") in body
    )
    assert count(app, Payment) == 0
    assert not (media / "payments").exists() or not list((media / "payments").iterdir())


def test_a_refused_payment_keeps_no_slip_file(app, lead, star_order, media):
    form = order_forms(lead, star_order)[f"/orders/{star_order}/payment"]
    response = lead.post(
        f"/orders/{star_order}/payment",
        data={**form, "amount": "99000", "method": "transfer", "slip": (io.BytesIO(photo()), "slip.png")},
    )
    assert response.status_code == 409
    assert not (media / "payments").exists() or not list((media / "payments").iterdir())


def test_the_slip_is_shown_to_the_groups_coordinator_and_treasurer_only(
    app, make_client, market_setup, lead, buyer, star_order, media
):
    form = order_forms(lead, star_order)[f"/orders/{star_order}/payment"]
    lead.post(
        f"/orders/{star_order}/payment",
        data={**form, "method": "transfer", "slip": (io.BytesIO(photo("WEBP")), "slip.webp")},
    )
    with app.app_context():
        payment = db.session.query(Payment).filter_by(order_id=star_order).one()
        payment_id, name = payment.id, payment.slip_name
    url = f"/orders/{star_order}/payments/{payment_id}/slip"

    shown = lead.get(url)
    assert shown.status_code == 200 and shown.mimetype == "image/webp"
    assert "no-store" in shown.headers["Cache-Control"] and "private" in shown.headers["Cache-Control"]
    keeper = make_user(app, name="Bu Sulastri")
    make_member(app, market_setup.belimbing.group, name="Bu Sulastri", role="treasurer", user=keeper)
    treasurer = make_client()
    page_login(treasurer, keeper)
    assert treasurer.get(url).status_code == 200

    assert buyer.get(url).status_code == 403  # their own order, but the slip is the group's record
    assert f"/payments/{payment_id}/slip" not in html(buyer.get(f"/orders/{star_order}"))
    other = make_client()
    page_login(other, market_setup.cabai.user)
    assert other.get(url).status_code == 404
    plain = make_user(app, name="Pak Slamet")
    make_member(app, market_setup.belimbing.group, name="Pak Slamet", role="member", user=plain)
    member = make_client()
    page_login(member, plain)
    assert member.get(url).status_code == 404
    # Not served by the public photo route, nor under another order's address.
    assert lead.get(f"/media/products/{name}").status_code == 404
    assert lead.get(f"/media/products/payments/{name}").status_code == 404
    (other_order,) = place(app, market_setup.buyer, [(market_setup.star[0], "1")])
    assert lead.get(f"/orders/{other_order}/payments/{payment_id}/slip").status_code == 404


def test_a_corrected_payment_shows_as_a_correction(app, lead, market_setup, star_order):
    from tests.stock_helpers import acting

    form = order_forms(lead, star_order)[f"/orders/{star_order}/payment"]
    lead.post(f"/orders/{star_order}/payment", data={**form, "amount": "10000"})
    with acting(app, market_setup.belimbing.user) as coordinator:
        order = db.session.get(Order, star_order)
        payment = db.session.query(Payment).filter_by(order_id=star_order).one()
        recorded.reverse_payment(coordinator, order, payment.id, "Salah catat")
        db.session.commit()
    body = html(lead.get(f"/orders/{star_order}"))
    assert t(app, "correction") in body and "-Rp10.000" in body and "Salah catat" in body
    assert t(app, "not paid yet") in body and forms_of(body)[f"/orders/{star_order}/payment"]["amount"] == "36000"


def record_cash(lead, order_id, amount: str, reference: str) -> None:
    form = order_forms(lead, order_id)[f"/orders/{order_id}/payment"]
    assert (
        lead.post(f"/orders/{order_id}/payment", data={**form, "amount": amount, "reference": reference}).status_code
        == 302
    )


def reversal_forms(body: str, order_id: int) -> dict[int, dict]:
    """The page's reversal forms by payment id."""
    prefix = f"/orders/{order_id}/payments/"
    return {
        int(action[len(prefix) :].split("/")[0]): form
        for action, form in forms_of(body).items()
        if action.startswith(prefix) and action.endswith("/reversal")
    }


def payment_ids(app, order_id) -> list[int]:
    with app.app_context():
        return [p.id for p in db.session.query(Payment).filter_by(order_id=order_id).order_by(Payment.id)]


def test_coordinator_reverses_a_mistaken_cash_payment_from_the_order_page(app, lead, star_order):
    record_cash(lead, star_order, "10000", "kuitansi 7")
    record_cash(lead, star_order, "20000", "dicatat dua kali")
    first, second = payment_ids(app, star_order)
    body = html(lead.get(f"/orders/{star_order}"))
    forms = reversal_forms(body, star_order)
    assert set(forms) == {first, second}
    assert t(app, "Reverse this payment of %(amount)s", amount="Rp20.000") in body
    field = f"reversal-{second}-reason"
    assert field in forms[second]

    response = lead.post(
        f"/orders/{star_order}/payments/{second}/reversal", data={**forms[second], field: "Dicatat dua kali"}
    )

    assert response.status_code == 302
    assert sums(app, star_order) == (10000, 0)
    body = html(lead.get(f"/orders/{star_order}"))
    assert (
        t(
            app,
            "Payment corrected: %(amount)s by %(method)s taken off order #%(id)d.",
            amount="Rp20.000",
            method=t(app, "cash"),
            id=star_order,
        )
        in body
    )
    assert t(app, "correction") in body and "-Rp20.000" in body and "Dicatat dua kali" in body
    assert set(reversal_forms(body, star_order)) == {first}  # corrected once; the correction itself has no form
    with app.app_context():
        from core import ledger

        assert ledger.check_all() == []
        assert ledger.balance(db.session.get(Order, star_order).group_id, ledger.CASH) == 10000


def test_a_treasurer_reverses_too_and_the_form_speaks_both_languages(app, make_client, market_setup, lead, star_order):
    record_cash(lead, star_order, "10000", "salah")
    keeper = make_user(app, name="Bu Sulastri")
    make_member(app, market_setup.belimbing.group, name="Bu Sulastri", role="treasurer", user=keeper)
    client = make_client()
    page_login(client, keeper)
    for locale in ("id", "en"):
        client.get(f"/lang/{locale}")
        body = html(client.get(f"/orders/{star_order}"))
        for message in ("Correct a payment recorded by mistake", "What was wrong"):
            assert t(app, message, locale) in body, (locale, message)
        assert t(app, "Reverse this payment of %(amount)s", locale, amount="Rp10.000") in body
    assert t(app, "Correct a payment recorded by mistake", "id") != "Correct a payment recorded by mistake"
    [payment_id] = payment_ids(app, star_order)
    form = reversal_forms(body, star_order)[payment_id]
    answer = client.post(
        f"/orders/{star_order}/payments/{payment_id}/reversal",
        data={**form, f"reversal-{payment_id}-reason": "Uang belum diterima"},
    )
    assert answer.status_code == 302 and sums(app, star_order) == (0, 0)


def test_a_reversal_without_a_reason_is_422_beside_the_field_and_changes_nothing(app, lead, star_order):
    record_cash(lead, star_order, "10000", "salah")
    [payment_id] = payment_ids(app, star_order)
    form = reversal_forms(html(lead.get(f"/orders/{star_order}")), star_order)[payment_id]

    for reason in ("", "   ", "x" * 501):
        answer = lead.post(
            f"/orders/{star_order}/payments/{payment_id}/reversal",
            data={**form, f"reversal-{payment_id}-reason": reason},
        )
        assert answer.status_code == 422, reason
        body = html(answer)
        assert 'id="reversal" open' in body
        assert t(app, "Say what was wrong with this payment.") in body or t(app, "That is too long.") in body
    assert count(app, Payment) == 1 and sums(app, star_order) == (10000, 0)


def test_a_reversal_needs_the_csrf_token(app, lead, star_order, monkeypatch):
    record_cash(lead, star_order, "10000", "salah")
    [payment_id] = payment_ids(app, star_order)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    url = f"/orders/{star_order}/payments/{payment_id}/reversal"
    form = reversal_forms(html(lead.get(f"/orders/{star_order}")), star_order)[payment_id]
    assert form.get(f"reversal-{payment_id}-csrf_token")

    refused = lead.post(url, data={f"reversal-{payment_id}-reason": "Salah catat"})
    assert refused.status_code == 400 and count(app, Payment) == 1

    assert lead.post(url, data={**form, f"reversal-{payment_id}-reason": "Salah catat"}).status_code == 302
    assert count(app, Payment) == 2 and sums(app, star_order) == (0, 0)


def test_a_reversal_the_rules_refuse_shows_why_and_changes_nothing(app, lead, star_order):
    record_cash(lead, star_order, str(STAR_2KG), "lunas")
    [payment_id] = payment_ids(app, star_order)
    url = f"/orders/{star_order}/payments/{payment_id}/reversal"
    assert lead.post(url, data={f"reversal-{payment_id}-reason": "Salah"}).status_code == 302
    again = lead.post(url, data={f"reversal-{payment_id}-reason": "Lagi"})
    assert again.status_code == 409 and t(app, "This payment was corrected already.") in html(again)
    correction = payment_ids(app, star_order)[-1]
    assert (
        lead.post(
            f"/orders/{star_order}/payments/{correction}/reversal", data={f"reversal-{correction}-reason": "x"}
        ).status_code
        == 409
    )
    assert (
        lead.post(f"/orders/{star_order}/payments/999999/reversal", data={"reversal-999999-reason": "x"}).status_code
        == 404
    )
    assert count(app, Payment) == 2 and sums(app, star_order) == (0, 0)


def test_a_completed_orders_payment_offers_no_reversal(app, lead, star_order):
    pack(lead, star_order)
    handover = order_forms(lead, star_order)[f"/orders/{star_order}/handover"]
    assert lead.post(f"/orders/{star_order}/handover", data=handover).status_code == 302
    assert status_of(app, star_order) == OrderStatus.completed
    [payment_id] = payment_ids(app, star_order)
    assert reversal_forms(html(lead.get(f"/orders/{star_order}")), star_order) == {}
    answer = lead.post(
        f"/orders/{star_order}/payments/{payment_id}/reversal", data={f"reversal-{payment_id}-reason": "Salah"}
    )
    assert answer.status_code == 409
    assert t(app, "The order is completed; give money back with a refund instead.") in html(answer)
    assert count(app, Payment) == 1


def test_only_the_groups_coordinator_or_treasurer_can_reverse(app, make_client, market_setup, buyer, lead, star_order):
    record_cash(lead, star_order, "10000", "salah")
    [payment_id] = payment_ids(app, star_order)
    url = f"/orders/{star_order}/payments/{payment_id}/reversal"
    assert reversal_forms(html(buyer.get(f"/orders/{star_order}")), star_order) == {}
    assert buyer.post(url, data={f"reversal-{payment_id}-reason": "x"}).status_code == 403
    other = make_client()
    page_login(other, market_setup.cabai.user)
    assert other.post(url, data={f"reversal-{payment_id}-reason": "x"}).status_code == 404
    assert count(app, Payment) == 1 and sums(app, star_order) == (10000, 0)


def test_a_refund_the_card_processor_made_is_named_so_and_its_details_shown_to_the_group_only(
    app, lead, buyer, star_order
):
    from payments.providers import provider_for

    record_cash(lead, star_order, "10000", "kuitansi 7")
    with app.app_context():
        order = db.session.get(Order, star_order)
        given = Refund(
            order_id=order.id,
            group_id=order.group_id,
            method="cash",
            amount=4000,
            reason="Refunded at Stripe outside the app (re_test_42)",
            recorded_by_id=None,
        )
        db.session.add(given)
        db.session.flush()
        refunds.book_refund(order, given, provider_for("cash"), None)
        db.session.commit()
    label = t(app, "Given back through the card processor, not by the group")
    assert label != "Given back through the card processor, not by the group"
    mine = html(buyer.get(f"/orders/{star_order}"))
    assert label in mine and "Rp4.000" in mine and "re_test_42" not in mine
    theirs = html(lead.get(f"/orders/{star_order}"))
    assert label in theirs and "re_test_42" in theirs


# --- refunds --------------------------------------------------------------------------------


def test_refund_form(app, lead, star_order):
    form = order_forms(lead, star_order)[f"/orders/{star_order}/payment"]
    lead.post(f"/orders/{star_order}/payment", data=form)
    refund = order_forms(lead, star_order)[f"/orders/{star_order}/refund"]
    assert refund["method"] == "cash"  # paid in cash: given back in cash

    missing = lead.post(f"/orders/{star_order}/refund", data={**refund, "amount": "5000", "reason": ""})
    assert missing.status_code == 422
    assert t(app, "Say why the money is given back.") in html(missing)
    too_much = lead.post(f"/orders/{star_order}/refund", data={**refund, "amount": "40000", "reason": "Busuk"})
    assert too_much.status_code == 409
    assert t(app, "Only %(left)s can be refunded on this order.", left="Rp36.000") in html(too_much)
    assert count(app, Refund) == 0

    done = lead.post(f"/orders/{star_order}/refund", data={**refund, "amount": "5000", "reason": "Dua buah busuk"})
    assert done.status_code == 302
    again = lead.post(
        f"/orders/{star_order}/refund",
        data={**refund, "amount": "5000", "reason": "Dua buah busuk"},
        follow_redirects=True,
    )
    assert t(app, "This refund was already recorded.") in html(again)
    assert count(app, Refund) == 1 and sums(app, star_order) == (STAR_2KG, 5000)
    body = html(lead.get(f"/orders/{star_order}"))
    assert t(app, "partly refunded") in body and "Dua buah busuk" in body and "Rp5.000" in body


# --- handover -------------------------------------------------------------------------------


def test_handover_records_the_cash_and_completes_in_one_step(app, lead, star_order):
    pack(lead, star_order)
    forms = order_forms(lead, star_order)
    assert f"/orders/{star_order}/complete" not in forms  # not paid: the plain button waits
    handover = forms[f"/orders/{star_order}/handover"]
    assert handover["amount"] == str(STAR_2KG)
    body = html(lead.get(f"/orders/{star_order}"))
    assert t(app, "Receive cash %(amount)s & complete", amount="Rp36.000") in body

    assert lead.post(f"/orders/{star_order}/handover", data=handover).status_code == 302
    again = lead.post(f"/orders/{star_order}/handover", data=handover, follow_redirects=True)
    assert again.status_code == 200
    assert status_of(app, star_order) == OrderStatus.completed
    assert count(app, Payment, order_id=star_order) == 1 and sums(app, star_order) == (STAR_2KG, 0)


def test_complete_button_shows_when_already_paid(app, lead, star_order):
    form = order_forms(lead, star_order)[f"/orders/{star_order}/payment"]
    lead.post(f"/orders/{star_order}/payment", data=form)
    pack(lead, star_order)
    forms = order_forms(lead, star_order)
    assert f"/orders/{star_order}/complete" in forms and f"/orders/{star_order}/handover" not in forms
    assert lead.post(f"/orders/{star_order}/complete").status_code == 302
    assert status_of(app, star_order) == OrderStatus.completed


def test_handover_from_the_queue(app, lead, market_setup, star_order):
    pack(lead, star_order)
    group_id = market_setup.belimbing.group.id
    page = html(lead.get(f"/groups/{group_id}/orders"))
    assert t(app, "not paid yet") in page
    assert f'action="/orders/{star_order}/complete"' not in page
    handover = forms_of(page)[f"/orders/{star_order}/handover"]
    response = lead.post(f"/orders/{star_order}/handover", data=handover)
    assert response.status_code == 302 and response.headers["Location"].startswith(f"/groups/{group_id}/orders")
    assert status_of(app, star_order) == OrderStatus.completed


def test_handover_refuses_a_stale_amount(app, lead, star_order):
    pack(lead, star_order)
    handover = order_forms(lead, star_order)[f"/orders/{star_order}/handover"]
    payment = order_forms(lead, star_order)[f"/orders/{star_order}/payment"]
    lead.post(f"/orders/{star_order}/payment", data={**payment, "amount": "6000"})  # meanwhile, part was paid
    response = lead.post(f"/orders/{star_order}/handover", data=handover, follow_redirects=True)
    assert t(app, "Only %(owed)s is owed on this order.", owed="Rp30.000") in html(response)
    assert status_of(app, star_order) == OrderStatus.ready and sums(app, star_order) == (6000, 0)


# --- what the buyer sees --------------------------------------------------------------------


def test_buyer_sees_transfer_instructions_with_the_reference_and_the_groups_bank_account(app, buyer, market_setup):
    set_bank(app, market_setup.belimbing.group.id)
    (order_id,) = place(app, market_setup.buyer, [(market_setup.star[0], "2")], payment="transfer")
    body = html(buyer.get(f"/orders/{order_id}"))
    with app.app_context():
        reference = order_reference(db.session.get(Order, order_id))
    assert t(app, "How to pay by bank transfer") in body
    for text in ("BRI Unit Srengat", "0123-01-000456-50-1", "Kelompok Tani Belimbing Sari", "Rp36.000", reference):
        assert text in body, text
    assert t(app, "not paid yet") in body
    for action in ("payment", "refund", "handover", "confirm"):
        assert f'action="/orders/{order_id}/{action}"' not in body
    # The group's public profile shows the account too.
    assert "0123-01-000456-50-1" in html(buyer.get(f"/groups/{market_setup.belimbing.group.id}"))


def test_transfer_order_without_a_bank_account_says_to_ask_the_group(app, buyer, market_setup):
    (order_id,) = place(app, market_setup.buyer, [(market_setup.star[0], "2")], payment="transfer")
    body = html(buyer.get(f"/orders/{order_id}"))
    with app.app_context():
        reference = order_reference(db.session.get(Order, order_id))
    assert (
        t(
            app,
            "The group has not given a bank account yet. Message the group to ask where to transfer "
            "%(amount)s, quoting the reference %(reference)s.",
            amount="Rp36.000",
            reference=reference,
        )
        in body
    )


def test_buyer_sees_payments_and_refunds_but_no_instructions_once_paid(app, lead, buyer, market_setup):
    set_bank(app, market_setup.belimbing.group.id)
    (order_id,) = place(app, market_setup.buyer, [(market_setup.star[0], "2")], payment="transfer")
    form = order_forms(lead, order_id)[f"/orders/{order_id}/payment"]
    assert form["method"] == "transfer"
    lead.post(f"/orders/{order_id}/payment", data={**form, "reference": "TRF 77"})
    refund = order_forms(lead, order_id)[f"/orders/{order_id}/refund"]
    lead.post(f"/orders/{order_id}/refund", data={**refund, "amount": STAR_2KG, "reason": "Stok habis"})
    body = html(buyer.get(f"/orders/{order_id}"))
    assert t(app, "How to pay by bank transfer") not in body
    assert t(app, "refunded") in body and "TRF 77" in body and "Stok habis" in body
    assert t(app, "Transfer slip") not in body


def test_buyer_cannot_post_the_coordinators_forms(app, buyer, lead, star_order):
    form = order_forms(lead, star_order)[f"/orders/{star_order}/payment"]
    assert buyer.post(f"/orders/{star_order}/payment", data=form).status_code == 403
    assert buyer.post(f"/orders/{star_order}/payment", data={**form, "amount": "x" * 50}).status_code == 403
    assert buyer.post(f"/orders/{star_order}/refund", data={"amount": "1000", "reason": "x"}).status_code == 403
    pack(lead, star_order)
    handover = order_forms(lead, star_order)[f"/orders/{star_order}/handover"]
    assert buyer.post(f"/orders/{star_order}/handover", data=handover).status_code == 403
    assert count(app, Payment) == 0 and status_of(app, star_order) == OrderStatus.ready


def test_another_groups_coordinator_cannot_post_the_forms(app, make_client, market_setup, star_order):
    other = make_client()
    page_login(other, market_setup.cabai.user)
    for action in ("payment", "refund", "handover"):
        assert other.post(f"/orders/{star_order}/{action}", data={"amount": "1000"}).status_code == 404
    assert count(app, Payment) == 0


def test_payment_pages_speak_indonesian_and_english(app, lead, star_order):
    for locale in ("id", "en"):
        lead.get(f"/lang/{locale}")
        body = html(lead.get(f"/orders/{star_order}"))
        for message in (
            "Record a payment",
            "not paid yet",
            "Order reference",
            "Still owed",
            "Record payment",
            "Paid by",
            "Day received",
        ):
            assert t(app, message, locale) in body, (locale, message)
    assert t(app, "not paid yet", "id") == "belum dibayar" and t(app, "paid in full", "id") == "lunas"
    assert t(app, "partly paid", "id") == "dibayar sebagian"
    assert t(app, "partly refunded", "id") == "dikembalikan sebagian" and t(app, "refunded", "id") == "dikembalikan"


# --- paying by card -------------------------------------------------------------------------


@pytest.fixture
def card_gateway(app, monkeypatch):
    """Stripe configured, its calls answered here: each start is a new intent; resume gives it back; a cancel
    is taken."""
    for key, value in {
        "STRIPE_SECRET_KEY": "sk_test_x",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_x",
        "STRIPE_API_BASE": "http://127.0.0.1:9",
    }.items():
        monkeypatch.setitem(app.config, key, value)
    started = []

    def start(self, *, amount, idempotency_key, metadata, **_):
        started.append(amount)
        return StartedPayment(intent_id=f"pi_fake_{len(started)}", client_secret=f"pi_fake_{len(started)}_secret_x")

    def resume(self, intent_id):
        return StartedPayment(
            intent_id=intent_id, client_secret=f"{intent_id}_secret_x", status="requires_payment_method"
        )

    monkeypatch.setattr(StripeProvider, "start", start)
    monkeypatch.setattr(StripeProvider, "resume", resume)
    monkeypatch.setattr(StripeProvider, "cancel", lambda self, intent_id: None)
    return started


def checkout_of(app, order_id) -> int:
    with app.app_context():
        return db.session.get(Order, order_id).checkout_id


def card_payments_of(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [(c.intent_id, c.status.value) for c in db.session.query(CardPayment).order_by(CardPayment.id)]


def test_card_page_only_reads_and_its_form_starts_the_card_payment(app, buyer, market_setup, card_gateway):
    (order_id,) = place(app, market_setup.buyer, [(market_setup.star[0], "2")], payment="card")
    checkout_id = checkout_of(app, order_id)
    body = html(buyer.get(f"/orders/{order_id}"))
    assert f'href="/checkouts/{checkout_id}/pay"' in body and t(app, "Pay by card") in body
    confirmation = html(buyer.get(f"/checkouts/{checkout_id}"))
    assert f'href="/checkouts/{checkout_id}/pay"' in confirmation

    page = buyer.get(f"/checkouts/{checkout_id}/pay")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    # Only this page may load Stripe.js, its frames and its API (STRIPE_API_BASE's origin here).
    policy = page.headers["Content-Security-Policy"]
    for directive in ("script-src", "frame-src", "connect-src"):
        assert f"{directive} 'self' http://127.0.0.1:9;" in policy + ";", policy
    assert "127.0.0.1:9" not in buyer.get(f"/checkouts/{checkout_id}").headers["Content-Security-Policy"]
    body = html(page)
    assert '<script src="http://127.0.0.1:9/js.stripe.com/v3/"></script>' in body
    assert 'data-key="pk_test_x"' in body and "data-secret" not in body
    # Stripe.js mounts the card element; paying posts the form, which starts the payment, then confirms the card.
    # The page's own script is a static file: the page's policy allows nothing inline.
    (card_js,) = re.findall(r'<script src="(/static/card\.js\?v=\w+)"></script>', body)
    script = buyer.get(card_js).get_data(as_text=True)
    assert 'elements.create("card"' in script and 'card.mount("#card-element")' in script
    assert "<script>" not in body
    assert f'method="post" action="/api/v1/checkouts/{checkout_id}/card-payment"' in body
    assert f'data-confirm="/api/v1/checkouts/{checkout_id}/card-payment/confirm"' in body
    assert "Rp36.000" in body and t(app, "Thank you! Your payment is being confirmed.") in body
    assert "<noscript>" in body
    assert card_gateway == [] and card_payments_of(app) == []  # opening the page started nothing

    started = buyer.post(f"/api/v1/checkouts/{checkout_id}/card-payment", json={})
    assert started.status_code == 201, started.json
    assert (started.json["client_secret"], started.json["amount"]) == ("pi_fake_1_secret_x", STAR_2KG)
    # Opening the page again reads; posting again (a reload, a second tap) resumes the same payment.
    assert buyer.get(f"/checkouts/{checkout_id}/pay").status_code == 200
    again = buyer.post(f"/api/v1/checkouts/{checkout_id}/card-payment", json={})
    assert again.status_code == 201 and again.json["client_secret"] == "pi_fake_1_secret_x"
    assert card_gateway == [STAR_2KG] and card_payments_of(app) == [("pi_fake_1", "pending")]


def test_opening_the_card_page_after_a_declined_card_changes_nothing(app, buyer, market_setup, card_gateway):
    (order_id,) = place(app, market_setup.buyer, [(market_setup.star[0], "2")], payment="card")
    checkout_id = checkout_of(app, order_id)
    assert buyer.post(f"/api/v1/checkouts/{checkout_id}/card-payment", json={}).status_code == 201
    with app.app_context():
        db.session.query(CardPayment).update({"status": CardPaymentStatus.failed})
        db.session.commit()

    assert buyer.get(f"/checkouts/{checkout_id}/pay").status_code == 200
    assert card_gateway == [STAR_2KG] and card_payments_of(app) == [("pi_fake_1", "failed")]
    # Paying again posts the form: the declined attempt gives way to a new one.
    assert buyer.post(f"/api/v1/checkouts/{checkout_id}/card-payment", json={}).status_code == 201
    assert card_payments_of(app) == [("pi_fake_1", "canceled"), ("pi_fake_2", "pending")]


def test_card_page_when_card_payments_are_not_configured(app, buyer, market_setup, monkeypatch):
    (order_id,) = place(app, market_setup.buyer, [(market_setup.star[0], "2")], payment="card")
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", None)  # taken away after the card checkout was made
    page = buyer.get(f"/checkouts/{checkout_of(app, order_id)}/pay")
    assert page.status_code == 503
    body = html(page)
    assert t(app, "Card payments are not available right now. Please pay in cash or by transfer.") in body
    assert t(app, "You can pay in cash at pickup or by bank transfer instead: message the group to agree how.") in body
    assert "<script" not in body.split("<main>")[1]


def test_card_page_is_the_buyers_own_and_only_for_card_checkouts(
    app, make_client, market_setup, buyer, card_gateway, star_order
):
    assert buyer.get(f"/checkouts/{checkout_of(app, star_order)}/pay").status_code == 409  # a cash checkout
    (order_id,) = place(app, market_setup.buyer, [(market_setup.star[0], "2")], payment="card")
    stranger = make_client()
    page_login(stranger, make_user(app, name="Orang lain"))
    assert stranger.get(f"/checkouts/{checkout_of(app, order_id)}/pay").status_code == 404
    assert card_gateway == []


# --- the group's bank account ---------------------------------------------------------------


def test_coordinator_sets_the_bank_account_on_the_group_page(app, lead, market_setup):
    group_id = market_setup.belimbing.group.id
    assert 'name="bank_account_number"' in html(lead.get(f"/groups/{group_id}/edit"))
    form = {
        "name": market_setup.belimbing.group.name,
        "kind": "farmer",
        "village": "Karangbendo",
        "district": "Ponggok",
        "bank_name": " BRI ",
        "bank_account_number": "0123 4567 89x",
    }
    response = lead.post(f"/groups/{group_id}/edit", data=form)
    assert response.status_code == 422
    assert t(app, "Use only digits, spaces, dashes and dots, such as 0123-4567-89.") in html(response)
    form["bank_account_number"] = "0123-4567.89 0"
    form["bank_account_holder"] = "Kelompok Tani Belimbing Sari"
    assert lead.post(f"/groups/{group_id}/edit", data=form).status_code == 302
    with app.app_context():
        group = db.session.get(Group, group_id)
        assert (group.bank_name, group.bank_account_number) == ("BRI", "0123-4567.89 0")
    assert "0123-4567.89 0" in html(lead.get(f"/groups/{group_id}"))


def test_card_is_not_offered_or_accepted_when_card_payments_are_not_set_up(app, buyer, market_setup, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", None)
    buyer.post("/cart/add", data={"variant_id": market_setup.star[0], "quantity": "1"})
    body = html(buyer.get("/checkout"))
    assert 'value="cash"' in body and 'value="card"' not in body
    with pytest.raises(ValidationFailed) as refused:
        place(app, market_setup.buyer, [(market_setup.star[0], "2")], payment="card")
    assert "payment_method" in refused.value.errors
