"""One WSGI application for the HTTP benchmarks: the real app, and a bare Flask baseline beside it.

    BENCH_DATABASE_URL=... BENCH_BODIES=/tmp/dir gunicorn --workers 2 --worker-class gthread bench.serve:app

The real app (`create_app()` with the ordinary Config, read from the environment)
is mounted at `/`; the baseline, a Flask app with no extensions, at `/_baseline`.
One gunicorn serves both, so they share the processes, the threads, the network
path and the database, and only the work behind the endpoint differs.

Baseline endpoints:
- `GET /_baseline/body/<name>`: the bytes of `$BENCH_BODIES/<name>.body` with the
  content type in `<name>.type`, read once per process (a precomputed page of the
  same size as the real one).
- `POST /_baseline/checkout`: the writes a checkout must make, in raw SQL through
  the same database: per line, in variant order, a guarded
  `UPDATE stock SET reserved = reserved + q WHERE ... on_hand - reserved >= q`
  and an `INSERT INTO stock_movements`; then one `INSERT INTO orders`, in one
  transaction (BEGIN IMMEDIATE on SQLite, as the app's POSTs).
"""

import json
import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask, Response, abort, request
from sqlalchemy import bindparam, create_engine, text
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from app import create_app
from config import Config
from core.types import UtcDateTime

DATABASE_URL = os.environ["BENCH_DATABASE_URL"]
BODIES = Path(os.environ.get("BENCH_BODIES", "."))


class BenchConfig(Config):
    SQLALCHEMY_DATABASE_URI = DATABASE_URL


_NOW = bindparam("now", type_=UtcDateTime())  # bound as the app binds its timestamps
RESERVE = text("UPDATE stock SET reserved = reserved + :q WHERE variant_id = :v AND on_hand - reserved >= :q")
RECORD = text(
    "INSERT INTO stock_movements (group_id, variant_id, kind, on_hand_delta, reserved_delta, reference, "
    "actor_id, created_at) VALUES (:g, :v, 'reservation', 0, :q, NULL, :buyer, :now)"
).bindparams(_NOW)
ORDER = text(
    "INSERT INTO orders (checkout_id, group_id, buyer_id, status, payment_method, fulfilment_method, "
    "fulfilment_date, total, currency, created_at, updated_at) VALUES (:checkout, :g, :buyer, 'placed', "
    "'cash', 'pickup', :day, :total, 'IDR', :now, :now) RETURNING id"
).bindparams(_NOW)


def make_baseline() -> Flask:
    baseline = Flask("baseline")
    engine = create_engine(DATABASE_URL, pool_pre_ping=True)
    bodies: dict[str, tuple[bytes, str]] = {}
    # What the baseline needs to know of the seeded data: variant -> (group, price), the buyer, a checkout row.
    setup = json.loads((BODIES / "checkout.json").read_text()) if (BODIES / "checkout.json").exists() else {}

    @baseline.get("/ping")
    def ping():
        return "ok"

    @baseline.get("/body/<name>")
    def body(name):
        if name not in bodies:
            path = BODIES / f"{name}.body"
            if not path.exists():
                abort(404)
            bodies[name] = (path.read_bytes(), (BODIES / f"{name}.type").read_text().strip())
        data, content_type = bodies[name]
        return Response(data, content_type=content_type)

    @baseline.post("/checkout")
    def checkout():
        lines = sorted((line["variant_id"], int(line["quantity"]) * 1000) for line in request.get_json()["lines"])
        variants = setup["variants"]
        now = datetime.now(UTC)
        total = 0
        with engine.begin() as conn:
            for variant_id, milli in lines:
                if conn.execute(RESERVE, {"q": milli, "v": variant_id}).rowcount != 1:
                    abort(409)
                group_id, price = variants[str(variant_id)]
                conn.execute(
                    RECORD, {"g": group_id, "v": variant_id, "q": milli, "buyer": setup["buyer_id"], "now": now}
                )
                total += price * milli // 1000
            order_id = conn.execute(
                ORDER,
                {
                    "checkout": setup["checkout_id"],
                    "g": variants[str(lines[0][0])][0],
                    "buyer": setup["buyer_id"],
                    "day": date.today(),
                    "total": total,
                    "now": now,
                },
            ).scalar_one()
        return {"id": order_id, "total": total}, 201

    return baseline


app = DispatcherMiddleware(create_app(BenchConfig), {"/_baseline": make_baseline()})
