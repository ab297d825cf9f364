"""CI check: a Galera node dies mid-sale; the other two keep selling, nothing is lost, it rejoins.

Run from anywhere, with the cluster of `scripts/galera.sh up` running (exit status 0 = good):

    .venv/bin/python scripts/galera_node_kill_check.py

Three gunicorn servers, A, B and C, each on a node of its own (3401, 3402, 3403), sell
the seats of SHOWS shows to CLIENTS clients, each sending its bookings to its own server
with an Idempotency-Key. A client that gets no definite answer (a 5xx, a cut
connection) sends the same request, same key, to the next server: a booking that did
commit is replayed, one that did not is made there. Phases:

1. steady   all three nodes up;
2. killed   `kill -9` of node 3 (scripts/galera.sh kill 3): A and B must keep selling;
3. rejoin   node 3 restarted (scripts/galera.sh start 3: its position recovered, it
            catches up by IST) while the sale goes on; C must sell again;
4. isolated node 3 cut off from the others (gmcast.isolate): alone it is not a primary
            component, and C must answer every request 503 `service_unavailable`, never
            a 500, and its /healthz 503 (a load balancer takes it out); then it rejoins,
            its /healthz is 200 again and C sells again.

Checked: every request ended with a definite answer (201 or 409); no 5xx other than 503;
A and B sold while node 3 was dead; C sold after each rejoin; the database holds exactly
the bookings answered 201, seat for seat, none twice, one idempotency key each; and the
three nodes hold the same bookings. Prints per phase: bookings/s, where they were made,
failovers, 503s, the longest pause between two sales on A and B, and the rejoin time.

Needs MariaDB root without a password on the nodes (CI_GALERA_NODES, default
127.0.0.1:3401,127.0.0.1:3402,127.0.0.1:3403). Creates database `ci_galera_kill_<pid>`
and drops it at the end; the cluster is left running, node 3 rejoined.
"""

import http.client
import itertools
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import harness
from harness import ROOT, Server, hold_signals, migrate, say, setup_django

NODES = [
    (host, int(port))
    for host, _, port in (
        item.strip().rpartition(":")
        for item in os.environ.get(
            "CI_GALERA_NODES", "127.0.0.1:3401,127.0.0.1:3402,127.0.0.1:3403"
        ).split(",")
    )
]
GALERA_SH = ROOT / "scripts" / "galera.sh"
VICTIM = 3  # the node that dies (its server is C)

CLIENTS = 12
SHOWS = 10
SEATS_PER_SHOW = 1000  # the most a show may have: the sale must outlast the run
STEADY_SECONDS = 6
KILLED_SECONDS = 8
AFTER_REJOIN_SECONDS = 6
AFTER_ISOLATION_SECONDS = 8
ISOLATION_PROBES = 6
HEALTHZ_WAIT_SECONDS = 10  # for /healthz to turn 503 (isolated) or 200 (back)
STATE_TIMEOUT_SECONDS = 60
HTTP_TIMEOUT_SECONDS = 20
FAILOVER_PAUSE_SECONDS = 0.2
MIN_SALES_WHILE_KILLED = 20  # A and B together, in KILLED_SECONDS


# --- The cluster ------------------------------------------------------------------------


def galera(*args: str) -> None:
    subprocess.run(["bash", str(GALERA_SH), *args], check=True, timeout=180)


def node_sql(node: int, sql: str, *, sync: bool = False, db: str = ""):
    """Run sql on node (1-based) as root; sync: after the node caught up with the cluster."""
    import MySQLdb

    host, port = NODES[node - 1]
    conn = MySQLdb.connect(host=host, port=port, user="root", passwd="", db=db, connect_timeout=3)
    try:
        cursor = conn.cursor()
        if sync:
            cursor.execute("SET SESSION wsrep_sync_wait = 1")
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        conn.close()


def node_status(node: int) -> tuple[str, str]:
    """(wsrep_local_state_comment, wsrep_cluster_status) of node, or ('down', 'down')."""
    try:
        rows = dict(
            node_sql(
                node,
                "SHOW GLOBAL STATUS WHERE Variable_name IN "
                "('wsrep_local_state_comment', 'wsrep_cluster_status')",
            )
        )
    except Exception:  # noqa: BLE001 - a node that does not answer is down
        return "down", "down"
    return rows.get("wsrep_local_state_comment", "?"), rows.get("wsrep_cluster_status", "?")


def wait_for(node: int, wanted: tuple[str, str]) -> float:
    started = time.monotonic()
    while time.monotonic() - started < STATE_TIMEOUT_SECONDS:
        if node_status(node) == wanted:
            return time.monotonic() - started
        time.sleep(0.2)
    raise RuntimeError(f"node {node} not {wanted} after {STATE_TIMEOUT_SECONDS}s")


# --- HTTP -------------------------------------------------------------------------------


def healthz_of(port: int, *, wanted: int) -> int | None:
    """Poll /healthz until it answers wanted (a load balancer's view), for a few seconds:
    a success is reused for a second, and each worker answers from its own probe."""
    deadline = time.monotonic() + HEALTHZ_WAIT_SECONDS
    while True:
        status, _ = request(port, "GET", "/healthz")
        if status == wanted or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def request(port, method, path, *, body=None, token="", key=""):
    """One request on a fresh connection: (status or None, JSON body or {})."""
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key:
        headers["Idempotency-Key"] = key
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT_SECONDS)
    try:
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = conn.getresponse()
        raw = response.read()
    except (OSError, http.client.HTTPException):
        return None, {}
    finally:
        conn.close()
    try:
        return response.status, json.loads(raw) if raw else {}
    except ValueError:
        return response.status, {"code": "not_json"}


# --- The sale ---------------------------------------------------------------------------


@dataclass
class Answer:
    at: float
    phase: str
    server: str
    status: int | None
    code: str


@dataclass
class Sale:
    servers: list[Server]
    shows: list[int]
    free: dict = field(default_factory=dict)  # show -> seats that look free
    phase: str = "steady"
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    answers: list[Answer] = field(default_factory=list)  # every answer, failovers included
    booked: dict = field(default_factory=dict)  # booking id -> (show, seats)
    sales: list[tuple[float, str, str, bool]] = field(default_factory=list)  # 201s
    unanswered: list = field(default_factory=list)
    unexpected: list = field(default_factory=list)

    def pick(self, rng):
        with self.lock:
            open_shows = [show for show in self.shows if self.free[show]]
            if not open_shows:
                return None
            show = rng.choice(open_shows)
            count = min(rng.randint(1, 2), len(self.free[show]))
            return show, sorted(rng.sample(sorted(self.free[show]), count))

    def taken(self, show, seats):
        with self.lock:
            self.free[show].difference_update(seats)


def client_loop(sale: Sale, number: int, token: str) -> None:
    rng = random.Random(number)  # test variety, not secrets
    home = number % len(sale.servers)
    while not sale.stop.is_set():
        choice = sale.pick(rng)
        if choice is None:
            return
        show, seats = choice
        key = secrets.token_hex(8)
        for attempt in range(2 * len(sale.servers)):
            server = sale.servers[(home + attempt) % len(sale.servers)]
            status, body = request(
                server.port,
                "POST",
                f"/api/shows/{show}/book/",
                body={"seat_numbers": seats},
                token=token,
                key=key,
            )
            code = body.get("code", "")
            now = time.monotonic()
            with sale.lock:
                sale.answers.append(Answer(now, sale.phase, server.name, status, code))
            if status == 201:
                with sale.lock:
                    sale.booked[body["id"]] = (show, sorted(body["seat_numbers"]))
                    sale.sales.append((now, sale.phase, server.name, attempt == 0))
                sale.taken(show, seats)
                break
            if status == 409:
                sale.taken(show, body.get("seats") or seats)
                break
            if status not in (None, 503):
                with sale.lock:
                    sale.unexpected.append((server.name, status, body))
                break
            time.sleep(FAILOVER_PAUSE_SECONDS)  # then the same request, same key, elsewhere
        else:
            with sale.lock:
                sale.unanswered.append((show, seats, key))


# --- Setup ------------------------------------------------------------------------------


def seed(db_name: str):
    """Create the shows and CLIENTS users; return (show ids, access tokens)."""
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import RefreshToken

    from booking import services
    from booking.models import User

    movie = services.create_movie(title="Node Kill Check", duration_minutes=100)
    shows = [
        services.create_show(
            movie=movie,
            screen_name=f"Screen {n}",
            start_time=timezone.now() + timedelta(days=3, hours=n),
            total_seats=SEATS_PER_SHOW,
            price=Decimal("200.00"),
        ).pk
        for n in range(SHOWS)
    ]
    password = make_password(secrets.token_urlsafe(12))
    User.objects.bulk_create(
        User(username=f"killcheck{n}", email=f"killcheck{n}@example.com", password=password)
        for n in range(CLIENTS)
    )
    users = list(User.objects.filter(username__startswith="killcheck").order_by("pk"))
    return shows, [str(RefreshToken.for_user(user).access_token) for user in users]


# --- Checks -----------------------------------------------------------------------------


def phase_table(sale: Sale, seconds: dict[str, float]) -> None:
    say(
        f"\n  {'phase':<9} {'s':>5} {'sales':>6} {'/s':>6} {'via A/B/C':>12} "
        f"{'after failover':>14} {'503s A/B/C':>11} {'no answer':>9}"
    )
    for phase, length in seconds.items():
        sold = [s for s in sale.sales if s[1] == phase]
        via = Counter(server for _, _, server, _ in sold)
        failed_over = sum(1 for *_, first in sold if not first)
        unavailable = Counter(
            a.server for a in sale.answers if a.phase == phase and a.status == 503
        )
        silent = sum(1 for a in sale.answers if a.phase == phase and a.status is None)
        say(
            f"  {phase:<9} {length:>5.1f} {len(sold):>6} {len(sold) / length:>6.1f} "
            f"{via['A']:>4}/{via['B']}/{via['C']:<4} {failed_over:>14} "
            f"{unavailable['A']:>3}/{unavailable['B']}/{unavailable['C']:<5} {silent:>9}"
        )


def longest_pause(sale: Sale, start: float, end: float) -> float:
    """The longest time without a sale through A or B between start and end."""
    sold = sorted(t for t, _, server, _ in sale.sales if server in "AB" and start <= t <= end)
    return max(b - a for a, b in itertools.pairwise([start, *sold, end]))


def check_database(sale: Sale, failures: list[str]) -> None:
    from booking.models import Booking, IdempotencyKey, Seat
    from booking.services.transactions import catch_up

    catch_up()
    live = {
        pk: (show, sorted(numbers))
        for pk, show, numbers in Booking.objects.filter(status=Booking.Status.BOOKED).values_list(
            "pk", "show_id", "seat_numbers"
        )
    }
    if live != sale.booked:
        missing = set(sale.booked) - set(live)
        extra = set(live) - set(sale.booked)
        failures.append(
            f"database bookings differ from the 201s: {len(missing)} answered 201 but missing, "
            f"{len(extra)} in the database never answered 201"
        )
    holders = {}
    for show, number, booking in Seat.objects.filter(booking__isnull=False).values_list(
        "show_id", "number", "booking_id"
    ):
        holders[show, number] = booking
    expected = {(show, n): pk for pk, (show, seats) in sale.booked.items() for n in seats}
    if holders != expected:
        failures.append("seat rows differ from the bookings answered 201")
    if IdempotencyKey.objects.count() != len(live):
        failures.append(
            f"{IdempotencyKey.objects.count()} idempotency keys for {len(live)} bookings"
        )
    say(
        f"  database (node 1): {len(live)} live bookings = the 201s, seat rows match: "
        f"{'yes' if holders == expected else 'NO'}"
    )


NODE_CHECKSUM_SQL = (
    "SELECT COUNT(*), COALESCE(SUM(b.id), 0), COALESCE(SUM(s.number * s.booking_id), 0) "
    "FROM booking_booking b JOIN booking_seat s ON s.booking_id = b.id "
    "WHERE b.status = 'booked'"
)


def check_nodes_agree(db_name: str, failures: list[str]) -> None:
    sums = {
        node: node_sql(node, NODE_CHECKSUM_SQL, sync=True, db=db_name)[0]
        for node in range(1, len(NODES) + 1)
    }
    say(f"  booked seats per node (count, sum of ids, checksum): {sums}")
    if len(set(sums.values())) != 1:
        failures.append(f"the nodes disagree: {sums}")


# --- Main -------------------------------------------------------------------------------


def main() -> int:
    started = time.monotonic()
    failures: list[str] = []
    db_name = f"ci_galera_kill_{os.getpid()}"
    log_dir = Path(tempfile.mkdtemp(prefix="ci_galera_kill_"))
    harness.MYSQL_HOST, harness.MYSQL_PORT = NODES[0]
    settings = {"MAX_SEATS_PER_USER_PER_SHOW": "0"}
    servers = [
        Server(name, harness.mysql_env(db_name, db_host=host, db_port=port, **settings), log_dir)
        for name, (host, port) in zip("ABC", NODES, strict=True)
    ]
    sale = None
    threads = []
    db_created = False
    try:
        for node in range(1, len(NODES) + 1):
            if node_status(node) != ("Synced", "Primary"):
                raise RuntimeError(f"node {node} is {node_status(node)}: run scripts/galera.sh up")
        harness.mysql_admin(f"CREATE DATABASE `{db_name}` CHARACTER SET utf8mb4")
        db_created = True
        for server in servers:
            server.spawn()
        env = servers[0].env
        migrate(env)
        setup_django(env)
        shows, tokens = seed(db_name)
        for server in servers:
            server.wait_ready()
        say(
            f"== {len(servers)} servers, each on a node of its own "
            + ", ".join(f"{s.name} -> :{s.env['DB_PORT']}" for s in servers)
            + f"; {CLIENTS} clients, {SHOWS} shows x {SEATS_PER_SHOW} seats "
            f"({time.monotonic() - started:.1f}s)"
        )

        sale = Sale(servers, shows, {show: set(range(1, SEATS_PER_SHOW + 1)) for show in shows})
        threads = [
            threading.Thread(target=client_loop, args=(sale, n, tokens[n]), daemon=True)
            for n in range(CLIENTS)
        ]
        seconds = {}
        mark = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(STEADY_SECONDS)
        seconds["steady"] = time.monotonic() - mark

        say(f"== kill -9 node {VICTIM} (server C's database) mid-sale")
        sale.phase, killed_at = "killed", time.monotonic()
        galera("kill", str(VICTIM))
        time.sleep(KILLED_SECONDS)
        seconds["killed"] = time.monotonic() - killed_at
        pause = longest_pause(sale, killed_at, time.monotonic())

        say(f"== restart node {VICTIM} while the sale goes on")
        sale.phase, mark = "rejoin", time.monotonic()
        galera("start", str(VICTIM))
        rejoin_seconds = time.monotonic() - mark
        time.sleep(AFTER_REJOIN_SECONDS)
        seconds["rejoin"] = time.monotonic() - mark

        say(f"== isolate node {VICTIM} from the others (a non-primary component)")
        sale.phase, mark = "isolated", time.monotonic()
        node_sql(VICTIM, "SET GLOBAL wsrep_provider_options = 'gmcast.isolate=1'")
        wait_for(VICTIM, ("Initialized", "non-Primary"))
        probes = [
            request(
                servers[2].port,
                "POST",
                f"/api/shows/{shows[0]}/book/",
                body={"seat_numbers": [1]},
                token=tokens[2],
            ),
            request(servers[2].port, "GET", "/api/shows/"),
            request(servers[2].port, "GET", f"/api/shows/{shows[0]}/seats/"),
        ] * (ISOLATION_PROBES // 3)
        answers = Counter(f"{status} {body.get('code', '')}" for status, body in probes)
        say(f"  server C while its node is non-primary: {dict(answers)}")
        if set(answers) != {"503 service_unavailable"}:
            failures.append(f"a non-primary node's server answered {dict(answers)}")
        health = healthz_of(servers[2].port, wanted=503)
        say(f"  server C's /healthz while its node is non-primary: {health}")
        if health != 503:
            failures.append(f"/healthz of a non-primary node's server answered {health}")
        node_sql(VICTIM, "SET GLOBAL wsrep_provider_options = 'gmcast.isolate=0'")
        back = wait_for(VICTIM, ("Synced", "Primary"))
        say(f"  node {VICTIM} Synced and Primary again {back:.1f}s after the isolation ended")
        health = healthz_of(servers[2].port, wanted=200)
        say(f"  server C's /healthz once its node is back: {health}")
        if health != 200:
            failures.append(f"/healthz of a rejoined node's server answered {health}")
        sale.phase = "healed"
        seconds["isolated"] = time.monotonic() - mark
        mark = time.monotonic()
        time.sleep(AFTER_ISOLATION_SECONDS)
        seconds["healed"] = time.monotonic() - mark
    except Exception as exc:  # noqa: BLE001 - a failed step is a failed check, with why
        failures.append(f"{type(exc).__name__}: {exc}")
        seconds = {}
    finally:
        hold_signals()
        if sale is not None:
            sale.stop.set()
            for thread in threads:
                thread.join(timeout=HTTP_TIMEOUT_SECONDS * 2 * len(servers))
        for server in servers:
            server.stop()

    if sale is not None and seconds:
        phase_table(sale, seconds)
        say(f"\n  longest pause between sales on A and B after the kill: {pause:.2f}s")
        say(f"  node {VICTIM} rejoined (recovered position, IST) in {rejoin_seconds:.1f}s")
        killed = [s for s in sale.sales if s[1] == "killed" and s[2] in "AB"]
        if len(killed) < MIN_SALES_WHILE_KILLED:
            failures.append(f"A and B sold only {len(killed)} times while node {VICTIM} was dead")
        for phase in ("rejoin", "healed"):
            if not any(s[1] == phase and s[2] == "C" and s[3] for s in sale.sales):
                failures.append(f"server C sold nothing in phase {phase}: node {VICTIM} not back")
        if sale.unanswered:
            failures.append(f"{len(sale.unanswered)} requests never got a definite answer")
        if sale.unexpected:
            failures.append(f"unexpected answers: {sale.unexpected[:5]}")
        try:
            check_database(sale, failures)
            check_nodes_agree(db_name, failures)
        except Exception as exc:  # noqa: BLE001
            failures.append(f"checking the database: {type(exc).__name__}: {exc}")
    try:
        if node_status(VICTIM)[0] == "down":
            galera("start", str(VICTIM))  # leave the cluster as we found it
    except Exception as exc:  # noqa: BLE001
        failures.append(f"could not restart node {VICTIM}: {exc}")
    if db_created:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001, S110 - Django may not be set up yet
            pass
        try:
            harness.mysql_admin(f"DROP DATABASE IF EXISTS `{db_name}`")
        except Exception as exc:  # noqa: BLE001
            say(f"warning: could not drop {db_name}: {exc}")

    elapsed = time.monotonic() - started
    if failures:
        say(f"\nFAILED ({len(failures)}) in {elapsed:.1f}s:")
        for failure in failures:
            say(f"  - {failure}")
        for server in servers:
            tail = server.log_tail(15)
            if tail:
                say(f"\nlast lines of {server.log_path}:\n{tail}")
        return 1
    shutil.rmtree(log_dir, ignore_errors=True)
    say(f"\nOK: a node died and came back; nothing sold twice, nothing lost ({elapsed:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)
    harness.run_check(main)
