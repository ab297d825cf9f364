"""Checkout: seats held while the customer pays, then confirmed into a booking.

A hold keeps its seats for SEAT_HOLD_MINUTES: its seat rows point at it, with
`held_until` = the hold's `expires_at`. Every claim compares `held_until` with the
clock (`seating.claim`, `seating.take`), so an expired hold blocks nobody whether or not
it was swept; `expire_holds` only tidies up. Holds are claimed the way bookings are (the
user's row locked, then one conditional UPDATE of the seats), so a seat is never held by
one user while booked or held by another.
"""

from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction

from .. import readcache
from ..exceptions import HoldExpired, HoldNotActive, ShowStarted
from ..models import Booking, Hold, Seat, Show, User
from ..sql import db_uuid, fetch_one, insert, sql
from . import seating
from .bookings import record_booking
from .transactions import ClaimLost, retry_on_lock_conflict


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
        seats, claimant = seating.claim(user, show, request, now=now)
        sold = seating.priced(show, seats)
        hold = Hold(
            user=user,
            show=show,
            seat_numbers=[seat["number"] for seat in sold],
            seats=sold,
            total_price=seating.total_of(sold),
            expires_at=now + timedelta(minutes=settings.SEAT_HOLD_MINUTES),
            created_at=now,
        )
        insert(hold)
        if not seating.take(
            show, hold.seat_numbers, now=now, own_hold_id=claimant.hold_id, hold=hold
        ):
            raise ClaimLost()
        if claimant.hold_id is not None:
            seating.end_hold_by_id(claimant.hold_id, status=Hold.Status.RELEASED, now=now)
        readcache.seats_changed(show.pk, show.movie_id)
    return hold


@retry_on_lock_conflict
def release_hold(*, hold: Hold, now: datetime) -> Hold:
    """Give up an active hold: its seats are free at once."""
    with transaction.atomic():
        seating.lock_user(hold.user)
        hold = _active(hold, now=now)
        seating.end_hold(hold, status=Hold.Status.RELEASED, now=now)
        readcache.seats_changed(hold.show_id, hold.show.movie_id)
    return hold


@retry_on_lock_conflict
def confirm_hold(*, hold: Hold, now: datetime) -> Booking:
    """Turn an active hold into a booking of exactly its seats, at the prices held."""
    with transaction.atomic():
        seating.lock_user(hold.user)
        hold.status, claimant = seating.hold_stake(hold, now=now)
        _ensure_active(hold, now=now)
        show = hold.show
        if show.start_time <= now:
            raise ShowStarted()
        seating.ensure_within_limit(claimant.owned, len(hold.seat_numbers))
        booking = record_booking(user=hold.user, show=show, seats=hold.seats)
        if not seating.take_held(hold, booking):
            # Only possible once the hold has expired and someone else claimed a seat.
            raise HoldExpired()
        seating.end_hold_by_id(hold.pk, status=Hold.Status.CONFIRMED, now=now, booking=booking)
        readcache.seats_changed(show.pk, show.movie_id)
    hold.status, hold.booking, hold.ended_at = Hold.Status.CONFIRMED, booking, now
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


def hold_to_confirm(hold_id: UUID, user: User) -> Hold | None:
    """user's hold with what confirm_hold and its answer read (its show, the movie's
    title); None if user has no such hold.

    One plain SELECT, as seating.show_to_claim: the ORM's select_related query cost
    more CPU than the rest of the lookup.
    """
    found = fetch_one(
        Hold,
        _HOLD_FIELDS,
        sql(
            f"SELECT {_HOLD_COLUMNS}, {seating.CLAIMED_SHOW_COLUMNS} "  # noqa: S608
            "FROM {hold} h JOIN {show} s ON s.id = h.show_id "
            "JOIN {movie} m ON m.id = s.movie_id WHERE h.id = %s AND h.user_id = %s"
        ),
        [db_uuid(hold_id), user.pk],
    )
    if found is None:
        return None
    hold, show_row = found
    hold.show = seating.claimed_show(show_row)
    hold.user = user
    return hold


_HOLD_FIELDS = tuple(field.attname for field in Hold._meta.concrete_fields)
_HOLD_COLUMNS = ", ".join(f"h.{field.column}" for field in Hold._meta.concrete_fields)


def _active(hold: Hold, *, now: datetime) -> Hold:
    """Return hold with its status as committed now (call with its user locked, which
    every change of a hold's status but expiry takes first); refuse one that is over."""
    hold.status = Hold.objects.filter(pk=hold.pk).values_list("status", flat=True).get()
    _ensure_active(hold, now=now)
    return hold


def _ensure_active(hold: Hold, *, now: datetime) -> None:
    """Refuse a hold that is over, checking in the contract's order."""
    if hold.status in (Hold.Status.CONFIRMED, Hold.Status.RELEASED):
        raise HoldNotActive()
    if hold.status_at(now) == Hold.Status.EXPIRED:
        raise HoldExpired()
