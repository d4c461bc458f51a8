"""The kernel: the app factory and what every domain imports."""
import logging
import sqlite3
from contextlib import contextmanager
from pathlib import Path

from flask import Blueprint, Flask, g, has_request_context, request, session
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from config import INSTANCE_DIR, Config


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """SQLite: write-ahead log, foreign keys enforced, wait on a busy database."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        # Transactions are begun by _sqlite_begin below, not by the driver.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()
        # SQLite's own lower() folds only ASCII; names here are Indonesian, Javanese, anything.
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)


READING_METHODS = ("GET", "HEAD", "OPTIONS")
_READS_FIRST = "sqlite_reads_first"  # in a connection's info: its transaction began deferred for reads_first()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    """SQLite: a request that may write takes the write lock when its transaction starts.

    A deferred transaction that reads and then writes fails at once (SQLITE_BUSY)
    when another writer committed in between; BEGIN IMMEDIATE waits its turn
    instead. Reads (GET) stay deferred and never block, unless the request set
    `g.write_transaction` for a write of its own (the expiry sweep). A writing
    request's reads inside `reads_first()` begin deferred too, and give way to
    an IMMEDIATE transaction before anything else runs (_sqlite_write_after_reads).
    """
    if conn.dialect.name != "sqlite":
        return
    if not has_request_context() or g.get("write_transaction"):
        deferred = False
    else:
        deferred = request.method in READING_METHODS or bool(g.get("reading_first"))
    conn.info[_READS_FIRST] = False
    conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")
    conn.info[_READS_FIRST] = deferred and request.method not in READING_METHODS


@event.listens_for(Engine, "before_cursor_execute")
def _sqlite_write_after_reads(conn, cursor, statement, parameters, context, executemany):
    """SQLite: a writing request's transaction begun for reads_first() becomes IMMEDIATE before any
    statement outside the block, or any statement but a SELECT inside it."""
    if not conn.info.get(_READS_FIRST):
        return
    if has_request_context() and g.get("reading_first") and statement.lstrip()[:6].upper() == "SELECT":
        return
    conn.info[_READS_FIRST] = False
    cursor.execute("COMMIT")  # the reads' snapshot ends; nothing was written in it
    cursor.execute("BEGIN IMMEDIATE")  # waits its turn, then sees every committed write


@contextmanager
def reads_first():
    """Reads a writing request makes before it writes, kept out of SQLite's write lock.

    SQLite has one write lock, and a writing request's transaction takes it at
    its first statement (see _sqlite_begin), so all the request does until it
    commits waits for, then holds up, every other writer. Reads whose results
    the writes do not rely on for their safety (who is asking; what a checkout
    asks for, when stock and keys are guarded in SQL) can run inside this block
    instead: when a transaction begins here it begins deferred, and the first
    statement after the block (or the first write in it) ends that snapshot and
    begins IMMEDIATE on the current data, in the same session, with everything
    loaded kept. In a transaction already begun, on PostgreSQL and outside a
    writing request, the block changes nothing.
    """
    if not has_request_context() or g.get("reading_first"):
        yield
        return
    g.reading_first = True
    try:
        yield
    finally:
        g.pop("reading_first", None)


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


def create_app(config_class=Config) -> Flask:
    """Build the application for `config_class`."""
    app = Flask(__name__.split(".")[0], instance_path=str(INSTANCE_DIR),
                template_folder="../templates", static_folder="../static")
    app.config.from_object(config_class)
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY must be set in production")
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    register_logging(app)
    return app


def select_locale() -> str:
    """The user's choice, then this browser's choice, then Indonesian."""
    languages = ("id", "en")
    if current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("lang") in languages:
        return session["lang"]
    if request.path.startswith("/api/"):
        return request.accept_languages.best_match(languages) or "id"
    return "id"


def register_extensions(app: Flask) -> None:
    from core.extensions import CookieSessions, api, babel, csrf, db, limiter, login_manager, migrate

    import core.ledger  # noqa: F401  (its tables belong to the metadata every domain's migrations see)

    app.session_interface = CookieSessions()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"), render_as_batch=True,
                     compare_type=True)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.session_protection = "basic"
    babel.init_app(app, locale_selector=select_locale, default_timezone="Asia/Jakarta")
    csrf.init_app(app)
    limiter.init_app(app)
    api.init_app(app)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    api.spec.components.security_scheme("session", {"type": "apiKey", "in": "cookie", "name": "session"})


def register_blueprints(app: Flask) -> None:
    from swagger_ui_bundle import swagger_ui_path

    from core import api as accounts_api
    from core import views as accounts_views
    from core.extensions import api, bearer_request, csrf
    from groups import api as groups_api
    from groups import payout_api, payout_views
    from groups import revenue_api
    from groups import settlement_api, settlement_views
    from groups import views as groups_views
    from inventory import api as inventory_api
    from inventory import views as inventory_views
    from marketplace import api as marketplace_api
    from marketplace import payments_api
    from marketplace import revenue_views
    from marketplace import views as marketplace_views

    for blp in (accounts_api.blp, groups_api.blp, inventory_api.blp, marketplace_api.blp, payments_api.blp,
                revenue_api.blp, settlement_api.blp, payout_api.blp):
        csrf.exempt(blp)  # JSON only: SameSite cookies and the JSON content type stand in for a token
        api.register_blueprint(blp)
    app.register_blueprint(Blueprint("api_docs_assets", __name__, static_folder=swagger_ui_path,
                                     static_url_path="/api/v1/docs/assets"))
    app.register_blueprint(accounts_views.bp)
    app.register_blueprint(groups_views.bp)
    app.register_blueprint(settlement_views.bp)
    app.register_blueprint(payout_views.bp)
    app.register_blueprint(inventory_views.bp)
    app.register_blueprint(marketplace_views.bp)
    app.register_blueprint(revenue_views.bp)

    @app.before_request
    def _expire_unpaid_orders():
        # Cheap: at most once a minute per process does it query; `flask orders expire` does the same from cron.
        if not request.path.startswith(EXPIRY_SWEEP_PATHS):
            return
        if app.testing and not app.config.get("EXPIRE_IN_REQUESTS"):
            return
        _sweep_expired_orders(app)

    @app.before_request
    def _check_bearer():
        # A bad token is refused even on public endpoints, so clients learn of it at once.
        if bearer_request(request):
            with reads_first():  # finding who sends a write takes no write lock
                _ = current_user.is_authenticated


# Requests that show or take stock: before them, unpaid card orders past their window give their stock back.
EXPIRY_SWEEP_PATHS = ("/api/v1/orders", "/api/v1/checkouts", "/api/v1/products")


def _sweep_expired_orders(app: Flask) -> None:
    """Run the opportunistic expiry sweep in a transaction of its own; a failure is logged, never the request's."""
    from core.extensions import db
    from marketplace.services import expire_opportunistically

    g.write_transaction = True  # SQLite: the sweep may write, so it begins IMMEDIATE even in a GET
    try:
        expire_opportunistically()
        # Only when the sweep ran is there a session (and maybe a transaction) to end.
        if db.session.registry.has() and db.session().in_transaction():
            db.session.commit()
    except Exception:
        db.session.rollback()
        app.logger.exception("expiring unpaid card orders failed")
    finally:
        g.pop("write_transaction", None)


def register_errorhandlers(app: Flask) -> None:
    from core.errors import register_errorhandlers as register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from flask_babel import get_locale

    from core.formatting import register_filters

    register_filters(app)

    @app.context_processor
    def _globals():
        return {"current_locale": str(get_locale() or "id")}

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.path.startswith("/api/v1/docs"):
            response.headers.setdefault("X-Frame-Options", "DENY")
        if "text/html" in response.content_type and current_user.is_authenticated:  # JSON needs no user loaded
            response.headers.setdefault("Cache-Control", "private, no-store")
        return response

    @app.teardown_request
    def _clear(_exc):
        g.pop("api_token_id", None)


def register_commands(app: Flask) -> None:
    from core.cli import register

    register(app)


def register_logging(app: Flask) -> None:
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
