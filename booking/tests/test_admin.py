"""Django admin: staff pages load, writes go through the services, queries stay flat."""

import re
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from booking import services
from booking.models import Booking, Cinema, Hold, Movie, Screen, ScreenRow, Seat, Show

from .conftest import (
    make_cinema,
    make_movie,
    make_screen,
    make_show,
    make_show_on_screen,
    make_user,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_web(db):
    """A browser signed in to the admin as a superuser on the staff."""
    boss = make_user("boss", is_staff=True)
    boss.is_superuser = True
    boss.save()
    client = Client()
    client.force_login(boss)
    return client


def book(show, seats, user=None):
    user = user or make_user(f"booker{Booking.objects.count()}")
    return services.book_seats(user=user, show=show, seat_numbers=seats, now=timezone.now())


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def booking_url(booking) -> str:
    return f"/admin/booking/booking/{booking.pk}/change/"


@dataclass
class Element:
    tag: str
    classes: set[str]
    attrs: dict[str, str]
    text: str = ""
    children: list["Element"] = field(default_factory=list)

    def all(self, *classes: str) -> list["Element"]:
        """Every element below this one that has all of classes, in document order."""
        found = []
        for child in self.children:
            if set(classes) <= child.classes:
                found.append(child)
            found.extend(child.all(*classes))
        return found


class _Tree(HTMLParser):
    VOID = {"br", "hr", "img", "input", "link", "meta", "col", "area", "base", "source"}

    def __init__(self):
        super().__init__()
        self.root = Element("root", set(), {})
        self.open = [self.root]

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        element = Element(tag, set(attrs.get("class", "").split()), attrs)
        self.open[-1].children.append(element)
        if tag not in self.VOID:
            self.open.append(element)

    def handle_endtag(self, tag):
        for depth in range(len(self.open) - 1, 0, -1):
            if self.open[depth].tag == tag:
                del self.open[depth:]
                return

    def handle_data(self, data):
        for element in self.open:
            element.text += data


def drawn(html: str, which: int = 0) -> Element:
    """The page's auditorium drawing (`.seatmap`), parsed."""
    tree = _Tree()
    tree.feed(html)
    drawings = tree.root.all("seatmap")
    assert drawings, "no seat map on the page"
    return drawings[which]


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/booking/movie/",
        "/admin/booking/movie/add/",
        "/admin/booking/show/",
        "/admin/booking/show/add/",
        "/admin/booking/booking/",
        "/admin/booking/user/",
        "/admin/booking/user/add/",
        "/admin/booking/cinema/",
        "/admin/booking/cinema/add/",
        "/admin/booking/screen/",
        "/admin/booking/screen/add/",
    ],
)
def test_staff_can_load_the_admin_pages(admin_web, show, laid_out_show, url):
    book(show, [1])
    book(laid_out_show, [2])

    response = admin_web.get(url)

    assert response.status_code == 200
    assert b"<html" in response.content.lower()


def test_the_change_pages_of_each_model_load(admin_web, show, laid_out_show):
    booking = book(show, [7])
    on_screen = book(laid_out_show, [4])
    screen = laid_out_show.screen

    for url in [
        f"/admin/booking/movie/{show.movie.pk}/change/",
        f"/admin/booking/show/{show.pk}/change/",
        f"/admin/booking/show/{laid_out_show.pk}/change/",
        f"/admin/booking/booking/{booking.pk}/change/",
        f"/admin/booking/booking/{on_screen.pk}/change/",
        f"/admin/booking/user/{booking.user.pk}/change/",
        f"/admin/booking/cinema/{screen.cinema.pk}/change/",
        f"/admin/booking/screen/{screen.pk}/change/",
    ]:
        response = admin_web.get(url)
        assert response.status_code == 200, url
        assert b'id="content-main"' in response.content, url


def test_a_non_staff_user_is_sent_to_the_admin_login_page(user):
    client = Client()
    client.force_login(user)

    response = client.get("/admin/booking/booking/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_bookings_cannot_be_added_in_the_admin(admin_web):
    assert admin_web.get("/admin/booking/booking/add/").status_code == 403


def test_creating_a_show_in_the_admin_creates_its_seats(admin_web, movie):
    response = admin_web.post(
        "/admin/booking/show/add/",
        {
            "movie": movie.pk,
            "screen_name": "Screen 9",
            "start_time_0": "2031-12-01",
            "start_time_1": "18:30:00",
            "total_seats": 25,
            "price": "150.00",
            "_save": "Save",
        },
    )

    assert response.status_code == 302, response.content.decode()[-2000:]
    show = Show.objects.get(screen_name="Screen 9")
    assert (show.movie_id, show.total_seats, show.price) == (movie.pk, 25, Decimal("150.00"))
    numbers = list(Seat.objects.filter(show=show).values_list("number", flat=True))
    assert numbers == list(range(1, 26))
    assert Show.objects.count() == 1


def show_form(show, **overrides) -> dict:
    start = timezone.localtime(show.start_time)
    data = {
        "movie": show.movie_id,
        "screen_name": show.screen_name,
        "start_time_0": start.date().isoformat(),
        "start_time_1": start.time().strftime("%H:%M:%S"),
        "total_seats": show.total_seats,
        "price": str(show.price),
        "_save": "Save",
    }
    data.update(overrides)
    return data


def test_growing_a_shows_seats_in_the_admin_adds_seat_rows(admin_web, movie):
    show = make_show(movie, total_seats=10)

    response = admin_web.post(
        f"/admin/booking/show/{show.pk}/change/", show_form(show, total_seats=12)
    )

    assert response.status_code == 302
    assert Seat.objects.filter(show=show).count() == 12


def test_the_admin_refuses_to_shrink_a_show_below_a_booked_seat(admin_web, movie):
    show = make_show(movie, total_seats=10)
    book(show, [9])

    response = admin_web.post(
        f"/admin/booking/show/{show.pk}/change/", show_form(show, total_seats=5)
    )

    assert response.status_code == 200  # the form again, with the error
    assert b"Seat 9 is booked" in response.content
    show.refresh_from_db()
    assert show.total_seats == 10
    assert Seat.objects.filter(show=show).count() == 10


def test_the_show_change_page_contains_the_seat_map(admin_web, movie):
    show = make_show(movie, total_seats=30)
    booking = book(show, [5, 6])

    html = admin_web.get(f"/admin/booking/show/{show.pk}/change/").content.decode()

    seatmap = drawn(html)
    assert [seat.text for seat in seatmap.all("seat")] == [str(n) for n in range(1, 31)]
    booked = seatmap.all("seat", "booked")
    assert [seat.text for seat in booked] == ["5", "6"]
    assert {seat.attrs["href"] for seat in booked} == {booking_url(booking)}
    assert len(seatmap.all("seat-row")) == 1  # one unlabelled row
    assert seatmap.all("aisle") == []
    assert "28 free, 2 booked" in seatmap.text


def test_a_show_with_bookings_cannot_be_deleted_in_the_admin(admin_web, show):
    book(show, [1])

    response = admin_web.get(f"/admin/booking/show/{show.pk}/delete/")

    assert response.status_code == 403
    assert Show.objects.filter(pk=show.pk).exists()


def test_the_bookings_changelist_takes_as_many_queries_for_10_rows_as_for_2(admin_web, movie):
    show = make_show(movie, total_seats=20)
    for seat in (1, 2):
        book(show, [seat])
    with_two = queries_for(admin_web, "/admin/booking/booking/")

    other_show = make_show(make_movie(title="Heat"), total_seats=20)
    for seat in range(3, 11):
        book(other_show if seat % 2 else show, [seat])
    with_ten = queries_for(admin_web, "/admin/booking/booking/")

    assert Booking.objects.count() == 10
    assert with_ten == with_two


def test_the_shows_changelist_takes_as_many_queries_for_10_rows_as_for_2(admin_web):
    for n in range(2):
        book(make_show(make_movie(title=f"Movie {n}"), total_seats=5), [1])
    with_two = queries_for(admin_web, "/admin/booking/show/")

    for n in range(2, 10):
        book(make_show(make_movie(title=f"Movie {n}"), total_seats=5), [1, 2])
    with_ten = queries_for(admin_web, "/admin/booking/show/")

    assert Show.objects.count() == 10
    assert with_ten == with_two


def test_the_cancel_action_cancels_the_booking_and_frees_its_seats(admin_web, show):
    booking = book(show, [4, 5])
    kept = book(show, [6])

    response = admin_web.post(
        "/admin/booking/booking/",
        {"action": "cancel_selected", "_selected_action": [booking.pk]},
    )

    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert booking.cancelled_at is not None
    assert booking.seat_numbers == [4, 5]  # history is kept
    free = Seat.objects.filter(show=show, booking__isnull=True).values_list("number", flat=True)
    assert {4, 5} <= set(free)
    kept.refresh_from_db()
    assert kept.status == Booking.Status.BOOKED
    assert Seat.objects.get(show=show, number=6).booking_id == kept.pk


def test_the_cancel_action_leaves_a_booking_of_a_started_show_alone(admin_web, show):
    booking = book(show, [4])
    Show.objects.filter(pk=show.pk).update(start_time=timezone.now() - timedelta(minutes=5))

    response = admin_web.post(
        "/admin/booking/booking/",
        {"action": "cancel_selected", "_selected_action": [booking.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert b"already started" in response.content
    booking.refresh_from_db()
    assert booking.status == Booking.Status.BOOKED
    assert Seat.objects.get(show=show, number=4).booking_id == booking.pk


def test_staff_who_may_only_view_bookings_cannot_cancel_them(show):
    viewer = make_user("viewer", is_staff=True)
    viewer.groups.clear()  # not Cinema staff: only the one permission below
    viewer.user_permissions.add(Permission.objects.get(codename="view_booking"))
    client = Client()
    client.force_login(viewer)
    booking = book(show, [4])

    client.post(
        "/admin/booking/booking/", {"action": "cancel_selected", "_selected_action": [booking.pk]}
    )

    booking.refresh_from_db()
    assert booking.status == Booking.Status.BOOKED
    assert Seat.objects.get(show=show, number=4).booking_id == booking.pk


def movie_post(movie, **overrides) -> dict:
    data = {
        "title": movie.title,
        "description": movie.description,
        "duration_minutes": movie.duration_minutes,
        "genre": movie.genre,
        "language": movie.language,
        "release_date": movie.release_date.isoformat(),
        "shows-TOTAL_FORMS": 0,
        "shows-INITIAL_FORMS": 0,
        "_save": "Save",
    }
    data.update(overrides)
    return data


def test_a_movie_added_in_the_admin_is_saved(admin_web):
    response = admin_web.post(
        "/admin/booking/movie/add/",
        {
            "title": "Heat",
            "description": "",
            "duration_minutes": 170,
            "genre": "Crime",
            "language": "English",
            "release_date": "1995-12-15",
            "shows-TOTAL_FORMS": 0,
            "shows-INITIAL_FORMS": 0,
            "_save": "Save",
        },
    )

    assert response.status_code == 302, response.content.decode()[-3000:]
    assert Movie.objects.get().duration_minutes == 170


def test_a_movie_made_too_long_for_its_screen_slot_is_an_error_on_its_duration(
    admin_web, laid_out_show
):
    movie = laid_out_show.movie  # 166 minutes, then the screen's turnover time
    turnover = settings.SCREEN_TURNOVER_MINUTES
    next_start = laid_out_show.start_time + timedelta(minutes=166 + turnover + 10)
    make_show_on_screen(make_movie(title="Heat"), laid_out_show.screen, start_time=next_start)

    response = admin_web.post(
        f"/admin/booking/movie/{movie.pk}/change/", movie_post(movie, duration_minutes=200)
    )

    assert response.status_code == 200  # the form again, with the error
    html = response.content.decode()
    assert "errors field-duration_minutes" in html
    assert "is taken then" in html
    movie.refresh_from_db()
    assert movie.duration_minutes == 166


def test_a_movie_made_a_little_longer_in_the_admin_is_saved(admin_web, laid_out_show):
    movie = laid_out_show.movie

    response = admin_web.post(
        f"/admin/booking/movie/{movie.pk}/change/", movie_post(movie, duration_minutes=170)
    )

    assert response.status_code == 302
    movie.refresh_from_db()
    assert movie.duration_minutes == 170


# --- Cinemas ----------------------------------------------------------------------------


def test_the_cinemas_changelist_counts_each_cinemas_screens(admin_web, cinema):
    make_screen(cinema, name="Screen 1")
    make_screen(cinema, name="Screen 2")
    make_cinema("Hilltop", city="Mumbai")

    html = admin_web.get("/admin/booking/cinema/").content.decode()

    rows = {
        row.all("field-name")[0].text: row.all("field-screen_count")[0].text
        for row in result_rows(html)
    }
    assert rows == {"Riverside": "2", "Hilltop": "0"}


def test_cinemas_are_found_by_city_and_filtered_by_it(admin_web):
    make_cinema("Riverside", city="Pune")
    make_cinema("Hilltop", city="Mumbai")

    searched = admin_web.get("/admin/booking/cinema/?q=mumbai").content.decode()
    filtered = admin_web.get("/admin/booking/cinema/?city=Pune").content.decode()

    assert names_listed(searched) == ["Hilltop"]
    assert names_listed(filtered) == ["Riverside"]


def test_a_cinemas_page_lists_its_screens_read_only_with_links(admin_web, screen):
    html = admin_web.get(f"/admin/booking/cinema/{screen.cinema.pk}/change/").content.decode()

    assert f'href="/admin/booking/screen/{screen.pk}/change/"' in html
    assert 'name="screens-0-name"' not in html  # read-only: no input for it
    (inline_row,) = page(html).all("form-row", "has_original")  # not the empty template
    assert inline_row.all("field-name")[0].text.strip() == "Screen 1"
    assert inline_row.all("field-capacity")[0].text.strip() == "22"
    assert inline_row.all("field-categories")[0].text.strip() == "standard, premium"


def test_a_cinema_added_in_the_admin_is_saved(admin_web):
    response = admin_web.post(
        "/admin/booking/cinema/add/",
        {
            "name": "Lakeside",
            "city": "Nagpur",
            "address": "2 Lake Road",
            "screens-TOTAL_FORMS": 0,
            "screens-INITIAL_FORMS": 0,
            "_save": "Save",
        },
    )

    assert response.status_code == 302, response.content.decode()[-3000:]
    cinema = Cinema.objects.get()
    assert (cinema.name, cinema.city, cinema.address) == ("Lakeside", "Nagpur", "2 Lake Road")


def test_a_cinema_with_screens_cannot_be_deleted_in_the_admin(admin_web, screen):
    response = admin_web.get(f"/admin/booking/cinema/{screen.cinema.pk}/delete/")

    assert response.status_code == 403
    assert Cinema.objects.filter(pk=screen.cinema.pk).exists()


def test_the_cinemas_changelist_takes_as_many_queries_for_10_rows_as_for_2(admin_web):
    for n in range(2):
        make_screen(make_cinema(f"Cinema {n}"))
    with_two = queries_for(admin_web, "/admin/booking/cinema/")

    for n in range(2, 10):
        make_screen(make_cinema(f"Cinema {n}", city=f"City {n}"))
    with_ten = queries_for(admin_web, "/admin/booking/cinema/")

    assert Cinema.objects.count() == 10
    assert with_ten == with_two


# --- Screens: the rows as a table, checked as one layout, and drawn ----------------------


def screen_post(cinema, name, rows, *, initial=0, **extra) -> dict:
    """The screen form's POST: rows front to back, the first `initial` of them existing.

    Each row is a dict with label, seats and optionally aisles_after, category,
    wheelchair (typed text, as staff type it), id (of an existing row) and DELETE.
    """
    data = {
        "cinema": cinema.pk,
        "name": name,
        "rows-TOTAL_FORMS": len(rows),
        "rows-INITIAL_FORMS": initial,
        "rows-MIN_NUM_FORMS": 0,
        "rows-MAX_NUM_FORMS": 50,
        "_save": "Save",
    }
    for i, row in enumerate(rows):
        data[f"rows-{i}-label"] = row["label"]
        data[f"rows-{i}-seats"] = row["seats"]
        data[f"rows-{i}-aisles_after"] = row.get("aisles_after", "")
        data[f"rows-{i}-category"] = row.get("category", "standard")
        data[f"rows-{i}-wheelchair"] = row.get("wheelchair", "")
        if "id" in row:
            data[f"rows-{i}-id"] = row["id"]
            data[f"rows-{i}-screen"] = row["screen"]
        if row.get("DELETE"):
            data[f"rows-{i}-DELETE"] = "on"
    data.update(extra)
    return data


def saved_rows(screen) -> list[tuple]:
    return list(
        ScreenRow.objects.filter(screen=screen)
        .order_by("position")
        .values_list("position", "label", "seats", "aisles_after", "category", "wheelchair")
    )


def existing_rows(screen) -> list[dict]:
    """The rows of screen as the change form shows them."""
    return [
        {
            "id": row.pk,
            "screen": screen.pk,
            "label": row.label,
            "seats": row.seats,
            "aisles_after": ", ".join(map(str, row.aisles_after)),
            "category": row.category,
            "wheelchair": ", ".join(map(str, row.wheelchair)),
        }
        for row in screen.rows.order_by("position")
    ]


def test_cinema_staff_who_are_not_superusers_can_lay_out_a_screen(staff_user, cinema):
    client = Client()
    client.force_login(staff_user)  # in the Cinema staff group
    rows = [{"label": "A", "seats": 6, "aisles_after": "3"}]

    form_page = client.get("/admin/booking/screen/add/")
    response = client.post("/admin/booking/screen/add/", screen_post(cinema, "Studio", rows))

    assert 'name="rows-0-label"' in form_page.content.decode()
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert saved_rows(Screen.objects.get(name="Studio")) == [(0, "A", 6, [3], "standard", [])]


def test_a_screen_added_in_the_admin_gets_its_rows_front_to_back(admin_web, cinema):
    rows = [
        {"label": "A", "seats": 12, "aisles_after": "3, 9", "wheelchair": "1,12"},
        {"label": "B", "seats": 12, "aisles_after": " 3 ,9 "},
        {"label": "J", "seats": 10, "category": "premium"},
    ]

    response = admin_web.post("/admin/booking/screen/add/", screen_post(cinema, "Screen 5", rows))

    assert response.status_code == 302, response.content.decode()[-3000:]
    screen = Screen.objects.get(name="Screen 5")
    assert screen.cinema == cinema
    assert saved_rows(screen) == [
        (0, "A", 12, [3, 9], "standard", [1, 12]),
        (1, "B", 12, [3, 9], "standard", []),
        (2, "J", 10, [], "premium", []),
    ]


def test_the_screen_form_shows_the_places_as_typed_text(admin_web, screen):
    html = admin_web.get(f"/admin/booking/screen/{screen.pk}/change/").content.decode()

    inputs = {
        element.attrs["name"]: element.attrs.get("value", "")
        for element in page(html).all()
        if element.tag == "input" and element.attrs.get("name", "").startswith("rows-0-")
    }
    assert inputs["rows-0-label"] == "A"
    assert inputs["rows-0-aisles_after"] == "3, 9"
    assert inputs["rows-0-wheelchair"] == "1, 12"


def test_editing_a_screens_rows_rewrites_its_layout_and_appends_new_rows_at_the_back(
    admin_web, screen
):
    rows = existing_rows(screen)
    rows[0]["aisles_after"] = "6"  # one aisle down the middle of row A
    rows.append({"label": "K", "seats": 8, "category": "recliner", "wheelchair": "8"})

    response = admin_web.post(
        f"/admin/booking/screen/{screen.pk}/change/",
        screen_post(screen.cinema, screen.name, rows, initial=2),
    )

    assert response.status_code == 302, response.content.decode()[-3000:]
    assert saved_rows(screen) == [
        (0, "A", 12, [6], "standard", [1, 12]),
        (1, "J", 10, [], "premium", []),
        (2, "K", 8, [], "recliner", [8]),
    ]
    history = LogEntry.objects.get(object_id=str(screen.pk)).get_change_message()
    assert "Changed aisles after for screen row “Row A”" in history
    assert "Added screen row “Row K”" in history


def test_a_row_can_be_deleted_from_a_screen_in_the_admin(admin_web, screen):
    rows = existing_rows(screen)
    rows[0]["DELETE"] = True

    response = admin_web.post(
        f"/admin/booking/screen/{screen.pk}/change/",
        screen_post(screen.cinema, screen.name, rows, initial=2),
    )

    assert response.status_code == 302, response.content.decode()[-3000:]
    assert saved_rows(screen) == [(0, "J", 10, [], "premium", [])]


def test_renaming_a_screen_alone_keeps_its_rows(admin_web, screen):
    before = list(screen.rows.order_by("position").values_list("pk", flat=True))

    response = admin_web.post(
        f"/admin/booking/screen/{screen.pk}/change/",
        screen_post(screen.cinema, "Screen 1 IMAX", existing_rows(screen), initial=2),
    )

    assert response.status_code == 302
    screen.refresh_from_db()
    assert screen.name == "Screen 1 IMAX"
    assert list(screen.rows.order_by("position").values_list("pk", flat=True)) == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"aisles_after": "3, 12"}, "Row A: aisles_after must be places in 1..11."),
        ({"wheelchair": "13"}, "Row A: wheelchair must be places in 1..12."),
        ({"label": "j"}, "Row label J is used twice."),  # row 2's J, compared case-blind
        ({"category": "Gold Class"}, "Row A: category must be 1-30 characters"),
        ({"label": "A-1"}, "Row label &#x27;A-1&#x27; must be 1-5 letters or digits."),
    ],
)
def test_an_invalid_layout_is_refused_with_the_reason_and_nothing_is_written(
    admin_web, screen, change, message
):
    before = saved_rows(screen)
    rows = existing_rows(screen)
    rows[0].update(change)

    response = admin_web.post(
        f"/admin/booking/screen/{screen.pk}/change/",
        screen_post(screen.cinema, "Renamed", rows, initial=2),
    )

    assert response.status_code == 200  # the form again, with the error
    html = response.content.decode()
    assert message in html
    assert "errornote" in html
    screen.refresh_from_db()
    assert screen.name == "Screen 1"
    assert saved_rows(screen) == before


def test_places_that_are_not_numbers_are_an_error_on_that_cell(admin_web, cinema):
    rows = [{"label": "A", "seats": 12, "aisles_after": "3, nine"}]

    response = admin_web.post("/admin/booking/screen/add/", screen_post(cinema, "Screen 5", rows))

    assert response.status_code == 200
    assert "whole numbers separated by commas" in response.content.decode()
    assert not Screen.objects.filter(name="Screen 5").exists()


def test_a_screen_without_rows_is_refused(admin_web, cinema):
    response = admin_web.post("/admin/booking/screen/add/", screen_post(cinema, "Empty", []))

    assert response.status_code == 200
    assert "A screen has 1-50 rows." in response.content.decode()
    assert not Screen.objects.exists()


def test_a_second_screen_of_the_same_name_in_a_cinema_is_refused(admin_web, screen):
    rows = [{"label": "A", "seats": 5}]

    response = admin_web.post(
        "/admin/booking/screen/add/", screen_post(screen.cinema, "SCREEN 1", rows)
    )

    assert response.status_code == 200
    assert "Riverside already has a screen called SCREEN 1." in response.content.decode()
    assert Screen.objects.count() == 1


def test_the_screen_page_draws_its_layout_with_labels_aisles_and_wheelchair_spaces(
    admin_web, screen
):
    html = admin_web.get(f"/admin/booking/screen/{screen.pk}/change/").content.decode()

    seatmap = drawn(html)
    assert seatmap.all("screen-bar")[0].text == "SCREEN"
    rows = seatmap.all("seat-row")
    assert [[label.text for label in row.all("row-label")] for row in rows] == [
        ["A", "A"],
        ["J", "J"],
    ]
    front, back = rows
    # Row A: seats 1-3, an aisle, 4-9, an aisle, 10-12, in that order.
    cells = [("aisle" if "aisle" in c.classes else c.text) for c in front.children[1:-1]]
    assert cells == ["♿1", "2", "3", "aisle", *map(str, range(4, 10)), "aisle", "10", "11", "♿12"]
    assert back.all("aisle") == []
    assert len(back.all("seat", "cat-1")) == 10  # premium has its own colour
    assert len(front.all("seat", "cat-0")) == 12
    assert len(seatmap.all("seat", "wheelchair")) == 2
    assert "standard: 12 seats" in seatmap.text
    assert "premium: 10 seats" in seatmap.text
    assert "22 seats in 2 rows" in seatmap.text


def test_a_screen_with_shows_cannot_be_deleted_in_the_admin(admin_web, laid_out_show):
    screen = laid_out_show.screen

    response = admin_web.get(f"/admin/booking/screen/{screen.pk}/delete/")

    assert response.status_code == 403
    assert Screen.objects.filter(pk=screen.pk).exists()


def test_a_screen_without_shows_is_deleted_in_the_admin(admin_web, screen):
    response = admin_web.post(f"/admin/booking/screen/{screen.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Screen.objects.exists()
    assert not ScreenRow.objects.exists()


def test_the_screens_changelist_shows_capacity_and_categories(admin_web, screen):
    html = admin_web.get("/admin/booking/screen/").content.decode()

    (row,) = result_rows(html)
    assert row.all("field-capacity")[0].text == "22"
    assert row.all("field-categories")[0].text == "standard, premium"
    assert "Riverside" in row.all("field-cinema")[0].text


def test_the_screens_changelist_takes_as_many_queries_for_10_rows_as_for_2(admin_web):
    cinemas = [make_cinema(f"Cinema {n}") for n in range(2)]
    for n in range(2):
        make_screen(cinemas[n % 2], name=f"Screen {n}")
    with_two = queries_for(admin_web, "/admin/booking/screen/")

    for n in range(2, 10):
        make_screen(cinemas[n % 2], name=f"Screen {n}")
    with_ten = queries_for(admin_web, "/admin/booking/screen/")

    assert Screen.objects.count() == 10
    assert with_ten == with_two


# --- Shows on a screen -------------------------------------------------------------------


def test_a_laid_out_shows_seat_map_draws_its_rows_aisles_categories_and_bookings(
    admin_web, laid_out_show
):
    first = book(laid_out_show, [4, 5])  # A4, A5
    second = book(laid_out_show, [13])  # J1

    html = admin_web.get(f"/admin/booking/show/{laid_out_show.pk}/change/").content.decode()

    seatmap = drawn(html)
    rows = seatmap.all("seat-row")
    assert [row.all("row-label")[0].text for row in rows] == ["A", "J"]
    assert [len(row.all("seat")) for row in rows] == [12, 10]
    assert [len(row.all("aisle")) for row in rows] == [2, 0]
    booked = seatmap.all("seat", "booked")
    assert [(seat.tag, seat.text, seat.attrs["href"]) for seat in booked] == [
        ("a", "4", booking_url(first)),
        ("a", "5", booking_url(first)),
        ("a", "1", booking_url(second)),
    ]
    assert first.reference in booked[0].attrs["title"]
    assert "J1" in booked[2].attrs["title"]
    assert "standard: 250.00" in seatmap.text
    assert "premium: 400.00" in seatmap.text
    assert "19 free, 3 booked" in seatmap.text
    assert f'href="/admin/booking/booking/?show={laid_out_show.pk}"' in html


def test_seats_in_an_active_hold_are_drawn_held_and_an_expired_hold_free(admin_web, laid_out_show):
    now = timezone.now()
    services.hold_seats(user=make_user("payer"), show=laid_out_show, now=now, seat_numbers=[6, 7])
    expired = now - timedelta(minutes=settings.SEAT_HOLD_MINUTES + 1)
    services.hold_seats(user=make_user("gone"), show=laid_out_show, now=expired, seat_numbers=[8])
    # (that hold expired a minute ago and was never swept: seat 8 is free)

    html = admin_web.get(f"/admin/booking/show/{laid_out_show.pk}/change/").content.decode()

    seatmap = drawn(html)
    assert [seat.text for seat in seatmap.all("seat", "held")] == ["6", "7"]
    assert "20 free, 0 booked, 2 held" in seatmap.text
    changelist = admin_web.get("/admin/booking/show/").content.decode()
    (row,) = result_rows(changelist)
    assert row.all("field-available")[0].text == "20"


def test_the_seat_map_reads_the_seats_in_one_query(laid_out_show, django_assert_num_queries):
    book(laid_out_show, [1, 2])
    book(laid_out_show, [20])
    show_admin = admin.site._registry[Show]

    with django_assert_num_queries(1):  # the seats, their bookings' references joined
        html = str(show_admin.seat_map(laid_out_show))

    assert html.count('class="seat ') == 22


def test_the_show_page_takes_as_many_queries_with_many_bookings_as_with_one(
    admin_web, laid_out_show
):
    url = f"/admin/booking/show/{laid_out_show.pk}/change/"
    book(laid_out_show, [1])
    with_one = queries_for(admin_web, url)

    for seat in range(2, 12):
        book(laid_out_show, [seat])
    with_eleven = queries_for(admin_web, url)

    assert with_eleven == with_one


def show_on_screen_post(movie, screen, start, **overrides) -> dict:
    start = timezone.localtime(start)
    data = {
        "movie": movie.pk,
        "screen": screen.pk if screen is not None else "",
        "screen_name": "",
        "total_seats": "",
        "start_time_0": start.date().isoformat(),
        "start_time_1": start.time().strftime("%H:%M:%S"),
        "price": "250.00",
        "prices": "",
        "_save": "Save",
    }
    data.update(overrides)
    return data


def test_a_show_on_a_screen_added_in_the_admin_copies_the_layout_and_its_prices(
    admin_web, movie, screen
):
    start = timezone.now() + timedelta(days=3)

    response = admin_web.post(
        "/admin/booking/show/add/",
        show_on_screen_post(movie, screen, start, prices="premium = 400, "),
    )

    assert response.status_code == 302, response.content.decode()[-3000:]
    show = Show.objects.get()
    assert (show.screen, show.screen_name, show.total_seats) == (screen, "Screen 1", 22)
    assert show.category_prices == {"premium": "400.00"}
    assert show.prices == {"standard": Decimal("250.00"), "premium": Decimal("400.00")}
    labels = list(Seat.objects.filter(show=show).values_list("label", flat=True))
    assert labels[:3] == ["A1", "A2", "A3"]
    assert labels[-1] == "J10"


def test_a_show_on_a_screen_refuses_a_number_of_seats_of_its_own(admin_web, movie, screen):
    response = admin_web.post(
        "/admin/booking/show/add/",
        show_on_screen_post(movie, screen, timezone.now() + timedelta(days=3), total_seats=40),
    )

    assert response.status_code == 200
    assert "a show on a screen has the screen&#x27;s seats" in response.content.decode()
    assert not Show.objects.exists()


def test_a_show_without_a_screen_needs_a_screen_name_and_seats(admin_web, movie):
    response = admin_web.post(
        "/admin/booking/show/add/",
        show_on_screen_post(movie, None, timezone.now() + timedelta(days=3)),
    )

    assert response.status_code == 200
    assert response.content.decode().count("Required for a show without a screen") == 2
    assert not Show.objects.exists()


def test_a_price_for_a_category_the_screen_lacks_is_an_error_on_the_prices(
    admin_web, movie, screen
):
    response = admin_web.post(
        "/admin/booking/show/add/",
        show_on_screen_post(
            movie, screen, timezone.now() + timedelta(days=3), prices="recliner=550.00"
        ),
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "This show has no category &#x27;recliner&#x27;" in html
    assert "errors field-prices" in html
    assert not Show.objects.exists()


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("premium 400", "write category=price"),
        ("premium=abc", "write category=price"),
        ("premium=400.001", "at most 2 decimals"),
        ("premium=-1", "at most 2 decimals"),
        ("premium=400, premium=500", "premium is priced twice."),
    ],
)
def test_prices_typed_wrongly_are_refused(admin_web, movie, screen, typed, message):
    response = admin_web.post(
        "/admin/booking/show/add/",
        show_on_screen_post(movie, screen, timezone.now() + timedelta(days=3), prices=typed),
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Show.objects.exists()


def test_a_busy_screen_is_an_error_on_the_start_time_not_a_500(admin_web, laid_out_show):
    overlapping = laid_out_show.start_time + timedelta(minutes=30)

    response = admin_web.post(
        "/admin/booking/show/add/",
        show_on_screen_post(laid_out_show.movie, laid_out_show.screen, overlapping),
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "errors field-start_time" in html
    assert f"show {laid_out_show.pk} (Dune: Part Two)" in html
    assert Show.objects.count() == 1
    assert Seat.objects.count() == 22  # the one show's seats: nothing was written


def test_moving_a_show_onto_a_busy_slot_is_refused_and_changes_nothing(admin_web, laid_out_show):
    later = make_show_on_screen(
        laid_out_show.movie,
        laid_out_show.screen,
        start_time=laid_out_show.start_time + timedelta(days=1),
    )

    response = admin_web.post(
        f"/admin/booking/show/{later.pk}/change/",
        show_on_screen_post(
            later.movie,
            later.screen,
            laid_out_show.start_time + timedelta(minutes=10),
            prices="premium=300.00",
        ),
    )

    assert response.status_code == 200
    assert "errors field-start_time" in response.content.decode()
    later.refresh_from_db()
    assert later.start_time == laid_out_show.start_time + timedelta(days=1)
    assert later.category_prices == {}


def test_changing_the_movie_of_a_booked_show_is_a_form_error(admin_web, laid_out_show):
    book(laid_out_show, [1])
    other = make_movie(title="Heat", duration_minutes=90)

    response = admin_web.post(
        f"/admin/booking/show/{laid_out_show.pk}/change/",
        show_on_screen_post(
            other, laid_out_show.screen, laid_out_show.start_time, prices="premium=400.00"
        ),
    )

    assert response.status_code == 200
    assert "its movie and screen cannot change" in response.content.decode()
    laid_out_show.refresh_from_db()
    assert laid_out_show.movie.title == "Dune: Part Two"


def test_the_prices_of_a_show_are_changed_in_the_admin(admin_web, laid_out_show):
    url = f"/admin/booking/show/{laid_out_show.pk}/change/"
    form = page(admin_web.get(url).content.decode())
    (prices,) = [e for e in form.all() if e.attrs.get("name") == "prices"]
    assert prices.attrs["value"] == "premium=400.00"

    response = admin_web.post(
        url,
        show_on_screen_post(
            laid_out_show.movie,
            laid_out_show.screen,
            laid_out_show.start_time,
            price="200.00",
            prices="premium=450.50, standard=210",
        ),
    )

    assert response.status_code == 302, response.content.decode()[-3000:]
    laid_out_show.refresh_from_db()
    assert laid_out_show.prices == {"standard": Decimal("210.00"), "premium": Decimal("450.50")}
    assert laid_out_show.price == Decimal("200.00")


def test_a_shows_screen_name_and_seats_are_read_only_once_it_is_on_a_screen(
    admin_web, laid_out_show
):
    html = admin_web.get(f"/admin/booking/show/{laid_out_show.pk}/change/").content.decode()

    assert 'name="total_seats"' not in html
    assert 'name="screen_name"' not in html
    assert 'name="screen"' in html


def test_shows_are_filtered_by_cinema_and_by_screen(admin_web, movie):
    riverside, hilltop = make_cinema("Riverside"), make_cinema("Hilltop", city="Mumbai")
    here = make_show_on_screen(movie, make_screen(riverside))
    there = make_show_on_screen(movie, make_screen(hilltop, name="Grand"))
    make_show(movie)  # without a screen

    by_cinema = admin_web.get(f"/admin/booking/show/?screen__cinema__id__exact={hilltop.pk}")
    by_screen = admin_web.get(f"/admin/booking/show/?screen__id__exact={here.screen.pk}")

    assert listed_ids(by_cinema.content.decode()) == [there.pk]
    assert listed_ids(by_screen.content.decode()) == [here.pk]
    assert "Grand (Hilltop)" in by_cinema.content.decode()  # the screen filter's choices


def test_the_shows_changelist_names_the_cinema_of_each_show(admin_web, laid_out_show, show):
    html = admin_web.get("/admin/booking/show/").content.decode()

    cinemas = sorted(row.all("field-cinema")[0].text for row in result_rows(html))
    assert cinemas == ["Riverside, Pune", "—"]


def test_the_shows_changelist_with_screens_takes_as_many_queries_for_10_rows_as_for_2(
    admin_web, movie
):
    def add_show(n):
        screen = make_screen(make_cinema(f"Cinema {n}"), name=f"Screen {n}")
        book(make_show_on_screen(movie, screen), [1])

    for n in range(2):
        add_show(n)
    with_two = queries_for(admin_web, "/admin/booking/show/")

    for n in range(2, 10):
        add_show(n)
    with_ten = queries_for(admin_web, "/admin/booking/show/")

    assert Show.objects.count() == 10
    assert with_ten == with_two


# --- Bookings ------------------------------------------------------------------------------


def test_bookings_are_found_by_email_and_by_movie_title(admin_web, laid_out_show, movie):
    by_carol = book(laid_out_show, [1], user=make_user("carol", email="carol@cinema.test"))
    heat = make_show(make_movie(title="Heat"), total_seats=5)
    by_dave = book(heat, [2], user=make_user("dave"))

    by_email = admin_web.get("/admin/booking/booking/?q=carol@cinema.test").content.decode()
    by_title = admin_web.get("/admin/booking/booking/?q=heat").content.decode()

    assert listed_ids(by_email) == [by_carol.pk]
    assert listed_ids(by_title) == [by_dave.pk]


def test_the_bookings_list_shows_the_seats_by_label(admin_web, laid_out_show):
    booking = book(laid_out_show, [12, 13])  # A12 (a wheelchair space), J1

    html = admin_web.get("/admin/booking/booking/").content.decode()

    (row,) = result_rows(html)
    assert row.all("field-seat_labels")[0].text == "A12, J1"
    assert row.all("field-cinema")[0].text == "Riverside"
    assert booking.reference in row.text


def test_bookings_are_filtered_by_cinema(admin_web, movie, laid_out_show):
    here = book(laid_out_show, [1])
    elsewhere = make_show_on_screen(movie, make_screen(make_cinema("Hilltop", city="Mumbai")))
    book(elsewhere, [1])
    cinema = laid_out_show.screen.cinema

    html = admin_web.get(f"/admin/booking/booking/?show__screen__cinema__id__exact={cinema.pk}")

    assert listed_ids(html.content.decode()) == [here.pk]


def test_bookings_are_filtered_by_show_id_without_listing_every_show(admin_web, movie):
    past = make_show(movie, start_time=timezone.now() + timedelta(days=40))
    upcoming = [
        make_show(movie, start_time=timezone.now() + timedelta(hours=n)) for n in range(1, 13)
    ]
    mine = book(past, [3])
    book(upcoming[0], [3])

    html = admin_web.get(f"/admin/booking/booking/?show={past.pk}").content.decode()

    assert listed_ids(html) == [mine.pk]
    choices = [a.attrs["href"] for a in page(html).all() if "show=" in a.attrs.get("href", "")]
    offered = {href.split("show=")[1].split("&")[0] for href in choices}
    # The chosen show and the 10 soonest ones; not the two later shows of the 13.
    assert offered == {str(past.pk), *(str(show.pk) for show in upcoming[:10])}


def test_a_show_filter_value_that_is_not_an_id_lists_nothing(admin_web, show):
    book(show, [1])

    html = admin_web.get("/admin/booking/booking/?show=abc").content.decode()

    assert listed_ids(html) == []
    assert "0 bookings" in html


def test_the_bookings_changelist_with_cinemas_takes_as_many_queries_for_10_rows_as_for_2(
    admin_web, movie
):
    shows = [make_show_on_screen(movie, make_screen(make_cinema(f"C{n}"))) for n in range(2)]
    for seat in (1, 2):
        book(shows[seat % 2], [seat])
    with_two = queries_for(admin_web, "/admin/booking/booking/")

    for seat in range(3, 11):
        book(shows[seat % 2], [seat])
    with_ten = queries_for(admin_web, "/admin/booking/booking/")

    assert Booking.objects.count() == 10
    assert with_ten == with_two


# --- Page helpers --------------------------------------------------------------------------


def page(html: str) -> Element:
    tree = _Tree()
    tree.feed(html)
    return tree.root


def result_rows(html: str) -> list[Element]:
    """The rows of a changelist's table, in its order."""
    tables = [e for e in page(html).all() if e.attrs.get("id") == "result_list"]
    if not tables:
        return []  # an empty changelist has no table
    (body,) = [e for e in tables[0].children if e.tag == "tbody"]
    return [row for row in body.children if row.tag == "tr"]


def names_listed(html: str) -> list[str]:
    return [row.all("field-name")[0].text for row in result_rows(html)]


def listed_ids(html: str) -> list[int]:
    """The ids of the objects a changelist shows, in its order."""
    return [int(row.all("action-select")[0].attrs["value"]) for row in result_rows(html)]


# --- Holds ----------------------------------------------------------------------------

HOLDS_URL = "/admin/booking/hold/"


def hold(show, seats, user=None, now=None):
    user = user or make_user(f"holder{Hold.objects.count()}")
    return services.hold_seats(user=user, show=show, now=now or timezone.now(), seat_numbers=seats)


def test_the_holds_changelist_lists_user_show_seats_expiry_and_status(admin_web, laid_out_show):
    active = hold(laid_out_show, [4, 5])
    expired = hold(laid_out_show, [7], now=timezone.now() - timedelta(hours=1))

    html = admin_web.get(HOLDS_URL).content.decode()

    assert active.user.username in html and expired.user.username in html
    assert "A4, A5" in html
    assert laid_out_show.movie.title in html
    assert "Active" in html and "Expired" in html  # read at once, no sweep needed


def test_the_holds_changelist_takes_as_many_queries_for_10_rows_as_for_2(admin_web, movie):
    for _ in range(2):
        hold(make_show(movie), [1])
    two = queries_for(admin_web, HOLDS_URL)
    for _ in range(8):
        hold(make_show(movie), [1])

    assert queries_for(admin_web, HOLDS_URL) == two


def test_the_active_status_filter_leaves_out_expired_holds(admin_web, laid_out_show):
    active = hold(laid_out_show, [4])
    expired = hold(laid_out_show, [7], now=timezone.now() - timedelta(hours=1))

    html = admin_web.get(HOLDS_URL, {"state": "active"}).content.decode()

    assert active.user.username in html
    assert expired.user.username not in html


def test_the_release_action_releases_the_hold_and_frees_its_seats(admin_web, laid_out_show):
    released = hold(laid_out_show, [4, 5])
    kept = hold(laid_out_show, [8])

    response = admin_web.post(
        HOLDS_URL, {"action": "release_selected", "_selected_action": [released.pk]}
    )

    assert response.status_code == 302
    released.refresh_from_db()
    assert released.status == Hold.Status.RELEASED
    assert not Seat.objects.filter(show=laid_out_show, hold=released).exists()
    kept.refresh_from_db()
    assert kept.status == Hold.Status.ACTIVE
    assert Seat.objects.get(show=laid_out_show, number=8).hold_id == kept.pk


def test_releasing_a_confirmed_hold_in_the_admin_is_a_message_not_an_error(
    admin_web, laid_out_show
):
    confirmed = hold(laid_out_show, [4])
    services.confirm_hold(hold=confirmed, now=timezone.now())

    response = admin_web.post(
        HOLDS_URL,
        {"action": "release_selected", "_selected_action": [confirmed.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert b"already confirmed or released" in response.content
    confirmed.refresh_from_db()
    assert confirmed.status == Hold.Status.CONFIRMED


def test_held_seats_are_drawn_on_the_admin_seat_map(admin_web, laid_out_show):
    hold(laid_out_show, [4, 5])

    html = admin_web.get(f"/admin/booking/show/{laid_out_show.pk}/change/").content.decode()

    held = re.findall(r'class="seat\b[^"]*\bheld\b', html)
    assert len(held) == 2
