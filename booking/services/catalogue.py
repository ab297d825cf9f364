"""Catalogue writes: movies and shows (a show's seats are created with it)."""

from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from ..exceptions import MovieHasShows, ShowHasBookings
from ..models import Booking, Movie, Seat, Show
from .transactions import retry_on_lock_conflict


def create_movie(**fields) -> Movie:
    """Create a movie from validated fields."""
    return Movie.objects.create(**fields)


def update_movie(*, movie: Movie, **changes) -> Movie:
    """Apply validated changes to a movie."""
    for name, value in changes.items():
        setattr(movie, name, value)
    movie.save()
    return movie


def delete_movie(*, movie: Movie) -> None:
    """Delete a movie that has no shows."""
    if movie.shows.exists():
        raise MovieHasShows()
    try:
        movie.delete()
    except (ProtectedError, IntegrityError):
        raise MovieHasShows() from None  # a show was added since the check


@transaction.atomic
def create_show(
    *, movie: Movie, screen_name: str, start_time: datetime, total_seats: int, price: Decimal
) -> Show:
    """Create a show and all its seats, so that booking only ever locks existing rows."""
    show = Show.objects.create(
        movie=movie,
        screen_name=screen_name,
        start_time=start_time,
        total_seats=total_seats,
        price=price,
    )
    _add_seats(show, range(1, total_seats + 1))
    return show


@retry_on_lock_conflict
def update_show(*, show: Show, **changes) -> Show:
    """Apply changes to a show; total_seats may grow, or shrink past free seats only."""
    with transaction.atomic():
        # Lock the show: two staff edits of total_seats must not interleave (grow and
        # shrink at once would leave seat rows and total_seats disagreeing).
        show = Show.objects.select_for_update().get(pk=show.pk)
        current_total = show.total_seats
        new_total = changes.get("total_seats", current_total)
        if new_total < current_total:
            # Lock the seats that would go (in seat order, like booking) so that no
            # booking can take one of them while we check and delete.
            doomed = list(
                Seat.objects.select_for_update()
                .filter(show=show, number__gt=new_total)
                .order_by("number")
            )
            booked = [seat.number for seat in doomed if seat.booking_id is not None]
            if booked:
                raise ShowHasBookings(
                    f"Seat {max(booked)} is booked: total_seats cannot go below {max(booked)}."
                )
            Seat.objects.filter(pk__in=[seat.pk for seat in doomed]).delete()
        elif new_total > current_total:
            _add_seats(show, range(current_total + 1, new_total + 1))
        for name, value in changes.items():
            setattr(show, name, value)
        show.save()
    return show


def delete_show(*, show: Show) -> None:
    """Delete a show that has never had a booking (booking history is kept)."""
    try:
        with transaction.atomic():
            if Booking.objects.filter(show=show).exists():
                raise ShowHasBookings()
            show.delete()
    except (ProtectedError, IntegrityError):
        raise ShowHasBookings() from None  # a booking committed after the check


def _add_seats(show: Show, numbers) -> None:
    Seat.objects.bulk_create([Seat(show=show, number=number) for number in numbers])
