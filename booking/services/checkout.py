"""Checkout: seats held while the customer pays, then confirmed into a booking.

A hold keeps its seats for SEAT_HOLD_MINUTES: its seat rows point at it, with
`held_until` = the hold's `expires_at`. Every claim compares `held_until` with the
clock (`seating.claim`), so an expired hold blocks nobody whether or not it was swept;
`expire_holds` only tidies up. Holds are claimed under the same locks as bookings (the
user's row, then the seats in number order), so a seat is never held by one user while
booked or held by another.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from ..exceptions import HoldExpired, HoldNotActive, ShowStarted
from ..models import Booking, Hold, Seat, Show, User
from . import seating
from .bookings import record_booking
from .transactions import retry_on_lock_conflict


@retry_on_lock_conflict
def hold_seats(*, user: User, show: Show, now: datetime, **selection) -> Hold:
    """Hold the named seats (or the best block) of show for user, replacing their old hold.

    selection is one of seat_numbers, seat_labels or best_available, as for book_seats.
    The old hold's seats that the new one does not take are freed in the same
    transaction: a seat in both is never free in between.
    """
    if show.start_time <= now:
        raise ShowStarted()
    request = seating.seat_request(show, **selection)
    with transaction.atomic():
        seating.lock_user(user)
        # The old hold is replaced, so its seats do not count against the limit.
        seating.ensure_within_limit(user, show, request.count)
        old_hold = seating.active_hold_of(user, show, now)
        seats = seating.claim(show, request, own_hold=old_hold, now=now)
        sold = seating.priced(show, seats)
        hold = Hold.objects.create(
            user=user,
            show=show,
            seat_numbers=[seat["number"] for seat in sold],
            seats=sold,
            total_price=seating.total_of(sold),
            expires_at=now + timedelta(minutes=settings.SEAT_HOLD_MINUTES),
            created_at=now,
        )
        Seat.objects.filter(pk__in=[seat.pk for seat in seats]).update(
            hold=hold, held_until=hold.expires_at
        )
        if old_hold is not None:
            seating.end_hold(old_hold, status=Hold.Status.RELEASED, now=now)
    return hold


@retry_on_lock_conflict
def release_hold(*, hold: Hold, now: datetime) -> Hold:
    """Give up an active hold: its seats are free at once."""
    with transaction.atomic():
        seating.lock_user(hold.user)
        hold = _lock_active(hold, now=now)
        seating.end_hold(hold, status=Hold.Status.RELEASED, now=now)
    return hold


@retry_on_lock_conflict
def confirm_hold(*, hold: Hold, now: datetime) -> Booking:
    """Turn an active hold into a booking of exactly its seats, at the prices held."""
    with transaction.atomic():
        seating.lock_user(hold.user)
        hold = _lock_active(hold, now=now)
        show = hold.show
        if show.start_time <= now:
            raise ShowStarted()
        seating.ensure_within_limit(hold.user, show, len(hold.seat_numbers))
        seats = seating.lock_seats(show, hold.seat_numbers)
        if len(seats) != len(hold.seat_numbers) or any(s.hold_id != hold.pk for s in seats):
            # Only possible once the hold has expired and someone else claimed a seat.
            raise HoldExpired()
        booking = record_booking(user=hold.user, show=show, seats=hold.seats)
        Seat.objects.filter(pk__in=[seat.pk for seat in seats]).update(
            booking=booking, hold=None, held_until=None
        )
        hold.status = Hold.Status.CONFIRMED
        hold.booking = booking
        hold.ended_at = now
        hold.save(update_fields=["status", "booking", "ended_at"])
    return booking


@retry_on_lock_conflict
def expire_holds(*, now: datetime) -> int:
    """Mark holds past their expiry as expired and unpoint their seats; return how many.

    Tidying only: an expired hold already blocks nobody. Safe to run at any time.
    """
    with transaction.atomic():
        Seat.objects.filter(held_until__lte=now).update(hold=None, held_until=None)
        return Hold.objects.filter(status=Hold.Status.ACTIVE, expires_at__lte=now).update(
            status=Hold.Status.EXPIRED, ended_at=now
        )


def _lock_active(hold: Hold, *, now: datetime) -> Hold:
    """Lock hold's row and return it; refuse one that is over (checks in contract order)."""
    locked = Hold.objects.select_for_update().select_related("show__movie").get(pk=hold.pk)
    locked.user = hold.user
    if locked.status in (Hold.Status.CONFIRMED, Hold.Status.RELEASED):
        raise HoldNotActive()
    if locked.status_at(now) == Hold.Status.EXPIRED:
        raise HoldExpired()
    return locked
