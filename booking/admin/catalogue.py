"""Movies and shows; a show's seat map drawn from its seats."""

from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from .. import services
from ..layouts import CATEGORY_PATTERN
from ..models import MAX_SEAT_PRICE, Movie, Screen, Seat, Show
from ..selectors import shows
from .common import ServiceErrorsAdminMixin, adopt, delete_each
from .drawing import DrawnSeat, draw

CENT = Decimal("0.01")
MAX_PRICES_TEXT_LENGTH = 2000  # "category=price, " for every category a screen can have


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
class MovieAdmin(ServiceErrorsAdminMixin, admin.ModelAdmin):
    list_display = ["title", "genre", "language", "duration_minutes", "release_date"]
    list_filter = ["genre", "language"]
    search_fields = ["title"]
    ordering = ["title"]
    inlines = [ShowInline]
    # A longer film that no longer fits before the next show on a screen.
    refusal_fields = {"screen_busy": "duration_minutes"}

    def save_model(self, request, obj, form, change):
        if change:
            services.update_movie(movie=obj, **form.cleaned_data)
        else:
            adopt(obj, services.create_movie(**form.cleaned_data))

    def delete_model(self, request, obj):
        services.delete_movie(movie=obj)

    def has_delete_permission(self, request, obj=None):
        # A movie with shows cannot go (its shows, and their bookings, are history).
        if obj is not None and obj.shows.exists():
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request, queryset):
        delete_each(request, queryset, lambda movie: services.delete_movie(movie=movie))


def format_prices(prices: dict[str, str]) -> str:
    return ", ".join(f"{name}={price}" for name, price in prices.items())


def parse_prices(text: str) -> dict[str, Decimal]:
    """Read "premium=400.00, recliner=550" as {"premium": 400.00, "recliner": 550.00}."""
    prices: dict[str, Decimal] = {}
    errors = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, amount = (piece.strip() for piece in item.partition("="))
        try:
            price = Decimal(amount)
        except InvalidOperation:
            price = None
        if not CATEGORY_PATTERN.match(name) or price is None or not price.is_finite():
            errors.append(f"{item!r}: write category=price, e.g. premium=400.00.")
        elif name in prices:
            errors.append(f"{name} is priced twice.")
        elif price != price.quantize(CENT) or not 0 <= price <= MAX_SEAT_PRICE:
            errors.append(f"{name}: a price is 0-{MAX_SEAT_PRICE} with at most 2 decimals.")
        else:
            prices[name] = price.quantize(CENT)
    if errors:
        raise forms.ValidationError(errors)
    return prices


class ShowAdminForm(forms.ModelForm):
    """A show on a screen (its name and seats come from it), or the old form."""

    prices = forms.CharField(
        label="Category prices",
        required=False,
        max_length=MAX_PRICES_TEXT_LENGTH,
        help_text=(
            "Prices of some seat categories, e.g. premium=400.00, recliner=550.00. "
            "A category not named here costs the base price."
        ),
    )

    class Meta:
        model = Show
        fields = ["movie", "start_time", "screen", "screen_name", "total_seats", "price"]
        help_texts = {
            "screen": (
                "The show copies the screen's rows, seat labels and categories; its "
                "name and seats come from the screen."
            ),
            "screen_name": "From the screen; without one, the name of your choice.",
            "total_seats": "From the screen; without one, the seats in one unlabelled row.",
            "price": "The base price: of every category without a price of its own.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("screen_name", "total_seats"):
            if name in self.fields:  # read-only for a show on a screen
                self.fields[name].required = False
        show = self.instance
        if show.pk:
            self.fields["prices"].initial = format_prices(show.category_prices)
            categories = ", ".join(show.categories)
            self.fields["prices"].help_text += f" This show's categories: {categories}."
        if show.screen_id is not None and "screen" in self.fields:
            # The service can move a show to another screen, not off screens.
            self.fields["screen"].required = True

    def clean_prices(self) -> dict[str, Decimal]:
        return parse_prices(self.cleaned_data["prices"])

    def clean(self):
        cleaned_data = super().clean()
        if cleaned_data.get("screen") is None:
            for name in ("screen_name", "total_seats"):
                if name in self.fields and cleaned_data.get(name) in (None, ""):
                    self.add_error(name, "Required for a show without a screen (or pick one).")
        elif not self.instance.pk and cleaned_data.get("total_seats") is not None:
            self.add_error("total_seats", "Leave empty: a show on a screen has the screen's seats.")
        return cleaned_data

    def service_fields(self) -> dict:
        """The form's values as services.create_show/update_show take them."""
        data = self.cleaned_data
        fields = {name: data[name] for name in ("movie", "start_time", "price", "prices")}
        if data.get("screen") is not None:
            fields["screen"] = data["screen"]
        else:
            fields["screen_name"] = data["screen_name"]
            fields["total_seats"] = data["total_seats"]
        return fields


class ScreenListFilter(admin.RelatedFieldListFilter):
    """Filter by screen, naming each with its cinema from one query."""

    def field_choices(self, field, request, model_admin):
        screens = Screen.objects.select_related("cinema").order_by("cinema__name", "name", "pk")
        return [(screen.pk, str(screen)) for screen in screens]


@admin.register(Show)
class ShowAdmin(ServiceErrorsAdminMixin, admin.ModelAdmin):
    form = ShowAdminForm
    refusal_fields = {"screen_busy": "start_time"}
    list_display = [
        "movie",
        "start_time",
        "screen_name",
        "cinema",
        "price",
        "total_seats",
        "available",
    ]
    list_filter = [
        "start_time",
        ("screen__cinema", admin.RelatedFieldListFilter),
        ("screen", ScreenListFilter),
        "movie",
    ]
    list_select_related = ["movie", "screen__cinema"]
    search_fields = ["movie__title", "screen_name", "screen__cinema__name"]
    date_hierarchy = "start_time"
    autocomplete_fields = ["movie"]
    ordering = ["-start_time"]
    fieldsets = [
        (None, {"fields": ["movie", "start_time"]}),
        (
            "Where",
            {
                "fields": ["screen", "screen_name", "total_seats"],
                "description": "Pick a screen, or leave it empty and give a screen name "
                "and a number of seats (a show without a layout).",
            },
        ),
        ("Prices", {"fields": ["price", "prices"]}),
        ("Seat map", {"fields": ["seat_map"]}),
    ]

    class Media:
        css = {"all": ["booking/admin/seatmap.css"]}

    def get_queryset(self, request):
        return shows()

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.screen_id is not None:
            # They come from the screen; moving the show to another screen changes them.
            return ["screen_name", "total_seats", "seat_map"]
        return ["seat_map"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "screen":
            # Each screen is named with its cinema: joined, not one query per option.
            kwargs["queryset"] = Screen.objects.select_related("cinema").order_by(
                "cinema__name", "name"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="cinema", ordering="screen__cinema__name")
    def cinema(self, show):
        return show.screen.cinema if show.screen_id else "—"

    @admin.display(description="available seats")
    def available(self, show):
        return show.available_seats_count  # neither booked nor held (selectors.shows)

    @admin.display(description="seat map")
    def seat_map(self, show):
        if not show.pk:
            return "The seats are created with the show."
        return draw_show(show)

    def save_model(self, request, obj, form, change):
        fields = form.service_fields()
        if change:
            saved = services.update_show(show=obj, **fields)
        else:
            saved = services.create_show(**fields)
        adopt(obj, saved)

    def has_delete_permission(self, request, obj=None):
        # A show that ever had a booking is history: it cannot be deleted.
        if obj is not None and obj.bookings.exists():
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        services.delete_show(show=obj)

    def delete_queryset(self, request, queryset):
        delete_each(request, queryset, lambda show: services.delete_show(show=show))


def draw_show(show: Show):
    """Draw show's seat map from its seats, read in one query (bookings joined)."""
    now = timezone.now()
    seat_values = (
        Seat.objects.filter(show=show)
        .order_by("number")  # row by row, left to right: numbering follows the layout
        .values_list(
            "row",
            "row_label",
            "column",
            "label",
            "category",
            "wheelchair",
            "booking_id",
            "booking__reference",
            "held_until",
        )
    )
    seats = [_drawn_seat(*values, now=now) for values in seat_values]
    booked = sum(1 for seat in seats if seat.booking_url)
    held = sum(1 for seat in seats if seat.held)
    legend = {name: f"{name}: {price}" for name, price in show.prices.items()}
    bookings_url = reverse("admin:booking_booking_changelist") + f"?show={show.pk}"
    summary = format_html(
        '{} free, {} booked{} — <a href="{}">the bookings of this show</a>',
        len(seats) - booked - held,
        booked,
        f", {held} held" if held else "",
        bookings_url,
    )
    return draw(seats, legend=legend, summary=summary, bookable=True)


def _drawn_seat(
    row, row_label, column, label, category, wheelchair, booking_id, reference, held_until, *, now
) -> DrawnSeat:
    return DrawnSeat(
        row=row,
        row_label=row_label,
        column=column,
        label=label,
        category=category,
        wheelchair=wheelchair,
        booking_url=_booking_url(booking_id) if booking_id else "",
        booking_reference=reference or "",
        # A hold is over once held_until passes, swept or not (see models.Hold).
        held=held_until is not None and held_until > now,
    )


def _booking_url(booking_id: int) -> str:
    return reverse("admin:booking_booking_change", args=[booking_id])
