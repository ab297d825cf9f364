"""Booking and cancelling seats.

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

import secrets
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models.functions import Upper

from ..exceptions import (
    AlreadyCancelled,
    CancellationClosed,
    SeatsOutOfRange,
    SeatUnavailable,
    ShowStarted,
    UnknownSeatLabels,
)
from ..models import REFERENCE_ALPHABET, REFERENCE_LENGTH, Booking, Seat, Show, User
from .transactions import retry_on_lock_conflict

REFERENCE_ATTEMPTS = 5


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
def book_seats(
    *,
    user: User,
    show: Show,
    now: datetime,
    seat_numbers: Sequence[int] | None = None,
    seat_labels: Sequence[str] | None = None,
) -> Booking:
    """Book all of the named seats of show for user, or none of them.

    Seats are named by number or by label (`F12`); each costs its category's price
    at this moment, and the booking keeps that price.
    """
    if show.start_time <= now:
        raise ShowStarted()
    if seat_labels is not None:
        requested = _numbers_of_labels(show, seat_labels)
    else:
        requested = sorted(set(seat_numbers))
        out_of_range = [n for n in requested if not 1 <= n <= show.total_seats]
        if out_of_range:
            raise SeatsOutOfRange(seats=out_of_range, total_seats=show.total_seats)

    with transaction.atomic():
        seats = _lock_seats(show, requested)
        if len(seats) != len(requested):
            # total_seats shrank (or the layout changed) after we read the show.
            if seat_labels is not None:
                raise UnknownSeatLabels(labels=seat_labels)
            missing = set(requested) - {seat.number for seat in seats}
            total = Show.objects.values_list("total_seats", flat=True).get(pk=show.pk)
            raise SeatsOutOfRange(seats=missing, total_seats=total)
        taken = [seat for seat in seats if seat.booking_id is not None]
        if taken:
            raise SeatUnavailable(
                seats=[seat.number for seat in taken],
                labels={seat.number: seat.label for seat in taken},
            )
        sold = [
            {
                "number": seat.number,
                "label": seat.label,
                "category": seat.category,
                "price": str(show.price_of(seat.category)),
            }
            for seat in seats
        ]
        booking = _create_booking(
            user=user,
            show=show,
            seat_numbers=requested,
            seats=sold,
            total_price=sum(Decimal(seat["price"]) for seat in sold),
        )
        Seat.objects.filter(pk__in=[seat.pk for seat in seats]).update(booking=booking)
    return booking


def _numbers_of_labels(show: Show, labels: Sequence[str]) -> list[int]:
    """Return the seat numbers of labels (matched case-insensitively), in seat order."""
    wanted = {label.upper(): label for label in labels}
    found = dict(
        Seat.objects.filter(show=show)
        .annotate(label_upper=Upper("label"))
        .filter(label_upper__in=list(wanted))
        .values_list("label_upper", "number")
    )
    unknown = [label for key, label in wanted.items() if key not in found]
    if unknown:
        raise UnknownSeatLabels(labels=unknown)
    return sorted(found.values())


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
