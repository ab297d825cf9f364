"""ReDoc renders every operation of the schema, from assets the project serves itself."""

from playwright.sync_api import expect

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def test_redoc_renders_every_endpoint_offline(page, recorder, api):
    schema = api.schema()
    operations = [
        (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]
    assert len(operations) >= 20, "the schema lost operations"

    page.goto("/redoc/")
    # The side menu has one entry per operation once the schema is rendered.
    menu = page.locator("li[role=menuitem][data-item-id*='/operation/']")
    expect(page.locator("h1").first).to_contain_text(schema["info"]["title"])
    expect(menu).to_have_count(len(operations))
    recorder.shot("loaded")
    menu_ids = {item.rsplit("/", 1)[-1] for item in _attributes(menu, "data-item-id")}
    assert menu_ids == {op["operationId"] for _, _, op in operations}

    text = page.locator("body").inner_text()
    missing = [f"{method.upper()} {path}" for method, path, _ in operations if path not in text]
    assert missing == [], f"ReDoc does not show: {missing}"
    summaries = [op["summary"] for _, _, op in operations if op.get("summary")]
    assert [s for s in summaries if s not in text] == []

    # Each operation's endpoint box shows its method and path together.
    endpoints = page.locator("span.http-verb").evaluate_all(
        "verbs => verbs.map(v => [v.textContent.trim().toLowerCase(),"
        " (v.nextElementSibling || {}).textContent])"
    )
    shown = {(method, path) for method, path in endpoints}
    expected = {(method, path) for method, path, _ in operations}
    assert expected - shown == set(), f"no endpoint box for {sorted(expected - shown)}"

    # Scroll to the last operation: the page stays on this server all the way down.
    page.locator("body").press("End")
    page.mouse.wheel(0, 100_000)
    page.wait_for_timeout(300)
    recorder.shot("bottom")

    foreign = recorder.foreign_requests()
    assert foreign == [], f"requests left this machine: {foreign}"
    assert not [url for url in recorder.requests if "fonts.googleapis.com" in url]
    assert not [url for url in recorder.requests if "fonts.gstatic.com" in url]


def _attributes(locator, name: str) -> list[str]:
    return locator.evaluate_all(f"items => items.map(item => item.getAttribute('{name}'))")
