"""Holds: seats kept for customers while they pay; staff can release one."""

from django.contrib import admin
from django.utils import timezone

from .. import services
from ..models import Hold
from .common import ReadOnlyAdminMixin, apply_each


class HoldStatusFilter(admin.SimpleListFilter):
    """Status as customers see it: an active hold past its expiry is expired."""

    title = "status"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return Hold.Status.choices

    def queryset(self, request, queryset):
        now = timezone.now()
        value = self.value()
        if value == Hold.Status.ACTIVE:
            return queryset.filter(status=Hold.Status.ACTIVE, expires_at__gt=now)
        if value == Hold.Status.EXPIRED:
            return queryset.filter(status__in=[Hold.Status.ACTIVE, Hold.Status.EXPIRED]).filter(
                expires_at__lte=now
            )
        if value:
            return queryset.filter(status=value)
        return queryset


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Holds are read-only here: staff may only release active ones (the action)."""

    list_display = [
        "short_id",
        "user",
        "movie",
        "show_start",
        "seat_labels",
        "total_price",
        "expires_at",
        "current_status",
        "booking",
    ]
    list_filter = [HoldStatusFilter, ("show__screen__cinema", admin.RelatedFieldListFilter)]
    list_select_related = ["user", "show__movie", "booking"]
    search_fields = ["id", "user__username", "user__email", "show__movie__title"]
    ordering = ["-created_at"]
    actions = ["release_selected"]
    readonly_fields = [
        "id",
        "user",
        "show",
        "seat_labels",
        "total_price",
        "current_status",
        "expires_at",
        "created_at",
        "ended_at",
        "booking",
    ]
    fields = readonly_fields

    @admin.display(description="hold")
    def short_id(self, hold):
        return str(hold.pk)[:8]

    @admin.display(description="movie", ordering="show__movie__title")
    def movie(self, hold):
        return hold.show.movie.title

    @admin.display(description="show starts", ordering="show__start_time")
    def show_start(self, hold):
        return hold.show.start_time

    @admin.display(description="seats")
    def seat_labels(self, hold):
        return ", ".join(seat["label"] for seat in hold.seats)

    @admin.display(description="status")
    def current_status(self, hold):
        return Hold.Status(hold.status_at(timezone.now())).label

    def has_release_permission(self, request):
        # The change permission stands for "may release": there is nothing else to change.
        return request.user.has_perm("booking.change_hold")

    @admin.action(description="Release selected holds (frees their seats)", permissions=["release"])
    def release_selected(self, request, queryset):
        apply_each(
            request,
            queryset.select_related("user", "show__movie"),
            lambda hold, now: services.release_hold(hold=hold, now=now),
            name=lambda hold: str(hold.pk)[:8],
            done=lambda count: f"Released {count} hold(s); their seats are free.",
        )
