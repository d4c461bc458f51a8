"""The request class hides a bearer API request's cookies, which Flask-Login would otherwise read first."""
from flask import Flask
from flask_login import LoginManager, UserMixin, current_user, login_user

from core.extensions import Request, bearer_request


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
