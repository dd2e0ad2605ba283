#!/usr/bin/env bash
# Install the project into .venv, every package pinned by deploy/local/requirements.lock.
#   deploy/local/install.sh          runtime only (broker, simulators, processors, web)
#   deploy/local/install.sh --test   plus test tools, Debian's chromium for the browser tests and Debian's
#                                    postgresql server binaries for the store tests (started by the tests)
set -euo pipefail
cd "$(dirname "$0")/../.."

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "install: Python 3.11+ is needed ($python is $("$python" -V 2>&1))" >&2
  exit 1
fi

extras=""
if [ "${1:-}" = "--test" ]; then
  extras="[test]"
  if [ ! -x /usr/bin/chromium ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    echo "install: apt-get install chromium (browser tests drive Debian's chromium, never a downloaded one)"
    $sudo apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 \
      || { $sudo apt-get update -qq && $sudo apt-get install -y --no-install-recommends chromium >/dev/null; }
  fi
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    echo "install: apt-get install postgresql (the store tests run a real PostgreSQL of their own)"
    $sudo apt-get install -y --no-install-recommends postgresql >/dev/null 2>&1 \
      || { $sudo apt-get update -qq && $sudo apt-get install -y --no-install-recommends postgresql >/dev/null; }
  fi
fi

[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
  -c deploy/local/requirements.lock -e ".${extras}"
echo "install: ready in .venv ($(.venv/bin/python -V))"
