"""CI check: two gunicorn servers on one MariaDB and one Redis agree on every seat and limit.

Run from anywhere: `.venv/bin/python scripts/multiprocess_check.py` (exit status 0 = good).

1. race:     servers A and B (2 workers each) share a fresh database. RACE_USERS users log
             in through either server; then, for each of RACE_ROUNDS shows of SHOW_SEATS
             seats, one thread per request waits at a barrier and sends its booking of 1-3
             seats to A or B. Every seat is requested 4 times, twice through each server.
             Checked: no seat is in two 201s, losers are 409 `seat_unavailable` naming
             seats that a winner holds (503 `busy` is allowed and counted), no 500 or
             dropped connection, and the database (ORM and GET .../seats/ on both
             servers) holds exactly the seats of the 201s, booking by booking.
2. throttle: A and B restart with THROTTLE_LOGIN=6/min and REDIS_URL on Redis db
             REDIS_DB (flushed first): 3 logins through A and 3 through B pass, the 7th
             (and 8th) are 429 `throttled` with Retry-After on either server.
             For contrast (informational only) the same with REDIS_URL unset.

With --galera-nodes HOST:PORT,HOST:PORT,HOST:PORT (a MariaDB Galera cluster, e.g. the one
`scripts/galera.sh up` starts) each server is on a node of its own: the race runs through
one server per node (A, B, C), which read their own writes from any node
(DB_WSREP_SYNC_WAIT=1); the database is created, seeded and checked through the first
node, after it has caught up with the others. Part 2 is skipped there: it is about Redis,
not the database, and the single-server run covers it.

Needs MariaDB/MySQL on 127.0.0.1:3306 as root with an empty password (CI_MYSQL_HOST,
CI_MYSQL_PORT, CI_MYSQL_USER, CI_MYSQL_PASSWORD override that) and Redis on
127.0.0.1:6379 (CI_REDIS_HOST, CI_REDIS_PORT, CI_REDIS_DB, default db 5: only that db is
ever flushed). Creates database `ci_multiproc_<pid>_<random>` and drops it at the end.
"""

import argparse
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import harness
from harness import (
    GUNICORN_WORKERS,
    Reply,
    Server,
    call,
    hold_signals,
    migrate,
    mysql_admin,
    say,
    setup_django,
)

REDIS_HOST = os.environ.get("CI_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("CI_REDIS_PORT", "6379"))
REDIS_DB = int(os.environ.get("CI_REDIS_DB", "5"))
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"

RACE_USERS = 40
RACE_ROUNDS = 3
SHOW_SEATS = 30
CHUNK_SIZES = (1, 2, 3)  # seats per booking request, in turn
LOGIN_THREADS = 8
LOGIN_RATE = 6  # per minute, in the throttle part
PASSWORD = "multiproc-" + secrets.token_urlsafe(12)


# --- Redis ------------------------------------------------------------------------------


def flush_redis_db() -> None:
    """Empty our own Redis db (never FLUSHALL: other runs use the other dbs)."""
    import redis

    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, socket_timeout=5)
    try:
        client.flushdb()
    finally:
        client.close()


def redis_keys(pattern: str) -> list[str]:
    import redis

    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, socket_timeout=5)
    try:
        return sorted(key.decode() for key in client.keys(pattern))
    finally:
        client.close()


def stop_servers(servers: list[Server]) -> None:
    """Stop servers side by side (each waits for its own workers)."""
    with ThreadPoolExecutor(max_workers=len(servers)) as pool:
        list(pool.map(Server.stop, servers))


@dataclass
class Report:
    failures: list[str] = field(default_factory=list)

    def check(self, ok: bool, message: str) -> bool:
        if not ok:
            self.failures.append(message)
            say(f"  FAIL: {message}")
        return ok


# --- Setup ------------------------------------------------------------------------------


# Galera nodes (host, port) from --galera-nodes: server number i is on node i. Empty: one
# MariaDB (CI_MYSQL_HOST/CI_MYSQL_PORT) for every server.
NODES: list[tuple[str, int]] = []


def server_env(db_name: str, node: int = 0, **settings: str) -> dict:
    """Logins counted in Redis but never throttled, unless settings say otherwise."""
    settings = {"REDIS_URL": REDIS_URL, "THROTTLE_LOGIN": "1000/min", **settings}
    if not NODES:
        return harness.mysql_env(db_name, **settings)
    host, port = NODES[node % len(NODES)]
    # A client's next request may reach another node: reads wait for earlier commits.
    settings = {"DB_WSREP_SYNC_WAIT": "1", **settings}
    return harness.mysql_env(db_name, db_host=host, db_port=port, **settings)


def where(server: "Server") -> str:
    return f"{server.name} :{server.port} -> {server.env['DB_HOST']}:{server.env['DB_PORT']}"


def catch_up() -> None:
    """Let this process's reads see every commit of the cluster's other nodes (Galera)."""
    from booking.services.transactions import catch_up as catch_up_with_the_cluster

    catch_up_with_the_cluster()


def seed() -> tuple[list[int], list[str]]:
    """Create RACE_ROUNDS shows of SHOW_SEATS seats and RACE_USERS users; return ids, names."""
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from booking import services
    from booking.models import User

    movie = services.create_movie(
        title="Multiprocess Check", duration_minutes=120, genre="Thriller", language="English"
    )
    show_ids = [
        services.create_show(
            movie=movie,
            screen_name=f"Screen {round_number}",
            start_time=timezone.now() + timedelta(days=7, hours=round_number),
            total_seats=SHOW_SEATS,
            price=Decimal("250.00"),
        ).pk
        for round_number in range(1, RACE_ROUNDS + 1)
    ]
    # services.create_user hashes each password (~0.3 s apiece); one hash shared by all
    # the users keeps seeding instant and login (which must verify it) unchanged.
    password_hash = make_password(PASSWORD)
    names = [f"racer{n:02d}" for n in range(RACE_USERS)]
    User.objects.bulk_create(
        [User(username=name, email=f"{name}@example.com", password=password_hash) for name in names]
    )
    return show_ids, names


# --- Part 1: the race -------------------------------------------------------------------


@dataclass
class Attempt:
    server: Server
    user: int
    seats: list[int]
    reply: Reply | None = None


def race_plan(servers: list[Server]) -> list[tuple[Server, list[int]]]:
    """Booking requests covering every seat twice through each server, in 1-3 seat chunks.

    Each lap walks all seats from its own offset and cuts them into chunks of
    CHUNK_SIZES in turn, so chunk borders differ between laps and servers: multi-seat
    requests overlap each other partially, within one server and across both.
    """
    plan = []
    for server_number, server in enumerate(servers):
        for lap in range(2):
            offset = 2 * server_number + lap
            order = [(offset + i) % SHOW_SEATS + 1 for i in range(SHOW_SEATS)]
            position = chunk = 0
            while position < SHOW_SEATS:
                size = CHUNK_SIZES[(chunk + lap + server_number) % len(CHUNK_SIZES)]
                plan.append((server, sorted(order[position : position + size])))
                position += size
                chunk += 1
    return plan


def race(show_id: int, servers: list[Server], tokens: list[str]) -> list[Attempt]:
    attempts = [
        Attempt(server, number % len(tokens), seats)
        for number, (server, seats) in enumerate(race_plan(servers))
    ]
    barrier = threading.Barrier(len(attempts))

    def book(attempt: Attempt) -> None:
        barrier.wait()
        attempt.reply = call(
            attempt.server.port,
            "POST",
            f"/api/shows/{show_id}/book/",
            body={"seat_numbers": attempt.seats},
            token=tokens[attempt.user],
        )

    threads = [threading.Thread(target=book, args=(attempt,), daemon=True) for attempt in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return attempts


def check_race(show_id: int, attempts: list[Attempt], servers: list[Server], report: Report):
    """Check one round; return (statuses, seats booked, 409s lost to another server)."""
    from booking.models import Booking, Seat

    catch_up()  # bookings made through other Galera nodes are applied here too
    requests_per_seat = Counter(seat for attempt in attempts for seat in attempt.seats)
    servers_per_seat = defaultdict(set)
    for attempt in attempts:
        for seat in attempt.seats:
            servers_per_seat[seat].add(attempt.server.name)
    report.check(
        all(requests_per_seat[seat] >= 2 for seat in range(1, SHOW_SEATS + 1))
        and all(len(names) == len(servers) for names in servers_per_seat.values()),
        f"show {show_id}: the plan must request every seat 2+ times through every server",
    )

    winners: dict[int, Attempt] = {}  # seat -> the 201 that holds it
    won_bookings: dict[int, list[int]] = {}  # booking id -> seats, from the 201 bodies
    statuses = Counter()
    claimed_taken: set[int] = set()
    for attempt in attempts:
        reply = attempt.reply
        where = f"show {show_id}: {attempt.server.name} seats {attempt.seats}"
        statuses[reply.status if reply.status is not None else "no answer"] += 1
        if reply.status == 201:
            body = reply.json() or {}
            report.check(
                body.get("seat_numbers") == attempt.seats,
                f"{where}: 201 body has seats {body.get('seat_numbers')}",
            )
            won_bookings[body.get("id")] = attempt.seats
            for seat in attempt.seats:
                if not report.check(
                    seat not in winners,
                    f"seat {seat} of show {show_id} is in two 201s: "
                    f"{winners.get(seat, attempt).seats} and {attempt.seats}",
                ):
                    continue
                winners[seat] = attempt
        elif reply.status == 409:
            taken = (reply.json() or {}).get("seats") or []
            report.check(
                reply.code == "seat_unavailable"
                and bool(taken)
                and set(taken) <= set(attempt.seats),
                f"{where}: 409 {reply.code} naming seats {taken}",
            )
            claimed_taken.update(taken)
        elif reply.status == 503:
            report.check(reply.code == "busy", f"{where}: 503 with code {reply.code!r}")
        else:
            report.check(
                False, f"{where}: answered {reply.status or reply.error}: {reply.body[:200]!r}"
            )

    booked = set(winners)
    report.check(
        claimed_taken <= booked,
        f"show {show_id}: 409s named seats {sorted(claimed_taken - booked)} that no 201 holds",
    )
    report.check(statuses[409] > 0, f"show {show_id}: no request lost: there was no race")

    # The database, through the ORM: every booking is a live 201, seat for seat.
    db_bookings = {
        booking.pk: sorted(booking.seat_numbers)
        for booking in Booking.objects.filter(show_id=show_id)
        if booking.status == Booking.Status.BOOKED
    }
    report.check(
        db_bookings == won_bookings,
        f"show {show_id}: database bookings {db_bookings} differ from the 201s {won_bookings}",
    )
    seat_holders = dict(
        Seat.objects.filter(show_id=show_id, booking__isnull=False).values_list(
            "number", "booking_id"
        )
    )
    expected_holders = {
        seat: booking_id for booking_id, seats in won_bookings.items() for seat in seats
    }
    report.check(
        seat_holders == expected_holders,
        f"show {show_id}: seat rows {seat_holders} differ from the 201s {expected_holders}",
    )
    # ... and through the API of each server.
    for server in servers:
        seat_map = call(server.port, "GET", f"/api/shows/{show_id}/seats/").json() or {}
        report.check(
            seat_map.get("booked_seats") == sorted(booked),
            f"show {show_id}: {server.name} says booked {seat_map.get('booked_seats')}, "
            f"the 201s say {sorted(booked)}",
        )

    # Losers that lost to a booking made through another server: the database, not a
    # process, decided.
    lost_across = sum(
        1
        for attempt in attempts
        if attempt.reply.status == 409
        and any(
            winners[seat].server is not attempt.server
            for seat in (attempt.reply.json() or {}).get("seats", [])
            if seat in winners
        )
    )
    return statuses, booked, lost_across


def names_of(servers: list[Server]) -> str:
    return "/".join(server.name for server in servers)


def login_all(names: list[str], servers: list[Server], report: Report) -> list[str]:
    def login(number: int) -> str:
        server = servers[number % len(servers)]
        reply = call(
            server.port,
            "POST",
            "/api/login/",
            body={"username": names[number], "password": PASSWORD},
        )
        report.check(
            reply.status == 200,
            f"login of {names[number]} via {server.name}: {reply.status or reply.error}",
        )
        return (reply.json() or {}).get("access", "")

    pool = ThreadPoolExecutor(max_workers=LOGIN_THREADS)
    try:
        return list(pool.map(login, range(len(names))))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # on Ctrl-C, no queued logins


def part_race(
    show_ids: list[int], names: list[str], servers: list[Server], report: Report
) -> list[str]:
    """Log everyone in through A and B, then race; return the tokens."""
    started = time.monotonic()
    tokens = login_all(names, servers, report)
    say(
        f"  {sum(map(bool, tokens))}/{len(names)} users logged in (in turn through "
        f"{'/'.join(server.name for server in servers)}) "
        f"in {time.monotonic() - started:.1f}s"
    )
    if not all(tokens):
        return tokens
    say(
        f"\n== race: {RACE_ROUNDS} shows x {SHOW_SEATS} seats, "
        f"{len(race_plan(servers))} concurrent bookings of {min(CHUNK_SIZES)}-"
        f"{max(CHUNK_SIZES)} seats each, every seat requested {2 * len(servers)}x "
        f"(2 via each of {', '.join(server.name for server in servers)})"
    )
    say(
        f"  {'show':>4} {'201':>4} {'409':>4} {'503':>4} {'other':>5} "
        f"{'seats booked':>12} {'seats won via ' + names_of(servers):>17} "
        f"{'409s lost to another server':>27} "
        f"{'s':>5}"
    )
    for show_id in show_ids:
        started = time.monotonic()
        attempts = race(show_id, servers, tokens)
        seconds = time.monotonic() - started
        statuses, booked, lost_across = check_race(show_id, attempts, servers, report)
        other = sum(n for status, n in statuses.items() if status not in (201, 409, 503))
        via = Counter(a.server.name for a in attempts if a.reply.status == 201 for _ in a.seats)
        say(
            f"  {show_id:>4} {statuses[201]:>4} {statuses[409]:>4} {statuses[503]:>4} "
            f"{other:>5} {len(booked):>6}/{SHOW_SEATS:<5} "
            f"{'/'.join(str(via[server.name]) for server in servers):>17} "
            f"{lost_across:>27} {seconds:>5.2f}"
        )
    return tokens


# --- Part 2: one login throttle across processes ------------------------------------------


def login_burst(servers: list[Server], username: str) -> list[tuple[str, Reply]]:
    """LOGIN_RATE failed logins split over A and B, then one more via each, in order."""
    wrong = {"username": username, "password": "not-the-password"}
    half = LOGIN_RATE // 2
    order = [*[servers[0]] * half, *[servers[1]] * (LOGIN_RATE - half), *servers]
    # One at a time, so that the answers come in a known order: the 7th is the one over
    # the limit (the counters are atomic INCRs in Redis, simultaneous requests too).
    return [
        (f"#{number} via {server.name}", call(server.port, "POST", "/api/login/", body=wrong))
        for number, server in enumerate(order, 1)
    ]


def print_throttle(answers: list[tuple[str, Reply]]) -> None:
    for label, reply in answers:
        retry_after = reply.headers.get("retry-after", "-")
        say(
            f"  {label:<22} {reply.status or reply.error!s:>5}  {reply.code:<20} "
            f"Retry-After={retry_after}  {reply.seconds:.2f}s"
        )


def part_throttle(username: str, shared: list[Server], local: list[Server], report: Report) -> None:
    """The shared pair must throttle the 7th login; the local pair shows why Redis matters."""
    started = time.monotonic()
    for server in shared + local:
        server.wait_ready()
    flush_redis_db()  # the race's logins were counted there too
    say(
        f"\n== login throttle THROTTLE_LOGIN={LOGIN_RATE}/min: a new pair A, B on "
        f"REDIS_URL={REDIS_URL}, and a contrast pair without (up in "
        f"{time.monotonic() - started:.1f}s)"
    )
    # The two pairs share nothing (no Redis for the contrast pair): run them side by side.
    with ThreadPoolExecutor(max_workers=2) as pool:
        shared_run = pool.submit(login_burst, shared, username)
        local_run = pool.submit(login_burst, local, username)
        shared_answers, local_answers = shared_run.result(), local_run.result()

    say(f"  shared counter (Redis db {REDIS_DB}), failed logins from 127.0.0.1:")
    print_throttle(shared_answers)
    say(f"  Redis keys: {redis_keys('*throttle_login*')}")
    for label, reply in shared_answers[:LOGIN_RATE]:
        report.check(
            reply.status == 401 and reply.code == "no_active_account",
            f"throttle {label}: expected 401 no_active_account, got {reply.status} {reply.code}",
        )
    for label, reply in shared_answers[LOGIN_RATE:]:
        retry_after = reply.headers.get("retry-after", "")
        report.check(
            reply.status == 429 and reply.code == "throttled" and retry_after.isdigit(),
            f"throttle {label}: expected 429 throttled with Retry-After, got {reply.status} "
            f"{reply.code} Retry-After={retry_after or '-'}",
        )

    say("  contrast (informational), REDIS_URL unset: per-process counters")
    print_throttle(local_answers)
    passed = [label for label, reply in local_answers[LOGIN_RATE:] if reply.status != 429]
    if passed:
        say(f"  info: without Redis {', '.join(passed)} passed: each process counts alone")
    else:
        say("  info: throttled even without Redis (unexpected, but not a failure)")


# --- Main -------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--galera-nodes",
        default="",
        metavar="HOST:PORT,...",
        help="put each server on a node of this Galera cluster (e.g. "
        "127.0.0.1:3401,127.0.0.1:3402,127.0.0.1:3403)",
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    for item in filter(None, args.galera_nodes.split(",")):
        host, _, port = item.strip().rpartition(":")
        NODES.append((host, int(port)))
    if NODES:
        # Create, migrate, seed and check through the first node.
        harness.MYSQL_HOST, harness.MYSQL_PORT = NODES[0]
    started = time.monotonic()
    report = Report()
    db_name = f"ci_multiproc_{os.getpid()}_{secrets.token_hex(3)}"
    log_dir = Path(tempfile.mkdtemp(prefix="ci_multiproc_"))
    db_created = False
    rate = {"THROTTLE_LOGIN": f"{LOGIN_RATE}/min"}
    race_names = ("A", "B", "C")[: max(2, len(NODES))]
    race_servers = [
        Server(name, server_env(db_name, node), log_dir) for node, name in enumerate(race_names)
    ]
    shared = [
        Server(f"{name}-redis", server_env(db_name, node, REDIS_URL=REDIS_URL, **rate), log_dir)
        for node, name in enumerate(("A", "B"))
    ]
    local = [
        Server(f"{name}-locmem", server_env(db_name, node, REDIS_URL="", **rate), log_dir)
        for node, name in enumerate(("A", "B"))
    ]
    try:
        say(
            f"== database {db_name} on {harness.MYSQL_HOST}:{harness.MYSQL_PORT}: "
            "create, migrate, seed"
        )
        mysql_admin(f"CREATE DATABASE `{db_name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        db_created = True
        flush_redis_db()
        for server in race_servers:  # gunicorn boots while we migrate: /healthz needs no table
            server.spawn()
        env = server_env(db_name)  # node 1 of a cluster
        migrate(env)
        setup_django(env)
        show_ids, names = seed()
        for server in race_servers:
            server.wait_ready()
        database = f"a {len(NODES)}-node Galera cluster" if NODES else "one database"
        say(
            f"== servers {', '.join(where(server) for server in race_servers)} "
            f"({GUNICORN_WORKERS} workers each), {database}, Redis db {REDIS_DB} "
            f"({time.monotonic() - started:.1f}s)"
        )
        tokens = part_race(show_ids, names, race_servers, report)
        if not NODES:
            for server in shared + local:  # they boot while the race pair shuts down
                server.spawn()
        stop_servers(race_servers)
        if all(tokens) and not NODES:
            part_throttle(names[0], shared, local, report)
    except Exception as exc:  # noqa: BLE001 - a setup failure is a failed check, with why
        report.check(False, f"{type(exc).__name__}: {exc}")
    finally:
        hold_signals()
        stop_servers(race_servers + shared + local)
        if db_created:
            try:
                from django.db import connections

                connections.close_all()
            except Exception:  # noqa: BLE001, S110 - Django may not be set up yet
                pass
            try:
                mysql_admin(f"DROP DATABASE IF EXISTS `{db_name}`")
            except Exception as exc:  # noqa: BLE001 - cleanup must not hide the result
                say(f"warning: could not drop {db_name}: {exc}")
        try:
            flush_redis_db()
        except Exception as exc:  # noqa: BLE001
            say(f"warning: could not flush Redis db {REDIS_DB}: {exc}")

    elapsed = time.monotonic() - started
    if report.failures:
        say(f"\nFAILED ({len(report.failures)}) in {elapsed:.1f}s:")
        for failure in report.failures[:30]:
            say(f"  - {failure}")
        for log in sorted(log_dir.glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-15:]
            if tail:
                say(f"\nlast lines of {log}:\n" + "\n".join(tail))
        return 1
    shutil.rmtree(log_dir, ignore_errors=True)
    say(f"\nOK: one truth across processes ({elapsed:.1f}s)")
    return 0


if __name__ == "__main__":
    harness.run_check(main)
