"""Django admin for cinema staff. Every write goes through the services."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserCreationForm
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from rest_framework.exceptions import APIException

from . import services
from .models import Booking, Movie, Seat, Show, User
from .selectors import seat_map, shows

SEATS_PER_ROW = 20


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    class AddForm(UserCreationForm):
        class Meta(UserCreationForm.Meta):
            model = User
            fields = ("username", "email")

    add_form = AddForm
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "email", "password1", "password2")}),
    )


class ShowInline(admin.TabularInline):
    """A movie's shows, read-only: a show is added or changed on its own page."""

    model = Show
    fields = ["start_time", "screen_name", "total_seats", "price"]
    readonly_fields = fields
    ordering = ["start_time"]
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True


@admin.register(Movie)
class MovieAdmin(admin.ModelAdmin):
    list_display = ["title", "genre", "language", "duration_minutes", "release_date"]
    list_filter = ["genre", "language"]
    search_fields = ["title"]
    ordering = ["title"]
    inlines = [ShowInline]

    def delete_model(self, request, obj):
        services.delete_movie(movie=obj)

    def has_delete_permission(self, request, obj=None):
        # A movie with shows cannot go (its shows, and their bookings, are history).
        if obj is not None and obj.shows.exists():
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request, queryset):
        _delete_each(request, queryset, lambda movie: services.delete_movie(movie=movie))


class ShowAdminForm(forms.ModelForm):
    class Meta:
        model = Show
        fields = ["movie", "screen_name", "start_time", "total_seats", "price"]

    def clean_total_seats(self):
        total = self.cleaned_data["total_seats"]
        if self.instance.pk:
            highest_booked = (
                Seat.objects.filter(show=self.instance, booking__isnull=False)
                .order_by("-number")
                .values_list("number", flat=True)
                .first()
            )
            if highest_booked and total < highest_booked:
                raise forms.ValidationError(
                    f"Seat {highest_booked} is booked: "
                    f"total seats cannot go below {highest_booked}."
                )
        return total


@admin.register(Show)
class ShowAdmin(admin.ModelAdmin):
    form = ShowAdminForm
    list_display = ["movie", "start_time", "screen_name", "price", "total_seats", "available"]
    list_filter = ["start_time", "movie"]
    list_select_related = ["movie"]
    search_fields = ["movie__title", "screen_name"]
    date_hierarchy = "start_time"
    autocomplete_fields = ["movie"]
    readonly_fields = ["seat_map"]
    ordering = ["-start_time"]

    def get_queryset(self, request):
        return shows()

    @admin.display(description="available seats")
    def available(self, show):
        return show.total_seats - show.booked_seats_count

    @admin.display(description="seat map")
    def seat_map(self, show):
        if not show.pk:
            return "The seats are created with the show."
        current = seat_map(show=show, now=timezone.now())
        available, booked = current["available_seats"], current["booked_seats"]
        taken = set(booked)
        cells = [
            (
                "seat booked" if number in taken else "seat",
                number,
            )
            for number in sorted(available + booked)
        ]
        rows = [cells[i : i + SEATS_PER_ROW] for i in range(0, len(cells), SEATS_PER_ROW)]
        grid = format_html_join(
            "",
            "<div>{}</div>",
            ((format_html_join("", '<span class="{}">{}</span>', row),) for row in rows),
        )
        return format_html(
            "<style>.seatmap .seat{{display:inline-block;width:2.2em;margin:1px;"
            "text-align:center;border:1px solid #8a8;background:#dfd;font-size:11px}}"
            ".seatmap .booked{{background:#c33;color:#fff;border-color:#922}}</style>"
            '<div class="seatmap">{}<p>{} free, {} booked (red)</p></div>',
            grid,
            len(available),
            len(booked),
        )

    def save_model(self, request, obj, form, change):
        # ShowAdminForm's fields: the admin's generated form.Meta also lists "seat_map".
        fields = {name: form.cleaned_data[name] for name in ShowAdminForm.Meta.fields}
        if change:
            services.update_show(show=obj, **fields)
        else:
            created = services.create_show(**fields)
            obj.pk = created.pk

    def has_delete_permission(self, request, obj=None):
        # A show that ever had a booking is history: it cannot be deleted.
        if obj is not None and obj.bookings.exists():
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        services.delete_show(show=obj)

    def delete_queryset(self, request, queryset):
        _delete_each(request, queryset, lambda show: services.delete_show(show=show))


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


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    """Bookings are read-only here: they change only through the cancel action."""

    list_display = [
        "reference",
        "user",
        "movie",
        "show_start",
        "seats",
        "status",
        "total_price",
        "created_at",
    ]
    list_filter = [
        "status",
        BookingStatusDateFilter,
        ("show__start_time", admin.DateFieldListFilter),
    ]
    list_select_related = ["user", "show__movie"]
    search_fields = ["reference", "user__username"]
    ordering = ["-created_at"]
    actions = ["cancel_selected"]
    readonly_fields = [
        "reference",
        "user",
        "show",
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

    @admin.display(description="seats")
    def seats(self, booking):
        return ", ".join(str(n) for n in booking.seat_numbers)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_cancel_permission(self, request):
        # The change permission stands for "may cancel": there is nothing else to change.
        return request.user.has_perm("booking.change_booking")

    @admin.action(
        description="Cancel selected bookings (frees their seats)", permissions=["cancel"]
    )
    def cancel_selected(self, request, queryset):
        now = timezone.now()
        cancelled = 0
        for booking in queryset.select_related("show__movie"):
            try:
                services.cancel_booking(booking=booking, now=now)
            except APIException as exc:
                self.message_user(request, f"{booking.reference}: {exc.detail}", messages.WARNING)
            else:
                cancelled += 1
        if cancelled:
            self.message_user(request, f"Cancelled {cancelled} booking(s); their seats are free.")


def _delete_each(request, queryset, delete):
    """Delete objects one by one through a service, reporting those it refuses."""
    for obj in queryset:
        try:
            delete(obj)
        except APIException as exc:
            messages.warning(request, f"{obj}: {exc.detail}")
