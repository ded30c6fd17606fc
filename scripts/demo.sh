#!/usr/bin/env bash
# Set up rs3d, build the demo city (generated, nothing downloaded) and serve the app on
# http://127.0.0.1:8000 with a background worker beside the web server. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
export RS3D_DEBUG="${RS3D_DEBUG:-1}"  # local demo: development secret key; set RS3D_DEBUG=0 and RS3D_SECRET_KEY to serve for real
bash scripts/setup.sh

.venv/bin/python manage.py seed_demo

port="${RS3D_PORT:-8000}"
.venv/bin/python manage.py rs3d_worker --no-reload --interval 1 &
worker=$!
# uvicorn (httptools + uvloop); published files a viewer was already allowed are answered by the data gate in
# front of Django (backend/serving/data_gate.py). One process: the login and upload limits count in its memory
# cache; more (RS3D_WEB_WORKERS) only with REDIS_URL, where every process shares one count.
.venv/bin/uvicorn backend.asgi:application --host 127.0.0.1 --port "$port" --workers "${RS3D_WEB_WORKERS:-1}" \
  --lifespan off --no-proxy-headers --no-server-header --timeout-graceful-shutdown 10 &
web=$!

stop() {
  trap - INT TERM EXIT
  kill -TERM "$web" "$worker" 2>/dev/null || true
  wait "$web" "$worker" 2>/dev/null || true
  echo "rs3d stopped"
}
trap 'stop; exit 130' INT TERM
trap stop EXIT
echo "rs3d is serving on http://127.0.0.1:$port  (Ctrl-C stops the server and the worker)"
echo "The demo city is public. To upload your own areas, make an account at http://127.0.0.1:$port/accounts/signup/"
echo "  (or: .venv/bin/python manage.py createsuperuser)"
wait -n "$web" "$worker"  # if either dies, stop the other
