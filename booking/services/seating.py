"""Claiming seats: the one place that decides whether a seat is free for someone.

Every path that takes seats (booking, holding, confirming a hold) comes through here,
in the same steps:

1. lock the user's row (`lock_user`), so that one user's requests run one at a time: the
   per-user seat limit and "one active hold per user per show" hold when a user sends
   ten requests at once. Other users' requests lock other rows and do not wait;
2. read the wanted seats, the user's seat count and active hold in one query (`read_claim`,
   no seat locks): it answers the 400s and 409s in the contract's order, and gives each
   seat's label and category for the price;
3. insert the booking (or hold), then point the seats at it with one conditional UPDATE
   (`take`): `... WHERE show = S AND number IN (...) AND <free for this user>`. The
   database decides: the row count says whether every seat was still free. Rows are
   written in index order (seat number), so two claims never deadlock, and a claim that
   comes second waits for the first to commit and then finds the seats taken. Because
   the claim writes the very rows it guards, Galera's certification refuses the loser
   of a race on another node too. A short count means someone took a seat since step 2:
   the caller raises `ClaimLost`, the transaction rolls back and starts over, and the new
   read answers 409 `seat_unavailable` (or picks the next best block).

A seat is free for a user when no live booking has it and no active hold of someone
else has it. A hold is active until its `held_until` passes: expiry is a comparison
with the clock at the moment of the claim, never a job that must have run.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.db import connection
from django.db.models.functions import Upper
from rest_framework.exceptions import NotFound

from ..exceptions import (
    NoAdjacentSeats,
    SeatLimitReached,
    SeatsOutOfRange,
    SeatUnavailable,
    UnknownSeatLabels,
)
from ..models import Booking, Hold, Movie, Seat, Show, User
from ..seat_choice import Cell, best_block
from ..sql import build, db_datetime, db_uuid, execute, fetch_row, marks, sql, uuid_of


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


@dataclass(frozen=True)
class Claimant:
    """The user's stake in a show, read under their lock."""

    owned: int  # seats of their live bookings
    hold_id: UUID | None  # their active hold, whose seats count as free for them


@dataclass(frozen=True)
class SeatState:
    number: int
    label: str
    category: str
    free: bool  # for the claimant
    held: bool  # taken by someone else's active hold, not by a booking


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


def show_to_claim(show_id: int) -> Show | None:
    """The show with just what a claim and its answer read (its movie's id and title).

    One plain SELECT (booking.sql): every booking and hold starts here, and
    the ORM's `select_related(...).only(...).get()` cost three times as much CPU.
    """
    row = fetch_row(
        sql(
            f"SELECT {CLAIMED_SHOW_COLUMNS} FROM {{show}} s "  # noqa: S608
            "JOIN {movie} m ON m.id = s.movie_id WHERE s.id = %s"
        ),
        [show_id],
    )
    return claimed_show(row) if row is not None else None


# What a claim and its answer read of a show, and its movie's title last (claimed_show).
CLAIMED_SHOW_FIELDS = (
    "id",
    "movie_id",
    "screen_name",
    "start_time",
    "total_seats",
    "price",
    "category_prices",
)
CLAIMED_SHOW_COLUMNS = ", ".join([*(f"s.{name}" for name in CLAIMED_SHOW_FIELDS), "m.title"])


def claimed_show(row: Sequence) -> Show:
    """The show read as CLAIMED_SHOW_COLUMNS (show s, movie m) as row, its movie attached."""
    show = build(Show, CLAIMED_SHOW_FIELDS, row[:-1])
    show.movie = Movie.from_db(connection.alias, ["id", "title"], [show.movie_id, row[-1]])
    return show


def lock_user(user: User) -> None:
    """Serialise this user's claims (see the module docstring).

    An UPDATE, not a SELECT ... FOR UPDATE: it takes the same row lock, and because it
    writes the row, Galera's certification also refuses a claim of the same user that
    ran on another node (its COMMIT fails with 1213 and is retried).
    """
    execute(sql("UPDATE {user} SET claim_version = claim_version + 1 WHERE id = %s"), [user.pk])


def claim(
    user: User, show: Show, request: SeatRequest, *, now: datetime
) -> tuple[list[SeatState], Claimant]:
    """Read and check the seats request wants for user (call with the user locked).

    Returns the seats, every one free for user at the time of the read, and the user's
    stake in the show. Raises in the contract's order: the seat limit, then
    `seat_unavailable` (or `no_adjacent_seats`). Nothing is written: `take` does that.
    """
    if request.numbers is not None:
        seats, claimant = _read_seats(user, show, request.numbers, now=now)
        ensure_within_limit(claimant.owned, request.count)
        taken = [seat for seat in seats if not seat.free]
        if taken:
            raise SeatUnavailable(
                seats=[seat.number for seat in taken],
                labels={seat.number: seat.label for seat in taken},
                held=any(seat.held for seat in taken),
            )
        return seats, claimant
    claimant = claimant_of(user, show, now=now)
    ensure_within_limit(claimant.owned, request.count)
    rows = _rows_of_seats(show, own_hold=claimant.hold_id, now=now)
    cells = [
        [
            Cell(number=s.number, column=column, category=s.category, free=s.free)
            for s, column in row
        ]
        for row in rows
    ]
    choice = best_block(cells, request.best.count, request.best.category)
    if choice is None:
        raise NoAdjacentSeats(count=request.best.count, category=request.best.category)
    chosen = set(choice)
    return [seat for row in rows for seat, _ in row if seat.number in chosen], claimant


def ensure_within_limit(owned: int, count: int) -> None:
    """Refuse count more seats to a user who owns owned seats of the show already."""
    limit = settings.MAX_SEATS_PER_USER_PER_SHOW
    if limit and owned + count > limit:
        raise SeatLimitReached(limit=limit, remaining=max(limit - owned, 0))


def take(
    show: Show,
    numbers: Sequence[int],
    *,
    now: datetime,
    own_hold_id: UUID | None,
    booking: Booking | None = None,
    hold: Hold | None = None,
) -> bool:
    """Point the seats of show with these numbers at booking (or hold), if every one is
    still free for the claimant; return whether they were (see the module docstring).

    The claimant's own hold (own_hold_id) does not stand in the way; its seats move over.
    """
    if booking is not None:
        point, values = "booking_id = %s, hold_id = NULL, held_until = NULL", [booking.pk]
    else:
        point, values = (
            "hold_id = %s, held_until = %s",
            [db_uuid(hold.pk), db_datetime(hold.expires_at)],
        )
    own = " OR hold_id = %s" if own_hold_id is not None else ""
    claimed = execute(
        sql(
            f"UPDATE {{seat}} SET {point} WHERE show_id = %s AND number IN ({marks(numbers)}) "  # noqa: S608
            f"AND booking_id IS NULL AND (hold_id IS NULL OR held_until <= %s{own})"
        ),
        [*values, show.pk, *numbers, db_datetime(now), *([db_uuid(own_hold_id)] if own else [])],
    )
    return claimed == len(numbers)


def take_held(hold: Hold, booking: Booking) -> bool:
    """Move the seats of hold to booking; return whether every one was still held by it."""
    numbers = hold.seat_numbers
    moved = execute(
        sql(
            "UPDATE {seat} SET booking_id = %s, hold_id = NULL, held_until = NULL "  # noqa: S608
            f"WHERE show_id = %s AND number IN ({marks(numbers)}) AND hold_id = %s "
            "AND booking_id IS NULL"
        ),
        [booking.pk, hold.show_id, *numbers, db_uuid(hold.pk)],
    )
    return moved == len(numbers)


def claimant_of(user: User, show: Show, *, now: datetime) -> Claimant:
    """Read user's seat count and active hold in show (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(
            sql(f"SELECT owned, hold FROM ({_STAKE}) own"),  # noqa: S608
            _stake_params(user, show, now),
        )
        owned, hold_id = cursor.fetchone()
    return Claimant(owned=owned, hold_id=uuid_of(hold_id))


def priced(show: Show, seats: Iterable[SeatState]) -> list[dict]:
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
    end_hold_by_id(hold.pk, status=status, now=now)
    hold.status = status
    hold.ended_at = now


def end_hold_by_id(
    hold_id: UUID, *, status: str, now: datetime, booking: Booking | None = None
) -> None:
    """End the hold with status (confirmed: into booking) and free the seats it still has
    (a confirmed hold has none left: take_held moved them all to the booking)."""
    if booking is None:
        execute(
            sql("UPDATE {seat} SET hold_id = NULL, held_until = NULL WHERE hold_id = %s"),
            [db_uuid(hold_id)],
        )
    execute(
        sql("UPDATE {hold} SET status = %s, ended_at = %s, booking_id = %s WHERE id = %s"),
        [status, db_datetime(now), booking.pk if booking is not None else None, db_uuid(hold_id)],
    )


def hold_stake(hold: Hold, *, now: datetime) -> tuple[str, Claimant]:
    """Read hold's status as committed now, and its user's stake in its show (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(
            sql(
                "SELECT h.status, own.owned, own.hold "  # noqa: S608
                f"FROM {{hold}} h CROSS JOIN ({_STAKE}) own WHERE h.id = %s"
            ),
            [*_stake_params(hold.user, hold.show, now), db_uuid(hold.pk)],
        )
        status, owned, hold_id = cursor.fetchone()
    return status, Claimant(owned=owned, hold_id=uuid_of(hold_id))


# The user's stake in a show, as one row (owned, hold): the seats of their live bookings,
# and their active hold (the newest, should an unswept expired one linger).
_STAKE = (
    "SELECT (SELECT COUNT(*) FROM {seat} s JOIN {booking} b ON s.booking_id = b.id "
    "WHERE s.show_id = %s AND b.user_id = %s) AS owned, "
    "(SELECT h.id FROM {hold} h WHERE h.user_id = %s AND h.show_id = %s "
    "AND h.status = %s AND h.expires_at > %s ORDER BY h.created_at DESC LIMIT 1) AS hold"
)


def _stake_params(user: User, show: Show, now: datetime) -> list:
    return [show.pk, user.pk, user.pk, show.pk, Hold.Status.ACTIVE.value, db_datetime(now)]


def _read_seats(
    user: User, show: Show, numbers: Sequence[int], *, now: datetime
) -> tuple[list[SeatState], Claimant]:
    """Read the seats of show with these numbers, and user's stake, in one query."""
    with connection.cursor() as cursor:
        cursor.execute(
            sql(
                "SELECT number, label, category, booking_id IS NULL, "  # noqa: S608
                # free: no booking, and no active hold but the claimant's own
                "CASE WHEN booking_id IS NULL AND (hold_id IS NULL OR held_until <= %s "
                "OR hold_id = own.hold) THEN 1 ELSE 0 END, own.owned, own.hold "
                f"FROM {{seat}} CROSS JOIN ({_STAKE}) own "
                f"WHERE show_id = %s AND number IN ({marks(numbers)}) ORDER BY number"
            ),
            [db_datetime(now), *_stake_params(user, show, now), show.pk, *numbers],
        )
        rows = cursor.fetchall()
    if len(rows) != len(numbers):
        # total_seats shrank (or the layout changed) after we read the show.
        missing = set(numbers) - {row[0] for row in rows}
        total = Show.objects.filter(pk=show.pk).values_list("total_seats", flat=True).first()
        if total is None:  # staff deleted the show while we were on our way
            raise NotFound("This show no longer exists.")
        raise SeatsOutOfRange(seats=missing, total_seats=total)
    claimant = Claimant(owned=rows[0][5], hold_id=uuid_of(rows[0][6]))
    seats = [
        SeatState(
            number=number,
            label=label,
            category=category,
            free=bool(free),
            held=bool(unbooked) and not free,
        )
        for number, label, category, unbooked, free, _, _ in rows
    ]
    return seats, claimant


def _state(number, label, category, booking_id, hold_id, held_until, own, now) -> SeatState:
    free = _free(booking_id, hold_id, held_until, own=own, now=now)
    return SeatState(
        number=number,
        label=label,
        category=category,
        free=free,
        held=not free and booking_id is None,
    )


def _free(booking_id, hold_id, held_until, *, own, now: datetime) -> bool:
    """No live booking, and no active hold but the claimant's own (own: its id or None).

    A hold whose held_until has passed blocks nobody, whether or not it was swept.
    """
    if booking_id is not None:
        return False
    return hold_id is None or held_until <= now or (own is not None and hold_id == own)


def _rows_of_seats(
    show: Show, *, own_hold: UUID | None, now: datetime
) -> list[list[tuple[SeatState, int]]]:
    """Read the show's seats (without locks) row by row, each with its column."""
    rows: list[list[tuple[SeatState, int]]] = []
    current = None
    seats = (
        Seat.objects.filter(show=show)
        .order_by("number")
        .values_list(
            "number", "label", "row", "column", "category", "booking_id", "hold_id", "held_until"
        )
    )
    for number, label, row, column, category, booking_id, hold_id, held_until in seats:
        if row != current:
            current = row
            rows.append([])
        state = _state(number, label, category, booking_id, hold_id, held_until, own_hold, now)
        rows[-1].append((state, column))
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
