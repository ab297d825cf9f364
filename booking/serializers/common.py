"""Shared serializer pieces: UTC datetimes, ids, bounded lists and dicts."""

import functools
from datetime import UTC, datetime
from decimal import Decimal

from django.db import models
from rest_framework import serializers

from ..models import MAX_ID


class UTCDateTimeField(serializers.DateTimeField):
    """Render in UTC, and read a time without an offset as UTC.

    TIME_ZONE is the cinema's zone and only decides what `?date=` means; the API
    itself speaks UTC whatever it is.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("default_timezone", UTC)
        super().__init__(**kwargs)


def utc_text(value: datetime | None) -> str | None:
    """A datetime as UTCDateTimeField renders it (for bodies built without a serializer)."""
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


CENT = Decimal("0.01")


def money_text(value) -> str:
    """An amount (a Decimal or its text) as the serializers' 2-decimal DecimalFields
    render it (DRF quantizes in the default context: half to even)."""
    return _money_text(value if isinstance(value, str) else str(value))


@functools.lru_cache(maxsize=1024)  # a page shows a handful of distinct prices
def _money_text(text: str) -> str:
    # By text, not by Decimal: Decimal("-0.00") == Decimal("0.00"), yet they render apart.
    return f"{Decimal(text).quantize(CENT):f}"


class UTCModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: UTCDateTimeField,
    }


class IdField(serializers.PrimaryKeyRelatedField):
    """A related object's id: a whole number (or numeric string) and nothing else.

    DRF's own field hands the value to the database as it is, and Django's IntegerField
    turns "3.5" into 3: a show would be scheduled for a movie nobody named.
    """

    def to_internal_value(self, data):
        number = serializers.IntegerField(min_value=1, max_value=MAX_ID).run_validation(data)
        return super().to_internal_value(number)


class BoundedListField(serializers.ListField):
    """A ListField that refuses a list for its length before looking at its items.

    DRF's ListField validates every item and only then the length: a 400,000-item list
    would cost seconds of CPU and a megabytes-long error body.
    """

    def to_internal_value(self, data):
        if isinstance(data, list) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class BoundedDictField(serializers.DictField):
    """A DictField with at most max_length keys, refused for its size before its values."""

    default_error_messages = {"max_length": "Ensure this has no more than {max_length} entries."}

    def __init__(self, *, max_length: int, **kwargs):
        self.max_length = max_length
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, dict) and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)
