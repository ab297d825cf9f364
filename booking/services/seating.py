"""Claiming seats: the one place that decides whether a seat is free for someone.

Every path that takes seats (booking, holding, confirming a hold) comes through here,
under the same locks, always in the same order:

1. the user's row, so that one user's requests run one at a time: the per-user seat
   limit and "one active hold per user per show" hold when a user sends ten requests
   at once. Other users' requests lock other rows and do not wait;
2. the seat rows, in seat-number order, so that two claims never deadlock.

A seat is free for a user when no live booking has it and no active hold of someone
else has it. A hold is active until its `held_until` passes: expiry is a comparison
with the clock at the moment of the claim, never a job that must have run.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import F
from django.db.models.functions import Upper
from rest_framework.exceptions import NotFound

from ..exceptions import (
    NoAdjacentSeats,
    SeatLimitReached,
    SeatsOutOfRange,
    SeatUnavailable,
    UnknownSeatLabels,
)
from ..models import Hold, Seat, Show, User
from ..seat_choice import Cell, best_block
from .transactions import PickLost


@dataclass(frozen=True)
class BestAvailable:
    count: int
    category: str | None = None


@dataclass(frozen=True)
class SeatRequest:
    """What a client asked for: seat numbers, or the best block of count seats."""

    numbers: tuple[int, ...] | None = None
    best: BestAvailable | None = None

    @property
    def count(self) -> int:
        return len(self.numbers) if self.numbers is not None else self.best.count


def seat_request(
    show: Show,
    *,
    seat_numbers: Sequence[int] | None = None,
    seat_labels: Sequence[str] | None = None,
    best_available: dict | None = None,
) -> SeatRequest:
    """Check the named seats exist in show (a 400 if not) and return the request."""
    if best_available is not None:
        return SeatRequest(best=BestAvailable(**best_available))
    if seat_labels is not None:
        return SeatRequest(numbers=tuple(_numbers_of_labels(show, seat_labels)))
    requested = sorted(set(seat_numbers))
    out_of_range = [n for n in requested if not 1 <= n <= show.total_seats]
    if out_of_range:
        raise SeatsOutOfRange(seats=out_of_range, total_seats=show.total_seats)
    return SeatRequest(numbers=tuple(requested))


def lock_user(user: User) -> None:
    """Serialise this user's claims (see the module docstring).

    An UPDATE, not a SELECT ... FOR UPDATE: it takes the same row lock, and because it
    writes the row, Galera's certification also refuses a claim of the same user that
    ran on another node (its COMMIT fails with 1213 and is retried).
    """
    User.objects.filter(pk=user.pk).update(claim_version=F("claim_version") + 1)


def active_hold_of(user: User, show: Show, now: datetime) -> Hold | None:
    """Return user's active hold on show, if any (call with the user locked)."""
    return (
        Hold.objects.filter(user=user, show=show, status=Hold.Status.ACTIVE, expires_at__gt=now)
        .order_by("-created_at")
        .first()
    )


def ensure_within_limit(user: User, show: Show, count: int) -> None:
    """Refuse count more seats if user would then own more than the per-show limit."""
    limit = settings.MAX_SEATS_PER_USER_PER_SHOW
    if not limit:
        return
    owned = Seat.objects.filter(show=show, booking__user=user).count()  # live bookings only
    if owned + count > limit:
        raise SeatLimitReached(limit=limit, remaining=max(limit - owned, 0))


def claim(show: Show, request: SeatRequest, *, own_hold: Hold | None, now: datetime) -> list[Seat]:
    """Lock and return the requested seats, every one free for the claimant.

    The claimant's own active hold (own_hold) does not stand in their way; its seats are
    locked too, so that the caller may release them in the same transaction.
    """
    extra = own_hold.seat_numbers if own_hold is not None else []
    if request.numbers is not None:
        return _lock_free(show, request.numbers, extra=extra, own_hold=own_hold, now=now)
    choice = best_block(
        _rows_of_cells(show, own_hold=own_hold, now=now),
        request.best.count,
        request.best.category,
    )
    if choice is None:
        raise NoAdjacentSeats(count=request.best.count, category=request.best.category)
    try:
        return _lock_free(show, choice, extra=extra, own_hold=own_hold, now=now)
    except SeatUnavailable:
        # Someone took part of the block between our read and our lock: start over
        # (see PickLost) and pick the next best block.
        raise PickLost() from None


def priced(show: Show, seats: Iterable[Seat]) -> list[dict]:
    """Describe seats as sold now: number, label, category and its current price."""
    return [
        {
            "number": seat.number,
            "label": seat.label,
            "category": seat.category,
            "price": str(show.price_of(seat.category)),
        }
        for seat in seats
    ]


def total_of(seats: Iterable[dict]) -> Decimal:
    return sum((Decimal(seat["price"]) for seat in seats), Decimal("0.00"))


def end_hold(hold: Hold, *, status: str, now: datetime) -> None:
    """End hold with status and free its seats that nothing else took over."""
    Seat.objects.filter(hold=hold).update(hold=None, held_until=None)
    hold.status = status
    hold.ended_at = now
    hold.save(update_fields=["status", "ended_at"])


def _lock_free(
    show: Show,
    numbers: Sequence[int],
    *,
    extra: Sequence[int],
    own_hold: Hold | None,
    now: datetime,
) -> list[Seat]:
    wanted = set(numbers)
    locked = lock_seats(show, sorted(wanted | set(extra)))
    seats = [seat for seat in locked if seat.number in wanted]
    if len(seats) != len(wanted):
        # total_seats shrank (or the layout changed) after we read the show.
        missing = wanted - {seat.number for seat in seats}
        total = Show.objects.filter(pk=show.pk).values_list("total_seats", flat=True).first()
        if total is None:  # staff deleted the show while we were on our way
            raise NotFound("This show no longer exists.")
        raise SeatsOutOfRange(seats=missing, total_seats=total)
    taken = [seat for seat in seats if not _is_free_for(seat, own_hold=own_hold, now=now)]
    if taken:
        raise SeatUnavailable(
            seats=[seat.number for seat in taken],
            labels={seat.number: seat.label for seat in taken},
            held=any(seat.booking_id is None for seat in taken),
        )
    return seats


def lock_seats(show: Show, numbers: Sequence[int]) -> list[Seat]:
    """Lock the seat rows of show with these numbers, in seat order."""
    return list(
        Seat.objects.select_for_update()
        .filter(show=show, number__in=numbers)
        .order_by("number")  # one lock order everywhere: no deadlocks between claims
    )


def _is_free_for(seat: Seat, *, own_hold: Hold | None, now: datetime) -> bool:
    own = own_hold.pk if own_hold is not None else None
    return _free(seat.booking_id, seat.hold_id, seat.held_until, own=own, now=now)


def _free(booking_id, hold_id, held_until, *, own, now: datetime) -> bool:
    """No live booking, and no active hold but the claimant's own (own: its id or None).

    A hold whose held_until has passed blocks nobody, whether or not it was swept.
    """
    if booking_id is not None:
        return False
    return hold_id is None or held_until <= now or (own is not None and hold_id == own)


def _rows_of_cells(show: Show, *, own_hold: Hold | None, now: datetime) -> list[list[Cell]]:
    """Read the show's seats (without locks) as rows of cells for the chooser."""
    own = own_hold.pk if own_hold is not None else None
    rows: list[list[Cell]] = []
    current = None
    seats = (
        Seat.objects.filter(show=show)
        .order_by("number")
        .values_list("number", "row", "column", "category", "booking_id", "hold_id", "held_until")
    )
    for number, row, column, category, booking_id, hold_id, held_until in seats:
        if row != current:
            current = row
            rows.append([])
        free = _free(booking_id, hold_id, held_until, own=own, now=now)
        rows[-1].append(Cell(number=number, column=column, category=category, free=free))
    return rows


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
