"""What the settlement tests share: a KUB whose members sew and sell, and requests to the work log, settlement
and statement API."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from core.extensions import db
from core.ledger import JournalEntry, Posting
from groups.models import Member
from revenue.models import Earning, Settlement, Statement, WorkLog
from tests.factories import bearer, make_group, make_member, make_token, make_user
from tests.market import actor, contribute, create_product

API = "/api/v1"


def person(app, group, name, role):
    """A member of `group` with an account and an API token."""
    user = make_user(app, name=name)
    record = make_member(app, group, name=name, user=user, role=role, email=user.email)
    return SimpleNamespace(user=user, id=user.id, member_id=record.id, name=name, headers=bearer(make_token(app, user)))


def joined_long_ago(app, *member_ids):
    """These members joined a year ago (the equal method counts members who were in the group in the period)."""
    with app.app_context():
        db.session.execute(
            update(Member).where(Member.id.in_(member_ids)).values(joined_at=datetime.now(UTC) - timedelta(days=365))
        )
        db.session.commit()


def log_work(client, group, who, member_id, units, day, **extra):
    return client.post(
        f"{API}/groups/{group.id}/work-logs",
        headers=who.headers,
        json={"member_id": member_id, "units": units, "date": day.isoformat(), **extra},
    )


def logged(client, group, who, member_id, units, day) -> dict:
    response = log_work(client, group, who, member_id, units, day)
    assert response.status_code == 201, response.json
    return response.json


def settle(client, group, who, start, end):
    return client.post(
        f"{API}/groups/{group.id}/settlements",
        headers=who.headers,
        json={"period_start": start.isoformat(), "period_end": end.isoformat()},
    )


def statement(client, group, who, member_id, **query):
    return client.get(f"{API}/groups/{group.id}/members/{member_id}/statement", headers=who.headers, query_string=query)


def state(app) -> dict:
    """Every row a settlement or a work log may write, to prove a refused request changed nothing."""
    with app.app_context():
        found = {}
        for model in (Settlement, Statement, WorkLog, Earning, JournalEntry, Posting):
            table = model.__table__
            found[table.name] = [dict(r._mapping) for r in db.session.execute(select(table).order_by(table.c.id))]
        return found


@pytest.fixture
def kub(app, db, client):
    """KUB Jahit Melati: six sewers, shared by work with 10 % to the group fund, and a buyer.

    Bu Ratna coordinates and sews; Bu Sri is the treasurer; Yuni has an account; Wati, Ani and Tini have none.
    """
    ratna = actor(app, name="Bu Ratna")
    group = make_group(app, ratna.user, name="KUB Jahit Melati", kind="business")
    ratna.member_id = group.coordinator_member_id
    sri = person(app, group, "Bu Sri", "treasurer")
    yuni = person(app, group, "Yuni", "member")
    wati, ani, tini = (make_member(app, group, name=n) for n in ("Wati", "Ani", "Tini"))
    response = client.put(
        f"{API}/groups/{group.id}/split-policy",
        headers=ratna.headers,
        json={"method": "work", "group_fund_percent": "10"},
    )
    assert response.status_code == 200, response.json

    daster = create_product(
        client, group, ratna.headers, name="Daster batik", kind="garment", unit="pcs", unit_price=85000
    )["variants"][0]["id"]
    mukena = create_product(client, group, ratna.headers, name="Mukena", kind="garment", unit="pcs", unit_price=150000)[
        "variants"
    ][0]["id"]
    tas = create_product(client, group, ratna.headers, name="Tas kain", kind="garment", unit="pcs", unit_price=35000)[
        "variants"
    ][0]["id"]
    sarung = create_product(
        client, group, ratna.headers, name="Sarung bantal", kind="garment", unit="pcs", unit_price=12345
    )["variants"][0]["id"]
    contribute(client, group, ratna.headers, daster, wati, "10")
    contribute(client, group, ratna.headers, mukena, ani, "2")
    contribute(client, group, ratna.headers, tas, SimpleNamespace(id=yuni.member_id), "10")
    contribute(client, group, ratna.headers, sarung, tini, "5")
    return SimpleNamespace(
        group=group,
        ratna=ratna,
        sri=sri,
        yuni=yuni,
        wati=wati,
        ani=ani,
        tini=tini,
        daster=daster,
        mukena=mukena,
        tas=tas,
        sarung=sarung,
        buyer=actor(app, name="Bu Endang"),
    )
