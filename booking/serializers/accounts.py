"""Accounts: signup, tokens, the signed-in user."""

from django.contrib.auth import password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from ..models import User
from .common import UTCModelSerializer

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128


class SignupInput(serializers.Serializer):
    username = serializers.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=MAX_PASSWORD_LENGTH,
        write_only=True,
        trim_whitespace=False,
        style={"input_type": "password"},
    )

    def validate_username(self, value):
        if User.objects.filter(username__iexact=value).exists():
            raise serializers.ValidationError("A user with that username already exists.")
        return value

    def validate_email(self, value):
        if User.objects.filter(email__iexact=value).exists():
            raise serializers.ValidationError("A user with that email already exists.")
        return value

    def validate(self, attrs):
        candidate = User(username=attrs["username"], email=attrs["email"])
        try:
            password_validation.validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from None
        return attrs


class SignupOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    access = serializers.CharField(help_text="JWT access token (Bearer).")
    refresh = serializers.CharField(help_text="JWT refresh token.")


class TokenPairOutput(serializers.Serializer):
    access = serializers.CharField(help_text="JWT access token (Bearer).")
    refresh = serializers.CharField(help_text="JWT refresh token (rotates on refresh).")


class LogoutInput(serializers.Serializer):
    refresh = serializers.CharField(help_text="The refresh token to revoke.")


class MeOutput(UTCModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "email", "is_staff"]
