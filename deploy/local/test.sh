#!/usr/bin/env bash
# Install with test tools, then run lint, types and every test (unit, integration on a real broker,
# browser on Debian's chromium). Arguments go to pytest, e.g. deploy/local/test.sh tests/unit
set -uo pipefail
cd "$(dirname "$0")/../.."
deploy/local/install.sh --test || exit 1

.venv/bin/ruff check . || exit 1
.venv/bin/ruff format --check . || exit 1
.venv/bin/mypy || exit 1

.venv/bin/pytest "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "test: pytest collected no tests; that is a failure, not a pass" >&2
  exit 5
fi
exit "$status"
