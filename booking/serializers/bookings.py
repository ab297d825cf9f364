"""Bookings: what a booking request may say, and how a booking is rendered."""

import copy
from collections import Counter
from datetime import datetime
from typing import Literal

from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiExample,
    PolymorphicProxySerializer,
    extend_schema_serializer,
)
from rest_framework import serializers

from ..models import MAX_CATEGORY_LENGTH, MAX_SEAT_LABEL_LENGTH, Booking, Hold, Show
from .catalogue import MovieSummary
from .common import (
    BoundedListField,
    UTCDateTimeField,
    UTCModelSerializer,
    money_text,
    utc_text,
)
from .venues import CATEGORY_REGEX

MAX_SEATS_PER_BOOKING = 10
HoldStatus = Literal["active", "confirmed", "released", "expired"]
SEAT_SELECTORS = ("seat_number", "seat_numbers", "seats", "best_available")
SEAT_LIST_ERRORS = {
    "min_length": "Send at least one seat.",
    "max_length": f"At most {MAX_SEATS_PER_BOOKING} seats per booking.",
}


class BestAvailableInput(serializers.Serializer):
    count = serializers.IntegerField(
        min_value=1, max_value=MAX_SEATS_PER_BOOKING, help_text="How many seats side by side."
    )
    category = serializers.RegexField(
        CATEGORY_REGEX,
        max_length=MAX_CATEGORY_LENGTH,
        required=False,
        help_text="Only seats of this category (`premium`, ...).",
    )


class BookSeatsInput(serializers.Serializer):
    """Exactly one of seat_number, seat_numbers, seats (labels) and best_available."""

    seat_number = serializers.IntegerField(required=False, help_text="One seat to book.")
    seat_numbers = BoundedListField(
        child=serializers.IntegerField(),
        min_length=1,
        max_length=MAX_SEATS_PER_BOOKING,
        required=False,
        error_messages=SEAT_LIST_ERRORS,
        help_text=f"1 to {MAX_SEATS_PER_BOOKING} distinct seat numbers to book together.",
    )
    seats = BoundedListField(
        child=serializers.CharField(max_length=MAX_SEAT_LABEL_LENGTH),
        min_length=1,
        max_length=MAX_SEATS_PER_BOOKING,
        required=False,
        error_messages=SEAT_LIST_ERRORS,
        help_text=(
            f"1 to {MAX_SEATS_PER_BOOKING} distinct seat labels (`F12`, as in the seat map; "
            "any case) to book together."
        ),
    )

    best_available = BestAvailableInput(
        required=False,
        help_text=(
            "Let the service pick `count` free seats side by side in one row: no new "
            "single free seat left behind, rows near two thirds back first, then the most "
            "central block."
        ),
    )

    def validate_seat_numbers(self, value):
        return _distinct(value)

    def validate_seats(self, value):
        return _distinct(value, key=str.upper)

    def validate(self, attrs):
        given = [name for name in SEAT_SELECTORS if name in attrs]
        if len(given) > 1:
            raise serializers.ValidationError(f"Send only one of {', '.join(SEAT_SELECTORS)}.")
        if not given:
            raise serializers.ValidationError(f"Send one of {', '.join(SEAT_SELECTORS)}.")
        if "seat_number" in attrs:
            return {"seat_numbers": [attrs["seat_number"]]}
        if "seats" in attrs:
            return {"seat_labels": attrs["seats"]}
        if "best_available" in attrs:
            return {"best_available": dict(attrs["best_available"])}
        return attrs


def _choice_of(field_name: str, component_name: str, doc: str) -> type[serializers.Serializer]:
    """Return a schema-only serializer with BookSeatsInput's field_name, required.

    The field is rebuilt from the arguments it was declared with, so that its bounds and
    help text stay BookSeatsInput's own. Only the OpenAPI schema uses these classes.
    """
    declared = BookSeatsInput._declared_fields[field_name]
    # As DRF's Field.__deepcopy__ does: fresh (unbound) copies of the arguments.
    kwargs = {
        key: value if key in ("validators", "regex") else copy.deepcopy(value)
        for key, value in declared._kwargs.items()
    }
    field = type(declared)(*copy.deepcopy(declared._args), **{**kwargs, "required": True})
    return type(
        component_name,
        (serializers.Serializer,),
        {"__module__": __name__, "__doc__": doc, field_name: field},
    )


# What the schema says a booking request is: exactly one of the four seat fields. One
# body matches one branch only: a second seat field makes it match two, and oneOf fails.
# DRF validation stays BookSeatsInput's (the views use it); this is documentation.
BookSeatsRequest = PolymorphicProxySerializer(
    component_name="BookSeatsInput",
    serializers=[
        _choice_of("seat_number", "BookOneSeat", "One seat, by number."),
        _choice_of("seat_numbers", "BookSeatNumbers", "Seats by number, booked together."),
        _choice_of("seats", "BookSeatLabels", "Seats by label (`F12`), booked together."),
        _choice_of(
            "best_available", "BookBestAvailable", "Let the service pick seats side by side."
        ),
    ],
    resource_type_field_name=None,
    many=False,
)


def _distinct(values, key=lambda value: value):
    counts = Counter(key(value) for value in values)
    repeated = sorted({value for value in values if counts[key(value)] > 1})
    if repeated:
        shown = ", ".join(str(value) for value in repeated)
        raise serializers.ValidationError(f"Seats must be distinct; repeated: {shown}.")
    return values


class BookingSeatOutput(serializers.Serializer):
    number = serializers.IntegerField()
    label = serializers.CharField()
    category = serializers.CharField()
    price = serializers.DecimalField(
        max_digits=8, decimal_places=2, help_text="What this seat cost when it was booked."
    )


class BookingShowOutput(UTCModelSerializer):
    movie = MovieSummary()

    class Meta:
        model = Show
        fields = ["id", "start_time", "screen_name", "movie"]


SHOW_SUMMARY_EXAMPLE = {
    "id": 7,
    "start_time": "2026-12-01T18:30:00Z",
    "screen_name": "Screen 1",
    "movie": {"id": 3, "title": "Dune: Part Two"},
}


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A booking of two seats",
            value={
                "id": 42,
                "reference": "BK7Q2M9X",
                "show": SHOW_SUMMARY_EXAMPLE,
                "seat_numbers": [12, 13],
                "seats": [
                    {"number": 12, "label": "B2", "category": "standard", "price": "250.00"},
                    {"number": 13, "label": "B3", "category": "standard", "price": "250.00"},
                ],
                "status": "booked",
                "total_price": "500.00",
                "created_at": "2026-11-21T10:00:00Z",
                "cancelled_at": None,
                "cancellable_until": "2026-12-01T18:30:00Z",
            },
            response_only=True,
        )
    ]
)
class BookingOutput(UTCModelSerializer):
    show = BookingShowOutput()
    seat_numbers = serializers.ListField(child=serializers.IntegerField())
    seats = BookingSeatOutput(
        many=True, help_text="The booked seats as sold; kept after a cancellation."
    )
    cancellable_until = UTCDateTimeField(
        source="show.cancellable_until",
        help_text="Last moment this booking may be cancelled (CANCELLATION_CUTOFF_MINUTES).",
    )

    class Meta:
        model = Booking
        fields = [
            "id",
            "reference",
            "show",
            "seat_numbers",
            "seats",
            "status",
            "total_price",
            "created_at",
            "cancelled_at",
            "cancellable_until",
        ]


def booking_body(booking: Booking) -> dict:
    """`BookingOutput(booking).data`, built without the serializer machinery.

    Booking and confirming answer with it: the nested serializers were a sixth of a
    booking's CPU. booking.show and its movie must be loaded. BookingOutput stays the
    documented shape; booking/tests/test_fast_paths.py checks the two agree.
    """
    return {
        "id": booking.pk,
        "reference": booking.reference,
        "show": _show_summary(booking.show),
        "seat_numbers": list(booking.seat_numbers),
        "seats": _seats_sold(booking.seats),
        "status": booking.status,
        "total_price": money_text(booking.total_price),
        "created_at": utc_text(booking.created_at),
        "cancelled_at": utc_text(booking.cancelled_at),
        "cancellable_until": utc_text(booking.show.cancellable_until),
    }


def hold_body(hold: Hold, *, now: datetime) -> dict:
    """`HoldOutput(hold, context={"now": now}).data`, built as booking_body is."""
    return {
        "id": str(hold.pk),
        "show": _show_summary(hold.show),
        "seat_numbers": list(hold.seat_numbers),
        "seats": _seats_sold(hold.seats),
        "total_price": money_text(hold.total_price),
        "status": hold.status_at(now),
        "expires_at": utc_text(hold.expires_at),
        "created_at": utc_text(hold.created_at),
        "booking": hold.booking_id,
    }


def _show_summary(show: Show) -> dict:
    return {
        "id": show.pk,
        "start_time": utc_text(show.start_time),
        "screen_name": show.screen_name,
        "movie": {"id": show.movie.pk, "title": show.movie.title},
    }


def _seats_sold(seats: list[dict]) -> list[dict]:
    return [
        {
            "number": seat["number"],
            "label": seat["label"],
            "category": seat["category"],
            "price": money_text(seat["price"]),
        }
        for seat in seats
    ]


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "An active hold",
            value={
                "id": "9b0c6a52-4f0e-4c7b-9d55-2f1f0b7c3a11",
                "show": SHOW_SUMMARY_EXAMPLE,
                "seat_numbers": [40, 41],
                "seats": [
                    {"number": 40, "label": "D4", "category": "standard", "price": "250.00"},
                    {"number": 41, "label": "D5", "category": "standard", "price": "250.00"},
                ],
                "total_price": "500.00",
                "status": "active",
                "expires_at": "2026-12-01T18:10:00Z",
                "created_at": "2026-12-01T18:00:00Z",
                "booking": None,
            },
            response_only=True,
        )
    ]
)
class HoldOutput(UTCModelSerializer):
    show = BookingShowOutput()
    seat_numbers = serializers.ListField(child=serializers.IntegerField())
    seats = BookingSeatOutput(many=True, help_text="The held seats, priced when held.")
    status = serializers.SerializerMethodField()
    booking = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The booking's id once confirmed."
    )

    class Meta:
        model = Hold
        fields = [
            "id",
            "show",
            "seat_numbers",
            "seats",
            "total_price",
            "status",
            "expires_at",
            "created_at",
            "booking",
        ]

    def get_status(self, hold) -> HoldStatus:
        # Expired the moment expires_at passes, whether or not anything swept it.
        return hold.status_at(self.context.get("now") or timezone.now())
