"""Browser tests against the production stack: gunicorn, DEBUG=False, WhiteNoise assets.

Not part of `make test`: run them with scripts/browser_tests.sh, or

    .venv/bin/pytest -c browser_tests/pytest.ini browser_tests

(their own ini: no pytest-django, none of pyproject's test settings). The session builds a
fresh SQLite database in a temporary folder, migrates it, loads the sample data, runs
collectstatic and starts gunicorn on a free port of 127.0.0.1; Chromium is Debian's
/usr/bin/chromium (override with CHROMIUM=/path), driven headless by Playwright.
Every test saves a screenshot per step under artifacts/screenshots/<test>/.
"""

import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import harness  # scripts/harness.py, on sys.path through pythonpath in pytest.ini
import pytest
from playwright.sync_api import sync_playwright

PROJECT = Path(__file__).resolve().parent.parent
PYTHON = Path(sys.executable)
SCREENSHOTS = PROJECT / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}

# Used only if load_sample_data.py is missing: a movie, a show, and the two sample users.
FALLBACK_SEED = """
from datetime import date, timedelta
from decimal import Decimal
from django.utils import timezone
from booking import services
from booking.models import User
movie = services.create_movie(title="Dune: Part Two", description="", duration_minutes=166,
    genre="Sci-Fi", language="English", release_date=date(2024, 3, 1))
services.create_show(movie=movie, screen_name="Screen 1", total_seats=120,
    start_time=timezone.now() + timedelta(days=2), price=Decimal("250.00"))
services.create_user(username="demo", email="demo@example.com", password="demo-pass-2026")
User.objects.create_superuser(username="admin", email="admin@example.com",
    password="admin-pass-2026")
"""


def _server_env(workdir: Path) -> dict[str, str]:
    """The production settings, minus HTTPS (plain HTTP on localhost) and rate limits.

    Every setting that matters is explicit, so a developer's .env cannot change the run.
    Database and collected static files live in workdir, away from anyone else's.
    """
    env = dict(os.environ)
    env.update(
        harness.production_env(
            SESSION_COOKIE_SECURE="False",
            SECURE_HSTS_SECONDS="0",
            SECURE_PROXY_SSL_HEADER="False",
            CSRF_TRUSTED_ORIGINS="",
            CORS_ALLOWED_ORIGINS="",
            DB_ENGINE="sqlite3",
            DB_NAME=str(workdir / "db.sqlite3"),
            STATIC_ROOT=str(workdir / "static"),
            TIME_ZONE="UTC",
            CANCELLATION_CUTOFF_MINUTES="0",
            PYTHONUNBUFFERED="1",
        )
    )
    return env


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - our own venv's python, fixed arguments
        args, cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _wait(process: subprocess.Popen) -> None:
    output, _ = process.communicate(timeout=300)
    if process.returncode != 0:
        pytest.fail(f"{' '.join(process.args)} failed:\n{output}")


def _run(args: list[str], env: dict[str, str]) -> None:
    _wait(_start(args, env))


class Api:
    """The live server's JSON API, for setting up and checking what the browser did."""

    def __init__(self, port: int):
        self.port = port

    def call(self, method: str, path: str, body: dict | None = None, token: str = ""):
        """Call the API outside the browser; return (status, JSON body)."""
        reply = harness.call(self.port, method, path, body=body, token=token)
        return reply.status, reply.json()

    def login(self, credentials: dict) -> str:
        status, body = self.call("POST", "/api/login/", credentials)
        assert status == 200, body
        return body["access"]

    def schema(self) -> dict:
        return self.call("GET", "/api/schema/?format=json")[1]

    def bookable_show_and_seat(self) -> tuple[int, int]:
        """An upcoming show (starting in more than an hour) and one of its free seats."""
        status, page = self.call("GET", "/api/shows/?page_size=100")
        assert status == 200, page
        for show in page["results"]:
            starts = show["start_time"].replace("Z", "+00:00")
            if show["available_seats"] and _hours_from_now(starts) > 1:
                seats = self.call("GET", f"/api/shows/{show['id']}/seats/")[1]
                return show["id"], seats["available_seats"][-1]
        pytest.fail("no upcoming show with free seats in the sample data")


def _hours_from_now(iso: str) -> float:
    return (datetime.fromisoformat(iso) - datetime.now(UTC)).total_seconds() / 3600


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """Base URL of a fresh production stack (gunicorn, 2 workers) on its own database."""
    workdir = tmp_path_factory.mktemp("browser_server")
    env = _server_env(workdir)
    manage = [str(PYTHON), "manage.py"]
    collectstatic = _start([*manage, "collectstatic", "--noinput", "-v0"], env)  # meanwhile:
    _run([*manage, "migrate", "--noinput", "-v0"], env)
    if (PROJECT / "load_sample_data.py").exists():
        _run([str(PYTHON), "load_sample_data.py"], env)
    else:
        _run([*manage, "shell", "-c", FALLBACK_SEED], env)
    _wait(collectstatic)

    server = harness.Server("live_server", env, workdir)  # gunicorn, 2 workers
    try:
        server.start()
        yield f"http://127.0.0.1:{server.port}"
    except RuntimeError as error:  # from start(): pytest never throws into a fixture
        pytest.fail(f"{error}:\n{server.log_path.read_text()}")
    finally:
        server.stop()
    # A traceback in the server's log is a bug even if every page looked fine (a 500).
    log = server.log_path.read_text()
    if "Traceback" in log:
        pytest.fail(f"the server logged an exception ({server.log_path}):\n{log[-6000:]}")


@pytest.fixture(scope="session")
def api(live_server) -> Api:
    return Api(urlsplit(live_server).port)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: apt-get install chromium (or set CHROMIUM=...)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


class Recorder:
    """Every request the page makes, and numbered screenshots of each step.

    `requests` is every request the page started (page.on("request")). A request the
    browser itself refused to send (blocked by the page's Content-Security-Policy) is in
    `blocked`; one that really went to the network for another host is in `escaped`, and
    is aborted, so that a test never reaches the internet whatever the machine allows.
    """

    def __init__(self, page, folder: Path):
        self.page = page
        self.folder = folder
        self.requests: list[str] = []
        self.blocked: list[str] = []
        self.escaped: list[str] = []
        self.step = 0
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("requestfailed", self._failed)
        page.context.route(lambda url: not _is_local(url), self._abort_foreign)

    def _failed(self, request) -> None:
        if request.failure == "csp":
            self.blocked.append(request.url)

    def _abort_foreign(self, route) -> None:
        self.escaped.append(route.request.url)
        route.abort("blockedbyclient")

    def shot(self, name: str, *, full_page: bool = False) -> Path:
        self.step += 1
        path = self.folder / f"{self.step:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def foreign_requests(self) -> list[str]:
        """Requests for another host that the browser did not refuse to send itself."""
        sent = [url for url in self.requests if not _is_local(url) and url not in self.blocked]
        return sorted({*sent, *self.escaped})


def _is_local(url: str) -> bool:
    """Is this URL served by this machine? (data: and blob: URLs never leave it.)"""
    parts = urlsplit(url)
    return parts.scheme not in {"http", "https", "ws", "wss"} or parts.hostname in LOCAL_HOSTS


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context (no cookies, no storage) on the live server's base URL."""
    context = browser.new_context(
        base_url=live_server, viewport={"width": 1400, "height": 1000}, locale="en-US"
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def recorder(page, request):
    """Records the page's requests; screenshots go to artifacts/screenshots/<test>/."""
    folder = SCREENSHOTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    recorder = Recorder(page, folder)
    yield recorder
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        recorder.shot("failure", full_page=True)  # the page as the failing step left it


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.report_call = report
    return report
