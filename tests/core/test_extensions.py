"""The request class hides a bearer API request's cookies, which Flask-Login would otherwise read first; a request
with nothing to sign it in by is known to be anonymous without asking Flask-Login."""

from flask import Flask, session
from flask_login import LoginManager, UserMixin, current_user, login_user

from core.extensions import Request, bearer_request, may_be_signed_in


class Person(UserMixin):
    def __init__(self, id_: str) -> None:
        self.id = id_


def _app(request_class=None) -> Flask:
    app = Flask(__name__)
    app.secret_key = "test"
    if request_class is not None:
        app.request_class = request_class
    logins = LoginManager(app)
    logins.user_loader(lambda id_: Person(id_))
    logins.request_loader(lambda request: Person("token") if bearer_request(request) else None)

    @app.get("/api/whoami")
    def whoami():
        return {"id": current_user.get_id() if current_user.is_authenticated else None}

    @app.get("/login/<id_>")
    def login(id_):
        login_user(Person(id_), remember=True)
        return "ok"

    return app


def _who(app, **headers) -> str | None:
    client = app.test_client()
    client.get("/login/browser")
    client.delete_cookie("session")  # only the remember-me cookie is left
    return client.get("/api/whoami", headers=headers).json["id"]


def test_flask_login_takes_a_remember_me_cookie_before_its_request_loader():
    """Flask-Login 0.6: a remember-me cookie sent beside a token decides who the request is."""
    assert _who(_app(), Authorization="Bearer pk_x") == "browser"


def test_with_the_request_class_a_bearer_request_is_its_token_alone():
    app = _app(Request)
    assert _who(app, Authorization="Bearer pk_x") == "token"
    assert _who(app) == "browser"


def test_only_a_bearer_api_request_has_its_cookies_hidden():
    app = Flask(__name__)
    app.request_class = Request
    cookie = {"Cookie": "session=abc"}
    with app.test_request_context("/api/v1/me", headers={**cookie, "Authorization": "Bearer pk_x"}) as ctx:
        assert dict(ctx.request.cookies) == {}
    with app.test_request_context("/api/v1/me", headers=cookie) as ctx:
        assert dict(ctx.request.cookies) == {"session": "abc"}
    with app.test_request_context("/catalog", headers={**cookie, "Authorization": "Bearer pk_x"}) as ctx:
        assert dict(ctx.request.cookies) == {"session": "abc"}


def test_a_request_may_be_signed_in_by_a_cookie_a_token_or_what_it_put_in_its_session():
    app = Flask(__name__)
    app.secret_key = "test"
    app.request_class = Request
    cases = [
        ("/catalog", {}, False),
        ("/catalog", {"Cookie": "session=abc"}, True),
        ("/catalog", {"Cookie": "remember_token=abc"}, True),
        ("/catalog", {"Cookie": "lang=en"}, False),
        ("/api/v1/me", {"Authorization": "Bearer pk_x"}, True),
        ("/catalog", {"Authorization": "Bearer x"}, False),
    ]
    for path, headers, expected in cases:
        with app.test_request_context(path, headers=headers) as ctx:
            assert may_be_signed_in(ctx.request) is expected, (path, headers)
    with app.test_request_context("/login") as ctx:
        session["_user_id"] = "someone"  # as login_user does
        assert may_be_signed_in(ctx.request)
