"""Catalogue writes: movies and shows (a show's seats are created with it).

How a screen is never double-booked: a show on a screen occupies it from `start_time`
to `start_time` + the movie's duration + `SCREEN_TURNOVER_MINUTES`. Every write that
puts a show on a screen or moves one in time locks that screen's row first, then
reads the screen's shows and refuses an overlap (409 `screen_busy`). Two staff members
scheduling the same screen at once therefore run one after the other, and the second
sees the first's show. The screen row exists, so there is always something to lock
(under READ COMMITTED InnoDB takes no gap locks: "no show in that slot" cannot be
locked itself).
"""

import itertools
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, ProtectedError
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from ..exceptions import MovieHasShows, ScreenBusy, ShowHasBookings
from ..layouts import SeatSpec, categories_of, plain_seats, seats_of
from ..models import DEFAULT_CATEGORY, MAX_DURATION_MINUTES, Booking, Movie, Screen, Seat, Show
from .transactions import retry_on_lock_conflict
from .venues import rows_of


@retry_on_lock_conflict
@transaction.atomic
def create_movie(**fields) -> Movie:
    """Create a movie from validated fields."""
    return Movie.objects.create(**fields)


@retry_on_lock_conflict
def update_movie(*, movie: Movie, **changes) -> Movie:
    """Apply validated changes to a movie; a longer film must still fit its screens."""
    with transaction.atomic():
        locked = _lock_movie(movie)
        longer = changes.get("duration_minutes", locked.duration_minutes) > locked.duration_minutes
        screen_ids = []
        if longer:
            screen_ids = sorted(
                set(
                    Show.objects.filter(movie=movie, screen__isnull=False).values_list(
                        "screen_id", flat=True
                    )
                )
            )
            for screen_id in screen_ids:  # in id order, like every multi-screen lock
                _bump(Screen, screen_id)
        for name, value in changes.items():
            setattr(movie, name, value)
        # Only the changed fields: schedule_version was just bumped in the database.
        movie.save(update_fields=[*changes, "updated_at"])
        for screen_id in screen_ids:
            _ensure_no_overlap_on(screen_id, movie=movie)
    return movie


@retry_on_lock_conflict
def delete_movie(*, movie: Movie) -> None:
    """Delete a movie that has no shows."""
    if movie.shows.exists():
        raise MovieHasShows()
    try:
        with transaction.atomic():
            # By primary key: Model.delete() forgets the instance's pk before COMMIT,
            # and a retry after a conflict at COMMIT needs it.
            Movie.objects.filter(pk=movie.pk).delete()
    except (ProtectedError, IntegrityError):
        raise MovieHasShows() from None  # a show was added since the check


@retry_on_lock_conflict
def create_show(
    *,
    movie: Movie,
    start_time: datetime,
    price: Decimal,
    screen: Screen | None = None,
    screen_name: str | None = None,
    total_seats: int | None = None,
    prices: Mapping[str, Decimal] | None = None,
) -> Show:
    """Create a show and all its seats, so that booking only ever locks existing rows.

    On a screen, the show copies the screen's layout; without one (the old form) it
    has total_seats seats in one unlabelled row.
    """
    with transaction.atomic():
        if screen is not None:
            movie = _lock_movie(movie)  # its duration decides the slot: hold it still
            screen = _lock_screen(screen)
            rows = rows_of(screen)
            seats = seats_of(rows)
            categories = categories_of(rows)
            screen_name = screen.name
            _ensure_screen_free(screen=screen, movie=movie, start_time=start_time)
        else:
            seats = plain_seats(range(1, total_seats + 1))
            categories = [DEFAULT_CATEGORY]
        show = Show.objects.create(
            movie=movie,
            screen=screen,
            screen_name=screen_name,
            start_time=start_time,
            total_seats=len(seats),
            price=price,
            categories=categories,
            category_prices=_category_prices(prices or {}, categories),
        )
        _add_seats(show, seats)
    return show


@retry_on_lock_conflict
def update_show(*, show: Show, **changes) -> Show:
    """Apply changes to a show.

    Movie and screen may change only while the show has no live booking; the start
    time may always move (a delayed screening), but never onto a busy screen. Without
    a screen, total_seats may grow, or shrink past free seats only.
    """
    with transaction.atomic():
        # Lock the show: two staff edits must not interleave (grow and shrink at once
        # would leave seat rows and total_seats disagreeing).
        show = Show.objects.select_for_update().get(pk=show.pk)
        movie = changes.pop("movie", show.movie)
        screen = changes.pop("screen", show.screen)
        start_time = changes.pop("start_time", show.start_time)
        prices = changes.pop("prices", None)
        moves_screen = screen is not None and screen.pk != show.screen_id
        if movie.pk != show.movie_id or moves_screen:
            _ensure_no_live_booking(show)
        if screen is not None:
            total_seats = changes.pop("total_seats", show.total_seats)
            if total_seats != show.total_seats and not moves_screen:
                raise ValidationError(
                    {"total_seats": ["A show on a screen has the screen's seats."]}
                )
            changes.pop("screen_name", None)  # comes from the screen
            movie = _lock_movie(movie)
            screen = _lock_screen(screen)
            if moves_screen or start_time != show.start_time or movie.pk != show.movie_id:
                _ensure_screen_free(screen=screen, movie=movie, start_time=start_time, show=show)
            if moves_screen:
                _copy_layout(show, screen)
        elif "total_seats" in changes:
            _resize(show, changes.pop("total_seats"))
        show.movie = movie
        show.start_time = start_time
        if prices is not None:
            show.category_prices = _category_prices(prices, show.categories)
        else:  # keep the prices that still name a category of the show
            show.category_prices = {
                c: p for c, p in show.category_prices.items() if c in show.categories
            }
        for name, value in changes.items():
            setattr(show, name, value)
        show.save()
    return show


@retry_on_lock_conflict
def delete_show(*, show: Show) -> None:
    """Delete a show that has never had a booking (booking history is kept)."""
    try:
        with transaction.atomic():
            if Booking.objects.filter(show=show).exists():
                raise ShowHasBookings()
            Show.objects.filter(pk=show.pk).delete()  # by pk: see delete_movie
    except (ProtectedError, IntegrityError):
        raise ShowHasBookings() from None  # a booking committed after the check


def screen_occupied_until(show: Show) -> datetime:
    """Return when show's screen is free again: its end plus the turnover time."""
    return show.start_time + timedelta(
        minutes=show.movie.duration_minutes + settings.SCREEN_TURNOVER_MINUTES
    )


def _lock_movie(movie: Movie) -> Movie:
    """Lock a movie's row: its duration cannot change while a show is scheduled.

    Lock order everywhere: show, then movie, then screens in id order.
    """
    _bump(Movie, movie.pk)
    return Movie.objects.get(pk=movie.pk)


def _bump(model, pk: int) -> None:
    """Lock a row by writing it (schedule_version + 1).

    A write, not a SELECT ... FOR UPDATE: on one server it takes the same row lock; on a
    Galera cluster, where a lock excludes nothing on the other nodes, two transactions
    that wrote the same row cannot both commit (the second gets 1213 and is retried).
    """
    if not model.objects.filter(pk=pk).update(schedule_version=F("schedule_version") + 1):
        raise model.DoesNotExist()


def _ensure_no_overlap_on(screen_id: int, *, movie: Movie) -> None:
    """Raise ScreenBusy if a show of movie now overlaps the next show on the screen."""
    first_start = (
        Show.objects.filter(screen_id=screen_id, movie=movie)
        .order_by("start_time")
        .values_list("start_time", flat=True)
        .first()
    )
    window = timedelta(minutes=MAX_DURATION_MINUTES + settings.SCREEN_TURNOVER_MINUTES)
    shows = list(
        Show.objects.filter(screen_id=screen_id, start_time__gte=first_start - window)
        .select_related("movie")
        .order_by("start_time", "pk")
    )
    for show in shows:
        if show.movie_id == movie.pk:
            show.movie = movie  # the new duration
    for first, second in itertools.pairwise(shows):
        # Sorted by start: if a show overlaps any later one, it overlaps the next one.
        if movie.pk in (first.movie_id, second.movie_id) and (
            screen_occupied_until(first) > second.start_time
        ):
            raise ScreenBusy(other=second if first.movie_id == movie.pk else first)


def _lock_screen(screen: Screen) -> Screen:
    """Lock a screen's row: whoever schedules on it next waits for us to commit."""
    _bump(Screen, screen.pk)
    return Screen.objects.get(pk=screen.pk)


def _ensure_screen_free(
    *, screen: Screen, movie: Movie, start_time: datetime, show: Show | None = None
) -> None:
    """Raise ScreenBusy if a show at start_time would overlap another on screen.

    Call with the screen locked. Intervals are half-open: a show may start exactly
    when the previous one's turnover ends.
    """
    turnover = timedelta(minutes=settings.SCREEN_TURNOVER_MINUTES)
    ends = start_time + timedelta(minutes=movie.duration_minutes) + turnover
    # No show that started before this can still be running: bounds the read.
    earliest = start_time - timedelta(minutes=MAX_DURATION_MINUTES) - turnover
    neighbours = (
        Show.objects.filter(screen=screen, start_time__lt=ends, start_time__gt=earliest)
        .select_related("movie")
        .order_by("start_time", "pk")
    )
    if show is not None:
        neighbours = neighbours.exclude(pk=show.pk)
    for other in neighbours:
        if screen_occupied_until(other) > start_time:
            raise ScreenBusy(other=other)


def _ensure_no_live_booking(show: Show) -> None:
    # Lock every seat (in seat order, like booking): a booking in flight holds some of
    # them, so we wait for it and then see it; a later one waits for us.
    list(Seat.objects.select_for_update().filter(show=show).order_by("number").values("pk"))
    if Booking.objects.filter(show=show, status=Booking.Status.BOOKED).exists():
        raise ShowHasBookings("This show has live bookings: its movie and screen cannot change.")
    if Seat.objects.filter(show=show, held_until__gt=timezone.now()).exists():
        raise ShowHasBookings(
            "Customers are paying for seats of this show (active holds): its movie and "
            "screen cannot change."
        )


def _copy_layout(show: Show, screen: Screen) -> None:
    """Replace show's seats (none of them booked) with a fresh copy of screen's layout."""
    rows = rows_of(screen)
    Seat.objects.filter(show=show).delete()
    seats = seats_of(rows)
    _add_seats(show, seats)
    show.screen = screen
    show.screen_name = screen.name
    show.total_seats = len(seats)
    show.categories = categories_of(rows)


def _resize(show: Show, new_total: int) -> None:
    """Grow or shrink a show without a screen; refuse to drop a booked seat."""
    current_total = show.total_seats
    if new_total < current_total:
        # Lock the seats that would go (in seat order, like booking) so that no
        # booking can take one of them while we check and delete.
        doomed = list(
            Seat.objects.select_for_update()
            .filter(show=show, number__gt=new_total)
            .order_by("number")
        )
        now = timezone.now()
        taken = [
            seat.number
            for seat in doomed
            if seat.booking_id is not None or (seat.held_until and seat.held_until > now)
        ]
        if taken:
            raise ShowHasBookings(
                f"Seat {max(taken)} is booked or held: total_seats cannot go below {max(taken)}."
            )
        Seat.objects.filter(pk__in=[seat.pk for seat in doomed]).delete()
    elif new_total > current_total:
        _add_seats(show, plain_seats(range(current_total + 1, new_total + 1)))
    show.total_seats = new_total


def _category_prices(prices: Mapping[str, Decimal], categories: Sequence[str]) -> dict[str, str]:
    unknown = sorted(set(prices) - set(categories))
    if unknown:
        raise ValidationError(
            {
                "prices": [
                    f"This show has no category {name!r} (it has: {', '.join(categories)})."
                    for name in unknown
                ]
            }
        )
    return {name: str(price) for name, price in prices.items()}


def _add_seats(show: Show, seats: Sequence[SeatSpec]) -> None:
    Seat.objects.bulk_create(
        Seat(
            show=show,
            number=seat.number,
            label=seat.label,
            row=seat.row,
            row_label=seat.row_label,
            column=seat.column,
            category=seat.category,
            wheelchair=seat.wheelchair,
        )
        for seat in seats
    )
