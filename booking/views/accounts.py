"""Accounts: signup, login, token refresh, logout, the signed-in user."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiRequest, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from .. import services
from ..exceptions import detail_text
from ..serializers.accounts import (
    AccountDeleteInput,
    DetailOutput,
    LogoutInput,
    MeOutput,
    PasswordChangeInput,
    PasswordResetConfirmInput,
    PasswordResetInput,
    SignupInput,
    SignupOutput,
    TokenPairOutput,
    validate_new_password,
)
from ..throttles import (
    LoginRateThrottle,
    LoginUsernameRateThrottle,
    PasswordResetAddressRateThrottle,
    PasswordResetConfirmRateThrottle,
    PasswordResetRateThrottle,
    RefreshRateThrottle,
    SignupRateThrottle,
)

NO_STORE = {"Cache-Control": "no-store"}  # tokens must not sit in any cache

# The sample data's customer account (load_sample_data.py): "Try it out" logs in with it.
DEMO_LOGIN = OpenApiExample(
    "Demo user",
    value={"username": "demo", "password": "demo-pass-2026"},
    request_only=True,
    description="The customer account of the sample data (load_sample_data.py).",
)
SIGNUP_EXAMPLE = OpenApiExample(
    "A new account",
    value={"username": "newfan", "email": "newfan@example.com", "password": "popcorn-2026-seats"},
    request_only=True,
    description="Usernames and emails are unique (any case); the password passes Django's "
    "validators (8-128 characters, not too common, not all digits, not like the username).",
)


class SignupView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [SignupRateThrottle]

    @extend_schema(
        summary="Sign up",
        description=(
            "Public. Creates a customer account and returns its first token pair. A taken "
            "username or email (any case) or a weak password is a 400 on that field."
        ),
        request=OpenApiRequest(SignupInput, examples=[SIGNUP_EXAMPLE]),
        responses={
            201: OpenApiResponse(
                SignupOutput,
                description="Created: the account and its first access and refresh tokens.",
            )
        },
        auth=[],
        tags=["accounts"],
    )
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
        return Response(SignupOutput(body).data, status=status.HTTP_201_CREATED, headers=NO_STORE)


@extend_schema(
    summary="Log in",
    description=(
        "Public. Exchange a username (any case) and password for an access and a refresh "
        "token; put the access token in Authorize (Bearer). A wrong username or password "
        "is 401 `no_active_account`."
    ),
    request=OpenApiRequest(TokenObtainPairSerializer, examples=[DEMO_LOGIN]),
    responses={
        200: OpenApiResponse(
            TokenPairOutput, description="Logged in: an access and a refresh token."
        )
    },
    auth=[],
    tags=["accounts"],
)
class LoginView(TokenObtainPairView):
    """Exchange a username (any case) and password for an access and refresh token."""

    throttle_classes = [LoginRateThrottle, LoginUsernameRateThrottle]

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        response["Cache-Control"] = NO_STORE["Cache-Control"]
        return response


@extend_schema(
    summary="Refresh the tokens",
    description=(
        "Public. Exchange a refresh token for a new access and refresh token; the old "
        "refresh token stops working (rotation), even under parallel redemptions. A "
        "refresh token issued before a password change is refused."
    ),
    responses={
        200: OpenApiResponse(
            TokenPairOutput, description="A new access token and a new refresh token."
        )
    },
    auth=[],
    tags=["accounts"],
)
class RefreshView(TokenRefreshView):
    """Exchange a refresh token for a new pair; the old refresh token stops working."""

    throttle_classes = [RefreshRateThrottle]

    def post(self, request, *args, **kwargs):
        try:
            response = super().post(request, *args, **kwargs)
        except InvalidToken:
            raise
        except AuthenticationFailed as exc:
            # simplejwt says no_active_account for a deactivated user's token; that code
            # means a wrong login in API.md, and an unusable token is token_not_valid.
            raise InvalidToken(detail_text(exc)) from None
        response["Cache-Control"] = NO_STORE["Cache-Control"]
        return response


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Log out",
        description=(
            "Revoke (blacklist) one of your refresh tokens. Someone else's refresh token is "
            "401 `token_not_valid` and revokes nothing. Access tokens last until they "
            "expire."
        ),
        request=LogoutInput,
        responses={205: OpenApiResponse(description="The refresh token is revoked; no body.")},
        tags=["accounts"],
    )
    def post(self, request):
        """Revoke (blacklist) one of the caller's refresh tokens."""
        serializer = LogoutInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.revoke_refresh_token(user=request.user, token=serializer.validated_data["refresh"])
        return Response(status=status.HTTP_205_RESET_CONTENT)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="The signed-in user",
        description="PUT and PATCH answer 405 `method_not_allowed`; DELETE deletes the account.",
        responses={200: OpenApiResponse(MeOutput, description="Your account.")},
        tags=["accounts"],
    )
    def get(self, request):
        return Response(MeOutput(request.user).data)

    @extend_schema(
        summary="Delete your account",
        description=(
            "Needs your password. The account can no longer log in and every token it had "
            "is refused; its username and email are free again. Bookings of shows that have "
            "not started are cancelled (their seats free at once) and holds released; past "
            "bookings stay, anonymous, for the cinema's books."
        ),
        request=AccountDeleteInput,
        responses={204: OpenApiResponse(description="The account is gone; no body.")},
        tags=["accounts"],
    )
    def delete(self, request):
        serializer = AccountDeleteInput(data=request.data, context={"user": request.user})
        serializer.is_valid(raise_exception=True)
        services.delete_account(user=request.user, now=timezone.now())
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Change your password",
        description=(
            "Needs your current password (a wrong one is 400 on `current_password`); the new "
            "one passes Django's password validators. Every access and refresh token issued "
            "before is refused from then on, and outstanding reset links stop working."
        ),
        request=PasswordChangeInput,
        responses={204: OpenApiResponse(description="Changed; no body. Log in again.")},
        tags=["accounts"],
    )
    def post(self, request):
        serializer = PasswordChangeInput(data=request.data, context={"user": request.user})
        serializer.is_valid(raise_exception=True)
        services.change_password(
            user=request.user, new_password=serializer.validated_data["new_password"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


RESET_REQUESTED = "If an account has this address, we have sent it a link to choose a new password."


class PasswordResetView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [PasswordResetRateThrottle, PasswordResetAddressRateThrottle]

    @extend_schema(
        summary="Ask for a password reset link by email",
        description=(
            "Public. The same 202 whether or not the address is known (no enumeration); "
            "the address matches any case. A known, active account gets an email with a "
            "one-time link to the frontend's reset page, carrying `uid` and `token`; it "
            "lasts PASSWORD_RESET_TIMEOUT_MINUTES. Rate-limited per client and per address."
        ),
        request=OpenApiRequest(
            PasswordResetInput,
            examples=[
                OpenApiExample(
                    "Demo address",
                    value={"email": "demo@example.com"},
                    request_only=True,
                )
            ],
        ),
        responses={
            202: OpenApiResponse(
                DetailOutput,
                description="Accepted: the same message whether or not the address is known.",
                examples=[
                    OpenApiExample(
                        "Accepted", value={"detail": RESET_REQUESTED}, response_only=True
                    )
                ],
            )
        },
        auth=[],
        tags=["accounts"],
    )
    def post(self, request):
        serializer = PasswordResetInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.request_password_reset(email=serializer.validated_data["email"])
        return Response({"detail": RESET_REQUESTED}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [PasswordResetConfirmRateThrottle, PasswordResetAddressRateThrottle]

    @extend_schema(
        summary="Choose a new password with a reset link's uid and token",
        description=(
            "Public. The link works once; every token issued before is refused afterwards, "
            "and the account's other reset links stop working. A wrong, used or expired "
            "token, or an unknown uid, is 400 on `token`. A refused attempt (e.g. a weak "
            "password) leaves the link usable."
        ),
        request=PasswordResetConfirmInput,
        responses={204: OpenApiResponse(description="Changed; no body. Log in with it.")},
        auth=[],
        tags=["accounts"],
    )
    def post(self, request):
        serializer = PasswordResetConfirmInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = services.user_of_reset_link(uid=data["uid"], token=data["token"])
        validate_new_password(data["new_password"], user, "new_password")
        services.change_password(user=user, new_password=data["new_password"])
        return Response(status=status.HTTP_204_NO_CONTENT)
