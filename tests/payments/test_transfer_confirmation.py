"""A checkout paid by transfer to two groups: the confirmation page and each group's WhatsApp message say where
to pay each order (bank, account number, holder), how much, and which reference to quote; only a verified
group's account is shown."""

import re
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import select, update

from core.extensions import db
from groups.models import Group
from marketplace.models import Order
from payments.providers import order_reference
from tests.factories import make_user
from tests.marketplace.test_marketplace_pages import add, checkout_form, page_login, product, seller
from tests.pages import html, t

BANKS = {
    "KT Cabai Makmur": ("BRI", "0012-01-000123-50-1", "Kelompok Tani Cabai Makmur"),
    "KT Belimbing Sari": ("Bank Jatim", "0231456789", "Sri Wahyuni"),
}


def _two_groups_paid_by_transfer(app, client):
    variants = []
    for i, (name, (bank, number, holder)) in enumerate(BANKS.items()):
        shop = seller(
            app,
            name,
            phone=f"0812-3300-03{i}1",
            bank_name=bank,
            bank_account_number=number,
            bank_account_holder=holder,
        )
        variants += product(
            app, shop.user, shop.group, f"Hasil {name}", [("standard", 15000 + 5000 * i)], stock="9", member=shop.member
        )
    page_login(client, make_user(app, name="Bu Ratna"))
    add(client, variants[0], "2")
    add(client, variants[1], "1,5")
    response = client.post("/checkout", data={**checkout_form(client), "payment_method": "transfer"})
    assert response.status_code == 302, html(response)
    with app.app_context():
        orders = {
            o.id: (db.session.get(Group, o.group_id).name, o.total, order_reference(o))
            for o in db.session.scalars(select(Order).order_by(Order.id))
        }
    return response.headers["Location"], orders


def _whatsapp_texts(body: str) -> list[str]:
    links = re.findall(r'href="(https://wa\.me/[^"]+)"', body)
    return [unquote(parse_qs(urlsplit(link.replace("&amp;", "&")).query)["text"][0]) for link in links]


def test_the_confirmation_shows_where_to_transfer_each_order(app, client, db):
    location, orders = _two_groups_paid_by_transfer(app, client)
    body = html(client.get(location))
    assert 'id="transfers"' in body
    texts = _whatsapp_texts(body)
    assert len(texts) == 2
    for (order_id, (group, total, reference)), text in zip(orders.items(), texts, strict=True):
        bank, number, holder = BANKS[group]
        box = re.search(rf'id="transfer-{order_id}">(.*?)</div>', body, re.S).group(1)
        amount = f"Rp{total:,}".replace(",", ".")
        for shown in (bank, number, holder, reference, amount):
            assert shown in box, (shown, box)
        assert (
            t(
                app,
                "I will transfer %(amount)s to %(bank)s %(number)s (%(holder)s) with the reference %(reference)s.",
                raw=True,
                amount=amount,
                bank=bank,
                number=number,
                holder=holder,
                reference=reference,
            )
            in text
        )
        assert "mentransfer" in text and group in text


def test_an_account_no_longer_verified_is_not_shown(app, client, db):
    location, orders = _two_groups_paid_by_transfer(app, client)
    with app.app_context():
        db.session.execute(update(Group).where(Group.name == "KT Cabai Makmur").values(verified=False))
        db.session.commit()
    body = html(client.get(location))
    assert BANKS["KT Cabai Makmur"][1] not in body and BANKS["KT Belimbing Sari"][1] in body
    hidden, (_group, _total, reference) = next(item for item in orders.items() if item[1][0] == "KT Cabai Makmur")
    box = re.search(rf'id="transfer-{hidden}">(.*?)</div>', body, re.S).group(1)
    waiting = (
        "The group's bank account is waiting to be verified by the district admin, so it is not shown for now. "
        "Do not transfer yet: look here again later, or message the group, quoting the reference %(reference)s."
    )
    assert t(app, waiting, raw=True, reference=reference) in box
    assert sum(BANKS["KT Cabai Makmur"][1] in text for text in _whatsapp_texts(body)) == 0


def test_a_cash_checkout_shows_no_account(app, client, db):
    shop = seller(app, "KT Cabai Makmur", bank_name="BRI", bank_account_number="0099887766", bank_account_holder="X")
    (variant,) = product(app, shop.user, shop.group, "Cabai", [("standard", 40000)], stock="5", member=shop.member)
    page_login(client, make_user(app))
    add(client, variant, "1")
    body = html(client.get(client.post("/checkout", data=checkout_form(client)).headers["Location"]))
    assert "0099887766" not in body and 'id="transfer-' not in body
