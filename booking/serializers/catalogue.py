"""Catalogue: movies, shows and the seat map."""

from rest_framework import serializers

from ..models import (
    MAX_DESCRIPTION_LENGTH,
    MAX_DURATION_MINUTES,
    MAX_LABEL_LENGTH,
    MAX_SEAT_PRICE,
    MAX_SEATS_PER_SHOW,
    MAX_TITLE_LENGTH,
    Movie,
    Show,
)
from .common import UTCModelSerializer


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
