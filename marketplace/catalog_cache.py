"""The catalog's kept pages: a per-process cache of built pages and lists, shared by a process's threads.

What is kept and for how long is decided by marketplace.catalog; this module only keeps
pieces by key, builds a missing one once while other threads wait for it, and builds a due
one again ahead on the process's catalog thread.
"""

import os
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

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


def clock() -> float:
    """The kept pieces' clock (tests move it)."""
    return _clock()


_clock = time.monotonic
