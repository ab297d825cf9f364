"""Swagger UI: log in, authorize with the token, and book a seat, all from the page."""

import json

from playwright.sync_api import expect

DEMO = {"username": "demo", "password": "demo-pass-2026"}  # from load_sample_data.py


def opblock_id(schema: dict, method: str, path: str) -> str:
    """Swagger UI's DOM id of an operation: operations-<first tag>-<operationId>."""
    operation = schema["paths"][path][method]
    return f"operations-{operation['tags'][0]}-{operation['operationId']}"


def execute(page, recorder, block, name: str):
    """Click Execute in an operation and return its live response (status cell, body)."""
    block.locator(".execute").click()
    live = block.locator(".live-responses-table")
    expect(live).to_be_visible()
    status = live.locator(".response .response-col_status")
    body = live.locator(".response .response-col_description .microlight").first
    expect(body).to_be_visible()
    live.scroll_into_view_if_needed()
    recorder.shot(name)
    return status, body


def test_swagger_login_authorize_and_book(page, recorder, api):
    schema = api.schema()
    show_id, seat = api.bookable_show_and_seat()

    page.goto("/swagger/")
    expect(page.locator(".opblock").first).to_be_visible()
    expect(page.locator(".information-container .title")).to_contain_text("Movie Booking API")
    recorder.shot("loaded")

    # POST /api/login/: Try it out, the demo credentials, Execute.
    login = page.locator(f"#{opblock_id(schema, 'post', '/api/login/')}")
    login.locator(".opblock-summary").click()
    login.locator(".try-out__btn").click()
    login.locator("textarea.body-param__text").fill(json.dumps(DEMO))
    recorder.shot("login-filled")
    status, body = execute(page, recorder, login, "login-executed")
    expect(status).to_have_text("200")
    access = json.loads(body.inner_text())["access"]
    assert access.count(".") == 2, "the access token shown is not a JWT"

    # Authorize: paste the token into the bearer field.
    page.locator(".scheme-container .btn.authorize").click()
    dialog = page.locator(".dialog-ux .modal-ux")
    expect(dialog).to_be_visible()
    dialog.locator("input[type=text], input[type=password]").first.fill(access)
    recorder.shot("authorize-filled")
    dialog.locator(".auth-btn-wrapper .btn.authorize").click()
    expect(dialog.get_by_role("heading", name="Authorized")).to_be_visible()
    recorder.shot("authorized")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".scheme-container .btn.authorize.locked")).to_be_visible()

    # POST /api/shows/{id}/book/: the show id, one free seat, Execute -> 201.
    book = page.locator(f"#{opblock_id(schema, 'post', '/api/shows/{id}/book/')}")
    book.locator(".opblock-summary").click()
    book.locator(".try-out__btn").click()
    book.locator("tr[data-param-name='id'] input").fill(str(show_id))
    book.locator("textarea.body-param__text").fill(json.dumps({"seat_numbers": [seat]}))
    recorder.shot("book-filled")
    status, body = execute(page, recorder, book, "book-executed")
    expect(status).to_have_text("201")
    booking = json.loads(body.inner_text())
    assert booking["seat_numbers"] == [seat]
    assert booking["status"] == "booked"
    assert booking["show"]["id"] == show_id

    # The booking is real: the seat is taken now.
    seats = api.call("GET", f"/api/shows/{show_id}/seats/")[1]
    assert seat in seats["booked_seats"]
    assert recorder.foreign_requests() == [], recorder.foreign_requests()
    assert any(url.endswith(f"/api/shows/{show_id}/book/") for url in recorder.requests)
