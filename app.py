"""The composition root: create_app builds the application from the kernel and every domain package.

Each package brings its own blueprints, commands and hooks through `init_app(app)`,
called here in the order of the dependency rule (docs/ARCHITECTURE.md).
"""

import logging
from pathlib import Path

import click
from flask import Blueprint, Flask, g, has_request_context, request, send_from_directory, session
from flask.cli import with_appcontext
from flask_babel import get_locale
from flask_login import current_user
from swagger_ui_bundle import swagger_ui_path
from werkzeug.middleware.proxy_fix import ProxyFix

import accounts
import commissions
import dashboards
import groups
import harvests
import inventory
import marketplace
import payments
import revenue
from config import DEVELOPMENT_SECRET_KEY, ENVIRONMENTS, INSTANCE_DIR, Config, UnsafeSettings, under_gunicorn
from core import assets, backup, cookie_writes, headers
from core import cli as core_cli
from core.database import answering_without_database, reads_first, release_sessions_of_lost_connections
from core.errors import register_errorhandlers
from core.extensions import (
    CookieSessions,
    Request,
    api,
    babel,
    bearer_request,
    compress,
    csrf,
    db,
    limiter,
    login_manager,
    may_be_signed_in,
    migrate,
)
from core.formatting import register_filters
from core.pages import input_attributes
from demo import seed

DOMAINS = (accounts, groups, inventory, revenue, marketplace, payments, commissions, harvests, dashboards)
FAVICON_MAX_AGE = 7 * 24 * 60 * 60  # seconds


def create_app(config_class=Config) -> Flask:
    """Build the application for `config_class`."""
    app = Flask(__name__, instance_path=str(INSTANCE_DIR), template_folder="templates", static_folder="static")
    app.config.from_object(config_class)
    check_settings(app)
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    register_extensions(app)
    register_domains(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    register_logging(app)
    if under_gunicorn() and app.config["APP_ENV"] != "production":
        app.logger.warning(
            "Serving under gunicorn with %s settings (APP_ENV is not 'production'): sessions are signed with the "
            "built-in development key unless SECRET_KEY is set, and cookies are not Secure. That is fine for a "
            "benchmark or a test on this machine; for real users set APP_ENV=production and SECRET_KEY.",
            app.config["APP_ENV"],
        )
    return app


def check_settings(app: Flask) -> None:
    """Refuse settings that would be unsafe: an unknown APP_ENV; in production, no SECRET_KEY or the built-in
    development one. In production every cookie is Secure (sent over HTTPS only)."""
    env = app.config["APP_ENV"]
    if env not in ENVIRONMENTS:
        raise UnsafeSettings(f"APP_ENV={env!r} is not one of {', '.join(ENVIRONMENTS)}.")
    if env != "production":
        return
    key = app.config.get("SECRET_KEY")
    if not key or key == DEVELOPMENT_SECRET_KEY:
        problem = "is not set" if not key else "is the built-in development key"
        raise UnsafeSettings(
            f"SECRET_KEY {problem}: with APP_ENV=production the app does not start without a secret of its own. "
            "Set SECRET_KEY to a long random value, for example the output of "
            "python3 -c 'import secrets; print(secrets.token_hex(32))', the same on every process and host."
        )
    app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)


def select_locale() -> str:
    """The user's choice, then this browser's choice, then Indonesian (also outside a request: commands)."""
    languages = ("id", "en")
    if not has_request_context():
        return "id"
    if not answering_without_database() and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("lang") in languages:
        return session["lang"]
    if request.path.startswith("/api/"):
        return request.accept_languages.best_match(languages) or "id"
    return "id"


def register_extensions(app: Flask) -> None:
    app.request_class = Request
    app.session_interface = CookieSessions()
    db.init_app(app)
    release_sessions_of_lost_connections(app, db)
    migrate.init_app(
        app, db, directory=str(Path(app.root_path) / "migrations"), render_as_batch=True, compare_type=True
    )
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.session_protection = "basic"
    babel.init_app(app, locale_selector=select_locale, default_timezone="Asia/Jakarta")
    csrf.init_app(app)
    cookie_writes.init_app(app)
    compress.init_app(app)
    limiter.init_app(app)
    api.init_app(app)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    api.spec.components.security_scheme(
        "session",
        {
            "type": "apiKey",
            "in": "cookie",
            "name": "session",
            "description": "The browser's session cookie, for the site's own pages. A write (POST, PUT, PATCH, "
            "DELETE) signed in by it is refused with 403 when `Origin` or `Sec-Fetch-Site` says it comes from "
            "another site; its body is JSON, or it carries the page's CSRF token in `X-CSRFToken`.",
        },
    )


def register_domains(app: Flask) -> None:
    for package in DOMAINS:
        package.init_app(app)
    app.register_blueprint(
        Blueprint("api_docs_assets", __name__, static_folder=swagger_ui_path, static_url_path="/api/v1/docs/assets")
    )

    @app.before_request
    def _check_bearer():
        # A bad token is refused even on public endpoints, so clients learn of it at once.
        if bearer_request(request):
            with reads_first():  # finding who sends a write takes no write lock
                _ = current_user.is_authenticated


def register_template_helpers(app: Flask) -> None:
    register_filters(app)
    assets.init_app(app)
    headers.init_app(app)
    app.add_template_global(input_attributes)

    @app.context_processor
    def _globals():
        return {"current_locale": str(get_locale() or "id")}

    @app.after_request
    def _headers(response):
        if (
            "text/html" in response.content_type  # JSON needs no user loaded
            and may_be_signed_in(request)
            and current_user.is_authenticated
        ):
            response.headers.setdefault("Cache-Control", "private, no-store")
        return response

    @app.route("/favicon.ico")
    def favicon():
        """The site's icon, where browsers look for it; kept a week."""
        return send_from_directory(app.static_folder, "favicon.ico", mimetype="image/x-icon", max_age=FAVICON_MAX_AGE)

    @app.teardown_request
    def _clear(_exc):
        g.pop("api_token_id", None)
        g.pop("bearer_refused", None)


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Load the Blitar demo groups, members and logins (safe to run again)."""
    summary = seed()
    db.session.commit()
    for line in summary:
        click.echo(line)


def register_commands(app: Flask) -> None:
    app.cli.add_command(core_cli.ledger_cli)
    app.cli.add_command(backup.backup)
    app.cli.add_command(backup.restore)
    app.cli.add_command(seed_demo)


def register_logging(app: Flask) -> None:
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
