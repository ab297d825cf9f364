"""CI check: behind nginx, slow clients cannot starve gunicorn; nginx's own errors are JSON.

Run from anywhere: `.venv/bin/python scripts/slowloris_check.py` (exit status 0 = good).

gunicorn (sync workers, GUNICORN_WORKERS of them) runs on a scratch MariaDB database with
production settings, and nginx (deploy/nginx/, rendered and run by scripts/front.py) in
front of it.

1. errors:    through nginx, a garbled request line, a long URL, big headers and a body
              over the limit are answered 400, 414, 431 and 413 in the API's envelope
              (`{"code": "invalid", ...}`); straight to gunicorn, its own 414 and 431 are
              JSON too (gunicorn.conf.py). An unknown /api/ path is still the app's 404.
2. nginx:     for ATTACK_SECONDS, SLOW_HEADER_CONNECTIONS connections send a request head
              one header line every DRIBBLE_SECONDS (slowloris) and SLOW_BODY_CONNECTIONS
              send a body one byte at a time, each reconnecting when dropped, while
              /healthz and /api/movies/ are probed every PROBE_INTERVAL_SECONDS. At least
              MIN_ANSWERED_FRACTION of the probes must answer 200 within
              PROBE_TIMEOUT_SECONDS.
3. bare:      the same attack against gunicorn directly, for comparison: measured and
              printed, not asserted (sync workers are expected to starve: that is why
              gunicorn must not face clients).
4. upstream:  gunicorn stopped: nginx answers 502 `service_unavailable` as JSON.

Standard library only (sockets and threads); needs Debian's nginx and MariaDB/MySQL on
127.0.0.1:3306 as root with an empty password (CI_MYSQL_* override that). Creates the
database `ci_slowloris_<pid>_<random>` and drops it at the end.
"""

import contextlib
import json
import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import harness
from front import NGINX, Nginx
from harness import (
    GUNICORN_WORKERS,
    MYSQL_HOST,
    MYSQL_PORT,
    Server,
    call,
    free_port,
    hold_signals,
    migrate,
    mysql_admin,
    say,
)

ATTACK_SECONDS = 12
SLOW_HEADER_CONNECTIONS = 100
SLOW_BODY_CONNECTIONS = 50
DRIBBLE_SECONDS = 1.0
PROBE_INTERVAL_SECONDS = 0.5
PROBE_TIMEOUT_SECONDS = 2.0
MIN_ANSWERED_FRACTION = 0.9
PROBE_PATHS = ("/healthz", "/api/movies/")
MAX_BODY_KILOBYTES = 64  # the app's MAX_REQUEST_BODY_KILOBYTES default, set explicitly
RAW_TIMEOUT_SECONDS = 5


@dataclass
class Report:
    failures: list[str] = field(default_factory=list)

    def check(self, ok: bool, message: str) -> bool:
        if not ok:
            self.failures.append(message)
            say(f"  FAIL: {message}")
        return ok


# --- Raw HTTP ---------------------------------------------------------------------------


@dataclass
class RawReply:
    status: int | None
    content_type: str
    body: bytes

    @property
    def code(self) -> str:
        try:
            return str(json.loads(self.body).get("code", ""))
        except (ValueError, AttributeError):
            return ""


def send_raw(port: int, data: bytes) -> RawReply:
    """Send bytes as they are (no client library would send these) and read the answer."""
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=RAW_TIMEOUT_SECONDS) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        with contextlib.suppress(OSError):
            while chunk := sock.recv(65536):
                received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return RawReply(None, "", received)
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    return RawReply(status, headers.get("content-type", ""), body)


def check_errors(report: Report, *, nginx_port: int, gunicorn_port: int) -> None:
    host = b"Host: 127.0.0.1\r\n"
    oversized = MAX_BODY_KILOBYTES * 1024 + 1

    def long_url(length: int) -> bytes:
        return b"GET /api/" + b"a" * length + b" HTTP/1.1\r\n" + host + b"\r\n"

    def big_header(length: int) -> bytes:
        return b"GET /api/movies/ HTTP/1.1\r\n" + host + b"X-Big: " + b"a" * length + b"\r\n\r\n"

    big_body = (
        b"POST /api/login/ HTTP/1.1\r\n"
        + host
        + b"Content-Type: application/json\r\n"
        + f"Content-Length: {oversized}\r\n\r\n".encode()
        + b"a" * oversized
    )
    cases = [
        ("nginx", nginx_port, "garbled request line", b"NOT HTTP AT ALL\r\n\r\n", 400),
        ("nginx", nginx_port, "8 KB URL", long_url(8000), 414),
        ("nginx", nginx_port, "8 KB header", big_header(8000), 431),
        ("nginx", nginx_port, f"{oversized}-byte body", big_body, 413),
        ("gunicorn", gunicorn_port, "5 KB URL", long_url(5000), 414),
        ("gunicorn", gunicorn_port, "9 KB header", big_header(9000), 431),
    ]
    say(f"  {'server':<9} {'request':<22} {'expect':>6} {'status':>6}  {'type':<18} code")
    for server, port, label, data, expected in cases:
        reply = send_raw(port, data)
        say(
            f"  {server:<9} {label:<22} {expected:>6} {reply.status or '-'!s:>6}  "
            f"{reply.content_type[:18]:<18} {reply.code}"
        )
        where = f"errors: {label} to {server}"
        report.check(reply.status == expected, f"{where} answered {reply.status}, not {expected}")
        report.check(
            reply.content_type.startswith("application/json") and reply.code == "invalid",
            f"{where} is not JSON `invalid`: {reply.content_type!r} {reply.body[:120]!r}",
        )
    not_found = call(nginx_port, "GET", "/api/no-such-thing/")
    report.check(
        not_found.status == 404 and not_found.code == "not_found",
        f"errors: the app's own 404 did not pass through nginx: {not_found.status}",
    )


# --- The attack -------------------------------------------------------------------------


class Attack:
    """Slow-header and slow-body connections, each thread reconnecting when dropped."""

    def __init__(self, port: int):
        self.port = port
        self.stop = threading.Event()
        self.connections = 0
        self.dropped = 0
        self._lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._slow_headers, daemon=True)
            for _ in range(SLOW_HEADER_CONNECTIONS)
        ] + [
            threading.Thread(target=self._slow_body, daemon=True)
            for _ in range(SLOW_BODY_CONNECTIONS)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=5)

    def _count(self, *, connected: bool) -> None:
        with self._lock:
            if connected:
                self.connections += 1
            else:
                self.dropped += 1

    def _slow_headers(self) -> None:
        head = b"GET /api/movies/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        self._dribble(head, lambda n: b"X-Slowloris-%d: %d\r\n" % (n, n))

    def _slow_body(self) -> None:
        head = (
            b"POST /api/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\n"
            b"Content-Length: 60000\r\n\r\n"
        )
        self._dribble(head, lambda n: b"a")

    def _dribble(self, head: bytes, piece) -> None:
        while not self.stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                    self._count(connected=True)
                    sock.sendall(head)
                    sent = 0
                    while not self.stop.wait(DRIBBLE_SECONDS):
                        sent += 1
                        sock.sendall(piece(sent))
            except OSError:
                self._count(connected=False)  # the server dropped us: come back at once
                self.stop.wait(0.05)


@dataclass
class ProbeResult:
    path: str
    at: float
    status: int | None
    seconds: float

    @property
    def answered(self) -> bool:
        return self.status == 200 and self.seconds <= PROBE_TIMEOUT_SECONDS


def attack_and_probe(port: int, label: str) -> list[ProbeResult]:
    """Run the attack on port for ATTACK_SECONDS while probing; return the probes."""
    attack = Attack(port)
    results: list[ProbeResult] = []
    lock = threading.Lock()

    def probe(path: str, at: float) -> None:
        reply = call(port, "GET", path, timeout=PROBE_TIMEOUT_SECONDS)
        with lock:
            results.append(ProbeResult(path, at, reply.status, reply.seconds))

    attack.start()
    time.sleep(DRIBBLE_SECONDS)  # let every attacking connection get in first
    started = time.monotonic()
    probes = []
    while (at := time.monotonic() - started) < ATTACK_SECONDS:
        for path in PROBE_PATHS:
            thread = threading.Thread(target=probe, args=(path, at), daemon=True)
            thread.start()
            probes.append(thread)
        time.sleep(PROBE_INTERVAL_SECONDS)
    for thread in probes:
        thread.join(timeout=PROBE_TIMEOUT_SECONDS + 5)
    attack.finish()
    answered = sum(result.answered for result in results)
    say(
        f"  {label}: {answered}/{len(results)} probes answered 200 within "
        f"{PROBE_TIMEOUT_SECONDS}s ({answered / max(1, len(results)):.0%}); the attack opened "
        f"{attack.connections} connections ({attack.dropped} dropped by the server)"
    )
    for path in PROBE_PATHS:
        mine = [result for result in results if result.path == path]
        seconds = sorted(result.seconds for result in mine if result.answered)
        slowest = f", slowest {seconds[-1] * 1000:.0f} ms" if seconds else ""
        say(f"    {path:<14} {sum(r.answered for r in mine)}/{len(mine)} answered{slowest}")
    return results


# --- The check --------------------------------------------------------------------------


def main() -> int:
    started = time.monotonic()
    report = Report()
    if not shutil.which("nginx") and not Path(NGINX).exists():
        say("nginx is not installed: apt-get install -y nginx (Debian's package)")
        return 1
    db_name = f"ci_slowloris_{os.getpid()}_{secrets.token_hex(3)}"
    log_dir = Path(tempfile.mkdtemp(prefix="ci_slowloris_"))
    env = harness.mysql_env(
        db_name,
        TRUSTED_PROXY_HOPS="1",  # nginx appends the client's address to X-Forwarded-For
        MAX_REQUEST_BODY_KILOBYTES=str(MAX_BODY_KILOBYTES),
    )
    server = Server("gunicorn", env, log_dir)
    nginx: Nginx | None = None
    db_created = False
    try:
        say(f"== database {db_name} on {MYSQL_HOST}:{MYSQL_PORT}: create, migrate")
        mysql_admin(f"CREATE DATABASE `{db_name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        db_created = True
        server.spawn()  # boots while we migrate: /healthz needs no table
        migrate(env)
        server.wait_ready()
        nginx = Nginx(
            port=free_port(),
            upstream=f"127.0.0.1:{server.port}",
            log_path=log_dir / "nginx.log",
            max_body_kilobytes=MAX_BODY_KILOBYTES,
        )
        nginx.start()
        say(
            f"== gunicorn on :{server.port} ({GUNICORN_WORKERS} sync workers), nginx on "
            f":{nginx.port} in front of it ({time.monotonic() - started:.1f}s)"
        )

        say("\n== 1. errors nginx and gunicorn answer themselves")
        check_errors(report, nginx_port=nginx.port, gunicorn_port=server.port)

        say(
            f"\n== 2. slowloris through nginx: {SLOW_HEADER_CONNECTIONS} slow-header and "
            f"{SLOW_BODY_CONNECTIONS} slow-body connections for {ATTACK_SECONDS}s, probes "
            f"every {PROBE_INTERVAL_SECONDS}s"
        )
        results = attack_and_probe(nginx.port, "through nginx")
        answered = sum(result.answered for result in results) / max(1, len(results))
        report.check(
            answered >= MIN_ANSWERED_FRACTION,
            f"nginx: only {answered:.0%} of the probes answered in time during the attack "
            f"(at least {MIN_ANSWERED_FRACTION:.0%} expected)",
        )

        say("\n== 3. the same attack on gunicorn alone (measured, not asserted)")
        attack_and_probe(server.port, "gunicorn alone")
        # Workers held by the attack are free again once its connections close.
        recovered = any(call(server.port, "GET", "/healthz").status == 200 for _ in range(20))
        report.check(recovered, "bare: gunicorn did not answer again after the attack")

        say("\n== 4. gunicorn stopped: nginx answers for it")
        server.stop()
        reply = call(nginx.port, "GET", "/api/movies/")
        retry_after = reply.headers.get("retry-after")
        say(f"  GET /api/movies/ -> {reply.status} {reply.code} Retry-After={retry_after}")
        report.check(
            reply.status == 502 and reply.is_json and reply.code == "service_unavailable",
            f"upstream: not a JSON 502 service_unavailable: {reply.status} {reply.body[:120]!r}",
        )
    except Exception as exc:  # noqa: BLE001 - a setup failure is a failed check, with why
        report.failures.append(f"{type(exc).__name__}: {exc}")
    finally:
        hold_signals()
        server.stop()
        if nginx is not None:
            nginx.stop()
            nginx.cleanup()
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
        say(f"\nlogs in {log_dir}:\n{server.log_tail()}")
        return 1
    shutil.rmtree(log_dir, ignore_errors=True)
    say(f"\nOK: nginx kept answering through the attack; its errors are JSON ({elapsed:.1f}s)")
    return 0


if __name__ == "__main__":
    harness.run_check(main)
