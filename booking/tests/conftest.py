"""Layered fixtures: users and clients, then the catalogue, then bookings."""

import importlib
import os
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from booking import services
from booking.layouts import Row
from booking.models import Cinema, Movie, Screen, User

PASSWORD = "correct-horse-battery-9"


def on_mysql() -> bool:
    return connection.vendor == "mysql"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Hundreds of users are created and signed in; the production hasher's deliberate
    # slowness is not what these tests are about.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    # Throttle counters live in the cache; one test's requests must not throttle the next.
    cache.clear()
    yield
    cache.clear()


CINEMA_STAFF = "Cinema staff"  # the group the data migration creates


def make_user(username="alice", *, email=None, is_staff=False, password=PASSWORD) -> User:
    """A user; a staff user is in the Cinema staff group (as staff are in production)."""
    user = User.objects.create_user(
        username=username,
        email=email or f"{username}@example.com",
        password=password,
        is_staff=is_staff,
    )
    if is_staff:
        user.groups.add(cinema_staff_group())
    return user


def cinema_staff_group() -> Group:
    """The Cinema staff group, as the data migration makes it.

    Tests with transaction=True empty every table afterwards, migrated rows included, so
    the group is made again here when it is gone.
    """
    group, created = Group.objects.get_or_create(name=CINEMA_STAFF)
    if created:
        migration = importlib.import_module("booking.migrations.0004_cinema_staff_group")
        codenames = [
            f"{action}_{model}"
            for model, actions in migration.PERMISSIONS.items()
            for action in actions
        ]
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="booking", codename__in=codenames)
        )
    return group


def client_for(user: User | None) -> APIClient:
    """An API client that sends user's access token (or nothing for None)."""
    client = APIClient()
    if user is not None:
        token = RefreshToken.for_user(user).access_token
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def make_movie(**overrides) -> Movie:
    fields = {
        "title": "Dune: Part Two",
        "description": "Paul Atreides unites with the Fremen.",
        "duration_minutes": 166,
        "genre": "Sci-Fi",
        "language": "English",
        "release_date": date(2024, 3, 1),
    }
    fields.update(overrides)
    return services.create_movie(**fields)


def make_show(movie=None, **overrides):
    fields = {
        "movie": movie or make_movie(),
        "screen_name": "Screen 1",
        "start_time": timezone.now() + timedelta(days=1),
        "total_seats": 120,
        "price": Decimal("250.00"),
    }
    fields.update(overrides)
    return services.create_show(**fields)


def make_cinema(name="Riverside", *, city="Pune", address="1 River Road") -> Cinema:
    return services.create_cinema(name=name, city=city, address=address)


# The contract's example screen: 12 seats in row A (aisles after 3 and 9, wheelchair
# spaces at both ends), 10 premium seats in row J.
EXAMPLE_ROWS = [
    Row(label="A", seats=12, aisles_after=(3, 9), wheelchair=(1, 12)),
    Row(label="J", seats=10, category="premium"),
]


def make_screen(cinema=None, *, name="Screen 1", rows=None) -> Screen:
    return services.create_screen(
        cinema=cinema or make_cinema(), name=name, rows=rows or EXAMPLE_ROWS
    )


def make_show_on_screen(movie=None, screen=None, **overrides):
    """A show on a laid-out screen (make_show makes one the old way)."""
    fields = {
        "movie": movie or make_movie(),
        "screen": screen or make_screen(),
        "start_time": timezone.now() + timedelta(days=1),
        "price": Decimal("250.00"),
    }
    fields.update(overrides)
    return services.create_show(**fields)


@pytest.fixture
def user(db):
    return make_user("alice")


@pytest.fixture
def other_user(db):
    return make_user("mallory")


@pytest.fixture
def staff_user(db):
    return make_user("stella", is_staff=True)


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def auth_client(user):
    return client_for(user)


@pytest.fixture
def other_client(other_user):
    return client_for(other_user)


@pytest.fixture
def staff_client(staff_user):
    return client_for(staff_user)


@pytest.fixture
def movie(db):
    return make_movie()


@pytest.fixture
def show(movie):
    return make_show(movie)


@pytest.fixture
def cinema(db):
    return make_cinema()


@pytest.fixture
def screen(cinema):
    return make_screen(cinema)


@pytest.fixture
def laid_out_show(movie, screen):
    """The contract's example: row A standard at 250.00, row J premium at 400.00."""
    return make_show_on_screen(movie, screen, prices={"premium": Decimal("400.00")})


@pytest.fixture(autouse=True, scope="session")
def _mysql_when_required():
    # CI's MariaDB leg sets REQUIRE_MYSQL=1: running on anything else (and so skipping
    # the concurrency tests) must fail loudly, never pass quietly.
    if os.environ.get("REQUIRE_MYSQL") == "1":
        engine = settings.DATABASES["default"]["ENGINE"]
        if engine != "django.db.backends.mysql":
            pytest.fail(f"REQUIRE_MYSQL=1 but the database engine is {engine}", pytrace=False)
