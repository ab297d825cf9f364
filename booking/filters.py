"""Query-string filters; a malformed value is a 400 `invalid` (django-filter raises)."""

import django_filters
from django import forms
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.filters import OrderingFilter

from .models import MAX_ID, Booking, Cinema, Movie, Screen, Show
from .selectors import local_day_bounds

MIN_ID = -MAX_ID - 1  # the least a database binds


class IntegerFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField

    def filter(self, qs, value):
        if value is not None and not MIN_ID <= value <= MAX_ID:
            # An unknown id: an empty page. SQLite cannot even bind such an integer.
            return qs.none()
        return super().filter(qs, value)


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, skipped when the request names none of the filters.

    Without a filter parameter its FilterSet would still build a form, validate every
    empty field and return the queryset as it was: a sizeable share of a public list's CPU
    for nothing. None of our FilterSets filters anything when no parameter is given.
    """

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None and request.query_params.keys().isdisjoint(
            filterset_class.base_filters
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)


class StableOrderingFilter(OrderingFilter):
    """`?ordering=`, with the id as the last key so that pages never repeat or skip rows."""

    def get_ordering(self, request, queryset, view):
        ordering = super().get_ordering(request, queryset, view)
        return [*ordering, "pk"] if ordering and "pk" not in ordering else ordering


class MovieFilter(django_filters.FilterSet):
    genre = django_filters.CharFilter(lookup_expr="iexact")
    language = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Movie
        fields = ["genre", "language"]


class ShowDateFilter(django_filters.FilterSet):
    date = django_filters.DateFilter(
        method="filter_date",
        input_formats=["%Y-%m-%d"],  # not Django's other formats: 01/12/2031 is ambiguous
        help_text="Shows starting on this day (YYYY-MM-DD, cinema time).",
    )

    class Meta:
        model = Show
        fields = ["date"]

    def filter_date(self, queryset, name, value):
        try:
            start, end = local_day_bounds(value)
        except OverflowError:  # 9999-12-31 has no next day: no show starts then
            return queryset.none()
        return queryset.filter(start_time__gte=start, start_time__lt=end)


class ShowFilter(ShowDateFilter):
    # Numbers, not model choices: an unknown id is an empty page, not a 400.
    movie = IntegerFilter(field_name="movie_id", help_text="Movie id.")
    cinema = IntegerFilter(field_name="screen__cinema_id", help_text="Cinema id.")
    city = django_filters.CharFilter(
        field_name="screen__cinema__city",
        lookup_expr="iexact",
        help_text="The cinema's city (exact, any case).",
    )
    screen = IntegerFilter(field_name="screen_id", help_text="Screen id.")

    class Meta(ShowDateFilter.Meta):
        fields = ["movie", "date", "cinema", "city", "screen"]


class CinemaFilter(django_filters.FilterSet):
    city = django_filters.CharFilter(lookup_expr="iexact", help_text="City (exact, any case).")

    class Meta:
        model = Cinema
        fields = ["city"]


class ScreenFilter(django_filters.FilterSet):
    cinema = IntegerFilter(field_name="cinema_id", help_text="Cinema id.")

    class Meta:
        model = Screen
        fields = ["cinema"]


class BookingFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Booking.Status.choices)

    class Meta:
        model = Booking
        fields = ["status"]
