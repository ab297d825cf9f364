"""Catalogue: movies, shows and the seat map."""

from collections.abc import Callable
from typing import NamedTuple

from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from ..models import (
    MAX_DESCRIPTION_LENGTH,
    MAX_DURATION_MINUTES,
    MAX_LABEL_LENGTH,
    MAX_SEAT_PRICE,
    MAX_SEATS_PER_SHOW,
    MAX_TITLE_LENGTH,
    Movie,
    Screen,
    Show,
)
from .common import (
    BoundedDictField,
    IdField,
    UTCDateTimeField,
    UTCModelSerializer,
    money_text,
)
from .venues import CinemaSummary

MAX_CATEGORIES = 50  # a screen has at most 50 rows, each of one category


def price_field(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=8, decimal_places=2, min_value=0, max_value=MAX_SEAT_PRICE, **kwargs
    )


# --- Row forms: how a hot list steps around its output serializer ----------------------
#
# A serializer builds its fields and calls each one's get_attribute and to_representation
# for every object of a page, after the ORM has built a model instance (and the instances
# of its select_related joins) per row: most of the CPU of a public list. An output
# serializer may therefore carry a `row_form`: the columns a `.values()` query reads, and
# a function rendering one such row into exactly what to_representation renders for the
# instance, key order included. The hot lists use it (booking.views.common.RowListMixin);
# everything else, and the schema, uses the serializer. The formats come from the
# serializers' own field classes, so a datetime or a price is written by the same code.
# booking/tests/test_read_paths.py checks, for a varied fixture, that both give the same
# JSON byte for byte: a field added to a serializer and not here fails it.


class RowForm(NamedTuple):
    columns: tuple[str, ...]  # for QuerySet.values(); annotations may be named
    render: Callable[[dict], dict]


_DATE = serializers.DateField()
_DATETIME = UTCDateTimeField()


MOVIE_COLUMNS = (
    "id",
    "title",
    "description",
    "duration_minutes",
    "genre",
    "language",
    "release_date",
)


def render_movie(row: dict) -> dict:
    """Render a MOVIE_COLUMNS row as MovieOutput renders the movie."""
    return {
        "id": row["id"],
        "title": row["title"],
        "description": row["description"],
        "duration_minutes": row["duration_minutes"],
        "genre": row["genre"],
        "language": row["language"],
        "release_date": _DATE.to_representation(row["release_date"]),
    }


SHOW_COLUMNS = (
    "id",
    "movie_id",
    "movie__title",
    "screen_name",
    "screen_id",
    "screen__name",
    "screen__cinema_id",
    "screen__cinema__name",
    "screen__cinema__city",
    "start_time",
    "total_seats",
    "available_seats_count",  # an annotation of selectors.upcoming_show_rows()
    "price",
    "categories",
    "category_prices",
)


def render_show(row: dict) -> dict:
    """Render a SHOW_COLUMNS row as ShowOutput renders the show."""
    price, category_prices = row["price"], row["category_prices"]
    screen_id = row["screen_id"]
    return {
        "id": row["id"],
        "movie": {"id": row["movie_id"], "title": row["movie__title"]},
        "screen_name": row["screen_name"],
        "screen": None
        if screen_id is None
        else {
            "id": screen_id,
            "name": row["screen__name"],
            "cinema": {
                "id": row["screen__cinema_id"],
                "name": row["screen__cinema__name"],
                "city": row["screen__cinema__city"],
            },
        },
        "start_time": _DATETIME.to_representation(row["start_time"]),
        "total_seats": row["total_seats"],
        "available_seats": row["available_seats_count"],
        "price": money_text(price),
        # As Show.prices reads them: a category without a price of its own costs price.
        "prices": {
            name: money_text(category_prices.get(name, price)) for name in row["categories"]
        },
    }


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A movie",
            value={
                "id": 3,
                "title": "Dune: Part Two",
                "description": "Paul Atreides unites with Chani and the Fremen.",
                "duration_minutes": 166,
                "genre": "Sci-Fi",
                "language": "English",
                "release_date": "2024-03-01",
            },
            response_only=True,
        )
    ]
)
class MovieOutput(UTCModelSerializer):
    row_form = RowForm(MOVIE_COLUMNS, render_movie)

    class Meta:
        model = Movie
        fields = list(MOVIE_COLUMNS)


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


class ScreenSummary(UTCModelSerializer):
    cinema = CinemaSummary()

    class Meta:
        model = Screen
        fields = ["id", "name", "cinema"]


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A show on a screen",
            value={
                "id": 7,
                "movie": {"id": 3, "title": "Dune: Part Two"},
                "screen_name": "Screen 1",
                "screen": {
                    "id": 4,
                    "name": "Screen 1",
                    "cinema": {"id": 1, "name": "Riverside", "city": "Pune"},
                },
                "start_time": "2026-12-01T18:30:00Z",
                "total_seats": 120,
                "available_seats": 117,
                "price": "250.00",
                "prices": {"standard": "250.00", "premium": "400.00"},
            },
            response_only=True,
        )
    ]
)
class ShowOutput(UTCModelSerializer):
    row_form = RowForm(SHOW_COLUMNS, render_show)

    movie = MovieSummary()
    screen = ScreenSummary(
        allow_null=True, help_text="The screen; null for a show created without one."
    )
    available_seats = serializers.SerializerMethodField()
    prices = serializers.DictField(
        child=price_field(),
        help_text="Price of each seat category of the show (`price` where staff set none).",
    )

    class Meta:
        model = Show
        fields = [
            "id",
            "movie",
            "screen_name",
            "screen",
            "start_time",
            "total_seats",
            "available_seats",
            "price",
            "prices",
        ]

    def get_available_seats(self, show) -> int:
        # From the selectors' annotation: no query per show. Booked and held seats are
        # not available.
        return show.available_seats_count


class ShowInput(UTCModelSerializer):
    """A show on a screen (`screen_id`), or the old form (`screen_name` + `total_seats`)."""

    movie_id = IdField(source="movie", queryset=Movie.objects.all(), help_text="The movie's id.")
    screen_id = IdField(
        source="screen",
        queryset=Screen.objects.all(),
        required=False,
        help_text=(
            "The screen; the show copies its layout. screen_name and total_seats then "
            "come from the screen (sending total_seats with it is a 400)."
        ),
    )
    screen_name = serializers.CharField(
        max_length=MAX_LABEL_LENGTH,
        required=False,
        help_text="Without screen_id: the screen's name (free text). Ignored with one.",
    )
    total_seats = serializers.IntegerField(
        min_value=1,
        max_value=MAX_SEATS_PER_SHOW,
        required=False,
        help_text="Without screen_id: the number of seats, in one unlabelled row.",
    )
    price = price_field(help_text="Base price: of every category not named in `prices`.")
    prices = BoundedDictField(
        child=price_field(),
        max_length=MAX_CATEGORIES,
        required=False,
        help_text='Prices of some seat categories of the screen: `{"premium": "400.00"}`.',
    )

    class Meta:
        model = Show
        fields = [
            "movie_id",
            "screen_id",
            "screen_name",
            "start_time",
            "total_seats",
            "price",
            "prices",
        ]

    def validate(self, attrs):
        if "screen" in attrs:
            if "total_seats" in attrs:
                raise serializers.ValidationError(
                    {"total_seats": ["A show on a screen has the screen's seats: leave it out."]}
                )
            return attrs
        on_a_screen = self.instance is not None and self.instance.screen_id is not None
        if not self.partial and not on_a_screen:
            missing = [name for name in ("screen_name", "total_seats") if name not in attrs]
            if missing:
                raise serializers.ValidationError(
                    {
                        name: ["This field is required (or send screen_id instead)."]
                        for name in missing
                    }
                )
        return attrs


class SeatOutput(serializers.Serializer):
    number = serializers.IntegerField(help_text="1..total_seats, row by row, left to right.")
    label = serializers.CharField(help_text="Row label and place: `F12` (`12` without rows).")
    column = serializers.IntegerField(help_text="Place in the row, each aisle one empty column.")
    category = serializers.CharField()
    wheelchair = serializers.BooleanField()
    status = serializers.ChoiceField(choices=["available", "booked", "held"])


class SeatRowOutput(serializers.Serializer):
    label = serializers.CharField(allow_null=True, help_text="null for a show without rows.")
    seats = SeatOutput(many=True)


class SeatCategoryOutput(serializers.Serializer):
    name = serializers.CharField()
    price = price_field()
    available = serializers.IntegerField(help_text="Available seats of this category.")


def _seat(number, label, column, category, status, wheelchair=False) -> dict:
    return {
        "number": number,
        "label": label,
        "column": column,
        "category": category,
        "wheelchair": wheelchair,
        "status": status,
    }


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A small screen",
            description="Row A: 4 standard seats, an aisle after the second; row B: 3 "
            "premium seats.",
            value={
                "show": 7,
                "total_seats": 7,
                "available_seats": [1, 4, 5, 7],
                "booked_seats": [2, 3],
                "held_seats": [6],
                "categories": [
                    {"name": "standard", "price": "250.00", "available": 2},
                    {"name": "premium", "price": "400.00", "available": 2},
                ],
                "rows": [
                    {
                        "label": "A",
                        "seats": [
                            _seat(1, "A1", 1, "standard", "available", wheelchair=True),
                            _seat(2, "A2", 2, "standard", "booked"),
                            _seat(3, "A3", 4, "standard", "booked"),
                            _seat(4, "A4", 5, "standard", "available"),
                        ],
                    },
                    {
                        "label": "B",
                        "seats": [
                            _seat(5, "B1", 1, "premium", "available"),
                            _seat(6, "B2", 2, "premium", "held"),
                            _seat(7, "B3", 3, "premium", "available"),
                        ],
                    },
                ],
            },
            response_only=True,
        )
    ]
)
class SeatMapOutput(serializers.Serializer):
    show = serializers.IntegerField(help_text="The show's id.")
    total_seats = serializers.IntegerField()
    available_seats = serializers.ListField(child=serializers.IntegerField())
    booked_seats = serializers.ListField(child=serializers.IntegerField())
    held_seats = serializers.ListField(
        child=serializers.IntegerField(), help_text="Seats in someone's active hold."
    )
    categories = SeatCategoryOutput(many=True, help_text="In order of first appearance.")
    rows = SeatRowOutput(many=True, help_text="Front (nearest the screen) to back.")
