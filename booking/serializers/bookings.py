"""Bookings: what a booking request may say, and how a booking is rendered."""

from rest_framework import serializers

from ..models import Booking, Show
from .catalogue import MovieSummary
from .common import UTCDateTimeField, UTCModelSerializer

MAX_SEATS_PER_BOOKING = 10


class BookSeatsInput(serializers.Serializer):
    seat_number = serializers.IntegerField(required=False, help_text="One seat to book.")
    seat_numbers = serializers.ListField(
        child=serializers.IntegerField(),
        min_length=1,
        max_length=MAX_SEATS_PER_BOOKING,
        required=False,
        error_messages={
            "min_length": "Send at least one seat.",
            "max_length": f"At most {MAX_SEATS_PER_BOOKING} seats per booking.",
        },
        help_text=f"1 to {MAX_SEATS_PER_BOOKING} distinct seats to book together.",
    )

    def validate_seat_numbers(self, value):
        repeated = sorted({n for n in value if value.count(n) > 1})
        if repeated:
            raise serializers.ValidationError(
                f"Seats must be distinct; repeated: {', '.join(map(str, repeated))}."
            )
        return value

    def validate(self, attrs):
        if "seat_number" in attrs and "seat_numbers" in attrs:
            raise serializers.ValidationError("Send either seat_number or seat_numbers, not both.")
        if "seat_number" in attrs:
            return {"seat_numbers": [attrs["seat_number"]]}
        if "seat_numbers" not in attrs:
            raise serializers.ValidationError("Send seat_number or seat_numbers.")
        return attrs


class BookingShowOutput(UTCModelSerializer):
    movie = MovieSummary()

    class Meta:
        model = Show
        fields = ["id", "start_time", "screen_name", "movie"]


class BookingOutput(UTCModelSerializer):
    show = BookingShowOutput()
    seat_numbers = serializers.ListField(child=serializers.IntegerField())
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
            "status",
            "total_price",
            "created_at",
            "cancelled_at",
            "cancellable_until",
        ]
