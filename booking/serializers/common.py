"""Shared serializer pieces: UTC datetimes and the error body (for the schema)."""

from datetime import UTC

from django.db import models
from rest_framework import serializers


class UTCDateTimeField(serializers.DateTimeField):
    """Render in UTC, and read a time without an offset as UTC.

    TIME_ZONE is the cinema's zone and only decides what `?date=` means; the API
    itself speaks UTC whatever it is.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("default_timezone", UTC)
        super().__init__(**kwargs)


class UTCModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: UTCDateTimeField,
    }


# --- Errors (for the schema) ----------------------------------------------------------


class ErrorOutput(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable error code.")
    detail = serializers.CharField(help_text="Human-readable message.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation errors: field name to messages (only for code `invalid`).",
    )
    seats = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        help_text="The seats that are taken (only for code `seat_unavailable`).",
    )
