"""Plain SQL for the few statements every booking runs (see services.seating).

Building a statement through the ORM (filters, subqueries, compilation) cost more CPU
than running it, on paths that run several per request. The statements are written out
here once, portable across MariaDB/MySQL, PostgreSQL and SQLite: values are always
parameters (%s), and only table names from the models and placeholders are formatted in.

Rows still go in and come out as the ORM would have them: `insert` prepares each value
with its field (`pre_save`, `get_db_prep_save`: auto_now_add, JSON, decimals, time
zones), and `fetch_one` converts each column with the converters the ORM would apply
(`from_db_value` and the backend's) before `Model.from_db` builds the instance.

It stands beside the services, not in them: the JWT authentication reads the token's
user with it, and DRF imports that class as soon as anything imports rest_framework.views
(while models load, even); importing it must bring in the models alone.
"""

import functools
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from django.db import connection
from django.db.models import Model

from .models import Booking, Hold, Movie, Seat, Show, User

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


def insert(obj: Model) -> None:
    """INSERT obj's row as obj.save(force_insert=True) would, and set its primary key.

    Without save()'s signals: the booking flow sends none (STYLE.md), it says what it
    changed itself (readcache.seats_changed). The statement is built once per model.
    """
    meta = obj._meta
    fields, statement, returning = _insert_statement(type(obj), connection.vendor)
    params = [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        if meta.auto_field is not None:
            if returning:
                obj.pk = cursor.fetchone()[0]
            else:  # MySQL: no INSERT ... RETURNING
                obj.pk = connection.ops.last_insert_id(cursor, meta.db_table, meta.pk.column)
    obj._state.adding = False
    obj._state.db = connection.alias


@functools.cache
def _insert_statement(model: type[Model], vendor: str) -> tuple[list, str, bool]:
    meta = model._meta
    fields = [field for field in meta.local_concrete_fields if field is not meta.auto_field]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    # Names from the model, values as parameters.
    statement = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({marks(fields)})"  # noqa: S608
    returning = meta.auto_field is not None and connection.features.can_return_columns_from_insert
    if returning:
        statement += f" RETURNING {quote(meta.pk.column)}"
    return fields, statement, returning


def fetch_one(model: type[Model], names: Sequence[str], statement: str, params: list):
    """Run a SELECT of model's fields names (attnames, in that order), then any other
    columns; return (the instance, the other columns' values), or None for no row."""
    row = fetch_row(statement, params)
    if row is None:
        return None
    return build(model, names, row[: len(names)]), row[len(names) :]


def fetch_row(statement: str, params: list) -> tuple | None:
    """Run a SELECT; return its first row as the database returned it, or None."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchone()


def build(model: type[Model], names: Sequence[str], row: Sequence) -> Model:
    """Make the instance of model whose fields names the database returned as row."""
    values = list(row)
    for index, column, converters in _converters(model, tuple(names), connection.vendor):
        for convert in converters:
            values[index] = convert(values[index], column, connection)
    return model.from_db(connection.alias, names, values)


@functools.cache
def _converters(model: type[Model], names: tuple[str, ...], vendor: str) -> list[tuple]:
    """Per column that needs any, its index, its column expression and its converters."""
    fields = {field.attname: field for field in model._meta.concrete_fields}
    found = []
    for index, name in enumerate(names):
        column = fields[name].get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if converters:
            found.append((index, column, converters))
    return found
