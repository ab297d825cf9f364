"""Writes on every node of a MariaDB Galera cluster: what changes, and what keeps booking right.

On Galera a `SELECT ... FOR UPDATE` locks a row on its own node only. Two transactions on
two nodes exclude each other when they write the same row or insert the same unique key:
the one that commits second fails with 1213 — at COMMIT, or at its next statement when
the winner's write reaches its node while it holds the row (README, "How booking stays
correct").

The first part runs on every database: it fakes what a lost race looks like at COMMIT
(the real thing is rare on one server) and checks that every write path retries it, that
an exhausted retry is 503 `busy`, that a signup whose name another node took answers
the contract's 400, and that a node outside the cluster's primary component is 503
`service_unavailable`. The second part needs the cluster (`make test-galera` sets
GALERA_NODES): races forced across nodes, with a control that shows the same race won
by both sides when the user-row lock is only a lock.
"""

import subprocess
import sys
import threading
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import OperationalError, connection, connections
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from booking import services
from booking.exceptions import (
    MYSQL_DEADLOCK,
    MYSQL_WSREP_NOT_READY,
    SeatLimitReached,
    ShowHasBookings,
)
from booking.models import (
    Booking,
    Cinema,
    Hold,
    IdempotencyKey,
    Movie,
    Screen,
    Seat,
    Show,
    User,
)
from booking.serializers.accounts import SignupInput
from booking.services import seating
from booking.services.transactions import LOCK_CONFLICT_ATTEMPTS, on_galera

from .conftest import (
    PASSWORD,
    client_for,
    make_cinema,
    make_movie,
    make_screen,
    make_show,
    make_show_on_screen,
    make_user,
)
from .threads import BARRIER_TIMEOUT_SECONDS, galera_nodes, run_together

ROOT_DIR = Path(__file__).resolve().parents[2]
DEADLOCK_MESSAGE = "Deadlock found when trying to get lock; try restarting transaction"
NOT_READY_MESSAGE = "WSREP has not yet prepared node for application use"


class CommitFailures:
    """Make the next COMMITs of this thread's connection fail, as a lost Galera race does.

    The transaction is rolled back (by Django, as after a real failed COMMIT) and the
    error is the driver's, wrapped as Django wraps it.
    """

    def __init__(self, monkeypatch):
        self.left = 0
        self.failed = 0
        self.error = OperationalError(MYSQL_DEADLOCK, DEADLOCK_MESSAGE)
        self.before_failing = None
        self._commit = connection._commit
        monkeypatch.setattr(connection, "_commit", self._maybe_fail)

    def arm(self, count=1, *, error=None, before_failing=None):
        self.left = count
        self.error = error or self.error
        self.before_failing = before_failing

    def _maybe_fail(self):
        if not self.left:
            return self._commit()
        self.left -= 1
        self.failed += 1
        if self.before_failing is not None:
            self.before_failing(self._commit)
        raise self.error


@pytest.fixture
def commits(monkeypatch):
    return CommitFailures(monkeypatch)


# --- Part 1: a lost race at COMMIT, on every write path ---------------------------------
# Each path sets up its data, arms one failing COMMIT right before the write, and checks
# that the write happened exactly once.


def _signup(commits):
    commits.arm()
    body = {"username": "newcomer", "email": "newcomer@example.com", "password": PASSWORD}
    response = APIClient().post("/api/signup/", body, format="json")
    assert response.status_code == 201, response.content
    assert User.objects.filter(username="newcomer").count() == 1


def _book(commits):
    user, show = make_user(), make_show()
    commits.arm()
    response = client_for(user).post(f"/api/shows/{show.pk}/book/", {"seat_numbers": [3]})
    assert response.status_code == 201, response.content
    booking = Booking.objects.get()
    assert Seat.objects.get(show=show, number=3).booking_id == booking.pk


def _book_idempotently(commits):
    user, show = make_user(), make_show()
    client = client_for(user)
    commits.arm()
    first = client.post(
        f"/api/shows/{show.pk}/book/", {"seat_numbers": [3]}, headers={"Idempotency-Key": "k1"}
    )
    again = client.post(
        f"/api/shows/{show.pk}/book/", {"seat_numbers": [3]}, headers={"Idempotency-Key": "k1"}
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert Booking.objects.count() == IdempotencyKey.objects.count() == 1


def _hold(commits):
    user, show = make_user(), make_show_on_screen()
    commits.arm()
    hold = services.hold_seats(user=user, show=show, now=timezone.now(), seat_numbers=[4, 5])
    assert list(Hold.objects.values_list("pk", flat=True)) == [hold.pk]
    assert Seat.objects.filter(hold=hold).count() == 2


def _confirm(commits):
    user, show = make_user(), make_show_on_screen()
    hold = services.hold_seats(user=user, show=show, now=timezone.now(), seat_numbers=[4])
    commits.arm()
    booking = services.confirm_hold(hold=hold, now=timezone.now())
    assert Booking.objects.get().pk == booking.pk
    assert Hold.objects.get().status == Hold.Status.CONFIRMED


def _release(commits):
    user, show = make_user(), make_show_on_screen()
    hold = services.hold_seats(user=user, show=show, now=timezone.now(), seat_numbers=[4])
    commits.arm()
    services.release_hold(hold=hold, now=timezone.now())
    assert Hold.objects.get().status == Hold.Status.RELEASED
    assert not Seat.objects.filter(hold__isnull=False).exists()


def _cancel(commits):
    user, show = make_user(), make_show()
    booking = services.book_seats(user=user, show=show, seat_numbers=[3], now=timezone.now())
    commits.arm()
    services.cancel_booking(booking=booking, now=timezone.now())
    assert Booking.objects.get().status == Booking.Status.CANCELLED
    assert not Seat.objects.filter(booking__isnull=False).exists()


def _create_show(commits):
    movie, screen = make_movie(), make_screen()
    commits.arm()
    show = make_show_on_screen(movie, screen)
    assert list(Show.objects.values_list("pk", flat=True)) == [show.pk]
    assert Seat.objects.filter(show=show).count() == show.total_seats


def _update_show(commits):
    show = make_show_on_screen()
    later = show.start_time + timedelta(days=1)
    commits.arm()
    services.update_show(show=show, start_time=later, price=Decimal("300.00"))
    saved = Show.objects.get()
    assert (saved.start_time, saved.price) == (later, Decimal("300.00"))


def _delete_show(commits):
    show = make_show()
    commits.arm()
    services.delete_show(show=show)
    assert not Show.objects.exists() and not Seat.objects.exists()


def _movie_writes(commits):
    commits.arm()
    movie = make_movie()
    commits.arm()
    services.update_movie(movie=movie, duration_minutes=170)
    assert Movie.objects.get().duration_minutes == 170
    commits.arm()
    services.delete_movie(movie=movie)
    assert not Movie.objects.exists()


def _venue_writes(commits):
    commits.arm()
    cinema = make_cinema()
    commits.arm()
    services.update_cinema(cinema=cinema, city="Mumbai")
    assert Cinema.objects.get().city == "Mumbai"
    commits.arm()
    screen = make_screen(cinema)
    commits.arm()
    services.update_screen(screen=screen, name="Screen 2")
    assert Screen.objects.get().name == "Screen 2"
    commits.arm()
    services.delete_screen(screen=screen)
    commits.arm()
    services.delete_cinema(cinema=cinema)
    assert not Screen.objects.exists() and not Cinema.objects.exists()


def _delete_account(commits):
    user, show = make_user(), make_show()
    services.book_seats(user=user, show=show, seat_numbers=[3], now=timezone.now())
    commits.arm()
    response = client_for(user).delete("/api/me/", {"password": PASSWORD}, format="json")
    assert response.status_code == 204, response.content
    assert Booking.objects.get().status == Booking.Status.CANCELLED
    assert not User.objects.filter(username="alice").exists()


def _change_password(commits):
    user = make_user()
    commits.arm()
    body = {"current_password": PASSWORD, "new_password": "purple-Tractor-lantern-42"}
    response = client_for(user).post("/api/me/password/", body, format="json")
    assert response.status_code == 204, response.content
    user.refresh_from_db()
    assert user.check_password("purple-Tractor-lantern-42")


def _refresh(commits):
    user = make_user()
    refresh = str(RefreshToken.for_user(user))
    commits.arm()
    response = APIClient().post("/api/token/refresh/", {"refresh": refresh}, format="json")
    assert response.status_code == 200, response.content
    again = APIClient().post("/api/token/refresh/", {"refresh": refresh}, format="json")
    assert again.status_code == 401  # redeemed exactly once


def _log_out(commits):
    user = make_user()
    refresh = str(RefreshToken.for_user(user))
    commits.arm()
    response = client_for(user).post("/api/logout/", {"refresh": refresh}, format="json")
    assert response.status_code == 205, response.content
    again = APIClient().post("/api/token/refresh/", {"refresh": refresh}, format="json")
    assert again.status_code == 401


def _tidy_up(commits):
    user, show = make_user(), make_show_on_screen()
    now = timezone.now()
    services.hold_seats(user=user, show=show, now=now, seat_numbers=[4])
    later = now + timedelta(days=2)
    commits.arm()
    assert services.expire_holds(now=later) == 1
    commits.arm()
    assert services.purge_expired_idempotency_keys(now=later) == 0


WRITE_PATHS = [
    pytest.param(path, id=path.__name__.strip("_"))
    for path in (
        _signup,
        _book,
        _book_idempotently,
        _hold,
        _confirm,
        _release,
        _cancel,
        _create_show,
        _update_show,
        _delete_show,
        _movie_writes,
        _venue_writes,
        _delete_account,
        _change_password,
        _refresh,
        _log_out,
        _tidy_up,
    )
]


@pytest.mark.django_db(transaction=True)  # the services' own transactions must COMMIT
@pytest.mark.parametrize("path", WRITE_PATHS)
def test_a_conflict_at_commit_is_retried_on_every_write_path(path, commits):
    path(commits)

    assert commits.failed >= 1
    assert commits.left == 0, "an armed COMMIT never happened: the path wrote nothing"


@pytest.mark.django_db(transaction=True)
def test_a_booking_that_keeps_losing_at_commit_is_503_busy_and_writes_nothing(commits, user):
    show = make_show()
    commits.arm(LOCK_CONFLICT_ATTEMPTS + 1)

    response = client_for(user).post(f"/api/shows/{show.pk}/book/", {"seat_numbers": [3]})

    assert (response.status_code, response.json()["code"]) == (503, "busy")
    assert response.headers["Retry-After"] == "1"
    assert commits.failed == LOCK_CONFLICT_ATTEMPTS
    assert not Booking.objects.exists()
    assert Seat.objects.get(show=show, number=3).booking_id is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("field", ["username", "email"])
def test_a_signup_whose_name_another_node_took_first_is_400_on_that_name(commits, field):
    # What Galera does when another node's signup of the same name committed first: our
    # COMMIT fails with 1213 and the winner's row is there when we try again.
    def the_other_node_commits_first(commit):
        connection._rollback()
        User.objects.create_user(username="Taken", email="taken@example.com")
        commit()

    commits.arm(before_failing=the_other_node_commits_first)
    body = {"username": "newcomer", "email": "newcomer@example.com", "password": PASSWORD}
    body[field] = "Taken" if field == "username" else "taken@example.com"

    response = APIClient().post("/api/signup/", body, format="json")

    assert response.status_code == 400, response.content
    assert set(response.json()["errors"]) == {field}
    assert User.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_node_outside_the_primary_component_is_503_service_unavailable(commits, user):
    show = make_show()
    commits.arm(error=OperationalError(MYSQL_WSREP_NOT_READY, NOT_READY_MESSAGE))

    response = client_for(user).post(f"/api/shows/{show.pk}/book/", {"seat_numbers": [3]})

    assert (response.status_code, response.json()["code"]) == (503, "service_unavailable")
    assert response.headers["Retry-After"] == "1"
    assert commits.failed == 1, "1047 is not a lock conflict: not retried"
    assert not Booking.objects.exists()


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", None), ("1", "wsrep_sync_wait=1"), ("16", "ImproperlyConfigured")],
)
def test_db_wsrep_sync_wait_is_set_on_every_mysql_connection(value, expected):
    # The settings module alone, not django.setup(): that would load the MySQL driver,
    # which the SQLite leg of CI does not install.
    code = (
        "from movie_booking import settings; "
        "print(settings.DATABASES['default']['OPTIONS']['init_command'])"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "movie_booking.settings",
        "DEBUG": "True",
        "DB_ENGINE": "mysql",
        "DB_WSREP_SYNC_WAIT": value,
    }
    result = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code],
        cwd=ROOT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if expected == "ImproperlyConfigured":
        assert result.returncode != 0 and "DB_WSREP_SYNC_WAIT=16" in result.stderr
    elif expected is None:
        assert result.returncode == 0 and "wsrep_sync_wait" not in result.stdout
    else:
        assert result.returncode == 0 and expected in result.stdout, result.stderr


# --- Part 2: races across the nodes of a real cluster -----------------------------------


def on_a_cluster(test):
    """Mark a test that races real threads over the nodes of a Galera cluster."""
    test = pytest.mark.django_db(transaction=True)(test)
    return pytest.mark.concurrency(test)


@pytest.fixture
def nodes():
    listed = galera_nodes()
    if len(listed) < 2 or not on_galera():
        pytest.skip("needs a MariaDB Galera cluster listed in GALERA_NODES (make test-galera)")
    return listed


def first_time_only(barrier: threading.Barrier):
    """A wait at barrier for each thread's first attempt; its retries pass straight on."""
    waited = threading.local()

    def wait():
        if not getattr(waited, "done", False):
            waited.done = True
            barrier.wait(timeout=BARRIER_TIMEOUT_SECONDS)

    return wait


def attempt(call, *expected):
    try:
        return call()
    except expected as exc:
        return exc


LIMIT = 1
LIMIT_ROUNDS = 5


def race_for_the_limit(user, nodes, monkeypatch) -> list[int]:
    """One request per node for one seat each, all past the limit check before any books.

    Return the number of seats the user owns after each of LIMIT_ROUNDS rounds.
    """
    owned = []
    real_record = services.bookings.record_booking
    for _ in range(LIMIT_ROUNDS):
        show = make_show()
        # Everyone has counted, claimed and inserted before anyone commits.
        everyone_is_ready = first_time_only(threading.Barrier(len(nodes)))

        def record_then_wait(**kwargs):
            booking = real_record(**kwargs)
            everyone_is_ready()  # noqa: B023 - this round's barrier
            return booking

        monkeypatch.setattr(services.bookings, "record_booking", record_then_wait)
        now = timezone.now()
        run_together(
            [
                lambda n=n, show=show, now=now: attempt(
                    lambda: services.book_seats(
                        user=user, show=show, now=now, seat_numbers=[n + 1]
                    ),
                    SeatLimitReached,
                )
                for n in range(len(nodes))
            ]
        )
        owned.append(Seat.objects.filter(show=show, booking__user=user).count())
    return owned


@on_a_cluster
def test_the_per_user_limit_holds_with_the_users_requests_on_every_node(
    nodes, user, settings, monkeypatch
):
    settings.MAX_SEATS_PER_USER_PER_SHOW = LIMIT

    owned = race_for_the_limit(user, nodes, monkeypatch)

    # The claim writes the user's row (claim_version): of the requests that all counted
    # zero seats at once, one commits; the others fail certification (1213), retry, and
    # then count its seat.
    assert owned == [LIMIT] * LIMIT_ROUNDS


@on_a_cluster
def test_control_a_user_row_lock_that_writes_nothing_lets_requests_on_other_nodes_pass_the_limit(
    nodes, user, settings, monkeypatch
):
    settings.MAX_SEATS_PER_USER_PER_SHOW = LIMIT

    def lock_only(user):  # what lock_user was before: a lock, no write
        User.objects.select_for_update().filter(pk=user.pk).values_list("pk").get()

    monkeypatch.setattr(seating, "lock_user", lock_only)

    owned = race_for_the_limit(user, nodes, monkeypatch)

    # The same race with a lock and no write: a lock on one node excludes nothing on the
    # others, so requests that meet across nodes all commit. (A write of the other node
    # that arrives while the lock is held still aborts the holder, so not every round
    # shows it.) This is why lock_user is an UPDATE.
    assert max(owned) > LIMIT, owned


@on_a_cluster
@pytest.mark.parametrize("field", ["username", "email"])
def test_signups_of_one_name_on_every_node_at_once_create_one_user(field, nodes, monkeypatch):
    everyone_has_checked = first_time_only(threading.Barrier(len(nodes)))
    validate = SignupInput.validate

    def validate_then_wait(self, attrs):
        attrs = validate(self, attrs)
        everyone_has_checked()  # the name was free for everyone: the race, made certain
        return attrs

    monkeypatch.setattr(SignupInput, "validate", validate_then_wait)

    def sign_up(n):
        body = {"username": f"fan{n}", "email": f"fan{n}@example.com", "password": PASSWORD}
        body[field] = "Twin" if field == "username" else "twin@example.com"
        response = APIClient().post("/api/signup/", body, format="json")
        return response.status_code, response.json()

    results = run_together([lambda n=n: sign_up(n) for n in range(len(nodes))])

    assert sorted(status for status, _ in results) == [201] + [400] * (len(nodes) - 1)
    for status, body in results:
        if status == 400:
            assert set(body["errors"]) == {field}, body
    assert User.objects.filter(**{field: "Twin" if field == "username" else "twin@example.com"})
    assert User.objects.count() == 1


@on_a_cluster
def test_a_shows_movie_cannot_change_under_a_booking_committed_on_another_node(
    nodes, movie, monkeypatch
):
    show = make_show(movie)
    other_movie = make_movie(title="Another Film")
    buyer = make_user("buyer")
    checked, booked = threading.Event(), threading.Event()
    check = services.catalogue._ensure_no_live_booking

    def check_then_let_a_booking_commit(show):
        check(show)
        checked.set()
        # On one server the booking would wait for our seat locks; across nodes it
        # commits now, after we saw the show without bookings.
        booked.wait(timeout=BARRIER_TIMEOUT_SECONDS)

    monkeypatch.setattr(
        services.catalogue, "_ensure_no_live_booking", check_then_let_a_booking_commit
    )

    def change_movie():
        fresh = Show.objects.get(pk=show.pk)
        return attempt(lambda: services.update_show(show=fresh, movie=other_movie), ShowHasBookings)

    def book():
        checked.wait(timeout=BARRIER_TIMEOUT_SECONDS)
        try:
            return services.book_seats(user=buyer, show=show, seat_numbers=[1], now=timezone.now())
        finally:
            booked.set()

    changed, booking = run_together([change_movie, book])

    # The booking inserted a row referencing the show, which the change writes: Galera
    # refuses the second of the two (1213), and the change, retried, sees the booking.
    assert isinstance(booking, Booking)
    assert isinstance(changed, ShowHasBookings), changed
    assert Show.objects.get(pk=show.pk).movie_id == movie.pk


SYNC_READS = 200


@on_a_cluster
def test_with_db_wsrep_sync_wait_a_read_on_another_node_sees_the_write_just_made(nodes, movie):
    # A second connection of this thread, to another node, set up as DB_WSREP_SYNC_WAIT=1
    # sets up every connection.
    reader = connections.create_connection("default")
    host, port = nodes[1]
    options = dict(reader.settings_dict["OPTIONS"])
    options["init_command"] += ", wsrep_sync_wait=1"
    reader.settings_dict = {**reader.settings_dict, "HOST": host, "PORT": port, "OPTIONS": options}
    stale = 0
    try:
        for n in range(SYNC_READS):
            Movie.objects.filter(pk=movie.pk).update(duration_minutes=100 + n)
            with reader.cursor() as cursor:
                cursor.execute(
                    "SELECT duration_minutes FROM booking_movie WHERE id = %s", [movie.pk]
                )
                stale += cursor.fetchone()[0] != 100 + n
    finally:
        reader.close()

    assert stale == 0
