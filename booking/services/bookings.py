"""Booking and cancelling seats.

How booking stays correct (see also README, "How booking stays correct"):

* Each seat of a show is a row (`Seat`), unique on (show, number), created with the
  show. A seat row points at the live booking holding it, or at nothing.
* `book_seats`, in one transaction: locks the user's row, reads the seats and checks
  them (`seating.claim`), inserts the booking, then points the seats at it with one
  conditional UPDATE whose row count decides (`seating.take`, shared with holds). A
  second booking of any of those seats waits for the first to commit, then matches
  fewer rows, rolls back and starts over, and its fresh read answers 409. Bookings of
  other seats write other rows and do not wait. Rows are written in seat-number order,
  so two multi-seat bookings can never hold each other's seats: no deadlocks.
* We write rows that exist (the seats), never "the absence of a booking": under READ
  COMMITTED InnoDB takes no gap locks, so a missing row cannot be locked.
* `cancel_booking` locks the booking, marks it cancelled and releases its seat rows
  in the same transaction: the seats are free the moment it commits.
* Lock waits are bounded (`DB_LOCK_WAIT_TIMEOUT_SECONDS`); a timeout or deadlock is
  retried a few times from scratch, then answered 503 `busy`.
"""

import contextlib
import secrets
from collections.abc import Sequence
from datetime import datetime

from django.db import IntegrityError, connection, transaction

from .. import readcache
from ..exceptions import AlreadyCancelled, CancellationClosed, ShowStarted
from ..models import REFERENCE_ALPHABET, REFERENCE_LENGTH, Booking, Hold, Seat, Show, User
from ..sql import insert
from . import seating
from .transactions import ClaimLost, retry_on_lock_conflict

REFERENCE_ATTEMPTS = 5


def _new_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


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
        seats, claimant = seating.claim(user, show, request, now=now)
        booking = record_booking(user=user, show=show, seats=seating.priced(show, seats))
        taken = seating.take(
            show,
            booking.seat_numbers,
            now=now,
            own_hold_id=claimant.hold_id,
            booking=booking,
        )
        if not taken:
            raise ClaimLost()
        if claimant.hold_id is not None:
            seating.end_hold_by_id(claimant.hold_id, status=Hold.Status.RELEASED, now=now)
        readcache.seats_changed(show.pk, show.movie_id)
    return booking


def record_booking(*, user: User, show: Show, seats: list[dict]) -> Booking:
    """Insert the booking of seats (as priced); the caller points the seat rows at it.

    Under a fresh random reference, drawing again on a collision.
    """
    for _ in range(REFERENCE_ATTEMPTS):
        reference = _new_reference()
        try:
            booking = Booking(
                reference=reference,
                user=user,
                show=show,
                seat_numbers=[seat["number"] for seat in seats],
                seats=seats,
                total_price=seating.total_of(seats),
            )
            with _undo_on_error():
                insert(booking)  # Booking.objects.create, a third of its CPU
            return booking
        except IntegrityError:
            if not Booking.objects.filter(reference=reference).exists():
                raise
    raise RuntimeError("could not draw a free booking reference")


@contextlib.contextmanager
def _undo_on_error():
    """Let the transaction go on after a failed INSERT (a reference collision).

    MySQL/MariaDB and SQLite undo the failed statement alone, so the transaction is
    sound (Django marks it for rollback all the same: unmarked here). PostgreSQL aborts
    the whole transaction unless the statement ran in a savepoint. A savepoint costs two
    round trips on every booking, so only PostgreSQL gets one.
    """
    if connection.vendor == "postgresql":
        with transaction.atomic():
            yield
        return
    try:
        yield
    except IntegrityError:
        transaction.set_rollback(False)
        raise


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
        readcache.seats_changed(show.pk, show.movie_id)
    locked.show = show
    return locked
