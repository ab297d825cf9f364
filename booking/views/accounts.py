"""Accounts: signup, login, token refresh, logout, the signed-in user."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from .. import services
from ..models import User
from ..serializers import (
    LogoutInput,
    MeOutput,
    SignupInput,
    SignupOutput,
    TokenPairOutput,
)
from ..throttles import LoginRateThrottle, RefreshRateThrottle, SignupRateThrottle


class SignupView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [SignupRateThrottle]

    @extend_schema(request=SignupInput, responses={201: SignupOutput}, tags=["accounts"])
    def post(self, request):
        """Create an account and return its first token pair."""
        serializer = SignupInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.create_user(**serializer.validated_data)
        refresh = RefreshToken.for_user(user)
        body = {
            "id": user.pk,
            "username": user.username,
            "email": user.email,
            "access": str(refresh.access_token),
            "refresh": str(refresh),
        }
        return Response(SignupOutput(body).data, status=status.HTTP_201_CREATED)


@extend_schema(responses={200: TokenPairOutput}, tags=["accounts"])
class LoginView(TokenObtainPairView):
    """Exchange a username (any case) and password for an access and refresh token."""

    throttle_classes = [LoginRateThrottle]


@extend_schema(responses={200: TokenPairOutput}, tags=["accounts"])
class RefreshView(TokenRefreshView):
    """Exchange a refresh token for a new pair; the old refresh token stops working."""

    throttle_classes = [RefreshRateThrottle]

    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except User.DoesNotExist:
            # simplejwt looks the token's user up without catching this: a 500 otherwise.
            raise InvalidToken("The user of this token no longer exists.") from None
        except AuthenticationFailed as exc:
            # simplejwt says no_active_account for a deactivated user's token; that code
            # means a wrong login in API.md, and an unusable token is token_not_valid.
            raise InvalidToken(str(exc.detail)) from None


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=LogoutInput,
        responses={205: OpenApiResponse(description="The refresh token is revoked.")},
        tags=["accounts"],
    )
    def post(self, request):
        """Revoke (blacklist) one of the caller's refresh tokens."""
        serializer = LogoutInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.revoke_refresh_token(user=request.user, token=serializer.validated_data["refresh"])
        return Response(status=status.HTTP_205_RESET_CONTENT)


class MeView(generics.RetrieveAPIView):
    """The signed-in user."""

    serializer_class = MeOutput
    permission_classes = [IsAuthenticated]

    def get_object(self):
        return self.request.user

    @extend_schema(tags=["accounts"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
