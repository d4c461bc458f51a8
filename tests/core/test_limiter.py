"""ViewLimiter: limits on views are checked by their decorators; nothing is checked before every request, and
limits that only such a check would apply are refused."""

import pytest
from flask import Blueprint, Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from core.limiter import ViewLimiter


def _app(**config) -> Flask:
    app = Flask(__name__)
    app.config.update(RATELIMIT_STORAGE_URI="memory://", RATELIMIT_HEADERS_ENABLED=True, **config)
    return app


def test_flask_limiter_registers_a_check_before_every_request_at_init_app():
    """Flask-Limiter 4.1 has no setting to leave it out: the hook ViewLimiter keeps from the app."""
    app = _app()
    Limiter(get_remote_address).init_app(app)
    assert app.before_request_funcs.get(None)


def test_view_limiter_registers_its_hooks_but_the_check_before_every_request():
    app = _app()
    ViewLimiter(get_remote_address).init_app(app)
    assert not app.before_request_funcs.get(None)
    assert app.after_request_funcs.get(None) and app.teardown_request_funcs.get(None)


def test_a_limit_on_a_view_is_enforced_with_its_headers():
    app = _app()
    limiter = ViewLimiter(get_remote_address)
    limiter.init_app(app)

    @app.post("/login")
    @limiter.limit("2 per minute")
    def login():
        return "ok"

    @app.post("/open")
    def open_view():
        return "ok"

    client = app.test_client()
    assert [client.post("/login").status_code for _ in range(3)] == [200, 200, 429]
    assert client.post("/login").headers["Retry-After"]
    assert [client.post("/open").status_code for _ in range(3)] == [200, 200, 200]


def test_a_limit_put_on_a_blueprint_is_refused_when_it_is_put():
    limiter = ViewLimiter(get_remote_address)
    with pytest.raises(TypeError, match="put it on its views"):
        limiter.limit("1 per minute")(Blueprint("shop", __name__))
    with pytest.raises(TypeError, match="put it on its views"):
        limiter.shared_limit("1 per minute", scope="shop")(Blueprint("shop", __name__))


@pytest.mark.parametrize("name", ["RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION", "RATELIMIT_META"])
def test_limits_on_every_request_in_the_configuration_are_refused(name):
    with pytest.raises(RuntimeError, match=name):
        ViewLimiter(get_remote_address).init_app(_app(**{name: "100 per minute"}))


@pytest.mark.parametrize("option", ["default_limits", "application_limits", "meta_limits"])
def test_limits_on_every_request_given_to_the_limiter_are_refused(option):
    with pytest.raises(RuntimeError, match=option):
        ViewLimiter(get_remote_address, **{option: ["100 per minute"]})
