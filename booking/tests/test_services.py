"""The write services against the database: what they write, and what they leave alone."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from booking import services
from booking.exceptions import (
    AlreadyCancelled,
    CancellationClosed,
    SeatsOutOfRange,
    SeatUnavailable,
    ShowHasBookings,
    ShowStarted,
)
from booking.models import Booking, Seat, Show

from .conftest import make_show

REFERENCE_PATTERN = re.compile(r"^[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{8}$")

pytestmark = pytest.mark.django_db


def seat_holders(show) -> dict[int, int | None]:
    """Seat number -> id of the booking holding it (None when free)."""
    return dict(Seat.objects.filter(show=show).values_list("number", "booking_id"))


def book(user, show, seats, *, now=None):
    return services.book_seats(user=user, show=show, seat_numbers=seats, now=now or timezone.now())


# --- book_seats -----------------------------------------------------------------------


def test_book_seats_points_each_requested_seat_at_the_new_booking(user, show):
    booking = book(user, show, [13, 12])

    holders = seat_holders(show)
    assert holders[12] == booking.pk
    assert holders[13] == booking.pk
    assert [n for n, holder in holders.items() if holder is not None] == [12, 13]


def test_book_seats_stores_the_booking_with_its_price_and_sorted_seats(user, show):
    booking = book(user, show, [5, 3, 4])

    stored = Booking.objects.get(pk=booking.pk)
    assert stored.user == user
    assert stored.show == show
    assert stored.seat_numbers == [3, 4, 5]
    assert stored.total_price == Decimal("750.00")
    assert stored.status == Booking.Status.BOOKED
    assert stored.cancelled_at is None


def test_book_seats_of_a_free_show_charges_nothing(user, movie):
    show = make_show(movie, price=Decimal("0.00"))

    booking = book(user, show, [1, 2])

    assert Booking.objects.get(pk=booking.pk).total_price == Decimal("0.00")


def test_book_seats_draws_a_readable_reference(user, show, settings):
    settings.MAX_SEATS_PER_USER_PER_SHOW = 0  # 20 bookings of one show
    references = {book(user, show, [n]).reference for n in range(1, 21)}

    assert len(references) == 20
    assert all(REFERENCE_PATTERN.match(reference) for reference in references)


def test_book_seats_draws_again_when_the_reference_is_taken(user, show, monkeypatch):
    existing = book(user, show, [1])
    draws = iter([existing.reference, "FRESH234"])
    monkeypatch.setattr(services.bookings, "_new_reference", lambda: next(draws))

    booking = book(user, show, [2])

    assert booking.reference == "FRESH234"
    assert Booking.objects.get(pk=booking.pk).reference == "FRESH234"
    assert Booking.objects.get(pk=existing.pk).seat_numbers == [1]
    assert seat_holders(show)[2] == booking.pk


def test_book_seats_gives_up_writing_nothing_when_every_reference_is_taken(user, show, monkeypatch):
    existing = book(user, show, [1])
    monkeypatch.setattr(services.bookings, "_new_reference", lambda: existing.reference)

    with pytest.raises(RuntimeError):
        book(user, show, [2])

    assert Booking.objects.count() == 1
    assert seat_holders(show)[2] is None


def test_book_seats_with_a_taken_seat_writes_nothing(user, other_user, show):
    theirs = book(other_user, show, [13])

    with pytest.raises(SeatUnavailable) as raised:
        book(user, show, [12, 13, 14])

    assert raised.value.seats == [13]
    assert list(Booking.objects.all()) == [theirs]
    holders = seat_holders(show)
    assert holders[12] is None
    assert holders[13] == theirs.pk
    assert holders[14] is None


def test_book_seats_of_a_started_show_writes_nothing(user, movie):
    show = make_show(movie, start_time=timezone.now() - timedelta(minutes=1))

    with pytest.raises(ShowStarted):
        book(user, show, [1])

    assert not Booking.objects.exists()
    assert set(seat_holders(show).values()) == {None}


def test_book_seats_at_the_start_time_counts_as_started(user, show):
    with pytest.raises(ShowStarted):
        book(user, show, [1], now=show.start_time)

    assert not Booking.objects.exists()


def test_book_seats_outside_the_show_writes_nothing(user, movie):
    show = make_show(movie, total_seats=10)

    with pytest.raises(SeatsOutOfRange) as raised:
        book(user, show, [10, 11])

    assert raised.value.detail == {"seat_numbers": ["Seat 11 does not exist in this show (1-10)."]}
    assert not Booking.objects.exists()
    assert seat_holders(show)[10] is None


def test_book_seats_of_a_show_that_shrank_since_it_was_read_names_the_new_range(user, movie):
    show = make_show(movie, total_seats=10)
    stale = Show.objects.get(pk=show.pk)  # read before staff removed seats 6-10
    services.update_show(show=show, total_seats=5)

    with pytest.raises(SeatsOutOfRange) as raised:
        book(user, stale, [4, 7])

    assert raised.value.detail == {"seat_numbers": ["Seat 7 does not exist in this show (1-5)."]}
    assert not Booking.objects.exists()
    assert seat_holders(show)[4] is None


# --- cancel_booking -------------------------------------------------------------------


def test_cancel_booking_frees_its_seats_and_keeps_its_history(user, show):
    booking = book(user, show, [12, 13])
    now = timezone.now()

    services.cancel_booking(booking=booking, now=now)

    stored = Booking.objects.get(pk=booking.pk)
    assert stored.status == Booking.Status.CANCELLED
    assert stored.cancelled_at == now
    assert stored.seat_numbers == [12, 13]
    assert stored.total_price == Decimal("500.00")
    assert not Seat.objects.filter(booking=booking).exists()
    assert seat_holders(show)[12] is None


def test_cancel_booking_leaves_other_bookings_alone(user, other_user, show):
    mine = book(user, show, [1])
    theirs = book(other_user, show, [2, 3])

    services.cancel_booking(booking=mine, now=timezone.now())

    assert Booking.objects.get(pk=theirs.pk).status == Booking.Status.BOOKED
    holders = seat_holders(show)
    assert holders[2] == theirs.pk
    assert holders[3] == theirs.pk


def test_cancelled_seats_can_be_booked_again(user, other_user, show):
    first = book(user, show, [12])
    services.cancel_booking(booking=first, now=timezone.now())

    second = book(other_user, show, [12])

    assert seat_holders(show)[12] == second.pk
    assert Booking.objects.get(pk=first.pk).seat_numbers == [12]


def test_cancel_booking_twice_raises_and_keeps_the_first_cancel_time(user, show):
    booking = book(user, show, [12])
    first_cancel = timezone.now()
    services.cancel_booking(booking=booking, now=first_cancel)

    with pytest.raises(AlreadyCancelled):
        services.cancel_booking(booking=booking, now=first_cancel + timedelta(minutes=1))

    assert Booking.objects.get(pk=booking.pk).cancelled_at == first_cancel


def test_cancel_booking_after_the_start_raises_and_keeps_the_seats(user, show):
    booking = book(user, show, [12])

    with pytest.raises(ShowStarted):
        services.cancel_booking(booking=booking, now=show.start_time + timedelta(seconds=1))

    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.BOOKED
    assert seat_holders(show)[12] == booking.pk


def test_cancel_booking_inside_the_cutoff_raises_and_keeps_the_seats(user, show, settings):
    settings.CANCELLATION_CUTOFF_MINUTES = 30
    booking = book(user, show, [12])

    with pytest.raises(CancellationClosed):
        services.cancel_booking(booking=booking, now=show.start_time - timedelta(minutes=29))

    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.BOOKED
    assert seat_holders(show)[12] == booking.pk


def test_cancel_booking_is_allowed_up_to_cancellable_until(user, show, settings):
    settings.CANCELLATION_CUTOFF_MINUTES = 30
    booking = book(user, show, [12])

    services.cancel_booking(booking=booking, now=show.start_time - timedelta(minutes=30))

    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.CANCELLED


# --- create_show, update_show, delete_show --------------------------------------------


def test_create_show_creates_every_seat_free(movie):
    show = services.create_show(
        movie=movie,
        screen_name="Screen 3",
        start_time=timezone.now() + timedelta(days=2),
        total_seats=40,
        price=Decimal("120.50"),
    )

    assert seat_holders(show) == dict.fromkeys(range(1, 41))
    stored = Show.objects.get(pk=show.pk)
    assert stored.total_seats == 40
    assert stored.price == Decimal("120.50")


def test_update_show_growing_adds_free_seats(movie, user):
    show = make_show(movie, total_seats=5)
    booking = book(user, show, [5])

    services.update_show(show=show, total_seats=8)

    assert Show.objects.get(pk=show.pk).total_seats == 8
    assert seat_holders(show) == {**dict.fromkeys(range(1, 9)), 5: booking.pk}


def test_update_show_shrinking_past_free_seats_removes_them(movie, user):
    show = make_show(movie, total_seats=10)
    booking = book(user, show, [4])

    services.update_show(show=show, total_seats=6)

    assert Show.objects.get(pk=show.pk).total_seats == 6
    assert sorted(seat_holders(show)) == [1, 2, 3, 4, 5, 6]
    assert seat_holders(show)[4] == booking.pk


def test_update_show_shrinking_below_a_booked_seat_raises_and_changes_nothing(movie, user):
    show = make_show(movie, total_seats=10)
    book(user, show, [8])

    with pytest.raises(ShowHasBookings) as raised:
        services.update_show(show=show, total_seats=5, price=Decimal("1.00"))

    assert "Seat 8 is booked" in str(raised.value.detail)
    stored = Show.objects.get(pk=show.pk)
    assert stored.total_seats == 10
    assert stored.price == Decimal("250.00")
    assert sorted(seat_holders(show)) == list(range(1, 11))


def test_update_show_may_shrink_past_seats_of_a_cancelled_booking(movie, user):
    show = make_show(movie, total_seats=10)
    booking = book(user, show, [9, 10])
    services.cancel_booking(booking=booking, now=timezone.now())

    services.update_show(show=show, total_seats=8)

    assert sorted(seat_holders(show)) == list(range(1, 9))
    assert Booking.objects.get(pk=booking.pk).seat_numbers == [9, 10]


def test_update_show_price_does_not_touch_existing_bookings(user, show):
    booking = book(user, show, [1, 2])

    services.update_show(show=show, price=Decimal("999.00"))

    assert Show.objects.get(pk=show.pk).price == Decimal("999.00")
    assert Booking.objects.get(pk=booking.pk).total_price == Decimal("500.00")


def test_delete_show_without_bookings_deletes_it_and_its_seats(show):
    services.delete_show(show=Show.objects.get(pk=show.pk))

    assert not Show.objects.filter(pk=show.pk).exists()
    assert not Seat.objects.filter(show_id=show.pk).exists()


def test_delete_show_with_a_booking_raises_and_deletes_nothing(user, show):
    book(user, show, [1])

    with pytest.raises(ShowHasBookings):
        services.delete_show(show=show)

    assert Show.objects.filter(pk=show.pk).exists()
    assert Seat.objects.filter(show=show).count() == 120


def test_delete_show_whose_only_booking_was_cancelled_still_raises(user, show):
    booking = book(user, show, [1])
    services.cancel_booking(booking=booking, now=timezone.now())

    with pytest.raises(ShowHasBookings):
        services.delete_show(show=show)

    assert Booking.objects.filter(pk=booking.pk).exists()
    assert Show.objects.filter(pk=show.pk).exists()


def test_updating_a_show_from_a_stale_copy_keeps_the_seats_and_the_total_in_step(movie):
    show = make_show(movie, total_seats=10)
    stale = Show.objects.get(pk=show.pk)
    services.update_show(show=show, total_seats=15)

    services.update_show(show=stale, price=Decimal("99.00"))

    show.refresh_from_db()
    assert show.total_seats == 15  # not written back as 10 from the stale copy
    assert Seat.objects.filter(show=show).count() == 15
    assert show.price == Decimal("99.00")
