"""Writes: every change to users, the catalogue and bookings goes through here.

How booking stays correct (see also README, "How booking stays correct"):

* Each seat of a show is a row (`Seat`), unique on (show, number), created with the
  show. A seat row points at the live booking holding it, or at nothing.
* `book_seats` locks the requested seat rows with `SELECT ... FOR UPDATE`, always in
  seat-number order, re-checks that they are free, creates the booking and points the
  seats at it, all in one transaction. A second booking of any of those seats waits
  for the first to commit, then sees them taken. Bookings of other seats lock other
  rows and do not wait. The fixed lock order means two multi-seat bookings can never
  hold each other's seats: no deadlocks between bookings.
* We lock rows that exist (the seats), never "the absence of a booking": under READ
  COMMITTED InnoDB takes no gap locks, so a missing row cannot be locked.
* `cancel_booking` locks the booking, marks it cancelled and releases its seat rows
  in the same transaction: the seats are free the moment it commits.
* Lock waits are bounded (`DB_LOCK_WAIT_TIMEOUT_SECONDS`); a timeout or deadlock is
  retried a few times from scratch, then answered 503 `busy`.
"""

import functools
import hashlib
import json
import logging
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import ProtectedError
from rest_framework.exceptions import ValidationError
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken

from .exceptions import (
    AlreadyCancelled,
    Busy,
    CancellationClosed,
    IdempotencyKeyReused,
    MovieHasShows,
    SeatsOutOfRange,
    SeatUnavailable,
    ShowHasBookings,
    ShowStarted,
    is_lock_conflict,
)
from .models import (
    REFERENCE_ALPHABET,
    REFERENCE_LENGTH,
    Booking,
    IdempotencyKey,
    Movie,
    Seat,
    Show,
    User,
)

logger = logging.getLogger(__name__)

LOCK_CONFLICT_ATTEMPTS = 3
REFERENCE_ATTEMPTS = 5


def retry_on_lock_conflict(func):
    """Re-run func in a fresh transaction when it lost a lock wait or a deadlock.

    Only the outermost call can retry: inside someone else's transaction the work
    done so far is already lost, so the error goes up to the caller.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if transaction.get_connection().in_atomic_block:
            return func(*args, **kwargs)
        for attempt in range(1, LOCK_CONFLICT_ATTEMPTS + 1):
            try:
                return func(*args, **kwargs)
            except OperationalError as exc:
                if not is_lock_conflict(exc):
                    raise
                logger.warning(
                    "%s: lock conflict (attempt %d/%d): %s",
                    func.__name__,
                    attempt,
                    LOCK_CONFLICT_ATTEMPTS,
                    exc,
                )
        raise Busy()

    return wrapper


# --- Accounts -------------------------------------------------------------------------


def create_user(*, username: str, email: str, password: str) -> User:
    """Create a user; the serializer has already checked that the names are free."""
    try:
        with transaction.atomic():
            return User.objects.create_user(username=username, email=email, password=password)
    except IntegrityError:
        # Two signups raced for the same name: the unique constraints let one through.
        errors = {}
        if User.objects.filter(username__iexact=username).exists():
            errors["username"] = ["A user with that username already exists."]
        if User.objects.filter(email__iexact=email).exists():
            errors["email"] = ["A user with that email already exists."]
        raise ValidationError(errors or {"non_field_errors": ["Please try again."]}) from None


def revoke_refresh_token(*, user: User, token: str) -> None:
    """Blacklist one of user's refresh tokens (log out); someone else's is refused."""
    try:
        refresh = RefreshToken(token)
    except TokenError as exc:
        raise InvalidToken(str(exc)) from None
    if str(refresh.get(jwt_settings.USER_ID_CLAIM)) != str(user.pk):
        raise InvalidToken("This refresh token belongs to another user.")
    refresh.blacklist()


# --- Catalogue ------------------------------------------------------------------------


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


# --- Bookings -------------------------------------------------------------------------


def _lock_seats(show: Show, numbers: Sequence[int]) -> list[Seat]:
    """Lock the seat rows of show with these numbers, in seat order."""
    return list(
        Seat.objects.select_for_update()
        .filter(show=show, number__in=numbers)
        .order_by("number")  # one lock order everywhere: no deadlocks between bookings
    )


def _new_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def _create_booking(**fields) -> Booking:
    """Insert a booking under a fresh random reference, drawing again on a collision."""
    for _ in range(REFERENCE_ATTEMPTS):
        reference = _new_reference()
        try:
            with transaction.atomic():  # a savepoint: a collision must not doom the booking
                return Booking.objects.create(reference=reference, **fields)
        except IntegrityError:
            if not Booking.objects.filter(reference=reference).exists():
                raise
    raise RuntimeError("could not draw a free booking reference")


@retry_on_lock_conflict
def book_seats(*, user: User, show: Show, seat_numbers: Sequence[int], now: datetime) -> Booking:
    """Book all of seat_numbers of show for user, or none of them."""
    if show.start_time <= now:
        raise ShowStarted()
    requested = sorted(set(seat_numbers))
    out_of_range = [n for n in requested if not 1 <= n <= show.total_seats]
    if out_of_range:
        raise SeatsOutOfRange(seats=out_of_range, total_seats=show.total_seats)

    with transaction.atomic():
        seats = _lock_seats(show, requested)
        if len(seats) != len(requested):
            # total_seats shrank after we read the show.
            missing = set(requested) - {seat.number for seat in seats}
            total = Show.objects.values_list("total_seats", flat=True).get(pk=show.pk)
            raise SeatsOutOfRange(seats=missing, total_seats=total)
        taken = [seat.number for seat in seats if seat.booking_id is not None]
        if taken:
            raise SeatUnavailable(seats=taken)
        booking = _create_booking(
            user=user,
            show=show,
            seat_numbers=requested,
            total_price=show.price * len(requested),
        )
        Seat.objects.filter(pk__in=[seat.pk for seat in seats]).update(booking=booking)
    return booking


@retry_on_lock_conflict
def cancel_booking(*, booking: Booking, now: datetime) -> Booking:
    """Cancel a booking and free its seats in the same transaction."""
    with transaction.atomic():
        # Lock the booking row alone (MariaDB has no FOR UPDATE OF): a concurrent
        # cancel of the same booking waits here and then sees it cancelled.
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        show = booking.show
        if locked.status == Booking.Status.CANCELLED:
            raise AlreadyCancelled()
        if show.start_time <= now:
            raise ShowStarted()
        if now > show.cancellable_until:
            raise CancellationClosed()
        locked.status = Booking.Status.CANCELLED
        locked.cancelled_at = now
        locked.save(update_fields=["status", "cancelled_at"])
        Seat.objects.filter(booking=locked).update(booking=None)
    locked.show = show
    return locked


# --- Idempotent booking ---------------------------------------------------------------


def request_fingerprint(*, method: str, path: str, body) -> str:
    """Hash what makes two requests "the same": method, path and JSON body."""
    canonical = json.dumps([method.upper(), path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _idempotency_keys_expire_before(now: datetime) -> datetime:
    return now - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


@retry_on_lock_conflict
def book_seats_idempotently(
    *,
    user: User,
    key: str,
    fingerprint: str,
    now: datetime,
    book: Callable[[], Booking],
    render: Callable[[Booking], dict],
) -> tuple[dict, bool]:
    """Run book() once per (user, key); return (201 body, replayed?).

    Keyed bookings of one user are serialised on that user's row: a retry racing the
    original waits there, then finds the key the original stored (and replays its
    answer) or finds none because the original failed (and books afresh). Waiting on
    the key's unique index instead would deadlock the waiters whenever the original
    rolled back. A failed booking rolls its key back too: only a 201 is ever stored.
    """
    key_digest = hashlib.sha256(key.encode()).hexdigest()
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).values_list("pk").get()
        stored = IdempotencyKey.objects.filter(user=user, key_digest=key_digest).first()
        if stored is not None and stored.created_at < _idempotency_keys_expire_before(now):
            stored.delete()
            stored = None
        if stored is not None:
            if stored.fingerprint != fingerprint:
                raise IdempotencyKeyReused()
            return stored.response_body, True
        body = render(book())
        IdempotencyKey.objects.create(
            user=user,
            key_digest=key_digest,
            fingerprint=fingerprint,
            response_body=body,
            created_at=now,
        )
    return body, False


def purge_expired_idempotency_keys(*, now: datetime) -> int:
    """Delete idempotency keys past their time to live; return how many."""
    expired = IdempotencyKey.objects.filter(created_at__lt=_idempotency_keys_expire_before(now))
    deleted, _ = expired.delete()
    return deleted
