"""What the clients of scripts/bench.py's ratio segments send, one class per endpoint.

Each has send(client, rng), which makes one request and returns (status, error code), or
None when there is nothing left to claim.
"""

import random
import threading
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor

from bench_clients import MAX_SEATS_PER_ATTEMPT, Client, Result, SeatMap

# The ratio servers run with MAX_SEATS_PER_USER_PER_SHOW at its production default (the
# limit costs a query per claim); the clients never ask past it.
PRODUCTION_SEAT_LIMIT = 10
FLOOR_BODY_SEATS = 120  # the insert floor is sent seat numbers as of a booked show's


class Read:
    """An anonymous GET of one path."""

    def __init__(self, path: str):
        self.path = path

    def send(self, client: Client, rng: random.Random):
        status, body = client.request("GET", self.path, parse=False)
        return status, body.get("code", "")


class FloorInsert:
    """The insert floor, sent a booking's body and token (which it does not look at)."""

    def __init__(self, tokens: list[str]):
        self.tokens = tokens

    def send(self, client: Client, rng: random.Random):
        count = rng.randint(1, MAX_SEATS_PER_ATTEMPT)
        seats = sorted(rng.sample(range(1, FLOOR_BODY_SEATS + 1), count))
        body = {"seat_numbers": seats}
        status, answer = client.request(
            "POST", "/bench-floor/insert/", body, token=rng.choice(self.tokens)
        )
        return status, answer.get("code", "")


class Buyers:
    """Which user claims seats of a show: one who stays within the per-show seat limit,
    and for a hold, one without a hold there waiting for its confirm (a user's new hold
    on a show replaces the previous one, whose confirm would then fail)."""

    def __init__(self, tokens: list[str]):
        self.tokens = tokens
        self.owned = Counter()  # (user, show) -> seats booked, held, or being claimed
        self.holding = set()  # (user, show) with a hold not confirmed yet
        self.lock = threading.Lock()

    def reserve(self, show: int, count: int, rng: random.Random, *, hold=False) -> int | None:
        """Return a user who may claim count seats of show, counting them as theirs."""
        with self.lock:
            users = [
                user
                for user in range(len(self.tokens))
                if self.owned[user, show] + count <= PRODUCTION_SEAT_LIMIT
                and not (hold and (user, show) in self.holding)
            ]
            if not users:
                return None
            user = rng.choice(users)
            self.owned[user, show] += count
            if hold:
                self.holding.add((user, show))
            return user

    def release(self, user: int, show: int, count: int) -> None:
        """The claim failed: the seats are not the user's."""
        with self.lock:
            self.owned[user, show] -= count
            self.holding.discard((user, show))

    def confirmed(self, user: int, show: int) -> None:
        with self.lock:
            self.holding.discard((user, show))


class Claims:
    """Claims of 1-4 free-looking seats of many shows, each by a user who may make it;
    result gets the bookings made, for the integrity check."""

    def __init__(self, shows: dict[int, int], tokens: list[str], result: Result):
        self.seat_map = SeatMap(shows)
        self.buyers = Buyers(tokens)
        self.result = result
        self.lock = threading.Lock()

    def claim(self, client: Client, rng: random.Random, *, hold: bool):
        """Book (or hold) seats as some user; return the user, show, seats and answer,
        or None if no seat is left or no user may claim them."""
        choice = self.seat_map.pick(rng)
        if choice is None:
            return None
        show, seats = choice
        user = self.buyers.reserve(show, len(seats), rng, hold=hold)
        if user is None:
            return None
        status, body = client.request(
            "POST",
            f"/api/shows/{show}/{'holds' if hold else 'book'}/",
            {"seat_numbers": seats},
            token=self.buyers.tokens[user],
        )
        self.seat_map.learn(show, seats, status, body)
        if status != 201:
            self.buyers.release(user, show, len(seats))
        return user, show, seats, status, body


class Bookings(Claims):
    """Scenario A's bookings: 1-4 random free-looking seats of many shows."""

    def send(self, client: Client, rng: random.Random):
        claimed = self.claim(client, rng, hold=False)
        if claimed is None:
            return None
        _, show, _, status, body = claimed
        with self.lock:
            self.result.count(status, show, body)
        return status, body.get("code", "")


class Holds(Claims):
    """Holds made ahead of the confirm segments (not measured), then their confirms."""

    def __init__(self, shows: dict[int, int], tokens: list[str], result: Result):
        super().__init__(shows, tokens, result)
        self.ready: deque[tuple[str, int, int, int]] = deque()  # hold id, user, show, seats

    def make(self, port: int, count: int, *, concurrency: int, stop: threading.Event) -> Counter:
        """Hold seats count times over HTTP; return the answers by status."""
        answers = Counter()

        def client_loop(n: int) -> None:
            rng = random.Random(f"holds-{n}-{count}-{len(self.ready)}")
            client = Client(port)
            try:
                while not stop.is_set():
                    with self.lock:
                        if answers[201] >= count:
                            return
                    claimed = self.claim(client, rng, hold=True)
                    if claimed is None:
                        return
                    user, show, seats, status, body = claimed
                    with self.lock:
                        answers[status] += 1
                        if status == 201:
                            self.ready.append((body["id"], user, show, len(seats)))
            finally:
                client.close()

        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            for future in [pool.submit(client_loop, n) for n in range(concurrency)]:
                future.result()
        return answers

    def send(self, client: Client, rng: random.Random):
        try:
            hold, user, show, seats = self.ready.popleft()
        except IndexError:
            return None  # every hold made is confirmed
        status, body = client.request(
            "POST", f"/api/holds/{hold}/confirm/", token=self.buyers.tokens[user]
        )
        with self.lock:
            self.result.count(status, show, body)
        if status == 201:
            self.buyers.confirmed(user, show)
        else:
            self.buyers.release(user, show, seats)
        return status, body.get("code", "")
