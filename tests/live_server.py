"""The app served over real HTTP, and work released on many threads at once.

The server is werkzeug's, threaded, on a free loopback port: each request runs on
its own thread, with its own session and database connection, as under gunicorn.
So concurrency is real on PostgreSQL (row locks keep requests apart) and queued
on SQLite (BEGIN IMMEDIATE and the busy timeout).
"""

import http.client
import json
import threading
import time
from contextlib import contextmanager

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

SECONDS = 120  # every wait is bounded: a stuck lock fails the test instead of hanging it


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


@contextmanager
def serving(app):
    """Serve `app` on a free loopback port, a thread per request, while the block runs; yields (host, port)."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    # A short poll lets shutdown return at once instead of after up to half a second.
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", httpd.server_port
    finally:
        httpd.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def server(app, db):
    """The app on a free loopback port, a thread per request; (host, port)."""
    with serving(app) as address:
        yield address


def at_once(count: int, run) -> list:
    """Run `run(i, go)` on `count` threads, each calling `go()` when it is ready; from there all go on together.

    Returns what each run returned, in order. Fails the test if any is still running after SECONDS.
    """
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def go():
        barrier.wait(timeout=SECONDS)

    def target(i):
        results[i] = run(i, go)

    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + SECONDS
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "threads still waiting: a lock was never released"
    return results


def post_at_once(server, requests: list[tuple[str, dict, dict, str | None]]) -> list[tuple]:
    """POST every (path, headers, body, Idempotency-Key or None) to `server` at once, a connection and thread each.

    Every client connects first, then all requests are sent together. Returns (status, json,
    Idempotent-Replayed header) per request, in order; fails the test if any request failed or got a 5xx.
    """
    host, port = server

    def run(i, go):
        path, headers, body, key = requests[i]
        conn = http.client.HTTPConnection(host, port, timeout=SECONDS)
        try:
            conn.connect()
            go()
            sent = {**headers, "Content-Type": "application/json"}
            if key is not None:
                sent["Idempotency-Key"] = key
            conn.request("POST", path, body=json.dumps(body), headers=sent)
            response = conn.getresponse()
            payload = response.read()
            return response.status, json.loads(payload) if payload else {}, response.getheader("Idempotent-Replayed")
        except Exception as exc:
            return None, {"exception": repr(exc)}, None
        finally:
            conn.close()

    results = at_once(len(requests), run)
    failed = [r for r in results if r[0] is None or r[0] >= 500]
    assert failed == [], f"a request failed or got a 5xx: {failed}"
    return results
