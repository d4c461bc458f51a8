"""The made-to-order story's steps through the API: a sewing group, a school that orders uniforms, three members
who sew them."""

from datetime import timedelta
from types import SimpleNamespace

from core.extensions import db
from marketplace.services import today_wib
from tests.factories import make_member
from tests.market import API, actor, create_product, member_with_account

SIZES = {"S": (30, 70000), "M": (30, 72000), "L": (25, 75000), "XL": (20, 78000), "XXL": (15, 80000)}


def ok(response, status=200) -> dict:
    assert response.status_code == status, (response.status_code, response.json)
    return response.json


def post(client, path, who, body=None, key=None, status=None):
    headers = dict(who.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    response = client.post(f"{API}{path}", json=body, headers=headers)
    return ok(response, status) if status is not None else response


def uniforms(app, client, market) -> SimpleNamespace:
    """The KUB's uniform product in five sizes, three sewing members (Sari with an account) and a school."""
    group, lead = market.jahit, market.jahit_lead
    product = create_product(
        client,
        group,
        lead.headers,
        name="Seragam SD",
        kind="garment",
        unit="pcs",
        variants=[{"label": size, "unit_price": price} for size, (_q, price) in SIZES.items()],
    )
    variants = {v["label"]: v["id"] for v in product["variants"]}
    sari = member_with_account(app, group, "member")
    rina, dewi = make_member(app, group, name="Rina"), make_member(app, group, name="Dewi")
    school = actor(app, name="SDN Sumberejo 1")
    return SimpleNamespace(
        group=group,
        lead=lead,
        variants=variants,
        sari=sari,
        sari_id=sari.member_id,
        rina=rina,
        dewi=dewi,
        school=school,
    )


def request_job(client, job, sizes=SIZES) -> dict:
    body = {
        "title": "Seragam SD tahun ajaran baru",
        "wanted_date": (today_wib() + timedelta(days=40)).isoformat(),
        "note": "Bordir nama sekolah di dada kiri",
        "lines": [{"variant_id": job.variants[size], "quantity": str(q)} for size, (q, _p) in sizes.items()],
    }
    return post(client, f"/groups/{job.group.id}/commissions", job.school, body, status=201)


def quote_job(client, job, commission, prices=None, percent="30", on_cancel="refund", days=30) -> dict:
    by_variant = {v: size for size, v in job.variants.items()}
    lines = [
        {
            "line_id": line["id"],
            "unit_price": (prices or {}).get(by_variant[line["variant_id"]], SIZES[by_variant[line["variant_id"]]][1]),
        }
        for line in commission["lines"]
    ]
    body = {
        "lines": lines,
        "due_date": (today_wib() + timedelta(days=days)).isoformat(),
        "deposit_percent": percent,
        "deposit_on_cancel": on_cancel,
    }
    return post(client, f"/commissions/{commission['id']}/quotes", job.lead, body, status=201)


def accepted_job(client, job, **quote) -> dict:
    commission = request_job(client, job)
    quoted = quote_job(client, job, commission, **quote)
    return post(
        client,
        f"/commissions/{commission['id']}/accept",
        job.school,
        {"revision": quoted["quotes"][-1]["revision"]},
        status=200,
    )


def line_of(job, commission, size) -> int:
    return next(line["id"] for line in commission["lines"] if line["variant_id"] == job.variants[size])


def session_get(app, model, row_id):
    with app.app_context():
        row = db.session.get(model, row_id)
        db.session.expunge(row)
        return row
