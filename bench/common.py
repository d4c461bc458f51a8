"""What every benchmark here shares: the app on a fresh database, and where PostgreSQL is."""

import os

from app import create_app
from config import TestConfig
from core.extensions import db

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def make_app(url: str):
    """The app on `url`, with an empty schema."""

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(Config)
    with app.app_context():
        db.drop_all()
        db.create_all()
    return app


def postgres_reachable(url: str) -> bool:
    try:
        import psycopg

        psycopg.connect(url.replace("+psycopg", ""), connect_timeout=3).close()
        return True
    except Exception:
        return False
