"""Cinemas and their screens; a screen's rows edited as a table, and drawn."""

from django import forms
from django.contrib import admin
from django.db.models import Count

from .. import services
from ..layouts import MAX_ROWS, MAX_SEATS_PER_ROW, Row, layout_problems, seats_of
from ..models import Cinema, Screen, ScreenRow
from ..selectors import screens
from ..services.venues import row_from_model
from .common import ServiceErrorsAdminMixin, adopt, delete_each
from .drawing import DrawnSeat, draw

# "3, 9" as typed; at most every place of the longest row, with ", " between them.
MAX_PLACES_TEXT_LENGTH = MAX_SEATS_PER_ROW * 5


class PlacesField(forms.CharField):
    """Places in a row, typed as "3, 9" and stored as the JSON list [3, 9]."""

    default_error_messages = {
        "invalid": "Enter places as whole numbers separated by commas, e.g. 3, 9.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", MAX_PLACES_TEXT_LENGTH)
        kwargs.setdefault("widget", forms.TextInput(attrs={"size": 14}))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(str(place) for place in value)
        return value

    def to_python(self, value) -> list[int]:
        text = super().to_python(value)
        try:
            # Ranges and distinctness are layout_problems' to check, for the whole layout.
            return [int(part) for part in text.split(",") if part.strip()]
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None

    def has_changed(self, initial, data) -> bool:
        try:
            return self.to_python(data) != list(initial or [])
        except forms.ValidationError:
            return True


class ScreenRowForm(forms.ModelForm):
    seats = forms.IntegerField(
        min_value=1,
        max_value=MAX_SEATS_PER_ROW,
        widget=forms.NumberInput(attrs={"class": "vIntegerField"}),
    )
    aisles_after = PlacesField(
        label="aisles after", help_text="e.g. 3, 9: an aisle between seats 3 and 4, 9 and 10"
    )
    wheelchair = PlacesField(label="wheelchair places", help_text="e.g. 1, 12")

    class Meta:
        model = ScreenRow
        fields = ["label", "seats", "aisles_after", "category", "wheelchair"]
        widgets = {
            "label": forms.TextInput(attrs={"size": 6}),
            "category": forms.TextInput(attrs={"size": 14}),
        }
        help_texts = {"category": "e.g. standard, premium (a-z, 0-9, _ and -)"}


class ScreenRowFormSet(forms.BaseInlineFormSet):
    """The rows of one screen, front to back, checked as one layout."""

    def clean(self):
        # Not super().clean(): its per-form uniqueness check of labels is case-sensitive;
        # layout_problems checks them (and all the rest) as the API does.
        if any(self.errors):
            return  # each row's own errors first
        self.rows = [
            Row(
                label=data["label"],
                seats=data["seats"],
                aisles_after=tuple(data["aisles_after"]),
                category=data["category"],
                wheelchair=tuple(data["wheelchair"]),
            )
            for form in self.forms
            if (data := form.cleaned_data) and not self._should_delete_form(form)
        ]
        problems = layout_problems(self.rows)
        if problems:
            raise forms.ValidationError(problems)

    def record_changes(self) -> None:
        """Describe the rows' changes for the admin's history (a service wrote them)."""
        deleted = [form for form in self.initial_forms if self._should_delete_form(form)]
        self.deleted_objects = [form.instance for form in deleted]
        self.changed_objects = [
            (form.instance, form.changed_data)
            for form in self.initial_forms
            if form not in deleted and form.has_changed()
        ]
        self.new_objects = [
            form.instance
            for form in self.extra_forms
            if form.has_changed() and not self._should_delete_form(form)
        ]


class ScreenRowInline(admin.TabularInline):
    model = ScreenRow
    form = ScreenRowForm
    formset = ScreenRowFormSet
    fields = ["label", "seats", "aisles_after", "category", "wheelchair"]
    ordering = ["position"]  # front to back; rows added here go to the back
    max_num = MAX_ROWS
    verbose_name = "row"
    verbose_name_plural = "rows, from the front (nearest the screen) to the back"

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if obj is not None else 3

    # The rows are part of the screen: whoever may edit the screen may edit its rows.
    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("booking.view_screen") or self.has_change_permission(
            request, obj
        )

    def has_add_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        action = "change" if obj is not None else "add"
        return request.user.has_perm(f"booking.{action}_screen")

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)


class ScreenAdminForm(forms.ModelForm):
    class Meta:
        model = Screen
        fields = ["cinema", "name"]

    def clean(self):
        cleaned_data = super().clean()
        cinema, name = cleaned_data.get("cinema"), cleaned_data.get("name")
        if cinema and name:
            # Case-insensitive, as the API checks it ("Screen 1" and "screen 1" are one).
            taken = Screen.objects.filter(cinema=cinema, name__iexact=name)
            if self.instance.pk:
                taken = taken.exclude(pk=self.instance.pk)
            if taken.exists():
                self.add_error("name", f"{cinema.name} already has a screen called {name}.")
        return cleaned_data


@admin.register(Screen)
class ScreenAdmin(ServiceErrorsAdminMixin, admin.ModelAdmin):
    form = ScreenAdminForm
    inlines = [ScreenRowInline]
    list_display = ["name", "cinema", "capacity", "categories"]
    list_filter = ["cinema"]
    search_fields = ["name", "cinema__name", "cinema__city"]
    ordering = ["cinema__name", "name"]

    class Media:
        css = {"all": ["booking/admin/seatmap.css"]}

    def get_queryset(self, request):
        return screens()  # cinema joined, rows prefetched: no query per screen

    @admin.display(description="seats")
    def capacity(self, screen):
        return sum(row.seats for row in screen.rows.all())

    @admin.display(description="categories")
    def categories(self, screen):
        return ", ".join(dict.fromkeys(row.category for row in screen.rows.all()))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk:
            context["layout_drawing"] = draw_screen(obj)  # admin/booking/screen/change_form.html
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        """Write nothing yet: save_related() writes the screen and its rows together."""

    def save_related(self, request, form, formsets, change):
        # One service call writes the screen and its whole layout, already checked by
        # ScreenRowFormSet.clean() with layout_problems (as the API checks it); the
        # admin's transaction around save_model/save_related makes it all or nothing.
        # Rows are never saved one by one by the inline: an edit that is half applied
        # could number or label seats in a way no valid layout does.
        rows_formset = next((f for f in formsets if isinstance(f, ScreenRowFormSet)), None)
        fields = {"cinema": form.cleaned_data["cinema"], "name": form.cleaned_data["name"]}
        if change:
            unchanged = rows_formset is None or not rows_formset.has_changed()
            rows = None if unchanged else rows_formset.rows  # None keeps the layout
            saved = services.update_screen(screen=form.instance, rows=rows, **fields)
        else:
            saved = services.create_screen(rows=rows_formset.rows, **fields)
        adopt(form.instance, saved)
        if rows_formset is not None:
            rows_formset.record_changes()

    def has_delete_permission(self, request, obj=None):
        # A screen with shows cannot go: its schedule and bookings are history.
        if obj is not None and obj.shows.exists():
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        services.delete_screen(screen=obj)

    def delete_queryset(self, request, queryset):
        delete_each(request, queryset, lambda screen: services.delete_screen(screen=screen))


def draw_screen(screen: Screen):
    """Draw a screen's saved layout, from its (prefetched) rows."""
    rows = [row_from_model(row) for row in sorted(screen.rows.all(), key=lambda r: r.position)]
    seats = [
        DrawnSeat(
            row=seat.row,
            row_label=seat.row_label,
            column=seat.column,
            label=seat.label,
            category=seat.category,
            wheelchair=seat.wheelchair,
        )
        for seat in seats_of(rows)
    ]
    per_category: dict[str, int] = {}
    for seat in seats:
        per_category[seat.category] = per_category.get(seat.category, 0) + 1
    legend = {name: f"{name}: {count} seats" for name, count in per_category.items()}
    return draw(seats, legend=legend, summary=f"{len(seats)} seats in {len(rows)} rows")


class ScreenInline(admin.TabularInline):
    """A cinema's screens, read-only: a screen and its rows are edited on its own page."""

    model = Screen
    fields = ["name", "capacity", "categories"]
    readonly_fields = fields
    ordering = ["name"]
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("cinema").prefetch_related("rows")

    @admin.display(description="seats")
    def capacity(self, screen):
        return sum(row.seats for row in screen.rows.all())

    @admin.display(description="categories")
    def categories(self, screen):
        return ", ".join(dict.fromkeys(row.category for row in screen.rows.all()))


@admin.register(Cinema)
class CinemaAdmin(ServiceErrorsAdminMixin, admin.ModelAdmin):
    list_display = ["name", "city", "address", "screen_count"]
    list_filter = ["city"]
    search_fields = ["name", "city"]
    ordering = ["name"]
    fields = ["name", "city", "address"]
    inlines = [ScreenInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(screen_count=Count("screens"))

    @admin.display(description="screens", ordering="screen_count")
    def screen_count(self, cinema):
        return cinema.screen_count

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in self.fields}
        if change:
            services.update_cinema(cinema=obj, **fields)
        else:
            adopt(obj, services.create_cinema(**fields))

    def has_delete_permission(self, request, obj=None):
        # A cinema with screens cannot go (409 cinema_has_screens): delete them first.
        if obj is not None and obj.screens.exists():
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        services.delete_cinema(cinema=obj)

    def delete_queryset(self, request, queryset):
        delete_each(request, queryset, lambda cinema: services.delete_cinema(cinema=cinema))
