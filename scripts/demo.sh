#!/usr/bin/env bash
# Set up rs3d, build the demo city (generated, nothing downloaded) and serve the app on
# http://127.0.0.1:8000 with a background worker beside the web server. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

.venv/bin/python manage.py seed_demo

.venv/bin/python manage.py db_worker --no-reload --interval 1 &
worker=$!
trap 'kill "$worker" 2>/dev/null; wait "$worker" 2>/dev/null; echo "stopped"' EXIT
trap 'exit 130' INT TERM
echo "rs3d is serving on http://127.0.0.1:8000  (Ctrl-C stops the server and the worker)"
.venv/bin/daphne -b 127.0.0.1 -p "${RS3D_PORT:-8000}" backend.asgi:application
