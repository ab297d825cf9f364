"""Races on real threads, each on its own database connection, released together.

What keeps booking correct under load is the conditional UPDATE `book_seats` claims the
seats with (`seating.take`: only seats still free, the row count decides), plus the
user-row lock of idempotent bookings; what
keeps a screen from being double-booked is the screen-row lock of show scheduling. SQLite
lets one writer in at a time, so these races only exist on a server database: the
module runs on MariaDB/MySQL (in CI) and PostgreSQL, and skips on SQLite. The last test
switches the condition off to show that the race is real, so the others are known to be able
to fail.

Under `make test-galera` the threads are spread over the three nodes of a Galera cluster
(GALERA_NODES, see threads.py): the same assertions then hold with writes on every node.
The controls stay on one node: they show what the row lock does there;
test_galera.py shows what the write does across nodes.
"""

import random
import threading
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from itertools import combinations

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from booking import services
from booking.exceptions import AlreadyCancelled, SeatUnavailable
from booking.models import Booking, IdempotencyKey, Seat, Show, User
from booking.services.transactions import catch_up

from .conftest import (
    cinema_staff_group,
    client_for,
    make_movie,
    make_screen,
    make_show,
    make_show_on_screen,
)
from .threads import BARRIER_TIMEOUT_SECONDS, make_racers, run_together

pytestmark = [
    pytest.mark.concurrency,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor == "sqlite",
        reason=(
            "needs MariaDB/MySQL (make test-mysql) or PostgreSQL: SQLite serialises all "
            "writers, so there are no concurrent row locks to race on"
        ),
    ),
]


def booking_request(client: APIClient, show, seats, **headers) -> Callable[[], tuple]:
    """A call that books seats over HTTP and returns (status, body, Idempotent-Replayed)."""

    def call():
        response = client.post(
            f"/api/shows/{show.pk}/book/", {"seat_numbers": seats}, format="json", headers=headers
        )
        return response.status_code, response.json(), response.headers.get("Idempotent-Replayed")

    return call


def assert_seat_rows_match_bookings(show) -> None:
    """Every live booking holds exactly its seats; cancelled ones and strays hold none."""
    held: dict[int, list[int]] = {}
    for number, booking_id in (
        Seat.objects.filter(show=show, booking__isnull=False)
        .order_by("number")
        .values_list("number", "booking_id")
    ):
        held.setdefault(booking_id, []).append(number)
    bookings = {booking.pk: booking for booking in Booking.objects.filter(show=show)}
    assert set(held) <= set(bookings), "a seat points at a booking of another show"
    for booking in bookings.values():
        if booking.status == Booking.Status.BOOKED:
            assert held.get(booking.pk) == booking.seat_numbers, booking
        else:
            assert booking.pk not in held, f"cancelled {booking} still holds seats"
            assert booking.cancelled_at is not None


# --- One seat, many buyers ------------------------------------------------------------


def test_twenty_users_racing_for_one_seat_leave_exactly_one_winner(movie):
    show = make_show(movie)
    racers = make_racers(20)

    results = run_together([booking_request(client_for(user), show, [12]) for user in racers])

    statuses = sorted(status for status, _, _ in results)
    assert statuses == [201] + [409] * 19
    losers = [body for status, body, _ in results if status == 409]
    assert all(body["code"] == "seat_unavailable" and body["seats"] == [12] for body in losers)
    [winner] = [body for status, body, _ in results if status == 201]
    booking = Booking.objects.get()
    assert booking.pk == winner["id"]
    assert Seat.objects.get(show=show, number=12).booking_id == booking.pk


# --- Overlapping multi-seat requests --------------------------------------------------

OVERLAPPING_REQUESTS = [
    [1, 2, 3],
    [3, 4, 5],
    [5, 6, 7],
    [2, 6],
    [7, 8, 9],
    [9, 10, 1],
    [4, 8],
    [10, 11, 12],
    [12, 1],
    [6, 11],
]
OVERLAPPING_ROUNDS = 5


def test_overlapping_multi_seat_requests_are_all_or_nothing(movie):
    racers = make_racers(len(OVERLAPPING_REQUESTS))
    clients = [client_for(user) for user in racers]

    for _ in range(OVERLAPPING_ROUNDS):
        show = make_show(movie, total_seats=12)
        results = run_together(
            [
                booking_request(client, show, seats)
                for client, seats in zip(clients, OVERLAPPING_REQUESTS, strict=True)
            ]
        )

        winners = [set(body["seat_numbers"]) for status, body, _ in results if status == 201]
        assert winners, "somebody must get their seats"
        for first, second in combinations(winners, 2):
            assert not first & second, "two bookings hold the same seat"
        sold = set().union(*winners)
        for (status, body, _), wanted in zip(results, OVERLAPPING_REQUESTS, strict=True):
            if status != 201:
                assert (status, body["code"]) == (409, "seat_unavailable")
                # Refused only for seats a winner really holds, and only seats it asked for.
                assert body["seats"]
                assert set(body["seats"]) <= sold & set(wanted)
        assert Booking.objects.filter(show=show).count() == len(winners)
        assert (
            set(
                Seat.objects.filter(show=show, booking__isnull=False).values_list(
                    "number", flat=True
                )
            )
            == sold
        )
        assert_seat_rows_match_bookings(show)


# --- More buyers than seats -----------------------------------------------------------


def test_thirty_users_chasing_ten_seats_buy_exactly_ten(movie):
    show = make_show(movie, total_seats=10)
    racers = make_racers(30)

    def buy_any_seat(user, seed):
        client = client_for(user)
        wanted = list(range(1, 11))
        random.Random(seed).shuffle(wanted)  # noqa: S311 - seeded test variety, not secrets
        refused = []
        for seat in wanted:
            status, body, _ = booking_request(client, show, [seat])()
            if status == 201:
                return body["seat_numbers"], refused
            assert (status, body["code"], body["seats"]) == (409, "seat_unavailable", [seat])
            refused.append(seat)
        return None, refused

    results = run_together(
        [lambda user=user, seed=n: buy_any_seat(user, seed) for n, user in enumerate(racers)]
    )

    bought = [seats for seats, _ in results if seats is not None]
    assert len(bought) == 10
    assert sorted(seat for seats in bought for seat in seats) == list(range(1, 11))
    # Everyone who came away empty-handed was refused every seat: none was left.
    assert all(sorted(refused) == list(range(1, 11)) for seats, refused in results if not seats)
    assert Booking.objects.filter(show=show).count() == 10
    assert Seat.objects.filter(show=show, booking__isnull=False).count() == 10
    assert_seat_rows_match_bookings(show)


# --- Churn ----------------------------------------------------------------------------

CHURN_THREADS = 6
CHURN_ITERATIONS = 40


def test_booking_cancelling_and_rebooking_at_once_keeps_seats_and_bookings_consistent(movie):
    show = make_show(movie, total_seats=12)
    racers = make_racers(CHURN_THREADS)
    live: list[int] = []  # ids of bookings any thread may cancel
    live_lock = threading.Lock()
    tally = {"booked": 0, "refused": 0, "cancelled": 0, "already_cancelled": 0}
    tally_lock = threading.Lock()

    def count(outcome):
        with tally_lock:
            tally[outcome] += 1

    def churn(user, seed):
        rng = random.Random(seed)  # noqa: S311 - seeded test variety, not secrets
        for _ in range(CHURN_ITERATIONS):
            with live_lock:
                victim = rng.choice(live) if live and rng.random() < 0.4 else None
            if victim is None:
                seats = rng.sample(range(1, 13), rng.randint(1, 3))
                try:
                    booking = services.book_seats(
                        user=user, show=show, seat_numbers=seats, now=timezone.now()
                    )
                except SeatUnavailable:
                    count("refused")
                    continue
                count("booked")
                with live_lock:
                    live.append(booking.pk)
            else:
                # Another thread may be cancelling the same booking right now. It was
                # booked by a thread that may be on another Galera node: read it as a
                # client would with DB_WSREP_SYNC_WAIT on (a no-op on one server).
                catch_up()
                booking = Booking.objects.select_related("show").get(pk=victim)
                try:
                    services.cancel_booking(booking=booking, now=timezone.now())
                except AlreadyCancelled:
                    count("already_cancelled")
                    continue
                count("cancelled")

    run_together([lambda user=user, seed=n: churn(user, seed) for n, user in enumerate(racers)])

    assert tally["booked"] == Booking.objects.filter(show=show).count()
    assert tally["cancelled"] == Booking.objects.filter(show=show, status="cancelled").count()
    assert tally["booked"] > 0 and tally["cancelled"] > 0 and tally["refused"] > 0
    assert Seat.objects.filter(show=show, booking__isnull=False).count() <= show.total_seats
    assert_seat_rows_match_bookings(show)


# --- Lock order -----------------------------------------------------------------------

OPPOSITE_ORDER_ROUNDS = 10


def test_the_same_seats_requested_in_opposite_orders_never_deadlock(movie, settings):
    settings.MAX_SEATS_PER_USER_PER_SHOW = 0  # the same two users book the whole show
    show = make_show(movie, total_seats=5 * OPPOSITE_ORDER_ROUNDS)
    forwards_client, backwards_client = (client_for(user) for user in make_racers(2))

    for round_ in range(OPPOSITE_ORDER_ROUNDS):
        seats = list(range(5 * round_ + 1, 5 * round_ + 6))
        results = run_together(
            [
                booking_request(forwards_client, show, seats),
                booking_request(backwards_client, show, seats[::-1]),
            ]
        )

        # A deadlock or a lock-wait timeout would surface as a 503 busy (or a 500).
        assert sorted(status for status, _, _ in results) == [201, 409], results
        [winner] = [body for status, body, _ in results if status == 201]
        [loser] = [body for status, body, _ in results if status == 409]
        assert winner["seat_numbers"] == seats
        assert loser["code"] == "seat_unavailable"
    assert Booking.objects.filter(show=show).count() == OPPOSITE_ORDER_ROUNDS
    assert_seat_rows_match_bookings(show)


# --- Idempotency ----------------------------------------------------------------------

IDEMPOTENT_RETRIES = 10


def test_simultaneous_retries_with_one_idempotency_key_book_once(movie, user):
    show = make_show(movie)
    # One client per thread (a client is not meant to be shared), all with user's token.
    calls = [
        booking_request(client_for(user), show, [12, 13], **{"Idempotency-Key": "retry-1"})
        for _ in range(IDEMPOTENT_RETRIES)
    ]

    # The first insert of the key wins; the others wait on its unique index, then replay.
    results = run_together(calls)

    assert [status for status, _, _ in results] == [201] * IDEMPOTENT_RETRIES
    bodies = [body for _, body, _ in results]
    assert all(body == bodies[0] for body in bodies)
    replayed = sorted(str(header) for _, _, header in results)
    assert replayed == ["None"] + ["true"] * (IDEMPOTENT_RETRIES - 1)
    booking = Booking.objects.get()
    assert booking.pk == bodies[0]["id"]
    assert IdempotencyKey.objects.count() == 1
    assert list(Seat.objects.filter(booking=booking).values_list("number", flat=True)) == [12, 13]


REFUSED_RETRIES = 16


def test_simultaneous_retries_of_a_refused_request_are_each_refused_and_store_no_key(
    movie, user, other_user
):
    show = make_show(movie)
    services.book_seats(user=other_user, show=show, seat_numbers=[12], now=timezone.now())
    calls = [
        booking_request(client_for(user), show, [12, 13], **{"Idempotency-Key": "retry-2"})
        for _ in range(REFUSED_RETRIES)
    ]

    # Each attempt's key row rolls back with its failed booking, so a waiting retry
    # inserts the key afresh and is refused in its turn: nothing is replayed.
    results = run_together(calls)

    assert [(status, body["code"]) for status, body, _ in results] == [
        (409, "seat_unavailable")
    ] * REFUSED_RETRIES
    assert all(header is None for _, _, header in results)
    assert not IdempotencyKey.objects.exists()
    assert not Booking.objects.filter(user=user).exists()
    assert Seat.objects.get(show=show, number=13).booking_id is None


# --- Screen scheduling ----------------------------------------------------------------

SCHEDULERS = 8


def show_request(client: APIClient, body: dict, *, show=None) -> Callable[[], tuple]:
    """A call that creates (or, given show, moves) a show over HTTP: (status, body)."""

    def call():
        if show is None:
            response = client.post("/api/shows/", body, format="json")
        else:
            response = client.patch(f"/api/shows/{show.pk}/", body, format="json")
        return response.status_code, response.json()

    return call


def make_staff(users: list[User]) -> list[User]:
    """Make users cinema staff: is_staff and the Cinema staff group."""
    group = cinema_staff_group()
    for user in users:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        user.groups.add(group)
    return users


def overlapping_pairs(screen) -> list[tuple]:
    shows = list(Show.objects.filter(screen=screen).select_related("movie").order_by("start_time"))
    return [
        (first.pk, second.pk)
        for first, second in combinations(shows, 2)
        if services.catalogue.screen_occupied_until(first) > second.start_time
    ]


def test_staff_scheduling_overlapping_shows_at_once_get_exactly_one_201(movie):
    screen = make_screen()
    staff = make_staff(make_racers(SCHEDULERS, prefix="staff"))
    start = timezone.now() + timedelta(days=2)
    # Every request overlaps every other: starts 10 minutes apart, a 166-minute film.
    calls = [
        show_request(
            client_for(user),
            {
                "movie_id": movie.pk,
                "screen_id": screen.pk,
                "start_time": (start + timedelta(minutes=10 * n)).isoformat(),
                "price": "250.00",
            },
        )
        for n, user in enumerate(staff)
    ]

    results = run_together(calls)

    assert sorted(status for status, _ in results) == [201] + [409] * (SCHEDULERS - 1)
    assert all(body["code"] == "screen_busy" for status, body in results if status == 409)
    assert Show.objects.filter(screen=screen).count() == 1
    assert Seat.objects.filter(show__screen=screen).count() == 22  # one copy of the layout


def test_staff_moving_two_shows_into_one_slot_at_once_move_exactly_one(movie):
    screen = make_screen()
    start = timezone.now() + timedelta(days=2)
    early = make_show_on_screen(movie, screen, start_time=start)
    late = make_show_on_screen(movie, screen, start_time=start + timedelta(hours=8))
    slot = (start + timedelta(hours=4)).isoformat()
    first, second = make_staff(make_racers(2, prefix="staff"))

    results = run_together(
        [
            show_request(client_for(first), {"start_time": slot}, show=early),
            show_request(client_for(second), {"start_time": slot}, show=late),
        ]
    )

    assert sorted((status, body.get("code")) for status, body in results) == [
        (200, None),
        (409, "screen_busy"),
    ]
    assert overlapping_pairs(screen) == []


def test_without_the_screen_lock_two_overlapping_shows_are_both_scheduled(monkeypatch):
    movie = make_movie()
    screen = make_screen()
    everyone_has_checked = threading.Barrier(2)
    check = services.catalogue._ensure_screen_free

    def check_then_wait(**kwargs):
        check(**kwargs)
        # Nobody inserts before both have seen the slot free: the race, made certain.
        everyone_has_checked.wait(timeout=BARRIER_TIMEOUT_SECONDS)

    monkeypatch.setattr(services.catalogue, "_lock_screen", lambda screen: screen)
    monkeypatch.setattr(services.catalogue, "_lock_movie", lambda movie: movie)
    monkeypatch.setattr(services.catalogue, "_ensure_screen_free", check_then_wait)
    start = timezone.now() + timedelta(days=2)

    run_together(
        [
            lambda n=n: services.create_show(
                movie=movie,
                screen=screen,
                start_time=start + timedelta(minutes=n),
                price=Decimal("250.00"),
            )
            for n in range(2)
        ],
        one_node=True,  # what the row lock does (test_galera.py: what the write does)
    )

    # With the guard off both shows land on the screen at once: the lock is what makes
    # test_staff_scheduling_overlapping_shows_at_once_get_exactly_one_201 pass.
    assert len(overlapping_pairs(screen)) == 1


# --- Refresh tokens -------------------------------------------------------------------

REDEMPTIONS = 10


def test_one_refresh_token_redeemed_ten_times_at_once_gives_exactly_one_new_pair(user):
    refresh = str(RefreshToken.for_user(user))

    def redeem():
        response = APIClient().post("/api/token/refresh/", {"refresh": refresh}, format="json")
        return response.status_code, response.json()

    results = run_together([redeem] * REDEMPTIONS)

    assert sorted(status for status, _ in results) == [200] + [401] * (REDEMPTIONS - 1)
    assert all(body["code"] == "token_not_valid" for status, body in results if status == 401)
    [(_, pair)] = [result for result in results if result[0] == 200]
    # The one new refresh token works once more; the old one never again.
    again = APIClient().post("/api/token/refresh/", {"refresh": pair["refresh"]}, format="json")
    assert again.status_code == 200


# --- Control: without the lock, the race happens --------------------------------------

CONTROL_RACERS = 5


def test_without_the_claims_condition_the_same_seat_is_sold_twice(movie, monkeypatch):
    show = make_show(movie)
    racers = make_racers(CONTROL_RACERS)
    everyone_has_read = threading.Barrier(CONTROL_RACERS)

    def take_without_the_condition(show, numbers, *, booking, **_):
        # Nobody writes before everybody has seen the seats free: the race, made certain.
        everyone_has_read.wait(timeout=BARRIER_TIMEOUT_SECONDS)
        Seat.objects.filter(show=show, number__in=numbers).update(booking=booking)
        return True

    monkeypatch.setattr(services.seating, "take", take_without_the_condition)

    results = run_together(
        [booking_request(client_for(user), show, [12]) for user in racers], one_node=True
    )

    # With the guard off, every racer is told the seat is theirs: the guard is what
    # makes test_twenty_users_racing_for_one_seat_leave_exactly_one_winner pass.
    winners = [body for status, body, _ in results if status == 201]
    assert len(winners) > 1
    assert Booking.objects.filter(show=show, status="booked").count() > 1
    assert Seat.objects.filter(show=show, booking__isnull=False).count() == 1
