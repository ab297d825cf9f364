from rest_framework.permissions import SAFE_METHODS, DjangoModelPermissions


class IsStaffOrReadOnly(DjangoModelPermissions):
    """Anyone may read; writes need `is_staff` and the model's add/change/delete permission.

    The `Cinema staff` group (a data migration) has them all; superusers have every one.
    """

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        user = request.user
        if not (user and user.is_authenticated and user.is_staff):
            return False
        return super().has_permission(request, view)
