"""A localstripe server (a fake, stateful Stripe API) on loopback, for tests.

    base_url, stop = start_localstripe()
    try:
        stripe.api_key = "sk_test_x"          # any key that starts with sk_
        stripe.api_base = base_url
        ...
    finally:
        stop()

The server runs in a subprocess of its own. It listens on 127.0.0.1 only, on a
port the kernel picks, starts with an empty store and never reads or writes
localstripe's pickle file (/tmp/localstripe.pickle), so runs can overlap.
(The `localstripe` command itself binds every interface on a fixed port and
saves its whole store to that shared file after every write, so it is not used.)

Besides the Stripe API under /v1/, the server answers:
  GET  /js.stripe.com/v3/          its fake Stripe.js (load it instead of the real one)
  POST /_config/webhooks/<name>    register a webhook endpoint (register_webhook)
  DELETE /_config/data             forget every object (flush_data)

Webhooks go out about one second after the event, in the background: the API
call that caused the event has returned long before.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable

# Runs in the subprocess: bind 127.0.0.1:0, tell the parent the port, serve.
_SERVE = r"""
import logging, socket, sys
from aiohttp import web
from localstripe import resources, server

resources.Store.dump_to_disk = lambda self: None   # keep the store in memory only

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.bind(("127.0.0.1", 0))
sock.listen(128)
print(sock.getsockname()[1], flush=True)

logger = logging.getLogger("aiohttp.access")       # also where webhook deliveries are logged
logger.setLevel(logging.INFO)
logger.addHandler(logging.StreamHandler(sys.stderr))
web.run_app(server.app, sock=sock, print=None, access_log=logger, shutdown_timeout=1)
"""


def _read_port(proc: subprocess.Popen, deadline: float) -> int:
    line = b""
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or proc.poll() is not None:
            raise RuntimeError("localstripe did not report its port")
        ready, _, _ = select.select([proc.stdout], [], [], remaining)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 64)
            if not chunk:
                raise RuntimeError("localstripe exited before reporting its port")
            line += chunk
    return int(line.strip())


def _wait_until_answering(base_url: str, proc: subprocess.Popen, deadline: float) -> None:
    while True:
        try:
            with urllib.request.urlopen(base_url + "/js.stripe.com/v3/", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("localstripe did not answer at " + base_url)
        time.sleep(0.05)


def start_localstripe(timeout: float = 20.0, log_path: str | None = None) -> tuple[str, Callable[[], None]]:
    """Start localstripe on a free loopback port and wait until it answers.

    Returns ``(base_url, stop)``: ``base_url`` is ``http://127.0.0.1:PORT`` (use it
    as ``stripe.api_base``; the fake Stripe.js is at ``base_url + "/js.stripe.com/v3/"``),
    and ``stop()`` terminates the server and waits for it (calling it twice is harmless).

    The server's log (one line per request, and a line per webhook delivery:
    'webhook "payment_intent.succeeded" successfully delivered' or why it failed)
    goes to ``log_path`` when given, else to a temporary file that ``stop()`` removes.
    Raises RuntimeError, with the end of that log, if the server does not come up
    within ``timeout`` seconds.
    """
    if log_path is None:
        fd, log_file = tempfile.mkstemp(prefix="localstripe-", suffix=".log")
        os.close(fd)
        remove_log = True
    else:
        log_file, remove_log = log_path, False
    log = open(log_file, "ab")
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVE], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log
    )
    log.close()

    stopped = False

    def stop() -> None:
        nonlocal stopped
        if stopped:
            return
        stopped = True
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        proc.stdout.close()
        if remove_log:
            try:
                os.unlink(log_file)
            except FileNotFoundError:
                pass

    deadline = time.monotonic() + timeout
    try:
        port = _read_port(proc, deadline)
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_answering(base_url, proc, deadline)
    except Exception as error:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        with open(log_file, "rb") as f:
            tail = f.read()[-2000:].decode("utf-8", "replace")
        stop()
        raise RuntimeError(f"{error}; its log ends with:\n{tail}") from error
    return base_url, stop


def _post_json(url: str, payload: dict | None, method: str = "POST") -> None:
    data = None if payload is None else json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()


def register_webhook(
    base_url: str, url: str, secret: str, events: Iterable[str] | None = None, name: str = "app"
) -> None:
    """Have localstripe POST signed events to ``url``.

    ``secret`` is the signing secret our app checks with
    ``stripe.Webhook.construct_event(payload, request.headers["Stripe-Signature"], secret)``
    (any string; "whsec_test" reads naturally). ``events`` limits delivery to those
    event types (e.g. ["payment_intent.succeeded", "payment_intent.payment_failed"]);
    None sends every type. Registering again under the same ``name`` replaces that
    endpoint; different names add endpoints. There is no way to unregister one other
    than replacing it or stopping the server. Raises urllib.error.HTTPError (400) when
    ``url`` is not http(s) or ``secret`` is empty.
    """
    payload = {"url": url, "secret": secret}
    if events is not None:
        payload["events"] = list(events)
    _post_json(f"{base_url}/_config/webhooks/{name}", payload)


def flush_data(base_url: str) -> None:
    """Forget every object localstripe holds (registered webhooks stay)."""
    _post_json(f"{base_url}/_config/data", None, method="DELETE")
