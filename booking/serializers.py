"""Input serializers check shape; output serializers render. Neither writes."""

from datetime import UTC

from django.contrib.auth import password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from rest_framework import serializers

from .models import (
    MAX_DESCRIPTION_LENGTH,
    MAX_DURATION_MINUTES,
    MAX_LABEL_LENGTH,
    MAX_SEAT_PRICE,
    MAX_SEATS_PER_SHOW,
    MAX_TITLE_LENGTH,
    Booking,
    Movie,
    Show,
    User,
)

MAX_SEATS_PER_BOOKING = 10
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128


class UTCDateTimeField(serializers.DateTimeField):
    """Render in UTC, and read a time without an offset as UTC.

    TIME_ZONE is the cinema's zone and only decides what `?date=` means; the API
    itself speaks UTC whatever it is.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("default_timezone", UTC)
        super().__init__(**kwargs)


class UTCModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: UTCDateTimeField,
    }


# --- Errors (for the schema) ----------------------------------------------------------


class ErrorOutput(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable error code.")
    detail = serializers.CharField(help_text="Human-readable message.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation errors: field name to messages (only for code `invalid`).",
    )
    seats = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        help_text="The seats that are taken (only for code `seat_unavailable`).",
    )


# --- Accounts -------------------------------------------------------------------------


class SignupInput(serializers.Serializer):
    username = serializers.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=MAX_PASSWORD_LENGTH,
        write_only=True,
        trim_whitespace=False,
        style={"input_type": "password"},
    )

    def validate_username(self, value):
        if User.objects.filter(username__iexact=value).exists():
            raise serializers.ValidationError("A user with that username already exists.")
        return value

    def validate_email(self, value):
        if User.objects.filter(email__iexact=value).exists():
            raise serializers.ValidationError("A user with that email already exists.")
        return value

    def validate(self, attrs):
        candidate = User(username=attrs["username"], email=attrs["email"])
        try:
            password_validation.validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from None
        return attrs


class SignupOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    access = serializers.CharField(help_text="JWT access token (Bearer).")
    refresh = serializers.CharField(help_text="JWT refresh token.")


class TokenPairOutput(serializers.Serializer):
    access = serializers.CharField(help_text="JWT access token (Bearer).")
    refresh = serializers.CharField(help_text="JWT refresh token (rotates on refresh).")


class LogoutInput(serializers.Serializer):
    refresh = serializers.CharField(help_text="The refresh token to revoke.")


class MeOutput(UTCModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "email", "is_staff"]


# --- Catalogue ------------------------------------------------------------------------


class MovieOutput(UTCModelSerializer):
    class Meta:
        model = Movie
        fields = [
            "id",
            "title",
            "description",
            "duration_minutes",
            "genre",
            "language",
            "release_date",
        ]


class MovieInput(UTCModelSerializer):
    title = serializers.CharField(max_length=MAX_TITLE_LENGTH)
    description = serializers.CharField(
        max_length=MAX_DESCRIPTION_LENGTH, allow_blank=True, required=False, default=""
    )
    duration_minutes = serializers.IntegerField(min_value=1, max_value=MAX_DURATION_MINUTES)
    genre = serializers.CharField(
        max_length=MAX_LABEL_LENGTH, allow_blank=True, required=False, default=""
    )
    language = serializers.CharField(
        max_length=MAX_LABEL_LENGTH, allow_blank=True, required=False, default=""
    )

    class Meta:
        model = Movie
        fields = ["title", "description", "duration_minutes", "genre", "language", "release_date"]


class MovieSummary(UTCModelSerializer):
    class Meta:
        model = Movie
        fields = ["id", "title"]


class ShowOutput(UTCModelSerializer):
    movie = MovieSummary()
    available_seats = serializers.SerializerMethodField()

    class Meta:
        model = Show
        fields = [
            "id",
            "movie",
            "screen_name",
            "start_time",
            "total_seats",
            "available_seats",
            "price",
        ]

    def get_available_seats(self, show) -> int:
        # From the selectors' `booked_seats_count` annotation: no query per show.
        return show.total_seats - show.booked_seats_count


class ShowInput(UTCModelSerializer):
    movie_id = serializers.PrimaryKeyRelatedField(
        source="movie", queryset=Movie.objects.all(), help_text="The movie's id."
    )
    screen_name = serializers.CharField(max_length=MAX_LABEL_LENGTH)
    total_seats = serializers.IntegerField(min_value=1, max_value=MAX_SEATS_PER_SHOW)
    price = serializers.DecimalField(
        max_digits=8, decimal_places=2, min_value=0, max_value=MAX_SEAT_PRICE
    )

    class Meta:
        model = Show
        fields = ["movie_id", "screen_name", "start_time", "total_seats", "price"]


class SeatMapOutput(serializers.Serializer):
    show = serializers.IntegerField(help_text="The show's id.")
    total_seats = serializers.IntegerField()
    available_seats = serializers.ListField(child=serializers.IntegerField())
    booked_seats = serializers.ListField(child=serializers.IntegerField())


# --- Bookings -------------------------------------------------------------------------


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
