"""Screen scheduling rules that live outside the show endpoints: a film that grows."""

from datetime import timedelta

import pytest
from django.utils import timezone

from booking.models import Movie

from .conftest import make_movie, make_screen, make_show_on_screen

pytestmark = pytest.mark.django_db


@pytest.fixture
def back_to_back(settings):
    """A 100-minute film at 10:00 and another show at 12:00 (15 minutes turnover)."""
    settings.SCREEN_TURNOVER_MINUTES = 15
    screen = make_screen()
    start = (timezone.now() + timedelta(days=3)).replace(hour=10, minute=0, second=0)
    film = make_movie(title="Short Cut", duration_minutes=100)
    make_show_on_screen(film, screen, start_time=start)
    make_show_on_screen(make_movie(title="Next"), screen, start_time=start + timedelta(hours=2))
    return film


def movie_url(movie):
    return f"/api/movies/{movie.pk}/"


def test_lengthening_a_film_into_the_next_show_is_409_screen_busy(staff_client, back_to_back):
    # 10:00 + 106 minutes + 15 turnover = 12:01: one minute into the next show.
    response = staff_client.patch(movie_url(back_to_back), {"duration_minutes": 106})

    assert response.status_code == 409
    assert response.json()["code"] == "screen_busy"
    assert Movie.objects.get(pk=back_to_back.pk).duration_minutes == 100


def test_lengthening_a_film_up_to_the_next_show_is_allowed(staff_client, back_to_back):
    # 10:00 + 105 + 15 = 12:00 exactly: the next show may start then.
    response = staff_client.patch(movie_url(back_to_back), {"duration_minutes": 105})

    assert response.status_code == 200
    assert Movie.objects.get(pk=back_to_back.pk).duration_minutes == 105


def test_shortening_a_film_is_always_allowed(staff_client, back_to_back):
    response = staff_client.patch(movie_url(back_to_back), {"duration_minutes": 90})

    assert response.status_code == 200
