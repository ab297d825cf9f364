"""Django admin: staff schedule a movie and a show, see its seat map, cancel a booking;
lay out a screen's rows and see the auditorium drawn, with a show's bookings on it."""

import re
import secrets
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

ADMIN = {"username": "admin", "password": "admin-pass-2026"}  # from load_sample_data.py
# Cinema staff, no superuser powers: what a cinema's own staff log in as.
STAFF = {"username": "staff", "password": "staff-pass-2026"}
DEMO = {"username": "demo", "password": "demo-pass-2026"}


def expect_seat_map(page, *, free: int, booked: list[int]) -> None:
    seatmap = page.locator(".field-seat_map .seatmap")
    expect(seatmap).to_contain_text(f"{free} free, {len(booked)} booked")
    expect(seatmap.locator(".seat")).to_have_count(free + len(booked))
    expect(seatmap.locator(".seat.booked")).to_have_text([str(n) for n in booked])


def log_in(page, recorder, who=ADMIN) -> None:
    """Log in to the admin as one of the sample data's staff (the superuser by default)."""
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    page.fill("#id_username", who["username"])
    page.fill("#id_password", who["password"])
    recorder.shot("login")
    page.locator("input[type=submit]").click()
    expect(page.locator("#site-name")).to_be_visible()
    expect(page.locator("#user-tools")).to_contain_text(who["username"])
    recorder.shot("admin-index")


def test_admin_schedules_a_show_and_cancels_a_booking(page, recorder, api):
    title = f"Browser Test Movie {secrets.token_hex(3)}"  # unique: the autocomplete finds one
    starts = (datetime.now(UTC) + timedelta(days=3)).replace(
        hour=19, minute=30, second=0, microsecond=0
    )  # the server runs with TIME_ZONE=UTC, so the admin's fields are UTC too

    # Log in as cinema staff: no superuser powers, only the Cinema staff group's.
    log_in(page, recorder, STAFF)

    # Movies > Add.
    page.locator("#content-main a[href$='/booking/movie/']").first.click()
    page.get_by_role("link", name="Add movie").click()
    page.fill("#id_title", title)
    page.fill("#id_description", "Made by the browser tests.")
    page.fill("#id_duration_minutes", "101")
    page.fill("#id_genre", "Drama")
    page.fill("#id_language", "English")
    page.fill("#id_release_date", "2026-01-15")
    recorder.shot("movie-form")
    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist .success")).to_contain_text("was added successfully")
    expect(page.locator("#result_list")).to_contain_text(title)
    recorder.shot("movie-added")
    page.goto("/admin/")

    # Shows > Add (from the admin index), picking the movie in the autocomplete (select2) widget.
    page.locator("#content-main a[href$='/booking/show/']").first.click()
    page.get_by_role("link", name="Add show").click()
    page.locator(".field-movie .select2-selection").click()
    search = page.locator(".select2-container--open .select2-search__field")
    search.fill(title[:-2])
    option = page.locator(".select2-results__option", has_text=title)
    expect(option).to_have_count(1)
    recorder.shot("show-movie-autocomplete")
    option.click()
    expect(page.locator(".field-movie .select2-selection__rendered")).to_contain_text(title)
    page.fill("#id_screen_name", "Screen 9")
    page.fill("#id_start_time_0", starts.strftime("%Y-%m-%d"))
    page.fill("#id_start_time_1", starts.strftime("%H:%M:%S"))
    page.fill("#id_total_seats", "30")
    page.fill("#id_price", "199.50")
    expect(page.locator(".field-seat_map")).to_contain_text("created with the show")
    recorder.shot("show-form")
    page.locator("input[name=_save]").click()
    success = page.locator(".messagelist .success")
    expect(success).to_contain_text("was added successfully")
    recorder.shot("show-added")

    # The show's change page: 30 seats, none booked.
    success.locator("a").click()
    expect(page).to_have_url(re.compile(r"/admin/booking/show/\d+/change/"))
    show_id = int(re.search(r"/show/(\d+)/change/", page.url).group(1))
    expect(page.locator("#id_total_seats")).to_have_value("30")
    expect_seat_map(page, free=30, booked=[])
    recorder.shot("show-seat-map-empty", full_page=True)

    show = api.call("GET", f"/api/shows/{show_id}/")[1]
    assert show["movie"]["title"] == title
    assert show["start_time"] == starts.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (show["total_seats"], show["available_seats"], show["price"]) == (30, 30, "199.50")

    # A customer books seat 5 through the API.
    token = api.login(DEMO)
    status, booking = api.call("POST", f"/api/shows/{show_id}/book/", {"seat_number": 5}, token)
    assert status == 201, booking
    assert booking["seat_numbers"] == [5]

    page.reload()
    expect_seat_map(page, free=29, booked=[5])
    recorder.shot("show-seat-map-booked", full_page=True)

    # Bookings: select that booking, "Cancel selected bookings", Go.
    page.goto("/admin/booking/booking/")
    row = page.locator("#result_list tbody tr", has_text=booking["reference"])
    expect(row).to_have_count(1)
    expect(row).to_contain_text(title)
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", "cancel_selected")
    recorder.shot("booking-selected")
    page.locator("button[name=index]").click()
    messages = page.locator(".messagelist")
    expect(messages).to_contain_text("Cancelled 1 booking(s); their seats are free.")
    expect(messages.locator(".warning, .error")).to_have_count(0)
    row = page.locator("#result_list tbody tr", has_text=booking["reference"])
    expect(row).to_contain_text("Cancelled")
    recorder.shot("booking-cancelled")

    # The seat is free again, for the API and on the show's page.
    seats = api.call("GET", f"/api/shows/{show_id}/seats/")[1]
    assert 5 in seats["available_seats"]
    assert seats["booked_seats"] == []
    status, mine = api.call("GET", f"/api/bookings/{booking['id']}/", token=token)
    assert (status, mine["status"]) == (200, "cancelled")
    page.goto(f"/admin/booking/show/{show_id}/change/")
    expect_seat_map(page, free=30, booked=[])
    recorder.shot("show-seat-map-freed", full_page=True)
    assert recorder.foreign_requests() == [], "the admin loaded something from elsewhere"


# Four rows front to back: aisles after seats 3 and 9 in A and B, after 4 and 10 in C,
# none in the premium row J; wheelchair spaces at both ends of row A.
LAYOUT = [
    {"label": "A", "seats": 12, "aisles_after": [3, 9], "wheelchair": [1, 12]},
    {"label": "B", "seats": 12, "aisles_after": [3, 9]},
    {"label": "C", "seats": 14, "aisles_after": [4, 10]},
    {"label": "J", "seats": 10, "category": "premium"},
]


def row_labels(seatmap) -> list[str]:
    return seatmap.locator(".seat-row > .row-label:first-child").all_inner_texts()


def test_admin_draws_a_screens_layout_and_a_shows_seat_map_with_its_bookings(page, recorder, api):
    # Set-up through the API, as staff and as a customer: a cinema, a laid-out screen,
    # a show on it with a premium price, and one booking of two seats (A4 and J1).
    staff = api.login(ADMIN)
    suffix = secrets.token_hex(3)
    status, cinema = api.call(
        "POST", "/api/cinemas/", {"name": f"Browser Cinema {suffix}", "city": "Pune"}, staff
    )
    assert status == 201, cinema
    status, screen = api.call(
        "POST",
        "/api/screens/",
        {"cinema_id": cinema["id"], "name": "Screen 7", "rows": LAYOUT},
        staff,
    )
    assert status == 201, screen
    assert screen["capacity"] == 48
    status, movie = api.call(
        "POST",
        "/api/movies/",
        {"title": f"Browser Layout Movie {suffix}", "duration_minutes": 100},
        staff,
    )
    assert status == 201, movie
    starts = (datetime.now(UTC) + timedelta(days=4)).replace(minute=0, second=0, microsecond=0)
    status, show = api.call(
        "POST",
        "/api/shows/",
        {
            "movie_id": movie["id"],
            "screen_id": screen["id"],
            "start_time": starts.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "price": "250.00",
            "prices": {"premium": "400.00"},
        },
        staff,
    )
    assert status == 201, show
    customer = api.login(DEMO)
    status, booking = api.call(
        "POST", f"/api/shows/{show['id']}/book/", {"seat_numbers": [4, 39]}, customer
    )
    assert status == 201, booking
    assert [seat["label"] for seat in booking["seats"]] == ["A4", "J1"]

    log_in(page, recorder)

    # Cinemas > the cinema: its screen, read-only, with a link to it.
    page.goto(f"/admin/booking/cinema/?q={suffix}")
    page.locator("#result_list a", has_text=cinema["name"]).click()
    screen_link = page.locator(".inline-group a.inlinechangelink")
    expect(screen_link).to_have_count(1)
    expect(page.locator(".inline-group .field-capacity")).to_contain_text(["48"])
    recorder.shot("cinema-with-its-screen", full_page=True)

    # The screen's page: the rows as a table, the auditorium drawn below it.
    screen_link.click()
    expect(page).to_have_url(re.compile(rf"/admin/booking/screen/{screen['id']}/change/"))
    expect(page.locator("#rows-0 .field-aisles_after input")).to_have_value("3, 9")
    layout = page.locator(".layout-drawing .seatmap")
    expect(layout.locator(".seat-row")).to_have_count(4)
    assert row_labels(layout) == ["A", "B", "C", "J"]
    expect(layout.locator(".aisle")).to_have_count(6)
    layout.scroll_into_view_if_needed()
    recorder.shot("screen-layout", full_page=True)

    # Staff add a row at the back in the table ("Add another row") and save.
    page.locator(".inline-group .add-row a").click()
    new_row = page.locator("#rows-4")
    new_row.locator(".field-label input").fill("K")
    new_row.locator(".field-seats input").fill("8")
    new_row.locator(".field-aisles_after input").fill("4")
    new_row.locator(".field-category input").fill("recliner")
    recorder.shot("screen-row-added-in-the-table", full_page=True)
    page.locator("input[name=_continue]").click()
    expect(page.locator(".messagelist .success")).to_contain_text("was changed successfully")
    layout = page.locator(".layout-drawing .seatmap")
    assert row_labels(layout) == ["A", "B", "C", "J", "K"]
    expect(layout.locator(".seatmap-legend")).to_contain_text("recliner: 8 seats")

    # A layout that cannot be: the error is shown on the form, and nothing changes.
    page.locator("#rows-4 .field-aisles_after input").fill("8")
    page.locator("input[name=_continue]").click()
    expect(page.locator(".errornote")).to_be_visible()
    expect(page.locator(".inline-group .errorlist")).to_contain_text(
        "Row K: aisles_after must be places in 1..7."
    )
    recorder.shot("screen-layout-refused", full_page=True)
    saved = api.call("GET", f"/api/screens/{screen['id']}/")[1]
    assert [row["aisles_after"] for row in saved["rows"]][-1] == [4]

    # The show's page: its own snapshot of the layout (4 rows, not 5), its bookings.
    page.goto(f"/admin/booking/show/{show['id']}/change/")
    seatmap = page.locator(".field-seat_map .seatmap")
    rows = seatmap.locator(".seat-row")
    expect(rows).to_have_count(4)
    assert row_labels(seatmap) == ["A", "B", "C", "J"]
    expect(seatmap.locator(".seat")).to_have_count(48)
    expect(rows.nth(0).locator(".aisle")).to_have_count(2)
    expect(rows.nth(3).locator(".aisle")).to_have_count(0)
    expect(seatmap.locator(".seat.wheelchair")).to_have_count(2)
    expect(seatmap.locator(".seatmap-legend")).to_contain_text("premium: 400.00")
    expect(seatmap).to_contain_text("46 free, 2 booked")

    # The aisle is a visible gap: A3 and A4 are further apart than A2 and A3.
    front = rows.nth(0).locator(".seat")
    a2, a3, a4 = (front.nth(i).bounding_box() for i in (1, 2, 3))
    step = a3["x"] - a2["x"]
    assert a4["x"] - a3["x"] > step + a3["width"] / 2, (a2, a3, a4)

    booked = seatmap.locator(".seat.booked")
    expect(booked).to_have_text(["4", "1"])
    expect(booked.first).to_have_attribute("title", re.compile(booking["reference"]))
    seatmap.scroll_into_view_if_needed()
    recorder.shot("show-seat-map", full_page=True)
    seatmap.screenshot(path=str(recorder.folder / "show-seat-map-drawing.png"))

    # A booked seat opens its booking.
    booked.last.click()
    expect(page).to_have_url(re.compile(rf"/admin/booking/booking/{booking['id']}/change/"))
    expect(page.locator(".field-reference")).to_contain_text(booking["reference"])
    expect(page.locator(".field-seat_labels")).to_contain_text("A4, J1")
    recorder.shot("booking-from-the-seat-map", full_page=True)
    assert recorder.foreign_requests() == [], "the admin loaded something from elsewhere"
