#!/usr/bin/env bash
# Supply-chain check: pip-audit on the pinned requirements. A known vulnerability fails;
# an unreachable vulnerability database is reported and skipped (CI must not depend on
# a third-party service being up), never mistaken for "no vulnerabilities".
set -uo pipefail
cd "$(dirname "$0")/.."

out=$(.venv/bin/pip-audit -r requirements.txt -r requirements-mysql.txt \
  --progress-spinner off --desc off 2>&1)
rc=$?
printf '%s\n' "$out" | grep -v "could not be audited"

if [ $rc -eq 0 ]; then
  exit 0
fi
if printf '%s' "$out" | grep -qiE "found [0-9]+ known vulnerabilit"; then
  echo "pip-audit: known vulnerabilities in the pinned requirements (see above)" >&2
  exit 1
fi
echo "WARNING: pip-audit could not complete (vulnerability data unreachable?); carrying on." >&2
exit 0
