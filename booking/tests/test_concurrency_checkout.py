"""Races of checkout on real threads: holds, best available, the per-user limit.

Like test_concurrency.py, this runs on MariaDB/MySQL and PostgreSQL and skips on SQLite
(one writer at a time: no race to lose). Each guarantee has a control test that switches
its lock off and shows the race then happens, so the guarded tests are known to be able
to fail. Under `make test-galera` the threads are spread over the cluster's three nodes,
except the controls' (they show what a row lock does on one server).
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from booking import services
from booking.exceptions import (
    HoldExpired,
    NoAdjacentSeats,
    SeatLimitReached,
    SeatUnavailable,
)
from booking.layouts import Row
from booking.models import Booking, Hold, Seat

from .conftest import make_screen, make_show_on_screen
from .threads import BARRIER_TIMEOUT_SECONDS, make_racers, run_together

pytestmark = [
    pytest.mark.concurrency,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor == "sqlite",
        reason="needs MariaDB/MySQL or PostgreSQL: SQLite serialises all writers",
    ),
]


def attempt(call, *expected):
    """Run call; return its result, or the expected domain error it raised."""
    try:
        return call()
    except expected as exc:
        return exc


def seat_owners(show) -> dict[int, tuple]:
    """Seat number -> (booking id, hold id, held until) for every taken seat row."""
    return {
        number: (booking_id, hold_id, held_until)
        for number, booking_id, hold_id, held_until in Seat.objects.filter(show=show)
        .exclude(booking__isnull=True, hold__isnull=True)
        .values_list("number", "booking_id", "hold_id", "held_until")
    }


# --- Many users, the same seats -------------------------------------------------------

HOLDERS = 40


def test_forty_users_holding_the_same_seats_leave_exactly_one_hold(movie):
    show = make_show_on_screen(movie)
    racers = make_racers(HOLDERS)
    now = timezone.now()

    results = run_together(
        [
            lambda user=user: attempt(
                lambda: services.hold_seats(user=user, show=show, now=now, seat_numbers=[4, 5]),
                SeatUnavailable,
            )
            for user in racers
        ]
    )

    holds = [result for result in results if isinstance(result, Hold)]
    assert len(holds) == 1
    assert all(isinstance(r, SeatUnavailable) and r.seats for r in results if r not in holds)
    owners = seat_owners(show)
    assert sorted(owners) == [4, 5]
    assert {hold_id for _, hold_id, _ in owners.values()} == {holds[0].pk}
    assert Hold.objects.filter(show=show).count() == 1


def test_holds_and_bookings_racing_for_one_seat_leave_one_owner(movie):
    show = make_show_on_screen(movie)
    racers = make_racers(20)
    now = timezone.now()

    def hold(user):
        return services.hold_seats(user=user, show=show, now=now, seat_numbers=[7])

    def book(user):
        return services.book_seats(user=user, show=show, now=now, seat_numbers=[7])

    results = run_together(
        [
            lambda user=user, n=n: attempt(lambda: (hold if n % 2 else book)(user), SeatUnavailable)
            for n, user in enumerate(racers)
        ]
    )

    winners = [result for result in results if not isinstance(result, SeatUnavailable)]
    assert len(winners) == 1
    [(booking_id, hold_id, _)] = seat_owners(show).values()
    # Held or booked, never both, and by the one winner.
    assert (booking_id is None) != (hold_id is None)
    assert winners[0].pk in (booking_id, hold_id)
    assert Booking.objects.filter(show=show).count() + Hold.objects.filter(show=show).count() == 1


CONFIRM_ROUNDS = 10


def test_confirming_a_hold_while_its_expiry_lets_another_buyer_in_sells_each_seat_once(movie):
    show = make_show_on_screen(movie)
    holder, buyer = make_racers(2)
    start = timezone.now()

    for round_ in range(CONFIRM_ROUNDS):
        seat = round_ + 1
        hold = services.hold_seats(user=holder, show=show, now=start, seat_numbers=[seat])
        hold.user = holder
        just_before = hold.expires_at - timedelta(seconds=1)
        just_after = hold.expires_at + timedelta(seconds=1)

        # The holder confirms a moment before expiry; another buyer, whose clock is a
        # moment after it, books the same seat: exactly one of them may have it.
        confirmed, bought = run_together(
            [
                lambda hold=hold, at=just_before: attempt(
                    lambda: services.confirm_hold(hold=hold, now=at), HoldExpired
                ),
                lambda seat=seat, at=just_after: attempt(
                    lambda: services.book_seats(user=buyer, show=show, now=at, seat_numbers=[seat]),
                    SeatUnavailable,
                ),
            ]
        )

        outcomes = (isinstance(confirmed, Booking), isinstance(bought, Booking))
        assert outcomes in [(True, False), (False, True)], (confirmed, bought)
        [(booking_id, hold_id, held_until)] = [seat_owners(show)[seat]]
        winner = confirmed if outcomes[0] else bought
        assert (booking_id, hold_id, held_until) == (winner.pk, None, None)
        hold.refresh_from_db()
        expected = Hold.Status.CONFIRMED if outcomes[0] else Hold.Status.ACTIVE
        assert hold.status == expected


# --- Best available -------------------------------------------------------------------

BEST_AVAILABLE_RACERS = 30
SMALL_HOUSE = [Row(label=label, seats=12, aisles_after=(6,)) for label in "ABCDEFGH"]  # 96


def test_thirty_users_asking_for_the_best_three_each_get_three_side_by_side(movie):
    show = make_show_on_screen(movie, make_screen(rows=SMALL_HOUSE))
    racers = make_racers(BEST_AVAILABLE_RACERS)
    now = timezone.now()
    best_three = {"count": 3}

    results = run_together(
        [
            lambda user=user: attempt(
                lambda: services.book_seats(
                    user=user, show=show, now=now, best_available=best_three
                ),
                NoAdjacentSeats,
            )
            for user in racers
        ]
    )

    bookings = [result for result in results if isinstance(result, Booking)]
    # 8 rows of two 6-seat blocks: room for 32 trios, so everyone gets one, and no
    # seat is sold twice.
    assert len(bookings) == BEST_AVAILABLE_RACERS
    sold = [seat["number"] for booking in bookings for seat in booking.seats]
    assert len(sold) == len(set(sold)) == 3 * BEST_AVAILABLE_RACERS
    seats = {seat.number: seat for seat in Seat.objects.filter(show=show)}
    for booking in bookings:
        trio = [seats[number] for number in booking.seat_numbers]
        assert len({seat.row for seat in trio}) == 1, booking.seat_numbers
        columns = [seat.column for seat in trio]
        assert columns == list(range(columns[0], columns[0] + 3)), booking.seat_numbers
    assert Seat.objects.filter(show=show, booking__isnull=False).count() == len(sold)


# --- The per-user limit ---------------------------------------------------------------

LIMIT = 4
PARALLEL_REQUESTS = 10


def ten_parallel_single_seats(user, show, now, *, one_node=False):
    return run_together(
        [
            lambda n=n: attempt(
                lambda: services.book_seats(user=user, show=show, now=now, seat_numbers=[n + 1]),
                SeatLimitReached,
            )
            for n in range(PARALLEL_REQUESTS)
        ],
        one_node=one_node,
    )


def test_one_users_ten_parallel_requests_cannot_pass_the_limit_together(movie, user, settings):
    settings.MAX_SEATS_PER_USER_PER_SHOW = LIMIT
    show = make_show_on_screen(movie)

    results = ten_parallel_single_seats(user, show, timezone.now())

    assert sum(isinstance(result, Booking) for result in results) == LIMIT
    refused = [result for result in results if isinstance(result, SeatLimitReached)]
    assert len(refused) == PARALLEL_REQUESTS - LIMIT
    assert all((r.limit, r.remaining) == (LIMIT, 0) for r in refused)
    assert Seat.objects.filter(show=show, booking__user=user).count() == LIMIT


# --- Controls: without the locks, the races happen ------------------------------------


def test_without_the_user_lock_parallel_requests_pass_the_limit(movie, user, settings, monkeypatch):
    settings.MAX_SEATS_PER_USER_PER_SHOW = LIMIT
    show = make_show_on_screen(movie)
    everyone_has_counted = threading.Barrier(PARALLEL_REQUESTS)
    check = services.seating.ensure_within_limit

    def count_then_wait(*args):
        check(*args)
        # Nobody books before everybody has counted: the race, made certain.
        everyone_has_counted.wait(timeout=BARRIER_TIMEOUT_SECONDS)

    monkeypatch.setattr(services.seating, "lock_user", lambda user: None)
    monkeypatch.setattr(services.seating, "ensure_within_limit", count_then_wait)

    results = ten_parallel_single_seats(user, show, timezone.now(), one_node=True)

    # With the guard off every request passes the check: the user lock is what makes
    # test_one_users_ten_parallel_requests_cannot_pass_the_limit_together pass.
    assert sum(isinstance(result, Booking) for result in results) == PARALLEL_REQUESTS
    assert Seat.objects.filter(show=show, booking__user=user).count() > LIMIT


def test_without_the_claims_condition_two_best_available_picks_share_seats(movie, monkeypatch):
    show = make_show_on_screen(movie, make_screen(rows=SMALL_HOUSE))
    racers = make_racers(2)
    everyone_has_read = threading.Barrier(2)

    def take_without_the_condition(show, numbers, *, booking, **_):
        # Nobody writes before everybody has seen the seats free: the race, made certain.
        everyone_has_read.wait(timeout=BARRIER_TIMEOUT_SECONDS)
        Seat.objects.filter(show=show, number__in=numbers).update(booking=booking)
        return True

    monkeypatch.setattr(services.seating, "take", take_without_the_condition)
    now = timezone.now()

    results = run_together(
        [
            lambda user=user: services.book_seats(
                user=user, show=show, now=now, best_available={"count": 3}
            )
            for user in racers
        ],
        one_node=True,
    )

    # Both were told the same best block is theirs: the claim's condition is what makes
    # test_thirty_users_asking_for_the_best_three_each_get_three_side_by_side pass.
    assert results[0].seat_numbers == results[1].seat_numbers
    assert Booking.objects.filter(show=show).count() == 2
