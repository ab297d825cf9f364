"""Reads: querysets with their joins and annotations applied, scoped where it matters."""

from datetime import date, datetime, time, timedelta

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import Booking, Cinema, Hold, Movie, Screen, Seat, Show, User

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


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """Return [start, end) of a calendar day in the cinema's zone (TIME_ZONE)."""
    zone = timezone.get_default_timezone()
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def seat_map(*, show: Show, now: datetime) -> dict:
    """Return the seat map of show at now as the API renders it, from one query."""
    seats = (
        Seat.objects.filter(show=show)
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
        )
    )
    rows: list[dict] = []
    by_status: dict[str, list[int]] = {SEAT_AVAILABLE: [], SEAT_BOOKED: [], SEAT_HELD: []}
    free_by_category: dict[str, int] = {}  # insertion order: first appearance, front to back
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
    ) in seats:
        if booking_id is not None:
            status = SEAT_BOOKED
        elif held_until is not None and held_until > now:
            status = SEAT_HELD
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
    return {
        "show": show.pk,
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
