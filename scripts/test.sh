#!/usr/bin/env bash
# Set up rs3d with its test tools and run the whole test suite.
# Extra arguments go to pytest and then run one pytest session on just what they name.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
if [ $# -gt 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi
# Separate processes on purpose: the library's tests must not share a process with Django's SpatiaLite
# connection (see tests/conftest.py). Every pass runs; the script fails if any fails. The library and the
# Django tests without a browser run on two pytest-xdist workers, a test file per worker at a time (its
# module fixtures are built once): they wait on child processes, files and sockets as much as on the CPU.
# The browser tests run alone: software WebGL keeps both cores busy by itself.
status=0
.venv/bin/python -m pytest -n 2 --dist loadfile tests/reconstruction tests/bench || status=$?
.venv/bin/python -m pytest -n 2 --dist loadfile tests/backend tests/integration -m "not browser" || status=$?
.venv/bin/python -m pytest tests/integration -m browser || status=$?

# Third process: the same Django suites in scale mode, on the real PostgreSQL/PostGIS and Redis servers
# that setup.sh --test installs (role and database rs3d). RS3D_SCALE_TESTS=1 makes the scale-mode
# tests fail, not skip, if the mode is not active. The browser tests are left out of this pass: they
# drive the same pages as the live tests, which do run here, and would double its time.
scale_db=${RS3D_TEST_DATABASE_URL:-postgis://rs3d:rs3d@127.0.0.1:5432/rs3d}
scale_redis=${RS3D_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}
if reason=$(.venv/bin/python - "$scale_db" "$scale_redis" 2>&1 <<'PY'
import sys
import psycopg
import redis
db, cache = sys.argv[1], sys.argv[2]
try:
    psycopg.connect(db.replace("postgis://", "postgresql://", 1), connect_timeout=5).close()
except Exception as err:
    sys.exit(f"PostgreSQL at {db} is not reachable ({str(err).strip().splitlines()[0]})")
try:
    redis.Redis.from_url(cache, socket_connect_timeout=5).ping()
except Exception as err:
    sys.exit(f"Redis at {cache} is not reachable ({err})")
PY
); then
  # Two pytest-xdist workers, as in the first Django pass: pytest-django gives each its own test database
  # (test_<name>_gw0, _gw1), tests/xdist_redis.py its own Redis database (the given one and the next).
  echo "== scale mode: DATABASE_URL=$scale_db REDIS_URL=$scale_redis (tests/backend, tests/integration without browser tests)"
  DATABASE_URL=$scale_db REDIS_URL=$scale_redis RS3D_SCALE_TESTS=1 \
    .venv/bin/python -m pytest -p tests.xdist_redis -n 2 --dist loadfile tests/backend tests/integration -m "not browser" || status=$?
elif [ "${CI:-}" = true ]; then
  echo "error: CI=true and the scale-mode pass cannot run: $reason" >&2
  status=1
else
  echo "== scale mode SKIPPED: $reason (scripts/setup.sh --test installs and starts both servers)"
fi
exit "$status"
