"""What scripts/bench.py's load clients share, in its scenarios and its ratios alike.

An HTTP client per thread, logging in, the seats the clients believe free, when to stop,
and what they were answered. Standard library only.
"""

import http.client
import json
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

MAX_SEATS_PER_ATTEMPT = 4
USER_PASSWORD = "bench-pass-2026"
HTTP_TIMEOUT_SECONDS = 30
CONNECTION_ERROR = "connection error"  # a request that got no HTTP answer at all


class Client:
    """One HTTP client per thread, reusing its connection when the server keeps it open."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection(
            "127.0.0.1", port, timeout=HTTP_TIMEOUT_SECONDS
        )

    def request(self, method, path, body=None, token=None, parse=True) -> tuple[int | str, dict]:
        """Send one request; the body of a success is decoded only if parse (an error's always)."""
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
        if not parse and response.status < 400:
            return response.status, {}
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


def book(client: Client, show: int, seats: list[int], token: str):
    """Book seats of show: one request, a Booking or an error."""
    return client.request("POST", f"/api/shows/{show}/book/", {"seat_numbers": seats}, token=token)


class SeatMap:
    """Which seats the clients believe free, learned from 201 and 409 answers."""

    def __init__(self, shows: dict[int, int], best_seats: int = 0):
        self.free = {show: set(range(1, total + 1)) for show, total in shows.items()}
        self.best_seats = best_seats  # 0: anywhere in the house
        self.lock = threading.Lock()

    def pick(self, rng: random.Random) -> tuple[int, list[int]] | None:
        """Return a show and 1-4 of its seats believed free, or None if all are sold out."""
        with self.lock:
            open_shows = [show for show, free in self.free.items() if free]
            if not open_shows:
                return None
            show = rng.choice(open_shows)
            candidates = sorted(self.free[show])
            if self.best_seats:
                candidates = candidates[: self.best_seats]
            count = min(rng.randint(1, MAX_SEATS_PER_ATTEMPT), len(candidates))
            return show, sorted(rng.sample(candidates, count))

    def learn(self, show: int, seats: list[int], status, body: dict) -> None:
        """Take in the answer to a claim of seats of show."""
        if status == 201:
            taken = body["seat_numbers"]
        elif status == 409 and body.get("code") == "seat_unavailable":
            taken = body.get("seats", [])
        else:
            return
        with self.lock:
            self.free[show].difference_update(taken)


def count_failures(codes: Counter) -> int:
    """Count the answers of codes ((status, code) -> n) that mean something broke: a 5xx
    other than busy, or no answer at all."""
    return sum(
        count
        for (status, code), count in codes.items()
        if status == CONNECTION_ERROR or (status >= 500 and (status, code) != (503, "busy"))
    )


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
    def attempts_per_second(self) -> float:
        return self.attempts / self.elapsed if self.elapsed else 0.0

    @property
    def seats_sold(self) -> int:
        return sum(len(seats) for _, seats in self.booked.values())

    @property
    def failures(self) -> int:
        return count_failures(self.codes)

    def count(self, status, show: int, body: dict) -> None:
        """Count one answer to a claim of seats of show (not thread-safe: lock around it)."""
        self.statuses[status] += 1
        if status == 201:
            self.booked[body["id"]] = (show, body["seat_numbers"])


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
