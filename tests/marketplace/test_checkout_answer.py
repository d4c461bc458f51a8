"""The checkout's answer is the checkout as it is then read back: same orders, groups, money and events.

The answer to POST /checkouts is built from what the checkout itself read and
wrote (a fresh order has no payments, refunds or lot allocations); GET reads
everything again. Both must say the same, for every payment method and for
buyers who do and do not keep a group's books.
"""

import pytest
from sqlalchemy import update

from core.extensions import db
from groups.models import Group
from tests.market import API, body_of, post_checkout

BANK = {
    "bank_name": "BRI Unit Sumberejo",
    "bank_account_number": "0123-01-000456-30-7",
    "bank_account_holder": "Poktan Sumber Rejeki",
}


def _with_bank(app, group) -> None:
    with app.app_context():
        db.session.execute(update(Group).where(Group.id == group.id).values(**BANK))
        db.session.commit()


@pytest.mark.parametrize("payment", ["cash", "transfer", "card"])
@pytest.mark.parametrize("who", ["buyer", "lead", "treasurer", "plain", "jahit_lead", "admin"])
def test_checkout_answer_equals_the_checkout_read_back(app, client, market, who, payment):
    _with_bank(app, market.tani)
    person = getattr(market, who)
    body = body_of(
        (market.cabai_a, "1.5"),
        (market.tomat, "0.5"),
        (market.daster, "1"),
        method="delivery",
        payment=payment,
        address="Jl. Melati 4, Sumberejo",
        note="Sore saja",
    )
    response = post_checkout(client, person, body, key=f"answer-{who}-{payment}")
    assert response.status_code == 201, response.json
    answer = response.json

    again = client.get(f"{API}/checkouts/{answer['id']}", headers=person.headers)
    assert again.status_code == 200
    assert answer == again.json
    for order in answer["orders"]:
        assert client.get(f"{API}/orders/{order['id']}", headers=person.headers).json == order

    replay = post_checkout(client, person, body, key=f"answer-{who}-{payment}")
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json == answer


def test_checkout_answer_shows_what_a_fresh_order_holds(app, client, market):
    _with_bank(app, market.tani)
    body = body_of((market.cabai_a, "1"), (market.daster, "1"), payment="transfer")
    answer = post_checkout(client, market.lead, body).json
    tani, jahit = sorted(answer["orders"], key=lambda order: order["group_id"] != market.tani.id)
    for order in (tani, jahit):
        assert order["payments"] == [] and order["refunds"] == []
        assert order["owed"] == order["total"] and order["paid"] == 0 and order["payment_status"] == "unpaid"
        assert order["reference"].startswith(f"PK-{order['id']:06d}-")
        assert [(e["from"], e["to"]) for e in order["events"]] == [(None, "placed")]
    # The coordinator keeps tani's books: fees and (empty) allocations show for it, not for the other group.
    assert tani["card_fees"] == 0 and tani["lines"][0]["allocations"] == []
    assert jahit["card_fees"] is None and "allocations" not in jahit["lines"][0]
    assert tani["payment_instructions"] == {
        "bank_name": BANK["bank_name"],
        "account_number": BANK["bank_account_number"],
        "account_holder": BANK["bank_account_holder"],
        "account_verified": True,
        "reference": tani["reference"],
        "amount": tani["total"],
    }
    assert jahit["payment_instructions"] == {
        "bank_name": None,
        "account_number": None,
        "account_holder": None,
        "account_verified": True,
        "reference": jahit["reference"],
        "amount": jahit["total"],
    }
    assert tani["group"] == {
        "id": market.tani.id,
        "name": "Poktan Sumber Rejeki",
        "pickup_point": "Balai Desa Sumberejo",
        "pickup_hours": "Sabtu 07.00-10.00",
    }
