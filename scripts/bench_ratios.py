"""The ratios of scripts/bench.py: what a request costs, against a floor.

Two gunicorn servers on the same database and the same Redis serve the API plus two
floors: bare Django views behind the same gunicorn.conf.py, settings and middleware
(scripts/bench_floor.py), so that only the view differs:

  read floor    GET: one query, 20 movies as dicts, JsonResponse
  insert floor  POST: one row inserted in transaction.atomic(), 201 JSON

One server counts every request in every rate limit (THROTTLE_*=--throttle-rate, too
high to bite), the other has them off. In each of --rounds rounds every endpoint runs for
--segment-seconds with --ratio-concurrency clients, in this order (those marked * on both
servers, back to back, which server goes first alternating between rounds):

  read floor, GET /api/movies/ *, GET /api/movies/{id}/shows/ *,
  GET /api/shows/{id}/seats/ *, insert floor, POST /api/shows/{id}/book/ *,
  POST /api/holds/{id}/confirm/ (of holds made just before, not measured)

Over each segment it reads the CPU the servers, MariaDB and Redis used (scripts/bench_cpu.py;
Redis is a redis-server of our own unless --shared-redis-db) and divides by the requests
answered. The load clients' CPU is not counted. scripts/bench_summary.py makes the table.
"""

import argparse
import math
import os
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import harness
from bench_clients import CONNECTION_ERROR, Budget, Client, Result, book, count_failures, log_in
from bench_cpu import NO_USAGE, SETTLE_MAX_SECONDS, CpuMeter, CpuUsage, redis_command, redis_pid
from bench_seed import FEATURED_SHOWS, RatioSeed
from bench_senders import PRODUCTION_SEAT_LIMIT, Bookings, FloorInsert, Holds, Read
from private_servers import PrivateRedis

SCRIPTS = Path(__file__).resolve().parent
FLOOR_SETTINGS = "bench_floor"  # scripts/bench_floor.py
SHARED_REDIS = ("127.0.0.1", 6379)  # the machine's Redis
# Every THROTTLE_* setting, so that "off" really is every rate limit off.
RATE_LIMITS = (*harness.THROTTLE_SCOPES, "PASSWORD_RESET")
SEAT_MAP_BOOKINGS = 10  # of 4 seats each, in the seat map that is read...
SEAT_MAP_HOLDS = 3  # ...and holds of 4 seats, each by a user of its own
# Holds made before a confirm segment, per confirm expected at the last confirm rate
# measured, or before the first one at the book rate (a confirm may well be faster).
HOLDS_PER_EXPECTED_CONFIRM = 1.5
HOLDS_PER_BOOKING_RATE = 2.0
WARM_UP_SECONDS = 0.5  # per endpoint and server, before the first round, not measured
# The targets of issue 13, printed beside the numbers (never an exit status).
READ_TARGET = 1.0
WRITE_TARGET = 0.6


def add_ratio_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ratios' group of options to parser."""
    ratios = parser.add_argument_group("ratios")
    ratios.add_argument("--rounds", type=int, default=3, help="rounds of segments (default 3)")
    ratios.add_argument(
        "--segment-seconds", type=float, default=5.0, help="seconds per segment (default 5)"
    )
    ratios.add_argument(
        "--ratio-concurrency", type=int, default=8, help="HTTP clients per segment (default 8)"
    )
    ratios.add_argument(
        "--ratio-shows",
        type=int,
        default=120,
        help="laid-out shows of 120 seats to book, and as many to hold (default 120)",
    )
    ratios.add_argument(
        "--throttle-rate",
        default="1000000/second",
        help=(
            "every THROTTLE_* of the rate-limited server (default 1000000/second: never "
            "bites, and a one-second window keeps DRF's per-client history of request "
            "times as short as production's limits keep it)"
        ),
    )
    ratios.add_argument(
        "--max-requests",
        type=int,
        default=0,
        help=(
            "GUNICORN_MAX_REQUESTS of the ratio servers (default 0: workers are not recycled; "
            "a new worker's start-up would land in whichever segment it happens in, and the "
            "medians would keep it for fast endpoints and drop it for slow ones)"
        ),
    )
    ratios.add_argument(
        "--shared-redis-db",
        type=int,
        metavar="DB",
        help=(
            "use db DB (emptied first) of the machine's Redis on 127.0.0.1:6379 instead of a "
            "redis-server of our own; its CPU then includes what other clients cost it"
        ),
    )


def ratio_env(args: argparse.Namespace, *, redis_url: str, rate_limited: bool) -> dict[str, str]:
    """The environment of a ratio server: the API plus the floors, Redis, production limits."""
    rate = args.throttle_rate if rate_limited else "off"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": FLOOR_SETTINGS,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SCRIPTS), os.environ.get("PYTHONPATH")])),
        # Both servers on Redis: the rate limits' counters and the read cache live there.
        "REDIS_URL": redis_url,
        "LOG_LEVEL": "INFO" if args.full_stack else "WARNING",
        "MAX_SEATS_PER_USER_PER_SHOW": str(PRODUCTION_SEAT_LIMIT),
        "GUNICORN_MAX_REQUESTS": str(args.max_requests),
        **{f"THROTTLE_{scope}": rate for scope in RATE_LIMITS},
    }


# --- Endpoints ------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    key: str
    label: str
    expected: frozenset  # the statuses of a normal answer
    floor: str = ""  # the key of the floor it is held against ("" for a floor itself)
    target: float = 0.0  # issue 13's floor ratio target
    both_servers: bool = False  # also measured with the rate limits off

    @property
    def is_floor(self) -> bool:
        return not self.floor

    def servers(self, order: tuple[str, ...] = ("on", "off")) -> tuple[str, ...]:
        """Return the servers it is measured on, in order."""
        return order if self.both_servers else ("on",)


OK = frozenset({200})
CREATED = frozenset({201})
ENDPOINTS = (
    Endpoint("read-floor", "read floor: 1 query, 20 dicts, JsonResponse", OK),
    Endpoint(
        "movies",
        "GET /api/movies/",
        OK,
        floor="read-floor",
        target=READ_TARGET,
        both_servers=True,
    ),
    Endpoint(
        "shows",
        f"GET /api/movies/{{id}}/shows/ ({FEATURED_SHOWS} shows)",
        OK,
        floor="read-floor",
        target=READ_TARGET,
        both_servers=True,
    ),
    Endpoint(
        "seats",
        "GET /api/shows/{id}/seats/ (300 seats)",
        OK,
        floor="read-floor",
        target=READ_TARGET,
        both_servers=True,
    ),
    Endpoint("insert-floor", "insert floor: 1-row INSERT in atomic(), 201", CREATED),
    Endpoint(
        "book",
        "POST /api/shows/{id}/book/ (1-4 seats)",
        # 409: a seat taken since the client last heard of it, a normal answer.
        frozenset({201, 409}),
        floor="insert-floor",
        target=WRITE_TARGET,
        both_servers=True,
    ),
    Endpoint(
        "confirm",
        "POST /api/holds/{id}/confirm/ (1-4 seats)",
        CREATED,
        floor="insert-floor",
        target=WRITE_TARGET,
        both_servers=True,
    ),
)
ENDPOINT = {endpoint.key: endpoint for endpoint in ENDPOINTS}


# --- Segments and rounds --------------------------------------------------------------


@dataclass
class Segment:
    """One endpoint on one server for a few seconds: the answers, and the CPU used."""

    endpoint: str
    server: str  # "on" (rate limits counting) or "off"
    round: int  # 0: warming up
    seconds: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    codes: Counter = field(default_factory=Counter)  # (status, code) of unexpected answers
    cpu: CpuUsage = NO_USAGE
    settled_seconds: float = 0.0  # waited for the machine to be idle before
    ran_out: bool = False  # ended early: no seats (or holds) left to claim

    @property
    def requests(self) -> int:
        """Requests answered, with any HTTP status."""
        return sum(n for status, n in self.statuses.items() if status != CONNECTION_ERROR)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def ms(self, part: str) -> float:
        """CPU milliseconds per request answered of part: app, db, redis or total."""
        if not self.requests:
            return math.nan
        return 1000 * getattr(self.cpu, part) / self.requests

    @property
    def failures(self) -> int:
        return count_failures(self.codes)


@dataclass
class RatioRun:
    servers: dict[str, harness.Server]  # "on" (rate limits counting), "off"
    senders: dict[str, object]  # endpoint key -> what it sends
    holds: Holds
    segments: list[Segment] = field(default_factory=list)  # warming up included

    @property
    def measured(self) -> list[Segment]:
        return [segment for segment in self.segments if segment.round]


def run_segment(
    run: RatioRun,
    segment: Segment,
    *,
    seconds: float,
    concurrency: int,
    meter: CpuMeter,
    stop: threading.Event,
) -> Segment:
    """Send the segment's endpoint's requests to its server from concurrency clients for
    seconds (or until there are none left); record the answers and the CPU used meanwhile
    in segment, and segment in run."""
    sender = run.senders[segment.endpoint]
    server = run.servers[segment.server]
    expected = ENDPOINT[segment.endpoint].expected
    lock = threading.Lock()
    before = meter.sample(server)
    started = time.monotonic()
    budget = Budget(duration=seconds, requests=None, stop=stop)

    def client_loop(n: int) -> None:
        rng = random.Random(f"{segment.endpoint}-{segment.server}-{segment.round}-{n}")
        client = Client(server.port)
        statuses, codes = Counter(), Counter()
        try:
            while budget.take():
                answer = sender.send(client, rng)
                if answer is None:
                    segment.ran_out = True
                    break
                status, code = answer
                statuses[status] += 1
                if status not in expected:
                    codes[status, code] += 1
                    if status == CONNECTION_ERROR and server.proc.poll() is not None:
                        stop.set()  # gunicorn is gone
        finally:
            client.close()
            with lock:
                segment.statuses.update(statuses)
                segment.codes.update(codes)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [pool.submit(client_loop, n) for n in range(concurrency)]:
            future.result()
    segment.seconds = time.monotonic() - started
    segment.cpu = CpuUsage.between(before, meter.sample(server))
    run.segments.append(segment)
    return segment


def print_segment(segment: Segment) -> None:
    line = (
        f"  {segment.round:>2} {segment.server:<3} {ENDPOINT[segment.endpoint].label:<50.50} "
        f"{segment.seconds:4.1f} s {segment.requests:6d} req {segment.rate:5.0f}/s  "
        f"{segment.ms('app'):5.2f} + {segment.ms('db'):4.2f} + {segment.ms('redis'):4.2f} "
        f"= {segment.ms('total'):5.2f} ms  (all of MariaDB {segment.ms('db_process'):4.2f})"
    )
    if segment.ran_out:
        line += "  (ran out of seats or holds to claim)"
    if segment.cpu.workers_started:
        line += f"  ({segment.cpu.workers_started} gunicorn workers booted, counted)"
    if segment.settled_seconds >= SETTLE_MAX_SECONDS:
        line += f"  (the machine was still busy after {SETTLE_MAX_SECONDS:g} s)"
    if segment.codes:
        line += "  unexpected: " + ", ".join(
            f"{status} {code or '-'}: {n}" for (status, code), n in segment.codes.most_common()
        )
    print(line)


def prepare_holds(run: RatioRun, args, *, stop) -> None:
    """Make enough holds for the next confirm segment, at the last rate measured."""
    confirms = [s for s in run.measured if s.endpoint == "confirm"]
    books = [s for s in run.measured if s.endpoint == "book" and s.server == "on"]
    if confirms:
        per_second = confirms[-1].rate * HOLDS_PER_EXPECTED_CONFIRM
    else:
        per_second = books[-1].rate * HOLDS_PER_BOOKING_RATE
    wanted = math.ceil(per_second * args.segment_seconds) - len(run.holds.ready)
    if wanted > 0:
        answers = run.holds.make(
            run.servers["off"].port, wanted, concurrency=args.ratio_concurrency, stop=stop
        )
        if set(answers) - {201, 409}:
            print(f"  making holds for the confirms: answers {dict(answers)}")


def measure_ratios(run: RatioRun, args, *, meter: CpuMeter, stop) -> None:
    """Warm every endpoint up on both servers, then run the rounds of segments."""
    print(f"warming up: {WARM_UP_SECONDS:g} s per endpoint and server, not measured")
    for endpoint in ENDPOINTS:
        for name in endpoint.servers():
            if endpoint.key == "confirm":
                run.holds.make(
                    run.servers["off"].port,
                    2 * args.ratio_concurrency,
                    concurrency=args.ratio_concurrency,
                    stop=stop,
                )
            segment = run_segment(
                run,
                Segment(endpoint.key, name, 0),
                seconds=WARM_UP_SECONDS,
                concurrency=args.ratio_concurrency,
                meter=meter,
                stop=stop,
            )
            if segment.codes:
                print_segment(segment)
    print(
        f"\n== ratios: {args.rounds} rounds, {args.segment_seconds:g} s per segment, "
        f"{args.ratio_concurrency} clients; CPU per request answered: "
        "gunicorn + MariaDB + Redis =="
    )
    for round_number in range(1, args.rounds + 1):
        order = ("on", "off") if round_number % 2 else ("off", "on")
        for endpoint in ENDPOINTS:
            for name in endpoint.servers(order):
                if endpoint.key == "confirm":
                    prepare_holds(run, args, stop=stop)
                if any(server.proc.poll() is not None for server in run.servers.values()):
                    stop.set()  # a gunicorn died: its CPU can no longer be read
                if stop.is_set():
                    return
                settled = meter.settle(run.servers.values())
                segment = run_segment(
                    run,
                    Segment(endpoint.key, name, round_number, settled_seconds=settled),
                    seconds=args.segment_seconds,
                    concurrency=args.ratio_concurrency,
                    meter=meter,
                    stop=stop,
                )
                print_segment(segment)


# --- The run: servers, Redis, set-up --------------------------------------------------


def set_up_seat_map(port: int, seeded: RatioSeed, tokens: list[str], result: Result) -> None:
    """Book and hold some seats of the seat map that is read, over HTTP (not measured)."""
    rng = random.Random("seat map")
    count = SEAT_MAP_BOOKINGS + SEAT_MAP_HOLDS
    seats = rng.sample(range(1, seeded.seat_map_seats + 1), 4 * count)
    client = Client(port)
    try:
        for n in range(count):
            chosen = sorted(seats[4 * n : 4 * n + 4])
            if n < SEAT_MAP_BOOKINGS:
                status, body = book(client, seeded.seat_map_show, chosen, tokens[n])
                result.count(status, seeded.seat_map_show, body)
            else:
                status, body = client.request(
                    "POST",
                    f"/api/shows/{seeded.seat_map_show}/holds/",
                    {"seat_numbers": chosen},
                    token=tokens[n],
                )
            if status != 201:
                raise SystemExit(f"setting up the seat map: {status} {body}")
    finally:
        client.close()


def start_ratio_servers(args, log_dir: Path, redis_url: str) -> dict[str, harness.Server]:
    """Start the two servers: "on" with the rate limits counting, "off" without."""
    servers = {
        name: harness.Server(
            f"ratios-limits-{name}",
            ratio_env(args, redis_url=redis_url, rate_limited=name == "on"),
            log_dir,
            workers=args.workers,
            port=port,
        )
        for name, port in (("on", args.port + 1), ("off", args.port + 2))
    }
    try:
        for server in servers.values():
            server.spawn()
        for server in servers.values():
            server.wait_ready()
    except BaseException:
        for server in servers.values():
            server.stop()
        raise
    return servers


def start_redis(args) -> tuple[str, int, PrivateRedis | None]:
    """Return the ratio servers' REDIS_URL, its process id, and our redis-server if any.

    By default a redis-server of our own: Redis cannot tell which client its CPU went
    to, and the machine's may be busy with other people's tests meanwhile.
    """
    if args.shared_redis_db is not None:
        redis_command(SHARED_REDIS, ["SELECT", str(args.shared_redis_db)], ["FLUSHDB"])
        host, port = SHARED_REDIS
        return f"redis://{host}:{port}/{args.shared_redis_db}", redis_pid(SHARED_REDIS), None
    redis = PrivateRedis()
    redis.start()
    return redis.url, redis.proc.pid, redis


def run_ratios(args, *, seeded: RatioSeed, usernames, stop, results, log_dir):
    """Run the ratio part on its two servers; return the users' tokens (logged in
    there), the segments and whether a server died."""
    redis_url, redis_process, private_redis = start_redis(args)
    run, died = None, []
    try:
        meter = CpuMeter(db_name=args.db_name, redis_pid=redis_process)
        servers = start_ratio_servers(args, log_dir, redis_url)
        try:
            began = time.monotonic()
            tokens = log_in(servers["off"].port, usernames, args.concurrency)
            print(f"logged in {len(tokens)} users in {time.monotonic() - began:.1f} s")
            print(
                f"\nratios: gunicorn, {args.workers} workers each, on 127.0.0.1:"
                f"{servers['on'].port} (rate limits {args.throttle_rate}) and :"
                f"{servers['off'].port} (rate limits off); {redis_url}; "
                f"MariaDB pid {meter.db_pid}, Redis pid {meter.redis_pid}"
            )
            set_up = Result("ratios: seat map set-up")
            results.append(set_up)
            set_up_seat_map(servers["off"].port, seeded, tokens, set_up)
            booked, confirmed = Result("ratios: book"), Result("ratios: confirm")
            results += [booked, confirmed]
            holds = Holds(seeded.hold_shows, tokens, confirmed)
            senders = {
                "read-floor": Read("/bench-floor/read/"),
                "movies": Read("/api/movies/"),
                "shows": Read(f"/api/movies/{seeded.featured_movie}/shows/"),
                "seats": Read(f"/api/shows/{seeded.seat_map_show}/seats/"),
                "insert-floor": FloorInsert(tokens),
                "book": Bookings(seeded.booking_shows, tokens, booked),
                "confirm": holds,
            }
            run = RatioRun(servers=servers, senders=senders, holds=holds)
            measure_ratios(run, args, meter=meter, stop=stop)
        except FileNotFoundError as exc:  # /proc/<pid>: a gunicorn died during a segment
            stop.set()
            print(f"  FAIL a process went away while its CPU was read: {exc}")
        except KeyboardInterrupt:
            stop.set()
            print("\ninterrupted")
            tokens = []
        finally:
            died = [server for server in servers.values() if server.proc.poll() is not None]
            for server in servers.values():
                server.stop()
    finally:
        if private_redis is not None:
            private_redis.cleanup()
    for server in died:
        print(f"  FAIL gunicorn {server.name} stopped during the run; log: {server.log_path}")
    return tokens, run.segments if run else [], bool(died)
