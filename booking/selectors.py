"""Reads: querysets with their joins and annotations applied, scoped where it matters."""

import json
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from django.db import connection
from django.db.models import (
    Count,
    DateTimeField,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from .models import Booking, Cinema, Hold, Movie, Screen, Seat, Show, User
from .pagination import total_column

SEAT_AVAILABLE, SEAT_BOOKED, SEAT_HELD = "available", "booked", "held"


def same_name(field: str, value: str) -> Q:
    """Match value as the unique indexes do: any case, and by the database's collation.

    MariaDB's collation calls "Straße" and "strasse" equal (`=`), but its `LIKE` (what
    iexact becomes) compares character by character; the unique index follows `=`.
    """
    return Q(**{f"{field}__iexact": value}) | Q(**{field: value})


def movies() -> QuerySet[Movie]:
    return Movie.objects.order_by("title", "pk")


def cinemas() -> QuerySet[Cinema]:
    return Cinema.objects.order_by("name", "pk")


def screens() -> QuerySet[Screen]:
    """All screens with their cinema and their rows (front to back) prefetched."""
    return (
        Screen.objects.select_related("cinema")
        .prefetch_related("rows")
        .order_by("cinema__name", "cinema_id", "name", "pk")
    )


def shows(*, now: datetime | None = None) -> QuerySet[Show]:
    """All shows with their movie, screen and seat counts.

    Annotations: `booked_seats_count`, `held_seats_count` (in an active hold at now) and
    `available_seats_count` (neither).
    """
    now = now or timezone.now()
    # Correlated subqueries, not a JOIN + GROUP BY: evaluated only for the rows of the
    # page, each from its own index ((show, booking) and (show, held_until)).
    booked = _count_of(Seat.objects.filter(show=OuterRef("pk"), booking__isnull=False))
    held = _count_of(Seat.objects.filter(show=OuterRef("pk"), held_until__gt=now))
    return (
        Show.objects.select_related("movie", "screen__cinema")
        .annotate(booked_seats_count=booked, held_seats_count=held)
        .annotate(
            available_seats_count=F("total_seats") - F("booked_seats_count") - F("held_seats_count")
        )
        .order_by("start_time", "pk")
    )


def _count_of(seats: QuerySet[Seat]):
    counted = seats.order_by().values("show").annotate(count=Count("pk")).values("count")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def upcoming_shows(*, now: datetime) -> QuerySet[Show]:
    """Shows that have not started yet, soonest first."""
    return shows(now=now).filter(start_time__gt=now)


def upcoming_show_rows(*, now: datetime) -> QuerySet[Show]:
    """Upcoming shows, soonest first, to be read as `.values()` rows (the public lists).

    `available_seats_count` as shows() counts it, its correlated subqueries written out as
    SQL: building them through the ORM cost more CPU than the database spends running
    them. They name the show table itself, so this is for a top-level query only (a
    query nested in another would alias the table).
    """
    available = RawSQL(  # noqa: S611 - model table names; values are parameters
        _correlated_seats(
            "{show}.total_seats - (SELECT COUNT(*) FROM {seat} s WHERE s.show_id = {show}.id"
            " AND s.booking_id IS NOT NULL) - (SELECT COUNT(*) FROM {seat} s"
            " WHERE s.show_id = {show}.id AND s.held_until > %s)"
        ),
        [connection.ops.adapt_datetimefield_value(now)],
        output_field=IntegerField(),
    )
    return (
        Show.objects.filter(start_time__gt=now)
        .annotate(available_seats_count=available)
        .order_by("start_time", "pk")
    )


def show_page_expiry(shows: QuerySet[Show], *, now: datetime) -> dict:
    """Return the `.values()` expressions that tell when a page of shows expires.

    `next_hold_expiry`: per show, when its first active hold (at now) runs out, and its
    `available_seats` goes up without any write. `first_start`: over every row of the
    list (shows, filtered), not only the page's, when the first show starts and leaves
    the list (the pages shift). A cached page is stale from the earliest of them
    (booking.readcache). For upcoming_show_rows() (top level only, like it).
    """
    first_expiry = RawSQL(  # noqa: S611 - model table names; values are parameters
        _correlated_seats(  # a range of the (show, held_until) index
            "SELECT MIN(s.held_until) FROM {seat} s WHERE s.show_id = {show}.id"
            " AND s.held_until > %s"
        ),
        [connection.ops.adapt_datetimefield_value(now)],
        output_field=DateTimeField(),
    )
    return {
        "next_hold_expiry": first_expiry,
        "first_start": total_column(shows, "MIN", "start_time"),
    }


def _correlated_seats(template: str) -> str:
    quote = connection.ops.quote_name
    return template.format(show=quote(Show._meta.db_table), seat=quote(Seat._meta.db_table))


def show_page_valid_until(rows: list[dict]) -> datetime | None:
    """Return when a page read with show_page_expiry() stops being true (None: never)."""
    if not rows:
        return None  # an empty list changes only when a show is added: a write
    expiries = [row["next_hold_expiry"] for row in rows if row["next_hold_expiry"] is not None]
    return min([rows[0]["first_start"], *expiries])


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """Return [start, end) of a calendar day in the cinema's zone (TIME_ZONE)."""
    zone = timezone.get_default_timezone()
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


class SeatMap(NamedTuple):
    body: dict  # as the API renders it (SeatMapOutput's shape)
    valid_until: datetime | None  # the first active hold's expiry: a seat frees itself then


def seat_map(*, show_id: int, now: datetime) -> SeatMap | None:
    """Return the seat map of a show at now, from one query; None if there is no such show."""
    seats = list(
        Seat.objects.filter(show_id=show_id)
        .order_by("number")  # row by row, left to right: numbering follows the layout
        .values_list(
            "number",
            "label",
            "row",
            "row_label",
            "column",
            "category",
            "wheelchair",
            "booking_id",
            "held_until",
            "show__total_seats",
            "show__price",
            # As text, decoded once below: as a JSONField it would be decoded per seat.
            Cast("show__category_prices", output_field=TextField()),
        )
    )
    if seats:  # the show's own columns come on every seat's row; a Show prices them
        total_seats, price, category_prices = seats[0][-3:]
        show = Show(
            total_seats=total_seats, price=price, category_prices=json.loads(category_prices)
        )
    else:  # no such show, or (never through the services) a show without seats
        show = Show.objects.filter(pk=show_id).first()
        if show is None:
            return None
    rows: list[dict] = []
    by_status: dict[str, list[int]] = {SEAT_AVAILABLE: [], SEAT_BOOKED: [], SEAT_HELD: []}
    free_by_category: dict[str, int] = {}  # insertion order: first appearance, front to back
    valid_until = None
    current_row = None
    for (
        number,
        label,
        row,
        row_label,
        column,
        category,
        wheelchair,
        booking_id,
        held_until,
        *_,
    ) in seats:
        if booking_id is not None:
            status = SEAT_BOOKED
        elif held_until is not None and held_until > now:
            status = SEAT_HELD
            if valid_until is None or held_until < valid_until:
                valid_until = held_until
        else:
            status = SEAT_AVAILABLE  # never held, or the hold expired (swept or not)
        by_status[status].append(number)
        free_by_category.setdefault(category, 0)
        free_by_category[category] += status == SEAT_AVAILABLE
        if row != current_row:
            current_row = row
            rows.append({"label": row_label or None, "seats": []})
        rows[-1]["seats"].append(
            {
                "number": number,
                "label": label,
                "column": column,
                "category": category,
                "wheelchair": wheelchair,
                "status": status,
            }
        )
    body = {
        "show": show_id,
        "total_seats": show.total_seats,
        "available_seats": by_status[SEAT_AVAILABLE],
        "booked_seats": by_status[SEAT_BOOKED],
        "held_seats": by_status[SEAT_HELD],
        "categories": [
            {"name": name, "price": str(show.price_of(name)), "available": free}
            for name, free in free_by_category.items()
        ],
        "rows": rows,
    }
    return SeatMap(body, valid_until)


def holds_of(*, user: User) -> QuerySet[Hold]:
    """The user's own holds: another user's are not there at all."""
    return Hold.objects.filter(user=user).select_related("user", "show__movie")


def bookings_of(*, user: User) -> QuerySet[Booking]:
    """The user's own bookings, newest first: another user's are not there at all."""
    return (
        Booking.objects.filter(user=user)
        .select_related("show__movie")
        .order_by("-created_at", "-pk")
    )
