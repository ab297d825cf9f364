"""The project's URLs plus the benchmark's two floors, bare Django views (no DRF).

  GET  /bench-floor/read/    one query, 20 movies as dicts, JsonResponse
  POST /bench-floor/insert/  parse a JSON body, insert one row in transaction.atomic()
                             through the ORM, answer 201 JSON

Loaded by scripts/bench_floor.py (ROOT_URLCONF). The inserted rows go to a table of their
own, `bench_floor_row`, which scripts/bench_seed.py creates (create_floor_table) when it
seeds the database: the model is unmanaged, so booking/ and its migrations know nothing of it.
"""

import json

from django.db import connection, models, transaction
from django.http import JsonResponse
from django.urls import include, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from booking.models import Movie
from booking.serializers import MovieOutput
from movie_booking import urls as project_urls

FLOOR_PAGE_SIZE = 20  # the API's default page size
FLOOR_TABLE = "bench_floor_row"
# The read floor reads what /api/movies/ renders, so that only the view differs.
MOVIE_FIELDS = tuple(MovieOutput.Meta.fields)


class FloorRow(models.Model):
    """One row per insert-floor request (table created by create_floor_table)."""

    body = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        app_label = "booking"  # any installed app: the model only needs a label
        managed = False
        db_table = FLOOR_TABLE

    def __str__(self):
        return f"floor row {self.pk}"


def create_floor_table() -> None:
    """Create FloorRow's table: the model is unmanaged, so no migration makes it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {FLOOR_TABLE} (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
            "body LONGTEXT NOT NULL, created_at DATETIME(6) NOT NULL) ENGINE=InnoDB"
        )


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
        row = FloorRow.objects.create(body=body, created_at=timezone.now())
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
