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
             /healthz turns 200 within RECOVERY_POLLS polls, everything works again,
             and the seat map holds exactly the seats booked while the database was up.

Needs MariaDB/MySQL on 127.0.0.1:3306 as root with an empty password (CI_MYSQL_HOST,
CI_MYSQL_PORT, CI_MYSQL_USER and CI_MYSQL_PASSWORD override that). It creates its own
database `ci_outage_<pid>_<random>` and drops it at the end.
"""

import contextlib
import functools
import os
import secrets
import shutil
import socket
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

DB_CONNECT_TIMEOUT_SECONDS = 2
CLIENT_TIMEOUT_SECONDS = 15
OUTAGE_BOUND_SECONDS = 10
RECOVERY_POLLS = 20
RECOVERY_POLL_INTERVAL_SECONDS = 0.5
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


def server_env(db_name: str, db_host: str, db_port: int) -> dict:
    return harness.mysql_env(
        db_name,
        db_host=db_host,
        db_port=db_port,
        DB_CONNECT_TIMEOUT_SECONDS=str(DB_CONNECT_TIMEOUT_SECONDS),
        DB_CONN_MAX_AGE_SECONDS="60",  # pooled connections: the outage must kill them
        REDIS_URL="",  # throttles in local memory: only the database goes down here
        THROTTLE_LOGIN="100/min",
    )


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
        say(f"\n== recovery: proxy back on 127.0.0.1:{proxy.port}; polling /healthz")
        for attempt in range(1, RECOVERY_POLLS + 1):
            reply = call(server.port, "GET", "/healthz")
            if reply.status == 200:
                say(f"  /healthz 200 after {attempt} poll(s)")
                break
            time.sleep(RECOVERY_POLL_INTERVAL_SECONDS)
        else:
            report.fail(f"recovery: /healthz not 200 after {RECOVERY_POLLS} polls")
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


if __name__ == "__main__":
    harness.run_check(main)
