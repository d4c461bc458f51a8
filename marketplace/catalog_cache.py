"""The catalog's kept pages: a per-process cache of built pages and lists, shared by a process's threads,
and, when CATALOG_CACHE_STORAGE names a Redis, by every process.

What is kept and for how long is decided by marketplace.catalog; this module only keeps
pieces by key, builds a missing one once while other threads wait for it, builds a due
one again ahead on the process's catalog thread, and (SharedPages) gives the processes one
copy of each page, built by one of them while the others wait a moment for it.
"""

import hashlib
import os
import pickle
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

import redis
from flask import copy_current_request_context, current_app, has_request_context

REFRESH_AHEAD = 0.8  # of a page's time: from then on the next request builds the page again


class CachedPage:
    """A finished page (plain data, no ORM objects) or list, since when it holds, and what was rendered of it."""

    __slots__ = ("built", "page", "renderings")

    def __init__(self, built: float, page: dict):
        self.built, self.page, self.renderings = built, page, {}


class LruCache:
    """Rendered pieces by key, shared by a process's threads; beyond `limit` the least recently used are forgotten."""

    def __init__(self, limit: int):
        self.limit, self.kept, self.lock = limit, OrderedDict(), threading.Lock()

    def get(self, keys: list) -> list:
        with self.lock:
            found = [self.kept.get(key) for key in keys]
            for key, piece in zip(keys, found):
                if piece is not None:
                    self.kept.move_to_end(key)
        return found

    def put(self, pieces: dict) -> None:
        with self.lock:
            self.kept.update(pieces)
            while len(self.kept) > self.limit:
                self.kept.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.kept.clear()


class PageCache:
    """Kept pages by normalized query; expired ones are dropped when met, the least recently kept beyond the limit.

    A missing page is built by one thread while the others asking for it wait for that
    page, rather than each running the same query (threaded workers). A page in the last
    fifth of its time is built again ahead, once, when a request meets it: by that request
    or, given `ahead`, away from it, while every request is still given the kept page. So
    no page is ever older than `seconds`, and busy pages rarely make a buyer wait for a
    query. A page built again that came out the same keeps what was rendered of it.
    """

    def __init__(self, max_pages: int):
        self.max_pages = max_pages
        self.pages: OrderedDict[tuple, CachedPage] = OrderedDict()
        self.building: dict[tuple, threading.Event] = {}
        self.lock = threading.Lock()

    def get_or_build(self, key: tuple, seconds: float, build, ahead=None) -> CachedPage:
        """The kept `key`, built by `build()` when missing or due: its value, or a CachedPage saying since when.

        `ahead(work)`, when given, runs `work` elsewhere (a thread of its own): a page built
        again ahead then costs the request that met it nothing.
        """
        while True:
            with self.lock:
                found = previous = self.pages.get(key)
                if found is not None:
                    age = clock() - found.built
                    if age < seconds and (age < seconds * REFRESH_AHEAD or key in self.building):
                        return found
                    if age >= seconds:
                        del self.pages[key]
                        found = None
                pending = self.building.get(key)
                owner = pending is None
                if owner:
                    pending = self.building[key] = threading.Event()
            if not owner:
                pending.wait(60)
                continue  # the page is kept now, or its build failed and this thread tries
            if found is not None and ahead is not None:  # due, not yet expired: this request keeps the kept page
                try:
                    ahead(lambda previous=previous, pending=pending: self._build(key, build, previous, pending))
                except BaseException:
                    self._built(key, pending)
                    raise
                return found
            return self._build(key, build, previous, pending)

    def _build(self, key: tuple, build, previous: CachedPage | None, pending: threading.Event) -> CachedPage:
        try:
            started = clock()  # a page's age counts from before its query ran
            found = build()
            if not isinstance(found, CachedPage):
                found = CachedPage(started, found)
            if previous is not None and previous.page == found.page:
                found.renderings = previous.renderings  # the same page renders the same
            with self.lock:
                self.pages[key] = found
                self.pages.move_to_end(key)
                while len(self.pages) > self.max_pages:
                    self.pages.popitem(last=False)
            return found
        finally:
            self._built(key, pending)

    def _built(self, key: tuple, pending: threading.Event) -> None:
        with self.lock:
            del self.building[key]
        pending.set()

    def clear(self) -> None:
        with self.lock:
            self.pages.clear()


def in_background(work) -> None:
    """Run `work` on this process's catalog thread, in a copy of this request's context (or in this app's).

    One thread, so that pages due together are built one after the other rather than
    crowding the interpreter and the connection pool. A failure is logged, and the kept
    page stays until it expires.
    """
    app = current_app._get_current_object()

    def run():
        try:
            work()
        except Exception:
            app.logger.exception("building a catalog page ahead failed")

    if has_request_context():
        run = copy_current_request_context(run)
    else:
        run = _in_app_context(app, run)
    _ahead_executor().submit(run)


def _in_app_context(app, work):
    def run():
        with app.app_context():
            work()

    return run


_executor: tuple[int, ThreadPoolExecutor] | None = None
_executor_lock = threading.Lock()


def _ahead_executor() -> ThreadPoolExecutor:
    """The catalog thread of this process (a worker forked from a process that had one starts its own)."""
    global _executor
    with _executor_lock:
        if _executor is None or _executor[0] != os.getpid():
            _executor = (os.getpid(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="catalog-ahead"))
        return _executor[1]


class SharedPages:
    """Built pages in Redis, by key, for every process: a page is built once for the whole site, not once per process.

    A page is stored with the wall-clock moment it was built and expires with its time, so
    a process gets it with its true age. A process that finds no page claims the building
    of it for a few seconds; the others wait for it up to WAIT_SECONDS, then build their
    own. Redis unreachable means building here, as without it: the site never waits on it.
    Pages are pickled: Redis is the site's own, as trusted as its database.
    """

    WAIT_SECONDS = 1.0
    POLL_SECONDS = 0.01

    def __init__(self, url: str, prefix: str) -> None:
        self.redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.prefix = prefix

    def name(self, key: tuple) -> str:
        return self.prefix + hashlib.sha256(repr(key).encode()).hexdigest()

    def get_or_build(self, key: tuple, seconds: float, build) -> CachedPage:
        """The page stored under `key` while younger than REFRESH_AHEAD of `seconds`, else `build()`, stored."""
        name = self.name(key)
        try:
            found = self._young(name, seconds)
            if found is not None:
                return found
            if not self.redis.set(name + ":building", 1, nx=True, px=int(self.WAIT_SECONDS * 5000)):
                deadline = time.monotonic() + self.WAIT_SECONDS
                while time.monotonic() < deadline:
                    time.sleep(self.POLL_SECONDS)
                    found = self._young(name, seconds)
                    if found is not None:
                        return found
        except redis.RedisError as exc:
            current_app.logger.warning("Catalog cache: Redis unreachable (%s); building here", exc)
            return build()
        made = build()
        try:
            age = clock() - made.built
            stored = pickle.dumps((time.time() - age, made.page), protocol=pickle.HIGHEST_PROTOCOL)
            self.redis.set(name, stored, px=max(1, int((seconds - age) * 1000)))
            self.redis.delete(name + ":building")
        except redis.RedisError as exc:
            current_app.logger.warning("Catalog cache: Redis unreachable (%s); page kept here only", exc)
        return made

    def _young(self, name: str, seconds: float) -> CachedPage | None:
        stored = self.redis.get(name)
        if stored is None:
            return None
        built_at, page = pickle.loads(stored)
        age = max(0.0, time.time() - built_at)
        if age >= seconds * REFRESH_AHEAD:
            return None  # due: the one who asks builds it again
        return CachedPage(clock() - age, page)


def shared_pages() -> SharedPages | None:
    """The app's shared page store (CATALOG_CACHE_STORAGE a redis:// URL), or None when pages are kept per process."""
    app = current_app._get_current_object()
    found = app.extensions.get("catalog_shared_pages")
    if found is None:
        storage = app.config.get("CATALOG_CACHE_STORAGE") or "process"
        found = (
            SharedPages(storage, app.config.get("CATALOG_CACHE_PREFIX", "pasar:catalog:"))
            if storage.startswith(("redis://", "rediss://", "unix://"))
            else False
        )
        app.extensions["catalog_shared_pages"] = found
    return found or None


def clock() -> float:
    """The kept pieces' clock (tests move it)."""
    return _clock()


_clock = time.monotonic
