"""Benchmark the API through gunicorn and MariaDB: CPU per request against bare-Django
floors, and booking under load; then check the database is consistent.

Not a test: it measures. It (re)creates a MariaDB database (default bench_movie_booking),
migrates and seeds it from this process, starts gunicorn on it and logs the users in over
HTTP. Then two parts (`--only ratios` or `--only scenarios` runs one; default both).

Ratios (scripts/bench_ratios.py): what a request costs, against a floor. Every endpoint,
and a bare Django view doing the least a request of its kind needs, runs for a few seconds
in turn, over several rounds, on a server with the rate limits counting and one without;
the CPU used by gunicorn, by the MariaDB threads serving it and by Redis is read from
/proc (scripts/bench_cpu.py) and divided by the requests answered. Per endpoint it
reports the median round and the medians of the per-round ratios (scripts/bench_summary.py).

Scenarios: booking under load, --concurrency clients, on a server with the rate limits
off (counting, with --full-stack), each scenario for --duration seconds:

  A  spread      bookings of 1-4 random free seats of many shows
  B  flash sale  everyone books 1-4 seats of one hot show, fighting for the best
                 seats, until it is sold out
  C  checkout    hold 1-4 free-looking seats of many shows, then confirm the hold
                 (two requests per purchase; a purchase counts once)
  D  best seats  everyone asks a laid-out hot show for its best 1-4 seats side by
                 side, until no single seat is left

For each it prints attempts, attempts/s, bookings/s, seats sold, answers by status and
latency percentiles, and "hot vs spread" (B attempts/s / A attempts/s).

Then it checks the database: no seat held twice, every live booking's seats are exactly
the seat rows pointing at it, no show oversold, one booked row per 201 (of both parts).
Last, one markdown table of it all, the targets beside the numbers. Exit status 1 if the
check fails, if any 5xx other than 503 `busy` (or a broken connection) was seen, or if a
gunicorn died; never because of a ratio (they depend on the machine).

    .venv/bin/python scripts/bench.py --workers 4              # or: make bench
    .venv/bin/python scripts/bench.py --only ratios --rounds 5

MariaDB: root with an empty password on 127.0.0.1:3306 unless DB_USER, DB_PASSWORD,
DB_HOST, DB_PORT say otherwise; for the ratios it must run on this machine (its CPU is
read from /proc), and redis-server must be installed. Python standard library only (plus
the project). Django and the project are imported inside functions: their settings come
from the environment this script sets up from its command line. scripts/galera_bench.py
runs the scenarios through this module.
"""

import argparse
import os
import random
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import harness
from bench_clients import (
    CONNECTION_ERROR,
    MAX_SEATS_PER_ATTEMPT,
    Budget,
    Client,
    Result,
    SeatMap,
    book,
    log_in,
    port_is_taken,
)
from bench_ratios import (
    RATE_LIMITS,
    SEAT_MAP_BOOKINGS,
    SEAT_MAP_HOLDS,
    Segment,
    add_ratio_arguments,
    run_ratios,
)
from bench_seed import Seed, create_users, recreate_database, seed, seed_ratios
from bench_summary import (
    HOT_VS_SPREAD_TARGET,
    caption,
    git_version,
    markdown_table,
    print_ratio_rows,
    summarize,
)

# In the flash sale everyone wants the best seats: each client picks among the first
# few seats it believes free, so that clients really do collide on the same rows.
FLASH_SALE_BEST_SEATS = 20
FULL_STACK_REDIS_URL = "redis://127.0.0.1:6379/6"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument(
        "--only", choices=("ratios", "scenarios"), help="run one part (default: both)"
    )
    add_ratio_arguments(parser)
    scenarios = parser.add_argument_group("scenarios")
    length = scenarios.add_mutually_exclusive_group()
    length.add_argument(
        "--duration", type=float, default=15.0, help="seconds per scenario (default 15)"
    )
    length.add_argument("--requests", type=int, help="booking attempts per scenario instead")
    scenarios.add_argument("--concurrency", type=int, default=32, help="HTTP clients (32)")
    scenarios.add_argument("--shows", type=int, default=100, help="shows for scenario A (100)")
    scenarios.add_argument("--seats", type=int, default=120, help="seats per show in A (120)")
    scenarios.add_argument("--hot-seats", type=int, default=300, help="seats of the hot show (300)")
    scenarios.add_argument(
        "--seat-limit",
        type=int,
        default=0,
        help=(
            "MAX_SEATS_PER_USER_PER_SHOW (default 0: off, so that a few bench users can buy "
            "a whole show and runs compare with earlier ones; the user-row lock still runs)"
        ),
    )
    scenarios.add_argument(
        "--full-stack",
        action="store_true",
        help=(
            "count every request in the rate limits (limits too high to bite) and log every "
            "request at INFO, as in production: measures what they cost"
        ),
    )
    parser.add_argument("--users", type=int, default=32, help="users logged in (default 32)")
    parser.add_argument(
        "--port",
        type=int,
        default=8765,
        help="gunicorn port of the scenarios (default 8765); the ratios use the next two",
    )
    parser.add_argument("--db-name", default="bench_movie_booking", help="database to recreate")
    args = parser.parse_args()
    if not args.db_name.startswith("bench"):
        # The database is dropped and recreated: never let a typo point at real data.
        parser.error("--db-name must start with 'bench' (the database is dropped first)")
    if args.users < SEAT_MAP_BOOKINGS + SEAT_MAP_HOLDS:
        parser.error(f"--users must be at least {SEAT_MAP_BOOKINGS + SEAT_MAP_HOLDS}")
    args.run_ratios = args.only in (None, "ratios")
    args.run_scenarios = args.only in (None, "scenarios")
    return args


def configure_environment(args: argparse.Namespace) -> dict[str, str]:
    """Set the settings both this process and gunicorn read; return the scenarios' env."""
    full_stack = {}
    if args.full_stack:
        # Every rate limit counts every request in a shared Redis, at rates no run reaches.
        full_stack = {
            "REDIS_URL": FULL_STACK_REDIS_URL,
            "LOG_LEVEL": "INFO",
            **{f"THROTTLE_{scope}": args.throttle_rate for scope in RATE_LIMITS},
        }
    os.environ.update(
        harness.production_env(
            DB_ENGINE="mysql",
            DB_NAME=args.db_name,
            DB_USER=os.environ.get("DB_USER") or "root",
            DB_PASSWORD=os.environ.get("DB_PASSWORD", ""),
            DB_HOST=os.environ.get("DB_HOST") or "127.0.0.1",
            DB_PORT=os.environ.get("DB_PORT") or "3306",
            MAX_SEATS_PER_USER_PER_SHOW=str(args.seat_limit),
            **full_stack,
        )
    )
    return dict(os.environ)


# --- Scenarios ------------------------------------------------------------------------


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

    def learn(self, show: int, seats: list[int], status, body: dict) -> None:
        """Take in an answer: no block of even one seat left means sold out."""
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
                seat_map.learn(show, seats, status, body)
                if status == 201:
                    booked[body["id"]] = (show, body["seat_numbers"])
                else:
                    codes[status, body.get("code", "")] += 1
                    gone = server is not None and server.proc.poll() is not None
                    if status == CONNECTION_ERROR and gone:
                        stop.set()  # gunicorn is gone: no point in hammering a closed port
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
    print(f"  attempts        {result.attempts:8d}   {result.attempts_per_second:8.1f}/s")
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


def run_scenarios(args, *, seeded: Seed, tokens, stop, server, results) -> dict[str, Result]:
    """Run scenarios A to D one after the other; return them by letter (fewer if stopped)."""
    scenarios = [
        (
            "A spread",
            SeatMap(seeded.spread_shows),
            book,
            f"{args.shows} shows x {args.seats} seats, 1-4 random free seats",
        ),
        (
            "B flash sale",
            SeatMap({seeded.hot_show: args.hot_seats}, FLASH_SALE_BEST_SEATS),
            book,
            f"1 show x {args.hot_seats} seats, 1-4 of the best "
            f"{FLASH_SALE_BEST_SEATS} free seats, until sold out",
        ),
        (
            "C checkout",
            SeatMap(seeded.checkout_shows),
            hold_then_confirm,
            f"{args.shows} shows x {args.seats} seats, hold 1-4 random free seats, confirm",
        ),
        (
            "D best seats",
            BestSeatsWanted(seeded.laid_out_show),
            best_available,
            f"1 laid-out show x {seeded.laid_out_seats} seats (15 rows, 2 aisles), "
            "best 1-4 side by side, until sold out",
        ),
    ]
    done = {}
    for name, seat_map, send, description in scenarios:
        result = run_scenario(
            name,
            seat_map=seat_map,
            tokens=tokens,
            args=args,
            stop=stop,
            server=server,
            results=results,
            send=send,
        )
        report(result, description)
        done[name[0]] = result
        if stop.is_set():
            break
    if "A" in done and "B" in done:
        spread, hot = done["A"].attempts_per_second, done["B"].attempts_per_second
        print(
            f"\n== hot vs spread: B {hot:.1f} / A {spread:.1f} attempts/s = "
            f"{hot / spread if spread else 0:.2f}x (target >= {HOT_VS_SPREAD_TARGET}x) =="
        )
    return done


# --- Integrity ------------------------------------------------------------------------


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


# --- Main -----------------------------------------------------------------------------


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    args = parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # progress shows up at once, even in a pipe
    env = configure_environment(args)
    signal.signal(signal.SIGTERM, _interrupt)  # a kill stops gunicorn too
    harness.setup_django(env)  # only now: the settings come from the environment set above
    from django.core.management import call_command

    ports = [args.port] if args.run_scenarios else []
    ports += [args.port + 1, args.port + 2] if args.run_ratios else []
    for port in ports:
        if port_is_taken(port):
            print(f"port {port} already answers: stop that server or pick --port")
            return 2
    began = time.monotonic()
    version = git_version()  # now: the code may change while it runs
    load = os.getloadavg()[0]
    if load > (os.cpu_count() or 1):
        print(
            f"warning: the machine is busy (load average {load:.1f} on {os.cpu_count()} "
            "CPUs): expect noisy numbers; the rounds pair each endpoint with its floor in "
            "time, but look at the ranges before comparing runs"
        )
    print(f"database {args.db_name}: recreate, migrate, seed ...")
    recreate_database(args.db_name)
    call_command("migrate", verbosity=0, interactive=False, skip_checks=True)
    seeded = seed(args) if args.run_scenarios else None
    usernames = seeded.usernames if seeded else create_users(args.users)
    ratio_seed = seed_ratios(args) if args.run_ratios else None
    print(f"seeded in {time.monotonic() - began:.0f} s")

    log_dir = Path(tempfile.mkdtemp(prefix="bench-"))
    stop = threading.Event()
    results: list[Result] = []  # every booking answered, for the integrity check
    segments: list[Segment] = []
    scenarios: dict[str, Result] = {}
    tokens: list[str] = []
    died = False
    if args.run_ratios:
        tokens, segments, died = run_ratios(
            args,
            seeded=ratio_seed,
            usernames=usernames,
            stop=stop,
            results=results,
            log_dir=log_dir,
        )
    rows = summarize(segments) if not stop.is_set() else []
    if rows:
        print_ratio_rows(rows)

    if args.run_scenarios and not stop.is_set():
        server = harness.Server("scenarios", env, log_dir, workers=args.workers, port=args.port)
        try:
            server.start()
            if not tokens:
                logging_in = time.monotonic()
                tokens = log_in(args.port, usernames, args.concurrency)
                print(f"logged in {len(tokens)} users in {time.monotonic() - logging_in:.1f} s")
            length = f"{args.requests} attempts" if args.requests else f"{args.duration:g} s"
            print(
                f"\nscenarios: gunicorn {args.workers} workers on 127.0.0.1:{args.port} "
                f"({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}); "
                f"{args.concurrency} clients; {length} per scenario"
            )
            scenarios = run_scenarios(
                args, seeded=seeded, tokens=tokens, stop=stop, server=server, results=results
            )
        except KeyboardInterrupt:
            if not stop.is_set():
                stop.set()
                print("\ninterrupted")
        finally:
            gunicorn = server.proc  # None if it did not start
            if gunicorn is not None and gunicorn.poll() is not None:  # before we stop it
                died = True
                print(f"  FAIL gunicorn stopped during the run (exit status {gunicorn.returncode})")
            server.stop()

    problems = check_integrity(results)
    failures = sum(result.failures for result in results)
    failures += sum(segment.failures for segment in segments)
    print("\n== integrity (from the database) ==")
    for problem in problems[:20]:
        print(f"  FAIL {problem}")
    if not problems:
        print("  ok: no seat held twice, seats match bookings, no show oversold, 201s = rows")
    if failures:
        print(f"  FAIL {failures} answers were a 5xx other than 503 busy, or no answer")
    if died:
        print("  FAIL a gunicorn stopped during the run")
    print(f"  gunicorn logs: {log_dir}")

    if rows or scenarios:
        print("\n== summary (markdown) ==\n")
        print(caption(args, version, load, ratios=bool(rows), scenarios="B" in scenarios))
        print()
        print(markdown_table(rows, scenarios))
    print(f"\ntook {time.monotonic() - began:.0f} s")
    return 1 if problems or failures or died or stop.is_set() else 0


if __name__ == "__main__":
    sys.exit(main())
