"""Reads: querysets with their joins and annotations applied, scoped where it matters."""

from datetime import date, datetime, time, timedelta

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import Booking, Movie, Seat, Show, User


def movies() -> QuerySet[Movie]:
    return Movie.objects.order_by("title", "pk")


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
        Show.objects.select_related("movie")
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


def seat_map(*, show: Show) -> tuple[list[int], list[int]]:
    """Return (available, booked) seat numbers of show, in seat order."""
    available, booked = [], []
    seats = Seat.objects.filter(show=show).order_by("number").values_list("number", "booking_id")
    for number, booking_id in seats:
        (available if booking_id is None else booked).append(number)
    return available, booked


def bookings_of(*, user: User) -> QuerySet[Booking]:
    """The user's own bookings, newest first: another user's are not there at all."""
    return (
        Booking.objects.filter(user=user)
        .select_related("show__movie")
        .order_by("-created_at", "-pk")
    )
