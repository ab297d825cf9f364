"""CI check: a database outage gives fast JSON 503s, and the service recovers by itself.

Run from anywhere: `.venv/bin/python scripts/outage_check.py` (exit status 0 = all good).

The real MariaDB is never touched: gunicorn reaches it through a TCP proxy that runs
inside this script, and "the database goes down" means the proxy stops (its listening
socket and every forwarded connection close, so pooled connections die too).

1. up:       /healthz 200, catalogue reads 200, login 200, my-bookings 200, book 201.
2. outage:   the same requests (twice, so both gunicorn workers are hit: each first
             on its dead pooled connection, then on a refused new one) are each a
             503 within OUTAGE_BOUND_SECONDS; /api/ ones are JSON `service_unavailable`,
             /healthz is JSON too. Never a 500, an HTML page or a hang.
3. silent:   the proxy listens again but never answers (a partitioned or frozen host):
             the same 503s, each bounded by DB_CONNECT_TIMEOUT_SECONDS.
4. recovery: the proxy forwards again on the same port; without restarting gunicorn,
             /healthz turns 200 within RECOVERY_POLLS polls, every endpoint within
             DB_BREAKER_SECONDS more (each worker's breaker probes again), and the seat
             map holds exactly the seats booked while the database was up.
5. frozen:   a MariaDB of our own (scripts/private_servers.py) is SIGSTOPped under a
             gunicorn whose workers hold pooled connections to it: for FROZEN_SECONDS,
             requests are sent one after another. Every answer is a JSON 503; /healthz
             within HEALTHZ_BOUND_SECONDS every time; at most one slow answer per worker
             (the one that finds the database frozen: DB_READ_TIMEOUT_SECONDS on its
             pooled connection + DB_CONNECT_TIMEOUT_SECONDS to reconnect), every other
             one within FAST_BOUND_SECONDS (the breaker). SIGCONT: all 200 again within
             DB_BREAKER_SECONDS + RECOVERY_MARGIN_SECONDS, no restart.
6. redis:    a redis-server of our own under the rate limits (REDIS_URL, limits on but
             never reached): its latency is measured up, then SIGSTOPped (frozen), then
             killed (gone). Every request still answers 200, none slower than
             REDIS_BOUND_SECONDS, the median stays near the healthy one, and the log says
             so at most once per worker per phase, with no traceback.

Latencies before and during each outage are printed. The settings under test are given
explicitly (settings.py's defaults), so that a developer's .env cannot change the check.

Needs MariaDB/MySQL on 127.0.0.1:3306 as root with an empty password (CI_MYSQL_HOST,
CI_MYSQL_PORT, CI_MYSQL_USER and CI_MYSQL_PASSWORD override that), and Debian's
mariadb-server (mariadb-install-db) and redis-server for the private servers of phases 5
and 6 (the machine's own MariaDB and Redis are never frozen). It creates its own
database `ci_outage_<pid>_<random>` and drops it at the end.
"""

import contextlib
import functools
import os
import secrets
import shutil
import socket
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import harness
from harness import (
    GUNICORN_WORKERS,
    MYSQL_HOST,
    MYSQL_PORT,
    Reply,
    Server,
    hold_signals,
    migrate,
    mysql_admin,
    say,
    setup_django,
)
from private_servers import PrivateMariaDB, PrivateRedis

HEALTHZ_REUSE_SECONDS = 1.0  # booking/views/operations.py

# The settings under test: settings.py's defaults, given explicitly (a .env would win).
TIMEOUT_SETTINGS = {
    "DB_CONNECT_TIMEOUT_SECONDS": 2,
    "DB_READ_TIMEOUT_SECONDS": 5,
    "DB_PROBE_TIMEOUT_SECONDS": 1,
    "DB_BREAKER_SECONDS": 2,
    "REDIS_SOCKET_TIMEOUT_SECONDS": 0.25,
    "REDIS_BREAKER_SECONDS": 5,
}
DB_CONNECT_TIMEOUT_SECONDS = TIMEOUT_SETTINGS["DB_CONNECT_TIMEOUT_SECONDS"]
DB_READ_TIMEOUT_SECONDS = TIMEOUT_SETTINGS["DB_READ_TIMEOUT_SECONDS"]
DB_BREAKER_SECONDS = TIMEOUT_SETTINGS["DB_BREAKER_SECONDS"]
CLIENT_TIMEOUT_SECONDS = 30
OUTAGE_BOUND_SECONDS = 10
RECOVERY_POLLS = 20
RECOVERY_POLL_INTERVAL_SECONDS = 0.5
RECOVERY_MARGIN_SECONDS = 3
# Phase 5: the frozen database.
FROZEN_SECONDS = 12
HEALTHZ_BOUND_SECONDS = 2.0  # DB_PROBE_TIMEOUT_SECONDS plus the request's own time
FAST_BOUND_SECONDS = 2.0  # an answer from the breaker, or from its probe
SLOW_BOUND_SECONDS = DB_READ_TIMEOUT_SECONDS + DB_CONNECT_TIMEOUT_SECONDS + 2
PAUSE_BETWEEN_REQUESTS_SECONDS = 0.1
# Phase 6: Redis frozen and gone.
REDIS_REQUESTS = 40
REDIS_BOUND_SECONDS = 1.0  # one socket timeout (0.25 s) per call, never a second one
REDIS_MEDIAN_MARGIN_SECONDS = 0.05
TOTAL_SEATS = 40
PASSWORD = "outage-check-" + secrets.token_urlsafe(12)

# A request that hangs fails the check soon after OUTAGE_BOUND_SECONDS.
call = functools.partial(harness.call, timeout=CLIENT_TIMEOUT_SECONDS)


# --- The database: a proxy in front of the real server ----------------------------------


class TcpProxy:
    """Forward 127.0.0.1:<port> to the database; stop() is an outage, start() the cure."""

    ACCEPT_POLL_SECONDS = 0.2

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.port = 0
        self.silent = False
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._stopped = threading.Event()
        self._acceptor: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._listener is not None

    def start(self, port: int = 0, *, silent: bool = False) -> None:
        """Listen on port (0: any free one); silent: accept, but never answer."""
        self.silent = silent
        listener = socket.socket()
        # Reuse the port at once although the connections we just killed sit in TIME_WAIT.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for attempt in range(20):
            try:
                listener.bind(("127.0.0.1", port))
                break
            except OSError:
                if attempt == 19:
                    listener.close()
                    raise
                time.sleep(0.25)
        listener.listen(64)
        listener.settimeout(self.ACCEPT_POLL_SECONDS)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._stopped = threading.Event()
        self._acceptor = threading.Thread(
            target=self._accept_loop, args=(listener, self._stopped), daemon=True
        )
        self._acceptor.start()

    def stop(self) -> int:
        """Close the listener and every forwarded connection; return how many died."""
        if self._listener is None:
            return 0
        self._stopped.set()
        if self._acceptor is not None:
            self._acceptor.join(timeout=2)
        self._listener.close()
        self._listener = None
        with self._lock:
            doomed = list(self._sockets)
            self._sockets.clear()
        for sock in doomed:
            self._kill(sock)
        return len(doomed) if self.silent else len(doomed) // 2

    def _accept_loop(self, listener: socket.socket, stopped: threading.Event) -> None:
        while not stopped.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            if self.silent:  # a database host that accepts TCP but never says hello
                with self._lock:
                    self._sockets.add(client)
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                self._kill(client)
                continue
            with self._lock:
                if stopped.is_set():
                    self._kill(client)
                    self._kill(upstream)
                    return
                self._sockets.update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._sockets.discard(src)
                self._sockets.discard(dst)
            self._kill(src)
            self._kill(dst)

    @staticmethod
    def _kill(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)  # wakes up the pump blocked in recv()
        sock.close()


# --- The check --------------------------------------------------------------------------


@dataclass
class Probe:
    label: str
    method: str
    path: str
    body: dict | None = None
    auth: bool = False
    expected: int = 200


@dataclass
class Report:
    failures: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.failures.append(message)


def server_env(db_name: str, db_host: str, db_port: int, **settings: str) -> dict:
    """The settings under test; settings override them."""
    defaults = {
        **{name: str(value) for name, value in TIMEOUT_SETTINGS.items()},
        "DB_CONN_MAX_AGE_SECONDS": "60",  # pooled connections: the outage must kill them
        "REDIS_URL": "",  # throttles in local memory: only the database goes down here
        "THROTTLE_LOGIN": "100/min",
    }
    return harness.mysql_env(db_name, db_host=db_host, db_port=db_port, **{**defaults, **settings})


def seed(env: dict) -> tuple[int, str]:
    """Create a movie, an upcoming show and a user through the services; return ids."""
    setup_django(env)
    from django.db import connections
    from django.utils import timezone

    from booking import services

    movie = services.create_movie(
        title="Outage Check", duration_minutes=100, genre="Drama", language="English"
    )
    show = services.create_show(
        movie=movie,
        screen_name="Screen 1",
        start_time=timezone.now() + timedelta(days=7),
        total_seats=TOTAL_SEATS,
        price=Decimal("250.00"),
    )
    user = services.create_user(
        username="outage_user", email="outage_user@example.com", password=PASSWORD
    )
    connections.close_all()
    return show.pk, user.username


def run_probes(port: int, probes: list[Probe], token: str) -> list[tuple[Probe, Reply]]:
    return [
        (probe, call(port, probe.method, probe.path, body=probe.body, token=token * probe.auth))
        for probe in probes
    ]


def print_table(title: str, rows: list[tuple[Probe, Reply]]) -> None:
    say(f"\n{title}")
    say(f"  {'endpoint':<34} {'expect':>6} {'status':>6}  {'code':<22} {'seconds':>7}")
    for probe, reply in rows:
        status = reply.status if reply.status is not None else "-"
        code = reply.code or ("(json)" if reply.is_json else "(not json)")
        if reply.error:
            code = reply.error[:40]
        say(
            f"  {probe.label:<34} {probe.expected:>6} {status!s:>6}  {code:<22} "
            f"{reply.seconds:>7.2f}"
        )


def check_up(rows, report: Report, phase: str) -> None:
    for probe, reply in rows:
        if reply.status != probe.expected:
            report.fail(
                f"{phase}: {probe.label} answered {reply.status or reply.error}, "
                f"expected {probe.expected}: {reply.body[:200]!r}"
            )


def check_outage(rows, report: Report, phase: str) -> None:
    for probe, reply in rows:
        where = f"{phase}: {probe.label}"
        if reply.status is None:
            report.fail(f"{where} got no answer ({reply.error}) after {reply.seconds:.1f}s")
            continue
        if reply.seconds >= OUTAGE_BOUND_SECONDS:
            report.fail(f"{where} took {reply.seconds:.1f}s (bound {OUTAGE_BOUND_SECONDS}s)")
        if reply.status != 503:
            report.fail(f"{where} answered {reply.status}, expected 503: {reply.body[:200]!r}")
        if not reply.is_json:
            report.fail(f"{where} is not JSON: {reply.headers.get('content-type')!r}")
        elif probe.path.startswith("/api/") and reply.code != "service_unavailable":
            report.fail(f"{where} has code {reply.code!r}, expected 'service_unavailable'")


def main() -> int:
    started = time.monotonic()
    report = Report()
    db_name = f"ci_outage_{os.getpid()}_{secrets.token_hex(3)}"
    log_dir = Path(tempfile.mkdtemp(prefix="ci_outage_"))
    proxy = TcpProxy((MYSQL_HOST, MYSQL_PORT))
    server: Server | None = None
    db_created = False
    try:
        say(f"== database {db_name} on {MYSQL_HOST}:{MYSQL_PORT}: create, migrate, seed")
        mysql_admin(f"CREATE DATABASE `{db_name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        db_created = True
        direct_env = server_env(db_name, MYSQL_HOST, MYSQL_PORT)
        migrate(direct_env)
        show_id, username = seed(direct_env)

        proxy.start()
        say(f"== TCP proxy 127.0.0.1:{proxy.port} -> {MYSQL_HOST}:{MYSQL_PORT}")
        env = server_env(db_name, "127.0.0.1", proxy.port)
        server = Server("api", env, log_dir)
        server.start()
        say(
            f"== gunicorn on 127.0.0.1:{server.port} ({GUNICORN_WORKERS} workers), "
            f"DB_PORT={proxy.port}, DB_CONNECT_TIMEOUT_SECONDS={DB_CONNECT_TIMEOUT_SECONDS}"
        )

        login_body = {"username": username, "password": PASSWORD}

        def probes(seat: int, expected_ok: bool, suffix: str = "") -> list[Probe]:
            ok = 200 if expected_ok else 503
            return [
                Probe(f"GET /healthz{suffix}", "GET", "/healthz", expected=ok),
                Probe(f"GET /api/movies/{suffix}", "GET", "/api/movies/", expected=ok),
                Probe(f"GET /api/shows/{suffix}", "GET", "/api/shows/", expected=ok),
                Probe(
                    f"POST /api/login/{suffix}", "POST", "/api/login/", body=login_body, expected=ok
                ),
                Probe(
                    f"GET /api/my-bookings/{suffix}",
                    "GET",
                    "/api/my-bookings/",
                    auth=True,
                    expected=ok,
                ),
                Probe(
                    f"POST /api/shows/{show_id}/book/ [{seat}]{suffix}",
                    "POST",
                    f"/api/shows/{show_id}/book/",
                    body={"seat_number": seat},
                    auth=True,
                    expected=201 if expected_ok else 503,
                ),
            ]

        # 1. Up: a token first, then every probe works.
        token_reply = call(server.port, "POST", "/api/login/", body=login_body)
        token = (token_reply.json() or {}).get("access", "")
        if token_reply.status != 200 or not token:
            raise RuntimeError(f"login failed before the outage: {token_reply.body[:300]!r}")
        rows = run_probes(server.port, probes(seat=1, expected_ok=True), token)
        print_table("phase 1: database up", rows)
        check_up(rows, report, "up")

        # 2. Outage: the listener and every forwarded (pooled) connection go away.
        killed = proxy.stop()
        say(f"\n== outage: proxy stopped, {killed} forwarded database connection(s) killed")
        # Each process's /healthz repeats a success for HEALTHZ_REUSE_SECONDS (a flood of
        # health checks must not become a flood of connections): let phase 1's lapse, so
        # that what follows is the outage as every worker sees it.
        time.sleep(HEALTHZ_REUSE_SECONDS)
        rows = []
        for round_number in (1, 2):  # each worker's first request meets its dead connection
            rows += run_probes(server.port, probes(2, False, f" #{round_number}"), token)
        print_table("phase 2: database unreachable", rows)
        check_outage(rows, report, "outage")
        slowest = max(reply.seconds for _, reply in rows)
        say(f"  slowest outage answer: {slowest:.2f}s (bound {OUTAGE_BOUND_SECONDS}s)")

        # 3. Silent database: the port accepts connections that never get a greeting, as
        # when the host is partitioned away or frozen. DB_CONNECT_TIMEOUT_SECONDS bounds
        # each new connection (phase 2 left none pooled).
        proxy.start(proxy.port, silent=True)
        say(f"\n== silent database: 127.0.0.1:{proxy.port} accepts, never answers")
        rows = run_probes(server.port, probes(2, False), token)
        print_table("phase 3: database silent (connect timeout)", rows)
        check_outage(rows, report, "silent")
        say(
            f"  slowest answer: {max(reply.seconds for _, reply in rows):.2f}s "
            f"(DB_CONNECT_TIMEOUT_SECONDS={DB_CONNECT_TIMEOUT_SECONDS}, "
            f"bound {OUTAGE_BOUND_SECONDS}s)"
        )
        proxy.stop()

        # 4. Recovery: same port, same gunicorn.
        proxy.start(proxy.port)
        back_at = time.monotonic()
        say(f"\n== recovery: proxy back on 127.0.0.1:{proxy.port}; polling /healthz")
        for attempt in range(1, RECOVERY_POLLS + 1):
            reply = call(server.port, "GET", "/healthz")
            if reply.status == 200:
                say(f"  /healthz 200 after {attempt} poll(s)")
                break
            time.sleep(RECOVERY_POLL_INTERVAL_SECONDS)
        else:
            report.fail(f"recovery: /healthz not 200 after {RECOVERY_POLLS} polls")
        # Each worker's breaker may still be open for up to DB_BREAKER_SECONDS after the
        # database came back; then its next request probes and finds it. gunicorn does not
        # spread sequential requests over its workers, so a run of 200s can come from one
        # worker while another's breaker is still open: let the breakers' interval pass
        # first, then wait for a run of 200s.
        time.sleep(max(0.0, back_at + DB_BREAKER_SECONDS + 0.2 - time.monotonic()))
        waited = wait_for_api(server.port, DB_BREAKER_SECONDS + RECOVERY_MARGIN_SECONDS)
        if waited is None:
            report.fail("recovery: the API did not answer 200 again after /healthz did")
        else:
            say(f"  /api/movies/ 200 on every worker {waited:.2f}s after /healthz 200")
        rows = []
        for round_number, seat in ((1, 3), (2, 4)):  # twice: both workers must have recovered
            rows += run_probes(server.port, probes(seat, True, f" #{round_number}"), token)
        print_table("phase 4: database back", rows)
        check_up(rows, report, "recovery")

        # Nothing was booked while the database was away: exactly seats 1, 3 and 4.
        seat_map = call(server.port, "GET", f"/api/shows/{show_id}/seats/").json() or {}
        booked = seat_map.get("booked_seats")
        say(f"\n  booked seats after recovery: {booked} (expected [1, 3, 4])")
        if booked != [1, 3, 4]:
            report.fail(f"recovery: booked seats are {booked}, expected [1, 3, 4]")

        server.stop()
        frozen_database_phase(report, log_dir)
        redis_phase(report, db_name, log_dir)
    except Exception as exc:  # noqa: BLE001 - a setup failure is a failed check, with why
        report.fail(f"{type(exc).__name__}: {exc}")
    finally:
        hold_signals()
        if server is not None:
            server.stop()
        proxy.stop()
        if db_created:
            try:
                mysql_admin(f"DROP DATABASE IF EXISTS `{db_name}`")
            except Exception as exc:  # noqa: BLE001 - cleanup must not hide the result
                say(f"warning: could not drop {db_name}: {exc}")

    elapsed = time.monotonic() - started
    if report.failures:
        say(f"\nFAILED ({len(report.failures)}) in {elapsed:.1f}s:")
        for failure in report.failures:
            say(f"  - {failure}")
        if server is not None:
            say(f"\nlast lines of {server.log_path}:\n{server.log_tail()}")
        return 1
    shutil.rmtree(log_dir, ignore_errors=True)
    say(f"\nOK: outage answered 503 fast, recovery without restart ({elapsed:.1f}s)")
    return 0


# --- Phases 5 and 6: a frozen database, a frozen and a dead Redis ------------------------


def wait_for_api(port: int, deadline_seconds: float) -> float | None:
    """Poll /api/movies/ until it answers 200 several times running; return the wait."""
    started = time.monotonic()
    in_a_row = 0
    while time.monotonic() - started < deadline_seconds:
        in_a_row = in_a_row + 1 if call(port, "GET", "/api/movies/").status == 200 else 0
        if in_a_row >= 2 * GUNICORN_WORKERS:
            return time.monotonic() - started
        time.sleep(0.1)
    return None


def latency_summary(seconds: list[float]) -> str:
    if not seconds:
        return "no requests"
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"{len(ordered)} requests: median {statistics.median(ordered) * 1000:.1f} ms, "
        f"p95 {p95 * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms"
    )


def frozen_database_phase(report: Report, log_dir: Path) -> None:
    """Phase 5: SIGSTOP a private mariadbd under a gunicorn with pooled connections."""
    database = PrivateMariaDB()
    server: Server | None = None
    try:
        say("\n== phase 5: a frozen database (SIGSTOP of a private mariadbd)")
        database.start()
        database.execute("CREATE DATABASE frozen CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        env = server_env("frozen", "127.0.0.1", database.port)
        migrate(env)
        server = Server("frozen", env, log_dir)
        server.start()
        say(
            f"  mariadbd pid {database.proc.pid} on 127.0.0.1:{database.port}, gunicorn on "
            f":{server.port}; " + ", ".join(f"{k}={v}" for k, v in TIMEOUT_SETTINGS.items())
        )
        paths = ["/api/movies/", "/api/shows/", "/healthz"]
        healthy = [call(server.port, "GET", path) for path in paths * 4]  # pools every worker
        say(f"  up:     {latency_summary([r.seconds for r in healthy])}")
        for reply in healthy:
            if reply.status != 200:
                report.fail(f"frozen: before the freeze a request answered {reply.status}")

        database.freeze()
        say(f"  frozen: SIGSTOP {database.proc.pid}; one request after another, {FROZEN_SECONDS}s")
        rows: list[tuple[str, float, Reply]] = []
        started = time.monotonic()
        while time.monotonic() - started < FROZEN_SECONDS:
            path = paths[len(rows) % len(paths)]
            at = time.monotonic() - started
            rows.append((path, at, call(server.port, "GET", path)))
            time.sleep(PAUSE_BETWEEN_REQUESTS_SECONDS)
        check_frozen(rows, report)

        database.thaw()
        say(f"  thawed: SIGCONT {database.proc.pid}")
        waited = wait_for_api(server.port, DB_BREAKER_SECONDS + RECOVERY_MARGIN_SECONDS)
        if waited is None:
            report.fail(
                f"frozen: the API did not answer 200 within "
                f"{DB_BREAKER_SECONDS + RECOVERY_MARGIN_SECONDS}s of SIGCONT"
            )
        else:
            say(f"  every worker answers 200 again {waited:.2f}s after SIGCONT (no restart)")
    finally:
        if server is not None:
            server.stop()
        database.cleanup()


def check_frozen(rows: list[tuple[str, float, Reply]], report: Report) -> None:
    say(f"  {'at':>6}  {'request':<14} {'status':>6}  {'code':<22} {'seconds':>7}")
    for path, at, reply in rows:
        code = reply.code or ("(json)" if reply.is_json else reply.error[:22] or "(not json)")
        status = reply.status or "-"
        say(f"  {at:>5.1f}s  {path:<14} {status!s:>6}  {code:<22} {reply.seconds:>7.2f}")
        where = f"frozen: {path} at {at:.1f}s"
        if reply.status != 503 or not reply.is_json:
            report.fail(f"{where} answered {reply.status or reply.error}, expected a JSON 503")
        elif path.startswith("/api/") and reply.code != "service_unavailable":
            report.fail(f"{where} has code {reply.code!r}, expected 'service_unavailable'")
        if path == "/healthz" and reply.seconds > HEALTHZ_BOUND_SECONDS:
            report.fail(f"{where} took {reply.seconds:.2f}s (bound {HEALTHZ_BOUND_SECONDS}s)")
        if reply.seconds > SLOW_BOUND_SECONDS:
            report.fail(f"{where} took {reply.seconds:.2f}s (bound {SLOW_BOUND_SECONDS}s)")
    slow = [reply for _, _, reply in rows if reply.seconds > FAST_BOUND_SECONDS]
    fast = [reply.seconds for _, _, reply in rows if reply.seconds <= FAST_BOUND_SECONDS]
    healthz = [reply.seconds for path, _, reply in rows if path == "/healthz"]
    say(f"  frozen, all:     {latency_summary([reply.seconds for _, _, reply in rows])}")
    say(f"  frozen, /healthz: {latency_summary(healthz)}")
    say(
        f"  {len(slow)} slow answer(s) (> {FAST_BOUND_SECONDS}s: a worker finding the freeze), "
        f"{len(fast)} fast ones: {latency_summary(fast)}"
    )
    if len(slow) > GUNICORN_WORKERS:
        report.fail(
            f"frozen: {len(slow)} answers slower than {FAST_BOUND_SECONDS}s; at most one per "
            f"worker ({GUNICORN_WORKERS}) was expected, the breaker answering the rest"
        )


def redis_phase(report: Report, db_name: str, log_dir: Path) -> None:
    """Phase 6: the rate limits' Redis frozen, then gone; the API pays a bounded cost."""
    redis = PrivateRedis()
    server: Server | None = None
    try:
        say("\n== phase 6: Redis frozen (SIGSTOP), then gone (killed)")
        redis.start()
        # Rate limits on (so every request reads and writes Redis), never reached.
        limits = {f"THROTTLE_{scope}": "100000/min" for scope in harness.THROTTLE_SCOPES}
        env = server_env(db_name, MYSQL_HOST, MYSQL_PORT, REDIS_URL=redis.url, **limits)
        server = Server("redis", env, log_dir)
        server.start()
        say(f"  redis-server pid {redis.proc.pid} at {redis.url}, gunicorn on :{server.port}")

        def measure(label: str) -> list[float]:
            replies = [call(server.port, "GET", "/api/movies/") for _ in range(REDIS_REQUESTS)]
            for reply in replies:
                if reply.status != 200:
                    report.fail(
                        f"redis {label}: /api/movies/ answered {reply.status or reply.error}"
                    )
            seconds = [reply.seconds for reply in replies]
            say(f"  {label:<7} {latency_summary(seconds)}")
            return seconds

        healthy = statistics.median(measure("up:"))
        log_lines = len(server.log_path.read_text(errors="replace").splitlines())
        redis.freeze()
        frozen = measure("frozen:")
        redis.thaw()
        time.sleep(TIMEOUT_SETTINGS["REDIS_BREAKER_SECONDS"])  # let the breakers close again
        measure("thawed:")
        redis.kill()
        gone = measure("gone:")
        for label, seconds in (("frozen", frozen), ("gone", gone)):
            if max(seconds) > REDIS_BOUND_SECONDS:
                report.fail(
                    f"redis {label}: slowest request {max(seconds):.2f}s "
                    f"(bound {REDIS_BOUND_SECONDS}s)"
                )
            if statistics.median(seconds) > healthy + REDIS_MEDIAN_MARGIN_SECONDS:
                report.fail(
                    f"redis {label}: median {statistics.median(seconds) * 1000:.1f} ms, "
                    f"healthy {healthy * 1000:.1f} ms (margin {REDIS_MEDIAN_MARGIN_SECONDS}s)"
                )

        logged = server.log_path.read_text(errors="replace").splitlines()[log_lines:]
        warnings = [line for line in logged if "WARNING" in line or "ERROR" in line]
        say(f"  log during the Redis outages ({len(warnings)} warning line(s)):")
        for line in warnings:
            say(f"    {line[:160]}")
        if any("Traceback" in line for line in logged):
            report.fail("redis: a traceback was logged during the Redis outage")
        # Per worker: frozen reported, back again, gone reported (one interval each).
        if len(warnings) > 3 * GUNICORN_WORKERS:
            report.fail(f"redis: {len(warnings)} warning lines for {3 * REDIS_REQUESTS} requests")
    finally:
        if server is not None:
            server.stop()
        redis.cleanup()


if __name__ == "__main__":
    harness.run_check(main)
