"""Flask-Limiter for limits put on views (logins, sign-ups), with no check before every request.

Flask-Limiter 4.1 has no setting to leave out its before-request check, so init_app is given the app without
`before_request` (tests/core/test_limiter.py pins this). Flask-Limiter checks a view's own limits when the view is
called, through its decorator; the check before every request is for default, application, blueprint and meta
limits, which this app has none of. That check found nothing to do on every page and API call and took about a
quarter of a kept catalog answer's time in process (bench/catalog.py --in-process), so it is not registered.
Limits that only it would check are refused: default, application and meta limits at init_app, a limit put on a
blueprint when it is put.
"""

import flask
from flask_limiter import Limiter


class _AppWithoutBeforeRequest:
    """The app as Flask-Limiter's init_app sees it: every hook it registers but the one before each request."""

    def __init__(self, app: flask.Flask) -> None:
        self.app = app

    def __getattr__(self, name: str):
        return getattr(self.app, name)

    def before_request(self, function):
        return function


class ViewLimit:
    """A limit to decorate views with; put on a blueprint it raises, since nothing would check it there."""

    def __init__(self, route_limit) -> None:
        self.route_limit = route_limit

    def __call__(self, view):
        if isinstance(view, flask.Blueprint):
            raise TypeError(f"a limit on blueprint {view.name!r} would not be checked here: put it on its views")
        return self.route_limit(view)


class ViewLimiter(Limiter):
    """Flask-Limiter whose limits are put on views only, checked by their decorators."""

    NEEDS_EVERY_REQUEST = ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION", "RATELIMIT_META")

    def __init__(self, key_func, **options) -> None:
        set_here = [name for name in ("default_limits", "application_limits", "meta_limits") if options.get(name)]
        if set_here:
            raise RuntimeError(f"limits on every request are not checked here; put them on views: {set_here}")
        super().__init__(key_func, **options)

    def init_app(self, app: flask.Flask) -> None:
        """Bind to `app` without the before-request check; refuse limits that only that check applies."""
        set_here = [name for name in self.NEEDS_EVERY_REQUEST if app.config.get(name)]
        if set_here:
            raise RuntimeError(f"limits on every request are not checked here; put them on views: {set_here}")
        super().init_app(_AppWithoutBeforeRequest(app))

    def limit(self, limit_value, **options) -> ViewLimit:
        """Flask-Limiter's `limit`, for views only."""
        return ViewLimit(super().limit(limit_value, **options))

    def shared_limit(self, limit_value, scope, **options) -> ViewLimit:
        """Flask-Limiter's `shared_limit`, for views only."""
        return ViewLimit(super().shared_limit(limit_value, scope, **options))
