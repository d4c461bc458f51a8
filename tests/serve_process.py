"""The app served by a process of its own, as another gunicorn worker would be: its own caches, the same database.

    python -m tests.serve_process DATABASE_URL [SETTING=VALUE ...]

prints the loopback port it serves on, on a line of its own, then serves until killed.
Settings are config values read as JSON when they parse as JSON (numbers, booleans), else as text.
"""

import json
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent


def main(database_url: str, *settings: str) -> None:
    from app import create_app
    from config import TestConfig
    from tests.live_server import QuietHandler

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url

    for setting in settings:
        name, _, value = setting.partition("=")
        try:
            setattr(Config, name, json.loads(value))
        except ValueError:
            setattr(Config, name, value)
    httpd = make_server("127.0.0.1", 0, create_app(Config), threaded=True, request_handler=QuietHandler)
    print(httpd.server_port, flush=True)
    httpd.serve_forever(poll_interval=0.05)


@contextmanager
def another_process(database_url: str, **settings):
    """A process serving the app on `database_url` with `settings`; yields its base URL, and stops it after."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.serve_process", database_url, *(f"{k}={v}" for k, v in settings.items())],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = process.stdout.readline().strip()
        if not port.isdigit():
            raise RuntimeError(f"the app's process did not start (it said {port!r})")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait(timeout=30)


if __name__ == "__main__":
    main(*sys.argv[1:])
