"""Venues: cinemas and screens with their layouts."""

from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from ..layouts import (
    MAX_ROWS,
    MAX_SEATS_PER_ROW,
    Row,
    layout_problems,
)
from ..models import (
    DEFAULT_CATEGORY,
    MAX_ADDRESS_LENGTH,
    MAX_CATEGORY_LENGTH,
    MAX_CINEMA_NAME_LENGTH,
    MAX_CITY_LENGTH,
    MAX_LABEL_LENGTH,
    MAX_ROW_LABEL_LENGTH,
    Cinema,
    Screen,
)
from .common import BoundedListField, IdField, UTCModelSerializer

ROW_LABEL_REGEX = rf"^[A-Za-z0-9]{{1,{MAX_ROW_LABEL_LENGTH}}}\Z"
CATEGORY_REGEX = rf"^[a-z0-9_-]{{1,{MAX_CATEGORY_LENGTH}}}\Z"


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A cinema",
            value={
                "id": 1,
                "name": "Riverside",
                "city": "Pune",
                "address": "Riverside Mall, 12 Mundhwa Road, Pune 411001",
            },
            response_only=True,
        )
    ]
)
class CinemaOutput(UTCModelSerializer):
    class Meta:
        model = Cinema
        fields = ["id", "name", "city", "address"]


class CinemaInput(serializers.Serializer):
    name = serializers.CharField(max_length=MAX_CINEMA_NAME_LENGTH)
    city = serializers.CharField(max_length=MAX_CITY_LENGTH)
    address = serializers.CharField(
        max_length=MAX_ADDRESS_LENGTH, allow_blank=True, required=False, default=""
    )


class CinemaSummary(UTCModelSerializer):
    class Meta:
        model = Cinema
        fields = ["id", "name", "city"]


class ScreenRowLayout(serializers.Serializer):
    label = serializers.RegexField(
        ROW_LABEL_REGEX,
        max_length=MAX_ROW_LABEL_LENGTH,
        error_messages={"invalid": f"1-{MAX_ROW_LABEL_LENGTH} letters or digits."},
        help_text="The row's label, printed on tickets: `A`, `B`, … (unique in the screen).",
    )
    seats = serializers.IntegerField(
        min_value=1, max_value=MAX_SEATS_PER_ROW, help_text="Seats in the row."
    )
    aisles_after = BoundedListField(
        child=serializers.IntegerField(),
        max_length=MAX_SEATS_PER_ROW - 1,
        required=False,
        default=list,
        help_text="Places k after which an aisle runs (between seat k and k+1).",
    )
    category = serializers.RegexField(
        CATEGORY_REGEX,
        max_length=MAX_CATEGORY_LENGTH,
        required=False,
        default=DEFAULT_CATEGORY,
        error_messages={"invalid": f"1-{MAX_CATEGORY_LENGTH} characters of a-z 0-9 _ -."},
        help_text="Price category of the row's seats.",
    )
    wheelchair = BoundedListField(
        child=serializers.IntegerField(),
        max_length=MAX_SEATS_PER_ROW,
        required=False,
        default=list,
        help_text="Places of the row's wheelchair spaces.",
    )


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A screen",
            value={
                "id": 4,
                "cinema": {"id": 1, "name": "Riverside", "city": "Pune"},
                "name": "Screen 1",
                "capacity": 22,
                "categories": ["standard", "premium"],
                "rows": [
                    {
                        "label": "A",
                        "seats": 12,
                        "aisles_after": [3, 9],
                        "category": "standard",
                        "wheelchair": [1, 12],
                    },
                    {
                        "label": "J",
                        "seats": 10,
                        "aisles_after": [],
                        "category": "premium",
                        "wheelchair": [],
                    },
                ],
            },
            response_only=True,
        )
    ]
)
class ScreenOutput(UTCModelSerializer):
    cinema = CinemaSummary()
    capacity = serializers.SerializerMethodField()
    categories = serializers.SerializerMethodField()
    rows = ScreenRowLayout(many=True)

    class Meta:
        model = Screen
        fields = ["id", "cinema", "name", "capacity", "categories", "rows"]

    # From the prefetched rows (selectors.screens): no query per screen.
    def get_capacity(self, screen) -> int:
        return sum(row.seats for row in screen.rows.all())

    def get_categories(self, screen) -> list[str]:
        return list(dict.fromkeys(row.category for row in screen.rows.all()))


class ScreenInput(serializers.Serializer):
    cinema_id = IdField(
        source="cinema", queryset=Cinema.objects.all(), help_text="The cinema's id."
    )
    name = serializers.CharField(max_length=MAX_LABEL_LENGTH)
    rows = ScreenRowLayout(
        many=True,
        max_length=MAX_ROWS,
        help_text=f"1 to {MAX_ROWS} rows, front (nearest the screen) to back.",
    )

    def validate_rows(self, value) -> list[Row]:
        # On a PATCH, DRF makes the nested fields optional too (and leaves their defaults
        # out, hence .get below); a row still needs its label and seats.
        missing = [
            f"Row {position}: {name} is required."
            for position, row in enumerate(value, start=1)
            for name in ("label", "seats")
            if name not in row
        ]
        if missing:
            raise serializers.ValidationError(missing)
        rows = [
            Row(
                label=row["label"],
                seats=row["seats"],
                aisles_after=tuple(row.get("aisles_after", ())),
                category=row.get("category", DEFAULT_CATEGORY),
                wheelchair=tuple(row.get("wheelchair", ())),
            )
            for row in value
        ]
        problems = layout_problems(rows)
        if problems:
            raise serializers.ValidationError(problems)
        return rows

    def validate(self, attrs):
        cinema = attrs.get("cinema", getattr(self.instance, "cinema", None))
        name = attrs.get("name", getattr(self.instance, "name", None))
        if "cinema" in attrs or "name" in attrs:
            taken = Screen.objects.filter(cinema=cinema, name__iexact=name)
            if self.instance is not None:
                taken = taken.exclude(pk=self.instance.pk)
            if taken.exists():
                raise serializers.ValidationError(
                    {"name": [f"{cinema.name} already has a screen called {name}."]}
                )
        return attrs
