"""OpenAPI generation: every operation documents the error responses it can give."""

from drf_spectacular import openapi
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.permissions import SAFE_METHODS, IsAdminUser

from .permissions import IsStaffOrReadOnly
from .serializers import ErrorOutput

BODY_METHODS = {"POST", "PUT", "PATCH"}


class AutoSchema(openapi.AutoSchema):
    def get_auth(self):
        auths = super().get_auth()
        # Catalogue reads are public: the token is optional there (like AllowAny).
        if self.method in SAFE_METHODS and self._is_staff_only() and {} not in auths:
            auths.append({})
        return auths

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status_code in sorted(self._error_statuses()):
            responses.setdefault(
                str(status_code),
                self._get_response_for_code(ErrorOutput, str(status_code), direction=direction),
            )
        return responses

    def _error_statuses(self) -> set[int]:
        # 401: any Bearer header that is not a usable token, on every endpoint.
        statuses = {401, 429, 503}
        if self.method in BODY_METHODS:
            statuses |= {400, 415}
        elif self.method == "DELETE":
            statuses.add(415)  # a body that is not JSON, even though none is read
        if "{" in self.path:
            statuses.add(404)
        if self.method == "GET" and self._is_list_view():
            statuses |= {400, 404}  # a malformed filter; a page past the end
        if self.method not in SAFE_METHODS and self._is_staff_only():
            statuses.add(403)
        return statuses

    def _is_staff_only(self) -> bool:
        staff_only = (IsStaffOrReadOnly, IsAdminUser)
        return any(isinstance(p, staff_only) for p in self.view.get_permissions())


class BearerJWTScheme(SimpleJWTScheme):
    """Document the project's JWT authentication as drf-spectacular does simplejwt's."""

    target_class = "booking.authentication.BearerJWTAuthentication"
