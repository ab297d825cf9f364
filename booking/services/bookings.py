"""Booking and cancelling seats.

How booking stays correct (see also README, "How booking stays correct"):

* Each seat of a show is a row (`Seat`), unique on (show, number), created with the
  show. A seat row points at the live booking holding it, or at nothing.
* `book_seats` locks the user's row, then the requested seat rows with `SELECT ... FOR
  UPDATE`, always in seat-number order (`seating.claim`, shared with holds), re-checks
  that they are free, creates the booking and points the seats at it, all in one
  transaction. A second booking of any of those seats waits
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

import secrets
from collections.abc import Sequence
from datetime import datetime

from django.db import IntegrityError, transaction

from ..exceptions import AlreadyCancelled, CancellationClosed, ShowStarted
from ..models import REFERENCE_ALPHABET, REFERENCE_LENGTH, Booking, Hold, Seat, Show, User
from . import seating
from .transactions import retry_on_lock_conflict

REFERENCE_ATTEMPTS = 5


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
def book_seats(
    *,
    user: User,
    show: Show,
    now: datetime,
    seat_numbers: Sequence[int] | None = None,
    seat_labels: Sequence[str] | None = None,
    best_available: dict | None = None,
) -> Booking:
    """Book the named seats (or the best block of them) of show for user, or none.

    Each seat costs its category's price at this moment, and the booking keeps that
    price. The user's own active hold on the show does not stand in the way; it ends
    when the booking succeeds, and its seats that were not booked are free again.
    """
    if show.start_time <= now:
        raise ShowStarted()
    request = seating.seat_request(
        show, seat_numbers=seat_numbers, seat_labels=seat_labels, best_available=best_available
    )
    with transaction.atomic():
        seating.lock_user(user)
        seating.ensure_within_limit(user, show, request.count)
        own_hold = seating.active_hold_of(user, show, now)
        seats = seating.claim(show, request, own_hold=own_hold, now=now)
        booking = record_booking(user=user, show=show, seats=seating.priced(show, seats))
        Seat.objects.filter(pk__in=[seat.pk for seat in seats]).update(
            booking=booking, hold=None, held_until=None
        )
        if own_hold is not None:
            seating.end_hold(own_hold, status=Hold.Status.RELEASED, now=now)
    return booking


def record_booking(*, user: User, show: Show, seats: list[dict]) -> Booking:
    """Insert the booking of seats (as priced); the caller points the seat rows at it."""
    return _create_booking(
        user=user,
        show=show,
        seat_numbers=[seat["number"] for seat in seats],
        seats=seats,
        total_price=seating.total_of(seats),
    )


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
