"""Benchmark booking through gunicorn and MariaDB, then check the database is consistent.

Not a test: it measures. It (re)creates a MariaDB database (default bench_movie_booking),
migrates and seeds it from this process, starts gunicorn on it, logs the users in and
runs two scenarios with a pool of concurrent HTTP clients:

  A  spread      bookings of 1-4 random free-looking seats of many shows
  B  flash sale  everyone books 1-4 seats of one hot show, fighting for the best
                 seats, until it is sold out
  C  checkout    hold 1-4 free-looking seats of many shows, then confirm the hold
                 (two requests per purchase; a purchase counts once)
  D  best seats  everyone asks a laid-out hot show for its best 1-4 seats side by
                 side, until no single seat is left

For each it prints attempts, attempts/s, bookings/s, seats sold, answers by status and
latency percentiles. Then it checks the database: no seat held twice, every live
booking's seats are exactly the seat rows pointing at it, no show oversold, one booked
row per 201. Exit status 1 if that check fails or any 5xx other than 503 `busy` (or a
broken connection) was seen.

    .venv/bin/python scripts/bench.py --workers 4 --duration 15

MariaDB: root with an empty password on 127.0.0.1:3306 unless DB_USER, DB_PASSWORD,
DB_HOST, DB_PORT say otherwise. Python standard library only (plus the project).
Django and the project are imported inside functions: their settings come from the
environment this script sets up from its command line.
"""

import argparse
import http.client
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import harness

MAX_SEATS_PER_ATTEMPT = 4
# In the flash sale everyone wants the best seats: each client picks among the first
# few seats it believes free, so that clients really do collide on the same rows.
FLASH_SALE_BEST_SEATS = 20
USER_PASSWORD = "bench-pass-2026"
HTTP_TIMEOUT_SECONDS = 30
CONNECTION_ERROR = "connection error"  # a request that got no HTTP answer at all


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    length = parser.add_mutually_exclusive_group()
    length.add_argument(
        "--duration", type=float, default=15.0, help="seconds per scenario (default 15)"
    )
    length.add_argument("--requests", type=int, help="booking attempts per scenario instead")
    parser.add_argument("--concurrency", type=int, default=32, help="HTTP clients (default 32)")
    parser.add_argument("--shows", type=int, default=100, help="shows for scenario A (100)")
    parser.add_argument("--seats", type=int, default=120, help="seats per show in A (120)")
    parser.add_argument("--hot-seats", type=int, default=300, help="seats of the hot show (300)")
    parser.add_argument("--users", type=int, default=32, help="users logged in (default 32)")
    parser.add_argument(
        "--seat-limit",
        type=int,
        default=0,
        help=(
            "MAX_SEATS_PER_USER_PER_SHOW (default 0: off, so that a few bench users can buy "
            "a whole show and runs compare with earlier ones; the user-row lock still runs)"
        ),
    )
    parser.add_argument("--port", type=int, default=8765, help="gunicorn port (default 8765)")
    parser.add_argument("--db-name", default="bench_movie_booking", help="database to recreate")
    parser.add_argument(
        "--full-stack",
        action="store_true",
        help=(
            "count every request in the rate limits (Redis db 6, limits too high to bite) and "
            "log every request at INFO, as in production: measures what they cost"
        ),
    )
    args = parser.parse_args()
    if not args.db_name.startswith("bench"):
        # The database is dropped and recreated: never let a typo point at real data.
        parser.error("--db-name must start with 'bench' (the database is dropped first)")
    return args


# Every throttle counts every request in a shared Redis, at rates no run can reach.
FULL_STACK_SETTINGS = {
    "REDIS_URL": "redis://127.0.0.1:6379/6",
    "LOG_LEVEL": "INFO",
    **{f"THROTTLE_{scope}": "1000000/min" for scope in harness.THROTTLE_SCOPES},
}


def configure_environment(args: argparse.Namespace) -> dict[str, str]:
    """Set the settings both this process and gunicorn read; return gunicorn's env."""
    os.environ.update(
        harness.production_env(
            DB_ENGINE="mysql",
            DB_NAME=args.db_name,
            DB_USER=os.environ.get("DB_USER") or "root",
            DB_PASSWORD=os.environ.get("DB_PASSWORD", ""),
            DB_HOST=os.environ.get("DB_HOST") or "127.0.0.1",
            DB_PORT=os.environ.get("DB_PORT") or "3306",
            MAX_SEATS_PER_USER_PER_SHOW=str(args.seat_limit),
            **(FULL_STACK_SETTINGS if args.full_stack else {}),
        )
    )
    return dict(os.environ)


def recreate_database(name: str) -> None:
    import MySQLdb

    connection = MySQLdb.connect(
        host=os.environ["DB_HOST"],
        port=int(os.environ["DB_PORT"]),
        user=os.environ["DB_USER"],
        password=os.environ["DB_PASSWORD"],
    )
    try:
        cursor = connection.cursor()
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    finally:
        connection.close()


@dataclass
class Seed:
    spread_shows: dict[int, int]  # show id -> total seats
    hot_show: int
    checkout_shows: dict[int, int]
    laid_out_show: int
    laid_out_seats: int
    usernames: list[str]


def seed(args: argparse.Namespace) -> Seed:
    """Create the shows and users through the ORM and the services."""
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from booking import services
    from booking.layouts import Row
    from booking.models import User

    movie = services.create_movie(
        title="Benchmark: The Movie", duration_minutes=120, genre="Drama", language="English"
    )
    start = timezone.now() + timedelta(days=7)
    spread = {}
    for n in range(args.shows):
        show = services.create_show(
            movie=movie,
            screen_name=f"Screen {n % 8 + 1}",
            start_time=start + timedelta(hours=n),
            total_seats=args.seats,
            price=Decimal("250.00"),
        )
        spread[show.pk] = show.total_seats
    hot = services.create_show(
        movie=movie,
        screen_name="Premiere",
        start_time=start,
        total_seats=args.hot_seats,
        price=Decimal("450.00"),
    )
    checkout = {}
    for n in range(args.shows):
        show = services.create_show(
            movie=movie,
            screen_name=f"Screen {n % 8 + 1}",
            start_time=start + timedelta(days=1, hours=n),
            total_seats=args.seats,
            price=Decimal("250.00"),
        )
        checkout[show.pk] = show.total_seats
    # 15 rows of 20 with two aisles, the back three premium: 300 seats.
    rows = [
        Row(
            label=chr(ord("A") + n),
            seats=20,
            aisles_after=(4, 16),
            category="premium" if n >= 12 else "standard",
        )
        for n in range(15)
    ]
    cinema = services.create_cinema(name="Bench Cinema", city="Pune")
    screen = services.create_screen(cinema=cinema, name="Hall 1", rows=rows)
    laid_out = services.create_show(
        movie=movie, screen=screen, start_time=start, price=Decimal("300.00")
    )
    # One hash for everyone: hashing a password per user would take minutes.
    password = make_password(USER_PASSWORD)
    usernames = [f"bench{n:04d}" for n in range(args.users)]
    User.objects.bulk_create(
        User(username=name, email=f"{name}@example.com", password=password) for name in usernames
    )
    return Seed(
        spread_shows=spread,
        hot_show=hot.pk,
        checkout_shows=checkout,
        laid_out_show=laid_out.pk,
        laid_out_seats=laid_out.total_seats,
        usernames=usernames,
    )


# --- HTTP ---------------------------------------------------------------------------


class Client:
    """One HTTP client per thread, reusing its connection when the server keeps it open."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection(
            "127.0.0.1", port, timeout=HTTP_TIMEOUT_SECONDS
        )

    def request(self, method, path, body=None, token=None) -> tuple[int | str, dict]:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            self.connection.request(
                method, path, body=None if body is None else json.dumps(body), headers=headers
            )
            response = self.connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            # Never retried: we could not tell whether a booking went through.
            self.connection.close()
            return CONNECTION_ERROR, {}
        try:
            return response.status, json.loads(raw) if raw else {}
        except ValueError:
            return response.status, {"code": "not_json"}

    def close(self):
        self.connection.close()


def port_is_taken(port: int) -> bool:
    client = Client(port)
    status, _ = client.request("GET", "/healthz")
    client.close()
    return status != CONNECTION_ERROR


def log_in(port: int, usernames: list[str], concurrency: int) -> list[str]:
    """Return an access token per user, logging them in over HTTP in parallel."""
    local = threading.local()

    def one(username):
        if not hasattr(local, "client"):
            local.client = Client(port)
        body = {"username": username, "password": USER_PASSWORD}
        status, answer = local.client.request("POST", "/api/login/", body)
        if status != 200:
            raise SystemExit(f"login of {username} failed: {status} {answer}")
        return answer["access"]

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(one, usernames))


# --- Scenarios ----------------------------------------------------------------------


class SeatMap:
    """Which seats the clients believe free, learned from 201 and 409 answers."""

    def __init__(self, shows: dict[int, int], best_seats: int = 0):
        self.free = {show: set(range(1, total + 1)) for show, total in shows.items()}
        self.best_seats = best_seats  # 0: anywhere in the house
        self.lock = threading.Lock()

    def pick(self, rng: random.Random) -> tuple[int, list[int]] | None:
        with self.lock:
            open_shows = [show for show, free in self.free.items() if free]
            if not open_shows:
                return None  # sold out
            show = rng.choice(open_shows)
            candidates = sorted(self.free[show])
            if self.best_seats:
                candidates = candidates[: self.best_seats]
            count = min(rng.randint(1, MAX_SEATS_PER_ATTEMPT), len(candidates))
            return show, sorted(rng.sample(candidates, count))

    def taken(self, show: int, seats) -> None:
        with self.lock:
            self.free[show].difference_update(seats)


@dataclass
class Result:
    name: str
    elapsed: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    codes: Counter = field(default_factory=Counter)  # error codes of non-201 answers
    latencies_ms: list[float] = field(default_factory=list)
    booked: dict[int, tuple[int, list[int]]] = field(default_factory=dict)  # id -> show, seats
    sold_out_after: float | None = None

    @property
    def attempts(self) -> int:
        return sum(self.statuses.values())

    @property
    def seats_sold(self) -> int:
        return sum(len(seats) for _, seats in self.booked.values())

    @property
    def failures(self) -> int:
        """Answers that mean something broke: a 5xx other than busy, or no answer at all."""
        return sum(
            count
            for (status, code), count in self.codes.items()
            if status == CONNECTION_ERROR or (status >= 500 and (status, code) != (503, "busy"))
        )


class Budget:
    """When to stop: after a duration or a number of attempts, or on Ctrl-C."""

    def __init__(self, *, duration: float, requests: int | None, stop: threading.Event):
        self.deadline = time.monotonic() + duration
        self.left = requests
        self.stop = stop
        self.lock = threading.Lock()

    def take(self) -> bool:
        if self.stop.is_set():
            return False
        if self.left is None:
            return time.monotonic() < self.deadline
        with self.lock:
            self.left -= 1
            return self.left >= 0


def book(client, show, seats, token):
    """Scenarios A and B: one request, a Booking or an error."""
    return client.request("POST", f"/api/shows/{show}/book/", {"seat_numbers": seats}, token=token)


def hold_then_confirm(client, show, seats, token):
    """Scenario C: hold the seats, then confirm the hold; the confirm's answer counts."""
    status, body = client.request(
        "POST", f"/api/shows/{show}/holds/", {"seat_numbers": seats}, token=token
    )
    if status != 201:
        return status, body
    return client.request("POST", f"/api/holds/{body['id']}/confirm/", token=token)


def best_available(client, show, seats, token):
    """Scenario D: ask for the best len(seats) seats side by side; the service picks."""
    body = {"best_available": {"count": len(seats)}}
    return client.request("POST", f"/api/shows/{show}/book/", body, token=token)


class BestSeatsWanted:
    """Scenario D's demand: 1-4 seats of one show until not even one seat is left."""

    def __init__(self, show: int):
        self.show = show
        self.sold_out = False

    def pick(self, rng: random.Random) -> tuple[int, list[int]] | None:
        if self.sold_out:
            return None
        return self.show, [0] * rng.randint(1, MAX_SEATS_PER_ATTEMPT)  # only the count

    def taken(self, show: int, seats) -> None:
        pass

    def refused(self, seats, body) -> None:
        if body.get("code") == "no_adjacent_seats" and len(seats) == 1:
            self.sold_out = True


def run_scenario(
    name,
    *,
    seat_map,
    tokens,
    args,
    stop,
    server,
    results: list[Result],
    send=book,
    ports: list[int] | None = None,
) -> Result:
    """Run one scenario with args.concurrency clients; client n talks to ports[n % len]
    (default: args.port). server, if given, is watched: its death stops the run."""
    ports = ports or [args.port]
    result = Result(name)
    results.append(result)  # before any client starts: an interrupt must not lose answers
    lock = threading.Lock()
    budget = Budget(duration=args.duration, requests=args.requests, stop=stop)
    started = time.monotonic()

    def client_loop(seed_value: int) -> None:
        rng = random.Random(seed_value)
        client = Client(ports[seed_value % len(ports)])
        statuses, codes, latencies, booked = Counter(), Counter(), [], {}
        try:
            while budget.take():
                choice = seat_map.pick(rng)
                if choice is None:
                    with lock:
                        result.sold_out_after = result.sold_out_after or (
                            time.monotonic() - started
                        )
                    break
                show, seats = choice
                sent = time.perf_counter()
                status, body = send(client, show, seats, rng.choice(tokens))
                if status != CONNECTION_ERROR:  # a refused connection has no latency
                    latencies.append((time.perf_counter() - sent) * 1000)
                statuses[status] += 1
                if status == 201:
                    booked[body["id"]] = (show, body["seat_numbers"])
                    seat_map.taken(show, body["seat_numbers"])
                else:
                    codes[status, body.get("code", "")] += 1
                    gone = server is not None and server.proc.poll() is not None
                    if status == CONNECTION_ERROR and gone:
                        stop.set()  # gunicorn is gone: no point in hammering a closed port
                    if status == 409 and body.get("code") == "seat_unavailable":
                        seat_map.taken(show, body.get("seats", []))
                    if hasattr(seat_map, "refused"):
                        seat_map.refused(seats, body)
        finally:
            client.close()
            with lock:
                result.statuses.update(statuses)
                result.codes.update(codes)
                result.latencies_ms.extend(latencies)
                result.booked.update(booked)

    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        futures = [pool.submit(client_loop, n) for n in range(args.concurrency)]
        try:
            for future in futures:
                future.result()
        except KeyboardInterrupt:
            # Let the clients finish their request in flight: their answers still count
            # in the integrity check.
            stop.set()
            print("\ninterrupted")
    result.elapsed = time.monotonic() - started
    return result


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def report(result: Result, description: str) -> None:
    rate = result.attempts / result.elapsed if result.elapsed else 0.0
    booked = len(result.booked)
    latencies = sorted(result.latencies_ms)
    other = {
        str(status): count
        for status, count in result.statuses.items()
        if status not in (201, 409, 503)
    }
    print(f"\n== {result.name}: {description} ==")
    print(f"  elapsed         {result.elapsed:8.1f} s", end="")
    if result.sold_out_after is not None:
        print(f"   (sold out after {result.sold_out_after:.1f} s)", end="")
    else:
        print("   (not sold out)", end="")
    print()
    print(f"  attempts        {result.attempts:8d}   {rate:8.1f}/s")
    print(f"  bookings (201)  {booked:8d}   {booked / (result.elapsed or 1):8.1f}/s")
    print(f"  seats sold      {result.seats_sold:8d}")
    print(
        f"  status          201: {result.statuses[201]}  409: {result.statuses[409]}  "
        f"503: {result.statuses[503]}  other: {sum(other.values())} {other or ''}"
    )
    if result.codes:
        by_status = sorted(result.codes.items(), key=lambda item: str(item[0]))
        codes = ", ".join(f"{status} {code or '-'}: {n}" for (status, code), n in by_status)
        print(f"  error codes     {codes}")
    if latencies:
        print(
            f"  latency ms      p50 {percentile(latencies, 0.50):.1f}  "
            f"p95 {percentile(latencies, 0.95):.1f}  p99 {percentile(latencies, 0.99):.1f}  "
            f"max {latencies[-1]:.1f}"
        )


# --- Integrity ----------------------------------------------------------------------


def check_integrity(results: list[Result]) -> list[str]:
    """Compare the database with the invariants and with what the clients were told."""
    from django.db.models import Count

    from booking.models import Booking, Seat, Show

    problems = []
    duplicates = Seat.objects.values("show", "number").annotate(rows=Count("pk")).filter(rows__gt=1)
    if duplicates.exists():
        problems.append(f"seat rows duplicated: {list(duplicates[:5])}")

    seats_of = {}  # booking id -> seat numbers pointing at it
    for booking_id, number in Seat.objects.filter(booking__isnull=False).values_list(
        "booking", "number"
    ):
        seats_of.setdefault(booking_id, []).append(number)
    live = Booking.objects.filter(status=Booking.Status.BOOKED)
    held_per_show = Counter()
    claimed = set()  # (show, seat) claimed by a live booking's seat_numbers
    for pk, show_id, numbers in live.values_list("pk", "show", "seat_numbers"):
        if sorted(seats_of.pop(pk, [])) != sorted(numbers):
            problems.append(f"booking {pk}: seat_numbers {numbers} != seat rows")
        for number in numbers:
            if (show_id, number) in claimed:
                problems.append(f"show {show_id} seat {number} held by two live bookings")
            claimed.add((show_id, number))
        held_per_show[show_id] += len(numbers)
    if seats_of:
        problems.append(f"seat rows point at bookings that are not live: {sorted(seats_of)[:5]}")

    for pk, total in Show.objects.values_list("pk", "total_seats"):
        if held_per_show[pk] > total:
            problems.append(f"show {pk} oversold: {held_per_show[pk]} > {total}")

    answered = {}
    for result in results:
        answered.update(result.booked)
    booked_rows = {
        pk: (show, sorted(numbers))
        for pk, show, numbers in live.values_list("pk", "show", "seat_numbers")
    }
    if sum(r.statuses[201] for r in results) != len(booked_rows):
        problems.append(
            f"{sum(r.statuses[201] for r in results)} answers 201 but "
            f"{len(booked_rows)} booked rows"
        )
    for pk, (show, numbers) in answered.items():
        if booked_rows.get(pk) != (show, sorted(numbers)):
            problems.append(f"booking {pk} answered 201 is not in the database as answered")
    return problems


# --- Main ---------------------------------------------------------------------------


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    args = parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # progress shows up at once, even in a pipe
    env = configure_environment(args)
    signal.signal(signal.SIGTERM, _interrupt)  # a kill stops gunicorn too
    harness.setup_django(env)  # only now: the settings come from the environment set above
    from django.core.management import call_command

    if port_is_taken(args.port):
        print(f"port {args.port} already answers: stop that server or pick --port")
        return 2
    print(f"database {args.db_name}: recreate, migrate, seed ...")
    recreate_database(args.db_name)
    call_command("migrate", verbosity=0, interactive=False, skip_checks=True)
    seeded = seed(args)

    log_dir = Path(tempfile.mkdtemp(prefix="bench-"))
    server = harness.Server("bench", env, log_dir, workers=args.workers, port=args.port)
    stop = threading.Event()
    results = []
    try:
        server.start()
        length = f"{args.requests} attempts" if args.requests else f"{args.duration:g} s"
        print(
            f"gunicorn: {args.workers} workers on 127.0.0.1:{args.port} "
            f"({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}); "
            f"{args.concurrency} clients; {length} per scenario"
        )
        began = time.monotonic()
        tokens = log_in(args.port, seeded.usernames, args.concurrency)
        print(f"logged in {len(tokens)} users in {time.monotonic() - began:.1f} s")

        spread = run_scenario(
            "A spread",
            seat_map=SeatMap(seeded.spread_shows),
            tokens=tokens,
            args=args,
            stop=stop,
            server=server,
            results=results,
        )
        report(spread, f"{args.shows} shows x {args.seats} seats, 1-4 random free seats")
        if stop.is_set():
            raise KeyboardInterrupt

        flash = run_scenario(
            "B flash sale",
            seat_map=SeatMap({seeded.hot_show: args.hot_seats}, FLASH_SALE_BEST_SEATS),
            tokens=tokens,
            args=args,
            stop=stop,
            server=server,
            results=results,
        )
        report(
            flash,
            f"1 show x {args.hot_seats} seats, 1-4 of the best "
            f"{FLASH_SALE_BEST_SEATS} free seats, until sold out",
        )
        if stop.is_set():
            raise KeyboardInterrupt

        checkout = run_scenario(
            "C checkout",
            seat_map=SeatMap(seeded.checkout_shows),
            tokens=tokens,
            args=args,
            stop=stop,
            server=server,
            results=results,
            send=hold_then_confirm,
        )
        report(
            checkout,
            f"{args.shows} shows x {args.seats} seats, hold 1-4 random free seats, confirm",
        )
        if stop.is_set():
            raise KeyboardInterrupt

        best = run_scenario(
            "D best seats",
            seat_map=BestSeatsWanted(seeded.laid_out_show),
            tokens=tokens,
            args=args,
            stop=stop,
            server=server,
            results=results,
            send=best_available,
        )
        report(
            best,
            f"1 laid-out show x {seeded.laid_out_seats} seats (15 rows, 2 aisles), "
            "best 1-4 side by side, until sold out",
        )
    except KeyboardInterrupt:
        if not stop.is_set():
            stop.set()
            print("\ninterrupted")
    finally:
        gunicorn = server.proc  # None if it did not start
        died = gunicorn is not None and gunicorn.poll() is not None  # before we stop it
        server.stop()

    problems = check_integrity(results)
    failures = sum(result.failures for result in results)
    print("\n== integrity (from the database) ==")
    for problem in problems[:20]:
        print(f"  FAIL {problem}")
    if not problems:
        print("  ok: no seat held twice, seats match bookings, no show oversold, 201s = rows")
    if failures:
        print(f"  FAIL {failures} answers were a 5xx other than 503 busy, or no answer")
    if died:
        print(f"  FAIL gunicorn stopped during the run (exit status {gunicorn.returncode})")
    print(f"  gunicorn log: {server.log_path}")
    return 1 if problems or failures or died or stop.is_set() else 0


if __name__ == "__main__":
    sys.exit(main())
