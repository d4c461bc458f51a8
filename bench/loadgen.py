"""What the HTTP benchmarks share: gunicorn serving bench/serve.py, a keep-alive load driver, the figures,
their options and the run over both databases.

Load comes from threads of the benchmark process, each with its own keep-alive
`http.client` connection to 127.0.0.1, for a bounded time. A measurement is the
real endpoint and its baseline in alternating rounds, so drift on a noisy
machine hits both alike; given the server's pid, it also takes the CPU time the
server spends on a request of each.
"""

import argparse
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2
# One request at a time in each worker, as the sync workers of a deployment (README) take them; gthread
# rather than sync because it keeps connections alive (a sync worker closes each one). --threads changes it.
SERVER_THREADS = 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn with WORKERS processes serving bench.serve:app on a free loopback port, for a `with` block."""

    def __init__(self, database_url: str, bodies: Path, threads: int = SERVER_THREADS, **env):
        self.port, self.threads = free_port(), threads
        self.env = {
            **os.environ,
            "BENCH_DATABASE_URL": database_url,
            "BENCH_BODIES": str(bodies),
            "DATABASE_URL": database_url,
            "APP_ENV": "production",
            "SECRET_KEY": "bench-" + os.urandom(8).hex(),
            "INSTANCE_PATH": str(bodies / "instance"),
            **{k: str(v) for k, v in env.items()},
        }
        self.process = None

    def __enter__(self):
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(WORKERS),
            "--worker-class",
            "gthread",
            "--threads",
            str(self.threads),
            "--keep-alive",
            "30",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--chdir",
            str(ROOT),
            "--log-level",
            "warning",
            "bench.serve:app",
        ]
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
    server_cpu: float | None = 0.0  # seconds of the server's CPU spent in the run; None where unknown

    def add(self, other: "Run") -> None:
        self.latencies += other.latencies
        self.seconds += other.seconds
        self.server_cpu = (
            None if self.server_cpu is None or other.server_cpu is None else self.server_cpu + other.server_cpu
        )

    @property
    def cpu_ms(self) -> float | None:
        """The server's CPU time a request, in milliseconds; None where unknown."""
        if not self.server_cpu or not self.latencies:
            return None
        return self.server_cpu * 1000 / len(self.latencies)

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


def compare(
    port: int,
    real,
    baseline,
    seconds: float,
    clients: int,
    rounds: int,
    expect: int = 200,
    warmup: float = 1.0,
    server_pid: int | None = None,
) -> tuple[Run, Run]:
    """The real endpoint and its baseline, warmed up, then in `rounds` alternations sharing `seconds` each.

    Given the gunicorn's pid, each Run also has the server's CPU time (`cpu_ms` a request). On a
    machine shared with other work the throughput ratio swings with the other load and with how
    the kept-alive connections happen to fall between the two workers (each held by one process
    for the whole of a round); the CPU the server spends on a request moves less.
    """
    drive(port, real, warmup, clients, expect)
    drive(port, baseline, warmup, clients, expect)
    totals = Run(), Run()
    for _ in range(rounds):
        for total, request_for in zip(totals, (real, baseline)):
            before = server_cpu(server_pid) if server_pid else None
            run = drive(port, request_for, seconds / rounds, clients, expect)
            after = server_cpu(server_pid) if server_pid else None
            run.server_cpu = None if before is None or after is None else after - before
            total.add(run)
    return totals


def server_cpu(pid: int) -> float | None:
    """CPU seconds used so far by gunicorn (`pid`) and its workers, from Linux's /proc; None where unknown."""
    try:
        pids = [str(pid)]
        for task in os.listdir(f"/proc/{pid}/task"):
            pids += Path(f"/proc/{pid}/task/{task}/children").read_text().split()
        total = 0
        for each in pids:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


HEADER = (
    f"{'database':<11} {'endpoint':<30} {'real/s':>7} {'base/s':>7} {'ratio':>6}  "
    f"{'p50 ms':>13} {'ratio':>6}  {'p99 ms':>13} {'ratio':>6}"
)


def cpu_note(real: Run, baseline: Run) -> str:
    """The server's CPU time a request, real / baseline, for printing beside a row; empty where unknown."""
    if real.cpu_ms is None or baseline.cpu_ms is None:
        return ""
    return (
        f"server CPU a request {real.cpu_ms:.2f} / {baseline.cpu_ms:.2f} ms, ratio {baseline.cpu_ms / real.cpu_ms:.2f}"
    )


def row(database: str, endpoint: str, real: Run, baseline: Run) -> str:
    """Throughput as real/baseline; latency as baseline/real, so that for all three higher is better."""
    ratio = real.throughput / baseline.throughput
    p50, p50_base = real.percentile(50) * 1000, baseline.percentile(50) * 1000
    p99, p99_base = real.percentile(99) * 1000, baseline.percentile(99) * 1000
    flag = "" if min(ratio, p50_base / p50, p99_base / p99) >= 0.5 else "  below the 0.5 goal"
    return (
        f"{database:<11} {endpoint:<30} {real.throughput:>7.0f} {baseline.throughput:>7.0f} {ratio:>6.2f}  "
        f"{p50:>6.1f}/{p50_base:<6.1f} {p50_base / p50:>6.2f}  {p99:>6.1f}/{p99_base:<6.1f} "
        f"{p99_base / p99:>6.2f}{flag}"
    )


def load_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options every HTTP benchmark takes: --seconds, --clients, --rounds, --threads, --only."""
    parser.add_argument("--seconds", type=float, default=8.0, help="per measurement, split over the rounds")
    parser.add_argument("--clients", type=int, default=8, help="load threads, each with a keep-alive connection")
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="real/baseline alternations per measurement, each "
        "on new connections (which fall between the workers anew)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=SERVER_THREADS,
        help="threads of each gunicorn worker (1: one request at a time, as a sync worker)",
    )
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    return parser


def on_each_database(bench_database, args, scratch_name: str) -> list[str]:
    """`bench_database(name, url, args)` on SQLite in a temporary file, then on PostgreSQL in a scratch
    database beside BENCH_POSTGRES_URL (skipped when unreachable), as --only says; the rows they return."""
    from bench.common import POSTGRES_URL, postgres_reachable
    from tests.databases import scratch_database

    rows = []
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            rows += bench_database("SQLite", f"sqlite:///{tmp}/bench.db", args)
    if args.only in (None, "postgresql"):
        if postgres_reachable(POSTGRES_URL):
            with scratch_database(POSTGRES_URL, f"{scratch_name}_{os.getpid()}") as url:
                rows += bench_database("PostgreSQL", url, args)
        else:
            print(f"PostgreSQL not reachable at {POSTGRES_URL}: skipped")
    return rows


def print_rows(what: str, args, rows: list[str]) -> None:
    """The rows of every database under one header, after the run."""
    print(
        f"\n{what} under gunicorn ({WORKERS} workers of {args.threads} thread{'s' * (args.threads > 1)}), "
        f"{args.clients} keep-alive clients; "
        "ratios: throughput real/baseline, latency baseline/real"
    )
    print(HEADER)
    for line in rows:
        print(line)
