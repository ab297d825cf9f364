"""Django admin: staff schedule a movie and a show, see its seat map, cancel a booking."""

import re
import secrets
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

ADMIN = {"username": "admin", "password": "admin-pass-2026"}  # from load_sample_data.py
DEMO = {"username": "demo", "password": "demo-pass-2026"}


def expect_seat_map(page, *, free: int, booked: list[int]) -> None:
    seatmap = page.locator(".field-seat_map .seatmap")
    expect(seatmap).to_contain_text(f"{free} free, {len(booked)} booked")
    expect(seatmap.locator(".seat")).to_have_count(free + len(booked))
    expect(seatmap.locator(".seat.booked")).to_have_text([str(n) for n in booked])


def test_admin_schedules_a_show_and_cancels_a_booking(page, recorder, api):
    title = f"Browser Test Movie {secrets.token_hex(3)}"  # unique: the autocomplete finds one
    starts = (datetime.now(UTC) + timedelta(days=3)).replace(
        hour=19, minute=30, second=0, microsecond=0
    )  # the server runs with TIME_ZONE=UTC, so the admin's fields are UTC too

    # Log in as staff.
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    page.fill("#id_username", ADMIN["username"])
    page.fill("#id_password", ADMIN["password"])
    recorder.shot("login")
    page.locator("input[type=submit]").click()
    expect(page.locator("#site-name")).to_be_visible()
    expect(page.locator("#user-tools")).to_contain_text(ADMIN["username"])
    recorder.shot("admin-index")

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
