"""Plain SQL for the few statements every booking runs (see services.seating).

Building a statement through the ORM (filters, subqueries, compilation) cost more CPU
than running it, on paths that run several per request. The statements are written out
here once, portable across MariaDB/MySQL, PostgreSQL and SQLite: values are always
parameters (%s), and only table names from the models and placeholders are formatted in.
"""

import functools
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from django.db import connection

from ..models import Booking, Hold, Movie, Seat, Show, User

TABLES = {
    "seat": Seat,
    "booking": Booking,
    "hold": Hold,
    "user": User,
    "show": Show,
    "movie": Movie,
}


@functools.cache
def _tables(vendor: str) -> dict[str, str]:
    quote = connection.ops.quote_name
    return {name: quote(model._meta.db_table) for name, model in TABLES.items()}


def sql(template: str) -> str:
    """template with its {seat}, {booking}, ... table names filled in."""
    return template.format(**_tables(connection.vendor))


def execute(statement: str, params: list) -> int:
    """Run a statement; return its row count (rows matched, on MySQL too)."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def marks(values: Sequence) -> str:
    """One placeholder per value, for IN (...)."""
    return ", ".join(["%s"] * len(values))


def db_datetime(value: datetime):
    return connection.ops.adapt_datetimefield_value(value)


def db_uuid(value: UUID):
    return Hold._meta.pk.get_db_prep_value(value, connection)


def uuid_of(value) -> UUID | None:
    """A UUID as plain SQL reads it: a UUID (PostgreSQL) or its 32 hex digits."""
    return None if value is None else UUID(str(value))
