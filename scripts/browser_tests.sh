#!/usr/bin/env bash
# Browser tests (Playwright + Chromium) against the production stack: gunicorn with
# DEBUG=False on a fresh SQLite database with the sample data (see browser_tests/).
#
#   scripts/browser_tests.sh                 # what CI runs
#   scripts/browser_tests.sh -k swagger -x   # extra arguments go to pytest
#
# Installs Debian's chromium with apt-get if /usr/bin/chromium is missing (Playwright's
# own browser download is never used), and the Python requirements into .venv if the
# playwright package is missing. Screenshots of every step: artifacts/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=.venv/bin
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ! -x "$CHROMIUM" ]; then
  echo "== apt-get install chromium"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi

if [ ! -x "$BIN/python" ] || ! "$BIN/python" -c 'import playwright' 2>/dev/null; then
  echo "== install requirements-dev.txt into .venv"
  make install
fi

rm -rf artifacts/screenshots
mkdir -p artifacts/screenshots
echo "== browser tests (screenshots: artifacts/screenshots/)"
export CHROMIUM
# Their own ini: no pytest-django, none of pyproject.toml's test settings.
exec "$BIN/pytest" -c browser_tests/pytest.ini browser_tests "$@"
