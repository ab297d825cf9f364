"""Reads: querysets with their joins and annotations applied, scoped where it matters."""

from datetime import date, datetime, time, timedelta

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import Booking, Cinema, Movie, Screen, Seat, Show, User

SEAT_AVAILABLE, SEAT_BOOKED, SEAT_HELD = "available", "booked", "held"


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


def shows() -> QuerySet[Show]:
    """All shows with their movie and a `booked_seats_count` annotation."""
    # A correlated subquery, not a JOIN + GROUP BY: it is evaluated only for the rows
    # of the page, from the (show, booking) index.
    booked = (
        Seat.objects.filter(show=OuterRef("pk"), booking__isnull=False)
        .order_by()
        .values("show")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return (
        Show.objects.select_related("movie", "screen__cinema")
        .annotate(booked_seats_count=Coalesce(Subquery(booked, output_field=IntegerField()), 0))
        .order_by("start_time", "pk")
    )


def upcoming_shows(*, now: datetime) -> QuerySet[Show]:
    """Shows that have not started yet, soonest first."""
    return shows().filter(start_time__gt=now)


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """Return [start, end) of a calendar day in the cinema's zone (TIME_ZONE)."""
    zone = timezone.get_default_timezone()
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def seat_map(*, show: Show) -> dict:
    """Return the seat map of show as the API renders it, from one query."""
    seats = (
        Seat.objects.filter(show=show)
        .order_by("number")  # row by row, left to right: numbering follows the layout
        .values_list(
            "number", "label", "row", "row_label", "column", "category", "wheelchair", "booking_id"
        )
    )
    rows: list[dict] = []
    available: list[int] = []
    booked: list[int] = []
    free_by_category: dict[str, int] = {}  # insertion order: first appearance, front to back
    current_row = None
    for number, label, row, row_label, column, category, wheelchair, booking_id in seats:
        status = SEAT_AVAILABLE if booking_id is None else SEAT_BOOKED
        (available if status == SEAT_AVAILABLE else booked).append(number)
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
        "available_seats": available,
        "booked_seats": booked,
        "held_seats": [],
        "categories": [
            {"name": name, "price": str(show.price_of(name)), "available": free}
            for name, free in free_by_category.items()
        ],
        "rows": rows,
    }


def bookings_of(*, user: User) -> QuerySet[Booking]:
    """The user's own bookings, newest first: another user's are not there at all."""
    return (
        Booking.objects.filter(user=user)
        .select_related("show__movie")
        .order_by("-created_at", "-pk")
    )
