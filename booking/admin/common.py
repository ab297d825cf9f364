"""What every admin page shares: service refusals shown on the form, deletes one by one."""

from django.contrib import messages
from django.db import IntegrityError, OperationalError
from django.db.models import Model
from django.utils import timezone
from rest_framework.exceptions import APIException, ValidationError

from ..exceptions import Busy, is_lock_conflict

CONFLICT_DETAIL = "Someone changed this at the same moment; please try again."


class ServiceErrorsAdminMixin:
    """Show a service's refusal (409s, 400s, a lost race) as form errors, never a 500.

    The admin only calls save_model()/save_related() after its form is valid, too
    late to show errors on it. So a refusal travels out of changeform_view(), whose
    transaction.atomic() rolls back whatever the save had done (nothing is caught
    inside the transaction). The view then runs once more on the same POST with the
    refusal attached to the form's clean(): the form is invalid, and the admin draws
    it again with the errors, as it does for any other invalid input.
    """

    # The form field a refusal is about, by its code; any other goes on the whole form.
    refusal_fields: dict[str, str] = {}

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (APIException, IntegrityError, OperationalError) as exc:
            errors = refusal_errors(exc, self.refusal_fields)
            if errors is None:
                raise
        request.admin_service_errors = errors
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        errors = getattr(request, "admin_service_errors", None)
        if not errors:
            return form
        return type(form.__name__, (_RefusedFormMixin, form), {"service_errors": errors})


class _RefusedFormMixin:
    service_errors: dict[str | None, list[str]] = {}

    def clean(self):
        cleaned_data = super().clean()
        for field, messages_ in self.service_errors.items():
            self.add_error(field if field in self.fields else None, messages_)
        return cleaned_data


def refusal_errors(
    exc: Exception, fields: dict[str, str] | None = None
) -> dict[str | None, list[str]] | None:
    """Return the form errors a service's exception stands for (None: not a refusal)."""
    if isinstance(exc, ValidationError):
        detail = exc.detail
        if not isinstance(detail, dict):
            return {None: _flat(detail)}
        return {
            (None if field == "non_field_errors" else field): _flat(messages_)
            for field, messages_ in detail.items()
        }
    if isinstance(exc, APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        return {(fields or {}).get(code): [str(exc.detail)]}
    if is_lock_conflict(exc):
        return {None: [str(Busy.default_detail)]}
    if isinstance(exc, IntegrityError):
        # A race the service's checks did not see (two staff saving the same name at
        # once); the transaction rolled back, so nothing was written.
        return {None: [CONFLICT_DETAIL]}
    return None


def _flat(detail) -> list[str]:
    if isinstance(detail, dict):
        return [message for value in detail.values() for message in _flat(value)]
    if isinstance(detail, list):
        return [message for item in detail for message in _flat(item)]
    return [str(detail)]


def adopt(obj: Model, saved: Model) -> None:
    """Make the admin's in-memory obj the row the service saved (its pk, derived fields)."""
    for field in saved._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False


def delete_each(request, queryset, delete) -> None:
    """Delete objects one by one through a service, reporting those it refuses."""
    for obj in queryset:
        try:
            delete(obj)
        except APIException as exc:
            messages.warning(request, f"{obj}: {exc.detail}")


class ReadOnlyAdminMixin:
    """Rows that change only through an action calling a service (cancel, release)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def apply_each(request, objects, act, *, name, done) -> None:
    """Run act(obj, now) on each object, reporting those a service refuses and the count.

    name(obj) names an object in a warning; done(count) is the success message.
    """
    now = timezone.now()
    succeeded = 0
    for obj in objects:
        try:
            act(obj, now)
        except APIException as exc:
            messages.warning(request, f"{name(obj)}: {exc.detail}")
        else:
            succeeded += 1
    if succeeded:
        messages.success(request, done(succeeded))
