"""Safe settings: production refuses to start without a secret of its own and sends cookies over HTTPS only;
gunicorn with development settings says so; behind a TLS proxy, TRUSTED_PROXIES says whose headers to believe."""

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from flask import request

import config
from app import create_app
from config import DEVELOPMENT_SECRET_KEY, TestConfig, UnsafeSettings
from tests.app.test_pages import side_app

ROOT = Path(__file__).resolve().parents[2]
WARNING = "Serving under gunicorn with development settings"


def settings(database_url, **values):
    return type("Settings", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": database_url, **values})


@pytest.mark.parametrize("key", [None, "", DEVELOPMENT_SECRET_KEY])
def test_production_refuses_to_start_without_a_secret_of_its_own(database_url, key):
    with pytest.raises(UnsafeSettings, match="SECRET_KEY") as refused:
        create_app(settings(database_url, APP_ENV="production", SECRET_KEY=key))
    assert "APP_ENV=production" in str(refused.value) and "secrets.token_hex" in str(refused.value)


def test_an_unknown_app_env_is_refused_rather_than_taken_for_development(database_url):
    # "prod" is not "production": read as development, it would sign sessions with the development key.
    with pytest.raises(UnsafeSettings, match="'prod' is not one of development, test, production"):
        create_app(settings(database_url, APP_ENV="prod"))


def test_production_cookies_are_secure_whatever_else_is_set(app, db, database_url):
    production = settings(
        database_url,
        APP_ENV="production",
        SECRET_KEY="a-production-secret-of-its-own",
        SESSION_COOKIE_SECURE=False,
        REMEMBER_COOKIE_SECURE=False,
    )
    with side_app(production) as prod:
        assert prod.config["SESSION_COOKIE_SECURE"] is True and prod.config["REMEMBER_COOKIE_SECURE"] is True


def test_the_environment_names_production_in_any_case(monkeypatch):
    monkeypatch.setenv("APP_ENV", " Production ")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    namespace: dict = {"__file__": config.__file__, "__name__": "config_as_read"}
    exec(compile(Path(config.__file__).read_text(), config.__file__, "exec"), namespace)
    assert namespace["Config"].APP_ENV == "production" and namespace["Config"].SECRET_KEY is None


def test_development_settings_under_gunicorn_log_one_warning(app, db, database_url, monkeypatch, caplog):
    monkeypatch.setenv("SERVER_SOFTWARE", "gunicorn/27.0.1")
    with caplog.at_level(logging.WARNING), side_app(settings(database_url, APP_ENV="development")):
        pass
    assert [r.getMessage() for r in caplog.records].count(
        WARNING + " (APP_ENV is not 'production'): sessions are signed with the built-in development key unless "
        "SECRET_KEY is set, and cookies are not Secure. That is fine for a benchmark or a test on this machine; for "
        "real users set APP_ENV=production and SECRET_KEY."
    ) == 1
    caplog.clear()
    with caplog.at_level(logging.WARNING), side_app(settings(database_url, APP_ENV="production", SECRET_KEY="s" * 32)):
        pass
    monkeypatch.delenv("SERVER_SOFTWARE")
    with caplog.at_level(logging.WARNING), side_app(settings(database_url, APP_ENV="development")):
        pass  # flask run, a command, a test
    assert not [r for r in caplog.records if "gunicorn" in r.getMessage()]


# --- a real gunicorn -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_gunicorn(tmp_path, **env) -> tuple[int | None, str]:
    """Start gunicorn (one worker) on wsgi:app with `env`; (status of GET /api/v1/openapi.json or None, its log)."""
    port = free_port()
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"APP_ENV", "SECRET_KEY", "SERVER_SOFTWARE", "DATABASE_URL", "TRUSTED_PROXIES"}
    }
    environment.update(DATABASE_URL=f"sqlite:///{tmp_path / 'pasar.db'}", INSTANCE_PATH=str(tmp_path), **env)
    log = tmp_path / "gunicorn.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        status = None
        try:
            deadline = time.monotonic() + 60
            while status is None and process.poll() is None and time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=2) as answer:
                        status = answer.status
                except OSError:
                    time.sleep(0.2)
        finally:
            if process.poll() is None:
                process.terminate()
            process.wait(timeout=30)
    return status, log.read_text()


def test_gunicorn_without_app_env_serves_and_warns_once(tmp_path):
    status, log = run_gunicorn(tmp_path)
    assert status == 200, log
    assert log.count(WARNING) == 1, log


def test_gunicorn_in_production_without_a_secret_key_does_not_start(tmp_path):
    status, log = run_gunicorn(tmp_path, APP_ENV="production")
    assert status is None
    assert "SECRET_KEY is not set: with APP_ENV=production the app does not start" in log, log


# --- behind a TLS proxy ------------------------------------------------------------------------

FORWARDED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "pasar.example.id"}


@pytest.mark.parametrize(
    "proxies, seen",
    [(1, ("203.0.113.9", "https", "pasar.example.id")), (0, ("127.0.0.1", "http", "localhost"))],
)
def test_trusted_proxies_says_whose_forwarded_headers_count(app, db, database_url, proxies, seen):
    with side_app(settings(database_url, TRUSTED_PROXIES=proxies)) as behind:
        behind.add_url_rule("/probe", "probe", lambda: "|".join((request.remote_addr, request.scheme, request.host)))
        answer = behind.test_client().get("/probe", headers=FORWARDED, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert tuple(answer.get_data(as_text=True).split("|")) == seen
