"""Staff writes need is_staff and the matching model permission; reads are public.

API.md: "Staff writes ... need is_staff and the matching Django model permission"; the
`Cinema staff` group, created by a data migration, has them all.
"""

import importlib
from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from booking.models import Cinema, Movie, Screen, Show, User

from .conftest import CINEMA_STAFF, client_for, make_screen, make_user

pytestmark = pytest.mark.django_db

# What the group may do, as the migration promises it: everything on the schedule and
# the venues, look at seats, cancel bookings and release holds (change), never delete
# a booking or a hold.
CINEMA_STAFF_CODENAMES = {
    *(
        f"{action}_{model}"
        for model in ("movie", "cinema", "screen", "screenrow", "show")
        for action in ("view", "add", "change", "delete")
    ),
    "view_seat",
    "view_booking",
    "change_booking",
    "view_hold",
    "change_hold",
}


def movie_body(**overrides) -> dict:
    body = {
        "title": "Arrival",
        "description": "Linguist meets heptapods.",
        "duration_minutes": 116,
        "genre": "Sci-Fi",
        "language": "English",
        "release_date": "2016-11-11",
    }
    body.update(overrides)
    return body


def show_body(movie) -> dict:
    return {
        "movie_id": movie.pk,
        "screen_name": "Screen 2",
        "start_time": "2031-12-01T18:30:00Z",
        "total_seats": 40,
        "price": "180.00",
    }


def cinema_body() -> dict:
    return {"name": "Lakeside", "city": "Mumbai", "address": "2 Lake Road"}


def screen_body(cinema) -> dict:
    return {"cinema_id": cinema.pk, "name": "Screen 2", "rows": [{"label": "A", "seats": 10}]}


# resource -> (collection URL, model, body for a create, a valid partial update)
RESOURCES = {
    "movies": ("/api/movies/", Movie, lambda movie, cinema: movie_body(), {"genre": "Drama"}),
    "shows": ("/api/shows/", Show, lambda movie, cinema: show_body(movie), {"price": "200.00"}),
    "cinemas": ("/api/cinemas/", Cinema, lambda movie, cinema: cinema_body(), {"city": "Thane"}),
    "screens": (
        "/api/screens/",
        Screen,
        lambda movie, cinema: screen_body(cinema),
        {"name": "Screen 9"},
    ),
}


def staff_outside_the_group(username="sam", *, permissions=()) -> User:
    """is_staff, but in no group; permissions are "app_label.codename" strings."""
    user = make_user(username)
    user.is_staff = True
    user.save()
    for name in permissions:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


@pytest.fixture
def sam(db):
    return staff_outside_the_group()


def create(client, resource, movie, cinema):
    url, _, body, _ = RESOURCES[resource]
    return client.post(url, body(movie, cinema))


# --- is_staff alone is not enough -----------------------------------------------------


@pytest.mark.parametrize("resource", RESOURCES)
def test_staff_without_permissions_cannot_create_and_get_403(sam, movie, cinema, resource):
    _, model, _, _ = RESOURCES[resource]
    count = model.objects.count()

    response = create(client_for(sam), resource, movie, cinema)

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert model.objects.count() == count


@pytest.mark.parametrize("resource", RESOURCES)
def test_staff_without_permissions_can_still_read(sam, movie, show, screen, resource):
    url, _, _, _ = RESOURCES[resource]
    client = client_for(sam)
    first = client.get(url).json()["results"][0]

    assert client.get(url).status_code == 200
    assert client.get(f"{url}{first['id']}/").status_code == 200


def test_staff_without_permissions_cannot_change_or_delete_a_movie(sam, movie):
    client = client_for(sam)

    patched = client.patch(f"/api/movies/{movie.pk}/", {"genre": "Drama"})
    deleted = client.delete(f"/api/movies/{movie.pk}/")

    assert (patched.status_code, deleted.status_code) == (403, 403)
    movie.refresh_from_db()
    assert movie.genre == "Sci-Fi"


def test_staff_with_only_add_movie_can_create_a_movie_but_not_delete_or_change_one(movie, cinema):
    client = client_for(staff_outside_the_group(permissions=["booking.add_movie"]))

    created = client.post("/api/movies/", movie_body())
    deleted = client.delete(f"/api/movies/{movie.pk}/")
    changed = client.patch(f"/api/movies/{movie.pk}/", {"genre": "Drama"})
    cinema_created = client.post("/api/cinemas/", cinema_body())

    assert created.status_code == 201, created.content
    assert (deleted.status_code, deleted.json()["code"]) == (403, "permission_denied")
    assert changed.status_code == 403
    assert cinema_created.status_code == 403  # a permission is for its model only
    assert Movie.objects.filter(pk=movie.pk).exists()


def test_staff_with_only_delete_movie_can_delete_a_movie(movie):
    client = client_for(staff_outside_the_group(permissions=["booking.delete_movie"]))

    response = client.delete(f"/api/movies/{movie.pk}/")

    assert response.status_code == 204
    assert not Movie.objects.filter(pk=movie.pk).exists()


# --- The Cinema staff group -----------------------------------------------------------


@pytest.mark.parametrize("resource", RESOURCES)
def test_cinema_staff_can_create_update_and_delete(staff_client, movie, cinema, resource):
    url, model, _, changes = RESOURCES[resource]

    created = create(staff_client, resource, movie, cinema)
    assert created.status_code == 201, created.content
    item_url = f"{url}{created.json()['id']}/"
    updated = staff_client.patch(item_url, changes)
    deleted = staff_client.delete(item_url)

    assert updated.status_code == 200, updated.content
    assert {key: updated.json()[key] for key in changes} == changes
    assert deleted.status_code == 204
    assert not model.objects.filter(pk=created.json()["id"]).exists()


def test_staff_taken_out_of_the_group_lose_the_permissions_at_once(staff_user, staff_client):
    assert staff_client.post("/api/cinemas/", cinema_body()).status_code == 201

    staff_user.groups.clear()

    response = staff_client.post("/api/cinemas/", {**cinema_body(), "name": "Hillside"})
    assert response.status_code == 403
    assert Cinema.objects.count() == 1


def test_a_user_in_the_group_without_is_staff_gets_403(movie):
    member = make_user("carol")
    member.groups.add(Group.objects.get(name=CINEMA_STAFF))

    response = client_for(member).post("/api/movies/", movie_body())

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert Movie.objects.count() == 1


def test_a_superuser_without_is_staff_gets_403_because_the_api_wants_staff(movie):
    # A superuser holds every permission, but API.md asks for is_staff as well, and
    # create_superuser sets it: only a superuser someone un-staffed meets this.
    root = User.objects.create_superuser("root", "root@example.com", "x-Secret-pass-1")
    User.objects.filter(pk=root.pk).update(is_staff=False)

    response = client_for(root).post("/api/movies/", movie_body())

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_a_superuser_with_is_staff_needs_no_group(movie):
    root = User.objects.create_superuser("root", "root@example.com", "x-Secret-pass-1")
    assert not root.groups.exists()

    response = client_for(root).delete(f"/api/movies/{movie.pk}/")

    assert response.status_code == 204


def test_a_regular_user_gets_403_and_an_anonymous_one_401(auth_client, api_client, movie):
    as_user = auth_client.post("/api/movies/", movie_body())
    anonymous = api_client.post("/api/movies/", movie_body())

    assert (as_user.status_code, as_user.json()["code"]) == (403, "permission_denied")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_authenticated")
    assert Movie.objects.count() == 1


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_anonymous_changes_are_401_not_authenticated(api_client, movie, method):
    response = getattr(api_client, method)(f"/api/movies/{movie.pk}/", {"genre": "Drama"})

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


# --- The data migration ---------------------------------------------------------------


def test_the_group_exists_after_migrate_with_exactly_the_listed_permissions():
    # The test database was migrated from empty: the permissions only exist there after
    # every migration has run, unless the migration creates them itself.
    group = Group.objects.get(name=CINEMA_STAFF)

    permissions = set(group.permissions.values_list("content_type__app_label", "codename"))

    assert permissions == {("booking", codename) for codename in CINEMA_STAFF_CODENAMES}


def test_the_migration_lists_what_the_group_is_given():
    migration = importlib.import_module("booking.migrations.0004_cinema_staff_group")

    listed = {
        f"{action}_{model}"
        for model, actions in migration.PERMISSIONS.items()
        for action in actions
    }

    assert listed == CINEMA_STAFF_CODENAMES
    assert migration.GROUP == CINEMA_STAFF


def test_the_migration_creates_the_permissions_it_needs_and_can_run_twice():
    migration = importlib.import_module("booking.migrations.0004_cinema_staff_group")
    state = MigrationLoader(connection).project_state(("booking", "0004_cinema_staff_group"))
    # As on an empty database: neither the group nor this app's permissions exist yet.
    Group.objects.filter(name=CINEMA_STAFF).delete()
    Permission.objects.filter(content_type__app_label="booking").delete()

    migration.create_group(state.apps, schema_editor=None)
    migration.create_group(state.apps, schema_editor=None)

    group = Group.objects.get(name=CINEMA_STAFF)
    assert set(group.permissions.values_list("codename", flat=True)) == CINEMA_STAFF_CODENAMES


def test_undoing_the_migration_removes_the_group():
    migration = importlib.import_module("booking.migrations.0004_cinema_staff_group")
    state = MigrationLoader(connection).project_state(("booking", "0004_cinema_staff_group"))

    migration.delete_group(state.apps, schema_editor=None)

    assert not Group.objects.filter(name=CINEMA_STAFF).exists()
    assert Permission.objects.filter(codename="add_movie").exists()  # only the group goes


def test_cinema_staff_can_replace_a_screen_with_put(staff_client):
    screen = make_screen()

    response = staff_client.put(
        f"/api/screens/{screen.pk}/",
        {"cinema_id": screen.cinema_id, "name": "Screen 1", "rows": [{"label": "B", "seats": 8}]},
    )

    assert response.status_code == 200, response.content
    assert response.json()["capacity"] == 8


# --- Making staff ---------------------------------------------------------------------


def test_create_staff_makes_a_new_cinema_staff_member_who_is_no_superuser(db, monkeypatch):
    monkeypatch.setenv("STAFF_PASSWORD", "a-long-staff-pass-2026")
    output = StringIO()

    call_command("create_staff", "Stella", email="stella@example.com", stdout=output)

    stella = User.objects.get(username="Stella")
    assert stella.is_staff and not stella.is_superuser
    assert stella.check_password("a-long-staff-pass-2026")
    assert list(stella.groups.values_list("name", flat=True)) == ["Cinema staff"]
    assert stella.has_perm("booking.add_show") and not stella.has_perm("booking.delete_booking")
    assert "Stella is cinema staff" in output.getvalue()


def test_create_staff_promotes_an_existing_user(user):
    call_command("create_staff", user.username.upper(), stdout=StringIO())

    user.refresh_from_db()
    assert user.is_staff and not user.is_superuser
    assert user.groups.filter(name="Cinema staff").exists()


def test_create_staff_needs_an_email_for_a_new_user(db):
    with pytest.raises(CommandError, match="--email"):
        call_command("create_staff", "nobody", stdout=StringIO())

    assert not User.objects.filter(username="nobody").exists()


def test_create_staff_refuses_a_weak_password(db, monkeypatch):
    monkeypatch.setenv("STAFF_PASSWORD", "password")

    with pytest.raises(CommandError):
        call_command("create_staff", "weak", email="weak@example.com", stdout=StringIO())

    assert not User.objects.filter(username="weak").exists()
