#!/usr/bin/env bash
# Fuzz the running API from its own OpenAPI schema with Schemathesis.
#
# A fresh MariaDB database (utf8mb4) is created, migrated and seeded with the sample
# data; gunicorn serves it with production settings (DEBUG=False) and no throttles; then
# Schemathesis sends generated requests to every operation, twice: as a customer (user
# endpoints work, staff writes must answer 403 as documented) and as staff (every
# endpoint works, bookings included). Every response must be no 5xx, a documented status
# code, the documented content type and a body matching the documented schema, within
# FUZZ_MAX_RESPONSE_SECONDS. Exits non-zero on any failure; gunicorn is always stopped.
#
#   scripts/fuzz_api.sh                      # the CI run: a few minutes
#   FUZZ_MAX_EXAMPLES=500 scripts/fuzz_api.sh  # a longer hunt
#
# Needs MariaDB/MySQL on DB_HOST (root, empty password by default) and
# requirements-dev.txt + requirements-mysql.txt installed in .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

BIN=.venv/bin
# A port nobody listens on (the OS picks one), unless FUZZ_PORT says otherwise.
PORT=${FUZZ_PORT:-$(${BIN}/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
DB_NAME=${FUZZ_DB_NAME:-fuzz_movie_booking}
MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-40}   # per operation and phase
MAX_TIME_SECONDS=${FUZZ_MAX_TIME_SECONDS:-150}  # per run, two runs; fuzzing fills it
MAX_RESPONSE_SECONDS=${FUZZ_MAX_RESPONSE_SECONDS:-5}
SEED=${FUZZ_SEED:-}  # set to replay a run exactly
REPORT_DIR=${FUZZ_REPORT_DIR:-artifacts/fuzz}  # artifacts/ is git-ignored
BASE_URL="http://127.0.0.1:${PORT}"

export DEBUG=False
export SECRET_KEY="fuzz-$(${BIN}/python -c 'import secrets; print(secrets.token_urlsafe(48))')"
export SECURE_SSL_REDIRECT=False SECURE_HSTS_SECONDS=0 SESSION_COOKIE_SECURE=False
export ALLOWED_HOSTS=127.0.0.1,localhost
export DB_ENGINE=mysql DB_NAME DB_USER=${DB_USER:-root} DB_HOST=${DB_HOST:-127.0.0.1}
export DB_PORT=${DB_PORT:-3306} DB_PASSWORD=${DB_PASSWORD:-}
export THROTTLE_LOGIN=off THROTTLE_SIGNUP=off THROTTLE_REFRESH=off THROTTLE_BOOKING=off
export THROTTLE_ANON=off THROTTLE_USER=off THROTTLE_PASSWORD_RESET=off
export LOG_LEVEL=WARNING

gunicorn_pid=""
cleanup() {
  if [ -n "$gunicorn_pid" ] && kill -0 "$gunicorn_pid" 2>/dev/null; then
    kill "$gunicorn_pid"
    wait "$gunicorn_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT INT TERM

echo "== database ${DB_NAME}: recreate, migrate, seed"
${BIN}/python - <<'PY'
import os

import MySQLdb

name = os.environ["DB_NAME"]
# This database is dropped: never let a typo point it at real data.
if not (name.startswith("fuzz_") and name.replace("_", "").isalnum()):
    raise SystemExit(f"refusing to recreate database {name!r}: its name must start with fuzz_")
conn = MySQLdb.connect(
    host=os.environ["DB_HOST"],
    port=int(os.environ["DB_PORT"]),
    user=os.environ["DB_USER"],
    password=os.environ["DB_PASSWORD"],
)
cursor = conn.cursor()
cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
conn.close()
PY
${BIN}/python manage.py migrate --noinput -v0
${BIN}/python load_sample_data.py
# A booking of staff's own (the demo user has some), and one of a stranger: the fuzzed
# ids hit the caller's bookings (200) and other people's (404) alike.
${BIN}/python manage.py shell -v0 -c '
from django.utils import timezone
from booking import services
from booking.models import Show, User
stranger = services.create_user(username="stranger", email="stranger@example.com",
                                password="stranger-pass-2026")
show = Show.objects.filter(start_time__gt=timezone.now()).order_by("-start_time").first()
for user, seats in ((User.objects.get(username="admin"), [1, 2]), (stranger, [3, 4])):
    services.book_seats(user=user, show=show, seat_numbers=seats, now=timezone.now())
'

mkdir -p "${REPORT_DIR}"
REPORT_DIR=$(cd "${REPORT_DIR}" && pwd)

echo "== gunicorn on ${BASE_URL}"
if curl -s -o /dev/null "${BASE_URL}/"; then
  echo "something already listens on ${BASE_URL}; set FUZZ_PORT to a free port" >&2
  exit 1
fi
# No request-line/header size limits: gunicorn would answer an over-long URL with its own
# HTML 414 before Django sees it (as a proxy in front would); the fuzzing is about the app.
${BIN}/gunicorn movie_booking.wsgi:application -b "127.0.0.1:${PORT}" -w 2 \
  --limit-request-line 0 --limit-request-field_size 0 \
  >"${REPORT_DIR}/gunicorn.log" 2>&1 &
gunicorn_pid=$!
for _ in $(seq 1 50); do
  curl -fsS -o /dev/null "${BASE_URL}/healthz" 2>/dev/null && break
  sleep 0.2
done
curl -fsS "${BASE_URL}/healthz" >/dev/null
if ! kill -0 "$gunicorn_pid" 2>/dev/null; then
  echo "gunicorn did not start: see ${REPORT_DIR}/gunicorn.log" >&2
  exit 1
fi

token_for() {
  curl -fsS -H 'Content-Type: application/json' \
    -d "{\"username\": \"$1\", \"password\": \"$2\"}" "${BASE_URL}/api/login/" |
    ${BIN}/python -c 'import json, sys; print(json.load(sys.stdin)["access"])'
}
# The accounts load_sample_data.py creates (local demo credentials, not secrets).
user_token=$(token_for demo demo-pass-2026)
staff_token=$(token_for admin admin-pass-2026)

run_schemathesis() {
  local who=$1 token=$2
  echo "== schemathesis as ${who}"
  # Run from the report directory: Schemathesis keeps its crash cache in ./.schemathesis
  # (replay a failure with `cd ${REPORT_DIR} && st replay <Test Case ID>`).
  (cd "${REPORT_DIR}" && "${ROOT}/${BIN}/schemathesis" run "${BASE_URL}/api/schema/?format=json" \
    --header "Authorization: Bearer ${token}" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-response-time "${MAX_RESPONSE_SECONDS}" \
    --max-examples "${MAX_EXAMPLES}" \
    --max-time "${MAX_TIME_SECONDS}" \
    --workers 1 `# several workers crash Hypothesis on CPython 3.11 (ast recursion check)` \
    --generation-database none \
    --continue-on-failure \
    ${SEED:+--seed "${SEED}"} \
    --report junit,ndjson \
    --report-junit-path "${REPORT_DIR}/${who}.junit.xml" \
    --report-ndjson-path "${REPORT_DIR}/${who}.ndjson" \
    --no-color)
}

status=0
run_schemathesis user "${user_token}" || status=1
run_schemathesis staff "${staff_token}" || status=1

if grep -q "Traceback" "${REPORT_DIR}/gunicorn.log"; then
  echo "gunicorn logged a traceback: see ${REPORT_DIR}/gunicorn.log" >&2
  status=1
fi
exit $status
