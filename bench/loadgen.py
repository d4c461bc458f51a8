"""What the HTTP benchmarks share: gunicorn serving bench/serve.py, a keep-alive load driver, the figures.

Load comes from threads of the benchmark process, each with its own keep-alive
`http.client` connection to 127.0.0.1, for a bounded time. A measurement is the
real endpoint and its baseline in alternating rounds, so drift on a noisy
machine hits both alike.
"""
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2
SERVER_THREADS = 4  # gthread: keep-alive connections need a threaded worker (sync workers close each one)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn with WORKERS processes serving bench.serve:app on a free loopback port, for a `with` block."""

    def __init__(self, database_url: str, bodies: Path, **env):
        self.port = free_port()
        self.env = {**os.environ, "BENCH_DATABASE_URL": database_url, "BENCH_BODIES": str(bodies),
                    "DATABASE_URL": database_url, "APP_ENV": "production", "SECRET_KEY": "bench-" + os.urandom(8).hex(),
                    "INSTANCE_PATH": str(bodies / "instance"), **{k: str(v) for k, v in env.items()}}
        self.process = None

    def __enter__(self):
        command = [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--worker-class", "gthread",
                   "--threads", str(SERVER_THREADS), "--keep-alive", "30", "--bind", f"127.0.0.1:{self.port}",
                   "--chdir", str(ROOT), "--log-level", "warning", "bench.serve:app"]
        self.process = subprocess.Popen(command, env=self.env, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            try:
                status, _ = fetch(self.port, "GET", "/_baseline/ping")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer within 60 seconds")

    def __exit__(self, *exc):
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def fetch(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    """One request on a fresh connection: (status, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@dataclass
class Run:
    """Requests completed in a measurement: their latencies (seconds) and the time taken."""

    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, other: "Run") -> None:
        self.latencies += other.latencies
        self.seconds += other.seconds

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[int(p) - 1]


def drive(port: int, request_for, seconds: float, clients: int, expect: int) -> Run:
    """`clients` threads send `request_for(client, n) -> (method, path, body, headers)` until the time is up.

    Every answer must have status `expect`; anything else stops the benchmark.
    """
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[str] = []
    deadline = time.perf_counter() + seconds

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        n = 0
        try:
            while time.perf_counter() < deadline and not failures:
                method, path, body, headers = request_for(i, n)
                started = time.perf_counter()
                try:
                    conn.request(method, path, body=body, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                except (http.client.HTTPException, OSError):
                    conn.close()  # the server closed a kept-alive connection: open another and go on
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    continue
                latencies[i].append(time.perf_counter() - started)
                if response.status != expect:
                    failures.append(f"{method} {path}: {response.status} {data[:300]!r}")
                if response.will_close:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                n += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"unexpected answer: {failures[0]}")
    return Run([x for per_client in latencies for x in per_client], elapsed)


def compare(port: int, real, baseline, seconds: float, clients: int, rounds: int, expect: int = 200,
            warmup: float = 1.0) -> tuple[Run, Run]:
    """The real endpoint and its baseline, warmed up, then in `rounds` alternations sharing `seconds` each."""
    drive(port, real, warmup, clients, expect)
    drive(port, baseline, warmup, clients, expect)
    totals = Run(), Run()
    for _ in range(rounds):
        totals[0].add(drive(port, real, seconds / rounds, clients, expect))
        totals[1].add(drive(port, baseline, seconds / rounds, clients, expect))
    return totals


HEADER = (f"{'database':<11} {'endpoint':<30} {'real/s':>7} {'base/s':>7} {'ratio':>6}  "
          f"{'p50 ms':>13} {'ratio':>6}  {'p99 ms':>13} {'ratio':>6}")


def row(database: str, endpoint: str, real: Run, baseline: Run) -> str:
    """Throughput as real/baseline; latency as baseline/real, so that for all three higher is better."""
    ratio = real.throughput / baseline.throughput
    p50, p50_base = real.percentile(50) * 1000, baseline.percentile(50) * 1000
    p99, p99_base = real.percentile(99) * 1000, baseline.percentile(99) * 1000
    flag = "" if min(ratio, p50_base / p50, p99_base / p99) >= 0.5 else "  below the 0.5 goal"
    return (f"{database:<11} {endpoint:<30} {real.throughput:>7.0f} {baseline.throughput:>7.0f} {ratio:>6.2f}  "
            f"{p50:>6.1f}/{p50_base:<6.1f} {p50_base / p50:>6.2f}  {p99:>6.1f}/{p99_base:<6.1f} "
            f"{p99_base / p99:>6.2f}{flag}")
