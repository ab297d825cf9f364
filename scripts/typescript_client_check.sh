#!/usr/bin/env bash
# Check the OpenAPI schema the way a frontend team uses it: generate TypeScript types from
# it with openapi-typescript, then compile a small typed client (scripts/ts-client/usage.ts:
# book, hold, confirm, handle `seat_unavailable`) with `tsc --noEmit --strict`. It fails
# when ids stop being numbers, the booking body stops being a one-seat-field union, or an
# error `code` stops being a union of the codes the operation can answer.
#
#   scripts/typescript_client_check.sh     # what CI and `make check-client` run
#
# Needs Node.js 20+ with npm; the npm packages are pinned in scripts/ts-client/package.json
# and package-lock.json and installed (no install scripts run) into
# scripts/ts-client/node_modules. The schema and the types go to scripts/ts-client/generated/.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=.venv/bin
CLIENT=scripts/ts-client
GENERATED=${CLIENT}/generated

command -v npm >/dev/null || { echo "npm is missing: install Node.js 20 or later" >&2; exit 1; }

echo "== npm ci in ${CLIENT} (openapi-typescript, typescript: pinned)"
npm ci --prefix "${CLIENT}" --ignore-scripts --no-audit --no-fund --loglevel=error

echo "== the OpenAPI schema (manage.py spectacular)"
rm -rf "${GENERATED}"
mkdir -p "${GENERATED}"
# Schema generation reads no database; a SECRET_KEY is all settings insist on.
DEBUG=True SECRET_KEY=${SECRET_KEY:-typescript-client-check-not-a-secret} \
  ${BIN}/python manage.py spectacular --format openapi-json --validate --fail-on-warn \
  --file "${GENERATED}/schema.json"

echo "== TypeScript types from it (openapi-typescript)"
"${CLIENT}/node_modules/.bin/openapi-typescript" "${GENERATED}/schema.json" \
  --output "${GENERATED}/api.d.ts"

echo "== compile the typed usage (tsc --noEmit --strict)"
"${CLIENT}/node_modules/.bin/tsc" --project "${CLIENT}/tsconfig.json" --noEmit --strict
echo "TypeScript client check passed"
