"""Bookings: found by reference, customer or movie; cancelled through the service."""

from django.contrib import admin
from django.utils import timezone

from .. import services
from ..models import Booking, Show
from .common import ReadOnlyAdminMixin, apply_each

# Shows offered in the show filter besides the one chosen: the soonest upcoming ones.
SHOW_FILTER_CHOICES = 10


class BookingStatusDateFilter(admin.SimpleListFilter):
    title = "show date"
    parameter_name = "show_when"

    def lookups(self, request, model_admin):
        return [("upcoming", "Upcoming shows"), ("past", "Past shows")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "upcoming":
            return queryset.filter(show__start_time__gt=now)
        if self.value() == "past":
            return queryset.filter(show__start_time__lte=now)
        return queryset


class ShowFilter(admin.SimpleListFilter):
    """The bookings of one show, chosen by id (?show=7).

    Not a RelatedFieldListFilter: that lists every show ever scheduled, thousands of
    them within a year. This one offers the soonest upcoming shows and the one chosen
    (a show's seat map links here with its id), two small queries whatever the size.
    """

    title = "show"
    parameter_name = "show"

    def lookups(self, request, model_admin):
        offered = list(
            Show.objects.filter(start_time__gt=timezone.now())
            .select_related("movie")
            .order_by("start_time", "pk")[:SHOW_FILTER_CHOICES]
        )
        chosen = self._chosen_id()
        if chosen is not None and chosen not in {show.pk for show in offered}:
            offered[:0] = Show.objects.filter(pk=chosen).select_related("movie")
        return [(str(show.pk), _show_name(show)) for show in offered]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        chosen = self._chosen_id()
        return queryset.none() if chosen is None else queryset.filter(show_id=chosen)

    def _chosen_id(self) -> int | None:
        value = self.value()
        return int(value) if value is not None and value.isdecimal() else None


def _show_name(show: Show) -> str:
    when = timezone.localtime(show.start_time).strftime("%d %b %H:%M")
    return f"{show.movie.title}, {when}, {show.screen_name} (#{show.pk})"


@admin.register(Booking)
class BookingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Bookings are read-only here: they change only through the cancel action."""

    list_display = [
        "reference",
        "user",
        "movie",
        "show_start",
        "cinema",
        "seat_labels",
        "status",
        "total_price",
        "created_at",
    ]
    list_filter = [
        "status",
        BookingStatusDateFilter,
        ("show__start_time", admin.DateFieldListFilter),
        ("show__screen__cinema", admin.RelatedFieldListFilter),
        ShowFilter,
    ]
    list_select_related = ["user", "show__movie", "show__screen__cinema"]
    search_fields = ["reference", "user__username", "user__email", "show__movie__title"]
    ordering = ["-created_at"]
    actions = ["cancel_selected"]
    readonly_fields = [
        "reference",
        "user",
        "show",
        "seat_labels",
        "seat_numbers",
        "status",
        "total_price",
        "created_at",
        "cancelled_at",
    ]
    fields = readonly_fields

    @admin.display(description="movie", ordering="show__movie__title")
    def movie(self, booking):
        return booking.show.movie.title

    @admin.display(description="show starts", ordering="show__start_time")
    def show_start(self, booking):
        return booking.show.start_time

    @admin.display(description="cinema", ordering="show__screen__cinema__name")
    def cinema(self, booking):
        screen = booking.show.screen
        return screen.cinema.name if screen is not None else "—"

    @admin.display(description="seats")
    def seat_labels(self, booking):
        # The seats as they were sold (kept after a cancel); the numbers for a booking
        # made before seats had labels.
        if booking.seats:
            return ", ".join(seat["label"] for seat in booking.seats)
        return ", ".join(str(number) for number in booking.seat_numbers)

    def has_cancel_permission(self, request):
        # The change permission stands for "may cancel": there is nothing else to change.
        return request.user.has_perm("booking.change_booking")

    @admin.action(
        description="Cancel selected bookings (frees their seats)", permissions=["cancel"]
    )
    def cancel_selected(self, request, queryset):
        apply_each(
            request,
            queryset.select_related("show__movie"),
            lambda booking, now: services.cancel_booking(booking=booking, now=now),
            name=lambda booking: booking.reference,
            done=lambda count: f"Cancelled {count} booking(s); their seats are free.",
        )
