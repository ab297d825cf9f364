"""Settings for scripts/bench.py's servers: the project's settings, its URLs plus two floors.

A floor is the least a Django view can do for a request of its kind: the benchmark
serves it from the same gunicorn, settings and middleware as the API, so that the two
differ only in the view (see scripts/bench_floor_urls.py). Tooling, not product: the
service itself never loads this module.

    DJANGO_SETTINGS_MODULE=bench_floor PYTHONPATH=scripts gunicorn movie_booking.wsgi
"""

from movie_booking.settings import *  # noqa: F403 - the project's settings, unchanged

ROOT_URLCONF = "bench_floor_urls"
