#!/usr/bin/env bash
# Install, then run the whole embedded stack (broker + simulators + processors + web). Ctrl-C stops it.
# Arguments go to `ioc up`, e.g. deploy/local/up.sh --speed 60 --start 2025-10-14T18:00
set -euo pipefail
cd "$(dirname "$0")/../.."
deploy/local/install.sh
exec .venv/bin/ioc up "$@"
