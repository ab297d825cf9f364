"""The project's URLs plus the benchmark's two floors, bare Django views (no DRF).

  GET  /bench-floor/read/    one query, 20 movies as dicts, JsonResponse
  POST /bench-floor/insert/  parse a JSON body, insert one row in transaction.atomic()
                             through the ORM, answer 201 JSON

Loaded by scripts/bench_floor.py (ROOT_URLCONF). The inserted rows go to a table Django
already has and migrates, django.contrib.sessions' (the bench database is thrown away): a
model of the benchmark's own would join an installed app, and makemigrations run with these
settings would then want a migration for it.
"""

import json
import uuid

from django.contrib.sessions.models import Session
from django.db import transaction
from django.http import JsonResponse
from django.urls import include, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from booking.models import Movie
from booking.serializers import MovieOutput
from movie_booking import urls as project_urls

FLOOR_PAGE_SIZE = 20  # the API's default page size
# The read floor reads what /api/movies/ renders, so that only the view differs.
MOVIE_FIELDS = tuple(MovieOutput.Meta.fields)


@require_GET
def read_floor(request):
    """Answer the first page of movies: one query, no serializer, no pagination count."""
    movies = list(Movie.objects.order_by("title", "pk").values(*MOVIE_FIELDS)[:FLOOR_PAGE_SIZE])
    return JsonResponse({"results": movies})


@csrf_exempt  # as DRF's views are: an API authenticated by a header, not a cookie
@require_POST
def insert_floor(request):
    """Insert the request's JSON body as one row, in a transaction, and answer 201."""
    try:
        body = json.loads(request.body)
    except ValueError:
        return JsonResponse({"code": "invalid", "detail": "Malformed JSON."}, status=400)
    with transaction.atomic():
        row = Session.objects.create(
            session_key=uuid.uuid4().hex, session_data=json.dumps(body), expire_date=timezone.now()
        )
    return JsonResponse({"id": row.pk}, status=201)


# The floors first: the API's own URLs resolve exactly as in production, behind one
# prefix that does not match.
urlpatterns = [
    path(
        "bench-floor/",
        include(
            [
                path("read/", read_floor, name="bench-floor-read"),
                path("insert/", insert_floor, name="bench-floor-insert"),
            ]
        ),
    ),
    *project_urls.urlpatterns,
]

handler400 = project_urls.handler400
handler403 = project_urls.handler403
handler500 = project_urls.handler500
